"""Readable at 100 % and 200 %: card texts fit their cards, and the window renders at
twice the pixels (icons are SVG, so they stay sharp) when the scale factor is 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.ui.canvas.items import MilestoneItem, NodeItem
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


def test_card_texts_of_the_demo_journeys_are_not_elided_at_100_percent(
    qtbot: QtBot, window: MainWindow, studio: DemoStudio
) -> None:
    """Names, captions, sizes, changes, partners and workspaces are drawn whole.

    The one exception is a milestone's criteria line: one line by design, elided when
    long, with all of it in the tooltip and the inspector.
    """
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
