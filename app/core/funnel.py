"""The funnel of a journey path: size, step conversion and drop-off at each milestone.

DESIGN.md section 1 (Analysis): per path, the funnel is the size at each milestone,
the step conversion (the share of the parent's users who are also in the milestone)
and the drop-off (the parent's users who are not). A milestone's audience is always
a subset of its parent's (``audience(m) = audience(parent) ∩ criteria``), so the
conversion lies between 0 and 1 and the drop-off is never negative.

The journey start is the top of every path: its size is the journey's population,
and it has no conversion of its own. A parent nobody is in has no conversion either
(there is nothing to convert from); its drop-off is 0.

Everything here is plain arithmetic over sizes the engine computed; the canvas and
the Funnel panel draw it, and :func:`funnel_csv` writes it for a spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass

from app.core.graph import JourneyGraph

JOURNEY_START = "Journey start"
"""The name of the first step of every funnel: everyone in the journey."""

MINUS = "\u2212"
"""A true minus sign for drop-offs ("−38"), as on the cards' joins and leaves."""


def conversion(size: int, parent_size: int | None) -> float | None:
    """The share (0–1) of the parent's users who reached the step.

    None at the journey start (``parent_size`` None) and under an empty parent, where
    a percentage would be a division by zero rather than a fact about the journey.
    """
    if parent_size is None or parent_size <= 0:
        return None
    return size / parent_size


def dropped(size: int, parent_size: int | None) -> int:
    """How many of the parent's users did not reach the step (0 at the journey start).

    Clamped at 0: a child can only be bigger than its parent while a new evaluation is
    half applied, and a negative drop-off would be read as "gained users".
    """
    if parent_size is None:
        return 0
    return max(0, parent_size - size)


def drop_off(size: int, parent_size: int | None) -> float | None:
    """The share (0–1) of the parent's users lost at the step; None where
    :func:`conversion` is None."""
    share = conversion(size, parent_size)
    return None if share is None else max(0.0, 1.0 - share)


@dataclass(frozen=True)
class FunnelStep:
    """One step of a funnel: a milestone (or the journey start) and its parent's size."""

    milestone_id: str | None
    """None for the journey start."""
    name: str
    size: int
    parent_size: int | None
    """The size of the step before (None for the journey start)."""

    @property
    def conversion(self) -> float | None:
        return conversion(self.size, self.parent_size)

    @property
    def dropped(self) -> int:
        return dropped(self.size, self.parent_size)

    @property
    def drop_off(self) -> float | None:
        return drop_off(self.size, self.parent_size)


def path_ids(graph: JourneyGraph, milestone_id: str) -> list[str]:
    """The milestone ids from the first milestone below the journey start down to
    ``milestone_id`` (which is last)."""
    return [milestone.id for milestone in graph.path_to(milestone_id)]


def path_funnel(graph: JourneyGraph, milestone_id: str, population: int,
                sizes: Mapping[str, int]) -> tuple[FunnelStep, ...] | None:
    """The funnel from the journey start to ``milestone_id``.

    ``population`` is the journey's size and ``sizes`` the milestones' sizes, both
    from one evaluation. None when a milestone on the path has no size yet (added
    since that evaluation): a funnel with a hole in it would show a made-up drop.
    """
    steps = [FunnelStep(None, JOURNEY_START, population, None)]
    parent_size = population
    for step_id in path_ids(graph, milestone_id):
        size = sizes.get(step_id)
        if size is None:
            return None
        steps.append(FunnelStep(step_id, graph.milestone(step_id).name, size, parent_size))
        parent_size = size
    return tuple(steps)


def overall_conversion(step: FunnelStep, population: int) -> float | None:
    """The share of the whole journey that reached ``step`` (None for an empty journey)."""
    return conversion(step.size, population)


def percent_text(share: float | None, *, decimals: int = 1) -> str:
    """A share as a percentage for reading ("47.5%"); an en dash when there is none."""
    if share is None:
        return "\u2013"
    return f"{share * 100:.{decimals}f}%"


def short_percent_text(share: float | None) -> str:
    """A share as compact as the canvas needs: whole percents ("62%"), one decimal
    under 10% so a small step never reads as "0%" ("4.2%"), an en dash for none."""
    if share is None:
        return "\u2013"
    value = share * 100
    if value < 10 and round(value) != round(value, 1):
        return f"{value:.1f}%"
    return f"{value:.0f}%"


def edge_text(size: int, parent_size: int | None) -> str:
    """The label on a milestone edge: step conversion and drop-off ("62% · −38")."""
    return (f"{short_percent_text(conversion(size, parent_size))} \u00b7 "
            f"{MINUS}{dropped(size, parent_size):,}")


CSV_HEADER = ("step", "milestone", "size", "conversion_percent", "dropped",
              "drop_off_percent", "of_journey_percent")
"""The CSV's columns: the step number (0 = journey start), the milestone's name, its
size, the step conversion, the users lost at the step, the drop-off, and the share of
the journey's population still in it. Percentages have two decimals; empty where
there is none (the journey start, an empty parent)."""


def _csv_percent(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.2f}"


def funnel_csv(steps: tuple[FunnelStep, ...]) -> str:
    """The funnel as CSV text (header :data:`CSV_HEADER`, one row per step)."""
    population = steps[0].size if steps else 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for number, step in enumerate(steps):
        writer.writerow((number, step.name, step.size, _csv_percent(step.conversion),
                         step.dropped if step.parent_size is not None else "",
                         _csv_percent(step.drop_off),
                         _csv_percent(overall_conversion(step, population))))
    return buffer.getvalue()
