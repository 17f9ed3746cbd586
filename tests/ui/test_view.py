"""The canvas view: zoom limits, zoom around the cursor, fitting."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui.canvas.view import AUTO_FIT_MIN_ZOOM, MAX_ZOOM, MIN_ZOOM, clamp_zoom
from app.ui.main_window import MainWindow


def wheel(window: MainWindow, at: QPoint, delta: int) -> None:
    viewport = window.view.viewport()
    event = QWheelEvent(
        QPointF(at), QPointF(viewport.mapToGlobal(at)), QPoint(0, 0), QPoint(0, delta),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, event)


@pytest.mark.parametrize(("value", "expected"), [(0.01, MIN_ZOOM), (1.5, 1.5), (9.0, MAX_ZOOM)])
def test_clamp_zoom(value: float, expected: float) -> None:
    assert clamp_zoom(value) == expected


def test_wheel_zooms_around_the_cursor_and_stays_in_bounds(window: MainWindow) -> None:
    view = window.view
    at = QPoint(view.viewport().width() // 3, view.viewport().height() // 2)
    under_cursor = view.mapToScene(at)
    wheel(window, at, 120)
    assert view.zoom > AUTO_FIT_MIN_ZOOM
    after = view.mapToScene(at)
    assert abs(after.x() - under_cursor.x()) < 2 and abs(after.y() - under_cursor.y()) < 2
    for _ in range(40):
        wheel(window, at, 240)
    assert view.zoom == pytest.approx(MAX_ZOOM)
    for _ in range(80):
        wheel(window, at, -240)
    assert view.zoom == pytest.approx(MIN_ZOOM)
    assert window.header.zoom_label.text() == "25%"


def test_fit_to_view_shows_the_whole_journey_at_most_at_100_percent(
    window: MainWindow,
) -> None:
    view = window.view
    view.zoom_in()
    view.zoom_in()
    window.fit_action.trigger()
    assert MIN_ZOOM <= view.zoom <= 1.0
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.journey_rect())
    window.actual_size_action.trigger()
    assert view.zoom == 1.0
    assert window.header.zoom_label.text() == "100%"


def test_first_look_keeps_text_readable(qtbot: QtBot, window: MainWindow) -> None:
    """A journey wider than the window is shown from its start, not shrunk to a smudge."""
    window.resize(900, 700)
    qtbot.wait(10)
    view = window.view
    assert view.zoom == pytest.approx(AUTO_FIT_MIN_ZOOM)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert window.scene.start_item is not None
    assert visible.contains(window.scene.start_item.scene_body())


def test_only_milestones_and_outputs_are_movable_and_selectable(window: MainWindow) -> None:
    """Inputs, the start and edges follow the journey; people move audiences and outputs."""
    editable = {*window.scene.milestone_items.values(), *window.scene.output_items.values()}
    for item in window.scene.items():
        if item.parentItem() is not None:
            continue  # handles
        movable = bool(item.flags() & item.GraphicsItemFlag.ItemIsMovable)
        selectable = bool(item.flags() & item.GraphicsItemFlag.ItemIsSelectable)
        assert movable == selectable == (item in editable)
