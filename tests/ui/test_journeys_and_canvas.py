"""Journeys list actions (New, Rename, Duplicate, Delete) and canvas tools (tidy up,
export, pan, minimap), on a real Studio over a temporary SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.core.commands import CreateJourney
from app.core.layout import laid_out
from app.core.models import Journey, JourneyDocument, Milestone
from app.studio import Studio
from app.ui.dialogs import NewJourneyDialog, RenameJourneyDialog
from app.ui.main_window import MainWindow

from .conftest import TRIAL


@pytest.fixture
def studio(stored_studio: Studio) -> Studio:  # type: ignore[override]
    """These tests edit and save for real: ``studio`` is the stored one (conftest)."""
    return stored_studio


def stored(db_path: Path) -> tuple[object, ...]:
    other = Studio.open(str(db_path))
    try:
        return ordered(other.state.snapshot())
    finally:
        other.close()


def ordered(snapshot: tuple[object, ...]) -> tuple[object, ...]:
    """A snapshot with journeys by id: the store lists journeys in its own order."""
    account, documents = snapshot
    return account, tuple(sorted(documents, key=lambda d: d.journey.id))  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- journeys


def test_new_journey_dialog_validates_in_place_and_a_workspace_box_takes_all_inputs(
    editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    QTest.mouseClick(editor.panel.new_button, Qt.MouseButton.LeftButton)
    dialog = editor.active_dialog
    assert isinstance(dialog, NewJourneyDialog)
    assert not dialog.ok_button.isEnabled()
    QTest.keyClicks(dialog.name, "trial to PAID")
    assert not dialog.name_error.isHidden()
    assert dialog.name_error.text() == "There is already a journey called “Trial to paid”."
    dialog.name.setText("Winback")
    assert dialog.name_error.isHidden()
    assert not dialog.ok_button.isEnabled()  # no inputs yet
    assert "Pick at least one input" in dialog.inputs_error.text()
    dialog.check_workspace("ws-streaming")
    assert dialog.input_ids() == ("in-streaming-ios", "in-streaming-android",
                                  "in-streaming-web")
    dialog.check_input("in-marketing-web")
    assert dialog.ok_button.isEnabled()
    QTest.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    created = studio.state.journey_by_name("Winback")
    assert created.journey.input_ids == ("in-streaming-ios", "in-streaming-android",
                                         "in-streaming-web", "in-marketing-web")
    assert editor.panel.current_journey_id() == created.id
    assert editor.scene.graph is created
    assert editor.scene.placeholder_item is not None
    assert stored(db_path) == ordered(studio.state.snapshot())
    editor.undo()
    assert not studio.state.has_journey(created.id)


def test_delete_explains_why_a_journey_with_milestones_stays(
    editor: MainWindow, studio: Studio
) -> None:
    before = ordered(studio.state.snapshot())
    editor.panel.delete_action.trigger()
    assert editor.banner.isVisible()
    assert editor.banner.text() == studio.state.can_remove_journey(TRIAL)
    assert "still has 5 milestones" in editor.banner.text()
    assert ordered(studio.state.snapshot()) == before
    assert editor.undo_stack.count() == 0


def test_an_empty_journey_is_deleted_and_undo_brings_it_back(
    editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    command = CreateJourney(JourneyDocument(journey=Journey(
        name="Scratch", input_ids=("in-streaming-ios",))))
    assert editor.run(command)
    assert editor.panel.select(command.journey_id)
    editor.panel.delete_action.trigger()
    assert not studio.state.has_journey(command.journey_id)
    assert editor.panel.model.rowCount() == 2
    editor.undo()
    assert studio.state.has_journey(command.journey_id)
    assert stored(db_path) == ordered(studio.state.snapshot())


def test_rename_journey_validates_in_place(editor: MainWindow, studio: Studio) -> None:
    editor.panel.rename_action.trigger()
    dialog = editor.active_dialog
    assert isinstance(dialog, RenameJourneyDialog)
    dialog.name.setText("California promo")
    assert not dialog.ok_button.isEnabled()
    assert "already a journey called" in dialog.name_error.text()
    dialog.name.setText("Trial to paid 2026")
    dialog.accept()
    assert studio.state.journey(TRIAL).name == "Trial to paid 2026"
    assert editor.header.title.text() == "Trial to paid 2026"


def test_duplicate_copies_the_journey_with_inactive_outputs(
    editor: MainWindow, studio: Studio, db_path: Path
) -> None:
    editor.panel.duplicate_action.trigger()
    copy = studio.state.journey_by_name("Trial to paid copy")
    source = studio.state.journey(TRIAL)
    assert [m.name for m in copy.milestones_in_order()] == [
        m.name for m in source.milestones_in_order()]
    assert {m.id for m in copy.milestones_in_order()}.isdisjoint(
        {m.id for m in source.milestones_in_order()})
    assert all(not o.active for o in copy.outputs())
    assert editor.meter.text() == "Active audiences 3 / 25"
    assert editor.scene.graph is copy
    assert stored(db_path) == ordered(studio.state.snapshot())


# --------------------------------------------------------------------------- canvas tools


def test_tidy_up_is_one_undo_step(editor: MainWindow, studio: Studio) -> None:
    graph = studio.state.journey(TRIAL)
    before = ordered(studio.state.snapshot())
    editor.tidy_layout()  # the demo is laid out already
    assert editor.undo_stack.count() == 0
    assert editor.banner.text() == "The journey is already tidy."
    from app.core.commands import MoveNodes

    assert editor.run(MoveNodes(TRIAL, {("milestone", "ms-saved"): (900.0, 700.0),
                                        ("output", "out-trial-crm"): (-40.0, 400.0)}))
    moved = ordered(studio.state.snapshot())
    editor.layout_action.trigger()
    assert editor.undo_stack.count() == 2
    assert editor.undo_stack.undoText() == "Tidy up layout"
    assert ordered(studio.state.snapshot()) == before
    editor.undo()
    assert ordered(studio.state.snapshot()) == moved
    assert graph.position("milestone", "ms-saved") == (900.0, 700.0)


def test_export_png_and_svg(editor: MainWindow, tmp_path: Path) -> None:
    png = editor.export_canvas("png", str(tmp_path / "journey.png"))
    svg = editor.export_canvas("svg", str(tmp_path / "journey.svg"))
    assert png is not None and svg is not None
    image = QImage(str(png))
    rect = editor.scene.journey_rect()
    assert image.width() == pytest.approx((rect.width() + 80) * 2, abs=2)
    text = svg.read_text(encoding="utf-8")
    assert text.startswith("<?xml") and "<svg" in text
    assert "Watched content" in text  # real text, not a picture of it


def test_middle_button_and_space_drag_pan_the_canvas(qtbot: QtBot,
                                                     editor: MainWindow) -> None:
    view = editor.view
    viewport = view.viewport()
    centre = QPoint(viewport.width() // 2, viewport.height() // 2)
    before = view.mapToScene(centre)
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier,
                     centre)
    QTest.mouseMove(viewport, centre + QPoint(-120, -40))
    QTest.mouseRelease(viewport, Qt.MouseButton.MiddleButton,
                       Qt.KeyboardModifier.NoModifier, centre + QPoint(-120, -40))
    after = view.mapToScene(centre)
    zoom = view.zoom
    assert after.x() - before.x() == pytest.approx(120 / zoom, abs=2)
    assert after.y() - before.y() == pytest.approx(40 / zoom, abs=2)
    assert editor.undo_stack.count() == 0
    # Space + left drag pans as well, and selects nothing.
    QTest.keyPress(view, Qt.Key.Key_Space)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     centre)
    QTest.mouseMove(viewport, centre + QPoint(60, 0))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       centre + QPoint(60, 0))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert view.mapToScene(centre).x() == pytest.approx(after.x() - 60 / zoom, abs=2)
    assert editor.scene.selected_keys() == []


def test_the_minimap_shows_for_a_journey_larger_than_the_view(
    qtbot: QtBot, editor: MainWindow, studio: Studio
) -> None:
    editor.view.fit_to_view()
    qtbot.wait(200)
    assert not editor.minimap.isVisible()  # the demo fits
    milestones = [Milestone(id="m0", name="Step 0")]
    for index in range(1, 40):
        milestones.append(Milestone(id=f"m{index}", name=f"Step {index}",
                                    parent_id=f"m{index - 1}"))
    document = laid_out(JourneyDocument(
        journey=Journey(name="Long", input_ids=("in-streaming-ios",)),
        milestones=tuple(milestones)))
    command = CreateJourney(document)
    assert editor.run(command)
    assert editor.panel.select(command.journey_id)
    editor.view.reset_zoom()
    qtbot.waitUntil(editor.minimap.isVisible, timeout=2000)
    # A click on the minimap's right end shows the end of the journey.
    minimap = editor.minimap
    QTest.mouseClick(minimap, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(minimap.width() - 12, minimap.height() // 2))
    last = editor.scene.milestone_items["m39"].scene_body()
    visible = editor.view.mapToScene(editor.view.viewport().rect()).boundingRect()
    assert visible.intersects(last)


def test_pinch_zooms(editor: MainWindow) -> None:
    from PySide6.QtGui import QNativeGestureEvent, QPointingDevice
    from PySide6.QtWidgets import QApplication

    view = editor.view
    before = view.zoom
    centre = QPointF(view.viewport().rect().center())
    event = QNativeGestureEvent(
        Qt.NativeGestureType.ZoomNativeGesture, QPointingDevice.primaryPointingDevice(),
        1, centre, centre, QPointF(view.viewport().mapToGlobal(centre.toPoint())), 0.25,
        QPointF(0, 0))
    QApplication.sendEvent(view.viewport(), event)
    assert view.zoom == pytest.approx(before * 1.25, rel=0.01)


def test_a_new_journey_starts_from_its_placeholder(qtbot: QtBot, editor: MainWindow,
                                                   studio: Studio) -> None:
    command = CreateJourney(JourneyDocument(journey=Journey(
        name="Fresh", input_ids=("in-streaming-ios",))))
    assert editor.run(command)
    assert editor.panel.select(command.journey_id)
    placeholder = editor.scene.placeholder_item
    assert placeholder is not None
    point = editor.view.mapFromScene(placeholder.scene_body().center())
    QTest.mouseClick(editor.view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, point)
    from app.ui.dialogs import MilestoneDialog

    dialog = editor.active_dialog
    assert isinstance(dialog, MilestoneDialog)
    assert dialog.windowTitle() == "New first milestone"
    dialog.name.setText("Everyone")
    dialog.accept()
    graph = studio.state.journey(command.journey_id)
    assert [m.name for m in graph.children(None)] == ["Everyone"]
    assert graph.position("milestone", graph.children(None)[0].id) == (0.0, 0.0)
    assert editor.scene.placeholder_item is None
