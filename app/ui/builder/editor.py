"""The audience builder: the whole criteria language of DESIGN.md section 3.

:class:`CriteriaEditor` owns the clause lists (the definition's and every
group's), and moves clauses between them: "Add group", indent (Ctrl+]: into a
new group), outdent (Ctrl+[: out of its group), and dragging a clause by its
handle into or out of any group. Every row validates in place with the core's
words; :meth:`CriteriaEditor.validate` is True only when every row and the
definition as a whole (its size limits) are accepted. What it returns is one
:class:`~app.core.criteria.AudienceDefinition`, applied by the window as one
command, so all of an editing session is one undo step.
"""

from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtCore import QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.core.criteria import GROUP_DEPTH_MAX, AudienceDefinition, Clause, Group
from app.ui.builder import fields as f
from app.ui.builder.context import BuilderContext
from app.ui.builder.rows import ClauseItem, ClauseList, CriterionRow, GroupBox


class CriteriaEditor(QWidget):
    """The clauses, nested in groups, and the buttons that add them; ``changed`` after
    any edit (typing, a move, a removal)."""

    changed = Signal()

    def __init__(self, definition: AudienceDefinition | None = None,
                 parent: QWidget | None = None, *,
                 context: BuilderContext | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("criteriaBuilder")
        self.context = context or BuilderContext()
        self._loading = True
        self.list = ClauseList(self, 0)
        self.empty = QLabel("No criteria: everyone in the previous audience is in this one.")
        self.empty.setObjectName("emptyCriteria")
        self.problem = QLabel()
        self.problem.setObjectName("fieldError")
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.indicator = QFrame(self)
        self.indicator.setObjectName("dropIndicator")
        self.indicator.hide()
        self._dragged: ClauseItem | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.empty)
        layout.addWidget(self.list)
        layout.addWidget(self.problem)
        layout.addStretch(1)  # spare height goes below the rows, never into them
        for clause in (definition.clauses if definition else ()):
            self.list.insert(self._build(clause, 0), join=clause.join)
        self._loading = False
        self._refresh_empty()

    # ------------------------------------------------------------------ what it holds

    @property
    def rows(self) -> list[ClauseItem]:
        """The top-level clauses (criterion rows and group boxes), in order."""
        return self.list.items

    @property
    def add_button(self) -> QWidget:
        return self.list.add_button

    @property
    def add_group_button(self) -> QWidget:
        return self.list.add_group_button

    def all_items(self) -> list[ClauseItem]:
        return self.list.all_items()

    def criterion_rows(self) -> list[CriterionRow]:
        """Every criterion row, groups' included, in reading order."""
        return [item for item in self.all_items() if isinstance(item, CriterionRow)]

    def groups(self) -> list[GroupBox]:
        return [item for item in self.all_items() if isinstance(item, GroupBox)]

    def _build(self, clause: Clause, depth: int) -> ClauseItem:
        if isinstance(clause.item, Group):
            group = GroupBox(self, depth + 1)
            for inner in clause.item.clauses:
                group.inner.insert(self._build(inner, depth + 1), join=inner.join)
            return group
        return CriterionRow(self, clause)

    def edited(self) -> None:
        if not self._loading:
            self.changed.emit()

    # ------------------------------------------------------------------ adding

    def add_row(self, clause: Clause | None = None,
                into: ClauseList | None = None) -> CriterionRow:
        """A new criterion row at the end of ``into`` (the top level by default)."""
        target = into or self.list
        row = CriterionRow(self, clause)
        target.insert(row, join=clause.join if clause is not None else None)
        self._refresh_empty()
        self.edited()
        return row

    def add_group(self, into: ClauseList | None = None) -> GroupBox:
        """A new group holding one new criterion row, at the end of ``into``."""
        target = into or self.list
        group = GroupBox(self, target.level + 1)
        target.insert(group)
        group.inner.insert(CriterionRow(self))
        self._refresh_empty()
        self.edited()
        return group

    def add_clicked(self, into: ClauseList) -> None:
        """A new row from a button: the keyboard goes to its first field, so what the
        marketer types next fills the criterion instead of being lost on the button."""
        self._focus(self.add_row(into=into))

    def add_group_clicked(self, into: ClauseList) -> None:
        self._focus(self.add_group(into))

    def _focus(self, item: ClauseItem) -> None:
        item.first_field().setFocus(Qt.FocusReason.OtherFocusReason)
        QTimer.singleShot(0, self, lambda: self._show_item(item))

    def _show_item(self, item: ClauseItem) -> None:
        """Scroll an item into view once laid out (the editor sits in a scroll area)."""
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if parent is not None and item in self.all_items():
            parent.ensureWidgetVisible(item)

    def remove_item(self, item: ClauseItem) -> None:
        container = item.container
        if container is None:
            return
        container.take(item)
        item.setParent(None)
        item.deleteLater()
        self._dissolve_if_empty(container)
        self._refresh_empty()
        self.edited()

    def remove_row(self, row: ClauseItem) -> None:
        """Remove a top-level clause (kept for callers of the flat editor)."""
        self.remove_item(row)

    def _refresh_empty(self) -> None:
        self.empty.setVisible(not self.list.items)

    # ------------------------------------------------------------------ moving

    def move_item(self, item: ClauseItem, target: ClauseList, index: int) -> None:
        """Move ``item`` to ``index`` of ``target``; a group left empty goes away."""
        source = item.container
        if source is None:
            return
        if source is target and source.index(item) < index:
            index -= 1
        focus = self.focusWidget()
        source.take(item)
        target.insert(item, index)
        if source is not target:
            self._dissolve_if_empty(source)
        if focus is not None and item.isAncestorOf(focus):
            focus.setFocus(Qt.FocusReason.OtherFocusReason)
        self.edited()

    def _dissolve_if_empty(self, clauses: ClauseList) -> None:
        group = clauses.owner
        if group is not None and not group.items and group.container is not None:
            group.container.take(group)
            group.setParent(None)
            group.deleteLater()

    def indent(self, item: ClauseItem) -> None:
        """Put ``item`` into a new group where it stands (it keeps its join outside)."""
        target = item.container
        if target is None or not item.indent_button.isEnabled():
            return
        focus = self.focusWidget()
        index = target.index(item)
        group = GroupBox(self, target.level + 1)
        join = item.join.currentData()
        target.take(item)
        target.insert(group, index, join=join)
        group.inner.insert(item, join="and")
        if focus is not None and item.isAncestorOf(focus):
            focus.setFocus(Qt.FocusReason.OtherFocusReason)
        self.edited()

    def outdent(self, item: ClauseItem) -> None:
        """Take ``item`` out of its group, right after the group (a group it leaves
        empty goes away, and ``item`` takes its place and its join)."""
        source = item.container
        group = source.owner if source is not None else None
        if source is None or group is None or group.container is None:
            return
        parent = group.container
        index = parent.index(group)
        if len(group.items) == 1:
            join = group.join.currentData()
            self.move_item(item, parent, index)
            item.set_join(join)  # it takes the place of the group it leaves
        else:
            self.move_item(item, parent, index + 1)
        parent.placed()

    # ------------------------------------------------------------------ dragging

    def begin_drag(self, item: ClauseItem) -> None:
        self._dragged = item
        item.setProperty("dragging", True)
        item.style().unpolish(item)
        item.style().polish(item)

    def drop_target(self, global_pos: QPoint) -> tuple[ClauseList, int] | None:
        """Where the dragged clause would land at ``global_pos``: a list and an index,
        or None (outside the builder, inside itself, or too deep)."""
        item = self._dragged
        if item is None or not self.rect().contains(self.mapFromGlobal(global_pos)):
            return None
        target = self._list_at(self.list, global_pos, item)
        if isinstance(item, GroupBox) and item.inner.contains_list(target):
            return None
        if target.level + item.height_in_groups() > GROUP_DEPTH_MAX:
            return None
        y = target.mapFromGlobal(global_pos).y()
        index = next((i for i, other in enumerate(target.items)
                      if y < other.geometry().center().y()), len(target.items))
        return target, index

    def _list_at(self, clauses: ClauseList, global_pos: QPoint, dragged: ClauseItem) -> ClauseList:
        """The innermost list under ``global_pos``, not going into the dragged clause."""
        for other in clauses.items:
            if isinstance(other, GroupBox) and other is not dragged:
                inner = other.inner
                if inner.rect().contains(inner.mapFromGlobal(global_pos)):
                    return self._list_at(inner, global_pos, dragged)
        return clauses

    def drag_to(self, global_pos: QPoint) -> None:
        """Draw where the dragged clause would land."""
        found = self.drop_target(global_pos)
        if found is None:
            self.indicator.hide()
            return
        target, index = found
        if index < len(target.items):
            y = target.items[index].geometry().top() - 5
        elif target.items:
            y = target.items[-1].geometry().bottom() + 4
        else:
            y = 0
        top_left = target.mapTo(self, QPoint(0, max(y, 0)))
        self.indicator.setGeometry(QRect(top_left.x(), top_left.y(), target.width(), 3))
        self.indicator.show()
        self.indicator.raise_()

    def end_drag(self, global_pos: QPoint) -> None:
        """Move the dragged clause where it was dropped (nowhere: it stays)."""
        item = self._dragged
        found = self.drop_target(global_pos)
        self._dragged = None
        self.indicator.hide()
        if item is None:
            return
        item.setProperty("dragging", False)
        item.style().unpolish(item)
        item.style().polish(item)
        if found is not None:
            self.move_item(item, *found)

    # ------------------------------------------------------------------ the result

    def validate(self) -> bool:
        """Every row shows its refusal in place; True when the definition is accepted."""
        rows_ok = all([item.validate() for item in self.list.items])
        problem: Exception | None = None
        if rows_ok:
            try:
                self.definition()
            except (ValueError, ValidationError) as refused:
                problem = refused
        self.problem.setText(f.refusal_text(problem) if problem else "")
        self.problem.setVisible(problem is not None)
        return rows_ok and problem is None

    def definition(self) -> AudienceDefinition:
        return AudienceDefinition(clauses=tuple(item.clause() for item in self.list.items))
