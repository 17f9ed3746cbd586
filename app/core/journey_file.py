"""A journey as a file: the JSON format that the File menu and the command line share.

The file is one JSON object in a versioned format::

    {"format": "journey-studio.journey", "version": 1, "criteria_version": 1,
     "journey": {"name": …, "inputs": [{"id": …, "workspace": …, "name": …}],
                 "exclusive": …},
     "milestones": [{"id": …, "name": …, "parent_id": …, "remaining": …,
                     "definition": {…criteria…}, "x": …, "y": …}, …]}

``exclusive`` is the option "users leave earlier milestones when they reach a
later one" (absent: off, as in files written before it existed).

Milestones are in tree order (parents first, siblings left to right). Outputs
are not exported: they name this account's connections. An import gives the
journey and its milestones fresh ids (so a journey can be imported twice),
rewrites audience-membership criteria that point inside the journey, and finds
each input by id or else by workspace and input name. An input the account
does not have is refused, not mapped to another: a journey's inputs are its
population, and a guess would target other people without saying so.

A file is anyone's text: whatever it holds, reading it either gives the whole
journey or a :class:`DataError` in one line that names the milestone (by name,
or by its place in the file when the name is unusable) and the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.account import AccountState, journey_name_key
from app.core.criteria import (
    DEFINITION_SCHEMA_VERSION,
    GROUP_DEPTH_MAX,
    AudienceDefinition,
    AudienceMembershipCriterion,
    Clause,
    FiniteFloat,
    Flag,
    Group,
    Text,
    location_text,
    plain_problems,
    validation_messages,
)
from app.core.errors import AudienceMembershipError, DataError, InvalidNameError
from app.core.graph import clean_name
from app.core.models import (
    NAME_MAX_LENGTH,
    Journey,
    JourneyDocument,
    Milestone,
    Variant,
    new_id,
)

FORMAT = "journey-studio.journey"
VERSION = 1


def export_document(state: AccountState, document: JourneyDocument) -> dict[str, Any]:
    """The file's content for ``document``: what :func:`import_document` reads back."""
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
        "journey": {"name": document.journey.name, "inputs": inputs,
                    "exclusive": document.journey.exclusive},
        "milestones": [
            {
                "id": m.id,
                "name": m.name,
                "parent_id": m.parent_id,
                "remaining": m.remaining,
                "definition": m.definition.model_dump(mode="json"),
                "x": m.x,
                "y": m.y,
                **({"variant": m.variant.model_dump()} if m.variant is not None else {}),
            }
            for m in document.milestones
        ],
    }


def _remap(definition: AudienceDefinition, ids: dict[str, str]) -> AudienceDefinition:
    def clause(item: Clause) -> Clause:
        inner = item.item
        if isinstance(inner, Group):
            inner = inner.model_copy(update={"clauses": tuple(clause(c) for c in inner.clauses)})
        elif isinstance(inner, AudienceMembershipCriterion) and inner.milestone_id in ids:
            inner = inner.model_copy(update={"milestone_id": ids[inner.milestone_id]})
        return item.model_copy(update={"item": inner})

    return AudienceDefinition(clauses=tuple(clause(c) for c in definition.clauses))


MAX_NESTING = 16 + 3 * GROUP_DEPTH_MAX
"""How deep a journey file's JSON may nest. A group takes three levels (group, its
clauses, a clause), and the file around the deepest criteria about a dozen; deeper
files are refused before they are parsed, since Python's JSON reader would
overflow its stack on them."""


class _Part(BaseModel):
    """A part of the file around the criteria. Fields it does not know are ignored: a
    newer program may write more."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class _InputRef(_Part):
    id: str | None = None
    workspace: str | None = None
    name: str | None = None


class _JourneyPart(_Part):
    name: str | None = None
    inputs: list[_InputRef] = []
    exclusive: Flag = False


class _MilestoneRow(_Part):
    id: str | None = Field(default=None, max_length=255)
    name: Text
    parent_id: str | None = Field(default=None, max_length=255)
    remaining: Flag = False
    definition: dict[str, Any] | None = None
    x: FiniteFloat = 0.0
    y: FiniteFloat = 0.0
    variant: Variant | None = None
    """An arm of an A/B test on the parent (kept with its test id, so users keep their arm)."""


@dataclass(frozen=True)
class Row:
    """A milestone of the file, checked: its place, its label for messages, its data."""

    number: int
    label: str
    row: _MilestoneRow
    definition: AudienceDefinition


def import_document(
    state: AccountState, data: Any, name: str | None = None
) -> JourneyDocument:
    """The journey ``data`` describes, with fresh ids, ready for ``CreateJourney``.

    Raises :class:`DataError` naming the milestone and field of the first problem.
    """
    return checked(state, data, name)[0]


def checked(
    state: AccountState, data: Any, name: str | None
) -> tuple[JourneyDocument, list[Row]]:
    """The document, and the file's rows in the same order (for messages about them)."""
    rows_data = _envelope(data)
    journey_part = _journey_part(data.get("journey"))
    journey_name = _name(name or journey_part.name or "Imported journey", "journey",
                         "--name" if name else "journey, field name")
    input_ids = _input_ids(state, journey_part.inputs)
    rows = _rows(rows_data)
    ids = {r.row.id: new_id() for r in rows if r.row.id is not None}
    milestones = tuple(
        Milestone(
            id=ids[r.row.id] if r.row.id is not None else new_id(),
            name=r.row.name,
            parent_id=ids[r.row.parent_id] if r.row.parent_id is not None else None,
            remaining=r.row.remaining,
            definition=_remap(r.definition, ids),
            x=r.row.x,
            y=r.row.y,
            variant=r.row.variant,
        )
        for r in rows
    )
    journey = Journey(name=journey_name, input_ids=tuple(input_ids),
                      exclusive=journey_part.exclusive)
    return JourneyDocument(journey=journey, milestones=milestones), rows


def _envelope(data: Any) -> list[Any]:
    """The milestones of a journey export whose format and versions this program reads."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DataError(f"This is not a journey export (expected \"format\": \"{FORMAT}\").")
    version = data.get("version")
    if version != VERSION or isinstance(version, bool):
        raise DataError(
            f"This journey export is version {shown(version)}; this program reads "
            f"version {VERSION}."
        )
    criteria_version = data.get("criteria_version", DEFINITION_SCHEMA_VERSION)
    if not isinstance(criteria_version, int) or isinstance(criteria_version, bool):
        raise DataError("journey file, field criteria_version: should be a whole number")
    if criteria_version > DEFINITION_SCHEMA_VERSION:
        raise DataError(
            f"The criteria in this file are version {criteria_version}, newer than this "
            f"program's {DEFINITION_SCHEMA_VERSION}. Update the program."
        )
    rows = data.get("milestones")
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise DataError("journey file, field milestones: should be a list")
    return rows


def _journey_part(value: Any) -> _JourneyPart:
    try:
        return _JourneyPart.model_validate(value if value is not None else {})
    except ValidationError as error:
        raise DataError(_problems("journey", error)) from None


def _input_ids(state: AccountState, inputs: Sequence[_InputRef]) -> list[str]:
    """The account's inputs the file names, by id or else by workspace and input name."""
    by_name = {
        (state.workspaces[i.workspace_id].name.casefold(), i.name.casefold()): i.id
        for i in state.inputs.values()
        if i.workspace_id in state.workspaces
    }
    input_ids: list[str] = []
    missing: list[str] = []
    for item in inputs:
        if item.id in state.inputs:
            input_ids.append(item.id)
            continue
        key = ((item.workspace or "").casefold(), (item.name or "").casefold())
        if key in by_name:
            input_ids.append(by_name[key])
        else:
            missing.append(f"{item.workspace}/{item.name}")
    if missing:
        raise DataError(
            "The journey reads inputs this account does not have: " + ", ".join(missing)
            + ". Add them in Account settings (same workspace and input names), then "
            "import again."
        )
    return input_ids


def _rows(rows_data: Sequence[Any]) -> list[Row]:
    """Every milestone of the file checked on its own: shape, name, id, parent, criteria."""
    rows: list[Row] = []
    numbers: dict[str, int] = {}
    for number, raw in enumerate(rows_data, start=1):
        if not isinstance(raw, dict):
            raise DataError(f"milestone {number}: should be an object")
        label = _label(number, raw.get("name"))
        try:
            row = _MilestoneRow.model_validate(raw)
        except ValidationError as error:
            raise DataError(_problems(label, error)) from None
        _name(row.name, "milestone", f"{label}, field name")
        if row.id is not None and row.id in numbers:
            raise DataError(
                f"{label}, field id: “{row.id}” is also the id of milestone {numbers[row.id]}"
            )
        if row.parent_id is not None and row.parent_id not in numbers:
            raise DataError(
                f"{label}, field parent_id: “{row.parent_id}” is not the id of a milestone "
                f"before it in the file (parents come before their children)"
            )
        try:
            definition = AudienceDefinition.model_validate(row.definition or {})
        except ValidationError as error:
            raise DataError(f"{label}: " + "; ".join(validation_messages(error))) from None
        if row.id is not None:
            numbers[row.id] = number
        rows.append(Row(number, label, row, definition))
    return rows


def _label(number: int, name: Any) -> str:
    """``milestone 2 (“Bought”)``, or ``milestone 2`` when the name can't be shown."""
    if (isinstance(name, str) and name.strip() and len(name) <= NAME_MAX_LENGTH
            and not _UNPRINTABLE.search(name)):
        return f"milestone {number} (“{' '.join(name.split())}”)"
    return f"milestone {number}"


def _name(name: str, what: str, where: str) -> str:
    """The name as the core stores it, or a refusal that says where it is."""
    try:
        return clean_name(name, what)
    except InvalidNameError as error:
        raise DataError(f"{where}: {error}") from None


def _problems(where: str, error: ValidationError) -> str:
    """pydantic's complaints about a part of the file, in words, on one line."""
    lines = []
    for loc, message in plain_problems(error.errors()):
        field = location_text(loc).removeprefix("definition").removeprefix(", ")
        lines.append(f"{where}, {field}: {message}" if field else f"{where}: {message}")
    return "; ".join(lines)


def where_membership(rows: Sequence[Row], document: JourneyDocument,
                      refusal: AudienceMembershipError) -> str | None:
    """The file location of the criterion a membership refusal is about, in words."""
    for r, milestone in zip(rows, document.milestones, strict=True):
        if milestone.id != refusal.milestone_id:
            continue
        loc = _membership_loc(milestone.definition.clauses, refusal.audience_id)
        return f"{r.label}: {location_text(loc)}" if loc else r.label
    return None


def _membership_loc(clauses: Sequence[Clause], audience_id: str) -> tuple[int | str, ...]:
    """The location (as pydantic writes it) of the first criterion using ``audience_id``."""
    pending: list[tuple[tuple[int | str, ...], Sequence[Clause]]] = [((), clauses)]
    while pending:
        prefix, current = pending.pop(0)
        for index, clause in enumerate(current):
            item = clause.item
            at = (*prefix, "clauses", index, "item", item.kind)
            if isinstance(item, AudienceMembershipCriterion) and item.milestone_id == audience_id:
                return (*at, "milestone_id")
            if isinstance(item, Group):
                pending.append((at, item.clauses))
    return ()


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def shown(value: object) -> str:
    """Text safe to print: control characters and undecodable bytes as ``\\xNN``."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()) & 0xFF:02x}", str(value))


def parse(file: str, text: str) -> Any:
    too_deep = _too_deep(text)
    if too_deep is not None:
        raise DataError(too_deep)
    try:
        return json.loads(text, parse_int=_whole_number)
    except RecursionError:
        raise DataError(f"{file} nests deeper than {MAX_NESTING} levels.") from None
    except ValueError as error:
        raise DataError(f"{file} is not JSON: {error}.") from None


def _whole_number(digits: str) -> int:
    """An integer of the file. Past Python's limit on reading digits, a stand-in that is
    still out of every bound, so the message names the field like any other."""
    if len(digits.lstrip("-")) <= 4000:
        return int(digits)
    return -(10**4000) if digits.startswith("-") else 10**4000


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]')


def _too_deep(text: str) -> str | None:
    """Where the JSON ``text`` nests deeper than :data:`MAX_NESTING`, in words, or None.

    Reads the brackets alone (strings skipped), so that it can't overflow, and keeps
    the path to where it is and each milestone's name, to name them.
    """
    stack: list[list[Any]] = []  # [key or index, waiting for a key?] per open container
    names: dict[int, str] = {}
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "{[":
            if len(stack) >= MAX_NESTING:
                return _deep_where([frame[0] for frame in stack], names)
            stack.append([None, True] if token == "{" else [0, False])
        elif token in "}]":
            if not stack:
                return None
            stack.pop()
        elif not stack:
            continue
        elif token == ":":
            stack[-1][1] = False
        elif token == ",":
            if isinstance(stack[-1][0], int):
                stack[-1][0] += 1
            else:
                stack[-1][1] = True
        elif stack[-1][1]:
            stack[-1][0] = _string(token)
        elif (len(stack) == 3 and stack[0][0] == "milestones" and isinstance(stack[1][0], int)
              and stack[2][0] == "name"):
            names[stack[1][0]] = _string(token)
    return None


def _string(token: str) -> str:
    try:
        value = json.loads(token)
    except ValueError:
        return ""
    return value if isinstance(value, str) else ""


def _deep_where(path: Sequence[Any], names: dict[int, str]) -> str:
    if len(path) >= 3 and path[0] == "milestones" and isinstance(path[1], int):
        return (
            f"{_label(path[1] + 1, names.get(path[1]))}, field {path[2]}: nests deeper than "
            f"{MAX_NESTING} levels; groups of criteria nest at most {GROUP_DEPTH_MAX} deep"
        )
    return f"The file nests deeper than {MAX_NESTING} levels."




def decode(raw: bytes) -> str:
    """A file's text. Bytes that are not UTF-8 are kept as lone surrogates, so that
    the message about them can say which milestone and field hold them."""
    return raw.decode("utf-8", "surrogateescape").removeprefix("\ufeff")


def to_text(state: AccountState, document: JourneyDocument) -> str:
    """The file for ``document``, as the File menu and ``journey export`` write it."""
    return json.dumps(export_document(state, document), indent=2, ensure_ascii=False) + "\n"


def free_name(state: AccountState, name: str) -> str:
    """``name``, or the first of "name (2)", "name (3)", … no journey of ``state`` has."""
    taken = {journey_name_key(g.name) for g in state.journeys()}
    candidate, number = name, 2
    while journey_name_key(candidate) in taken:
        suffix = f" ({number})"
        candidate = name[: NAME_MAX_LENGTH - len(suffix)].rstrip() + suffix
        number += 1
    return candidate


@dataclass(frozen=True)
class JourneyImport:
    """A journey read from a file, checked against the account and ready for
    ``CreateJourney``; ``renamed_from`` is the file's name when it was taken."""

    document: JourneyDocument
    renamed_from: str | None = None


def read_journey(state: AccountState, file: str, text: str, name: str | None = None,
                 *, new_name_on_clash: bool = False) -> JourneyImport:
    """The journey of a file's ``text``, checked as creating it would be.

    With ``new_name_on_clash`` a name another journey has is replaced by the first
    free "name (2)"; otherwise the clash is refused like any other problem. Raises
    :class:`DataError` whose message names the milestone and field (or the file).
    """
    try:
        document, rows = checked(state, parse(file, text), name)
        renamed_from = None
        if new_name_on_clash:
            free = free_name(state, document.journey.name)
            if free != document.journey.name:
                renamed_from = document.journey.name
                document = document.model_copy(update={
                    "journey": document.journey.model_copy(update={"name": free})})
        check_creatable(state, document, rows)
    except DataError as error:
        raise DataError(shown(error)) from None
    return JourneyImport(document, renamed_from)


def check_creatable(state: AccountState, document: JourneyDocument,
                    rows: Sequence[Row]) -> None:
    """Would the account refuse to create ``document``? A :class:`DataError` saying
    where in the file, for a criterion that uses an audience it may not use."""
    try:
        state.check_add_journey(document)
    except AudienceMembershipError as refusal:
        where = where_membership(rows, document, refusal)
        raise DataError(f"{where}: {refusal}" if where else str(refusal)) from None
