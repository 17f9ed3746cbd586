"""``journeys journey export NAME`` and ``journeys journey import FILE``.

The format and its checks live in :mod:`app.core.journey_file`, which the File
menu uses too; here are the commands. An import creates the journey with one
undoable ``CreateJourney`` command, so the rules of the core (names, splits,
which audiences criteria may use) apply as to an edit, and it either stores the
whole journey or nothing, with one line naming the milestone and field.
"""

from __future__ import annotations

import argparse
import json
import sys

from app.cli._journey_exclusive import add_set_exclusive
from app.cli._journey_inputs import add_set_inputs
from app.cli.evaluate import find_journey
from app.core.commands import CreateJourney
from app.core.criteria import definition_json_schema
from app.core.journey_file import decode, read_journey, to_text
from app.studio import Studio


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    journey = groups.add_parser(
        "journey", help="one journey: export or import it as JSON, change its inputs")
    actions = journey.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="print a journey as JSON (milestones, criteria)")
    export.add_argument("name", metavar="NAME", help="the journey's name (or id)")
    export.set_defaults(handler=_export)
    load = actions.add_parser("import", help="create a journey from an exported JSON file")
    load.add_argument("file", metavar="FILE", help="the JSON file ('-' for standard input)")
    load.add_argument("--name", help="the new journey's name (default: the file's)")
    load.set_defaults(handler=_import)
    schema = actions.add_parser(
        "schema", help="print the JSON Schema of a milestone's criteria (\"definition\")"
    )
    schema.set_defaults(handler=_schema)
    add_set_inputs(actions)
    add_set_exclusive(actions)


def _schema(studio: Studio, args: argparse.Namespace) -> int:
    print(json.dumps(definition_json_schema(), indent=2, ensure_ascii=False))
    return 0


def _export(studio: Studio, args: argparse.Namespace) -> int:
    graph = find_journey(studio, args.name)
    sys.stdout.write(to_text(studio.state, graph.document()))
    return 0


def _read(file: str) -> str:
    """The file's text (``-``: standard input)."""
    if file != "-":
        return Studio.read_text(file)
    return decode(sys.stdin.buffer.read())


def _import(studio: Studio, args: argparse.Namespace) -> int:
    loaded = read_journey(studio.state, args.file, _read(args.file), args.name)
    studio.execute(CreateJourney(loaded.document))
    document = loaded.document
    print(f"Imported “{document.journey.name}” with {len(document.milestones)} milestones.")
    return 0
