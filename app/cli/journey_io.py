"""``journeys journey export NAME`` and ``journeys journey import FILE``.

The file is one JSON object in a versioned format::

    {"format": "journey-studio.journey", "version": 1, "criteria_version": 1,
     "journey": {"name": …, "inputs": [{"id": …, "workspace": …, "name": …}]},
     "milestones": [{"id": …, "name": …, "parent_id": …, "remaining": …,
                     "definition": {…criteria…}, "x": …, "y": …}, …]}

Milestones are in tree order (parents first, siblings left to right). Outputs
are not exported: they name this account's connections. An import gives the
journey and its milestones fresh ids (so a journey can be imported twice, under
another ``--name``), rewrites audience-membership criteria that point inside
the journey, finds each input by id or else by workspace and input name, and
creates the journey with one undoable ``CreateJourney`` command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.cli.evaluate import find_journey
from app.core.commands import CreateJourney
from app.core.criteria import (
    DEFINITION_SCHEMA_VERSION,
    AudienceDefinition,
    AudienceMembershipCriterion,
    Clause,
    Group,
    definition_json_schema,
    validation_messages,
)
from app.core.errors import DataError
from app.core.models import Journey, JourneyDocument, Milestone, new_id
from app.studio import Studio

FORMAT = "journey-studio.journey"
VERSION = 1


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    journey = groups.add_parser("journey", help="export or import one journey as JSON")
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


def _schema(studio: Studio, args: argparse.Namespace) -> int:
    print(json.dumps(definition_json_schema(), indent=2, ensure_ascii=False))
    return 0


def export_document(studio: Studio, document: JourneyDocument) -> dict[str, Any]:
    state = studio.state
    inputs = []
    for input_id in document.journey.input_ids:
        item = state.inputs.get(input_id)
        workspace = state.workspaces.get(item.workspace_id) if item else None
        inputs.append({
            "id": input_id,
            "workspace": workspace.name if workspace else None,
            "name": item.name if item else None,
        })
    return {
        "format": FORMAT,
        "version": VERSION,
        "criteria_version": DEFINITION_SCHEMA_VERSION,
        "journey": {"name": document.journey.name, "inputs": inputs},
        "milestones": [
            {
                "id": m.id,
                "name": m.name,
                "parent_id": m.parent_id,
                "remaining": m.remaining,
                "definition": m.definition.model_dump(mode="json"),
                "x": m.x,
                "y": m.y,
            }
            for m in document.milestones
        ],
    }


def _export(studio: Studio, args: argparse.Namespace) -> int:
    graph = find_journey(studio, args.name)
    print(json.dumps(export_document(studio, graph.document()), indent=2, ensure_ascii=False))
    return 0


def _remap(definition: AudienceDefinition, ids: dict[str, str]) -> AudienceDefinition:
    def clause(item: Clause) -> Clause:
        inner = item.item
        if isinstance(inner, Group):
            inner = inner.model_copy(update={"clauses": tuple(clause(c) for c in inner.clauses)})
        elif isinstance(inner, AudienceMembershipCriterion) and inner.milestone_id in ids:
            inner = inner.model_copy(update={"milestone_id": ids[inner.milestone_id]})
        return item.model_copy(update={"item": inner})

    return AudienceDefinition(clauses=tuple(clause(c) for c in definition.clauses))


def import_document(
    studio: Studio, data: Any, name: str | None = None
) -> JourneyDocument:
    """The journey ``data`` describes, with fresh ids, ready for ``CreateJourney``."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DataError(f"This is not a journey export (expected \"format\": \"{FORMAT}\").")
    if data.get("version") != VERSION:
        raise DataError(
            f"This journey export is version {data.get('version')}; this program reads "
            f"version {VERSION}."
        )
    criteria_version = data.get("criteria_version", DEFINITION_SCHEMA_VERSION)
    if criteria_version > DEFINITION_SCHEMA_VERSION:
        raise DataError(
            f"The criteria in this file are version {criteria_version}, newer than this "
            f"program's {DEFINITION_SCHEMA_VERSION}. Update the program."
        )
    state = studio.state
    by_name = {
        (state.workspaces[i.workspace_id].name.casefold(), i.name.casefold()): i.id
        for i in state.inputs.values()
        if i.workspace_id in state.workspaces
    }
    journey_data = data.get("journey") or {}
    input_ids: list[str] = []
    missing: list[str] = []
    for item in journey_data.get("inputs", []):
        if item.get("id") in state.inputs:
            input_ids.append(item["id"])
            continue
        key = (str(item.get("workspace") or "").casefold(), str(item.get("name") or "").casefold())
        if key in by_name:
            input_ids.append(by_name[key])
        else:
            missing.append(f"{item.get('workspace')}/{item.get('name')}")
    if missing:
        raise DataError(
            "The journey reads inputs this account does not have: " + ", ".join(missing) + "."
        )
    rows = data.get("milestones") or []
    ids = {str(row.get("id")): new_id() for row in rows}
    milestones: list[Milestone] = []
    for number, row in enumerate(rows, start=1):
        label = f"milestone {number} (“{row.get('name')}”)"
        try:
            definition = AudienceDefinition.model_validate(row.get("definition") or {})
        except ValidationError as error:
            raise DataError(
                f"{label}: " + "; ".join(validation_messages(error))
            ) from None
        parent = row.get("parent_id")
        if parent is not None and parent not in ids:
            raise DataError(f"{label} names a parent that is not in the file.")
        try:
            milestones.append(Milestone(
                id=ids[str(row.get("id"))],
                name=row.get("name"),
                parent_id=ids[parent] if parent is not None else None,
                remaining=bool(row.get("remaining", False)),
                definition=_remap(definition, ids),
                x=float(row.get("x", 0.0)),
                y=float(row.get("y", 0.0)),
            ))
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
            )
            raise DataError(f"{label}: {problems}") from None
    journey = Journey(name=name or journey_data.get("name") or "Imported journey",
                      input_ids=tuple(input_ids))
    return JourneyDocument(journey=journey, milestones=tuple(milestones))


def _import(studio: Studio, args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except OSError as error:
        raise DataError(f"Can't read {args.file}: {error.strerror}.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{args.file} is not JSON: {error}.") from None
    document = import_document(studio, data, args.name)
    studio.execute(CreateJourney(document))
    print(f"Imported “{document.journey.name}” with {len(document.milestones)} milestones.")
    return 0
