"""``journeys``: the headless command line, on the same application service as the GUI.

Errors a person can act on (a bad URL, a refused edit) print one line to
stderr and exit 1; ``--json`` output is for scripts.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from app.core.errors import StudioError
from app.core.models import PARTNER_LABELS
from app.studio import Studio

Handler = Callable[[Studio, argparse.Namespace], int]


def _print_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(f"{cell:<{width}}" for cell, width in zip(cells, widths, strict=True))

    print(line(headers).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row).rstrip())


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
    _print_table(
        [(i["name"], str(i["milestones"]), str(i["outputs"]), str(i["active_audiences"]),
          ", ".join(i["inputs"])) for i in items],
        ("Journey", "Milestones", "Outputs", "Active", "Inputs"),
    )
    return 0


def _account_show(studio: Studio, args: argparse.Namespace) -> int:
    state = studio.state
    info = {
        "name": state.account.name,
        "database": studio.database.url,
        "active_audiences": state.active_audience_count(),
        "active_audience_limit": state.limit,
        "workspaces": [
            {"name": w.name, "inputs": [
                {"name": i.name, "kind": i.kind, "platform": i.platform}
                for i in state.inputs_of(w.id)
            ]}
            for w in state.workspaces.values()
        ],
        "connections": [
            {"name": c.name, "partner": c.partner} for c in state.connections.values()
        ],
        "journeys": sum(1 for _ in state.journeys()),
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"Account:           {info['name']}")
    print(f"Database:          {info['database']}")
    print(f"Active audiences:  {info['active_audiences']} / {info['active_audience_limit']}")
    print(f"Journeys:          {info['journeys']}")
    print("Workspaces:")
    for workspace in info["workspaces"]:
        inputs = ", ".join(
            i["name"] + (" (partner feed)" if i["kind"] == "partner" else "")
            for i in workspace["inputs"]
        )
        print(f"  {workspace['name']}: {inputs or 'no inputs'}")
    print("Connections:")
    for connection in info["connections"]:
        label = PARTNER_LABELS.get(connection["partner"], connection["partner"])
        print(f"  {connection['name']} ({label})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="journeys",
        description="Journey Studio on the command line: inspect and run customer journeys.",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="database: a SQLAlchemy URL (sqlite:///…, postgresql+psycopg://…) or a file "
        "path; default: journeys.db in the user data folder",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)

    journeys = groups.add_parser("journeys", help="the journeys of the account")
    journeys_sub = journeys.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = journeys_sub.add_parser("list", help="list journeys with their sizes")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_journeys_list)

    account = groups.add_parser("account", help="the account: limit, workspaces, connections")
    account_sub = account.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = account_sub.add_parser("show", help="show the account settings")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_account_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Handler = args.handler
    try:
        studio = Studio.open(args.db)
    except StudioError as error:
        print(f"journeys: {error}", file=sys.stderr)
        return 1
    try:
        return handler(studio, args)
    except StudioError as error:
        print(f"journeys: {error}", file=sys.stderr)
        return 1
    finally:
        studio.close()


if __name__ == "__main__":
    sys.exit(main())
