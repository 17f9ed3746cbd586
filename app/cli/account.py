"""``journeys account show|set-limit``: the account's settings.

Workspaces, inputs and connections have groups of their own (``journeys workspace``,
``journeys input``, ``journeys connection``).
"""

from __future__ import annotations

import argparse
import json

from app.cli._arguments import not_negative
from app.core.commands import SetActiveAudienceLimit
from app.core.models import PARTNER_LABELS
from app.studio import Studio


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    account = groups.add_parser("account", help="the account: show its settings, set the limit")
    actions = account.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="show the account settings")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_account_show)
    limit = actions.add_parser(
        "set-limit", help="set the active-audience limit (not below the audiences active now)")
    limit.add_argument("limit", metavar="N", type=not_negative,
                       help="how many audiences may be active across all journeys")
    limit.set_defaults(handler=_set_limit)


def _set_limit(studio: Studio, args: argparse.Namespace) -> int:
    command = SetActiveAudienceLimit(args.limit)
    studio.execute(command)
    print(f"{command.text} ({studio.state.active_audience_count()} active now).")
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
