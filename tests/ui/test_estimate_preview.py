"""The milestone editor's live size preview (issue 4).

The dialog tests run on a real Studio over a fresh SQLite file (the demo
customers exist) and compare what the dialog shows with ``Studio.estimate``
called independently on the main thread. The preview's own logic (debounce,
generations, no request for invalid criteria) is tested with plain functions
standing in for ``estimate``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.commands import SetJourneyExclusive
from app.core.criteria import AudienceDefinition, Clause, EventCriterion
from app.core.graph import JourneyGraph
from app.core.models import JourneyDocument, Milestone
from app.engine.estimates import AudienceEstimate, Estimate
from app.studio import Studio
from app.ui import theme
from app.ui.criteria_editor import EventEditor
from app.ui.dialogs import MilestoneDialog
from app.ui.main_window import MainWindow
from app.ui.preview import (
    DEBOUNCE_MS,
    EstimatePreview,
    PreviewRequest,
    audience_sentence,
    criterion_text,
    estimator_of,
)

from .conftest import TRIAL
from .demo import DEMO_CRITERION_ESTIMATES, DEMO_ESTIMATE, DemoStudio, demo_estimate

WATCHED = "ms-watched"
SIGNED_UP = "ms-signed-up"
WAIT_MS = 15_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "_artifacts"


def event_editor(dialog: MilestoneDialog, row: int = 0) -> EventEditor:
    editor = dialog.criteria.rows[row].editors["event"]
    assert isinstance(editor, EventEditor)
    return editor


def with_event_name(milestone: Milestone, name: str) -> Milestone:
    clause = milestone.definition.clauses[0]
    assert isinstance(clause.item, EventCriterion)
    item = clause.item.model_copy(update={"event_name": name})
    definition = AudienceDefinition(clauses=(clause.model_copy(update={"item": item}),))
    return milestone.model_copy(update={"definition": definition})


# --------------------------------------------------------------------------- real studio


def test_editor_previews_the_audience_and_each_criterion(
    qtbot: QtBot, stored_studio: Studio
) -> None:
    graph = stored_studio.state.journey(TRIAL)
    watched = graph.milestone(WATCHED)
    expected = stored_studio.estimate(graph.document(), watched)
    assert expected.audience.size and not expected.audience.approximate  # ~500 customers

    dialog = MilestoneDialog(graph, milestone_id=WATCHED, estimate=stored_studio.estimate)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.preview.estimated, timeout=WAIT_MS):
        dialog.show()
        assert dialog.estimate_figure.text() == "Calculating…"
    assert dialog.estimate_figure.text() == expected.audience.text
    assert dialog.estimate_caption.text() == "users match"
    row = dialog.criteria.rows[0]
    assert row.count.isVisible()
    assert row.count.text() == f"{expected.criteria[0].text} users"

    # Another event name: the preview follows, debounced, with the new figures.
    saved = with_event_name(watched, "Save for later")
    updated = stored_studio.estimate(graph.document(), saved)
    assert updated.audience != expected.audience  # the demo data tells them apart
    name_field = event_editor(dialog).event_name
    with qtbot.waitSignal(dialog.preview.estimated, timeout=WAIT_MS) as blocker:
        name_field.selectAll()
        QTest.keyClicks(name_field, "Save for later")
        assert dialog.estimate_figure.text() == "Calculating…"
        assert row.count.text() == "…"
    assert blocker.args[0] == updated
    assert dialog.estimate_figure.text() == updated.audience.text
    assert row.count.text() == f"{updated.criteria[0].text} users"
    dialog.reject()


def test_new_milestone_is_previewed_under_its_parent(qtbot: QtBot, stored_studio: Studio) -> None:
    """A new milestone gets a fresh id and the parent; its estimate matches the studio's."""
    graph = stored_studio.state.journey(TRIAL)
    dialog = MilestoneDialog(graph, parent_id=WATCHED, estimate=stored_studio.estimate)
    qtbot.addWidget(dialog)
    assert dialog.preview_id not in {m.id for m in graph.milestones_in_order()}
    with qtbot.waitSignal(dialog.preview.estimated, timeout=WAIT_MS):
        dialog.show()
    # No criteria yet: everyone in "Watched content" that "Saved content for later"
    # (the split's earlier sibling) does not take.
    empty = dialog.preview_milestone()
    assert empty is not None and empty.definition.is_empty
    whole = stored_studio.estimate(graph.document(), empty)
    assert dialog.estimate_figure.text() == whole.audience.text
    watched = stored_studio.estimate(graph.document(), graph.milestone(WATCHED)).audience
    saved = stored_studio.estimate(graph.document(), graph.milestone("ms-saved")).audience
    assert whole.audience.size == watched.size - saved.size  # type: ignore[operator]
    QTest.mouseClick(dialog.criteria.add_button, Qt.MouseButton.LeftButton)
    assert dialog.estimate_figure.text() == "—"  # a custom event needs a name
    with qtbot.waitSignal(dialog.preview.estimated, timeout=WAIT_MS):
        QTest.keyClicks(event_editor(dialog).event_name, "Save for later")
    milestone = dialog.preview_milestone()
    assert milestone is not None and milestone.id == dialog.preview_id
    assert milestone.parent_id == WATCHED
    expected = stored_studio.estimate(graph.document(), milestone)
    assert dialog.estimate_figure.text() == expected.audience.text
    assert dialog.criteria.rows[0].count.text() == f"{expected.criteria[0].text} users"
    dialog.reject()


def test_window_wires_the_studio_into_the_editor(qtbot: QtBot, stored_studio: Studio) -> None:
    window = MainWindow(stored_studio)
    qtbot.addWidget(window)
    window.resize(1320, 820)
    window.show()
    assert window.panel.select(TRIAL)
    window.edit_milestone(WATCHED)
    dialog = window.active_dialog
    assert isinstance(dialog, MilestoneDialog) and dialog.preview.enabled
    qtbot.waitUntil(lambda: dialog.preview.result is not None, timeout=WAIT_MS)
    graph = stored_studio.state.journey(TRIAL)
    expected = stored_studio.estimate(graph.document(), graph.milestone(WATCHED))
    assert dialog.estimate_figure.text() == expected.audience.text
    dialog.reject()
    window.evaluations.shutdown()


@pytest.mark.screenshot
@pytest.mark.parametrize("palette", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
def test_screenshot_of_the_preview(qtbot: QtBot, stored_studio: Studio, qapp: QApplication,
                                   palette: theme.Theme) -> None:
    theme.apply_theme(qapp, palette)
    graph = stored_studio.state.journey(TRIAL)
    dialog = MilestoneDialog(graph, milestone_id=WATCHED, estimate=stored_studio.estimate)
    qtbot.addWidget(dialog)
    row = dialog.criteria.add_row()
    with qtbot.waitSignal(dialog.preview.estimated, timeout=WAIT_MS):
        dialog.show()
        qtbot.waitExposed(dialog)
        row.join.setCurrentIndex(row.join.findData("exclude"))
        QTest.keyClicks(event_editor(dialog, 1).event_name, "Save for later")
    assert all(r.count.text().endswith("users") for r in dialog.criteria.rows)
    qtbot.wait(20)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"milestone-preview-{palette.name}.png"
    assert dialog.grab().save(str(path))
    dialog.reject()


# --------------------------------------------------------------------------- stand-ins


def test_invalid_criteria_show_a_dash_and_start_no_task(qtbot: QtBot) -> None:
    studio = DemoStudio()
    calls: list[Milestone] = []

    def estimate(document: JourneyDocument, milestone: Milestone) -> AudienceEstimate:
        calls.append(milestone)
        return demo_estimate(milestone)

    graph = studio.state.journey(TRIAL)
    dialog = MilestoneDialog(graph, milestone_id=WATCHED, estimate=estimate)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.preview.estimated, timeout=WAIT_MS):
        dialog.show()
    assert dialog.estimate_figure.text() == f"{DEMO_ESTIMATE:,}"
    assert dialog.criteria.rows[0].count.text() == f"{DEMO_CRITERION_ESTIMATES[0]:,} users"
    assert len(calls) == 1

    event_editor(dialog).event_name.clear()  # a custom event needs a name
    assert dialog.criteria.rows[0].error.isVisible()
    assert dialog.estimate_figure.text() == "—"
    assert dialog.criteria.rows[0].count.text() == "—"
    assert not dialog.preview.is_pending() and not dialog.preview.is_running()
    qtbot.wait(DEBOUNCE_MS + 150)
    assert len(calls) == 1 and dialog.estimate_figure.text() == "—"

    # Renaming alone changes no one's membership: no new estimate.
    QTest.keyClicks(event_editor(dialog).event_name, "Watch content")
    with qtbot.waitSignal(dialog.preview.estimated, timeout=WAIT_MS):
        pass
    assert len(calls) == 2
    QTest.keyClicks(dialog.name, " again")
    assert not dialog.preview.is_pending()
    assert dialog.estimate_figure.text() == f"{DEMO_ESTIMATE:,}"
    dialog.reject()


def test_remaining_users_show_only_the_audience(qtbot: QtBot) -> None:
    studio = DemoStudio()
    graph = studio.state.journey(TRIAL)
    dialog = MilestoneDialog(graph, milestone_id="ms-not-saved",
                             estimate=estimator_of(studio))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.preview.estimated, timeout=WAIT_MS) as blocker:
        dialog.show()
    assert blocker.args[0].criteria == ()
    assert dialog.estimate_figure.text() == f"{DEMO_ESTIMATE:,}"
    assert dialog.estimate_panel.isVisible() and not dialog.criteria.rows
    dialog.reject()


def test_no_preview_without_estimate(qtbot: QtBot) -> None:
    class Plain:
        pass

    assert estimator_of(Plain()) is None
    graph = DemoStudio().state.journey(TRIAL)
    dialog = MilestoneDialog(graph, milestone_id=WATCHED)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.preview.enabled and not dialog.estimate_panel.isVisible()
    QTest.keyClicks(event_editor(dialog).event_name, "s")
    assert not dialog.preview.is_pending() and not dialog.preview.is_running()
    dialog.reject()


def _request(graph: JourneyGraph, name: str) -> PreviewRequest:
    return PreviewRequest(graph.document(), with_event_name(graph.milestone(WATCHED), name))


def test_a_stale_generation_is_dropped(qtbot: QtBot) -> None:
    """The first estimate is still running when the criteria change: its result,
    arriving after, is dropped; only the second one is shown."""
    graph = DemoStudio().state.journey(TRIAL)
    release = threading.Event()
    started = threading.Event()

    def estimate(document: JourneyDocument, milestone: Milestone) -> AudienceEstimate:
        name = milestone.definition.clauses[0].item.event_name  # type: ignore[union-attr]
        if name == "first":
            started.set()
            release.wait(WAIT_MS / 1000)
            return AudienceEstimate(Estimate(1), (Estimate(1),), 1)
        return AudienceEstimate(Estimate(2), (Estimate(2),), 1)

    preview = EstimatePreview(estimate)
    shown: list[AudienceEstimate] = []
    preview.estimated.connect(shown.append)
    dropped: list[bool] = []
    preview.request(_request(graph, "first"))
    preview.run_now()
    first = preview.generation
    assert started.wait(5)
    first_task = preview._tasks[first]
    first_task.signals.finished.connect(
        lambda key, generation, result: dropped.append(generation == first))
    preview.request(_request(graph, "second"))
    assert preview.generation > first
    with qtbot.waitSignal(preview.estimated, timeout=WAIT_MS):
        preview.run_now()
        release.set()
    qtbot.waitUntil(lambda: bool(dropped), timeout=WAIT_MS)
    assert [e.audience.size for e in shown] == [2]
    assert preview.result is not None and preview.result.audience.size == 2
    assert not preview.apply("preview", first, AudienceEstimate(Estimate(1), (), 1))
    preview.shutdown()


def test_wording_of_the_figures() -> None:
    assert audience_sentence(Estimate(1_234)) == ("1,234", "users match")
    assert audience_sentence(Estimate(1)) == ("1", "user matches")
    assert audience_sentence(Estimate(12_000, approximate=True)) == (
        "≈ 12,000", "users, estimated from a sample")
    figure, _ = audience_sentence(Estimate(None, approximate=True, too_small=True))
    assert figure == "Too few users to estimate"
    assert criterion_text(Estimate(140)) == "140 users"
    assert criterion_text(Estimate(1_200, approximate=True)) == "≈ 1,200 users"
    assert criterion_text(Estimate(None, approximate=True, too_small=True)) == \
        "too few to estimate"


def test_new_sibling_is_placed_in_its_split(qtbot: QtBot) -> None:
    """``add_beside``: the preview puts the new milestone at its index, so the earlier
    siblings are taken first, as they would be once it is added."""
    from app.ui.preview import placed

    graph = DemoStudio().state.journey(TRIAL)
    new = Milestone(name="Beside", parent_id=WATCHED,
                    definition=AudienceDefinition(clauses=(Clause(item=EventCriterion(
                        event_name="Rate content")),)))
    document = placed(PreviewRequest(graph.document(), new, index=0))
    siblings = [m.id for m in document.milestones if m.parent_id == WATCHED]
    assert siblings[0] == new.id
    assert placed(PreviewRequest(graph.document(), new)) == graph.document()


def test_under_an_exclusive_journey_the_preview_is_the_audience_the_evaluation_keeps(
    qtbot: QtBot, stored_studio: Studio
) -> None:
    """With "users leave earlier milestones" on, "Signed up for trial" loses those who
    went on to "Watched content": the preview says the size the evaluation will give."""
    stored_studio.execute(SetJourneyExclusive(TRIAL, True))
    graph = stored_studio.state.journey(TRIAL)
    evaluated = stored_studio.evaluate(graph.document(), store=False)
    kept = evaluated.milestone(SIGNED_UP).size
    assert 0 < kept < evaluated.population.size

    dialog = MilestoneDialog(graph, milestone_id=SIGNED_UP, estimate=stored_studio.estimate)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.preview.estimated, timeout=WAIT_MS):
        dialog.show()
    assert dialog.estimate_figure.text() == f"{kept:,}"
    dialog.reject()
