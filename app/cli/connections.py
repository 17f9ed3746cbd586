"""``journeys connection add|list|show|edit|test|remove``: the account's partners.

Each change is one undoable core command run through the studio, so the same
rules hold as in Account settings: names unique, settings checked by the
partner's model (the message names the field), a required secret present,
and a connection used by outputs not removed. A secret never appears on the
command line (it would land in the shell's history): ``--secret-stdin`` reads
it from standard input into the OS keyring, ``--secret-env NAME`` refers to an
environment variable of the process that sends. Output shows it masked.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.cli._common import print_table
from app.core.commands import AddConnection, EditConnection, RemoveConnection
from app.core.errors import InvalidSettingError
from app.core.models import PARTNER_LABELS, Connection, new_id
from app.core.partners import ENV_PREFIX, SECRETS, SETTINGS, field_label
from app.studio import Studio


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = groups.add_parser(
        "connection", help="the account's connections: add, list, show, edit, test, remove",
        description="Connections are the partners outputs forward audiences to.",
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add a connection",
                             description=_partners_help())
    add.add_argument("--name", required=True, help="what the connection is called")
    add.add_argument("--partner", required=True, choices=sorted(SETTINGS),
                     help="the kind of partner")
    _settings_arguments(add)
    _secret_arguments(add)
    add.set_defaults(handler=_add)

    listing = actions.add_parser("list", help="every connection, its partner and users")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)

    show = actions.add_parser("show", help="one connection's settings (secret masked)")
    show.add_argument("connection", metavar="NAME", help="the connection's name or id")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_show)

    edit = actions.add_parser("edit", help="rename a connection, change settings or secret")
    edit.add_argument("connection", metavar="NAME", help="the connection's name or id")
    edit.add_argument("--name", help="a new name")
    _settings_arguments(edit)
    edit.add_argument("--unset", action="append", default=[], metavar="KEY",
                      help="go back to a setting's default (repeatable)")
    secret = _secret_arguments(edit)
    secret.add_argument("--no-secret", action="store_true",
                        help="the connection has no secret any more")
    edit.set_defaults(handler=_edit)

    test = actions.add_parser("test", help="one real request to the partner; exit 1 if it "
                                           "fails")
    test.add_argument("connection", metavar="NAME", help="the connection's name or id")
    test.set_defaults(handler=_test)

    remove = actions.add_parser("remove", help="remove a connection no output uses")
    remove.add_argument("connection", metavar="NAME", help="the connection's name or id")
    remove.set_defaults(handler=_remove)


def _partners_help() -> str:
    lines = ["Settings of each partner (--set KEY=VALUE):"]
    for partner, model in SETTINGS.items():
        keys = ", ".join(
            f"{key}" + ("" if info.is_required() else f" (default {info.default})")
            for key, info in model.model_fields.items()
        )
        spec = SECRETS.get(partner)
        secret = f"; secret: {spec.label}" + ("" if spec.required else " (optional)") \
            if spec else ""
        lines.append(f"  {partner}: {keys}{secret}")
    return "\n".join(lines)


def _settings_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        type=_setting, help="a setting (repeatable), e.g. url=https://…")


def _secret_arguments(parser: argparse.ArgumentParser) -> argparse._MutuallyExclusiveGroup:
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--secret-env", metavar="NAME",
                        help="the secret is in this environment variable where it is sent")
    secret.add_argument("--secret-stdin", action="store_true",
                        help="read the secret from standard input into the OS keyring")
    return secret


def _setting(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"KEY=VALUE, not “{text}”")
    return key.strip(), value


# ---------------------------------------------------------------------- changes


def _add(studio: Studio, args: argparse.Namespace) -> int:
    connection_id = new_id()
    settings = dict(args.set)
    # Checked before any secret is kept, so a refused add leaves nothing behind.
    problem = studio.state.can_add_connection(args.name, args.partner, settings,
                                              _placeholder_ref(args))
    if problem:
        raise InvalidSettingError(problem)
    ref = _secret_ref(studio, args, connection_id, current="")
    command = AddConnection(Connection(id=connection_id, name=args.name,
                                       partner=args.partner, settings=settings,
                                       secret_ref=ref or ""))
    studio.execute(command)
    print(f"{command.text}.")
    return 0


def _edit(studio: Studio, args: argparse.Namespace) -> int:
    current = studio.state.connection_by_name(args.connection)
    settings: dict[str, Any] = dict(current.settings)
    for key in args.unset:
        settings.pop(key, None)
    settings.update(dict(args.set))
    name = args.name if args.name is not None else current.name
    placeholder = "" if args.no_secret else _placeholder_ref(args, current.secret_ref)
    problem = studio.state.can_edit_connection(current.id, name, settings, placeholder)
    if problem:
        raise InvalidSettingError(problem)
    ref = "" if args.no_secret else _secret_ref(studio, args, current.id, current.secret_ref)
    command = EditConnection(current.id, name=name, settings=settings, secret_ref=ref)
    studio.execute(command)
    print(f"{command.text}.")
    return 0


def _placeholder_ref(args: argparse.Namespace, current: str = "") -> str:
    """The reference the arguments will give, to check the rules before a secret is kept."""
    if args.secret_env:
        return f"{ENV_PREFIX}{args.secret_env}"
    if args.secret_stdin:
        return "keyring:pending"
    return current


def _secret_ref(studio: Studio, args: argparse.Namespace, connection_id: str,
                current: str) -> str:
    """The reference to store: an env: name, a new keyring entry, or the current one."""
    if args.secret_env:
        return f"{ENV_PREFIX}{args.secret_env}"
    if args.secret_stdin:
        if sys.stdin.isatty():
            print("Secret (then Enter): ", end="", file=sys.stderr, flush=True)
        secret = sys.stdin.readline().rstrip("\r\n")
        return studio.save_secret(connection_id, secret)
    return current


def _remove(studio: Studio, args: argparse.Namespace) -> int:
    connection = studio.state.connection_by_name(args.connection)
    command = RemoveConnection(connection.id)
    studio.execute(command)
    print(f"{command.text}.")
    return 0


def _test(studio: Studio, args: argparse.Namespace) -> int:
    connection = studio.state.connection_by_name(args.connection)
    result = studio.test_connection(connection)
    print(f"{connection.name}: {result.summary}")
    return 0 if result.ok else 1


# ---------------------------------------------------------------------- reading


def _info(studio: Studio, connection: Connection) -> dict[str, Any]:
    users = studio.state.connection_users(connection.id)
    spec = SECRETS.get(connection.partner)
    return {
        "id": connection.id,
        "name": connection.name,
        "partner": connection.partner,
        "settings": dict(connection.settings),
        "secret": None if spec is None else {
            "label": spec.label,
            "reference": connection.secret_ref or None,
            "shown": studio.describe_secret(connection.secret_ref),
        },
        "used_by": [{"journey": graph.name,
                     "audience": graph.milestone(output.milestone_id).name,
                     "active": output.active}
                    for graph, output in users],
    }


def _list(studio: Studio, args: argparse.Namespace) -> int:
    infos = [_info(studio, c) for c in studio.state.connections.values()]
    if args.json:
        print(json.dumps(infos, indent=2, ensure_ascii=False))
        return 0
    if not infos:
        print("No connections yet: add one with `journeys connection add`.")
        return 0
    print_table(
        [(i["name"], PARTNER_LABELS.get(i["partner"], i["partner"]),
          i["secret"]["shown"] if i["secret"] else "—", str(len(i["used_by"])))
         for i in infos],
        ["Connection", "Partner", "Secret", "Outputs"],
    )
    return 0


def _show(studio: Studio, args: argparse.Namespace) -> int:
    info = _info(studio, studio.state.connection_by_name(args.connection))
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    rows = [("Name", info["name"]),
            ("Partner", PARTNER_LABELS.get(info["partner"], info["partner"])),
            *((field_label(info["partner"], key), str(value))
              for key, value in info["settings"].items())]
    if info["secret"]:
        rows.append((info["secret"]["label"], info["secret"]["shown"]))
    used = info["used_by"]
    rows.append(("Used by", ", ".join(f"“{u['audience']}” in {u['journey']}" for u in used)
                 or "no outputs"))
    width = max(len(label) for label, _ in rows) + 2
    for label, value in rows:
        print(f"{label + ':':<{width}}{value}")
    return 0
