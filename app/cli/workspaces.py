"""``journeys workspace add|rename|remove|list``: the account's workspaces.

A workspace groups inputs (``journeys input …``). Each change is one undoable core
command run through the studio, so the rules are those of Account settings: names
unique in the account (capitals and spaces ignored), and a workspace removed only
once it has no inputs (the refusal names them).
"""

from __future__ import annotations

import argparse
import json

from app.cli._common import print_table
from app.core.commands import AddWorkspace, RemoveWorkspace, RenameWorkspace
from app.core.errors import InvalidNameError
from app.core.models import Workspace, new_id
from app.studio import Studio


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = groups.add_parser(
        "workspace", help="the account's workspaces: add, rename, remove, list",
        description="A workspace groups the inputs events arrive through (an app's iOS, "
                    "Android and Web feeds, a partner feed).",
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add a workspace")
    add.add_argument("name", metavar="NAME", help="what the workspace is called")
    add.set_defaults(handler=_add)

    rename = actions.add_parser("rename", help="rename a workspace")
    rename.add_argument("workspace", metavar="NAME", help="the workspace's name (or id)")
    rename.add_argument("new_name", metavar="NEW_NAME", help="its new name")
    rename.set_defaults(handler=_rename)

    remove = actions.add_parser("remove", help="remove a workspace that has no inputs")
    remove.add_argument("workspace", metavar="NAME", help="the workspace's name (or id)")
    remove.set_defaults(handler=_remove)

    listing = actions.add_parser("list", help="every workspace and its inputs")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)


def _add(studio: Studio, args: argparse.Namespace) -> int:
    problem = studio.state.can_add_workspace(args.name)
    if problem:
        raise InvalidNameError(problem)
    command = AddWorkspace(Workspace(id=new_id(), name=args.name))
    studio.execute(command)
    print(f"{command.text}.")
    return 0


def _rename(studio: Studio, args: argparse.Namespace) -> int:
    workspace = studio.state.workspace_by_name(args.workspace)
    command = RenameWorkspace(workspace.id, args.new_name)
    studio.execute(command)
    print(f"{command.text}.")
    return 0


def _remove(studio: Studio, args: argparse.Namespace) -> int:
    workspace = studio.state.workspace_by_name(args.workspace)
    command = RemoveWorkspace(workspace.id)
    studio.execute(command)
    print(f"{command.text}.")
    return 0


def _list(studio: Studio, args: argparse.Namespace) -> int:
    state = studio.state
    items = [{"id": w.id, "name": w.name,
              "inputs": [i.name for i in state.inputs_of(w.id)]}
             for w in state.workspaces.values()]
    if args.json:
        print(json.dumps(items, indent=2, ensure_ascii=False))
        return 0
    if not items:
        print("No workspaces yet: add one with `journeys workspace add NAME`.")
        return 0
    print_table([(i["name"], ", ".join(i["inputs"]) or "no inputs") for i in items],
                ("Workspace", "Inputs"))
    return 0
