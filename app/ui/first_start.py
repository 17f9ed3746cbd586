"""First start: the welcome dialog, and the guided set-up of an empty account.

A new database asks first: **Start with demo data** (two journeys over a few
hundred generated customers, to look around) or **Start empty**. Starting empty
leads through what a journey is built from, so the marketer never meets an
empty canvas they can't use: name a workspace, add its inputs (one per platform,
or a partner's feed), then the New journey dialog with those inputs ticked,
and the journey's canvas. Each step is an ordinary undoable command through the
window (the workspace, then its inputs as one step), so the History tells what
was set up and Account settings can change it later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.account import AccountState, journey_name_key
from app.core.commands import AddInput, AddWorkspace, Command, Macro, RenameWorkspace
from app.core.models import Input, InputKind, Workspace
from app.ui import icons, theme
from app.ui.canvas.cards import platform_key
from app.ui.dialogs import _error_label, _show_error
from app.ui.settings_page import run_refusable
from app.ui.workspaces_page import PARTNER_FEED, PLATFORMS

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

APP_MARK = theme.RESOURCES_DIR / "icons" / "journey-studio.svg"


def _label(text: str, name: str, wrap: bool = False) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(wrap)
    return label


class ChoiceCard(QPushButton):
    """A large button: an icon in a tinted tile, a title and a sentence under it."""

    def __init__(self, icon_name: str, title: str, text: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("choiceCard")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAutoDefault(False)
        self.setAccessibleName(title)
        tile = QLabel()
        tile.setObjectName("choiceTile")
        tile.setFixedSize(40, 40)
        tile.setAlignment(Qt.AlignmentFlag.AlignCenter)
        tile.setPixmap(icons.pixmap(icon_name, "accent", QSize(22, 22),
                                    self.devicePixelRatioF()))
        self.title = _label(title, "choiceTitle")
        self.text_label = _label(text, "choiceText", wrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.setSpacing(8)
        layout.addWidget(tile)
        layout.addSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.text_label, 1)
        for child in (tile, self.title, self.text_label):
            child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setMinimumSize(250, 180)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)

    def sizeHint(self) -> QSize:
        """As big as the texts inside need (a push button would measure its own text)."""
        layout = self.layout()
        inner = layout.sizeHint() if layout is not None else QSize()
        return inner.expandedTo(self.minimumSize())


class WelcomeDialog(QDialog):
    """Demo data or an empty account, for a database that has no account yet.

    ``chosen`` says which (True: the demo); whoever opens the window listens to it.
    """

    chosen = Signal(bool)

    def __init__(self, where: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomeDialog")
        self.setWindowTitle("Welcome to Journey Studio")
        self.window_opened: QWidget | None = None
        """The main window, once a choice opened it (tests read it)."""
        self.assistant: SetupAssistant | None = None
        """The guided set-up, when the person started empty."""
        mark = QLabel()
        mark.setPixmap(QIcon(str(APP_MARK)).pixmap(QSize(52, 52), self.devicePixelRatioF()))
        mark.setFixedSize(52, 52)
        title = _label("Welcome to Journey Studio", "welcomeTitle")
        subtitle = _label("Draw customer journeys over your own event data, and send each "
                          "audience to the partners you use. How would you like to start?",
                          "welcomeText", wrap=True)
        self.demo_button = ChoiceCard(
            "journey", "Start with demo data",
            "Two example journeys over a few hundred generated customers: the quickest "
            "way to look around.")
        self.empty_button = ChoiceCard(
            "plus", "Start empty",
            "Set up your own workspace and the inputs your events come through, then draw "
            "your first journey.")
        self.status = _label("", "welcomeNote", wrap=True)
        self.status.setText(f"Your journeys will be kept in {where}." if where else "")
        self.status.setVisible(bool(where))
        cards = QHBoxLayout()
        cards.setSpacing(14)
        cards.addWidget(self.demo_button, 1)
        cards.addWidget(self.empty_button, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(36, 32, 36, 28)
        layout.setSpacing(10)
        layout.addWidget(mark)
        layout.addSpacing(6)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addSpacing(14)
        layout.addLayout(cards)
        layout.addSpacing(10)
        layout.addWidget(self.status)
        self.demo_button.clicked.connect(lambda: self._choose(True))
        self.empty_button.clicked.connect(lambda: self._choose(False))
        self.setFixedWidth(620)

    def _choose(self, demo: bool) -> None:
        """Say so while the database is prepared (the demo takes a few seconds)."""
        for button in (self.demo_button, self.empty_button):
            button.setEnabled(False)
        self.status.setText("Preparing the demo data…" if demo else "Preparing your account…")
        self.status.show()
        self.repaint()
        self.chosen.emit(demo)


# ---------------------------------------------------------------------------- set-up


class InputRow(QWidget):
    """One input of the set-up: its platform (or a partner feed) and its name."""

    def __init__(self, platform: str, on_change: Callable[[], object],
                 on_remove: Callable[[InputRow], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inputRow")
        self.platform = QComboBox()
        self.platform.setObjectName("platformField")
        self.platform.setEditable(True)
        self.platform.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for choice in (*PLATFORMS, PARTNER_FEED):
            key = "partner" if choice == PARTNER_FEED else platform_key(choice, "platform")
            self.platform.addItem(icons.icon(icons.platform_icon(key), theme.brand_tint(
                theme.PLATFORM_TINTS[key])), choice)
        self.platform.setFixedWidth(170)
        self.name = QLineEdit()
        self.name.setObjectName("nameField")
        self.name.setMaxLength(120)
        self.name.setPlaceholderText("Name")
        self._typed = False
        self.remove = QToolButton()
        self.remove.setObjectName("removeRow")
        self.remove.setIcon(icons.icon("close", "text_muted"))
        self.remove.setToolTip("Remove this input")
        self.remove.setCursor(Qt.CursorShape.PointingHandCursor)
        self.error = _error_label()
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(8)
        layout.setVerticalSpacing(2)
        layout.addWidget(self.platform, 0, 0)
        layout.addWidget(self.name, 0, 1)
        layout.addWidget(self.remove, 0, 2)
        layout.addWidget(self.error, 1, 0, 1, 3)
        self.platform.setCurrentText(platform)
        self._follow_platform(platform)
        self.platform.currentTextChanged.connect(self._follow_platform)
        self.name.textEdited.connect(self._on_typed)
        self.platform.currentTextChanged.connect(lambda _t: on_change())
        self.name.textChanged.connect(lambda _t: on_change())
        self.remove.clicked.connect(lambda: on_remove(self))

    @property
    def kind(self) -> InputKind:
        return "partner" if self.platform.currentText().strip() == PARTNER_FEED else "platform"

    def platform_value(self) -> str | None:
        return None if self.kind == "partner" else " ".join(self.platform.currentText().split())

    def input_name(self) -> str:
        return " ".join(self.name.text().split())

    def _on_typed(self, text: str) -> None:
        self._typed = bool(text)

    def _follow_platform(self, text: str) -> None:
        """Until a name is typed, the input is called after its platform; a platform of
        the list, typed, is that item (with its icon)."""
        index = self.platform.findText(text.strip(), Qt.MatchFlag.MatchFixedString)
        if index >= 0 and index != self.platform.currentIndex():
            self.platform.setCurrentIndex(index)
        if not self._typed:
            self.name.setText(" ".join(self.platform.currentText().split()))


class SetupAssistant(QDialog):
    """Two steps: the workspace's name, then its inputs. ``run`` applies each command
    (the window's undo path) and returns a refusal or None; ``finished_setup`` hands the
    new inputs' ids, once the assistant has closed, to whoever opens the New journey
    dialog next."""

    finished_setup = Signal(tuple)

    def __init__(self, state: AccountState, run: Callable[[Command], str | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("setupAssistant")
        self.setWindowTitle("Set up your account")
        self.state = state
        self.run = run
        self.workspace_id: str | None = None
        """The workspace made by step 1 (None until Next)."""
        self.rows: list[InputRow] = []
        self.input_ids: tuple[str, ...] = ()
        """The inputs step 2 stored."""
        self.step_label = _label("", "stepLabel")
        self.back_button = QPushButton("Back")
        self.back_button.setAutoDefault(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAutoDefault(False)
        self.next_button = QPushButton("Next")
        self.next_button.setObjectName("primaryButton")
        self.next_button.setDefault(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._workspace_step())
        self.stack.addWidget(self._inputs_step())
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.next_button)
        rule = QFrame()
        rule.setObjectName("formRule")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 22, 28, 20)
        layout.setSpacing(12)
        layout.addWidget(self.step_label)
        layout.addWidget(self.stack, 1)
        layout.addWidget(rule)
        layout.addLayout(buttons)
        self.back_button.clicked.connect(lambda: self.go_to(0))
        self.cancel_button.clicked.connect(self.reject)
        self.next_button.clicked.connect(self.advance)
        self.setMinimumWidth(600)
        self.resize(600, 420)
        self.go_to(0)

    # ------------------------------------------------------------------ the steps

    def _workspace_step(self) -> QWidget:
        page = QWidget()
        title = _label("Name your workspace", "dialogTitle")
        note = _label("A workspace groups the inputs of one app, website or business unit. "
                      "Name it after whatever its events come from.", "dialogNote", True)
        self.workspace_name = QLineEdit()
        self.workspace_name.setObjectName("workspaceName")
        self.workspace_name.setPlaceholderText("e.g. Streaming App")
        self.workspace_name.setMaxLength(120)
        self.workspace_error = _error_label()
        label = _label("Workspace name", "fieldLabel")
        label.setBuddy(self.workspace_name)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(note)
        layout.addSpacing(6)
        layout.addWidget(label)
        layout.addWidget(self.workspace_name)
        layout.addWidget(self.workspace_error)
        layout.addStretch(1)
        self.workspace_name.textChanged.connect(lambda _t: self.validate())
        self.workspace_name.returnPressed.connect(self.advance)
        return page

    def _inputs_step(self) -> QWidget:
        page = QWidget()
        self.inputs_title = _label("Add its inputs", "dialogTitle")
        note = _label("One input for each platform its events arrive from (iOS, Android, Web "
                      "…) or for a partner's feed. Every imported event comes through one "
                      "input; you can add more later in Account settings.", "dialogNote", True)
        headers = QHBoxLayout()
        headers.setSpacing(8)
        platform = _label("Platform", "fieldLabel")
        platform.setFixedWidth(170)
        headers.addWidget(platform)
        headers.addWidget(_label("Name", "fieldLabel"), 1)
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(8)
        self.add_row_button = QPushButton("Add another input")
        self.add_row_button.setObjectName("addCriterion")
        self.add_row_button.setIcon(icons.icon("plus", "accent"))
        self.add_row_button.setAutoDefault(False)
        self.add_row_button.clicked.connect(lambda: self.add_row())
        self.inputs_error = _error_label()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(self.inputs_title)
        layout.addWidget(note)
        layout.addSpacing(6)
        layout.addLayout(headers)
        layout.addLayout(self.rows_box)
        layout.addWidget(self.add_row_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.inputs_error)
        layout.addStretch(1)
        self.add_row("iOS")
        return page

    def add_row(self, platform: str = "") -> InputRow:
        """Another input, on the first platform no row has yet."""
        if not platform:
            taken = {r.platform_value() for r in self.rows}
            platform = next((p for p in PLATFORMS if p not in taken), "Web")
        row = InputRow(platform, self.validate, self.remove_row)
        self.rows.append(row)
        self.rows_box.addWidget(row)
        self.validate()
        row.name.setFocus()
        QTimer.singleShot(0, self._fit_height)
        return row

    def _fit_height(self) -> None:
        """Taller as rows are added (never shorter: the buttons stay where they were)."""
        wanted = self.sizeHint().height()
        if wanted > self.height():
            self.resize(self.width(), wanted)

    def remove_row(self, row: InputRow) -> None:
        if len(self.rows) <= 1:
            return
        self.rows.remove(row)
        row.hide()
        row.deleteLater()
        self.validate()

    def go_to(self, step: int) -> None:
        self.stack.setCurrentIndex(step)
        names = ("Workspace", "Inputs")
        self.step_label.setText(f"STEP {step + 1} OF 2  ·  {names[step].upper()}")
        self.back_button.setVisible(step > 0)
        self.next_button.setText("Next" if step == 0 else "Create inputs")
        if step == 1:
            workspace = self.state.workspaces.get(self.workspace_id or "")
            self.inputs_title.setText(f"Add the inputs of “{workspace.name}”" if workspace
                                      else "Add its inputs")
            if self.rows:
                self.rows[0].name.setFocus()
        else:
            self.workspace_name.setFocus()
        self.validate()

    @property
    def step(self) -> int:
        return self.stack.currentIndex()

    # ------------------------------------------------------------------ checks

    def validate(self) -> bool:
        ok = self._workspace_ok() if self.step == 0 else self._inputs_ok()
        self.next_button.setEnabled(ok)
        return ok

    def _workspace_ok(self) -> bool:
        name = self.workspace_name.text()
        if self.workspace_id is not None:
            problem = self.state.can_rename_workspace(self.workspace_id, name)
        else:
            problem = self.state.can_add_workspace(name) if name.strip() else None
        _show_error(self.workspace_error, problem)
        return bool(name.strip()) and problem is None

    def _inputs_ok(self) -> bool:
        if self.workspace_id is None:
            return False
        ok = True
        seen: dict[str, str] = {}
        for row in self.rows:
            name = row.input_name()
            problem = self.state.can_add_input(self.workspace_id, name, row.platform_value(),
                                               row.kind) if name else "Name the input."
            key = journey_name_key(name)
            if problem is None and key in seen:
                problem = f"Two inputs are called “{seen[key]}”: give each its own name."
            seen.setdefault(key, name)
            _show_error(row.error, problem if name or row.platform.currentText() else None)
            row.name.setProperty("error", problem is not None)
            row.name.style().unpolish(row.name)
            row.name.style().polish(row.name)
            ok = ok and problem is None
        for row in self.rows:
            row.remove.setEnabled(len(self.rows) > 1)
        return ok

    # ------------------------------------------------------------------ going on

    def advance(self) -> None:
        """Next on step 1 stores the workspace; Create inputs stores the inputs."""
        if not self.validate():
            return
        if self.step == 0:
            if self._save_workspace():
                self.go_to(1)
        elif self._save_inputs():
            self.accept()
            self.finished_setup.emit(self.input_ids)

    def _save_workspace(self) -> bool:
        name = " ".join(self.workspace_name.text().split())
        if self.workspace_id is None:
            workspace = Workspace(name=name)
            command: Command = AddWorkspace(workspace)
            problem = self.run(command)
            if problem is None:
                self.workspace_id = workspace.id
        elif name != self.state.workspace(self.workspace_id).name:
            problem = self.run(RenameWorkspace(self.workspace_id, name))
        else:
            problem = None
        _show_error(self.workspace_error, problem)
        return problem is None

    def _save_inputs(self) -> bool:
        assert self.workspace_id is not None
        inputs = [Input(workspace_id=self.workspace_id, name=row.input_name(), kind=row.kind,
                        platform=row.platform_value()) for row in self.rows]
        commands: list[Command] = [AddInput(input_) for input_ in inputs]
        workspace = self.state.workspace(self.workspace_id).name
        command = commands[0] if len(commands) == 1 else Macro(
            f"Add {len(commands)} inputs to “{workspace}”", commands)
        problem = self.run(command)
        _show_error(self.inputs_error, problem)
        if problem is None:
            self.input_ids = tuple(i.id for i in inputs)
        return problem is None


# ---------------------------------------------------------------------------- the flow


def start_setup(window: MainWindow) -> SetupAssistant:
    """Lead an empty account through its set-up in ``window``: the assistant, then the
    New journey dialog with the new inputs ticked, whose OK puts the journey on the
    canvas."""
    assistant = SetupAssistant(
        window.studio.state,
        lambda command: run_refusable(window.run, window.controller, command), window)

    def first_journey(input_ids: tuple[str, ...]) -> None:
        dialog = window.new_journey()
        if dialog is None:
            return
        dialog.setWindowTitle("Your first journey")
        dialog.heading.setText("Your first journey")
        for input_id in input_ids:
            dialog.check_input(input_id)
        dialog.name.setFocus()

    assistant.finished_setup.connect(first_journey)
    assistant.finished.connect(lambda _result: assistant.deleteLater())
    assistant.open()
    return assistant
