"""The integers that rows of audiences and outputs are stored under (``audience_keys``).

Membership, outbox and delivered-state tables hold millions of rows; keying
them by an 8-byte integer instead of the id text makes each row a few times
smaller. Audiences and outputs share the numbering (their ids never collide:
both are random 32-hex-digit ids), so one table and one function hand out
numbers for both.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from app.store.audience_tables import AudienceKeyRow, cast_table

keys = cast_table(AudienceKeyRow)


def stored_key(connection: Connection, audience_id: str) -> int | None:
    found = connection.execute(
        select(keys.c.audience_key).where(keys.c.audience_id == audience_id)
    ).scalar()
    return None if found is None else int(found)


def key_of(connection: Connection, audience_id: str) -> int:
    """The key ``audience_id``'s rows are stored under; numbers a new audience.

    A new audience gets the next number, so its rows go after every stored
    one (see :class:`AudienceKeyRow`). On PostgreSQL an evaluation of another
    journey may take the same number at the same time: the loser's insert
    fails and it tries the next number (a savepoint keeps its transaction).
    SQLite runs one evaluation's writes at a time, and DuckDB one process.
    """
    for _attempt in range(10):
        found = stored_key(connection, audience_id)
        if found is not None:
            return found
        top = connection.execute(select(func.max(keys.c.audience_key))).scalar()
        number = int(top or 0) + 1
        statement = insert(keys).values(audience_id=audience_id, audience_key=number)
        if connection.dialect.name != "postgresql":
            connection.execute(statement)
            return number
        try:
            with connection.begin_nested():
                connection.execute(statement)
            return number
        except IntegrityError:
            continue
    raise RuntimeError(f"could not number audience {audience_id}: too many concurrent runs")
