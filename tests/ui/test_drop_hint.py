"""A refused palette drop's hint: named as the palette names the step, gone on the next move.

The drop is what the palette sends (its own mime data, DESIGN.md section 8):
"Remaining users" dropped onto "Converted to paid", which has no split for it
to complete. The journey already has a "Remaining users" step, so the refused
step would be called "Everyone else" if it were added; the marketer dragged
"Remaining users" and the hint must say so.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.core.commands import RenameMilestone
from app.core.models import REMAINING_USERS
from app.ui.canvas.items import HintItem
from app.ui.main_window import MainWindow
from app.ui.palette import mime_for

from .conftest import TRIAL
from .test_editing import click, drop, milestone


def refused_drop(window: MainWindow) -> HintItem:
    """Drop "Remaining users" onto a milestone without a split; the hint it leaves."""
    target = milestone(window, "ms-converted")
    window.view.centerOn(target.scene_body().center())
    mime = mime_for(window.palette_panel.tile(REMAINING_USERS).entry)
    drop(window, mime, target.scene_body().center())
    hint = window.scene.drop_hint
    assert hint is not None and hint.refused and hint.isVisible()
    return hint


def press(window: MainWindow, key: Qt.Key,
          modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(window.view, key, modifiers)


def activate(qtbot: QtBot, window: MainWindow) -> None:
    """Window shortcuts (Ctrl+Z) only fire in the active window, offscreen too."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.view.setFocus()


def rename(window: MainWindow) -> None:
    assert window.run(RenameMilestone(TRIAL, "ms-watched", "Watched a show"))


def test_the_hint_names_the_step_as_the_palette_does(canvas: MainWindow) -> None:
    hint = refused_drop(canvas)
    assert "Everyone else" not in hint.text()
    assert hint.text().startswith(f"“{REMAINING_USERS}” needs at least one other milestone")


def _click(window: MainWindow) -> None:
    empty = window.scene.journey_rect().bottomRight() + QPointF(200, 200)
    window.view.centerOn(empty)
    click(window, empty)


def _escape(window: MainWindow) -> None:
    assert not window.scene.selectedItems()
    press(window, Qt.Key.Key_Escape)


def _select(window: MainWindow) -> None:
    window.scene.select_node("milestone", "ms-watched")  # e.g. from the inspector's list


def _undo(window: MainWindow) -> None:
    press(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.studio.state.journey(TRIAL).milestone("ms-watched").name == "Watched content"


def _redo(window: MainWindow) -> None:
    press(window, Qt.Key.Key_Z,
          Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.studio.state.journey(TRIAL).milestone("ms-watched").name == "Watched a show"


def _nudge(window: MainWindow) -> None:
    graph = window.studio.state.journey(TRIAL)
    before = graph.milestone("ms-watched").x
    press(window, Qt.Key.Key_Right)  # an edit: the selected milestone moves one unit
    assert graph.milestone("ms-watched").x == before + 1


@pytest.mark.parametrize(("before", "gesture"), [
    (None, _click),
    (None, _escape),
    (None, _select),
    (rename, _undo),
    (lambda w: (rename(w), w.undo()), _redo),
    (lambda w: w.scene.select_node("milestone", "ms-watched"), _nudge),
], ids=["click", "escape", "selection", "undo", "redo", "edit"])
def test_the_next_gesture_clears_a_refused_drop_s_hint(
    qtbot: QtBot, canvas: MainWindow,
    before: Callable[[MainWindow], object] | None,
    gesture: Callable[[MainWindow], None],
) -> None:
    activate(qtbot, canvas)
    if before is not None:
        before(canvas)
    hint = refused_drop(canvas)
    gesture(canvas)
    assert not hint.isVisible()
