"""Banners belong to the edit that raised them, and float over the canvas.

A warning banner after an edit offers Undo: it must undo exactly that edit, and
it goes away once that edit is undone or another edit follows. It floats over
the top of the canvas, so the canvas never moves under the pointer when a
banner appears. Every gesture is a real click or key press on the window.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.studio import Studio
from app.ui.main_window import MainWindow

from .conftest import TRIAL
from .test_busy_database import rename_in_inspector

OUTPUT = "out-trial-crm"
"""The active CRM webhook output of "Trial to paid": deactivating it warns."""


@pytest.fixture
def studio(stored_studio: Studio) -> Studio:  # type: ignore[override]
    """These tests edit and save for real: ``studio`` is the stored one (conftest)."""
    return stored_studio


def in_window(window: MainWindow, scene_point: QPointF) -> QPoint:
    """Where a scene point is on screen (window coordinates)."""
    return window.view.viewport().mapTo(window, window.view.mapFromScene(scene_point))


def badge_in_window(window: MainWindow) -> QPoint:
    """The centre of the output's Active/Inactive badge on screen."""
    item = window.scene.output_items[OUTPUT]
    return in_window(window, item.mapToScene(item.badge_rect().center()))


def badge_corner_in_window(window: MainWindow) -> QPoint:
    """The badge's top-left corner on screen (its width follows "Active"/"Inactive")."""
    item = window.scene.output_items[OUTPUT]
    return in_window(window, item.mapToScene(item.badge_rect().topLeft()))


def click_at_window_point(window: MainWindow, point: QPoint) -> None:
    """A real left click on the canvas at a fixed place of the window, as a hand would."""
    viewport = window.view.viewport()
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     viewport.mapFrom(window, point))


def click_badge(window: MainWindow) -> None:
    click_at_window_point(window, badge_in_window(window))


def is_active(studio: Studio) -> bool:
    return studio.state.journey(TRIAL).output(OUTPUT).active


def test_the_undo_of_a_banner_never_undoes_a_later_edit(
    qtbot: QtBot, editor: MainWindow, studio: Studio
) -> None:
    banner = editor.banner
    click_badge(editor)
    assert not is_active(studio)
    assert banner.isVisible() and banner.level == "warning"
    assert banner.action_button.text() == "Undo"
    click_badge(editor)
    assert is_active(studio)
    rename_in_inspector(editor, "ms-signed-up", "Started a trial")
    graph = studio.state.journey(TRIAL)
    assert graph.milestone("ms-signed-up").name == "Started a trial"
    # The banner of the first toggle is gone, or at least its Undo cannot be pressed.
    assert not banner.isVisible() or not banner.action_button.isEnabled()
    if banner.isVisible() and banner.action_button.isEnabled():
        qtbot.mouseClick(banner.action_button, Qt.MouseButton.LeftButton)
    assert graph.milestone("ms-signed-up").name == "Started a trial"
    assert is_active(studio)


def test_the_undo_of_a_banner_undoes_its_own_edit(
    qtbot: QtBot, editor: MainWindow, studio: Studio
) -> None:
    click_badge(editor)
    assert not is_active(studio)
    qtbot.mouseClick(editor.banner.action_button, Qt.MouseButton.LeftButton)
    assert is_active(studio)
    assert editor.undo_stack.index() == 0
    assert not editor.banner.isVisible()


def test_the_banner_goes_when_its_edit_is_undone_with_ctrl_z(
    qtbot: QtBot, editor: MainWindow, studio: Studio
) -> None:
    click_badge(editor)
    assert editor.banner.isVisible()
    QTest.keyClick(editor.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert is_active(studio)
    assert not editor.banner.isVisible()


def test_a_refusal_stays_until_the_next_edit(
    qtbot: QtBot, editor: MainWindow, studio: Studio
) -> None:
    banner = editor.banner
    banner.timeouts = {"error": 0, "warning": 100, "info": 100}
    editor.delete_journey(TRIAL)  # refused: it still has milestones
    assert banner.isVisible() and banner.level == "error"
    qtbot.wait(300)
    assert banner.isVisible()
    click_badge(editor)  # the next edit: the refusal gives way to the edit's own banner
    assert banner.level == "warning"


def test_the_banner_hides_after_its_time_but_not_while_hovered(
    qtbot: QtBot, editor: MainWindow, studio: Studio
) -> None:
    banner = editor.banner
    banner.timeouts = {"error": 0, "warning": 300, "info": 300}
    click_badge(editor)
    assert banner.isVisible()
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=2000)
    click_badge(editor)  # activate again (no banner)
    click_badge(editor)  # deactivate: a new banner
    assert banner.isVisible()
    QTest.mouseMove(banner, banner.rect().center())
    qtbot.wait(700)
    assert banner.isVisible(), "the banner hid while the pointer was on it"
    QTest.mouseMove(editor.view.viewport(), QPoint(10, editor.view.viewport().height() - 10))
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=2000)


def test_the_canvas_does_not_move_when_a_banner_appears(
    qtbot: QtBot, editor: MainWindow, studio: Studio
) -> None:
    where = badge_in_window(editor)
    corner = badge_corner_in_window(editor)
    click_at_window_point(editor, where)
    assert not is_active(studio)
    assert editor.banner.isVisible()
    qtbot.wait(20)  # let the layout settle, as it would before a second click
    assert badge_corner_in_window(editor) == corner
    click_at_window_point(editor, where)  # the same place on screen: the same badge
    assert is_active(studio)
    # The banner floats over the top of the canvas view.
    assert editor.banner.parentWidget() is editor.view
    assert editor.banner.geometry().top() < editor.view.height() // 4
