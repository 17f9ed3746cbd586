"""Converting journey rows to a JourneyDocument, and a document's records to row values."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

from app.core.criteria import AudienceDefinition
from app.core.errors import DataError
from app.core.models import Journey, JourneyDocument, Milestone, Output
from app.store.repositories._support import json_value, validated, validation_summary
from app.store.schema import JourneyInputRow, JourneyRow, MilestoneRow, OutputRow


def journey_document(
    row: JourneyRow,
    input_rows: Iterable[JourneyInputRow],
    milestone_rows: Sequence[MilestoneRow],
    output_rows: Iterable[OutputRow],
) -> JourneyDocument:
    """The document of one journey row and its rows, milestones in tree order."""
    where = f"journey “{row.name}”"
    input_ids = tuple(
        i.input_id for i in sorted(input_rows, key=lambda i: (i.position, i.input_id))
    )
    journey = validated(Journey, where, id=row.id, name=row.name, input_ids=input_ids,
                        exclusive=bool(row.exclusive))
    milestones = tuple(
        milestone_from_row(row.name, m) for m in tree_order(row.name, milestone_rows)
    )
    outputs = tuple(
        validated(
            Output,
            f"output {o.id} of the {where}",
            id=o.id,
            milestone_id=o.milestone_id,
            connection_id=o.connection_id,
            active=o.active,
            x=o.x,
            y=o.y,
        )
        for o in sorted(output_rows, key=lambda o: (o.position, o.id))
    )
    return JourneyDocument(journey=journey, milestones=milestones, outputs=outputs)


def tree_order(journey_name: str, rows: Sequence[MilestoneRow]) -> list[MilestoneRow]:
    """Parents before children, siblings by ``sibling_index``: what from_document needs."""
    children: dict[str | None, list[MilestoneRow]] = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(row)
    for siblings in children.values():
        siblings.sort(key=lambda r: (r.sibling_index, r.id))
    ordered: list[MilestoneRow] = []
    stack = list(reversed(children[None]))
    while stack:
        row = stack.pop()
        ordered.append(row)
        stack.extend(reversed(children[row.id]))
    if len(ordered) != len(rows):
        lost = sorted(r.name for r in rows if r not in ordered)
        raise DataError(
            f"The saved journey “{journey_name}” has milestones that are not connected to "
            f"its start: {', '.join(f'“{n}”' for n in lost)}."
        )
    return ordered


def milestone_from_row(journey_name: str, row: MilestoneRow) -> Milestone:
    where = f"milestone “{row.name}” of the journey “{journey_name}”"
    try:
        definition = AudienceDefinition.model_validate(json_value(row.definition, where))
    except ValidationError as exc:
        raise DataError(
            f"The criteria of the {where} can't be read: {validation_summary(exc)}"
        ) from exc
    return validated(
        Milestone,
        where,
        id=row.id,
        name=row.name,
        parent_id=row.parent_id,
        remaining=row.remaining,
        definition=definition,
        x=row.x,
        y=row.y,
        variant=json_value(row.variant, where) if row.variant is not None else None,
    )


def milestone_values(milestone: Milestone, sibling_index: int) -> dict[str, Any]:
    return {
        "parent_id": milestone.parent_id,
        "sibling_index": sibling_index,
        "name": milestone.name,
        "remaining": milestone.remaining,
        "definition": milestone.definition.model_dump(mode="json"),
        "x": float(milestone.x),
        "y": float(milestone.y),
        "variant": None if milestone.variant is None else milestone.variant.model_dump(),
    }


def output_values(output: Output, position: int) -> dict[str, Any]:
    return {
        "milestone_id": output.milestone_id,
        "connection_id": output.connection_id,
        "active": output.active,
        "position": position,
        "x": float(output.x),
        "y": float(output.y),
    }
