"""The QUndoCommand adapter: every user edit is one core command on one QUndoStack.

:class:`EditController` is the only way the window changes anything. It wraps a
core :class:`~app.core.commands.Command` in a :class:`StudioUndoCommand` and
pushes it; ``QUndoStack.push`` calls ``redo()``, and the first ``redo()`` is
``Studio.execute`` (apply and persist in one transaction), later ones are
``Studio.redo``. An edit the store did not take (refused by a rule, a conflict,
a busy database, any failure) changes nothing, so the wrapper marks itself
obsolete during that first ``redo()`` and Qt drops it instead of pushing it:
the stack only ever holds stored edits. An unexpected error is raised again by
:meth:`EditController.run` once the push is over.

Undo and redo can be refused too (another journey has since used the
active-audience budget, or another window saved first). Qt has already moved
the stack's index when ``undo()`` returns, so the controller puts the index
back with the commands in between passed over ("replaying"), and the stack
keeps describing exactly what is applied. Whatever the outcome, the controller
reports it with signals the window turns into a banner.
"""

from __future__ import annotations

import logging
from typing import Literal, Protocol

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QUndoView, QWidget

from app.core.account import AccountState
from app.core.commands import Command
from app.core.errors import ConflictError, JourneyRuleError, StudioError

log = logging.getLogger(__name__)

Direction = Literal["do", "undo", "redo"]


class EditingStudio(Protocol):
    """What the controller needs of :class:`app.studio.Studio`."""

    @property
    def state(self) -> AccountState: ...

    def execute(self, command: Command) -> None: ...

    def undo(self, command: Command) -> None: ...

    def redo(self, command: Command) -> None: ...


class StudioUndoCommand(QUndoCommand):
    """One core command on the Qt undo stack; applies it through the studio."""

    def __init__(self, controller: EditController, command: Command) -> None:
        super().__init__(command.text)
        self.controller = controller
        self.command = command
        self._done_once = False
        self.error: StudioError | None = None
        self.failure: Exception | None = None
        """An unexpected error of the first execute, raised again once Qt has dropped us."""

    def redo(self) -> None:
        """First call: execute (refusal or failure -> obsolete, never pushed); then redo."""
        if self.controller.replaying:
            return
        first = not self._done_once
        try:
            if first:
                self.controller.studio.execute(self.command)
            else:
                self.controller.studio.redo(self.command)
        except StudioError as problem:
            self.error = problem
            if first:
                self.setObsolete(True)
            else:
                self.controller.halt(self, "redo", problem)
            return
        except Exception as problem:
            if not first:
                raise
            # Not stored: it must not reach the stack, where Undo would refer to it. An
            # exception leaving redo() would be swallowed by Qt, which then pushes us.
            self.failure = problem
            self.setObsolete(True)
            return
        self._done_once = True
        self.setText(self.command.text)  # some commands name what they touched on do()

    def undo(self) -> None:
        if self.controller.replaying:
            return
        try:
            self.controller.studio.undo(self.command)
        except StudioError as problem:
            self.error = problem
            self.controller.halt(self, "undo", problem)


class EditController(QObject):
    """Runs edits through the studio and the undo stack; reports refusals and conflicts."""

    refused = Signal(str)
    """An edit, undo or redo a rule forbids: the rule's message, shown as is."""
    conflicted = Signal(str)
    """Someone else saved first: the message; the window offers Reload."""
    applied = Signal(object)
    """A core command was done, undone or redone (the command), for follow-up UI."""

    def __init__(self, studio: EditingStudio, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        self.stack = QUndoStack(self)
        self.replaying = False
        self._halted: tuple[StudioUndoCommand, Direction, int] | None = None
        # Each step is persisted as it is applied, so wherever the index lands (a push,
        # an undo, a click in the history view) the stack matches the database: "saved".
        self.stack.indexChanged.connect(self._index_changed)

    def _index_changed(self, _index: int) -> None:
        if not self.replaying and self._halted is None:
            self.stack.setClean()

    # ------------------------------------------------------------------ edits

    def run(self, command: Command) -> bool:
        """Do ``command`` as one undo step; False (and a signal) when it is refused."""
        if self.replaying:
            return False
        wrapper = StudioUndoCommand(self, command)
        self.stack.push(wrapper)  # calls wrapper.redo(), which executes
        if wrapper.failure is not None:
            raise wrapper.failure
        if wrapper.error is not None:
            self._report(wrapper.error)
            return False
        self.applied.emit(command)
        return True

    def undo(self) -> None:
        self._step(self.stack.undo, self.stack.index() - 1)

    def redo(self) -> None:
        self._step(self.stack.redo, self.stack.index())

    def set_index(self, index: int) -> None:
        """Jump in the history (what the undo view does on a click)."""
        self.stack.setIndex(index)
        self.repair()

    def _step(self, action: object, position: int) -> None:
        if not 0 <= position < self.stack.count():
            return
        assert callable(action)
        action()
        if self._halted is None:
            command = self.stack.command(position)
            if isinstance(command, StudioUndoCommand):
                self.applied.emit(command.command)
        self.repair()
        self.mark_saved()

    def mark_saved(self) -> None:
        """Everything on the stack is persisted as it happens: now is "saved"."""
        self.stack.setClean()

    def clear(self) -> None:
        """Forget the history (after a reload, the commands refer to replaced records)."""
        self.stack.clear()
        self._halted = None

    # ------------------------------------------------------------------ failures

    def halt(self, wrapper: StudioUndoCommand, direction: Direction, problem: StudioError) -> None:
        """An undo or redo inside a stack operation failed: stop applying, repair after."""
        if self._halted is not None:
            return
        position = next(
            (i for i in range(self.stack.count()) if self.stack.command(i) is wrapper), -1
        )
        self._halted = (wrapper, direction, position)
        # The rest of this stack operation (a multi-step jump) must apply nothing.
        self.replaying = True
        QTimer.singleShot(0, self.repair)

    def repair(self) -> None:
        """Put the index back where the applied state is, after a failed undo or redo."""
        halted, self._halted = self._halted, None
        if halted is None:
            self.replaying = False
            return
        wrapper, direction, position = halted
        # A failed undo of command i leaves 0..i applied (index i + 1); a failed redo of
        # command i leaves 0..i-1 applied (index i).
        target = position + 1 if direction == "undo" else position
        self.replaying = True
        try:
            if position >= 0:
                self.stack.setIndex(target)
        finally:
            self.replaying = False
        self.mark_saved()
        if wrapper.error is not None:
            self._report(wrapper.error)

    def _report(self, problem: StudioError) -> None:
        if isinstance(problem, ConflictError):
            log.info("Edit conflicted: %s", problem)
            self.conflicted.emit(str(problem))
        elif isinstance(problem, JourneyRuleError):
            self.refused.emit(str(problem))
        else:
            log.warning("Edit failed: %s", problem)
            self.refused.emit(str(problem))


HISTORY_ITEM_PADDING = 8
"""The horizontal padding of a History row (``QUndoView::item`` in the style sheet)."""


class _WrappingDelegate(QStyledItemDelegate):
    """Measures a row at the width its text really gets: the style sheet's padding is
    added after Qt wraps the text, so a line that just fits would be cut with "…"."""

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        narrower = QStyleOptionViewItem(option)
        narrower.rect = option.rect.adjusted(0, 0, -2 * HISTORY_ITEM_PADDING, 0)
        return super().sizeHint(narrower, index)


class HistoryView(QUndoView):
    """The History tab: one row per undo step, named after what it changed.

    Names such as "Deactivate output “CRM webhook” of “Signed up for trial”" are long,
    so rows wrap to the panel's width instead of being cut off.
    """

    def __init__(self, stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(stack, parent)
        self.setObjectName("undoView")
        self.setEmptyLabel("Opened")
        self.setWordWrap(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QUndoView.ResizeMode.Adjust)
        self.setItemDelegate(_WrappingDelegate(self))
