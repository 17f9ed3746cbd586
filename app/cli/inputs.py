"""``journeys input add|rename|remove|list``: the inputs events arrive through.

An input belongs to a workspace and is named ``WORKSPACE/INPUT`` elsewhere (``journeys
import --input``, ``journeys journey set-inputs``). Each change is one undoable core
command run through the studio: names unique within the workspace, a platform feed
names its platform and a partner feed none, and an input is removed only when no
journey reads it and no event came through it (the refusal names the journeys and
counts the events).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.cli._common import print_table, resolve_input
from app.core.commands import AddInput, RemoveInput, RenameInput
from app.core.errors import InvalidSettingError
from app.core.models import Input, new_id
from app.core.vocabulary import PLATFORM_SPELLINGS
from app.studio import Studio


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = groups.add_parser(
        "input", help="the inputs of the workspaces: add, rename, remove, list",
        description="Every event arrives through one input: a platform feed of a "
                    "workspace (iOS, Android, Web, …) or a partner feed.",
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add an input to a workspace")
    add.add_argument("name", metavar="NAME", help="what the input is called, e.g. iOS")
    add.add_argument("--workspace", required=True, metavar="WORKSPACE",
                     help="the workspace it belongs to (name or id)")
    kind = add.add_mutually_exclusive_group(required=True)
    kind.add_argument("--platform", metavar="PLATFORM",
                      help=f"the platform its events come from: "
                           f"{', '.join(PLATFORM_SPELLINGS.values())} or another")
    kind.add_argument("--partner-feed", action="store_true",
                      help="a partner's feed (no platform of its own)")
    add.set_defaults(handler=_add)

    rename = actions.add_parser("rename", help="rename an input")
    rename.add_argument("input", metavar="WORKSPACE/INPUT", help="the input (or its id)")
    rename.add_argument("new_name", metavar="NEW_NAME", help="its new name")
    rename.set_defaults(handler=_rename)

    remove = actions.add_parser(
        "remove", help="remove an input no journey reads and no event came through")
    remove.add_argument("input", metavar="WORKSPACE/INPUT", help="the input (or its id)")
    remove.set_defaults(handler=_remove)

    listing = actions.add_parser(
        "list", help="every input: its platform, events stored, journeys reading it")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)


def _add(studio: Studio, args: argparse.Namespace) -> int:
    state = studio.state
    workspace = state.workspace_by_name(args.workspace)
    kind = "partner" if args.partner_feed else "platform"
    problem = state.can_add_input(workspace.id, args.name, args.platform, kind)
    if problem:
        raise InvalidSettingError(problem)
    command = AddInput(Input(id=new_id(), workspace_id=workspace.id, name=args.name,
                             kind=kind, platform=args.platform))
    studio.execute(command)
    print(f"{command.text}.")
    return 0


def _rename(studio: Studio, args: argparse.Namespace) -> int:
    command = RenameInput(resolve_input(studio, args.input), args.new_name)
    studio.execute(command)
    print(f"{command.text}.")
    return 0


def _remove(studio: Studio, args: argparse.Namespace) -> int:
    command = RemoveInput(resolve_input(studio, args.input))
    studio.execute(command)
    print(f"{command.text}.")
    return 0


def _list(studio: Studio, args: argparse.Namespace) -> int:
    state = studio.state
    counts = studio.event_count_by_input()
    items: list[dict[str, Any]] = [
        {
            "id": i.id,
            "workspace": state.workspaces[i.workspace_id].name,
            "name": i.name,
            "kind": i.kind,
            "platform": i.platform,
            "events": counts.get(i.id, 0),
            "journeys": [g.name for g in state.input_readers(i.id)],
        }
        for i in state.inputs.values()
    ]
    if args.json:
        print(json.dumps(items, indent=2, ensure_ascii=False))
        return 0
    if not items:
        print("No inputs yet: add one with `journeys input add NAME --workspace WORKSPACE "
              "--platform PLATFORM`.")
        return 0
    print_table(
        [(i["workspace"], i["name"], i["platform"] or "partner feed", f"{i['events']:,}",
          ", ".join(i["journeys"]) or "—") for i in items],
        ("Workspace", "Input", "Platform", "Events", "Journeys"),
    )
    return 0
