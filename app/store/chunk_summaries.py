"""The per-user summary rows of the events a writer adds, computed from the rows themselves.

:func:`~app.store.event_summaries.refresh_summaries` folds new events into the
summaries by reading them back (one ``GROUP BY`` scan per summary table), which
costs an import a few microseconds per event. The event writer has the rows in
hand anyway, so it gathers the same facts here while it builds them and folds
them in with a few upserts, then moves the mark past its own events. That is
only equal to a refresh when the summaries were current before the chunk (the
events beyond the mark are exactly the chunk's); the writer checks that and
otherwise calls :func:`refresh_summaries` as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.sql.dml import Insert

from app.store.event_summaries import (
    PLACE_FIELDS,
    events,
    keeping_earliest,
    summary_insert,
    user_inputs,
    user_places,
    user_platforms,
)

#: Where the summarised values sit in an event row (``event_numbers.EVENT_ROW_FIELDS``):
#: user, input, then the location columns and the platform, and the timestamp.
_USER_INPUT = slice(0, 2)
_PLACES_PLATFORM = slice(9, 14)
_TS = 2

INPUT_COLUMNS = ("user_id", "input_id", "first_ms")
PLATFORM_COLUMNS = ("user_id", "input_id", "platform", "first_ms")
PLACE_COLUMNS = ("user_id", "input_id", "field", "value", "first_ms")


#: Combinations whose stored earliest time the writer remembers (about 200 bytes each).
STORED_LIMIT = 100_000


class ChunkSummaries:
    """The earliest timestamp of each (user, input, place, platform) among added event rows.

    One dictionary entry per distinct combination (a user's events mostly share
    them), expanded into the three summary tables' rows only when asked.

    It also remembers, across chunks, the earliest time already stored for each
    combination it folded in: events mostly arrive in time order, so a later
    chunk's combination is usually no earlier than the stored one and needs no
    upsert at all. That matters when users interleave (a live stream): every
    chunk then has most users in it, and the upserts that change nothing would
    cost more than the events themselves.
    """

    def __init__(self) -> None:
        self._first: dict[tuple[Any, ...], int] = {}
        self._stored: dict[tuple[Any, ...], int] = {}
        self.events = 0

    def add(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Take in event rows in ``EVENT_ROW_FIELDS`` order (inputs by id, not number)."""
        first = self._first
        count = 0
        for row in rows:
            count += 1
            key = row[_USER_INPUT] + row[_PLACES_PLATFORM]
            ts = row[_TS]
            known = first.get(key)
            if known is None or ts < known:
                first[key] = ts
        self.events += count

    def count_staged(self, events: int) -> None:
        """Count ``events`` folded in by the writer's staging (app/store/event_staging.py).

        They have no rows here, but the chunk's count must include them: it is
        how the writer tells that the summaries were current before the chunk.
        """
        self.events += events

    def clear(self) -> None:
        """Start the next chunk (after a commit: what was folded in is stored)."""
        stored = self._stored
        if len(stored) + len(self._first) > STORED_LIMIT:
            stored.clear()
        for key, ts in self._first.items():
            known = stored.get(key)
            if known is None or ts < known:
                stored[key] = ts
        self._first.clear()
        self.events = 0

    def forget(self) -> None:
        """Start over after a rollback: nothing of the chunk was stored."""
        self._first.clear()
        self._stored.clear()
        self.events = 0

    def rows(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """(user_inputs, user_platforms, user_places) rows, each key once with its earliest time.

        The combinations are walked latest first, so for each summary key the
        last one written (a dict comprehension, no comparisons) is the earliest.
        """
        stored = self._stored
        latest_first = sorted(
            [(key, ts) for key, ts in self._first.items()
             if (known := stored.get(key)) is None or ts < known],
            key=_TIME, reverse=True)
        inputs = {key[:2]: ts for key, ts in latest_first}
        platforms = {(*key[:2], key[6]): ts for key, ts in latest_first if key[6] is not None}
        places: dict[tuple[Any, ...], int] = {}
        for index, name in enumerate(PLACE_FIELDS, start=2):
            places.update({(key[0], key[1], name, key[index]): ts
                           for key, ts in latest_first if key[index] is not None})
        return ([(*k, ts) for k, ts in inputs.items()],
                [(*k, ts) for k, ts in platforms.items()],
                [(*k, ts) for k, ts in places.items()])


_TIME = itemgetter(1)


def upsert_statements(dialect: str) -> tuple[Insert, Insert, Insert]:
    """Upserts of one row into user_inputs, user_platforms, user_places keeping the earlier time.

    The same fold :func:`~app.store.event_summaries.refresh_summaries` does, row by
    row, with bound parameters named as in ``*_COLUMNS``.
    """
    return tuple(  # type: ignore[return-value]
        keeping_earliest(
            summary_insert(dialect, table).values({c: bindparam(c) for c in columns}),
            columns[:-1],
        )
        for table, columns in ((user_inputs, INPUT_COLUMNS), (user_platforms, PLATFORM_COLUMNS),
                               (user_places, PLACE_COLUMNS)))


def events_after(connection: Connection, last_event_id: int) -> int:
    """How many events have an id above ``last_event_id``."""
    return int(connection.execute(
        select(func.count()).select_from(events).where(events.c.id > last_event_id)
    ).scalar_one())
