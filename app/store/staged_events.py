"""A part's events staged outside the writer, handed over as a serialized SQLite database.

The event writer's thread is what limits an import: for every event it built a
row tuple, bound its fifteen values into the staging table and summarised it,
about 3 µs of Python an event on top of SQLite's own work. A parser running in
another process (app/ingest/parse_process.py) has a core of its own, so it does
that work instead: :class:`PartBuilder` writes a part's events into a private
in-memory SQLite database, with the record's number in the part where the user
id will go (users are the writer's to resolve), and hands the database over as
bytes (``sqlite3.Connection.serialize``: one copy of its pages). The writer
deserializes it and moves the rows into its staging table with one
``INSERT … SELECT`` joining record numbers to user ids (see
:meth:`app.store.event_staging.EventStaging.stage_serialized`), so the events of
a part cost the writer thread a few calls instead of Python per event.

What the writer still needs of a record's events (how many, their time span,
the per-user summary combinations) travels with the part as :class:`RecordFacts`.
Events carrying a ``message_id`` are de-duplicated one by one against the store,
which needs them in Python: a part with any such event is not staged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

from app.store.incoming import IncomingRecord
from app.store.multirow import MAX_ROWS_PER_STATEMENT, run_in_groups, values_groups

STAGED_TABLE = "part_events"
PLACES_TABLE = "part_places"
STAGED_COLUMNS = ("ts_ms", "event_type", "event_name", "custom_event_type", "commerce_action",
                  "amount", "attributes", "record_no", "place_no")
"""A staged event: its own values, then its record's number in the part and its place."""
PLACE_COLUMNS = ("place_no", "input_id", "country", "region", "city", "postal_code",
                 "platform")
"""A place: what a record's events mostly share (bound once a part, not once an event)."""

# Parts of an event row (app/store/incoming.py), taken in C.
_PLACE = itemgetter(0, 8, 9, 10, 11, 12)  # input, the location columns, platform
_VALUES = itemgetter(1, 2, 3, 4, 5, 6, 7)  # ts_ms … attributes
_TIME = itemgetter(1)
_MESSAGE = itemgetter(13)

Combination = tuple[Any, ...]
"""(input, country, region, city, postal code, platform) of events, as the summaries key them."""


RecordFacts = tuple[int, int, int, tuple[tuple[Combination, int], ...]]
"""What the writer needs of one record's staged events: how many, the earliest and
latest time, and each distinct combination with its earliest time. A plain tuple:
parts cross a process boundary, and plain tuples pickle in C."""


@dataclass(slots=True)
class StagedPart:
    """Records whose events are in ``database`` (their ``events`` lists are empty).

    ``facts[i]`` describes the events of ``records[i]`` (None: it has none).
    """

    records: list[IncomingRecord]
    facts: list[RecordFacts | None]
    database: bytes


class PartBuilder:
    """Builds :class:`StagedPart` s in a private in-memory database (one per builder)."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", isolation_level=None)
        self._db.execute(f"CREATE TABLE {STAGED_TABLE} ({', '.join(STAGED_COLUMNS)})")
        self._db.execute(f"CREATE TABLE {PLACES_TABLE} ({PLACE_COLUMNS[0]} INTEGER PRIMARY KEY, "
                         f"{', '.join(PLACE_COLUMNS[1:])})")
        width = len(STAGED_COLUMNS)
        self._insert_one = f"INSERT INTO {STAGED_TABLE} VALUES {values_groups(width, 1)}"
        self._insert_many = (f"INSERT INTO {STAGED_TABLE} VALUES "
                             f"{values_groups(width, MAX_ROWS_PER_STATEMENT)}")
        self._insert_place = (f"INSERT INTO {PLACES_TABLE} VALUES "
                              f"{values_groups(len(PLACE_COLUMNS), 1)}")

    def close(self) -> None:
        self._db.close()

    def build(self, records: list[IncomingRecord]) -> StagedPart | None:
        """The records as a staged part, emptying their ``events``; None if it can't be.

        None (and the records untouched) when an event has a ``message_id``.
        """
        if any(map(_MESSAGE, chain.from_iterable(r.events for r in records))):
            return None
        rows: list[tuple[Any, ...]] = []
        facts: list[RecordFacts | None] = []
        places: dict[Combination, int] = {}
        for number, record in enumerate(records):
            events = record.events
            if not events:
                facts.append(None)
                continue
            times = list(map(_TIME, events))
            low = min(times)
            event_places = list(map(_PLACE, events))
            if len(set(event_places)) == 1:  # the usual record: one place for all its events
                place = event_places[0]
                place_no = places.setdefault(place, len(places))
                tail = (number, place_no)
                rows.extend([values + tail for values in map(_VALUES, events)])
                first: tuple[tuple[Combination, int], ...] = ((place, low),)
            else:
                earliest: dict[Combination, int] = {}
                for values, place in zip(map(_VALUES, events), event_places, strict=True):
                    rows.append((*values, number, places.setdefault(place, len(places))))
                    known = earliest.get(place)
                    if known is None or values[0] < known:
                        earliest[place] = values[0]
                first = tuple(earliest.items())
            facts.append((len(events), low, max(times), first))
            record.events = []
        self._db.execute("BEGIN")
        self._db.execute(f"DELETE FROM {STAGED_TABLE}")
        self._db.execute(f"DELETE FROM {PLACES_TABLE}")
        self._db.executemany(self._insert_place,
                             [(number, *place) for place, number in places.items()])
        run_in_groups(self._db.executemany, self._insert_many, self._insert_one, rows)
        self._db.execute("COMMIT")
        return StagedPart(records, facts, self._db.serialize())


def select_staged(columns: Sequence[str], users: str) -> str:
    """SELECT of a deserialized part's events as rows of ``columns`` (events' column names).

    ``users`` names the table pairing record numbers with user ids; ``{schema}``
    in the text stands for the schema the part was deserialized into.
    """
    def source(column: str) -> str:
        if column == "user_id":
            return "u.user_id"
        if column in PLACE_COLUMNS:
            return f"c.{column}"
        if column in STAGED_COLUMNS:
            return f"p.{column}"
        return "NULL"  # message_id: parts with message ids are not staged

    return (f"SELECT {', '.join(source(c) for c in columns)} "
            f"FROM {{schema}}.{STAGED_TABLE} AS p "
            f"JOIN {users} AS u ON u.record_no = p.record_no "
            f"JOIN {{schema}}.{PLACES_TABLE} AS c ON c.place_no = p.place_no")

