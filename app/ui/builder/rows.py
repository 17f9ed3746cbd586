"""The clauses of the builder: criterion rows and group boxes in clause lists.

A :class:`ClauseList` holds the clauses of the definition or of one group, in
order; each clause is a :class:`CriterionRow` or a :class:`GroupBox` (a tinted,
bordered box with its own join and a clause list inside), so nesting is drawn
and a reading is never ambiguous. Both kinds of clause share a header: a drag
handle, the join (Include / Exclude first, And / Or / Exclude after), the count
of the live preview, outdent / indent / remove buttons, and the refusal of the
core under it. Moving clauses (indent, outdent, drag) is done by the builder
(:class:`app.ui.builder.editor.CriteriaEditor`), which owns the lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QMouseEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.criteria import GROUP_DEPTH_MAX, Clause, Group
from app.ui import icons
from app.ui.builder import fields as f
from app.ui.builder.kinds import EDITORS, KindEditor

if TYPE_CHECKING:
    from app.ui.builder.editor import CriteriaEditor

INDENT_KEYS = QKeySequence("Ctrl+]")
OUTDENT_KEYS = QKeySequence("Ctrl+[")


def _tool(name: str, tip: str, object_name: str = "rowTool") -> QToolButton:
    button = QToolButton()
    button.setObjectName(object_name)
    button.setIcon(icons.icon(name, "text_muted", active="accent"))
    button.setIconSize(QSize(16, 16))
    button.setAutoRaise(True)
    button.setAccessibleName(tip.split(" (")[0])
    button.setToolTip(tip)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


class DragHandle(QToolButton):
    """The grip at the left of a clause: press, move and release to move the clause.

    The press grabs the mouse (Qt does so for the widget pressed), so the moves and
    the release come here wherever the pointer goes; the builder draws where the
    clause would land and moves it on release."""

    def __init__(self, item: ClauseItem) -> None:
        super().__init__()
        self.item = item
        self.setObjectName("dragHandle")
        self.setToolTip("Drag to move this clause into or out of a group")
        self.setAccessibleName("Move")
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setAutoRaise(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setIcon(icons.icon("grip", "text_subtle", active="accent"))
        self.setIconSize(QSize(16, 16))
        self.setFixedSize(18, 28)
        self._pressed_at: QPoint | None = None
        self._dragging = False

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._pressed_at = event.globalPosition().toPoint()
            self._dragging = False
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pressed_at is None:
            return
        where = event.globalPosition().toPoint()
        if not self._dragging:
            moved = (where - self._pressed_at).manhattanLength()
            if moved < QApplication.startDragDistance():
                return
            self._dragging = True
            self.item.builder.begin_drag(self.item)
        self.item.builder.drag_to(where)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pressed_at is None:
            return
        self._pressed_at = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        if self._dragging:
            self._dragging = False
            self.item.builder.end_drag(event.globalPosition().toPoint())
        event.accept()


class ClauseItem(QFrame):
    """What criterion rows and group boxes share: header controls, join, count, error."""

    def __init__(self, builder: CriteriaEditor) -> None:
        super().__init__()
        self.builder = builder
        self.container: ClauseList | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.handle = DragHandle(self)
        self.join = QComboBox()
        self.join.setObjectName("joinCombo")
        self.join.setAccessibleName("Join")
        self.count = QLabel()
        self.count.setObjectName("criterionCount")
        self.count.hide()
        self.outdent_button = _tool("outdent", "Move out of its group (Ctrl+[)")
        self.indent_button = _tool("indent", "Put into a new group (Ctrl+])")
        self.remove_button = _tool("close", "Remove", "removeRow")
        self.remove_button.setIcon(icons.icon("close", "text_muted", active="danger"))
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.outdent_button.clicked.connect(lambda: self.builder.outdent(self))
        self.indent_button.clicked.connect(lambda: self.builder.indent(self))
        self.remove_button.clicked.connect(lambda: self.builder.remove_item(self))
        self.join.currentIndexChanged.connect(self.builder.edited)
        self.set_first(True)

    def header(self, *middle: QWidget) -> QHBoxLayout:
        """Handle, join, ``middle``, stretch, count and the tools, on one line."""
        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(self.handle)
        top.addWidget(self.join)
        for widget in middle:
            top.addWidget(widget)
        top.addStretch(1)
        top.addWidget(self.count)
        top.addSpacing(4)
        for button in (self.outdent_button, self.indent_button, self.remove_button):
            top.addWidget(button)
        return top

    @property
    def level(self) -> int:
        """How many groups this clause is inside."""
        return self.container.level if self.container is not None else 0

    def height_in_groups(self) -> int:
        """How many levels of groups this clause is (0 for a criterion)."""
        return 0

    def placed(self) -> None:
        """Called when the clause has moved to another list: refresh the tools."""
        inside = self.level > 0
        self.outdent_button.setEnabled(inside)
        self.indent_button.setEnabled(self.level + 1 + self.height_in_groups()
                                      <= GROUP_DEPTH_MAX)

    def set_count(self, text: str | None) -> None:
        """This clause's own count at the right of its header (None: none shown)."""
        self.count.setText(text or "")
        self.count.setVisible(text is not None)

    def set_first(self, first: bool) -> None:
        """The first clause of a list says Include / Exclude; the others And / Or / Exclude."""
        current = self.join.currentData() or "and"
        self.join.blockSignals(True)
        self.join.clear()
        options = (("and", "Include"), ("exclude", "Exclude")) if first else (
            ("and", "And"), ("or", "Or"), ("exclude", "Exclude"))
        for value, label in options:
            self.join.addItem(label, value)
        f.select(self.join, current if (current != "or" or not first) else "and")
        self.join.blockSignals(False)

    def set_join(self, join: str) -> None:
        self.join.blockSignals(True)
        f.select(self.join, join)
        self.join.blockSignals(False)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Ctrl+] puts the clause into a new group, Ctrl+[ takes it out of its group."""
        keys = QKeySequence(event.keyCombination())
        if keys.matches(INDENT_KEYS) == QKeySequence.SequenceMatch.ExactMatch:
            self.builder.indent(self)
        elif keys.matches(OUTDENT_KEYS) == QKeySequence.SequenceMatch.ExactMatch:
            self.builder.outdent(self)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def first_field(self) -> QWidget:
        raise NotImplementedError

    def clause(self) -> Clause:
        raise NotImplementedError

    def validate(self) -> bool:
        raise NotImplementedError

    def show_problem(self, problem: Exception | None) -> bool:
        """The refusal under the clause (None: hide it); True when there is none."""
        self.error.setText(f.refusal_text(problem) if problem is not None else "")
        self.error.setVisible(problem is not None)
        return problem is None


class CriterionRow(ClauseItem):
    """Join and kind on top, the kind's fields below, the refusal and the hint under them."""

    def __init__(self, builder: CriteriaEditor, clause: Clause | None = None) -> None:
        super().__init__(builder)
        self.setObjectName("criterionRow")
        self.kind = f.combo(f.KINDS, "Kind of criterion")
        self.kind.setObjectName("kindCombo")
        self.stack = QStackedWidget()
        self.editors: dict[str, KindEditor] = {}
        for key, _label in f.KINDS:
            editor = self.editors[key] = EDITORS[key](builder.context)
            editor.changed.connect(builder.edited)
            self.stack.addWidget(editor)
        self.remove_button.setToolTip("Remove this criterion")
        self.remove_button.setAccessibleName("Remove criterion")
        self.hint = QLabel()
        self.hint.setObjectName("fieldWarning")
        self.hint.setWordWrap(True)
        self.hint.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 10)
        layout.setSpacing(6)
        layout.addLayout(self.header(self.kind))
        body = QVBoxLayout()
        body.setContentsMargins(22, 0, 0, 0)  # under the join, clear of the handle
        body.setSpacing(4)
        body.addWidget(self.stack)
        body.addWidget(self.error)
        body.addWidget(self.hint)
        layout.addLayout(body)
        self._show_editor(self.kind.currentData())
        self.kind.currentIndexChanged.connect(self._kind_changed)
        if clause is not None:
            self.load(clause)

    @property
    def editor(self) -> KindEditor:
        """The fields of the kind shown."""
        return self.editors[self.kind.currentData()]

    def first_field(self) -> QWidget:
        return self.editor.first_field()

    def _kind_changed(self) -> None:
        self._show_editor(self.kind.currentData())
        self.builder.edited()

    def _show_editor(self, kind: str) -> None:
        """Show ``kind``'s fields, sized to them alone.

        A stacked widget is as tall as its tallest page; ignoring the hidden pages'
        size keeps a one-line row from growing to the height of another kind.
        """
        shown = self.editors[kind]
        for editor in self.editors.values():
            policy = QSizePolicy.Policy.Preferred if editor is shown else QSizePolicy.Policy.Ignored
            editor.setSizePolicy(policy, policy)
        self.stack.setCurrentWidget(shown)
        self.stack.adjustSize()

    def load(self, clause: Clause) -> None:
        """The clause's criterion (its join is set where the row is inserted)."""
        kind = getattr(clause.item, "kind", "event")
        f.select(self.kind, kind)
        self._show_editor(kind)
        self.editors[kind].load(clause.item)

    def clause(self) -> Clause:
        """The row as a clause; raises ValueError / ValidationError with the refusal."""
        return Clause(join=self.join.currentData(),
                      item=self.editor.criterion())  # type: ignore[arg-type]

    def validate(self) -> bool:
        try:
            self.clause()
        except (ValueError, ValidationError) as problem:
            self.hint.hide()
            return self.show_problem(problem)
        hint = self.editor.hint()
        self.hint.setText(hint or "")
        self.hint.setVisible(bool(hint))
        return self.show_problem(None)


class GroupBox(ClauseItem):
    """Clauses in parentheses: a tinted box with its own join and its own clause list."""

    def __init__(self, builder: CriteriaEditor, depth: int) -> None:
        super().__init__(builder)
        self.setObjectName("criteriaGroup")
        self.title = QLabel("Group")
        self.title.setObjectName("groupTitle")
        self.remove_button.setToolTip("Remove this group and what it holds")
        self.remove_button.setAccessibleName("Remove group")
        self.inner = ClauseList(builder, depth, owner=self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 10, 10)
        layout.setSpacing(8)
        layout.addLayout(self.header(self.title))
        body = QVBoxLayout()
        body.setContentsMargins(22, 0, 0, 0)
        body.setSpacing(4)
        body.addWidget(self.inner)
        body.addWidget(self.error)
        layout.addLayout(body)
        self.set_shade(depth)

    @property
    def items(self) -> list[ClauseItem]:
        return self.inner.items

    def set_shade(self, depth: int) -> None:
        """Boxes inside boxes alternate their tint, so each level stands out."""
        self.setProperty("shade", "odd" if depth % 2 else "even")
        self.style().unpolish(self)
        self.style().polish(self)

    def placed(self) -> None:
        self.inner.level = self.level + 1
        self.set_shade(self.inner.level)
        super().placed()
        self.inner.placed()

    def height_in_groups(self) -> int:
        return 1 + max((i.height_in_groups() for i in self.items), default=0)

    def first_field(self) -> QWidget:
        return self.items[0].first_field() if self.items else self.inner.add_button

    def clause(self) -> Clause:
        if not self.items:
            raise ValueError("A group needs at least one criterion: add one or remove the group.")
        return Clause(join=self.join.currentData(),
                      item=Group(clauses=tuple(item.clause() for item in self.items)))

    def validate(self) -> bool:
        inner_ok = all([item.validate() for item in self.items])
        if not self.items:
            return self.show_problem(ValueError(
                "A group needs at least one criterion: add one or remove the group."))
        self.show_problem(None)
        return inner_ok


class ClauseList(QWidget):
    """The clauses of the definition or of one group, and the buttons that add to them."""

    def __init__(self, builder: CriteriaEditor, depth: int,
                 owner: GroupBox | None = None) -> None:
        super().__init__()
        self.builder = builder
        self.level = depth
        self.owner = owner
        self.items: list[ClauseItem] = []
        self.setObjectName("clauseList")
        self._items = QVBoxLayout()
        self._items.setContentsMargins(0, 0, 0, 0)
        self._items.setSpacing(8)
        self.add_button = QPushButton("Add criterion")
        self.add_group_button = QPushButton("Add group")
        for button, icon_name in ((self.add_button, "plus"), (self.add_group_button, "group")):
            button.setObjectName("addCriterion" if owner is None else "addInGroup")
            button.setIcon(icons.icon(icon_name, "accent"))
            button.setIconSize(QSize(16, 16))
            # Never the dialog's default button: focused after a click it would take the
            # default look, and Enter in a field would add a row instead of meaning OK.
            button.setAutoDefault(False)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.add_group_button.setToolTip("Add a group: its criteria are read together, "
                                         "as in parentheses")
        self.add_button.clicked.connect(lambda: self.builder.add_clicked(self))
        self.add_group_button.clicked.connect(lambda: self.builder.add_group_clicked(self))
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.add_group_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(self._items)
        layout.addLayout(buttons)
        self.placed()

    def placed(self) -> None:
        """Refresh after the list moved to another depth: its clauses and its buttons."""
        self.add_group_button.setEnabled(self.level < GROUP_DEPTH_MAX)
        for item in self.items:
            item.placed()

    def index(self, item: ClauseItem) -> int:
        return self.items.index(item)

    def insert(self, item: ClauseItem, index: int | None = None,
               join: str | None = None) -> None:
        """Put ``item`` at ``index`` (default: last), joined by ``join`` if given (a join
        is set once the clause knows whether it comes first: only then is Or offered)."""
        index = len(self.items) if index is None else index
        self.items.insert(index, item)
        self._items.insertWidget(index, item)
        item.container = self
        item.show()
        item.placed()
        self._refresh_joins()
        if join is not None:
            item.set_join(join)

    def take(self, item: ClauseItem) -> None:
        self.items.remove(item)
        self._items.removeWidget(item)
        item.container = None
        self._refresh_joins()

    def _refresh_joins(self) -> None:
        for number, item in enumerate(self.items):
            item.set_first(number == 0)

    def contains_list(self, other: ClauseList) -> bool:
        """Whether ``other`` is this list or inside one of its groups."""
        if other is self:
            return True
        return any(isinstance(item, GroupBox) and item.inner.contains_list(other)
                   for item in self.items)

    def all_items(self) -> list[ClauseItem]:
        """Every clause of this list and of the groups in it, in reading order."""
        found: list[ClauseItem] = []
        for item in self.items:
            found.append(item)
            if isinstance(item, GroupBox):
                found += item.inner.all_items()
        return found


def row_of(widget: QWidget) -> CriterionRow | None:
    """The criterion row a widget is in (for tests and focus handling)."""
    parent: QWidget | None = widget
    while parent is not None and not isinstance(parent, CriterionRow):
        parent = parent.parentWidget()
    return parent
