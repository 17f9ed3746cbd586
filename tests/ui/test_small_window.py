"""The window at 1024×700 (a small laptop): the journey's name is readable, and the
minimap stays small, can be collapsed from itself or the View menu, and stays so. In a
short window a bottom dock gives way to the journeys list."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui import theme
from app.ui.journeys_panel import MIN_JOURNEY_ROWS, ROW_HEIGHT
from app.ui.main_window import MainWindow

from .demo import DemoStudio
from .test_main_window import click_journey

SMALL = (1024, 700)
DEMO_JOURNEYS = ["Trial to paid", "California promo"]


def open_small(qtbot: QtBot) -> MainWindow:
    window = MainWindow(DemoStudio())
    qtbot.addWidget(window)
    window.resize(*SMALL)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(20)  # the queued layout
    return window


@pytest.fixture
def small(qtbot: QtBot) -> MainWindow:
    """The main window on the demo account at 1024×700 (the minimap shows: the first
    journey does not fit)."""
    window = open_small(qtbot)
    qtbot.waitUntil(window.minimap.isVisible, timeout=2000)
    return window


def shown_title(window: MainWindow) -> str:
    """The title as drawn: elided to the width the header gives the label."""
    title = window.header.title
    return title.fontMetrics().elidedText(title.text(), Qt.TextElideMode.ElideRight,
                                          title.contentsRect().width())


@pytest.mark.parametrize("name", DEMO_JOURNEYS)
def test_the_title_is_shown_whole_at_1024_by_700(
    qtbot: QtBot, small: MainWindow, name: str
) -> None:
    click_journey(qtbot, small, name)
    qtbot.wait(20)
    assert small.header.title.text() == name
    assert shown_title(small) == name
    # Undo, redo and the zoom percentage stay at hand.
    assert small.header.zoom_label.isVisible()
    assert small.header.fit_button.isVisible()


def test_at_full_size_the_header_shows_everything(qtbot: QtBot, window: MainWindow) -> None:
    header = window.header
    assert shown_title(window) == "Trial to paid"
    for widget in (header.mode, header.zoom_in_button, header.zoom_out_button):
        assert widget.isVisible()
    assert all(button.isVisible() for button in header.tool_buttons)


def test_the_minimap_is_small_beside_a_small_canvas(small: MainWindow) -> None:
    viewport = small.view.viewport()
    minimap = small.minimap
    area = minimap.width() * minimap.height()
    assert area < 0.25 * viewport.width() * viewport.height()
    # Not a quarter of the canvas either way: it sits in a corner of it.
    assert minimap.width() <= viewport.width() / 4
    assert minimap.height() <= viewport.height() / 4
    # Inside the canvas, at its bottom-right corner.
    corner = minimap.mapTo(small.view, QPoint(minimap.width(), minimap.height()))
    assert small.view.rect().contains(corner)


def test_the_collapse_button_hides_the_minimap_body_and_brings_it_back(
    qtbot: QtBot, small: MainWindow
) -> None:
    minimap = small.minimap
    expanded = minimap.size()
    qtbot.mouseClick(minimap.toggle_button, Qt.MouseButton.LeftButton)
    assert minimap.collapsed
    assert minimap.isVisible()  # the button to bring it back
    assert minimap.width() < expanded.width() / 3 and minimap.height() < expanded.height() / 2
    assert not small.minimap_action.isChecked()
    qtbot.mouseClick(minimap.toggle_button, Qt.MouseButton.LeftButton)
    assert not minimap.collapsed
    assert minimap.size() == expanded
    assert small.minimap_action.isChecked()


def test_the_view_menu_toggles_the_minimap_with_a_shortcut(
    qtbot: QtBot, small: MainWindow
) -> None:
    action = small.minimap_action
    assert action.isCheckable() and action.isChecked()
    assert action.shortcut().toString() == "Ctrl+M"
    view_menu = next(a.menu() for a in small.menuBar().actions() if a.text() == "&View")
    assert action in view_menu.actions()
    QTest.keyClick(small.view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert small.minimap.collapsed and not action.isChecked()
    action.trigger()
    assert not small.minimap.collapsed


def test_a_collapsed_minimap_stays_collapsed_in_the_next_window(
    qtbot: QtBot, small: MainWindow
) -> None:
    small.minimap_action.trigger()
    assert small.minimap.collapsed
    small.close()
    again = open_small(qtbot)
    assert not again.minimap_action.isChecked()
    assert again.minimap.collapsed
    again.minimap_action.trigger()
    again.close()
    third = open_small(qtbot)
    assert third.minimap_action.isChecked() and not third.minimap.collapsed


SHORT_WINDOWS = [(1100, 700), (1320, 820)]
BOTTOM_DOCKS = [("funnel", Qt.Key.Key_F), ("size_history", Qt.Key.Key_H)]


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("dock_name, key", BOTTOM_DOCKS, ids=[d for d, _ in BOTTOM_DOCKS])
@pytest.mark.parametrize("size", SHORT_WINDOWS, ids=[f"{w}x{h}" for w, h in SHORT_WINDOWS])
def test_a_bottom_dock_leaves_the_journeys_list_several_rows(
    qtbot: QtBot, qapp: QApplication, size: tuple[int, int], dock_name: str,
    key: Qt.Key, dark: bool
) -> None:
    """Opening the Funnel or the Size history in a short window: the dock gives way, the
    journeys list still shows several whole rows, and the window keeps its size."""
    if dark:
        theme.apply_theme(qapp, theme.DARK)
    window = MainWindow(DemoStudio())
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()  # offscreen, shortcuts need the window active
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    QTest.keyClick(window.view, key, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    dock = getattr(window, f"{dock_name}_dock")
    qtbot.waitUntil(dock.isVisible, timeout=2000)
    qtbot.wait(50)  # the queued layout
    assert (window.width(), window.height()) == size
    rows = window.panel.list.viewport().height() / ROW_HEIGHT
    assert rows >= MIN_JOURNEY_ROWS, f"the journeys list shows {rows:.1f} rows"
    # The dock is still worth opening: its contents have room.
    assert dock.height() >= dock.widget().minimumSizeHint().height()
    assert dock.height() >= 150
    window.close()
