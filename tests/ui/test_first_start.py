"""First start: a new database asks for demo data or an empty start; starting empty leads
through a workspace and its inputs to a first journey on the canvas. Driven through the
real start-up (``app.ui.main.start``) with clicks and typing; what is stored is read
back through a fresh Studio."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.studio import Studio
from app.ui import main as ui_main
from app.ui.dialogs import NewJourneyDialog
from app.ui.first_start import SetupAssistant, WelcomeDialog
from app.ui.main_window import MainWindow


@pytest.fixture
def opened() -> Iterator[list[MainWindow]]:
    """Windows a test opened through the start-up: closed, with their studio, after it."""
    windows: list[MainWindow] = []
    yield windows
    for window in windows:
        window.close()
        window.studio.close()  # type: ignore[attr-defined]


def click(qtbot: QtBot, button: QAbstractButton) -> None:
    assert button.isEnabled(), button.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def shot(widget: QWidget, path: Path) -> None:
    """Save what ``widget`` shows once the event loop has laid out and shown what just
    changed (new widgets are shown, and layouts redone, on the next turns)."""
    QTest.qWait(100)
    widget.grab().save(str(path))


def welcome_on(qtbot: QtBot, path: Path) -> WelcomeDialog:
    first = ui_main.start(["--db", str(path)])
    assert isinstance(first, WelcomeDialog)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    return first


def test_start_empty_set_up_a_workspace_and_inputs_and_end_on_a_new_journeys_canvas(
    qtbot: QtBot, tmp_path: Path, opened: list[MainWindow], artifacts_dir: Path,
) -> None:
    path = tmp_path / "journeys.db"
    welcome = welcome_on(qtbot, path)
    assert not path.exists()  # nothing is created before the choice
    assert str(path) in welcome.status.text()
    shot(welcome, artifacts_dir / "first-start-welcome.png")

    click(qtbot, welcome.empty_button)
    window = welcome.window_opened
    assert isinstance(window, MainWindow)
    opened.append(window)
    qtbot.waitExposed(window)
    assert not welcome.isVisible()
    # An empty account: no journey, no workspace.
    assert list(window.studio.state.journeys()) == []
    assert window.studio.state.workspaces == {}
    assistant = welcome.assistant
    assert isinstance(assistant, SetupAssistant)
    qtbot.waitExposed(assistant)

    # Step 1: the workspace's name.
    assert assistant.step_label.text() == "STEP 1 OF 2  ·  WORKSPACE"
    assert not assistant.next_button.isEnabled()
    shot(assistant, artifacts_dir / "first-start-workspace.png")
    qtbot.keyClicks(assistant.workspace_name, "Loyalty App")
    click(qtbot, assistant.next_button)

    # Step 2: its inputs. The first row is iOS; make it Web, add Android, rename it.
    assert assistant.step_label.text() == "STEP 2 OF 2  ·  INPUTS"
    assert assistant.inputs_title.text() == "Add the inputs of “Loyalty App”"
    first = assistant.rows[0]
    assert (first.platform.currentText(), first.name.text()) == ("iOS", "iOS")
    first.platform.lineEdit().selectAll()
    qtbot.keyClicks(first.platform.lineEdit(), "Web")
    assert first.name.text() == "Web"
    click(qtbot, assistant.add_row_button)
    second = assistant.rows[1]
    assert second.platform.currentText() == "iOS"  # the first platform no row has
    second.platform.lineEdit().selectAll()
    qtbot.keyClicks(second.platform.lineEdit(), "Android")
    second.name.selectAll()
    qtbot.keyClicks(second.name, "web")
    assert second.error.text() == "Two inputs are called “Web”: give each its own name."
    assert not assistant.next_button.isEnabled()
    second.name.selectAll()
    qtbot.keyClicks(second.name, "Android app")
    shot(assistant, artifacts_dir / "first-start-inputs.png")
    click(qtbot, assistant.next_button)

    # Then the New journey dialog, with the new inputs ticked.
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, NewJourneyDialog))
    dialog = window.active_dialog
    assert isinstance(dialog, NewJourneyDialog)
    state = window.studio.state
    loyalty = state.workspace_by_name("Loyalty App")
    inputs = [(i.name, i.platform) for i in state.inputs_of(loyalty.id)]
    assert inputs == [("Web", "Web"), ("Android app", "Android")]
    assert set(dialog.input_ids()) == {i.id for i in state.inputs_of(loyalty.id)}
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.keyClicks(dialog.name, "First purchase")
    click(qtbot, dialog.ok_button)

    # The marketer ends on the new journey's canvas: its start and its two inputs.
    qtbot.waitUntil(lambda: window.scene.graph is not None)
    graph = window.scene.graph
    assert graph is not None and graph.name == "First purchase"
    assert window.panel.current_journey_id() == graph.id
    assert set(window.scene.input_items) == {i.id for i in state.inputs_of(loyalty.id)}
    assert window.header.title.text() == "First purchase"
    shot(window, artifacts_dir / "first-start-canvas.png")
    # Each step is in the History, undoable.
    texts = [window.undo_stack.text(i) for i in range(window.undo_stack.count())]
    assert texts == ["Add workspace “Loyalty App”", "Add 2 inputs to “Loyalty App”",
                     "New journey “First purchase”"]

    other = Studio.open(str(path))
    try:
        assert [w.name for w in other.state.workspaces.values()] == ["Loyalty App"]
        assert [(i.name, i.platform) for i in other.state.inputs.values()] == inputs
        assert [g.name for g in other.state.journeys()] == ["First purchase"]
        assert other.state.connections == {}
    finally:
        other.close()


def test_start_with_demo_data_opens_the_demo_journeys(
    qtbot: QtBot, tmp_path: Path, opened: list[MainWindow],
) -> None:
    welcome = welcome_on(qtbot, tmp_path / "journeys.db")
    click(qtbot, welcome.demo_button)
    window = welcome.window_opened
    assert isinstance(window, MainWindow)
    opened.append(window)
    assert welcome.assistant is None
    assert {g.name for g in window.studio.state.journeys()} == {"Trial to paid",
                                                                "California promo"}
    assert window.scene.graph is not None


def test_closing_the_welcome_creates_nothing_and_an_existing_database_is_not_asked(
    qtbot: QtBot, tmp_path: Path, opened: list[MainWindow],
) -> None:
    path = tmp_path / "journeys.db"
    welcome = welcome_on(qtbot, path)
    welcome.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is welcome)
    QTest.keyClick(welcome, Qt.Key.Key_Escape)
    assert not welcome.isVisible() and welcome.window_opened is None
    assert not path.exists()

    Studio.open(str(path), seed_demo=False).close()
    first = ui_main.start(["--db", str(path)])
    assert isinstance(first, MainWindow)  # no question the second time
    opened.append(first)
    # --no-demo on a new database starts empty without asking.
    fresh = ui_main.start(["--db", str(tmp_path / "other.db"), "--no-demo"])
    assert isinstance(fresh, MainWindow)
    opened.append(fresh)
    assert fresh.studio.state.workspaces == {}


def test_new_journey_on_an_account_without_inputs_leads_through_the_set_up(
    qtbot: QtBot, tmp_path: Path, opened: list[MainWindow],
) -> None:
    """Cancelled the first time, the set-up comes back when a journey is wanted."""
    window = ui_main.start(["--db", str(tmp_path / "journeys.db"), "--no-demo"])
    assert isinstance(window, MainWindow)
    opened.append(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    QTest.keyClick(window.view, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.findChild(SetupAssistant) is not None)
    assistant = window.findChild(SetupAssistant)
    assert isinstance(assistant, SetupAssistant) and window.active_dialog is None
    qtbot.keyClicks(assistant.workspace_name, "Shop")
    QTest.keyClick(assistant.workspace_name, Qt.Key.Key_Return)  # Enter is Next
    assert assistant.step == 1
    click(qtbot, assistant.next_button)
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, NewJourneyDialog))
    dialog = window.active_dialog
    assert isinstance(dialog, NewJourneyDialog)
    shop = window.studio.state.workspace_by_name("Shop")
    assert dialog.input_ids() == tuple(i.id for i in window.studio.state.inputs_of(shop.id))
