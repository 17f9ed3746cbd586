"""Which inputs a journey reads: a checklist of workspace ▸ input.

A journey's population is everyone with an event through its inputs, and its
event criteria see only those events, so changing them changes every audience
of the journey. The dialog ticks what the journey reads now; OK is one
undoable :class:`~app.core.commands.SetJourneyInputs`, after which the window
evaluates the journey again and the cards show the new sizes. The choice is
checked in place with the core's rule (at least one input).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from app.core.account import AccountState
from app.core.models import Input
from app.ui import icons, theme
from app.ui.canvas.cards import platform_key
from app.ui.dialogs import _Dialog, _error_label, _show_error

INPUT_ID = Qt.ItemDataRole.UserRole


def input_icon(input_: Input) -> object:
    """The input's platform mark in its platform's tint, as on the canvas."""
    key = platform_key(input_.platform, input_.kind)
    return icons.icon(icons.platform_icon(key), theme.brand_tint(theme.PLATFORM_TINTS[key]))


class InputChecklist(QTreeWidget):
    """Workspaces with their inputs, each with a check box; ticking a workspace ticks
    all its inputs. The platform stands beside each input."""

    def __init__(self, state: AccountState, checked: Sequence[str] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inputTree")
        self.setColumnCount(2)
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setIconSize(QSize(18, 18))
        self.setIndentation(26)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.input_items: dict[str, QTreeWidgetItem] = {}
        self.workspace_items: dict[str, QTreeWidgetItem] = {}
        bold = theme.font(13, QFont.Weight.DemiBold)
        for workspace in state.workspaces.values():
            inputs = state.inputs_of(workspace.id)
            top = QTreeWidgetItem([workspace.name, ""])
            top.setFont(0, bold)
            top.setFlags(top.flags() | Qt.ItemFlag.ItemIsUserCheckable
                         | Qt.ItemFlag.ItemIsAutoTristate)
            top.setSizeHint(0, QSize(0, 32))
            self.workspace_items[workspace.id] = top
            self.addTopLevelItem(top)
            for input_ in inputs:
                platform = "Partner feed" if input_.kind == "partner" else \
                    (input_.platform or "")
                child = QTreeWidgetItem([input_.name, platform])
                child.setIcon(0, input_icon(input_))  # type: ignore[arg-type]
                child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                child.setCheckState(0, Qt.CheckState.Checked if input_.id in checked
                                    else Qt.CheckState.Unchecked)
                child.setData(0, INPUT_ID, input_.id)
                child.setForeground(1, theme.current().color("text_muted"))
                child.setSizeHint(0, QSize(0, 30))
                top.addChild(child)
                self.input_items[input_.id] = child
            if not inputs:
                top.setCheckState(0, Qt.CheckState.Unchecked)
                top.setFlags(top.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                top.setText(1, "No inputs")
        self.expandAll()

    def check_input(self, input_id: str, checked: bool = True) -> None:
        state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        self.input_items[input_id].setCheckState(0, state)

    def input_ids(self) -> tuple[str, ...]:
        """The ticked inputs, in the account's order."""
        return tuple(i for i, item in self.input_items.items()
                     if item.checkState(0) == Qt.CheckState.Checked)


class JourneyInputsDialog(_Dialog):
    """The inputs of one journey, ticked; OK when the choice differs and is allowed."""

    def __init__(self, state: AccountState, journey_id: str,
                 manage: Callable[[], None] | None = None,
                 parent: QWidget | None = None) -> None:
        graph = state.journey(journey_id)
        super().__init__(f"Inputs of “{graph.name}”", parent)
        self.state = state
        self.journey_id = journey_id
        self.current = tuple(graph.journey.input_ids)
        note = QLabel("The journey's population is everyone with an event through the inputs "
                      "ticked here, and its event criteria count only those events. Its "
                      "audiences are calculated again when you save.")
        note.setObjectName("dialogNote")
        note.setWordWrap(True)
        self.checklist = InputChecklist(state, self.current)
        self.error = _error_label()
        self.body.addWidget(note)
        self.body.addWidget(self.checklist, 1)
        self.body.addWidget(self.error)
        self.manage_button: QPushButton | None = None
        if manage is not None:
            self.manage_button = QPushButton("Manage workspaces && inputs…")
            self.manage_button.setObjectName("linkButton")
            self.manage_button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.manage_button.setAutoDefault(False)

            def open_settings() -> None:
                self.reject()
                manage()

            self.manage_button.clicked.connect(open_settings)
        row = QHBoxLayout()
        row.setSpacing(8)
        if self.manage_button is not None:
            row.addWidget(self.manage_button)
        row.addStretch(1)
        row.addWidget(self.buttons)
        self.ok_button.setText("Save")
        self.body.addLayout(row)
        self.resize(500, 460)
        self.checklist.itemChanged.connect(lambda *_: self.validate())
        self.validate()

    def input_ids(self) -> tuple[str, ...]:
        return self.checklist.input_ids()

    def validate(self) -> bool:
        chosen = self.input_ids()
        problem = self.state.can_set_journey_inputs(self.journey_id, chosen)
        _show_error(self.error, problem)
        changed = set(chosen) != set(self.current)
        ok = problem is None and changed
        self.ok_button.setEnabled(ok)
        return ok
