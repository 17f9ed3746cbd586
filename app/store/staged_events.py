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

What the writer still needs of a record's events in Python (how many, their
time span) travels with the part as :class:`RecordFacts`, what the per-user
summaries need as rows of the part (``FIRSTS_TABLE``);
the records themselves travel as columns (keys, users, profile fingerprints),
and a user's profile rows go into the same database only when the profile
changed (app/store/staged_profiles.py). The mParticle fast path makes its events'
rows itself (``IncomingRecord.rows``), so most events are built once. Events
carrying a ``message_id`` are de-duplicated one by one against the store, and
users named by an identity are resolved in order, both in Python: a part with
any of those is not staged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any

import orjson

from app.store.incoming import (
    EVENT_TYPE_CODES,
    EVENT_TYPES_BY_CODE,
    IncomingEvent,
    IncomingRecord,
)
from app.store.multirow import RowsInsert
from app.store.sqlite_binding import bind_none_directly
from app.store.staged_profiles import ProfileRows

STAGED_TABLE = "part_events"
PLACES_TABLE = "part_places"
STAGED_COLUMNS = ("ts_ms", "type_code", "event_name", "custom_event_type", "commerce_action",
                  "amount", "attributes", "record_no", "place_no")
"""A staged event: its own values, then its record's number (``StagedPart.numbers``) and
its place's number (:class:`PlaceNumbers`)."""
PLACE_COLUMNS = ("place_no", "input_id", "country", "region", "city", "postal_code",
                 "platform")
"""A place: what a record's events mostly share (bound once a part, not once an event).
The table has one more column, ``input_no``: the writer fills it in (see
app/store/event_numbers.py)."""
KEYS_TABLE = "part_keys"
KEY_COLUMNS = ("record_no", "batch_key")
"""The de-duplication key of each record that has one (the writer claims them in SQL)."""
FIRSTS_TABLE = "part_firsts"
FIRST_COLUMNS = ("record_no", "place_no", "first_ms")
"""Each record's earliest event in each of its places: what the per-user summaries
(inputs, platforms, places) take from the part (app/store/event_staging.py folds
them in with SQL)."""

# Parts of an event row (app/store/incoming.py), taken in C.
_PLACE = itemgetter(0, 8, 9, 10, 11, 12)  # input, the location columns, platform
_AFTER_TYPE = itemgetter(3, 4, 5, 6, 7)  # event_name … attributes
_TIME = itemgetter(1)
_MESSAGE = itemgetter(13)
# … and of a staged row.
_ROW_TIME = itemgetter(0)
_ROW_PLACE = itemgetter(8)
_ROW_VALUES = itemgetter(0, 1, 2, 3, 4, 5, 6)

Combination = tuple[Any, ...]
"""(input, country, region, city, postal code, platform) of events, as the summaries key them."""

StagedRow = tuple[Any, ...]
"""A staged event as bound into the part: ``STAGED_COLUMNS`` in order."""

#: Places numbered before the numbers start over (between parts, never within one).
PLACE_NUMBER_LIMIT = 50_000


class PlaceNumbers:
    """Numbers for the places of staged rows, shared by a parser making rows and the builder.

    A parser that makes staged rows itself (the mParticle fast path, see
    ``IncomingRecord.rows``) numbers each event's place here; the builder writes
    the numbered places a part uses into the part's database.
    """

    def __init__(self) -> None:
        self._numbers: dict[Combination, int] = {}
        self.places: list[Combination] = []
        """The place of each number."""
        self._last: tuple[Any, ...] | None = None

    def number_of(self, input_id: str, location: tuple[Any, ...], platform: str | None) -> int:
        """The number of an event's place from its parts (``location``: country … postal code).

        Consecutive events mostly share their place: the last one is remembered,
        its location by identity (the parser shares one tuple per location).
        """
        last = self._last
        if (last is not None and last[1] is location and last[2] == platform
                and last[0] == input_id):
            number: int = last[3]
            return number
        number = self.number((input_id, *location, platform))
        self._last = (input_id, location, platform, number)
        return number

    def number(self, place: Combination) -> int:
        known = self._numbers.get(place)
        if known is None:
            known = self._numbers[place] = len(self.places)
            self.places.append(place)
        return known

    def between_parts(self) -> None:
        """A part is built: start over if many places are numbered (bounds memory)."""
        if len(self.places) > PLACE_NUMBER_LIMIT:
            self._numbers.clear()
            self.places.clear()
            self._last = None


RecordFacts = tuple[int, int, int]
"""What the writer needs of one record's staged events: how many, the earliest and
latest time (for the user's first and last seen). A plain tuple:
parts cross a process boundary, and plain tuples pickle in C."""


@dataclass(slots=True)
class StagedPart:
    """A part's records as columns (index = record number), events and profiles in ``database``.

    Columns, not record objects: a part crosses a process boundary, and lists of
    strings and numbers pickle and unpickle in C, where records cost Python for
    every object. ``facts[i]`` describes record i's events (None: it has none);
    ``profiled`` holds the indexes of the records whose profile rows are staged
    (app/store/staged_profiles.py).
    """

    numbers: list[int]
    """Record i's number in the part's tables (its line in the file, or i)."""
    keys: list[str | None]
    external_ids: list[str]
    fingerprints: list[int | None]
    profiled: set[int]
    facts: list[RecordFacts | None]
    database: bytes
    catalogue: list[tuple[str, str, str, str, int, int]] = field(default_factory=list)
    """The data catalogue's counts of all the part's events: (input id, kind, scope, value,
    count, latest ms) rows (app/store/catalogue.py), counted here, in the parsing
    process, so the writer adds them up instead of reading its events back."""

    def __len__(self) -> int:
        return len(self.keys)


class PartBuilder:
    """Builds :class:`StagedPart` s in a private in-memory database (one per builder)."""

    def __init__(self, places: PlaceNumbers | None = None) -> None:
        """``places``: the numbers a parser gives the places of the rows it makes."""
        bind_none_directly()
        self._places = places if places is not None else PlaceNumbers()
        self._db = sqlite3.connect(":memory:", isolation_level=None)
        self._db.execute(f"CREATE TABLE {STAGED_TABLE} ({', '.join(STAGED_COLUMNS)})")
        self._db.execute(f"CREATE TABLE {PLACES_TABLE} ({PLACE_COLUMNS[0]} INTEGER PRIMARY KEY, "
                         f"{', '.join(PLACE_COLUMNS[1:])}, input_no INTEGER)")
        self._db.execute(f"CREATE TABLE {KEYS_TABLE} ({', '.join(KEY_COLUMNS)})")
        self._db.execute(f"CREATE TABLE {FIRSTS_TABLE} ({', '.join(FIRST_COLUMNS)})")
        self._profiles = ProfileRows(self._db)
        self._insert_events = RowsInsert(STAGED_TABLE, len(STAGED_COLUMNS))
        self._insert_places = RowsInsert(f"{PLACES_TABLE} ({', '.join(PLACE_COLUMNS)})",
                                         len(PLACE_COLUMNS))
        self._insert_firsts = RowsInsert(FIRSTS_TABLE, len(FIRST_COLUMNS))
        self._insert_keys = RowsInsert(KEYS_TABLE, len(KEY_COLUMNS))

    def close(self) -> None:
        self._db.close()

    def build(self, records: list[IncomingRecord]) -> StagedPart | None:
        """The records as a staged part; None (records given events) if it can't be.

        Not staged: a part with an event that has a ``message_id`` (the writer
        de-duplicates those one by one) or a record that names its user by an
        identity (the writer resolves those in order, see ``UserRef.lookup``).
        """
        try:
            return self._build(records)
        finally:
            self._places.between_parts()

    def _build(self, records: list[IncomingRecord]) -> StagedPart | None:
        if (any(map(_MESSAGE, chain.from_iterable(r.events for r in records)))
                or any(r.user.lookup is not None for r in records)):
            self._profiles.forget(records)
            for record in records:
                if record.rows is not None:
                    record.events, record.rows = self._events_of(record.rows), None
            return None
        numbers = [r.line for r in records]
        if len(set(numbers)) != len(numbers):  # records sharing a line (a JSON array)
            numbers = list(range(len(records)))
            for number, record in zip(numbers, records, strict=True):
                if record.rows is not None:
                    record.rows = [(*_ROW_VALUES(row), number, row[8]) for row in record.rows]
        rows: list[StagedRow] = []
        facts: list[RecordFacts | None] = []
        firsts: list[tuple[int, int, int]] = []
        profiled: set[int] = set()
        take_profile = self._profiles.take
        place_number = self._places.number
        for index, (number, record) in enumerate(zip(numbers, records, strict=True)):
            if take_profile(number, record):
                profiled.add(index)
            made = record.rows
            if made is not None:  # the parser made them
                if not made:
                    facts.append(None)
                    continue
                rows.extend(made)
                times = list(map(_ROW_TIME, made))
                low = min(times)
                numbered = set(map(_ROW_PLACE, made))
                if len(numbered) == 1:
                    firsts.append((number, numbered.pop(), low))
                else:
                    _add_firsts(firsts, number, times, map(_ROW_PLACE, made))
                facts.append((len(made), low, max(times)))
                continue
            events = record.events
            if not events:
                facts.append(None)
                continue
            times = list(map(_TIME, events))
            low = min(times)
            event_places = list(map(_PLACE, events))
            if len(set(event_places)) == 1:  # the usual record: one place for all its events
                place_no = place_number(event_places[0])
                tail = (number, place_no)
                rows.extend([values + tail for values in map(_values, events)])
                firsts.append((number, place_no, low))
            else:
                place_nos = list(map(place_number, event_places))
                rows.extend([(*values, number, place_no) for values, place_no
                             in zip(map(_values, events), place_nos, strict=True)])
                _add_firsts(firsts, number, times, place_nos)
            facts.append((len(events), low, max(times)))
        keys = [r.key for r in records]
        database = self._db
        database.execute("BEGIN")
        for table in (STAGED_TABLE, PLACES_TABLE, FIRSTS_TABLE, KEYS_TABLE):
            database.execute(f"DELETE FROM {table}")
        places = self._places.places
        self._insert_places.run(database.executemany, [
            (place_no, *places[place_no]) for place_no in set(map(_ROW_PLACE, rows))])
        self._insert_events.run(database.executemany, rows)
        self._insert_firsts.run(database.executemany, firsts)
        self._insert_keys.run(database.executemany, [
            (n, key) for n, key in zip(numbers, keys, strict=True) if key is not None])
        self._profiles.write()
        database.execute("COMMIT")
        return StagedPart(
            numbers=numbers, keys=keys,
            external_ids=[r.user.external_id for r in records],
            fingerprints=[r.profile for r in records],
            profiled=profiled, facts=facts, database=database.serialize(),
            catalogue=catalogue_counts(rows, places))

    def _events_of(self, rows: list[StagedRow]) -> list[IncomingEvent]:
        """Staged rows as the events they were made of (for a part that is not staged)."""
        places = self._places.places
        return [_new_event(IncomingEvent, (places[row[8]][0], row[0], EVENT_TYPES_BY_CODE[row[1]],
                                           *row[2:7], *places[row[8]][1:], None))
                for row in rows]


_new_event = tuple.__new__


def _values(event: IncomingEvent) -> tuple[Any, ...]:
    """An event's own staged values: ``STAGED_COLUMNS`` before the record's number."""
    return (event[1], EVENT_TYPE_CODES[event[2]], *_AFTER_TYPE(event))


CatalogueCount = tuple[str, str, str, str, int, int]
"""A data catalogue count: (input id, kind, scope, value, count, latest ms)."""


def catalogue_counts(rows: list[StagedRow], places: list[Combination]) -> list[CatalogueCount]:
    """What staged ``rows`` add to the data catalogue, as app/store/catalogue.py counts events.

    Events are tallied by (place, type, name) first: a part's events share few of
    those, so the places and platforms are expanded once per combination.
    """
    tally = _Tally()
    commerce = EVENT_TYPE_CODES["commerce_event"]
    for ts, code, name, _kind, action, _amount, attributes, _record, place_no in rows:
        tally.event((place_no, code, (action if code == commerce else name) or ""), ts)
        if attributes is not None:
            tally.attributes(places[place_no][0], name or action or "", attributes, ts)
    return tally.counts(lambda place_no: places[place_no])


def catalogue_counts_of_events(rows: list[tuple[Any, ...]]) -> list[CatalogueCount]:
    """:func:`catalogue_counts` of event rows as the writer builds them: a user id, then
    an :class:`~app.store.incoming.IncomingEvent`'s fields."""
    tally = _Tally()
    for row in rows:
        input_id, ts, event_type, name, _kind, action = row[1:7]
        place = (input_id, *row[9:14])
        value = (action if event_type == "commerce_event" else name) or ""
        tally.event((place, EVENT_TYPE_CODES[event_type], value), ts)
        if row[8] is not None:
            tally.attributes(input_id, name or action or "", row[8], ts)
    return tally.counts(lambda place: place)


class _Tally:
    """Counts and latest times, by (place, type code, name) and by attribute key."""

    def __init__(self) -> None:
        self._events: dict[tuple[Any, int, str], list[int]] = {}
        self._keys: dict[tuple[str, str, str], list[int]] = {}

    def event(self, combination: tuple[Any, int, str], ts: int) -> None:
        _seen(self._events, combination, 1, ts)

    def attributes(self, input_id: str, scope: str, attributes: str | bytes, ts: int) -> None:
        parsed = orjson.loads(attributes)
        if isinstance(parsed, dict):
            for key in parsed:
                _seen(self._keys, (input_id, scope, key), 1, ts)

    def counts(self, place_of: Any) -> list[CatalogueCount]:
        """The counts by catalogue row; ``place_of`` turns a combination's place into
        (input id, country, region, city, postal code, platform)."""
        counts: dict[tuple[str, str, str, str], list[int]] = {}
        for (place, code, value), (count, last) in self._events.items():
            input_id, *location, platform = place_of(place)
            event_type = EVENT_TYPES_BY_CODE.get(code, str(code))
            _seen(counts, (input_id, "event", event_type, value), count, last)
            if platform is not None:
                _seen(counts, (input_id, "platform", "", platform), count, last)
            for place_field, where in zip(PLACE_FIELDS, location, strict=True):
                if where is not None:
                    _seen(counts, (input_id, "place", place_field, where), count, last)
        for (input_id, scope, key), (count, last) in self._keys.items():
            _seen(counts, (input_id, "event_attribute", scope, key), count, last)
        return [(*key, count, last) for key, (count, last) in counts.items()]


def _seen(counts: dict[Any, list[int]], key: Any, count: int, ts: int) -> None:
    known = counts.get(key)
    if known is None:
        counts[key] = [count, ts]
        return
    known[0] += count
    if ts > known[1]:
        known[1] = ts


PLACE_FIELDS = ("country", "region", "city", "postal_code")
"""The location columns, in place order (as app/store/event_summaries.py names them)."""


def _add_firsts(firsts: list[tuple[int, int, int]], number: int, times: list[int],
                place_nos: Iterable[int]) -> None:
    """Record ``number``'s earliest time in each of its places (events in several)."""
    earliest: dict[int, int] = {}
    for ts, place_no in zip(times, place_nos, strict=True):
        known = earliest.get(place_no)
        if known is None or ts < known:
            earliest[place_no] = ts
    firsts.extend((number, place_no, ts) for place_no, ts in earliest.items())


def select_staged(columns: Sequence[str], users: str) -> str:
    """SELECT of a deserialized part's events as rows of ``columns`` (events' column names).

    ``users`` names the table pairing record numbers with user ids; ``{schema}``
    in the text stands for the schema the part was deserialized into.
    """
    def source(column: str) -> str:
        if column == "user_id":
            return "u.user_id"
        if column in PLACE_COLUMNS or column == "input_no":
            return f"c.{column}"
        if column in STAGED_COLUMNS:
            return f"p.{column}"
        return "NULL"  # message_id: parts with message ids are not staged

    return (f"SELECT {', '.join(source(c) for c in columns)} "
            f"FROM {{schema}}.{STAGED_TABLE} AS p "
            f"JOIN {users} AS u ON u.record_no = p.record_no "
            f"JOIN {{schema}}.{PLACES_TABLE} AS c ON c.place_no = p.place_no")

