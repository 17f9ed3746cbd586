"""A non-modal banner floating over the top of the canvas: refusals, warnings, notes.

A refused edit must not interrupt the person with a modal box: the canvas stays
usable and the rule's message (written for the marketer in core) is shown as is.
The banner may carry one action (Undo after a warning, Reload after a conflict).

The banner floats over its parent (the canvas view) instead of taking a row of
the layout: a banner that pushed the canvas down would move the card under the
pointer between two clicks. A banner raised by an edit belongs to that edit
(see :meth:`Banner.show_for_edit`): its Undo undoes exactly that edit, and it
goes away as soon as that edit is undone or another edit follows. Any change of
the undo stack also clears a refusal or a note: they answered the last action.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QEnterEvent, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QGraphicsDropShadowEffect,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QWidget,
)

from app.ui import icons, theme

Level = Literal["error", "warning", "info"]

AUTO_HIDE_MS: Mapping[str, int] = {"error": 0, "warning": 10000, "info": 6000}
"""Refusals stay until dismissed or the next edit; warnings and notes fade by themselves
(0: never). A warning stays longer: it carries an Undo one may still want."""

RESUME_MS = 2000
"""After the pointer leaves the banner, at least this long before it hides."""

MARGIN = 12
"""Space between the banner and the edges of the canvas it floats over."""

MAX_WIDTH = 760
"""Wider than this, a one-line message becomes hard to read across the canvas."""


class Banner(QWidget):
    """One message with an icon, an optional action button and a close button."""

    def __init__(self, parent: QWidget | None = None,
                 timeouts: Mapping[str, int] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.timeouts: Mapping[str, int] = dict(timeouts or AUTO_HIDE_MS)
        """Milliseconds each level stays shown (0: until dismissed); tests shorten them."""
        self.icon = QLabel()
        self.icon.setObjectName("bannerIcon")
        self.icon.setFixedSize(20, 20)
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label = QLabel()
        self.label.setObjectName("bannerText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QPushButton()
        self.action_button.setObjectName("bannerAction")
        self.action_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.close_button = QToolButton()
        self.close_button.setObjectName("bannerClose")
        self.close_button.setIcon(icons.icon("close", "text_muted", active="text"))
        self.close_button.setIconSize(QSize(16, 16))
        self.close_button.setAccessibleName("Dismiss")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        self.action_button.clicked.connect(self._run_action)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 8, 10, 8)
        layout.setSpacing(10)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self._action: Callable[[], None] | None = None
        self._stack: QUndoStack | None = None
        self._edit: QUndoCommand | None = None
        self._paused_left = 0
        self._timeout = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self._shadow = QGraphicsDropShadowEffect(self)
        self._shadow.setBlurRadius(18)
        self._shadow.setOffset(0, 3)
        self.setGraphicsEffect(self._shadow)
        if parent is not None:
            parent.installEventFilter(self)
        self.hide()

    @property
    def level(self) -> str:
        return str(self.property("level") or "")

    def text(self) -> str:
        return self.label.text()

    # ------------------------------------------------------------------ edits

    def follow(self, stack: QUndoStack) -> None:
        """Tie the banner to ``stack``: any step on it ends a banner that is not its own."""
        self._stack = stack
        stack.indexChanged.connect(self._on_index_changed)

    def top_edit(self) -> QUndoCommand | None:
        """The edit an Undo would undo now (None: nothing to undo)."""
        stack = self._stack
        if stack is None or stack.index() == 0:
            return None
        return stack.command(stack.index() - 1)

    def show_for_edit(self, text: str, level: Level = "warning", action_text: str = "",
                      action: Callable[[], None] | None = None) -> None:
        """Show a message about the edit just done: it lasts as long as that edit is the
        last one, and ``action`` (Undo) only ever runs while it still is."""
        self.show_message(text, level, action_text, action)
        self._edit = self.top_edit()

    def _owns_top(self) -> bool:
        return self._edit is not None and self.top_edit() is self._edit

    def _on_index_changed(self, _index: int) -> None:
        """Undone, superseded by another edit, or an edit after a refusal: the message
        no longer describes the last step."""
        if self.isHidden():
            return
        try:
            owned = self._owns_top()
        except RuntimeError:  # the stack is being deleted with the window: nothing to do
            return
        if not owned:
            self.dismiss()

    # ------------------------------------------------------------------ showing

    def show_message(self, text: str, level: Level = "error", action_text: str = "",
                     action: Callable[[], None] | None = None) -> None:
        """Show ``text`` (replacing any previous message), tied to no edit."""
        self._edit = None
        self.label.setText(text)
        self.icon.setText({"error": "!", "warning": "!", "info": "i"}[level])
        self.setProperty("level", level)
        for widget in (self, self.icon, self.label, self.action_button):
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        self._tint_shadow()
        self._action = action
        self.action_button.setText(action_text)
        self.action_button.setEnabled(True)
        self.action_button.setVisible(bool(action_text and action))
        self.show()
        self.raise_()
        self.place()
        self._timer.stop()
        self._paused_left = 0
        timeout = self._timeout = self.timeouts.get(level, 0)
        if timeout and self.underMouse():
            self._paused_left = timeout
        elif timeout:
            self._timer.start(timeout)

    def dismiss(self) -> None:
        self._timer.stop()
        self._paused_left = 0
        self._action = None
        self._edit = None
        self.hide()

    def _run_action(self) -> None:
        action, edit = self._action, self._edit
        if edit is not None and not self._owns_top():
            # Another edit came after this one: an Undo now would undo that one instead.
            self.action_button.setEnabled(False)
            return
        self.dismiss()
        if action is not None:
            action()

    # ------------------------------------------------------------------ floating

    def _tint_shadow(self) -> None:
        palette = theme.current()
        self._shadow.setColor(palette.color("shadow", palette.shadow_alpha * 2))

    def changeEvent(self, event: QEvent) -> None:
        """A theme switch restyles the banner; its shadow is not in the style sheet."""
        if event.type() == QEvent.Type.StyleChange:
            self._tint_shadow()
        super().changeEvent(event)

    def place(self) -> None:
        """Float across the top of the parent, centred, as tall as the text needs."""
        parent = self.parentWidget()
        if parent is None:
            return
        width = max(0, min(parent.width() - 2 * MARGIN, MAX_WIDTH))
        layout = self.layout()
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else -1
        if height <= 0:
            height = self.sizeHint().height()
        self.setGeometry((parent.width() - width) // 2, MARGIN, width, height)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.place()
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------ hover pauses

    def enterEvent(self, event: QEnterEvent) -> None:
        """Someone is reading (or about to press Undo): stop the countdown."""
        if self._timer.isActive():
            self._paused_left = self._timer.remainingTime()
            self._timer.stop()
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        if self._paused_left and not self.isHidden():
            self._timer.start(max(self._paused_left, min(RESUME_MS, self._timeout)))
        self._paused_left = 0
        super().leaveEvent(event)
