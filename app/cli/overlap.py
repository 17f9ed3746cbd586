"""``journeys overlap``: users in several active audiences, across every journey.

The pairs of active audiences that share the most users (with the share of the
smaller one), and a warning for each overlapping pair sent to the same
connection, as the Overlap view shows them (:mod:`app.core.overlap`).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.cli._common import print_table
from app.core.overlap import OverlapPair, OverlapReport
from app.studio import Studio


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser(
        "overlap",
        help="users in several active audiences: the pairs sharing most, same-partner warnings",
        description="Count the users who are in more than one active audience across all "
        "journeys (as last evaluated), list the pairs of audiences that share the most "
        "users, and warn when two overlapping audiences are sent to the same connection.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=_overlap)


def _overlap(studio: Studio, args: argparse.Namespace) -> int:
    report = studio.overlap()
    if args.json:
        print(json.dumps(as_json(report), indent=2, ensure_ascii=False))
        return 0
    print(report.summary)
    if report.pairs:
        print()
        print_table(
            [(p.first.name, p.second.name, f"{p.shared:,}", f"{p.percent_of_smaller:.1f}%",
              _journeys(p)) for p in report.pairs],
            ("Audience A", "Audience B", "Shared users", "% of smaller", "Journey"),
        )
    elif report.audiences > 1:
        print("No two active audiences share a user.")
    for warning in report.warnings:
        print(f"\nWarning: {warning}")
    return 0


def _journeys(pair: OverlapPair) -> str:
    if pair.first.journey_id == pair.second.journey_id:
        return pair.first.journey
    return f"{pair.first.journey} / {pair.second.journey}"


def as_json(report: OverlapReport) -> dict[str, Any]:
    def audience(side: Any, size: int) -> dict[str, Any]:
        return {"id": side.audience_id, "name": side.name, "journey": side.journey,
                "size": size, "connections": [name for _cid, name in side.connections]}

    return {
        "active_audiences": report.audiences,
        "users_in_several": report.in_several,
        "pairs": [
            {"a": audience(p.first, p.first_size), "b": audience(p.second, p.second_size),
             "shared": p.shared, "percent_of_smaller": round(p.percent_of_smaller, 2),
             "same_connections": list(p.same_connections)}
            for p in report.pairs
        ],
        "warnings": list(report.warnings),
    }
