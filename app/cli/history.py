"""``journeys history MILESTONE``: a milestone's size at every stored evaluation.

The same numbers as the Size history panel: each evaluation's size and who joined
and left, the last 24 hours' adds and drops, and the volatility of the last week
(:mod:`app.core.history` computes them for both).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from app.cli._common import print_table
from app.cli.evaluate import find_journey
from app.core.account import journey_name_key
from app.core.errors import NotFoundError
from app.core.graph import JourneyGraph
from app.core.history import (
    RECENT,
    VOLATILITY_DAYS,
    VOLATILITY_EXPLAINED,
    SizePoint,
    SizeSummary,
    percent,
    summarize,
)
from app.core.models import Milestone
from app.studio import Studio


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser(
        "history",
        help="a milestone's size, joined and left at every stored evaluation",
        description="Print a milestone's size history: its size and the users who joined "
        "and left at every stored evaluation, oldest first, with the last 24 hours' totals "
        f"and the volatility. {VOLATILITY_EXPLAINED}",
    )
    parser.add_argument("milestone", metavar="MILESTONE", help="the milestone's name (or id)")
    parser.add_argument("--journey", metavar="JOURNEY",
                        help="the journey the milestone is in, when several have one "
                        "of that name (its name or id)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=_history)


def find_milestone(studio: Studio, text: str,
                   journey: str | None = None) -> tuple[JourneyGraph, Milestone]:
    """The milestone named ``text`` (capitals and spaces ignored) or with that id, in
    ``journey`` or any journey; a name several journeys use is refused, naming them."""
    graphs = [find_journey(studio, journey)] if journey else list(studio.state.journeys())
    for graph in graphs:
        if graph.has_milestone(text):
            return graph, graph.milestone(text)
    key = journey_name_key(text)
    found = [(g, m) for g in graphs for m in g.milestones_in_order()
             if journey_name_key(m.name) == key]
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(f"“{g.name}”" for g in sorted({g for g, _m in found},
                                                         key=lambda g: g.name.casefold()))
        raise NotFoundError(
            f"Several journeys have a milestone called “{text}”: {names}. "
            "Name the journey with --journey, or give the milestone's id."
        )
    where = f" in “{graphs[0].name}”" if journey else ""
    raise NotFoundError(f"There is no milestone called “{text}”{where}.")


def _history(studio: Studio, args: argparse.Namespace) -> int:
    graph, milestone = find_milestone(studio, args.milestone, args.journey)
    points = studio.size_history(milestone.id)
    summary = summarize(points, datetime.now(UTC))
    if args.json:
        print(json.dumps(_as_json(graph, milestone, points, summary), indent=2))
        return 0
    print(f"{milestone.name} (in “{graph.name}”): "
          f"{summary.evaluations} stored evaluation{'' if summary.evaluations == 1 else 's'}")
    if summary.latest is None:
        print("No evaluations yet: journeys evaluate JOURNEY stores one.")
        return 0
    recent = summary.last_24_hours
    hours = int(RECENT.total_seconds() // 3600)
    size = summary.latest.size
    print(f"Size now: {size:,} user{'' if size == 1 else 's'}")
    print(f"Last {hours} hours: +{recent.added:,} joined, −{recent.removed:,} left "
          f"({recent.evaluations} evaluation{'' if recent.evaluations == 1 else 's'})")
    print(f"Volatility (last {VOLATILITY_DAYS} days): {percent(summary.volatility)}")
    print()
    print_table(
        [(f"{p.as_of:%Y-%m-%d %H:%M}", f"{p.size:,}", f"+{p.added:,}", f"−{p.removed:,}")
         for p in points],
        ("As of (UTC)", "Size", "Joined", "Left"),
    )
    return 0


def _as_json(graph: JourneyGraph, milestone: Milestone, points: list[SizePoint],
             summary: SizeSummary) -> dict[str, Any]:
    recent = summary.last_24_hours
    return {
        "journey": graph.name,
        "journey_id": graph.id,
        "milestone": milestone.name,
        "milestone_id": milestone.id,
        "evaluations": summary.evaluations,
        "size": None if summary.latest is None else summary.latest.size,
        "last_24_hours": {"added": recent.added, "removed": recent.removed,
                          "evaluations": recent.evaluations},
        "volatility": summary.volatility,
        "volatility_days": VOLATILITY_DAYS,
        "history": [{"as_of": p.as_of.isoformat(), "size": p.size, "added": p.added,
                     "removed": p.removed} for p in points],
    }
