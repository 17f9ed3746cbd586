"""A part's events staged outside the writer, handed over as a serialized SQLite database.

The event writer's thread is what limits an import: for every event it built a
row tuple, bound its fifteen values into the staging table and summarised it,
about 3 µs of Python an event on top of SQLite's own work. A parser running in
another process (app/ingest/parse_process.py) has a core of its own, so it does
that work instead: :class:`PartBuilder` writes a part's events into a private
in-memory SQLite database, with the record's number in the part where the user
id will go (users are the writer's to resolve), and hands the database over as
bytes (``sqlite3.Connection.serialize``: one copy of its pages). The writer
deserializes it, claims the records' keys from it (bound here, not in the
writer) and moves the rows into its staging table with one
``INSERT … SELECT`` joining record numbers to user ids (see
:meth:`app.store.event_staging.EventStaging.stage_part`), so the events of
a part cost the writer thread a few calls instead of Python per event.

What the writer still needs of a record's events (how many, their time span,
the per-user summary combinations) travels with the part as :class:`RecordFacts`;
the records themselves travel as columns (keys, users, profile fingerprints),
and a user's profile rows go into the same database only when the profile
changed (app/store/staged_profiles.py). Events carrying a ``message_id`` are
de-duplicated one by one against the store, and users named by an identity are
resolved in order, both in Python: a part with any of those is not staged.
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
from app.store.sqlite_binding import bind_none_directly
from app.store.staged_profiles import ProfileRows

STAGED_TABLE = "part_events"
PLACES_TABLE = "part_places"
STAGED_COLUMNS = ("ts_ms", "event_type", "event_name", "custom_event_type", "commerce_action",
                  "amount", "attributes", "record_no", "place_no")
"""A staged event: its own values, then its record's number in the part and its place."""
PLACE_COLUMNS = ("place_no", "input_id", "country", "region", "city", "postal_code",
                 "platform")
"""A place: what a record's events mostly share (bound once a part, not once an event)."""
KEYS_TABLE = "part_keys"
KEY_COLUMNS = ("record_no", "batch_key")
"""The de-duplication key of each record that has one (the writer claims them in SQL)."""

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
    """A part's records as columns (index = record number), events and profiles in ``database``.

    Columns, not record objects: a part crosses a process boundary, and lists of
    strings and numbers pickle and unpickle in C, where records cost Python for
    every object. ``facts[i]`` describes record i's events (None: it has none);
    ``profiled`` holds the numbers of the records whose profile rows are staged
    (app/store/staged_profiles.py).
    """

    keys: list[str | None]
    external_ids: list[str]
    fingerprints: list[int | None]
    profiled: set[int]
    facts: list[RecordFacts | None]
    database: bytes

    def __len__(self) -> int:
        return len(self.keys)


class PartBuilder:
    """Builds :class:`StagedPart` s in a private in-memory database (one per builder)."""

    def __init__(self) -> None:
        bind_none_directly()
        self._db = sqlite3.connect(":memory:", isolation_level=None)
        self._db.execute(f"CREATE TABLE {STAGED_TABLE} ({', '.join(STAGED_COLUMNS)})")
        self._db.execute(f"CREATE TABLE {PLACES_TABLE} ({PLACE_COLUMNS[0]} INTEGER PRIMARY KEY, "
                         f"{', '.join(PLACE_COLUMNS[1:])})")
        self._db.execute(f"CREATE TABLE {KEYS_TABLE} ({', '.join(KEY_COLUMNS)})")
        insert_keys = f"INSERT INTO {KEYS_TABLE} VALUES "
        self._insert_keys_many = insert_keys + values_groups(len(KEY_COLUMNS),
                                                             MAX_ROWS_PER_STATEMENT)
        self._insert_keys_one = insert_keys + values_groups(len(KEY_COLUMNS), 1)
        self._profiles = ProfileRows(self._db)
        width = len(STAGED_COLUMNS)
        self._insert_one = f"INSERT INTO {STAGED_TABLE} VALUES {values_groups(width, 1)}"
        self._insert_many = (f"INSERT INTO {STAGED_TABLE} VALUES "
                             f"{values_groups(width, MAX_ROWS_PER_STATEMENT)}")
        self._insert_place = (f"INSERT INTO {PLACES_TABLE} VALUES "
                              f"{values_groups(len(PLACE_COLUMNS), 1)}")

    def close(self) -> None:
        self._db.close()

    def build(self, records: list[IncomingRecord]) -> StagedPart | None:
        """The records as a staged part; None (records untouched) if it can't be.

        Not staged: a part with an event that has a ``message_id`` (the writer
        de-duplicates those one by one) or a record that names its user by an
        identity (the writer resolves those in order, see ``UserRef.lookup``).
        """
        if (any(map(_MESSAGE, chain.from_iterable(r.events for r in records)))
                or any(r.user.lookup is not None for r in records)):
            self._profiles.forget(records)
            return None
        rows: list[tuple[Any, ...]] = []
        facts: list[RecordFacts | None] = []
        places: dict[Combination, int] = {}
        profiled: set[int] = set()
        take_profile = self._profiles.take
        for number, record in enumerate(records):
            if take_profile(number, record):
                profiled.add(number)
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
        keys = [r.key for r in records]
        self._db.execute("BEGIN")
        for table in (STAGED_TABLE, PLACES_TABLE, KEYS_TABLE):
            self._db.execute(f"DELETE FROM {table}")
        self._db.executemany(self._insert_place,
                             [(number, *place) for place, number in places.items()])
        run_in_groups(self._db.executemany, self._insert_many, self._insert_one, rows)
        run_in_groups(self._db.executemany, self._insert_keys_many, self._insert_keys_one,
                      [(n, key) for n, key in enumerate(keys) if key is not None])
        self._profiles.write()
        self._db.execute("COMMIT")
        return StagedPart(
            keys=keys,
            external_ids=[r.user.external_id for r in records],
            fingerprints=[r.profile for r in records],
            profiled=profiled, facts=facts, database=self._db.serialize())


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

