"""Automatic left-to-right layered layout of a journey, as plain coordinates.

Milestones sit in columns by depth; each subtree gets a vertical band tall
enough for its own node, its outputs and all its descendants. A milestone sits
at the top of its band, level with its first child, so a path reads as one
straight line and a split fans out downwards. Outputs hang under their milestone. The canvas uses
these positions for new journeys and on "tidy up"; positions a person set by
hand stay on the model.

Cards are at least :data:`NODE_WIDTH` wide and grow with their text (the canvas measures
it), so the layout takes the drawn widths when it has them: each column is as wide as its
widest card, and the next column starts a gap after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.core.graph import JourneyGraph
from app.core.models import JourneyDocument

NODE_WIDTH = 232.0
NODE_HEIGHT = 96.0
OUTPUT_HEIGHT = 44.0
OUTPUT_GAP = 10.0
COLUMN_GAP = 96.0
ROW_GAP = 36.0
INPUT_COLUMN_X = -(NODE_WIDTH + COLUMN_GAP)


@dataclass(frozen=True)
class Layout:
    """Top-left corners of every milestone and output, by id."""

    milestones: dict[str, tuple[float, float]]
    outputs: dict[str, tuple[float, float]]


def column_x(depth: int) -> float:
    """Where column ``depth`` starts when every card has the default width."""
    return depth * (NODE_WIDTH + COLUMN_GAP)


def _column_starts(graph: JourneyGraph, depths: Mapping[str, int],
                   widths: Mapping[str, float]) -> list[float]:
    """The x of each column: after the widest card (milestone or output) of the one before."""
    if not depths:
        return []
    span = [NODE_WIDTH] * (max(depths.values()) + 1)
    for milestone_id, depth in depths.items():
        span[depth] = max(span[depth], widths.get(milestone_id, NODE_WIDTH))
        for output in graph.outputs_of(milestone_id):
            span[depth] = max(span[depth], widths.get(output.id, NODE_WIDTH))
    starts = [0.0]
    for width in span[:-1]:
        starts.append(starts[-1] + width + COLUMN_GAP)
    return starts


def _own_height(graph: JourneyGraph, milestone_id: str) -> float:
    outputs = len(graph.outputs_of(milestone_id))
    return NODE_HEIGHT + outputs * (OUTPUT_HEIGHT + OUTPUT_GAP)


def auto_layout(graph: JourneyGraph, widths: Mapping[str, float] | None = None) -> Layout:
    """Positions for every node of ``graph`` (it is not modified).

    ``widths`` are the drawn widths of cards by milestone or output id (the canvas
    measures their text); a card not in it is :data:`NODE_WIDTH` wide.

    Passes without recursion, so a path thousands of milestones long lays out
    as well as a short one: band heights bottom-up, then depths and places top-down.
    """
    order = [m.id for m in graph.milestones_in_order()]  # parents before children
    children = {mid: [c.id for c in graph.children(mid)] for mid in order}
    heights: dict[str, float] = {}
    for milestone_id in reversed(order):
        kids = children[milestone_id]
        below = sum(heights[c] for c in kids) + ROW_GAP * max(0, len(kids) - 1)
        heights[milestone_id] = max(_own_height(graph, milestone_id), below)

    tops: dict[str, tuple[int, float]] = {}
    cursor = 0.0
    for top_level in graph.children(None):
        tops[top_level.id] = (0, cursor)
        cursor += heights[top_level.id] + ROW_GAP

    depths: dict[str, int] = {}
    for milestone_id in order:
        parent_id = graph.milestone(milestone_id).parent_id
        depths[milestone_id] = 0 if parent_id is None else depths[parent_id] + 1
    starts = _column_starts(graph, depths, widths or {})

    milestones: dict[str, tuple[float, float]] = {}
    outputs: dict[str, tuple[float, float]] = {}
    for milestone_id in order:
        depth, top = tops[milestone_id]
        x = starts[depth]
        milestones[milestone_id] = (x, top)
        for index, output in enumerate(graph.outputs_of(milestone_id)):
            outputs[output.id] = (
                x + 24.0,
                top + NODE_HEIGHT + OUTPUT_GAP + index * (OUTPUT_HEIGHT + OUTPUT_GAP),
            )
        child_top = top
        for child in children[milestone_id]:
            tops[child] = (depth + 1, child_top)
            child_top += heights[child] + ROW_GAP
    return Layout(milestones, outputs)


def laid_out(document: JourneyDocument) -> JourneyDocument:
    """``document`` with every milestone and output at its automatic place (a new
    journey's, the demo account's)."""
    layout = auto_layout(JourneyGraph.from_document(document))
    milestones = tuple(
        m.model_copy(update=dict(zip(("x", "y"), layout.milestones[m.id], strict=True)))
        for m in document.milestones
    )
    outputs = tuple(
        o.model_copy(update=dict(zip(("x", "y"), layout.outputs[o.id], strict=True)))
        for o in document.outputs
    )
    return document.model_copy(update={"milestones": milestones, "outputs": outputs})


def input_positions(count: int, journey_height: float) -> list[tuple[float, float]]:
    """Input nodes stacked in the column left of the first milestones, centred."""
    step = NODE_HEIGHT * 0.6 + ROW_GAP / 2
    total = count * step - ROW_GAP / 2
    top = max(0.0, (journey_height - total) / 2)
    return [(INPUT_COLUMN_X, top + i * step) for i in range(count)]
