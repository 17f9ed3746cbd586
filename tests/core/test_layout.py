"""The automatic layout: paths read left to right, splits fan out, nothing overlaps."""

from __future__ import annotations

import random

from app.core.graph import JourneyGraph
from app.core.layout import (
    COLUMN_GAP,
    NODE_HEIGHT,
    NODE_WIDTH,
    OUTPUT_HEIGHT,
    auto_layout,
    column_x,
)
from app.core.models import Journey, Milestone, Output


def _rectangles(graph: JourneyGraph) -> list[tuple[str, float, float, float, float]]:
    layout = auto_layout(graph)
    boxes = [(m, x, y, x + NODE_WIDTH, y + NODE_HEIGHT) for m, (x, y) in layout.milestones.items()]
    boxes += [(o, x, y, x + NODE_WIDTH, y + OUTPUT_HEIGHT) for o, (x, y) in layout.outputs.items()]
    return boxes


def test_a_path_is_one_straight_line_and_a_split_fans_out_below() -> None:
    graph = JourneyGraph(Journey(name="Funnel"))
    first = graph.add_milestone(Milestone(name="Signed up"))
    second = graph.add_milestone(Milestone(name="Watched", parent_id=first.id))
    upper = graph.add_milestone(Milestone(name="Saved", parent_id=second.id))
    lower = graph.add_milestone(Milestone(name="Other", parent_id=second.id))
    graph.add_output(Output(id="o1", milestone_id=first.id, connection_id="c"))
    layout = auto_layout(graph).milestones
    assert layout[first.id] == (column_x(0), 0.0)
    assert layout[second.id] == (column_x(1), 0.0)
    assert layout[upper.id] == (column_x(2), 0.0)
    assert layout[lower.id][0] == column_x(2) and layout[lower.id][1] > NODE_HEIGHT


def test_no_two_nodes_overlap_in_random_journeys() -> None:
    rnd = random.Random(7)
    for _ in range(30):
        graph = JourneyGraph(Journey(name="Random"))
        parents: list[str | None] = [None]
        for i in range(25):
            milestone = graph.add_milestone(Milestone(name=f"m{i}", parent_id=rnd.choice(parents)))
            parents.append(milestone.id)
            for k in range(rnd.choice((0, 0, 1, 2))):
                graph.add_output(Output(id=f"o{i}-{k}", milestone_id=milestone.id,
                                        connection_id=f"c{k}"))
        boxes = _rectangles(graph)
        for index, (a, ax1, ay1, ax2, ay2) in enumerate(boxes):
            for b, bx1, by1, bx2, by2 in boxes[index + 1:]:
                overlap = ax1 < bx2 and bx1 < ax2 and ay1 < by2 and by1 < ay2
                assert not overlap, (a, b)


def test_a_very_long_path_lays_out() -> None:
    graph = JourneyGraph(Journey(name="Long"))
    parent: str | None = None
    for i in range(3000):
        parent = graph.add_milestone(Milestone(name=f"step {i}", parent_id=parent)).id
    layout = auto_layout(graph).milestones
    assert layout[parent] == (column_x(2999), 0.0)


def test_a_wide_card_pushes_the_next_column_right_and_nothing_overlaps() -> None:
    graph = JourneyGraph(Journey(name="Wide"))
    first = graph.add_milestone(Milestone(name="A long milestone name"))
    second = graph.add_milestone(Milestone(name="Next", parent_id=first.id))
    graph.add_output(Output(id="wide-output", milestone_id=second.id, connection_id="c"))
    third = graph.add_milestone(Milestone(name="Last", parent_id=second.id))
    widths = {first.id: NODE_WIDTH + 60.0, "wide-output": NODE_WIDTH + 40.0}
    layout = auto_layout(graph, widths).milestones
    plain = auto_layout(graph).milestones
    assert layout[first.id] == plain[first.id]
    assert layout[second.id][0] == plain[second.id][0] + 60.0
    # the third column starts after the widest card of the second: its output
    assert layout[third.id][0] == layout[second.id][0] + NODE_WIDTH + 40.0 + COLUMN_GAP


def test_a_document_is_laid_out_by_the_core_for_the_canvas_and_the_demo_alike() -> None:
    """One home for placing a whole journey document: the canvas (new journeys, the
    benchmark) and the demo account use app.core.layout.laid_out, not copies of it."""
    from app.core.layout import laid_out
    from app.ingest import demo_account

    graph = JourneyGraph(Journey(name="Funnel"))
    first = graph.add_milestone(Milestone(name="Signed up"))
    graph.add_milestone(Milestone(name="Watched", parent_id=first.id))
    graph.add_output(Output(milestone_id=first.id, connection_id="cn"))
    document = graph.document()

    placed = laid_out(document)

    layout = auto_layout(JourneyGraph.from_document(document))
    assert {m.id: (m.x, m.y) for m in placed.milestones} == layout.milestones
    assert {o.id: (o.x, o.y) for o in placed.outputs} == layout.outputs
    assert placed.journey == document.journey
    for journey in demo_account.demo_account().journeys:
        assert laid_out(journey) == journey  # placed by it already
    assert not hasattr(demo_account, "_laid_out")
