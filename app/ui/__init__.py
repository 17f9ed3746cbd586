"""The Qt desktop interface of Journey Studio (the only package that imports PySide6).

It mirrors the domain (:mod:`app.core`) and never owns state of its own: the
canvas scene listens to a :class:`~app.core.graph.JourneyGraph` and redraws
from it, panels listen to the :class:`~app.core.account.AccountState`. Every
edit is a core command run through :mod:`app.ui.undo` (one ``QUndoStack``).
"""
