"""The funnel arithmetic: step conversion, drop-off and the path from the journey start."""

from __future__ import annotations

import pytest

from app.core import funnel
from app.core.graph import JourneyGraph
from app.core.models import Journey, JourneyDocument, Milestone


def chain() -> JourneyGraph:
    """start → signed up → watched → {saved, not saved (remaining)}."""
    return JourneyGraph.from_document(JourneyDocument(
        journey=Journey(id="jr-1", name="Trial"),
        milestones=(
            Milestone(id="ms-a", name="Signed up"),
            Milestone(id="ms-b", name="Watched", parent_id="ms-a"),
            Milestone(id="ms-c", name="Saved", parent_id="ms-b"),
            Milestone(id="ms-d", name="Not saved", parent_id="ms-b", remaining=True),
        )))


def test_conversion_and_drop_off_of_a_step() -> None:
    assert funnel.conversion(62, 100) == pytest.approx(0.62)
    assert funnel.dropped(62, 100) == 38
    assert funnel.drop_off(62, 100) == pytest.approx(0.38)
    assert funnel.edge_text(62, 100) == "62% \u00b7 \u221238"
    assert funnel.edge_text(1_200, 4_000) == "30% \u00b7 \u22122,800"


def test_the_root_has_no_conversion_and_drops_nobody() -> None:
    assert funnel.conversion(500, None) is None
    assert funnel.dropped(500, None) == 0
    assert funnel.drop_off(500, None) is None


def test_an_empty_parent_has_no_conversion_rather_than_a_division_by_zero() -> None:
    assert funnel.conversion(0, 0) is None
    assert funnel.dropped(0, 0) == 0
    assert funnel.drop_off(0, 0) is None
    assert funnel.edge_text(0, 0) == "\u2013 \u00b7 \u22120"
    assert funnel.percent_text(None) == "\u2013"


def test_an_empty_step_under_a_full_parent_loses_everyone() -> None:
    assert funnel.conversion(0, 40) == 0.0
    assert funnel.dropped(0, 40) == 40
    assert funnel.drop_off(0, 40) == 1.0


def test_a_child_briefly_bigger_than_its_parent_never_shows_a_negative_drop() -> None:
    assert funnel.dropped(12, 10) == 0
    assert funnel.drop_off(12, 10) == 0.0


def test_small_steps_keep_a_decimal_on_the_canvas() -> None:
    assert funnel.short_percent_text(0.042) == "4.2%"
    assert funnel.short_percent_text(0.0) == "0%"
    assert funnel.short_percent_text(0.05) == "5%"
    assert funnel.short_percent_text(0.476) == "48%"
    assert funnel.percent_text(0.476) == "47.6%"


def test_the_path_runs_from_the_journey_start_to_the_milestone() -> None:
    graph = chain()
    assert funnel.path_ids(graph, "ms-d") == ["ms-a", "ms-b", "ms-d"]
    assert funnel.path_ids(graph, "ms-a") == ["ms-a"]


def test_path_funnel_steps() -> None:
    graph = chain()
    sizes = {"ms-a": 295, "ms-b": 140, "ms-c": 82, "ms-d": 58}
    steps = funnel.path_funnel(graph, "ms-c", 500, sizes)
    assert steps is not None
    assert [(s.milestone_id, s.name, s.size, s.parent_size) for s in steps] == [
        (None, funnel.JOURNEY_START, 500, None),
        ("ms-a", "Signed up", 295, 500),
        ("ms-b", "Watched", 140, 295),
        ("ms-c", "Saved", 82, 140),
    ]
    assert [s.dropped for s in steps] == [0, 205, 155, 58]
    assert steps[3].conversion == pytest.approx(82 / 140)
    assert funnel.overall_conversion(steps[3], 500) == pytest.approx(82 / 500)


def test_a_milestone_without_a_size_yet_gives_no_funnel() -> None:
    assert funnel.path_funnel(chain(), "ms-c", 500, {"ms-a": 295, "ms-c": 82}) is None


def test_funnel_csv_is_exact() -> None:
    graph = chain()
    steps = funnel.path_funnel(graph, "ms-b", 500, {"ms-a": 295, "ms-b": 0})
    assert steps is not None
    assert funnel.funnel_csv(steps) == (
        "step,milestone,size,conversion_percent,dropped,drop_off_percent,of_journey_percent\n"
        "0,Journey start,500,,,,100.00\n"
        "1,Signed up,295,59.00,205,41.00,59.00\n"
        "2,Watched,0,0.00,295,100.00,0.00\n"
    )


def test_funnel_csv_of_an_empty_journey() -> None:
    steps = funnel.path_funnel(chain(), "ms-a", 0, {"ms-a": 0})
    assert steps is not None
    assert funnel.funnel_csv(steps).splitlines()[1:] == [
        "0,Journey start,0,,,,", "1,Signed up,0,,0,,"]
