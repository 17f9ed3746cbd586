"""Keeping the per-user summaries (inputs, platforms, places) up to date with the events.

The summaries (:class:`~app.store.event_tables.UserInputRow`, ``UserPlatformRow``,
``UserPlaceRow``) hold, per user and value, the earliest event's timestamp. They
are a function of the events alone, so they are brought up to date from the
events added since the last refresh: ``event_summary_state.last_event_id``
marks how far they go, and :func:`refresh_summaries` folds the newer events in
(one ``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`` per table, keeping
the smaller timestamp). Event ids only grow (events are never deleted on their
own; a user's are deleted with the user, and the summaries with them), so the
mark is exact.

Whoever adds events calls :func:`refresh_summaries` in the same transaction
(the event writer folds its chunk's rows in itself when the summaries were
current before it, which comes to the same, and calls it otherwise), and the
engine calls it before it reads the summaries, so they are never stale when an
audience is computed, whichever way the events came in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    case,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from app.store.event_tables import (
    EventRow,
    InputNumberRow,
    SummaryStateRow,
    UserInputRow,
    UserPlaceRow,
    UserPlatformRow,
)


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


events = _table(EventRow)
input_numbers = _table(InputNumberRow)
user_inputs = _table(UserInputRow)
user_platforms = _table(UserPlatformRow)
user_places = _table(UserPlaceRow)
summary_state = _table(SummaryStateRow)

PLACE_FIELDS = ("country", "region", "city", "postal_code")
"""The events' location columns, as ``user_places.field`` names them."""


def summarised_up_to(connection: Connection) -> int:
    """The id of the last event the summaries include (0: none)."""
    value = connection.execute(
        select(summary_state.c.last_event_id).where(summary_state.c.id == 1)
    ).scalar()
    return int(value or 0)


def refresh_summaries(connection: Connection) -> int:
    """Fold the events added since the last refresh into the summaries; returns the new mark.

    Cheap when nothing is new (one indexed lookup of the largest event id).
    """
    done = summarised_up_to(connection)
    newest = newest_event_id(connection)
    if newest <= done:
        return done
    fresh = and_(events.c.id > done, events.c.id <= newest)
    # The summaries name inputs by id; events by number (app/store/event_numbers.py).
    owner = (events.c.user_id, input_numbers.c.input_id)
    numbered = events.join(input_numbers, input_numbers.c.number == events.c.input_no)

    def first_times(*values: ColumnElement[Any], where: ColumnElement[bool] | None = None,
                    group: ColumnElement[Any] | None = None) -> Select[Any]:
        query = (select(*owner, *values, func.min(events.c.ts_ms)).select_from(numbered)
                 .where(fresh))
        if where is not None:
            query = query.where(where)
        return query.group_by(*owner, *([] if group is None else [group]))

    _fold(connection, user_inputs, ("user_id", "input_id"), first_times())
    _fold(connection, user_platforms, ("user_id", "input_id", "platform"),
          first_times(events.c.platform, where=events.c.platform.is_not(None),
                      group=events.c.platform))
    for field in PLACE_FIELDS:
        column = events.c[field]
        _fold(connection, user_places, ("user_id", "input_id", "field", "value"),
              first_times(literal(field), column, where=column.is_not(None), group=column))
    _mark(connection, newest, had_mark=done > 0 or _has_mark(connection))
    return newest


def advance_mark(connection: Connection, last_event_id: int) -> None:
    """Record that the summaries include every event up to ``last_event_id``.

    For a writer that folded its own events in (see ``app.store.chunk_summaries``).
    """
    _mark(connection, last_event_id, had_mark=_has_mark(connection))


def _has_mark(connection: Connection) -> bool:
    return connection.execute(
        select(summary_state.c.id).where(summary_state.c.id == 1)
    ).first() is not None


def _mark(connection: Connection, last_event_id: int, *, had_mark: bool) -> None:
    if had_mark:
        connection.execute(
            update(summary_state).where(summary_state.c.id == 1)
            .values(last_event_id=last_event_id)
        )
    else:
        connection.execute(insert(summary_state).values(id=1, last_event_id=last_event_id))


def newest_event_id(connection: Connection) -> int:
    """The largest event id (0 when there are no events)."""
    return int(connection.execute(select(func.max(events.c.id))).scalar() or 0)


def summary_insert(dialect: str, table: Table) -> Any:
    """An INSERT into a summary table in ``dialect``'s own form (which has ON CONFLICT)."""
    module: Any = sqlite if dialect == "sqlite" else postgresql
    return module.insert(table)


def keeping_earliest(statement: Any, keys: Sequence[str]) -> Insert:
    """``statement`` (from :func:`summary_insert`) as an upsert on ``keys`` that keeps the
    earlier ``first_ms`` of the stored row and the new one."""
    table = statement.table
    earlier: ColumnElement[Any] = case(
        (statement.excluded.first_ms < table.c.first_ms, statement.excluded.first_ms),
        else_=table.c.first_ms,
    )
    result: Insert = statement.on_conflict_do_update(
        index_elements=list(keys), set_={"first_ms": earlier}
    )
    return result


def _fold(connection: Connection, table: Table, keys: tuple[str, ...], rows: Select[Any]) -> None:
    """Upsert ``rows`` (keys…, first_ms) into ``table`` keeping the earlier first_ms."""
    statement = summary_insert(connection.dialect.name, table).from_select(
        [*keys, "first_ms"], rows
    )
    connection.execute(keeping_earliest(statement, keys))
