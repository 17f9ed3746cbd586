"""``journeys evaluate JOURNEY``: evaluate a journey now (or at ``--as-of``) and print sizes."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from app.cli._arguments import utc_time
from app.cli._common import print_table
from app.core.errors import NotFoundError
from app.core.graph import JourneyGraph
from app.studio import Studio


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser(
        "evaluate",
        help="evaluate a journey: size, added and removed per milestone",
        description="Evaluate every audience of a journey over the imported events, store "
        "the memberships and print, per milestone: name, parent, size, added, removed "
        "(compared with the stored memberships). With --as-of it is a what-if: printed, "
        "not stored, unless --store is given.",
    )
    parser.add_argument("journey", metavar="JOURNEY", help="the journey's name (or id)")
    parser.add_argument(
        "--as-of",
        metavar="ISO",
        type=utc_time,
        help="evaluate as of this UTC time, e.g. 2024-03-01T12:00:00Z (default: now); "
        "the result is printed, not stored",
    )
    parser.add_argument(
        "--store",
        action="store_true",
        help="with --as-of: store the result as the current memberships (the next "
        "evaluation then reports who joined and left since that time)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=_evaluate)


def find_journey(studio: Studio, name_or_id: str) -> JourneyGraph:
    if studio.state.has_journey(name_or_id):
        return studio.state.journey(name_or_id)
    try:
        return studio.state.journey_by_name(name_or_id)
    except NotFoundError:
        names = ", ".join(f"“{g.name}”" for g in studio.state.journeys()) or "none"
        raise NotFoundError(
            f"There is no journey called “{name_or_id}”. Journeys: {names}."
        ) from None


def _evaluate(studio: Studio, args: argparse.Namespace) -> int:
    graph = find_journey(studio, args.journey)
    as_of: datetime | None = args.as_of
    stored = as_of is None or args.store
    result = studio.evaluate(graph.document(), as_of, store=stored)
    names = {m.id: m.name for m in graph.milestones_in_order()}
    rows = [
        {
            "id": m.audience_id,
            "name": m.name,
            "parent": names.get(m.parent_id) if m.parent_id else None,
            "size": m.size,
            "added": m.added,
            "removed": m.removed,
        }
        for m in result.milestones
    ]
    if args.json:
        people = result.population
        print(json.dumps({
            "journey": graph.name,
            "journey_id": graph.id,
            "as_of": result.as_of.isoformat(),
            "evaluated_at": result.evaluated_at.isoformat(),
            "stored": stored,
            "population": {"size": people.size, "added": people.added,
                           "removed": people.removed},
            "milestones": rows,
        }, indent=2))
        return 0
    people = result.population
    print(f"{graph.name} as of {result.as_of:%Y-%m-%d %H:%M:%S} UTC: "
          f"{people.size} users in the journey (+{people.added} −{people.removed})")
    if not stored:
        print("A what-if: not stored (added and removed compare with the stored "
              "memberships; --store keeps it).")
    if not rows:
        print("No milestones yet.")
        return 0
    print_table(
        [(r["name"], r["parent"] or "(journey start)", str(r["size"]), str(r["added"]),
          str(r["removed"])) for r in rows],
        ("Milestone", "Parent", "Size", "Added", "Removed"),
    )
    return 0
