"""How many users audiences share, counted over the stored memberships.

The Overlap view (duplicate targeting, :mod:`app.core.overlap`) needs, for a
set of audiences, each one's size, the users each pair shares and how many
users are in two or more. Each is one grouped query over ``audience_members``
in the database (the pairs: the rows joined with themselves on the user, grouped
by the two audiences), so no user id is ever read into Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, func, select

from app.store.audience_tables import AudienceKeyRow, AudienceMemberRow, cast_table
from app.store.database import Database
from app.store.memberships import engine_of

members = cast_table(AudienceMemberRow)
keys = cast_table(AudienceKeyRow)


@dataclass(frozen=True)
class StoredOverlap:
    """Sizes, shared users per pair (ids in ascending order) and users in several."""

    sizes: dict[str, int] = field(default_factory=dict)
    shared: dict[tuple[str, str], int] = field(default_factory=dict)
    in_several: int = 0


def stored_overlap(database: Database | Engine, audience_ids: Iterable[str]) -> StoredOverlap:
    """Count the overlap of ``audience_ids`` as last evaluated (unevaluated: no members)."""
    wanted = sorted(set(audience_ids))
    if not wanted:
        return StoredOverlap()
    with engine_of(database).connect() as connection:
        numbers = _keys(connection, wanted)
        if not numbers:
            return StoredOverlap()
        return StoredOverlap(
            _sizes(connection, numbers), _pairs(connection, numbers),
            _in_several(connection, numbers),
        )


def _keys(connection: Connection, audience_ids: list[str]) -> dict[int, str]:
    rows = connection.execute(
        select(keys.c.audience_key, keys.c.audience_id).where(keys.c.audience_id.in_(audience_ids))
    )
    return {int(key): audience_id for key, audience_id in rows}


def _sizes(connection: Connection, numbers: dict[int, str]) -> dict[str, int]:
    rows = connection.execute(
        select(members.c.audience_key, func.count())
        .where(members.c.audience_key.in_(list(numbers)))
        .group_by(members.c.audience_key)
    )
    found = {numbers[int(key)]: int(count) for key, count in rows}
    return {audience_id: found.get(audience_id, 0) for audience_id in numbers.values()}


def _pairs(connection: Connection, numbers: dict[int, str]) -> dict[tuple[str, str], int]:
    """Per pair of audiences, the users in both: the member rows joined on the user."""
    one, other = members.alias("one"), members.alias("other")
    chosen = list(numbers)
    rows = connection.execute(
        select(one.c.audience_key, other.c.audience_key, func.count())
        .select_from(one.join(other, (one.c.user_id == other.c.user_id)
                              & (one.c.audience_key < other.c.audience_key)))
        .where(one.c.audience_key.in_(chosen), other.c.audience_key.in_(chosen))
        .group_by(one.c.audience_key, other.c.audience_key)
    )
    shared = {}
    for first, second, count in rows:
        a, b = sorted((numbers[int(first)], numbers[int(second)]))
        shared[(a, b)] = int(count)
    return shared


def _in_several(connection: Connection, numbers: dict[int, str]) -> int:
    per_user = (
        select(members.c.user_id)
        .where(members.c.audience_key.in_(list(numbers)))
        .group_by(members.c.user_id)
        .having(func.count() >= 2)
        .subquery()
    )
    return int(connection.execute(select(func.count()).select_from(per_user)).scalar_one())
