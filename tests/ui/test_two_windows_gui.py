"""A window that has not seen another window's edits: the store refuses what the rules
forbid, and the window says so with its Reload banner (real clicks, a real SQLite file)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.core.commands import CreateJourney, SetActiveAudienceLimit
from app.core.models import Journey, JourneyDocument
from app.studio import Studio
from app.ui.dialogs import NewJourneyDialog
from app.ui.main_window import MainWindow

from .test_editing import click, ordered, stored


def test_activating_past_a_limit_lowered_in_another_window_offers_reload(
    editor: MainWindow, stored_studio: Studio, db_path: Path
) -> None:
    other = Studio.open(str(db_path))
    try:
        other.execute(SetActiveAudienceLimit(3))  # 3 audiences are active: allowed
    finally:
        other.close()
    before = stored(db_path)
    assert editor.meter.text() == "Active audiences 3 / 25"  # this window is stale

    output = editor.scene.output_items["out-not-saved-braze"]
    click(editor, output.mapToScene(output.badge_rect().center()))

    text = editor.banner.text()
    assert editor.banner.isVisible() and editor.banner.level == "error"
    assert "“Watched content”, “Remaining users”" in text
    assert "5 active audiences against the account limit of 3" in text
    assert "another window" in text
    assert editor.banner.action_button.text() == "Reload"
    assert editor.undo_stack.count() == 0
    assert not stored_studio.state.journey("jr-trial-to-paid").output("out-not-saved-braze").active
    assert "Inactive" in output.texts()
    assert stored(db_path) == before

    QTest.mouseClick(editor.banner.action_button, Qt.MouseButton.LeftButton)
    assert editor.meter.text() == "Active audiences 3 / 3"
    assert ordered(editor.studio.state.snapshot()) == before


def test_a_journey_name_created_in_another_window_is_refused_with_reload(
    editor: MainWindow, stored_studio: Studio, db_path: Path
) -> None:
    other = Studio.open(str(db_path))
    try:
        other.execute(CreateJourney(JourneyDocument(
            journey=Journey(name="Same", input_ids=("in-streaming-ios",)))))
    finally:
        other.close()
    before = stored(db_path)

    QTest.mouseClick(editor.panel.new_button, Qt.MouseButton.LeftButton)
    dialog = editor.active_dialog
    assert isinstance(dialog, NewJourneyDialog)
    QTest.keyClicks(dialog.name, "same")
    assert dialog.name_error.isHidden()  # this window has not seen “Same”
    dialog.check_input("in-streaming-ios")
    QTest.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    assert editor.banner.isVisible() and editor.banner.level == "error"
    assert "There is already a journey called “same”" in editor.banner.text()
    assert editor.banner.action_button.text() == "Reload"
    assert editor.undo_stack.count() == 0
    assert editor.panel.model.rowCount() == 2
    assert stored(db_path) == before

    QTest.mouseClick(editor.banner.action_button, Qt.MouseButton.LeftButton)
    assert editor.panel.model.rowCount() == 3
    assert stored_studio.state.journey_by_name("Same").name == "Same"
