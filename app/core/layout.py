"""Automatic left-to-right layered layout of a journey, as plain coordinates.

Milestones sit in columns by depth; each subtree gets a vertical band tall
enough for its own node, its outputs and all its descendants. A milestone sits
at the top of its band, level with its first child, so a path reads as one
straight line and a split fans out downwards. Outputs hang under their milestone. The canvas uses
these positions for new journeys and on "tidy up"; positions a person set by
hand stay on the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.graph import JourneyGraph

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
    return depth * (NODE_WIDTH + COLUMN_GAP)


def _own_height(graph: JourneyGraph, milestone_id: str) -> float:
    outputs = len(graph.outputs_of(milestone_id))
    return NODE_HEIGHT + outputs * (OUTPUT_HEIGHT + OUTPUT_GAP)


def auto_layout(graph: JourneyGraph) -> Layout:
    """Positions for every node of ``graph`` (it is not modified)."""
    heights: dict[str, float] = {}

    def band(milestone_id: str) -> float:
        children = [c.id for c in graph.children(milestone_id)]
        below = sum(band(c) for c in children) + ROW_GAP * max(0, len(children) - 1)
        heights[milestone_id] = max(_own_height(graph, milestone_id), below)
        return heights[milestone_id]

    milestones: dict[str, tuple[float, float]] = {}
    outputs: dict[str, tuple[float, float]] = {}

    def place(milestone_id: str, depth: int, top: float) -> None:
        children = [c.id for c in graph.children(milestone_id)]
        y = top
        x = column_x(depth)
        milestones[milestone_id] = (x, y)
        for index, output in enumerate(graph.outputs_of(milestone_id)):
            outputs[output.id] = (
                x + 24.0,
                y + NODE_HEIGHT + OUTPUT_GAP + index * (OUTPUT_HEIGHT + OUTPUT_GAP),
            )
        cursor = top
        for child in children:
            place(child, depth + 1, cursor)
            cursor += heights[child] + ROW_GAP

    cursor = 0.0
    for top_level in graph.children(None):
        band(top_level.id)
        place(top_level.id, 0, cursor)
        cursor += heights[top_level.id] + ROW_GAP
    return Layout(milestones, outputs)


def input_positions(count: int, journey_height: float) -> list[tuple[float, float]]:
    """Input nodes stacked in the column left of the first milestones, centred."""
    step = NODE_HEIGHT * 0.6 + ROW_GAP / 2
    total = count * step - ROW_GAP / 2
    top = max(0.0, (journey_height - total) / 2)
    return [(INPUT_COLUMN_X, top + i * step) for i in range(count)]
