"""The funnel on the canvas and in the Funnel panel, on the real demo database.

The window runs on a real Studio over a fresh SQLite file, so "Trial to paid" is
evaluated for real on the worker thread. Expected numbers are read back independently
from the stored memberships (``stored_members``), never from the scene.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.core import funnel
from app.core.commands import AddMilestone, SetCriteria
from app.core.criteria import AudienceDefinition, Clause, EventCriterion
from app.engine.evaluation import stored_members
from app.studio import Studio
from app.ui import funnel_panel, theme
from app.ui.canvas.edits import new_milestone
from app.ui.main_window import MainWindow

from .conftest import TRIAL

WAIT_MS = 15_000
CHAIN = ["ms-signed-up", "ms-watched", "ms-saved"]
"""The path from the journey start to "Saved content for later"."""


@pytest.fixture
def evaluated(qtbot: QtBot, stored_studio: Studio) -> Iterator[MainWindow]:
    """The main window on the real studio once "Trial to paid" has been evaluated, at
    100 % and centred."""
    window = MainWindow(stored_studio)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS,
                          check_params_cb=lambda r: r.journey_id == TRIAL):
        window.resize(1500, 900)
        window.show()
        qtbot.waitExposed(window)
        assert window.panel.select(TRIAL)
    qtbot.waitUntil(lambda: not window.scene.calculating, timeout=WAIT_MS)
    window.view.reset_zoom()
    window.view.centerOn(window.scene.journey_rect().center())
    yield window
    window.close()


def stored_sizes(studio: Studio) -> tuple[int, dict[str, int]]:
    """The journey's population and each milestone's size, as stored by the evaluation."""
    graph = studio.state.journey(TRIAL)
    population = len(stored_members(studio.database, TRIAL))
    return population, {m.id: len(stored_members(studio.database, m.id))
                        for m in graph.milestones_in_order()}


def click_milestone(window: MainWindow, milestone_id: str) -> None:
    """A real left click on the middle of a milestone card."""
    item = window.scene.milestone_items[milestone_id]
    window.view.ensureVisible(item.scene_body(), 40, 40)
    point = window.view.mapFromScene(item.scene_body().center())
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, point)


def marked(window: MainWindow) -> set[str]:
    """The milestones whose edge badge is drawn as on the Funnel panel's path."""
    return {edge.label.milestone_id for edge in window.scene.edge_items.values()
            if edge.label is not None and edge.label.on_path}


def open_funnel(qtbot: QtBot, window: MainWindow) -> None:
    """View ▸ Funnel with its shortcut."""
    assert window.funnel_dock.isHidden()
    qtbot.keyClick(window, Qt.Key.Key_F,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.funnel_dock.isVisible(), timeout=2000)


def test_every_milestone_edge_shows_the_engines_conversion_and_drop_off(
        evaluated: MainWindow, stored_studio: Studio) -> None:
    population, sizes = stored_sizes(stored_studio)
    assert population == 500
    graph = evaluated.scene.graph
    assert graph is not None
    labelled = {key: edge.label for key, edge in evaluated.scene.edge_items.items()
                if edge.label is not None}
    # One badge per milestone: the journey start's edge and each parent's.
    assert len(labelled) == graph.milestone_count == len(sizes)
    for key, label in labelled.items():
        milestone = graph.milestone(label.milestone_id)
        parent = population if milestone.parent_id is None else sizes[milestone.parent_id]
        size = sizes[milestone.id]
        assert label.text() == funnel.edge_text(size, parent)
        assert label.lines() == (f"{round(100 * size / parent)}%",
                                 f"\u2212{parent - size:,}")
        assert label.isVisible() and not label.badge_rect().isEmpty()
        # On the edge it belongs to, and clear of both cards ...
        edge = evaluated.scene.edge_items[key]
        assert edge.path().intersects(label.badge_rect())
        for end in key:
            node = evaluated.scene.node_item(end)
            assert node is not None
            assert not node.scene_body().intersects(label.badge_rect())
            # ... and of the +, send and split handles beside the source card.
            for handle in getattr(node, "handles", {}).values():
                assert not handle.mapRectToScene(handle.boundingRect()).intersects(
                    label.badge_rect()), (key, handle.role)
    texts = {label.milestone_id: label.text() for label in labelled.values()}
    assert texts == {"ms-signed-up": "59% \u00b7 \u2212205", "ms-watched": "47% \u00b7 \u2212155",
                     "ms-saved": "59% \u00b7 \u221258", "ms-not-saved": "41% \u00b7 \u221282",
                     "ms-converted": "55% \u00b7 \u221237"}


def test_the_funnel_panel_follows_the_milestone_clicked(
        qtbot: QtBot, evaluated: MainWindow, stored_studio: Studio) -> None:
    population, sizes = stored_sizes(stored_studio)
    open_funnel(qtbot, evaluated)
    panel = evaluated.funnel
    assert panel.steps == ()
    assert panel.chart.message == funnel_panel.NO_SELECTION

    click_milestone(evaluated, "ms-saved")
    assert [step.milestone_id for step in panel.steps] == [None, *CHAIN]
    assert [step.size for step in panel.steps] == [population, *(sizes[m] for m in CHAIN)]
    assert [step.parent_size for step in panel.steps] == [
        None, population, sizes["ms-signed-up"], sizes["ms-watched"]]
    assert panel.rows() == [
        ("Journey start", "500 users", "Everyone in the journey", "", ""),
        ("Signed up for trial", "295 users", "59.0% converted", "\u2212205 dropped (41.0%)",
         "59.0% of the journey"),
        ("Watched content", "140 users", "47.5% converted", "\u2212155 dropped (52.5%)",
         "28.0% of the journey"),
        ("Saved content for later", "82 users", "58.6% converted", "\u221258 dropped (41.4%)",
         "16.4% of the journey"),
    ]
    assert panel.summary.text() == ("Journey start → Saved content for later · "
                                    "16.4% of the journey reach it")
    assert marked(evaluated) == set(CHAIN)

    # Another milestone, another path: the split's Remaining users.
    click_milestone(evaluated, "ms-not-saved")
    assert [step.milestone_id for step in panel.steps] == [
        None, "ms-signed-up", "ms-watched", "ms-not-saved"]
    assert panel.rows()[-1] == ("Remaining users", "58 users", "41.4% converted",
                                "\u221282 dropped (58.6%)", "11.6% of the journey")
    assert panel.steps[-1].size == sizes["ms-not-saved"]
    assert marked(evaluated) == {"ms-signed-up", "ms-watched", "ms-not-saved"}

    # Clicking the empty canvas keeps the path on show.
    empty = evaluated.view.mapFromScene(evaluated.scene.journey_rect().bottomRight())
    QTest.mouseClick(evaluated.view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, empty + empty.__class__(30, 30))
    assert not evaluated.scene.selectedItems()
    assert panel.steps[-1].milestone_id == "ms-not-saved"
    # Closing the panel takes the path's accent off the canvas.
    evaluated.funnel_action.trigger()
    assert not evaluated.funnel_dock.isVisible()
    assert marked(evaluated) == set()


CSV = (
    "step,milestone,size,conversion_percent,dropped,drop_off_percent,of_journey_percent\n"
    "0,Journey start,500,,,,100.00\n"
    "1,Signed up for trial,295,59.00,205,41.00,59.00\n"
    "2,Watched content,140,47.46,155,52.54,28.00\n"
    "3,Saved content for later,82,58.57,58,41.43,16.40\n"
    "4,Converted to paid,45,54.88,37,45.12,9.00\n"
)


def test_export_csv_writes_the_funnel_exactly(
        qtbot: QtBot, evaluated: MainWindow, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "funnel.csv"
    asked: list[str] = []

    def choose(parent: object, caption: str, default: str, filters: str) -> tuple[str, str]:
        asked.append(default)
        return str(target), filters

    monkeypatch.setattr(funnel_panel.QFileDialog, "getSaveFileName", choose)
    open_funnel(qtbot, evaluated)
    click_milestone(evaluated, "ms-converted")
    qtbot.mouseClick(evaluated.funnel.csv_button, Qt.MouseButton.LeftButton)
    assert asked == ["Trial to paid - funnel to Converted to paid.csv"]
    assert target.read_bytes().decode("utf-8") == CSV


def test_export_png_writes_a_chart(
        qtbot: QtBot, evaluated: MainWindow, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, artifacts_dir: Path) -> None:
    target = tmp_path / "funnel.png"
    monkeypatch.setattr(funnel_panel.QFileDialog, "getSaveFileName",
                        lambda *args: (str(target), "PNG images (*.png)"))
    open_funnel(qtbot, evaluated)
    assert not evaluated.funnel.png_button.isEnabled()  # nothing chosen yet
    click_milestone(evaluated, "ms-saved")
    qtbot.mouseClick(evaluated.funnel.png_button, Qt.MouseButton.LeftButton)
    assert target.stat().st_size > 0
    image = QImage(str(target))
    assert not image.isNull()
    assert (image.width(), image.height()) == (
        round(funnel_panel.PNG_SIZE.width() * funnel_panel.PNG_SCALE),
        round(funnel_panel.PNG_SIZE.height() * funnel_panel.PNG_SCALE))  # 4 steps fit
    # A chart, not a blank page: the accent bars are in it.
    accent = theme.current().color("accent")
    assert any(image.pixelColor(x, image.height() // 2) == accent
               for x in range(0, image.width(), 4))
    evaluated.grab().save(str(artifacts_dir / "funnel-window.png"))


def test_the_funnel_panels_visibility_is_kept(
        qtbot: QtBot, editor: MainWindow, stored_studio: Studio) -> None:
    assert not editor.funnel_dock.isVisible()
    editor.funnel_action.trigger()
    assert editor.funnel_dock.isVisible()
    editor.close()
    again = MainWindow(stored_studio)
    qtbot.addWidget(again)
    again.show()
    assert again.funnel_dock.isVisible() and again.funnel_action.isChecked()
    again.funnel_action.trigger()
    again.close()
    third = MainWindow(stored_studio)
    qtbot.addWidget(third)
    third.show()
    assert not third.funnel_dock.isVisible()
    third.close()


def test_badges_and_panel_follow_each_new_evaluation(
        qtbot: QtBot, evaluated: MainWindow, stored_studio: Studio) -> None:
    """An edit evaluates again: a new milestone's edge gets its badge once its size is
    in (dimmed meanwhile), and changed criteria change the badges and the panel."""
    graph = evaluated.scene.graph
    assert graph is not None
    runner = evaluated.evaluations
    open_funnel(qtbot, evaluated)
    click_milestone(evaluated, "ms-converted")
    definition = AudienceDefinition(
        clauses=(Clause(item=EventCriterion(event_name="Renew subscription")),))
    milestone = new_milestone(graph, evaluated.scene.placement(), "ms-converted",
                              name="Renewed", definition=definition)
    key = ("milestone:ms-converted", f"milestone:{milestone.id}")
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS):
        assert evaluated.run(AddMilestone(graph.id, milestone))
        # No size for the new milestone yet: no badge; the others are provisional.
        label = evaluated.scene.edge_items[key].label
        assert label is not None and label.text() == "" and label.badge_rect().isEmpty()
        other = evaluated.scene.edge_items[("milestone:ms-saved", "milestone:ms-converted")]
        assert other.label is not None and other.label.opacity() < 1.0
    _, sizes = stored_sizes(stored_studio)
    assert label.text() == funnel.edge_text(sizes[milestone.id], sizes["ms-converted"])
    assert other.label.opacity() == 1.0

    # Everyone who signed up "watched": 100 % on that edge, and the panel's path agrees.
    click_milestone(evaluated, "ms-watched")
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS):
        assert evaluated.run(SetCriteria(graph.id, "ms-watched", AudienceDefinition()))
    _, sizes = stored_sizes(stored_studio)
    assert sizes["ms-watched"] == sizes["ms-signed-up"] == 295
    edge = evaluated.scene.edge_items[("milestone:ms-signed-up", "milestone:ms-watched")]
    assert edge.label is not None and edge.label.text() == "100% \u00b7 \u22120"
    assert evaluated.funnel.rows()[-1] == (
        "Watched content", "295 users", "100.0% converted", "\u22120 dropped (0.0%)",
        "59.0% of the journey")
