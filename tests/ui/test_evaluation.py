"""Audience sizes on the canvas: the background evaluation and what the cards show.

The window tests run on a real Studio over a fresh SQLite file, so the demo
customers exist and ``Studio.evaluate`` runs for real on a worker thread
(DESIGN.md section 6: ``qtbot.waitSignal`` on the runner's signal). Expected
sizes are read back independently from the stored memberships. The runner's
own logic (generations, cancellation, failures) is tested with plain
functions standing in for ``evaluate``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF
from pytestqt.qtbot import QtBot

from app.core.commands import AddMilestone, MoveNodes, RenameMilestone, SetCriteria
from app.core.criteria import AudienceDefinition, Clause, EventCriterion
from app.core.graph import JourneyGraph
from app.core.models import JourneyDocument
from app.engine.evaluation import EvaluationResult, stored_members
from app.studio import Studio
from app.ui.canvas import cards
from app.ui.canvas.cards import AudienceFigures, MilestoneCard
from app.ui.canvas.edits import new_milestone
from app.ui.evaluation import EvaluationRunner, EvaluationTask, MembershipKey
from app.ui.main_window import MainWindow

from .conftest import TRIAL
from .demo import DemoStudio, demo_evaluation, demo_state

CALIFORNIA = "jr-california-promo"
WAIT_MS = 15_000


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def evaluating(
    qtbot: QtBot, stored_studio: Studio
) -> Iterator[tuple[MainWindow, EvaluationResult]]:
    """The window on the real studio, once its first evaluation of "Trial to paid" is in."""
    window = MainWindow(stored_studio)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS,
                          check_params_cb=lambda r: r.journey_id == TRIAL) as blocker:
        window.resize(1400, 860)
        window.show()
        qtbot.waitExposed(window)
        assert window.panel.select(TRIAL)
        # The journey is shown and its evaluation requested: before the first result
        # every card says it is calculating.
        assert window.scene.calculating
        for item in window.scene.milestone_items.values():
            assert item.card().size_text == cards.CALCULATING
            assert cards.CALCULATING in item.texts()
    result = blocker.args[0]
    assert isinstance(result, EvaluationResult)
    yield window, result
    window.close()


def sizes_stored(studio: Studio, graph: JourneyGraph) -> dict[str, int]:
    """Milestone id -> members stored by the last evaluation (read independently)."""
    return {m.id: len(stored_members(studio.database, m.id))
            for m in graph.milestones_in_order()}


def card_of(window: MainWindow, milestone_id: str) -> MilestoneCard:
    return window.scene.milestone_items[milestone_id].card()


def event(name: str) -> AudienceDefinition:
    return AudienceDefinition(clauses=(Clause(item=EventCriterion(event_name=name)),))


# --------------------------------------------------------------------------- the window


def test_cards_show_the_sizes_of_the_evaluation(
    evaluating: tuple[MainWindow, EvaluationResult], stored_studio: Studio
) -> None:
    window, result = evaluating
    graph = window.scene.graph
    assert graph is not None and result.journey_id == TRIAL
    expected = sizes_stored(stored_studio, graph)
    assert expected == {m.audience_id: m.size for m in result.milestones}
    assert expected == {"ms-signed-up": 295, "ms-watched": 140, "ms-saved": 82,
                        "ms-converted": 45, "ms-not-saved": 58}
    assert not window.scene.calculating
    for milestone_id, size in expected.items():
        texts = window.scene.milestone_items[milestone_id].texts()
        assert cards.users_text(size) in texts
        assert cards.CALCULATING not in texts
        # A fresh database: everyone joined in this first evaluation.
        assert card_of(window, milestone_id).change_text == f"+{size:,} / \u22120"
    # The tree holds: a child is never bigger than its parent, and a split with
    # Remaining users shares its parent out exactly.
    for milestone in graph.milestones_in_order():
        if milestone.parent_id is not None:
            assert expected[milestone.id] <= expected[milestone.parent_id]
    assert expected["ms-saved"] + expected["ms-not-saved"] == expected["ms-watched"]
    # The journey's population in the header, the inspector and the status bar.
    population = len(stored_members(stored_studio.database, TRIAL))
    assert population == result.population.size == 500
    assert window.header.subtitle.text().endswith(" · 500 people in this journey")
    assert window.inspector.size_label is not None
    assert window.inspector.size_label.text() == "500 people in this journey"
    # Just evaluated: today, so the local time alone.
    assert re.fullmatch(r"Evaluated \d\d:\d\d", window.evaluated_label.text())


def test_an_edit_evaluates_again_and_the_new_card_shows_its_size(
    qtbot: QtBot, evaluating: tuple[MainWindow, EvaluationResult], stored_studio: Studio
) -> None:
    window, first = evaluating
    graph = window.scene.graph
    assert graph is not None
    runner = window.evaluations
    # A second evaluation on unchanged data: nobody joined or left.
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS) as blocker:
        window.reevaluate()
        assert card_of(window, "ms-watched").change_text == cards.CALCULATING
    assert card_of(window, "ms-watched").change_text == cards.NO_CHANGE
    assert "no change" in window.scene.milestone_items["ms-watched"].texts()
    assert blocker.args[0].evaluation_id != first.evaluation_id

    # A milestone after "Converted to paid", through the window's undo controller.
    milestone = new_milestone(graph, window.scene.placement(), "ms-converted",
                              name="Renewed", definition=event("Renew subscription"))
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS) as blocker:
        assert window.run(AddMilestone(graph.id, milestone))
        # Right away: the figures are stale and the new card has none yet.
        assert window.scene.calculating
        new_card = card_of(window, milestone.id)
        assert new_card.size_text == cards.CALCULATING
        old_card = card_of(window, "ms-converted")
        assert old_card.size_text == "45 users" and old_card.change_text == cards.CALCULATING
    result = blocker.args[0]
    size = len(stored_members(stored_studio.database, milestone.id))
    assert result.milestone(milestone.id).size == size <= 45
    assert cards.users_text(size) in window.scene.milestone_items[milestone.id].texts()
    assert not window.scene.calculating
    assert all(cards.CALCULATING not in item.texts()
               for item in window.scene.milestone_items.values())

    # New criteria for "Watched content": everyone who signed up.
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS) as blocker:
        assert window.run(SetCriteria(graph.id, "ms-watched", AudienceDefinition()))
    result = blocker.args[0]
    assert result.milestone("ms-watched").size == 295
    assert card_of(window, "ms-watched").size_text == "295 users"
    assert card_of(window, "ms-watched").change_text == "+155 / \u22120"
    saved, rest = (result.milestone(m).size for m in ("ms-saved", "ms-not-saved"))
    assert saved + rest == 295
    assert card_of(window, "ms-not-saved").size_text == cards.users_text(rest)

    # Undo twice: the milestone goes, the criteria come back, and so do the sizes.
    window.undo()
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS) as blocker:
        window.undo()
    result = blocker.args[0]
    assert milestone.id not in {m.audience_id for m in result.milestones}
    assert milestone.id not in window.scene.milestone_items
    assert card_of(window, "ms-watched").size_text == "140 users"
    assert card_of(window, "ms-watched").change_text == "+0 / \u2212155"


def test_moving_or_renaming_a_milestone_does_not_evaluate_again(
    evaluating: tuple[MainWindow, EvaluationResult],
) -> None:
    window, _ = evaluating
    graph = window.scene.graph
    assert graph is not None
    generation = window.evaluations.generation
    item = window.scene.milestone_items["ms-saved"]
    assert window.run(MoveNodes(graph.id, {("milestone", "ms-saved"):
                                           (item.pos().x() + 40, item.pos().y() + 30)}))
    assert window.run(RenameMilestone(graph.id, "ms-saved", "Saved for later"))
    # Outputs do not change audiences either.
    window.toggle_output("out-trial-crm")
    assert not window.scene.calculating
    assert not window.evaluations.is_calculating(TRIAL)
    assert window.evaluations.generation == generation
    assert card_of(window, "ms-saved").size_text == "82 users"


def test_switching_journeys_shows_the_other_journeys_sizes(
    qtbot: QtBot, evaluating: tuple[MainWindow, EvaluationResult], stored_studio: Studio
) -> None:
    window, _ = evaluating
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS) as blocker:
        assert window.panel.select(CALIFORNIA)
        assert card_of(window, "ms-california").size_text == cards.CALCULATING
    assert blocker.args[0].journey_id == CALIFORNIA
    california = len(stored_members(stored_studio.database, "ms-california"))
    assert card_of(window, "ms-california").size_text == cards.users_text(california)
    # Back: the last figures of "Trial to paid" show at once while it is recalculated.
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS):
        assert window.panel.select(TRIAL)
        assert card_of(window, "ms-watched").size_text == "140 users"
        assert card_of(window, "ms-watched").change_text == cards.CALCULATING


def test_the_inspector_shows_a_milestones_size_and_changes(
    evaluating: tuple[MainWindow, EvaluationResult],
) -> None:
    window, _ = evaluating
    window.scene.select_node("milestone", "ms-saved")
    assert window.inspector.shown == ("milestone", "ms-saved")
    assert window.inspector.size_label is not None and window.inspector.change_label is not None
    assert window.inspector.size_label.text() == "82 users"
    assert "+82</span> joined" in window.inspector.change_label.text()
    name_field = window.inspector.name_field
    # New figures update the labels in place; the name field (maybe being typed in) stays.
    window.scene.set_figures(TRIAL, AudienceFigures(500),
                             {"ms-saved": AudienceFigures(90, 10, 2)})
    assert window.inspector.name_field is name_field
    assert window.inspector.size_label.text() == "90 users"
    assert "\u22122</span> left" in window.inspector.change_label.text()


# --------------------------------------------------------------------------- failures


class FailingStudio(DemoStudio):
    def evaluate(self, document: JourneyDocument, as_of: object = None) -> EvaluationResult:
        raise RuntimeError("the events table is locked")


def test_a_failed_evaluation_shows_in_the_banner(qtbot: QtBot) -> None:
    window = MainWindow(FailingStudio())
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.evaluations.failed, timeout=WAIT_MS) as blocker:
        window.show()
    assert blocker.args == ["the events table is locked"]
    assert window.banner.isVisible() and window.banner.level == "error"
    assert "the events table is locked" in window.banner.text()
    assert not window.scene.calculating
    card = card_of(window, "ms-watched")
    assert card.size_text == cards.NOT_CALCULATED and card.change_text == ""
    # Retry asks again (and fails again, the same way).
    with qtbot.waitSignal(window.evaluations.failed, timeout=WAIT_MS):
        window.banner.action_button.click()
        assert window.scene.calculating


class ReadOnlyStudio(DemoStudio):
    evaluate = None  # type: ignore[assignment]


def test_a_studio_that_cannot_evaluate_calculates_nothing(qtbot: QtBot) -> None:
    window = MainWindow(ReadOnlyStudio())
    qtbot.addWidget(window)
    assert not window.evaluations.enabled
    assert not window.scene.calculating
    assert card_of(window, "ms-watched").size_text == cards.NOT_CALCULATED
    assert card_of(window, "ms-watched").texts()[:4] == (
        "MILESTONE", "Watched content", card_of(window, "ms-watched").summary, "Inactive")


# --------------------------------------------------------------------------- the runner


def trial_document() -> JourneyDocument:
    return demo_state().journey(TRIAL).document()


def test_a_superseded_result_is_dropped(qtbot: QtBot) -> None:
    runner = EvaluationRunner(demo_evaluation)
    document = trial_document()
    old = demo_evaluation(document)
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS) as blocker:
        first = runner.start(document)
        second = runner.start(document)
    assert second == first + 1
    assert blocker.args[0].journey_id == TRIAL
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=WAIT_MS)
    figures = runner.figures(TRIAL)
    assert figures is not None and figures.milestone("ms-watched") == AudienceFigures(6905,
                                                                                      128, 77)
    # A late result of the first request: dropped, whatever it says.
    fake = EvaluationResult(old.evaluation_id, TRIAL, old.as_of, old.evaluated_at,
                            old.population, tuple(m.__class__(m.audience_id, m.name,
                                                              m.parent_id, 1, 0, 0)
                                                  for m in old.milestones))
    assert not runner.apply(TRIAL, first, fake)
    assert runner.figures(TRIAL) is figures
    # The current generation applies.
    assert runner.apply(TRIAL, second, fake)
    current = runner.figures(TRIAL)
    assert current is not None and current.milestone("ms-watched") == AudienceFigures(1)
    runner.shutdown()


def test_only_the_last_of_quick_requests_runs_and_applies(qtbot: QtBot) -> None:
    release = threading.Event()
    calls: list[int] = []

    def slow(document: JourneyDocument) -> EvaluationResult:
        calls.append(len(document.milestones))
        release.wait(WAIT_MS / 1000)
        return demo_evaluation(document)

    runner = EvaluationRunner(slow)
    applied: list[EvaluationResult] = []
    runner.finished.connect(applied.append)
    document = trial_document()
    shorter = document.model_copy(update={"milestones": document.milestones[:2],
                                          "outputs": ()})
    first = runner.start(document)  # starts on the single worker and blocks
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=WAIT_MS)
    runner.start(document)  # queued, then superseded before it starts
    last = runner.start(shorter)
    assert runner.is_calculating(TRIAL)
    release.set()
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=WAIT_MS)
    # The second task saw its cancel flag and never evaluated; the first ran but was
    # superseded; only the last applied.
    assert calls == [5, 2]
    assert [len(r.milestones) for r in applied] == [2]
    assert last == first + 2
    assert not runner.is_calculating(TRIAL)
    runner.shutdown()


def test_requests_are_debounced(qtbot: QtBot) -> None:
    graph = demo_state().journey(TRIAL)
    calls: list[str] = []

    def evaluate(document: JourneyDocument) -> EvaluationResult:
        calls.append(document.journey.id)
        return demo_evaluation(document)

    runner = EvaluationRunner(evaluate, delay_ms=50)
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS):
        runner.watch(graph)  # requested on show
        for _ in range(5):
            runner.request(TRIAL)
        assert runner.is_calculating(TRIAL)
    qtbot.wait(120)
    assert calls == [TRIAL]
    # An edit of the criteria asks again; a move does not.
    graph.set_position("milestone", "ms-saved", 500.0, 500.0)
    assert not runner.is_calculating(TRIAL)
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS):
        graph.set_definition("ms-saved", event("Save"))
        assert runner.is_calculating(TRIAL)
    assert calls == [TRIAL, TRIAL]
    runner.shutdown()
    assert not runner.enabled


def test_a_cancelled_task_does_nothing() -> None:
    calls: list[str] = []
    task = EvaluationTask(lambda d: calls.append(d.journey.id),  # type: ignore[arg-type,return-value]
                          trial_document(), 7)
    skipped: list[tuple[str, int]] = []
    task.signals.skipped.connect(lambda j, g: skipped.append((j, g)))
    task.cancel()
    task.run()  # on this thread: the work function itself
    assert calls == [] and skipped == [(TRIAL, 7)] and task.returned


def test_membership_key_ignores_names_and_positions() -> None:
    graph = demo_state().journey(TRIAL)
    key = MembershipKey.of(graph)
    graph.rename_milestone("ms-saved", "Kept for later")
    graph.set_position("milestone", "ms-saved", 10.0, 20.0)
    assert MembershipKey.of(graph) == key and key.same_milestone(graph, "ms-saved")
    graph.set_definition("ms-saved", event("Keep"))
    assert MembershipKey.of(graph) != key and not key.same_milestone(graph, "ms-saved")


# --------------------------------------------------------------------------- cards


def test_figure_texts() -> None:
    assert cards.users_text(1) == "1 user"
    assert cards.users_text(1234) == "1,234 users"
    assert cards.people_text(1) == "1 person"
    assert AudienceFigures(10, 12, 3).change_text == "+12 / \u22123"
    assert AudienceFigures(10).change_text == "no change"

    def card(figures: AudienceFigures | None = None, calculating: bool = False
             ) -> MilestoneCard:
        return MilestoneCard("MILESTONE", "A", "S", False, False, figures, calculating)

    assert card(AudienceFigures(5, 1, 0), True).texts()[4:] == ("5 users", cards.CALCULATING)
    assert card(calculating=True).texts()[4:] == (cards.CALCULATING,)
    assert card().texts()[4:] == (cards.NOT_CALCULATED,)
    assert card(AudienceFigures(5)).texts()[4:] == ("5 users", "no change")
    assert "1 joined, 0 left" in card(AudienceFigures(5, 1)).tooltip()


def test_calculating_cards_are_painted(qtbot: QtBot, artifacts_dir: Path) -> None:
    """The card while its size is calculated, for a person to look at."""
    window = MainWindow(DemoStudio())
    qtbot.addWidget(window)
    window.resize(1400, 820)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS):
        pass
    graph = window.scene.graph
    assert graph is not None
    milestone = new_milestone(graph, window.scene.placement(), "ms-converted",
                              name="Renewed", definition=event("Renew"))
    assert window.run(AddMilestone(graph.id, milestone))
    window.view.centerOn(QPointF(window.scene.milestone_items["ms-converted"].pos()))
    assert window.scene.calculating
    pixmap = window.view.grab()
    assert pixmap.save(str(artifacts_dir / "calculating-cards.png"))
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS):
        pass
    assert card_of(window, milestone.id).size_text == "401 users"  # 1,204 // 3
