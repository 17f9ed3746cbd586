"""Account settings › Limit and › Workspaces & inputs, and a journey's inputs, driven with
real clicks and typing on a real SQLite file; what is stored is read back through a fresh
Studio, as another window would see it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from app.core.account import NO_INPUTS_MESSAGE, AccountState
from app.studio import Studio
from app.ui.account_settings import (
    CONNECTIONS_PAGE,
    LIMIT_PAGE,
    WORKSPACES_PAGE,
    AccountSettingsDialog,
)
from app.ui.journey_inputs import JourneyInputsDialog
from app.ui.main_window import MainWindow

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


def test_the_meter_opens_account_settings_on_the_limit_page(
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

    # Edit ▸ Journey inputs… (Ctrl+I): the journey's inputs are ticked.
    editor.activateWindow()
    QTest.keyClick(editor.view, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
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
