"""Readable at 100 % and 200 %, in the shipped font and in another: card texts fit their
cards, and the window renders at twice the pixels (icons are SVG, so they stay sharp) when
the scale factor is 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QFont, QFontInfo
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui import theme
from app.ui.canvas.items import MILESTONE_MAX_WIDTH, MilestoneItem, NodeItem
from app.ui.canvas.scene import JourneyScene
from app.ui.main_window import MainWindow

from .demo import DemoStudio

ROOT = Path(__file__).resolve().parents[2]


def _node_items(scene: JourneyScene) -> list[NodeItem]:
    items: list[NodeItem] = [*scene.input_items.values(), *scene.milestone_items.values(),
                             *scene.output_items.values()]
    if scene.start_item is not None:
        items.append(scene.start_item)
    return items


FORCED_FAMILY = "DejaVu Sans"
"""What a bare Linux machine has: wider than Inter, so it is what cut texts before cards
measured them."""


@pytest.fixture(params=["shipped", "forced"])
def ui_font(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    """The window draws in the shipped font, then again with DejaVu Sans forced."""
    if request.param == "forced":
        theme.use_family(FORCED_FAMILY)
        theme.apply_theme(qapp, theme.LIGHT)
    yield theme.ui_family()
    theme.use_family(None)
    theme.apply_theme(qapp, theme.LIGHT)


def test_the_shipped_font_is_the_one_in_use(window: MainWindow) -> None:
    """Qt resolves the UI font to the Inter files in resources/fonts, not to a system font
    that happens to be installed (a bare machine has none of that name)."""
    assert theme.ui_family() == theme.UI_FONT_FAMILY == "Inter"
    shipped = theme.load_shipped_fonts()
    assert "Inter" in shipped
    for weight in (QFont.Weight.Normal, QFont.Weight.DemiBold):
        drawn = QFontInfo(theme.font(13, weight))
        assert drawn.family() == "Inter"
    assert QFontInfo(window.font()).family() == "Inter"
    assert QFontInfo(QApplication.font()).family() == "Inter"


def test_card_texts_of_the_demo_journeys_are_not_elided_at_100_percent(
    qtbot: QtBot, ui_font: str, studio: DemoStudio
) -> None:
    """Names, captions, sizes, changes, partners and workspaces are drawn whole, in the
    shipped font and in a wider one: cards are as wide as their text.

    The one exception is a milestone's criteria line: one line by design, elided when
    long, with all of it in the tooltip and the inspector.
    """
    window = MainWindow(studio)
    qtbot.addWidget(window)
    window.resize(1320, 820)
    window.show()
    qtbot.waitExposed(window)
    assert QFontInfo(theme.font(13)).family() == ui_font
    window.actual_size_action.trigger()
    assert window.view.zoom == 1.0
    cut: list[str] = []
    checked = 0
    for graph in studio.state.journeys():
        assert window.panel.select(graph.id)
        qtbot.waitUntil(lambda: not window.scene.calculating, timeout=5000)
        for item in _node_items(window.scene):
            summary = item.card().summary if isinstance(item, MilestoneItem) else None
            shown_texts = item.shown_texts()
            assert shown_texts, f"{type(item).__name__} drew no text"
            for text, shown in shown_texts:
                checked += 1
                if shown != text and text != summary:
                    cut.append(f"{graph.name}: {text!r} drawn as {shown!r}")
    assert checked > 40
    assert not cut, "\n".join(cut)


def test_a_name_past_the_widest_card_is_elided_with_all_of_it_in_the_tooltip(
    qtbot: QtBot, window: MainWindow, studio: DemoStudio
) -> None:
    """A rename widens the card up to its maximum; past it the name is elided."""
    graph = next(iter(studio.state.journeys()))
    assert window.panel.select(graph.id)
    item = next(iter(window.scene.milestone_items.values()))
    short = item.size().width()
    long_name = "Signed up for the trial through the spring campaign landing pages"
    graph.rename_milestone(item.node_id, long_name)
    assert item.size().width() == MILESTONE_MAX_WIDTH > short
    drawn = dict(item.shown_texts())
    assert drawn[long_name] != long_name and drawn[long_name].endswith("…")
    assert long_name in item.tooltip()
    graph.rename_milestone(item.node_id, "Short")
    assert item.size().width() == short


def test_the_main_window_at_200_percent(artifacts_dir: Path, tmp_path: Path) -> None:
    """QT_SCALE_FACTOR=2 is read when the application starts, hence the subprocess."""
    out = artifacts_dir / "main-window-200.png"
    out.unlink(missing_ok=True)
    env = {**os.environ, "QT_SCALE_FACTOR": "2", "QT_QPA_PLATFORM": "offscreen"}
    env.pop("QT_SCREEN_SCALE_FACTORS", None)
    env.pop("QT_ENABLE_HIGHDPI_SCALING", None)
    done = subprocess.run(
        [sys.executable, "-m", "tests.ui.scaled_window", str(out), str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result from the subprocess:\n{done.stdout}\n{done.stderr}"
    result = json.loads(lines[-1])
    assert result["logical"] == [1280, 800]
    assert result["screen_ratio"] == pytest.approx(2.0)
    assert result["ratio"] == pytest.approx(2.0)
    assert (result["width"], result["height"]) == (2560, 1600)
    assert out.exists() and out.stat().st_size > 0
