"""Account settings › Workspaces & inputs: where the account's events come in.

A tree of workspaces with their inputs (platform feeds with their platform, and
partner feeds), how many events came through each input and which journeys
read it. Add opens a small form validated in place with the core's ``can_…``
answers; Rename edits the name in the tree (or double-click, or F2); Remove is
asked of core first, and a refusal (an input with events, or one a journey
reads; a workspace that still has inputs) is shown on the page in the core's
words, naming what stands in the way. Every change is one core command on the
window's undo stack.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QFont, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTreeWidgetItem,
    QWidget,
)

from app.core.account import AccountState
from app.core.commands import (
    AddInput,
    AddWorkspace,
    Command,
    RemoveInput,
    RemoveWorkspace,
    RenameInput,
    RenameWorkspace,
)
from app.core.models import Input, InputKind, Workspace
from app.core.vocabulary import PLATFORM_SPELLINGS
from app.ui import icons, theme
from app.ui.bridge import AccountWatcher
from app.ui.canvas.cards import platform_key
from app.ui.dialogs import _Dialog, _error_label, _show_error
from app.ui.journey_inputs import input_icon
from app.ui.settings_page import Refusals, SettingsPage, fit_columns, settings_table

PLATFORMS = tuple(PLATFORM_SPELLINGS.values())
"""The platforms an input offers first (any other may be typed)."""
PARTNER_FEED = "Partner feed"

KIND = Qt.ItemDataRole.UserRole
"""Item data: ``"workspace"`` or ``"input"``."""
RECORD = Qt.ItemDataRole.UserRole + 1
"""Item data: the workspace's or input's id."""


def platform_text(input_: Input) -> str:
    return PARTNER_FEED if input_.kind == "partner" else (input_.platform or "")


def events_text(count: int | None) -> str:
    """``1,204 events``, ``No events`` (None: not counted here)."""
    if count is None:
        return "—"
    return f"{count:,} event{'s' if count != 1 else ''}" if count else "No events"


def readers_text(names: list[str]) -> str:
    if not names:
        return "Not used"
    if len(names) == 1:
        return names[0]
    return f"{len(names)} journeys"


def inputs_text(count: int) -> str:
    return "No inputs" if count == 0 else f"{count} input{'s' if count != 1 else ''}"


class WorkspacesPage(SettingsPage):
    """The tree, Add workspace / Add input on the left, Rename and Remove on the right."""

    def __init__(self, watcher: AccountWatcher, run: Callable[[Command], bool],
                 studio: object, refusals: Refusals | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(
            "Workspaces & inputs",
            "A workspace groups the inputs your events arrive through: one per platform of "
            "an app (iOS, Android, Web …) or a partner's feed. A journey's population is "
            "everyone seen through the inputs it reads.",
            watcher, run, refusals, parent)
        self.setObjectName("workspacesPage")
        self.studio = studio
        self.form: WorkspaceDialog | InputDialog | None = None
        """The Add form open now (tests fill and accept it)."""
        self._counted = False
        self._filling = False
        self.table = settings_table(["Name", "Platform", "Events", "Read by"])
        self.table.setRootIsDecorated(True)
        self.table.setIconSize(QSize(18, 18))
        # Only names are edited: F2 edits the current row's name, and a double-click
        # anywhere on a row too.
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemDoubleClicked.connect(lambda item, _column: self.table.editItem(item, 0))
        rename = QAction("Rename", self.table)
        rename.setShortcut(QKeySequence(Qt.Key.Key_F2))
        rename.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        rename.triggered.connect(self.rename_selected)
        self.table.addAction(rename)
        self.add_workspace_button = QPushButton("Add workspace…")
        self.add_workspace_button.setObjectName("primaryButton")
        self.add_input_button = QPushButton("Add input…")
        self.rename_button = QPushButton("Rename")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removeConnection")
        self.empty = QLabel("No workspaces yet. Add one for your app or website, then an "
                            "input for each platform its events come from.")
        self.empty.setObjectName("emptyNote")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.addWidget(self.table, 1)
        self.body.addWidget(self.empty, 1)
        self.body.addWidget(self.notice)
        self.body.addLayout(self.button_row(self.add_workspace_button, self.add_input_button,
                                            None, self.rename_button, self.remove_button))
        self.add_workspace_button.clicked.connect(self.add_workspace)
        self.add_input_button.clicked.connect(lambda: self.add_input())
        self.rename_button.clicked.connect(self.rename_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.table.currentItemChanged.connect(self._on_current)
        self.table.itemChanged.connect(self._on_item_changed)
        for signal in (watcher.accountChanged, watcher.journeysChanged, watcher.journeyChanged):
            signal.connect(self.refresh)
        self.refresh()

    # ------------------------------------------------------------------ the tree

    def showEvent(self, event: QShowEvent) -> None:
        """Count the events per input when the page is first shown (one query)."""
        super().showEvent(event)
        if not self._counted:
            self._counted = True
            self.count_events()

    def count_events(self) -> None:
        """Ask the studio how many events came through each input (it also tells core,
        whose rule keeps an input with events)."""
        counter = getattr(self.studio, "event_count_by_input", None)
        if counter is None:
            return
        try:
            counter()
        except Exception as problem:  # a busy or unreachable database: counts stay unknown
            self.show_refusal(f"Could not count the events per input: {problem}")
            return
        self.refresh()

    def _counts_known(self) -> bool:
        return self._counted and hasattr(self.studio, "event_count_by_input")

    def refresh(self) -> None:
        """Rebuild the tree from the account (after any edit, undo or reload)."""
        selected = self.selected()
        state = self.state
        self._filling = True
        self.table.clear()
        bold = theme.font(13, QFont.Weight.DemiBold)
        for workspace in state.workspaces.values():
            inputs = state.inputs_of(workspace.id)
            top = QTreeWidgetItem([workspace.name, inputs_text(len(inputs)), "", ""])
            top.setIcon(0, icons.icon("layers", "text_muted"))
            top.setFont(0, bold)
            top.setData(0, KIND, "workspace")
            top.setData(0, RECORD, workspace.id)
            top.setFlags(top.flags() | Qt.ItemFlag.ItemIsEditable)
            top.setSizeHint(0, QSize(0, 34))
            top.setToolTip(0, "Double-click to rename")
            self.table.addTopLevelItem(top)
            for input_ in inputs:
                top.addChild(self._input_item(state, input_))
            top.setExpanded(True)
        self._filling = False
        fit_columns(self.table)
        shown = bool(state.workspaces)
        self.table.setVisible(shown)
        self.empty.setVisible(not shown)
        item = self.item_of(*selected) if selected else None
        if item is None:
            item = self.table.topLevelItem(0)
        if item is not None:
            self.table.setCurrentItem(item)
        self._update_buttons()

    def _input_item(self, state: AccountState, input_: Input) -> QTreeWidgetItem:
        readers = [g.name for g in state.input_readers(input_.id)]
        count = state.event_count(input_.id) if self._counts_known() else None
        item = QTreeWidgetItem([input_.name, platform_text(input_), events_text(count),
                                readers_text(readers)])
        item.setIcon(0, input_icon(input_))  # type: ignore[arg-type]
        item.setData(0, KIND, "input")
        item.setData(0, RECORD, input_.id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        item.setSizeHint(0, QSize(0, 32))
        item.setToolTip(0, "Double-click to rename")
        if len(readers) > 1:
            item.setToolTip(3, "\n".join(readers))
        return item

    def item_of(self, kind: str, record_id: str) -> QTreeWidgetItem | None:
        """The row of a workspace or an input."""
        for row in range(self.table.topLevelItemCount()):
            top = self.table.topLevelItem(row)
            if top is None:
                continue
            if kind == "workspace" and top.data(0, RECORD) == record_id:
                return top
            for index in range(top.childCount()):
                child = top.child(index)
                if child is not None and kind == "input" and \
                        child.data(0, RECORD) == record_id:
                    return child
        return None

    def selected(self) -> tuple[str, str] | None:
        """(``"workspace"`` or ``"input"``, id) of the selected row, if any."""
        item = self.table.currentItem()
        if item is None:
            return None
        kind, record = item.data(0, KIND), item.data(0, RECORD)
        if kind == "workspace" and record in self.state.workspaces:
            return "workspace", str(record)
        if kind == "input" and record in self.state.inputs:
            return "input", str(record)
        return None

    def selected_workspace_id(self) -> str | None:
        """The selected workspace, or the workspace of the selected input."""
        selected = self.selected()
        if selected is None:
            return None
        kind, record = selected
        return record if kind == "workspace" else self.state.inputs[record].workspace_id

    def _on_current(self, *_: object) -> None:
        self.show_refusal(None)
        self._update_buttons()

    def _update_buttons(self) -> None:
        selected = self.selected()
        self.add_input_button.setEnabled(bool(self.state.workspaces))
        self.add_input_button.setToolTip("" if self.state.workspaces
                                         else "Add a workspace first")
        self.rename_button.setEnabled(selected is not None)
        self.remove_button.setEnabled(selected is not None)
        self.remove_button.setToolTip(self.removal_problem() or "")

    def removal_problem(self) -> str | None:
        """Why the selected workspace or input can't be removed (core's words), or None."""
        selected = self.selected()
        if selected is None:
            return None
        kind, record = selected
        if kind == "workspace":
            return self.state.can_remove_workspace(record)
        return self.state.can_remove_input(record)

    # ------------------------------------------------------------------ changes

    def add_workspace(self) -> None:
        self._open(WorkspaceDialog(self.state, self))

    def add_input(self, workspace_id: str | None = None) -> None:
        workspace_id = workspace_id or self.selected_workspace_id()
        self._open(InputDialog(self.state, workspace_id, self))

    def _open(self, form: WorkspaceDialog | InputDialog) -> None:
        self.form = form
        form.save = self.apply

        def finished(_result: int) -> None:
            if self.form is form:
                self.form = None
            form.deleteLater()

        form.finished.connect(finished)
        form.open()

    def rename_selected(self) -> None:
        """Rename in place: the name becomes editable in the tree."""
        item = self.table.currentItem()
        if item is not None:
            self.table.editItem(item, 0)

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        """A name typed in the tree: one rename, or the refusal and the old name back."""
        if self._filling or column != 0:
            return
        kind, record = item.data(0, KIND), str(item.data(0, RECORD))
        name = item.text(0)
        if kind == "workspace" and record in self.state.workspaces:
            old = self.state.workspaces[record].name
            command: Command = RenameWorkspace(record, name)
        elif kind == "input" and record in self.state.inputs:
            old = self.state.inputs[record].name
            command = RenameInput(record, name)
        else:
            return
        if name == old:
            return
        if self.apply(command) is not None:
            self._filling = True
            item.setText(0, old)
            self._filling = False

    def remove_selected(self) -> None:
        """Remove the selected row, or say on the page why it stays."""
        selected = self.selected()
        if selected is None:
            return
        problem = self.removal_problem()
        if problem:
            self.show_refusal(problem)
            return
        kind, record = selected
        self.apply(RemoveWorkspace(record) if kind == "workspace" else RemoveInput(record))

    def applied(self, command: Command) -> None:
        self.refresh()
        if isinstance(command, AddInput | RenameInput):
            item = self.item_of("input", command.input_id)
        elif isinstance(command, AddWorkspace | RenameWorkspace):
            item = self.item_of("workspace", command.workspace_id)
        else:
            item = None
        if item is not None:
            self.table.setCurrentItem(item)


class _AddDialog(_Dialog):
    """A form whose OK runs one add command through the page; a refusal stays on the form."""

    error: QLabel

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.save: Callable[[Command], str | None] | None = None
        """Set by the page: runs the command; returns a refusal."""

    def validate(self) -> bool:
        raise NotImplementedError

    def command(self) -> Command:
        """The command OK runs."""
        raise NotImplementedError

    def accept(self) -> None:
        if not self.validate():
            return
        problem = self.save(self.command()) if self.save else None
        if problem:
            _show_error(self.error, problem)
            return
        super(_Dialog, self).accept()


class WorkspaceDialog(_AddDialog):
    """A new workspace's name, checked as it is typed."""

    def __init__(self, state: AccountState, parent: QWidget | None = None) -> None:
        super().__init__("New workspace", parent)
        self.state = state
        self.workspace_id = Workspace(name="-").id
        note = QLabel("Name it after the app, website or business unit whose events it "
                      "collects.")
        note.setObjectName("dialogNote")
        note.setWordWrap(True)
        self.name = QLineEdit()
        self.name.setObjectName("nameField")
        self.name.setPlaceholderText("e.g. Streaming App")
        self.name.setMaxLength(120)
        self.error = _error_label()
        label = QLabel("Name")
        label.setObjectName("fieldLabel")
        label.setBuddy(self.name)
        for widget in (note, label, self.name, self.error):
            self.body.addWidget(widget)
        self.body.addSpacing(6)
        self.ok_button.setText("Add workspace")
        self.finish_layout()
        self.resize(440, 0)
        self.name.textChanged.connect(lambda _t: self.validate())
        self.validate()
        self.name.setFocus()

    def workspace(self) -> Workspace:
        return Workspace(id=self.workspace_id, name=" ".join(self.name.text().split()) or "-")

    def validate(self) -> bool:
        name = self.name.text()
        problem = self.state.can_add_workspace(name) if name.strip() else None
        _show_error(self.error, problem)
        ok = bool(name.strip()) and problem is None
        self.ok_button.setEnabled(ok)
        return ok

    def command(self) -> Command:
        return AddWorkspace(self.workspace())


class InputDialog(_AddDialog):
    """A new input: its workspace, whether it is a platform or a partner feed, the
    platform, and its name (the platform's, until one is typed)."""

    def __init__(self, state: AccountState, workspace_id: str | None,
                 parent: QWidget | None = None) -> None:
        super().__init__("New input", parent)
        self.state = state
        self.input_id = Input(workspace_id="-", name="-").id
        self.workspace = QComboBox()
        self.workspace.setObjectName("workspaceField")
        for workspace in state.workspaces.values():
            self.workspace.addItem(icons.icon("layers", "text_muted"), workspace.name,
                                   workspace.id)
        if workspace_id is not None:
            self.workspace.setCurrentIndex(max(0, self.workspace.findData(workspace_id)))
        self.platform_feed = QRadioButton("Platform feed")
        self.platform_feed.setObjectName("platformFeed")
        self.partner_feed = QRadioButton("Partner feed")
        self.partner_feed.setObjectName("partnerFeed")
        self.platform_feed.setChecked(True)
        kinds = QButtonGroup(self)
        kinds.addButton(self.platform_feed)
        kinds.addButton(self.partner_feed)
        kind_row = QHBoxLayout()
        kind_row.setSpacing(18)
        kind_row.addWidget(self.platform_feed)
        kind_row.addWidget(self.partner_feed)
        kind_row.addStretch(1)
        self.platform = QComboBox()
        self.platform.setObjectName("platformField")
        self.platform.setEditable(True)
        self.platform.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for platform in PLATFORMS:
            key = platform_key(platform, "platform")
            self.platform.addItem(icons.icon(icons.platform_icon(key), theme.brand_tint(
                theme.PLATFORM_TINTS[key])), platform)
        self.platform.setCurrentIndex(0)
        self.name = QLineEdit()
        self.name.setObjectName("nameField")
        self.name.setMaxLength(120)
        self._name_typed = False
        self.error = _error_label()
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(10)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.platform_label = self._label("Platform")
        form.addRow(self._label("Workspace"), self.workspace)
        form.addRow(self._label("Source"), kind_row)
        form.addRow(self.platform_label, self.platform)
        form.addRow(self._label("Name"), self.name)
        note = QLabel("An input is one feed of events: a platform of the workspace's app or "
                      "website, or a partner's feed. Imports name the input their events "
                      "come through.")
        note.setObjectName("dialogNote")
        note.setWordWrap(True)
        self.body.addWidget(note)
        self.body.addSpacing(4)
        self.body.addLayout(form)
        self.body.addWidget(self.error)
        self.body.addSpacing(6)
        self.ok_button.setText("Add input")
        self.finish_layout()
        self.resize(480, 0)
        self.workspace.currentIndexChanged.connect(lambda _i: self.validate())
        self.partner_feed.toggled.connect(lambda _c: self._on_kind())
        self.platform.currentTextChanged.connect(lambda _t: self._follow_platform())
        self.name.textEdited.connect(self._on_name_typed)
        self._follow_platform()
        self.name.setFocus()

    @staticmethod
    def _label(text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("fieldLabel")
        return label

    @property
    def kind(self) -> InputKind:
        return "partner" if self.partner_feed.isChecked() else "platform"

    def platform_value(self) -> str | None:
        return None if self.kind == "partner" else self.platform.currentText()

    def workspace_id(self) -> str:
        return str(self.workspace.currentData() or "")

    def _on_kind(self) -> None:
        partner = self.kind == "partner"
        self.platform.setVisible(not partner)
        self.platform_label.setVisible(not partner)
        self._follow_platform()

    def _on_name_typed(self, text: str) -> None:
        self._name_typed = bool(text)
        self.validate()

    def _follow_platform(self) -> None:
        """Until a name is typed, the input is called after its platform (“iOS”); a
        platform of the list, typed, is that item (with its icon)."""
        index = self.platform.findText(self.platform.currentText().strip(),
                                       Qt.MatchFlag.MatchFixedString)
        if index >= 0 and index != self.platform.currentIndex():
            self.platform.setCurrentIndex(index)
        if not self._name_typed:
            suggestion = "Partner feed" if self.kind == "partner" else \
                " ".join(self.platform.currentText().split())
            self.name.setText(suggestion)
        self.validate()

    def input(self) -> Input:
        return Input(id=self.input_id, workspace_id=self.workspace_id(),
                     name=" ".join(self.name.text().split()) or "-", kind=self.kind,
                     platform=self.platform_value())

    def validate(self) -> bool:
        if not self.workspace_id():
            _show_error(self.error, "Add a workspace first: an input belongs to one.")
            self.ok_button.setEnabled(False)
            return False
        name = self.name.text()
        problem = self.state.can_add_input(self.workspace_id(), name, self.platform_value(),
                                           self.kind) if name.strip() else None
        _show_error(self.error, problem)
        ok = bool(name.strip()) and problem is None
        self.ok_button.setEnabled(ok)
        return ok

    def command(self) -> Command:
        return AddInput(self.input())
