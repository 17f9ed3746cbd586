"""``journeys journeys …``: the journeys of the account."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.cli._common import print_table
from app.studio import Studio


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    journeys = groups.add_parser("journeys", help="the journeys of the account")
    actions = journeys.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", help="each journey's milestones, outputs, active audiences, inputs")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_journeys_list)


def _journeys_list(studio: Studio, args: argparse.Namespace) -> int:
    state = studio.state
    items: list[dict[str, Any]] = []
    for graph in sorted(state.journeys(), key=lambda g: g.name.casefold()):
        items.append({
            "id": graph.id,
            "name": graph.name,
            "milestones": graph.milestone_count,
            "outputs": sum(1 for _ in graph.outputs()),
            "active_audiences": len(graph.active_milestone_ids()),
            "inputs": [
                f"{state.workspaces[state.inputs[i].workspace_id].name}/{state.inputs[i].name}"
                for i in graph.journey.input_ids
                if i in state.inputs
            ],
        })
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    if not items:
        print("No journeys yet.")
        return 0
    print_table(
        [(i["name"], str(i["milestones"]), str(i["outputs"]), str(i["active_audiences"]),
          ", ".join(i["inputs"])) for i in items],
        ("Journey", "Milestones", "Outputs", "Active", "Inputs"),
    )
    return 0
