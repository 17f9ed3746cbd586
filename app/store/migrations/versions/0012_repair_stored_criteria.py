"""Stored criteria are brought within the bounds the program now reads them with.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

Criteria are bounded and finite since this version (app/core/criteria.py: counts,
windows, numbers, NUL, nesting, clauses), and a journey is read with those rules,
so a milestone an older version stored with a count of 2**63 or a NaN value kept
the whole database from opening. Each definition that no longer reads is repaired
with the smallest change that makes it read, and every change is logged (warning)
naming the milestone and its journey:

- a count, a window's days, a list's length, the number of conditions: brought to
  the nearest bound (a count of 2**63 counts to 1,000,000);
- Infinity: the largest finite number of its sign (``< Infinity`` keeps its meaning);
- NUL characters are taken out of text, undecodable characters replaced by U+FFFD;
- a condition whose value is NaN (it compared with nothing) is removed;
- clauses past the most a definition holds are removed from its end;
- whatever still does not read takes its clause with it (and a group left empty).

Definitions that read as they are stay untouched. PostgreSQL's JSON never held NaN
or Infinity; both databases can hold the rest. There is no going back: the
downgrade keeps the repaired definitions, which every older version reads too.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("app.store.migrations")

MILESTONES = sa.table(
    "milestones",
    sa.column("id"),
    sa.column("journey_id"),
    sa.column("name"),
    sa.column("definition", sa.JSON),
)
JOURNEYS = sa.table("journeys", sa.column("id"), sa.column("name"))

_REPAIR_ROUNDS = 200
"""Clauses a definition may lose to problems no specific repair knows (each round one)."""


def upgrade() -> None:
    bind = op.get_bind()
    journeys = dict(bind.execute(sa.select(JOURNEYS.c.id, JOURNEYS.c.name)).all())
    rows = bind.execute(
        sa.select(MILESTONES.c.id, MILESTONES.c.journey_id, MILESTONES.c.name,
                  sa.cast(MILESTONES.c.definition, sa.Text))
        .order_by(MILESTONES.c.journey_id, MILESTONES.c.id)
    ).all()
    for milestone_id, journey_id, name, stored in rows:
        where = f"milestone “{name}” of the journey “{journeys.get(journey_id, journey_id)}”"
        try:
            definition = json.loads(stored) if stored is not None else None
        except ValueError:
            continue  # not JSON at all: the program names it when it reads it
        if _reads(definition):
            continue
        repaired, changes = repair(definition)
        if not _reads(repaired):
            log.warning("The criteria of the %s could not be repaired; left as they were.",
                        where)
            continue
        bind.execute(
            sa.update(MILESTONES).where(MILESTONES.c.id == milestone_id)
            .values(definition=repaired)
        )
        for change in changes:
            log.warning("Criteria of the %s: %s.", where, change)


def downgrade() -> None:
    """Nothing to undo: older versions read the repaired definitions as they are."""


def _reads(definition: Any) -> bool:
    from pydantic import ValidationError

    from app.core.criteria import AudienceDefinition

    try:
        AudienceDefinition.model_validate(definition)
    except (ValidationError, ValueError, TypeError, RecursionError):
        return False
    return True


def repair(definition: Any) -> tuple[Any, list[str]]:
    """``definition`` (JSON data) made readable, and what was changed, in words."""
    changes: list[str] = []
    if not isinstance(definition, dict) or not isinstance(definition.get("clauses"), list):
        return definition, changes
    trimmed = dict(definition)
    _trim_clauses(trimmed, changes)  # first: what is left nests shallowly enough to walk
    repaired = _Repair(changes).value(trimmed, ())
    for _round in range(_REPAIR_ROUNDS):
        problem = _first_problem(repaired)
        if problem is None:
            break
        loc, message = problem
        if not _drop_clause_at(repaired, loc, message, changes):
            break
    return repaired, changes


class _Repair:
    """The specific repairs of one definition, walking its JSON data."""

    def __init__(self, changes: list[str]) -> None:
        from app.core import criteria

        self.bounds = criteria
        self.changes = changes

    def value(self, value: Any, path: tuple[Any, ...]) -> Any:
        if isinstance(value, dict):
            return self._object(value, path)
        if isinstance(value, list):
            return [self.value(item, (*path, index)) for index, item in enumerate(value)]
        if isinstance(value, str):
            return self._text(value, path)
        if isinstance(value, float) and math.isinf(value):
            finite = math.copysign(sys.float_info.max, value)
            self.changes.append(f"{_place(path)}: {'-' if value < 0 else ''}Infinity is now "
                                f"the largest finite number of its sign")
            return finite
        return value

    def _object(self, value: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
        bounds = self.bounds
        value = dict(value)
        if value.get("kind") in ("event", "ecommerce"):
            for name in ("conditions", "amount"):  # before their values are looked at
                self._without_nan(value, name, path)
        result = {name: self.value(item, (*path, name)) for name, item in value.items()}
        if result.get("kind") in ("event", "ecommerce"):
            self._clamp(result, "count", 0, bounds.COUNT_MAX, path)
            for name in ("conditions", "amount"):
                self._shortened(result, name, bounds.CONDITIONS_MAX, path)
        if "kind" in result and "days" in result and isinstance(result["days"], int):
            self._clamp(result, "days", 1, bounds.WINDOW_DAYS_MAX, path)
        if result.get("kind") == "device":
            self._shortened(result, "platforms", bounds.LIST_VALUES_MAX, path)
        if "operator" in result and isinstance(result.get("value"), list):
            self._shortened(result, "value", bounds.LIST_VALUES_MAX, path)
        return result

    def _clamp(self, value: dict[str, Any], name: str, low: int, high: int,
               path: tuple[Any, ...]) -> None:
        number = value.get(name)
        if isinstance(number, bool) or not isinstance(number, int):
            return
        bounded = min(max(number, low), high)
        if bounded != number:
            self.changes.append(f"{_place((*path, name))} {number} is now {bounded:,}")
            value[name] = bounded

    def _without_nan(self, value: dict[str, Any], name: str, path: tuple[Any, ...]) -> None:
        items = value.get(name)
        if not isinstance(items, list):
            return
        kept = [item for item in items if not _holds_nan(item)]
        for item in items:
            if _holds_nan(item):
                attribute = item.get("attribute", name) if isinstance(item, dict) else name
                self.changes.append(f"{_place(path)}: the condition on “{attribute}” compared "
                                    f"with NaN (no number) and is removed")
        value[name] = kept

    def _shortened(self, value: dict[str, Any], name: str, most: int,
                   path: tuple[Any, ...]) -> None:
        items = value.get(name)
        if isinstance(items, list) and len(items) > most:
            self.changes.append(f"{_place((*path, name))} held {len(items):,} entries; the "
                                f"first {most:,} are kept")
            value[name] = items[:most]

    def _text(self, text: str, path: tuple[Any, ...]) -> str:
        if "\x00" in text:
            self.changes.append(f"{_place(path)}: NUL characters are taken out of "
                                f"“{text.replace(chr(0), '')[:40]}”")
            text = text.replace("\x00", "")
        if any("\ud800" <= char <= "\udfff" for char in text):
            self.changes.append(f"{_place(path)}: undecodable characters are replaced")
            text = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
        return text


def _holds_nan(value: Any) -> bool:
    """Whether a condition's value is NaN, or a list holding one."""
    if not isinstance(value, dict):
        return False
    inner = value.get("value")
    items = inner if isinstance(inner, list) else [inner]
    return any(isinstance(item, float) and math.isnan(item) for item in items)


def _trim_clauses(definition: dict[str, Any], changes: list[str]) -> None:
    """Remove top-level clauses past the most a definition holds, or nested too deeply."""
    from app.core.criteria import CLAUSES_MAX, GROUP_DEPTH_MAX

    clauses = definition["clauses"]
    kept: list[Any] = []
    total = 0
    for number, clause in enumerate(clauses, start=1):
        depth, count = _size(clause)
        if depth > GROUP_DEPTH_MAX:
            changes.append(f"clause {number} nested groups {depth} deep (at most "
                           f"{GROUP_DEPTH_MAX}) and is removed")
            continue
        if total + count > CLAUSES_MAX:
            changes.append(f"a definition holds at most {CLAUSES_MAX} clauses: clauses "
                           f"{number} to {len(clauses)} are removed")
            break
        total += count
        kept.append(clause)
    definition["clauses"] = kept


def _size(clause: Any) -> tuple[int, int]:
    """How deep groups nest in a clause's data, and how many clauses it is with those
    inside it (as app/core/criteria.py counts them); without recursing."""
    deepest = count = 0
    pending: list[tuple[Any, int]] = [(clause, 0)]
    while pending:
        current, depth = pending.pop()
        count += 1
        item = current.get("item") if isinstance(current, dict) else None
        inner = item.get("clauses") if isinstance(item, dict) else None
        if not isinstance(item, dict) or item.get("kind") != "group":
            deepest = max(deepest, depth)
        elif isinstance(inner, list) and inner:
            pending.extend((c, depth + 1) for c in inner)
        else:
            deepest = max(deepest, depth + 1)
    return deepest, count


def _first_problem(definition: Any) -> tuple[tuple[Any, ...], str] | None:
    from pydantic import ValidationError

    from app.core.criteria import AudienceDefinition, plain_problems

    try:
        AudienceDefinition.model_validate(definition)
    except ValidationError as exc:
        problems = plain_problems(exc.errors())
        first = exc.errors()[0]
        return tuple(first["loc"]), problems[0][1] if problems else first["msg"]
    return None


def _drop_clause_at(definition: dict[str, Any], loc: tuple[Any, ...], message: str,
                    changes: list[str]) -> bool:
    """Remove the innermost clause that ``loc`` points into (and groups it leaves empty)."""
    trail: list[tuple[list[Any], int]] = []  # (clause list, index) from the top down
    current: Any = definition
    index = 0
    while index + 1 < len(loc) and loc[index] == "clauses" and isinstance(current, dict):
        clauses = current.get("clauses")
        number = loc[index + 1]
        if not isinstance(clauses, list) or not isinstance(number, int) \
                or number >= len(clauses):
            break
        trail.append((clauses, number))
        item = clauses[number].get("item") if isinstance(clauses[number], dict) else None
        # pydantic names the union member after "item": clauses.0.item.group.clauses.1…
        index += 2
        if index < len(loc) and loc[index] == "item":
            index += 2 if index + 1 < len(loc) and loc[index + 1] == "group" else 1
        current = item
    if not trail:
        return False
    clauses, number = trail.pop()
    del clauses[number]
    place = " › ".join(f"clause {n + 1}" for _, n in [*trail, (clauses, number)])
    changes.append(f"{place} could not be read ({message}) and is removed")
    while trail and not clauses:  # a group left empty goes too
        clauses, number = trail.pop()
        del clauses[number]
    return True


def _place(path: tuple[Any, ...]) -> str:
    """Where in a definition ``path`` is, as the program's messages say it."""
    words: list[str] = []
    fields: list[str] = []
    index = 0
    while index < len(path):
        part = path[index]
        if part == "clauses" and index + 1 < len(path) and isinstance(path[index + 1], int):
            words.append(f"clause {path[index + 1] + 1}")
            fields = []
            index += 2
            continue
        if part != "item":
            fields.append(f"[{part + 1}]" if isinstance(part, int) else str(part))
        index += 1
    head = " › ".join(words) or "the definition"
    return head + (", " + ".".join(fields).replace(".[", "[") if fields else "")
