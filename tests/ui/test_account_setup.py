"""Account settings › Limit and › Workspaces & inputs, and a journey's inputs, driven with
real clicks and typing on a real SQLite file; what is stored is read back through a fresh
Studio, as another window would see it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QLineEdit,
    QPushButton,
    QTreeWidgetItemIterator,
)
from pytestqt.qtbot import QtBot

from app.core.account import NO_INPUTS_MESSAGE, AccountState
from app.core.commands import SetActiveAudienceLimit, SetJourneyInputs
from app.studio import Studio
from app.ui.account_settings import (
    CONNECTIONS_PAGE,
    LIMIT_PAGE,
    WORKSPACES_PAGE,
    AccountSettingsDialog,
)
from app.ui.canvas.cards import Forwarding
from app.ui.dialogs import ConnectionDialog
from app.ui.journey_inputs import JourneyInputsDialog
from app.ui.main_window import MainWindow
from app.ui.workspaces_page import InputDialog, WorkspaceDialog, WorkspacesPage

from .conftest import TRIAL

WAIT_MS = 15_000
STREAMING_INPUTS = ("in-streaming-ios", "in-streaming-android", "in-streaming-web")

ACTIVE_NOW = [("All app and web users", "California promo"),
              ("In California", "California promo"),
              ("Signed up for trial", "Trial to paid")]
"""The demo's active audiences, as the Limit page lists them."""


@contextmanager
def stored(db_path: Path) -> Iterator[AccountState]:
    """The account as stored, read by a fresh Studio (another window's view of it)."""
    other = Studio.open(str(db_path))
    try:
        yield other.state
    finally:
        other.close()


def open_settings(qtbot: QtBot, window: MainWindow) -> AccountSettingsDialog:
    """Ctrl+, in the window, as a person opens it."""
    window.activateWindow()
    QTest.keyClick(window.view, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.account_settings is not None)
    dialog = window.account_settings
    assert dialog is not None
    qtbot.waitExposed(dialog)
    return dialog


def turn_to(qtbot: QtBot, dialog: AccountSettingsDialog, title: str) -> None:
    """Click the page's entry in the list on the left."""
    rect = dialog.pages.visualItemRect(dialog.page_item(title))
    qtbot.mouseClick(dialog.pages.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert dialog.current_page() == title


def click(qtbot: QtBot, button: QPushButton) -> None:
    assert button.isEnabled(), button.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def toggle(qtbot: QtBot, dialog: JourneyInputsDialog, input_id: str) -> None:
    """Click the input's row, then Space: its check box turns over."""
    tree = dialog.checklist
    item = tree.input_items[input_id]
    rect = tree.visualItemRect(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert tree.currentItem() is item
    QTest.keyClick(tree, Qt.Key.Key_Space)


def type_limit(qtbot: QtBot, dialog: AccountSettingsDialog, text: str) -> None:
    field = dialog.limit.spin
    field.setFocus()
    field.selectAll()
    QTest.keyClick(field, Qt.Key.Key_Backspace)
    qtbot.keyClicks(field, text)


# ---------------------------------------------------------------------------- the limit


def test_set_the_limit_from_the_limit_page_and_undo_it(
    qtbot: QtBot, editor: MainWindow, db_path: Path, artifacts_dir: Path,
) -> None:
    dialog = open_settings(qtbot, editor)
    turn_to(qtbot, dialog, CONNECTIONS_PAGE)
    turn_to(qtbot, dialog, LIMIT_PAGE)
    page = dialog.limit
    assert page.figure.text() == "3 of 25"
    assert page.audiences() == ACTIVE_NOW
    assert page.spin.value() == 25 and not page.apply_button.isEnabled()
    dialog.grab().save(str(artifacts_dir / "account-settings-limit.png"))

    type_limit(qtbot, dialog, "40")
    click(qtbot, page.apply_button)
    assert page.figure.text() == "3 of 40"
    assert editor.meter.text() == "Active audiences 3 / 40"
    assert editor.undo_stack.undoText() == "Set the active-audience limit to 40"
    with stored(db_path) as state:
        assert state.limit == 40

    # Ctrl+Z in Account settings puts it back, in the field, the meter and the file.
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    QTest.keyClick(page.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert page.spin.value() == 25 and page.figure.text() == "3 of 25"
    assert editor.meter.text() == "Active audiences 3 / 25"
    with stored(db_path) as state:
        assert state.limit == 25

    # Enter in the field applies, too.
    type_limit(qtbot, dialog, "12")
    QTest.keyClick(page.spin, Qt.Key.Key_Return)
    with stored(db_path) as state:
        assert state.limit == 12


def test_a_limit_below_the_active_count_is_refused_naming_the_audiences(
    qtbot: QtBot, editor: MainWindow, db_path: Path, artifacts_dir: Path,
) -> None:
    dialog = open_settings(qtbot, editor)
    page = dialog.limit
    assert dialog.current_page() == LIMIT_PAGE
    type_limit(qtbot, dialog, "2")
    assert page.error.isVisible()
    message = page.error.text()
    for audience, _journey in ACTIVE_NOW:
        assert f"“{audience}”" in message
    assert page.spin.property("error") is True
    assert not page.apply_button.isEnabled()
    assert page.apply_button.toolTip() == message
    dialog.grab().save(str(artifacts_dir / "account-settings-limit-refused.png"))
    QTest.keyClick(page.spin, Qt.Key.Key_Return)  # Enter can't get round it
    with stored(db_path) as state:
        assert state.limit == 25
    assert editor.undo_stack.count() == 0
    assert editor.meter.text() == "Active audiences 3 / 25"

    type_limit(qtbot, dialog, "3")  # exactly what is active is allowed
    assert page.error.isHidden() and page.apply_button.isEnabled()


def test_the_meter_and_the_account_footer_open_account_settings_on_their_page(
    qtbot: QtBot, editor: MainWindow,
) -> None:
    dialog = open_settings(qtbot, editor)
    turn_to(qtbot, dialog, CONNECTIONS_PAGE)
    dialog.close()
    qtbot.waitUntil(lambda: editor.account_settings is None)
    qtbot.mouseClick(editor.meter, Qt.MouseButton.LeftButton)
    opened = editor.account_settings
    assert opened is not None and opened.isVisible()
    assert opened.current_page() == LIMIT_PAGE
    # The account's footer under the journeys opens its workspaces.
    qtbot.mouseClick(editor.panel.footer, Qt.MouseButton.LeftButton)
    assert editor.account_settings is opened
    assert opened.current_page() == WORKSPACES_PAGE
    # Open on another page, the meter turns the same window to the limit.
    turn_to(qtbot, opened, CONNECTIONS_PAGE)
    qtbot.mouseClick(editor.meter, Qt.MouseButton.LeftButton)
    assert editor.account_settings is opened and opened.current_page() == LIMIT_PAGE


# ---------------------------------------------------------------------------- a journey's inputs


def test_change_a_journeys_inputs_from_the_gui_and_undo(
    qtbot: QtBot, editor: MainWindow, db_path: Path, artifacts_dir: Path,
) -> None:
    runner = editor.evaluations
    qtbot.waitUntil(lambda: runner.figures(TRIAL) is not None, timeout=WAIT_MS)
    assert editor.inspector.size_label is not None
    assert editor.inspector.size_label.text() == "500 people in this journey"
    assert set(editor.scene.input_items) == set(STREAMING_INPUTS)

    # Edit ▸ Journey inputs… (Ctrl+Shift+I): the journey's inputs are ticked.
    editor.activateWindow()
    QTest.keyClick(editor.view, Qt.Key.Key_I,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: isinstance(editor.active_dialog, JourneyInputsDialog))
    dialog = editor.active_dialog
    assert isinstance(dialog, JourneyInputsDialog)
    qtbot.waitExposed(dialog)
    assert set(dialog.input_ids()) == set(STREAMING_INPUTS)
    assert not dialog.ok_button.isEnabled()  # nothing changed yet
    dialog.grab().save(str(artifacts_dir / "journey-inputs.png"))

    # Untick everything: refused in place with the core's words.
    for input_id in STREAMING_INPUTS:
        toggle(qtbot, dialog, input_id)
    assert dialog.error.text() == NO_INPUTS_MESSAGE and not dialog.ok_button.isEnabled()
    toggle(qtbot, dialog, "in-streaming-ios")
    assert dialog.input_ids() == ("in-streaming-ios",)
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS) as blocker:
        click(qtbot, dialog.ok_button)
        qtbot.waitUntil(lambda: editor.active_dialog is None)
    result = blocker.args[0]
    population = result.population.size
    assert 0 < population < 500
    # What the marketer sees: one input card, a smaller population, new card sizes.
    assert list(editor.scene.input_items) == ["in-streaming-ios"]
    assert editor.inspector.size_label.text() == f"{population:,} people in this journey"
    signed_up = result.milestone("ms-signed-up").size
    assert signed_up < 295
    assert editor.scene.milestone_items["ms-signed-up"].card().size_text == \
        f"{signed_up:,} users"
    assert editor.undo_stack.undoText() == "Change the inputs of “Trial to paid”"
    with stored(db_path) as state:
        assert state.journey(TRIAL).journey.input_ids == ("in-streaming-ios",)

    # Undo: the three inputs, and the sizes, come back.
    editor.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is editor)
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS) as blocker:
        QTest.keyClick(editor.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args[0].population.size == 500
    assert set(editor.scene.input_items) == set(STREAMING_INPUTS)
    assert editor.scene.milestone_items["ms-signed-up"].card().size_text == "295 users"
    with stored(db_path) as state:
        assert set(state.journey(TRIAL).journey.input_ids) == set(STREAMING_INPUTS)


def test_the_inspector_opens_the_journeys_inputs(qtbot: QtBot, editor: MainWindow) -> None:
    editor.scene.clearSelection()
    button = editor.inspector.inputs_button
    assert button is not None and button.text() == "Change inputs…"
    click(qtbot, button)
    qtbot.waitUntil(lambda: isinstance(editor.active_dialog, JourneyInputsDialog))
    dialog = editor.active_dialog
    assert isinstance(dialog, JourneyInputsDialog) and dialog.journey_id == TRIAL
    # "Manage workspaces & inputs…" leads to Account settings on that page.
    assert dialog.manage_button is not None
    click(qtbot, dialog.manage_button)
    qtbot.waitUntil(lambda: editor.account_settings is not None)
    assert editor.account_settings is not None
    assert editor.account_settings.current_page() == WORKSPACES_PAGE
    assert editor.active_dialog is None


# ---------------------------------------------------------------------------- workspaces and inputs


def rows(page: WorkspacesPage) -> list[list[str]]:
    """Every row of the tree as shown: workspaces, each followed by its inputs."""
    shown = []
    iterator = QTreeWidgetItemIterator(page.table)
    while iterator.value() is not None:
        item = iterator.value()
        shown.append([item.text(column) for column in range(4)])
        iterator += 1
    return shown


def name_cell(page: WorkspacesPage, kind: str, record_id: str) -> QPoint:
    """The middle of a row's name (its first column)."""
    item = page.item_of(kind, record_id)
    assert item is not None
    return page.table.visualRect(page.table.indexFromItem(item, 0)).center()


def select(qtbot: QtBot, page: WorkspacesPage, kind: str, record_id: str) -> None:
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=name_cell(page, kind, record_id))
    assert page.selected() == (kind, record_id)


def type_in_place(qtbot: QtBot, page: WorkspacesPage, text: str) -> None:
    """Type a name into the tree's open editor and press Enter."""
    def editor() -> QLineEdit | None:
        return next((f for f in page.table.viewport().findChildren(QLineEdit)
                     if f.isVisible()), None)

    qtbot.waitUntil(lambda: editor() is not None)
    field = editor()
    assert field is not None
    field.selectAll()
    qtbot.keyClicks(field, text)
    QTest.keyClick(field, Qt.Key.Key_Return)


def form_of(qtbot: QtBot, page: WorkspacesPage) -> WorkspaceDialog | InputDialog:
    qtbot.waitUntil(lambda: page.form is not None)
    form = page.form
    assert form is not None
    qtbot.waitExposed(form)
    return form


def stored_setup(db_path: Path) -> dict[str, list[tuple[str, str | None]]]:
    """Workspace name -> its inputs' (name, platform), as stored."""
    with stored(db_path) as state:
        return {w.name: [(i.name, i.platform) for i in state.inputs_of(w.id)]
                for w in state.workspaces.values()}


def test_add_a_workspace_and_an_input_rename_and_remove_them(
    qtbot: QtBot, editor: MainWindow, db_path: Path, artifacts_dir: Path,
) -> None:
    dialog = open_settings(qtbot, editor)
    turn_to(qtbot, dialog, WORKSPACES_PAGE)
    page = dialog.workspaces
    # The demo's workspaces with their inputs, platforms, events and readers.
    qtbot.waitUntil(lambda: rows(page)[1][2] != "—")
    shown = rows(page)
    assert shown[0] == ["Streaming App", "3 inputs", "", ""]
    assert shown[1] == ["iOS", "iOS", "4,163 events", "2 journeys"]
    assert shown[5] == ["Web", "Web", "366 events", "California promo"]
    assert shown[6] == ["Partner feed: Braze", "Partner feed", "134 events", "Not used"]
    dialog.grab().save(str(artifacts_dir / "account-settings-workspaces.png"))

    # Add a workspace: a taken name is refused in place, a new one is stored.
    click(qtbot, page.add_workspace_button)
    form = form_of(qtbot, page)
    assert isinstance(form, WorkspaceDialog)
    qtbot.keyClicks(form.name, "streaming app")
    assert form.error.text() == "There is already a workspace called “Streaming App”."
    assert not form.ok_button.isEnabled()
    form.name.selectAll()
    qtbot.keyClicks(form.name, "Loyalty App")
    click(qtbot, form.ok_button)
    qtbot.waitUntil(lambda: page.form is None)
    loyalty = editor.studio.state.workspace_by_name("Loyalty App")
    assert page.selected() == ("workspace", loyalty.id)
    assert stored_setup(db_path)["Loyalty App"] == []
    assert editor.undo_stack.undoText() == "Add workspace “Loyalty App”"

    # Add an input to it: the platform typed, the name follows it.
    click(qtbot, page.add_input_button)
    form = form_of(qtbot, page)
    assert isinstance(form, InputDialog)
    assert form.workspace.currentText() == "Loyalty App"
    assert form.name.text() == "iOS"
    line = form.platform.lineEdit()
    line.selectAll()
    qtbot.keyClicks(line, "Android")
    assert form.name.text() == "Android"
    form.grab().save(str(artifacts_dir / "account-settings-new-input.png"))
    click(qtbot, form.ok_button)
    qtbot.waitUntil(lambda: page.form is None)
    android = editor.studio.state.input_by_name(loyalty.id, "Android")
    assert page.selected() == ("input", android.id)
    assert stored_setup(db_path)["Loyalty App"] == [("Android", "Android")]
    assert editor.undo_stack.undoText() == "Add input “Loyalty App/Android”"
    item = page.item_of("input", android.id)
    assert item is not None and [item.text(c) for c in range(4)] == [
        "Android", "Android", "No events", "Not used"]

    # Rename the input in place (Rename), then the workspace (double-click).
    select(qtbot, page, "input", android.id)
    click(qtbot, page.rename_button)
    type_in_place(qtbot, page, "Android app")
    qtbot.waitUntil(lambda: editor.studio.state.input(android.id).name == "Android app")
    # A double-click as the mouse sends it: a press and release, then the second press.
    # On another column than the name, it still edits the name.
    point = name_cell(page, "workspace", loyalty.id)
    point.setX(page.table.columnViewportPosition(2) + 10)
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=point)
    qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=point)
    type_in_place(qtbot, page, "Loyalty")
    qtbot.waitUntil(lambda: editor.studio.state.workspace(loyalty.id).name == "Loyalty")
    assert stored_setup(db_path)["Loyalty"] == [("Android app", "Android")]
    # A name another workspace has is refused on the page; the old name stays.
    select(qtbot, page, "workspace", loyalty.id)
    click(qtbot, page.rename_button)
    type_in_place(qtbot, page, "marketing site")
    qtbot.waitUntil(lambda: page.notice.isVisible())
    assert page.notice.text() == "There is already a workspace called “Marketing Site”."
    item = page.item_of("workspace", loyalty.id)
    assert item is not None and item.text(0) == "Loyalty"
    assert "Loyalty" in stored_setup(db_path)

    # Remove: a workspace with an input is refused naming it; empty, it goes.
    select(qtbot, page, "workspace", loyalty.id)
    click(qtbot, page.remove_button)
    assert page.notice.text() == ("The workspace “Loyalty” can't be removed: it still has "
                                  "the input “Android app”. Remove the input first.")
    assert "Loyalty" in stored_setup(db_path)
    select(qtbot, page, "input", android.id)
    click(qtbot, page.remove_button)
    assert page.item_of("input", android.id) is None
    select(qtbot, page, "workspace", loyalty.id)
    click(qtbot, page.remove_button)
    assert page.item_of("workspace", loyalty.id) is None
    assert "Loyalty" not in stored_setup(db_path)
    assert editor.undo_stack.undoText() == "Remove workspace “Loyalty”"

    # Ctrl+Z twice in Account settings: the workspace and its input are back.
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    for _ in range(2):
        QTest.keyClick(page.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert page.item_of("input", android.id) is not None
    assert stored_setup(db_path)["Loyalty"] == [("Android app", "Android")]


def test_removing_an_input_read_by_a_journey_is_refused_naming_it(
    qtbot: QtBot, editor: MainWindow, db_path: Path,
) -> None:
    state = editor.studio.state
    dialog = open_settings(qtbot, editor)
    turn_to(qtbot, dialog, WORKSPACES_PAGE)
    page = dialog.workspaces
    # A demo input: events came through it and "California promo" reads it.
    select(qtbot, page, "input", "in-marketing-web")
    assert page.remove_button.isEnabled()
    click(qtbot, page.remove_button)
    assert page.notice.isVisible()
    assert page.notice.text().startswith("The input “Marketing Site/Web” can't be removed: ")
    assert "the journey “California promo” reads it" in page.notice.text()
    assert page.remove_button.toolTip() == page.notice.text()
    assert page.item_of("input", "in-marketing-web") is not None

    # A new input without events, read by "Trial to paid": the journey is named.
    streaming = state.workspace_by_name("Streaming App")
    select(qtbot, page, "workspace", streaming.id)
    click(qtbot, page.add_input_button)
    form = form_of(qtbot, page)
    assert isinstance(form, InputDialog) and form.workspace.currentText() == "Streaming App"
    form.platform.lineEdit().selectAll()
    qtbot.keyClicks(form.platform.lineEdit(), "Roku")
    click(qtbot, form.ok_button)
    qtbot.waitUntil(lambda: page.form is None)
    roku = state.input_by_name(streaming.id, "Roku")
    assert editor.run(SetJourneyInputs(TRIAL, (*STREAMING_INPUTS, roku.id)))
    select(qtbot, page, "input", roku.id)
    item = page.item_of("input", roku.id)
    assert item is not None and item.text(3) == "Trial to paid"
    click(qtbot, page.remove_button)
    assert page.notice.text() == (
        "The input “Streaming App/Roku” can't be removed: the journey “Trial to paid” reads "
        "it. Take it out of that journey's inputs first.")
    assert ("Roku", "Roku") in stored_setup(db_path)["Streaming App"]
    # Once the journey no longer reads it, it can go.
    assert editor.run(SetJourneyInputs(TRIAL, STREAMING_INPUTS))
    select(qtbot, page, "input", roku.id)
    click(qtbot, page.remove_button)
    assert page.notice.isHidden()
    assert ("Roku", "Roku") not in stored_setup(db_path)["Streaming App"]


# ---------------------------------------------------------------------------- refusals and faults


def test_the_limit_notice_and_a_partners_fault_open_account_settings_on_their_page(
    qtbot: QtBot, editor: MainWindow, artifacts_dir: Path,
) -> None:
    assert editor.run(SetActiveAudienceLimit(3))  # the demo has 3 active audiences
    # Sending "Watched content" to a partner would go over the limit: the chooser says so
    # and offers the limit.
    editor.add_output("ms-watched")
    qtbot.waitUntil(lambda: isinstance(editor.active_dialog, ConnectionDialog))
    chooser = editor.active_dialog
    assert isinstance(chooser, ConnectionDialog)
    assert chooser.limit_reason is not None and "Account settings" in chooser.limit_reason
    assert chooser.settings_button is not None
    qtbot.waitExposed(chooser)
    chooser.grab().save(str(artifacts_dir / "connection-chooser-limit.png"))
    click(qtbot, chooser.settings_button)
    qtbot.waitUntil(lambda: editor.account_settings is not None)
    settings = editor.account_settings
    assert settings is not None and settings.current_page() == LIMIT_PAGE
    assert editor.active_dialog is None
    turn_to(qtbot, settings, WORKSPACES_PAGE)

    # A partner that faulted for a missing secret: the inspector offers Connections.
    reason = "No signing secret is set: add it in Account settings."
    editor.scene.set_forwarding({"out-trial-crm": Forwarding(fault_reason=reason)})
    editor.scene.select_node("output", "out-trial-crm")
    button = editor.inspector.settings_button
    assert button is not None and button.text() == "Account settings…"
    QTest.qWait(50)
    editor.inspector.grab().save(str(artifacts_dir / "inspector-fault-settings.png"))
    click(qtbot, button)
    assert editor.account_settings is settings
    assert settings.current_page() == CONNECTIONS_PAGE
