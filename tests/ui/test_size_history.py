"""The Size history panel: a real click on a milestone shows its stored history.

The window runs on a real Studio over a fresh demo database. Two evaluations are
stored at earlier times first (what ``journeys evaluate --as-of --store`` does), the
window's own evaluation adds the third; the chart must hold exactly the points the
store returns, and a later evaluation must add one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolTip
from pytestqt.qtbot import QtBot

from app.core.history import VOLATILITY_EXPLAINED, SizePoint
from app.engine.evaluation import EvaluationResult
from app.studio import Studio
from app.ui import theme
from app.ui.main_window import MainWindow
from app.ui.size_history import NO_EVALUATIONS, SizeHistoryPanel

from .conftest import TRIAL
from .demo import DemoStudio

WAIT_MS = 15_000
WATCHED = "ms-watched"


def click_milestone(window: MainWindow, milestone_id: str) -> None:
    """A real left click on the middle of the milestone's card."""
    item = window.scene.milestone_items[milestone_id]
    window.view.ensureVisible(item)
    at = window.view.mapFromScene(item.sceneBoundingRect().center())
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, at)


def stored(studio: Studio, milestone_id: str) -> list[tuple[float, int, int, int]]:
    return [(p.as_of.timestamp(), p.size, p.added, p.removed)
            for p in studio.size_history(milestone_id)]


@pytest.fixture
def history_window(qtbot: QtBot, stored_studio: Studio) -> Iterator[MainWindow]:
    """Two evaluations stored days ago, then the window (whose evaluation is the third)."""
    document = stored_studio.state.journey(TRIAL).document()
    now = datetime.now(UTC)
    for days in (6, 3):
        stored_studio.evaluate(document, now - timedelta(days=days), store=True)
    window = MainWindow(stored_studio)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS,
                          check_params_cb=lambda r: r.journey_id == TRIAL):
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        assert window.panel.select(TRIAL)
    yield window
    window.close()


def test_clicking_a_milestone_shows_its_stored_history(
    qtbot: QtBot, history_window: MainWindow, stored_studio: Studio
) -> None:
    window = history_window
    panel = window.size_history
    assert window.size_history_dock.isHidden()
    window.size_history_action.trigger()  # View ▸ Size history
    assert window.size_history_dock.isVisible()
    assert panel.message.text().startswith("Select a milestone")

    click_milestone(window, WATCHED)
    assert window.scene.selected_keys() == [("milestone", WATCHED)]
    expected = stored(stored_studio, WATCHED)
    assert len(expected) == 3
    qtbot.waitUntil(lambda: panel.plotted() == expected, timeout=WAIT_MS)  # read off-thread
    assert panel.title.text() == "Watched content  ·  Trial to paid"
    assert panel.size_figure.value.text() == f"{expected[-1][1]:,}"
    assert panel.volatility_figure.toolTip() == VOLATILITY_EXPLAINED
    # The sizes differ from one evaluation to the next: the demo's "last 14 days" moves.
    assert len({size for _t, size, _a, _r in expected}) > 1

    # Another milestone, another history.
    click_milestone(window, "ms-saved")
    saved = stored(stored_studio, "ms-saved")
    qtbot.waitUntil(lambda: panel.plotted() == saved, timeout=WAIT_MS)

    # Evaluating again adds a point to the chart on show.
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS):
        window.reevaluate()
    again = stored(stored_studio, "ms-saved")
    assert len(again) == 4
    qtbot.waitUntil(lambda: panel.plotted() == again, timeout=WAIT_MS)

    # Clicking the empty canvas leaves no milestone selected: the hint comes back.
    corner = window.view.viewport().rect().bottomRight() - QPoint(30, 30)
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, corner)
    assert panel.milestone_id is None and panel.pages.currentIndex() == 0


def test_hovering_the_chart_tells_the_nearest_evaluation(
    qtbot: QtBot, history_window: MainWindow, stored_studio: Studio
) -> None:
    window = history_window
    window.size_history_action.trigger()
    click_milestone(window, WATCHED)
    panel = window.size_history
    qtbot.waitUntil(lambda: len(panel.points) == 3, timeout=WAIT_MS)
    qtbot.wait(50)
    last = stored_studio.size_history(WATCHED)[-1]
    view_point = QPointF(last.as_of.timestamp(), last.size)
    scene_point = panel.size_plot.vb.mapViewToScene(view_point)
    at = panel.chart.mapFromScene(scene_point)
    QTest.mouseMove(panel.chart.viewport(), at)
    qtbot.waitUntil(lambda: QToolTip.isVisible(), timeout=2_000)
    assert QToolTip.text() == (f"{_local(last)}\n{last.size:,} users\n"
                               f"+{last.added:,} joined · −{last.removed:,} left")
    assert all(cursor.isVisible() for cursor in panel.cursors)
    assert panel.cursors[0].value() == pytest.approx(last.as_of.timestamp())


def _local(point: SizePoint) -> str:
    local = point.as_of.astimezone()
    return f"{local.day} {local:%b %Y %H:%M}"


@dataclass
class NeverEvaluated(DemoStudio):
    """The demo account with nothing stored yet."""

    asked: list[str] = field(default_factory=list)

    def evaluate(self, document: object, as_of: object = None) -> EvaluationResult:
        raise RuntimeError("not evaluated in this test")

    def size_history(self, milestone_id: str) -> list[SizePoint]:
        self.asked.append(milestone_id)
        return []


def test_a_milestone_never_evaluated_says_so(qtbot: QtBot) -> None:
    studio = NeverEvaluated()
    window = MainWindow(studio)
    qtbot.addWidget(window)
    window.resize(1320, 820)
    window.show()
    qtbot.waitExposed(window)
    assert window.panel.select(TRIAL)
    click_milestone(window, WATCHED)
    assert studio.asked == []  # nothing is read while the panel is hidden
    window.size_history_action.trigger()
    panel = window.size_history
    qtbot.waitUntil(lambda: NO_EVALUATIONS in panel.message.text(), timeout=WAIT_MS)
    assert studio.asked == [WATCHED]
    assert panel.pages.currentIndex() == 0
    assert panel.points == []


def test_the_chart_follows_the_theme(qtbot: QtBot) -> None:
    panel = SizeHistoryPanel(None)
    qtbot.addWidget(panel)
    now = datetime.now(UTC)
    panel.set_points([SizePoint(now - timedelta(days=1), 10, 10, 0),
                      SizePoint(now, 12, 3, 1)], now)
    assert panel.chart.backgroundBrush().color().name().upper() == theme.LIGHT.panel
    window_scheme = theme.theme_for_scheme(Qt.ColorScheme.Dark)
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app, window_scheme)
    panel.refresh_theme()
    assert panel.chart.backgroundBrush().color().name().upper() == theme.DARK.panel
    assert panel.recent_figure.value.text().count(theme.DARK.danger) == 1
