"""Editing on the canvas with real mouse and key events, persisted in a real SQLite file.

Every test drives the window the way a person does (DESIGN.md section 6: QTest
mouse events on the view's viewport, drag and drop as QDrag*Events carrying
the palette's own mime data), then checks three things: the graph, the undo
stack, and what a second Studio reads from the same file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.commands import AddOutput, SetActiveAudienceLimit
from app.core.models import Output
from app.studio import Studio
from app.ui.canvas.items import MilestoneItem, OutputItem
from app.ui.dialogs import ConnectionDialog, MilestoneDialog
from app.ui.main_window import MainWindow
from app.ui.palette import mime_for

from .conftest import TRIAL

# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def studio(stored_studio: Studio) -> Studio:  # type: ignore[override]
    """These tests edit and save for real: ``studio`` is the stored one (conftest)."""
    return stored_studio


def stored(db_path: Path) -> tuple[object, ...]:
    """What a fresh Studio reads from the file: the persisted rows, as comparable values."""
    other = Studio.open(str(db_path))
    try:
        return ordered(other.state.snapshot())
    finally:
        other.close()


def ordered(snapshot: tuple[object, ...]) -> tuple[object, ...]:
    """A snapshot with journeys by id: the store lists journeys in its own order."""
    account, documents = snapshot
    return account, tuple(sorted(documents, key=lambda d: d.journey.id))  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- gestures


def at(window: MainWindow, point: QPointF) -> QPoint:
    return window.view.mapFromScene(point)


def click(window: MainWindow, point: QPointF,
          modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, modifier,
                     at(window, point))


def drag(window: MainWindow, start: QPointF, end: QPointF,
         button: Qt.MouseButton = Qt.MouseButton.LeftButton, steps: int = 6) -> None:
    viewport = window.view.viewport()
    a, b = at(window, start), at(window, end)
    QTest.mousePress(viewport, button, Qt.KeyboardModifier.NoModifier, a)
    for step in range(1, steps + 1):
        QTest.mouseMove(viewport, a + (b - a) * step / steps)
    QTest.mouseRelease(viewport, button, Qt.KeyboardModifier.NoModifier, b)


def drop(window: MainWindow, mime: QMimeData, point: QPointF, *, release: bool = True) -> None:
    """A palette drag arriving on the canvas at ``point`` (scene coordinates)."""
    viewport = window.view.viewport()
    position = QPointF(at(window, point))
    copy = Qt.DropAction.CopyAction
    buttons = Qt.MouseButton.LeftButton
    none = Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(viewport, QDragEnterEvent(position.toPoint(), copy, mime, buttons,
                                                     none))
    QApplication.sendEvent(viewport, QDragMoveEvent(position.toPoint(), copy, mime, buttons,
                                                    none))
    if release:
        QApplication.sendEvent(viewport, QDropEvent(position, copy, mime, buttons, none))


def milestone(window: MainWindow, milestone_id: str) -> MilestoneItem:
    return window.scene.milestone_items[milestone_id]


def body_point(item: MilestoneItem | OutputItem) -> QPointF:
    """A point on the card away from its badge and handles (the name line)."""
    body = item.scene_body()
    return QPointF(body.left() + 40, body.top() + 46)


# --------------------------------------------------------------------------- the undo stack


def test_an_edit_is_one_step_persisted_at_once_and_undo_redo_are_persisted_too(
    editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    before = stored(db_path)
    graph = studio.state.journey(TRIAL)
    output = Output(milestone_id="ms-converted", connection_id="cn-facebook")
    assert editor.run(AddOutput(TRIAL, output))
    assert editor.undo_stack.count() == 1
    assert editor.undo_stack.undoText() == (
        "Add output “Facebook Custom Audiences” to “Converted to paid”")
    assert graph.has_output(output.id)
    assert stored(db_path) == ordered(studio.state.snapshot()) != before
    editor.undo_action.trigger()
    assert not graph.has_output(output.id)
    assert stored(db_path) == before
    editor.redo_action.trigger()
    assert graph.has_output(output.id)
    assert stored(db_path) == ordered(studio.state.snapshot())
    assert editor.undo_action.shortcut().toString() == "Ctrl+Z"
    assert editor.redo_action.shortcut().toString() == "Ctrl+Shift+Z"
    assert editor.undo_view.stack() is editor.undo_stack
    assert editor.undo_stack.isClean()


def test_a_refused_edit_is_never_pushed_and_shows_the_rule_in_the_banner(
    editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    assert editor.run(SetActiveAudienceLimit(3))
    editor.undo_stack.clear()
    before = ordered(studio.state.snapshot())
    output = Output(milestone_id="ms-converted", connection_id="cn-facebook")
    assert not editor.run(AddOutput(TRIAL, output))
    assert editor.undo_stack.count() == 0
    assert ordered(studio.state.snapshot()) == before == stored(db_path)
    assert editor.banner.isVisible() and editor.banner.level == "error"
    text = editor.banner.text()
    assert "“Watched content”" in text and "“Converted to paid”" in text
    assert "against the account limit of 3" in text


def test_a_conflict_offers_reload_which_shows_the_other_window_s_version(
    qtbot: QtBot, editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    other = Studio.open(str(db_path))
    try:
        from app.core.commands import RenameMilestone

        other.execute(RenameMilestone(TRIAL, "ms-watched", "Watched a show"))
    finally:
        other.close()
    before = ordered(studio.state.snapshot())
    output = Output(milestone_id="ms-converted", connection_id="cn-facebook")
    assert not editor.run(AddOutput(TRIAL, output))
    assert ordered(studio.state.snapshot()) == before  # reverted in memory too
    assert editor.undo_stack.count() == 0
    assert editor.banner.isVisible()
    assert editor.banner.action_button.text() == "Reload"
    QTest.mouseClick(editor.banner.action_button, Qt.MouseButton.LeftButton)
    graph = editor.scene.graph
    assert graph is not None and graph.milestone("ms-watched").name == "Watched a show"
    assert "Watched a show" in milestone(editor, "ms-watched").texts()
    assert editor.meter.text() == "Active audiences 3 / 25"
    # Editing goes on against the reloaded state.
    assert editor.run(AddOutput(TRIAL, output))
    assert stored(db_path) == ordered(editor.studio.state.snapshot())


# --------------------------------------------------------------------------- canvas gestures


def test_dragging_a_node_moves_it_and_one_undo_restores_it(
    qtbot: QtBot, editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    graph = studio.state.journey(TRIAL)
    item = milestone(editor, "ms-converted")
    start = graph.position("milestone", "ms-converted")
    grab = body_point(item)
    drag(editor, grab, grab + QPointF(60, 140))
    moved = graph.position("milestone", "ms-converted")
    assert moved != start
    assert abs(moved[0] - start[0] - 60) < 2 and abs(moved[1] - start[1] - 140) < 2
    assert (item.pos().x(), item.pos().y()) == pytest.approx(moved, abs=0.11)
    assert editor.undo_stack.count() == 1
    assert editor.undo_stack.undoText() == "Move milestone “Converted to paid”"
    assert stored(db_path) == ordered(studio.state.snapshot())
    editor.undo()
    assert graph.position("milestone", "ms-converted") == start
    assert (item.pos().x(), item.pos().y()) == start
    assert stored(db_path) == ordered(studio.state.snapshot())


def test_a_dragged_milestone_carries_its_outputs_in_the_same_step(
    editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    graph = studio.state.journey(TRIAL)
    before = studio.state.snapshot()
    milestone_start = graph.position("milestone", "ms-signed-up")
    output_start = graph.position("output", "out-trial-crm")
    grab = body_point(milestone(editor, "ms-signed-up"))
    drag(editor, grab, grab + QPointF(0, 200))
    dy = graph.position("milestone", "ms-signed-up")[1] - milestone_start[1]
    assert dy == pytest.approx(200, abs=2)
    assert graph.position("output", "out-trial-crm") == pytest.approx(
        (output_start[0], output_start[1] + dy), abs=0.2)
    assert editor.undo_stack.count() == 1
    assert editor.undo_stack.undoText() == "Move milestone “Signed up for trial”"
    editor.undo()
    assert studio.state.snapshot() == before
    assert stored(db_path) == ordered(before)
    # Arrow keys nudge the selection (Shift: by 10), one undo step a press.
    at_start = graph.position("milestone", "ms-signed-up")
    QTest.keyClick(editor.view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(editor.view, Qt.Key.Key_Down)
    assert graph.position("milestone", "ms-signed-up") == (at_start[0] + 10, at_start[1] + 1)
    assert editor.undo_stack.index() == 2
    editor.undo()
    editor.undo()
    assert graph.position("milestone", "ms-signed-up") == at_start
    # Escape clears the selection.
    QTest.keyClick(editor.view, Qt.Key.Key_Escape)
    assert editor.scene.selected_keys() == []


def test_rubber_band_selects_several_nodes_and_one_drag_moves_them_all(
    editor: MainWindow, studio: Studio
) -> None:
    graph = studio.state.journey(TRIAL)
    saved = milestone(editor, "ms-saved").scene_body()
    converted = milestone(editor, "ms-converted").scene_body()
    # From empty canvas above-left of "Saved" to below-right of "Converted".
    drag(editor, saved.topLeft() - QPointF(20, 30), converted.bottomRight() + QPointF(20, 6))
    assert set(editor.scene.selected_keys()) == {("milestone", "ms-saved"),
                                                 ("milestone", "ms-converted")}
    before = {m: graph.position("milestone", m) for m in ("ms-saved", "ms-converted")}
    drag(editor, body_point(milestone(editor, "ms-saved")),
         body_point(milestone(editor, "ms-saved")) + QPointF(0, -80))
    assert editor.undo_stack.count() == 1
    assert editor.undo_stack.undoText() == "Move 2 nodes"
    for milestone_id, (_x, y) in before.items():
        assert graph.position("milestone", milestone_id)[1] == pytest.approx(y - 80, abs=2)
    editor.undo()
    assert {m: graph.position("milestone", m) for m in before} == before


def test_delete_on_a_middle_milestone_is_refused_with_its_message_and_nothing_changes(
    editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    graph = studio.state.journey(TRIAL)
    before = ordered(studio.state.snapshot())
    click(editor, body_point(milestone(editor, "ms-watched")))
    assert editor.scene.selected_keys() == [("milestone", "ms-watched")]
    QTest.keyClick(editor.view, Qt.Key.Key_Delete)
    expected = graph.can_remove_milestone("ms-watched")
    assert expected and "removed last to first" in expected
    assert editor.banner.isVisible() and editor.banner.text() == expected
    assert ordered(studio.state.snapshot()) == before == stored(db_path)
    assert editor.undo_stack.count() == 0
    assert "ms-watched" in editor.scene.milestone_items


def test_delete_on_a_leaf_removes_it_with_its_outputs_in_one_step(
    editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    graph = studio.state.journey(TRIAL)
    before = ordered(studio.state.snapshot())
    click(editor, body_point(milestone(editor, "ms-not-saved")))
    QTest.keyClick(editor.view, Qt.Key.Key_Delete)
    assert not graph.has_milestone("ms-not-saved")
    assert not graph.has_output("out-not-saved-braze")
    assert editor.undo_stack.count() == 1
    editor.undo()
    assert ordered(studio.state.snapshot()) == before == stored(db_path)


def test_clicking_plus_and_filling_the_dialog_extends_the_path(
    qtbot: QtBot, editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    graph = studio.state.journey(TRIAL)
    item = milestone(editor, "ms-converted")
    click(editor, body_point(item))
    handle = item.handles["extend"]
    assert handle.isVisible()
    click(editor, handle.scenePos())
    dialog = editor.active_dialog
    assert isinstance(dialog, MilestoneDialog)
    assert dialog.windowTitle() == "New milestone after “Converted to paid”"
    assert not dialog.ok_button.isEnabled()  # no name yet
    QTest.keyClicks(dialog.name, "Watched content")
    assert dialog.name_error.isVisible()  # taken: validation in place
    assert "already has a milestone called “Watched content”" in dialog.name_error.text()
    dialog.name.clear()
    QTest.keyClicks(dialog.name, "Renewed")
    assert not dialog.name_error.isVisible()
    QTest.mouseClick(dialog.criteria.add_button, Qt.MouseButton.LeftButton)
    row = dialog.criteria.rows[0]
    assert not dialog.ok_button.isEnabled()  # an event without a name
    assert not row.error.isHidden() and "Name the custom event" in row.error.text()
    QTest.keyClicks(row.editors["event"].event_name, "Renew")  # type: ignore[attr-defined]
    assert dialog.ok_button.isEnabled()
    QTest.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    added = [m for m in graph.children("ms-converted")]
    assert [m.name for m in added] == ["Renewed"]
    definition = added[0].definition
    assert definition.clauses[0].item.event_name == "Renew"  # type: ignore[union-attr]
    assert added[0].id in editor.scene.milestone_items
    assert editor.scene.selected_keys() == [("milestone", added[0].id)]
    # Placed right of its parent, not on top of anything.
    parent_body = item.scene_body()
    new_body = editor.scene.milestone_items[added[0].id].scene_body()
    assert new_body.left() > parent_body.right()
    assert editor.undo_stack.count() == 1
    assert stored(db_path) == ordered(studio.state.snapshot())


def test_split_handle_adds_a_sibling_before_remaining_users(
    editor: MainWindow, studio: Studio
) -> None:
    graph = studio.state.journey(TRIAL)
    item = milestone(editor, "ms-saved")
    click(editor, body_point(item))
    click(editor, item.handles["split"].scenePos())
    dialog = editor.active_dialog
    assert isinstance(dialog, MilestoneDialog)
    dialog.name.setText("Shared content")
    dialog.accept()
    names = [m.name for m in graph.children("ms-watched")]
    assert names == ["Saved content for later", "Shared content", "Remaining users"]


def test_output_handle_opens_the_connection_chooser(editor: MainWindow,
                                                    studio: Studio) -> None:
    graph = studio.state.journey(TRIAL)
    item = milestone(editor, "ms-signed-up")
    click(editor, body_point(item))
    click(editor, item.handles["output"].scenePos())
    dialog = editor.active_dialog
    assert isinstance(dialog, ConnectionDialog)
    # Already sent to the CRM webhook: that choice is disabled and says why.
    assert not dialog.choices["cn-crm"].isEnabled()
    assert "already sent to CRM webhook" in dialog.reasons["cn-crm"]
    dialog.choose("cn-braze")
    dialog.accept()
    assert [o.connection_id for o in graph.outputs_of("ms-signed-up")] == ["cn-crm",
                                                                          "cn-braze"]


def test_clicking_an_output_badge_toggles_it_and_the_meter_updates(
    editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    graph = studio.state.journey(TRIAL)
    output = editor.scene.output_items["out-trial-crm"]
    assert editor.meter.text() == "Active audiences 3 / 25"
    badge = output.mapToScene(output.badge_rect().center())
    click(editor, badge)
    assert not graph.output("out-trial-crm").active
    assert editor.meter.text() == "Active audiences 2 / 25"
    assert "Inactive" in output.texts()
    # Deactivating an active output says what it means for the partner's copy.
    assert editor.banner.level == "warning"
    assert "CRM webhook keeps its copy of “Signed up for trial” as last sent" in (
        editor.banner.text())
    assert "may go out of sync" in editor.banner.text()
    assert stored(db_path) == ordered(studio.state.snapshot())
    click(editor, output.mapToScene(output.badge_rect().center()))
    assert graph.output("out-trial-crm").active
    assert editor.meter.text() == "Active audiences 3 / 25"
    assert editor.undo_stack.count() == 2


def test_double_click_opens_the_editor_with_the_criteria(editor: MainWindow,
                                                         studio: Studio) -> None:
    graph = studio.state.journey(TRIAL)
    point = at(editor, body_point(milestone(editor, "ms-watched")))
    QTest.mouseDClick(editor.view.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, point)
    dialog = editor.active_dialog
    assert isinstance(dialog, MilestoneDialog)
    assert dialog.name.text() == "Watched content"
    assert len(dialog.criteria.rows) == 1
    event = dialog.criteria.rows[0].editors["event"]
    assert event.days.value() == 14  # type: ignore[attr-defined]
    event.days.setValue(7)  # type: ignore[attr-defined]
    dialog.name.setText("Watched this week")
    dialog.accept()
    watched = graph.milestone("ms-watched")
    assert watched.name == "Watched this week"
    assert watched.definition.clauses[0].item.window.days == 7  # type: ignore[union-attr]
    assert editor.undo_stack.count() == 1  # rename + criteria: one step
    editor.undo()
    assert graph.milestone("ms-watched").name == "Watched content"


def test_context_menus_offer_the_edits_of_what_was_clicked(editor: MainWindow) -> None:
    menu = editor.context_menu("milestone", "ms-watched")
    assert menu is not None
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts == ["Edit milestone…", "Add milestone after", "Add milestone beside (split)",
                     "Send to a partner…", "Add A/B test…", "Remove milestone"]
    output_menu = editor.context_menu("output", "out-trial-crm")
    assert output_menu is not None
    assert [a.text() for a in output_menu.actions() if a.text()] == [
        "Deactivate output", "Remove output"]
    canvas_menu = editor.context_menu("", "")
    assert canvas_menu is not None
    assert "&Tidy up layout" in [a.text() for a in canvas_menu.actions()]


def test_reordering_a_split_by_dragging_a_sibling_above_another(
    editor: MainWindow, studio: Studio
) -> None:
    graph = studio.state.journey(TRIAL)
    item = milestone(editor, "ms-saved")
    click(editor, body_point(item))
    click(editor, item.handles["split"].scenePos())
    dialog = editor.active_dialog
    assert isinstance(dialog, MilestoneDialog)
    dialog.name.setText("Shared content")
    dialog.accept()
    shared = next(m for m in graph.children("ms-watched") if m.name == "Shared content")
    editor.scene.clearSelection()
    shared_item = milestone(editor, shared.id)
    saved_top = item.scene_body().top()
    grab = body_point(shared_item)
    drag(editor, grab, QPointF(grab.x(), saved_top - 30))
    assert [m.name for m in graph.children("ms-watched")] == [
        "Shared content", "Saved content for later", "Remaining users"]
    assert shared_item.texts()[0] == "SPLIT · 1 OF 3"
    assert editor.undo_stack.undoText() == "Reorder “Shared content” in its split"
    editor.undo()
    assert [m.name for m in graph.children("ms-watched")] == [
        "Saved content for later", "Shared content", "Remaining users"]


# --------------------------------------------------------------------------- palette


def test_drag_from_the_palette_onto_a_milestone_creates_a_milestone(
    editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    graph = studio.state.journey(TRIAL)
    target = milestone(editor, "ms-converted")
    mime = mime_for(editor.palette_panel.tile("Milestone").entry)
    drop(editor, mime, target.scene_body().center(), release=False)
    assert target.drop_state == "accept"
    hint = editor.scene.drop_hint
    assert hint is not None and hint.isVisible()
    assert hint.text() == "Add a milestone after “Converted to paid”"
    drop(editor, mime, target.scene_body().center())
    children = graph.children("ms-converted")
    assert [m.name for m in children] == ["New milestone"]
    assert target.drop_state is None and not hint.isVisible()
    assert editor.scene.selected_keys() == [("milestone", children[0].id)]
    assert editor.undo_stack.count() == 1
    assert stored(db_path) == ordered(studio.state.snapshot())


def test_a_refused_drop_is_explained_at_the_cursor_and_changes_nothing(
    editor: MainWindow, studio: Studio
) -> None:
    before = ordered(studio.state.snapshot())
    target = milestone(editor, "ms-converted")
    mime = mime_for(editor.palette_panel.tile("Remaining users").entry)
    drop(editor, mime, target.scene_body().center(), release=False)
    assert target.drop_state == "refuse"
    hint = editor.scene.drop_hint
    assert hint is not None and hint.refused
    assert "needs at least one other milestone in its split" in hint.text()
    drop(editor, mime, target.scene_body().center())
    assert ordered(studio.state.snapshot()) == before
    assert editor.undo_stack.count() == 0
    # A partner dropped on empty canvas says where it belongs.
    partner = mime_for(editor.palette_panel.tile("Braze").entry)
    empty = target.scene_body().bottomRight() + QPointF(300, 300)
    drop(editor, partner, empty, release=False)
    assert hint.text().startswith("Drop Braze onto a milestone")


def test_drag_a_partner_onto_a_milestone_adds_an_active_output(
    editor: MainWindow, studio: Studio
) -> None:
    graph = studio.state.journey(TRIAL)
    target = milestone(editor, "ms-saved")
    drop(editor, mime_for(editor.palette_panel.tile("Braze").entry), target.scene_body().center())
    outputs = graph.outputs_of("ms-saved")
    assert [(o.connection_id, o.active) for o in outputs] == [("cn-braze", True)]
    assert editor.meter.text() == "Active audiences 5 / 25"


def test_a_milestone_dropped_on_empty_canvas_starts_a_new_first_step(
    editor: MainWindow, studio: Studio
) -> None:
    graph = studio.state.journey(TRIAL)
    below = milestone(editor, "ms-signed-up").scene_body().bottomLeft() + QPointF(30, 260)
    drop(editor, mime_for(editor.palette_panel.tile("Milestone").entry), below)
    tops = graph.children(None)
    assert [m.name for m in tops] == ["Signed up for trial", "New milestone"]


# --------------------------------------------------------------------------- a whole session


def test_undo_and_redo_of_a_whole_session_return_the_exact_graph_and_rows(
    editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    opened = stored(db_path)
    assert opened == ordered(studio.state.snapshot())
    graph = studio.state.journey(TRIAL)
    # 1. palette drop, 2. move, 3. toggle, 4. add output, 5. rename, 6. tidy up, 7. delete
    drop(editor, mime_for(editor.palette_panel.tile("Milestone").entry),
         milestone(editor, "ms-converted").scene_body().center())
    new_id = graph.children("ms-converted")[0].id
    grab = body_point(milestone(editor, "ms-watched"))
    drag(editor, grab, grab + QPointF(30, 90))
    crm = editor.scene.output_items["out-trial-crm"]
    click(editor, crm.mapToScene(crm.badge_rect().center()))
    editor.run(AddOutput(TRIAL, Output(milestone_id=new_id, connection_id="cn-facebook")))
    assert editor.rename_milestone(new_id, "Loyal")
    editor.tidy_layout()
    editor.scene.select_node("milestone", "ms-not-saved")
    editor.delete_selection()
    assert editor.undo_stack.count() == 7
    final = ordered(studio.state.snapshot())
    assert stored(db_path) == final
    for _ in range(7):
        editor.undo()
    assert ordered(studio.state.snapshot()) == opened
    assert stored(db_path) == opened
    assert editor.meter.text() == "Active audiences 3 / 25"
    for _ in range(7):
        editor.redo()
    assert ordered(studio.state.snapshot()) == final
    assert stored(db_path) == final
    # The undo view jumps too: back to the start in one click of "Opened".
    editor.controller.set_index(0)
    assert stored(db_path) == opened


def test_an_undo_refused_by_the_limit_changes_nothing_and_keeps_the_history(
    editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    graph = studio.state.journey(TRIAL)
    crm = editor.scene.output_items["out-trial-crm"]
    click(editor, crm.mapToScene(crm.badge_rect().center()))  # 3 -> 2 active audiences
    assert studio.state.active_audience_count() == 2
    # Meanwhile the account limit drops to what is active now (Account settings).
    studio.execute(SetActiveAudienceLimit(2))
    before = ordered(studio.state.snapshot())
    editor.undo()  # re-activating would make 3 active against a limit of 2
    assert not graph.output("out-trial-crm").active
    assert ordered(studio.state.snapshot()) == before == stored(db_path)
    assert editor.undo_stack.index() == 1  # still undoable later
    assert editor.banner.level == "error"
    assert "“Signed up for trial”" in editor.banner.text()
    assert "against the account limit of 2" in editor.banner.text()
    studio.execute(SetActiveAudienceLimit(25))
    editor.undo()
    assert graph.output("out-trial-crm").active
    assert editor.undo_stack.index() == 0


# --------------------------------------------------------------------------- inspector


def test_the_inspector_shows_the_selected_milestone_and_renames_it(
    editor: MainWindow, studio: Studio
) -> None:
    assert editor.inspector.shown == ("journey", TRIAL)
    click(editor, body_point(milestone(editor, "ms-saved")))
    assert editor.inspector.shown == ("milestone", "ms-saved")
    field = editor.inspector.name_field
    assert field is not None and field.text() == "Saved content for later"
    field.setText("Saved for later")
    field.editingFinished.emit()
    assert studio.state.journey(TRIAL).milestone("ms-saved").name == "Saved for later"
    output = editor.scene.output_items["out-trial-crm"]
    editor.scene.select_node("output", "out-trial-crm")
    assert editor.inspector.shown == ("output", "out-trial-crm")
    assert output.isSelected()


def test_the_editor_round_trips_criteria_it_shows_only_in_part(
    editor: MainWindow, studio: Studio
) -> None:
    """A commerce action, a dated window or attribute conditions are kept, not dropped."""
    graph = studio.state.journey(TRIAL)
    for milestone_id in ("ms-signed-up", "ms-watched", "ms-converted", "ms-not-saved"):
        dialog = MilestoneDialog(graph, milestone_id=milestone_id, parent=editor)
        assert dialog.validate()
        name, definition = dialog.values()
        original = graph.milestone(milestone_id)
        assert (name, definition) == (original.name, original.definition)
        dialog.deleteLater()


def test_dragging_remaining_users_above_its_siblings_is_refused_and_snaps_back(
    editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    before = studio.state.snapshot()
    item = milestone(editor, "ms-not-saved")
    start = (item.pos().x(), item.pos().y())
    saved_top = milestone(editor, "ms-saved").scene_body().top()
    grab = body_point(item)
    drag(editor, grab, QPointF(grab.x(), saved_top - 40))
    assert editor.banner.level == "error"
    assert "stays last" in editor.banner.text()
    assert (item.pos().x(), item.pos().y()) == start
    assert studio.state.snapshot() == before
    assert stored(db_path) == ordered(before)
    assert editor.undo_stack.count() == 0
