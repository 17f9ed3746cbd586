"""Staged rows made by the mParticle fast path build the same parts as events do.

In a parsing process that stages parts, the fast path gives a record's events
as the rows the part builder binds (``IncomingRecord.rows``), skipping the event
tuples in between. These tests build parts from the same lines both ways and
compare what the writer reads from them: every event with its user number and
place, the keys, the facts and the profile rows. They also cover the ways back
to events: a line with a message id, and a part that cannot be staged.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from app.ingest.demo_data import demo_batches
from app.ingest.mparticle import BatchParser
from app.ingest.mparticle_lines import LineParser
from app.ingest.values import Limits
from app.store.incoming import IncomingRecord
from app.store.staged_events import (
    KEYS_TABLE,
    PLACES_TABLE,
    STAGED_TABLE,
    PartBuilder,
    PlaceNumbers,
    StagedPart,
)
from app.store.staged_profiles import ATTRIBUTES_TABLE, IDENTITIES_TABLE

INPUT = "in-streaming-ios"
NOW_MS = 1_790_000_000_000


def _lines(users: int = 12) -> list[bytes]:
    return [orjson.dumps(batch) for input_id, batch in demo_batches(users, seed=5, now_ms=NOW_MS)
            if input_id == INPUT]


def _records(lines: list[bytes], places: PlaceNumbers | None) -> list[IncomingRecord]:
    fast = LineParser(BatchParser(limits=Limits(), input_id=INPUT, default_platform="iOS"),
                      places)
    records = [fast.parse(raw, line) for line, raw in enumerate(lines, start=1)]
    assert all(r is not None for r in records)
    return [r for r in records if r is not None]


def _content(part: StagedPart) -> dict[str, Any]:
    """What the writer reads of a part: events with their place spelled out, and the rest."""
    database = sqlite3.connect(":memory:")
    database.deserialize(part.database)
    events = database.execute(
        f"SELECT e.ts_ms, e.type_code, e.event_name, e.custom_event_type, e.commerce_action, "
        f"e.amount, e.attributes, e.record_no, p.input_id, p.country, p.region, p.city, "
        f"p.postal_code, p.platform FROM {STAGED_TABLE} AS e "
        f"JOIN {PLACES_TABLE} AS p ON p.place_no = e.place_no ORDER BY e.rowid").fetchall()
    tables = {table: database.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
              for table in (KEYS_TABLE, IDENTITIES_TABLE, ATTRIBUTES_TABLE)}
    return {"events": events, **tables, "numbers": part.numbers, "keys": part.keys,
            "users": part.external_ids, "profiled": part.profiled, "facts": part.facts}


def _parts(records: list[IncomingRecord], builder: PartBuilder, size: int) -> list[Any]:
    parts = []
    for start in range(0, len(records), size):
        part = builder.build(records[start:start + size])
        assert part is not None
        parts.append(_content(part))
    return parts


def test_rows_made_while_parsing_build_the_same_parts_as_events() -> None:
    lines = _lines()
    places = PlaceNumbers()
    as_rows = _records(lines, places)
    as_events = _records(lines, None)
    assert all(r.rows is not None and not r.events for r in as_rows)
    assert sum(len(r.events) for r in as_events) > 100

    made = _parts(as_rows, PartBuilder(places), 25)
    built = _parts(as_events, PartBuilder(), 25)

    assert made == built
    assert sum(len(part["events"]) for part in made) == sum(len(r.events) for r in as_events)
    assert made[0]["numbers"][:3] == [1, 2, 3]  # a record is numbered by its line


def test_places_are_numbered_afresh_between_parts_once_there_are_many(monkeypatch: Any) -> None:
    import app.store.staged_events as staged_events

    monkeypatch.setattr(staged_events, "PLACE_NUMBER_LIMIT", 2)
    lines = _lines()
    places = PlaceNumbers()
    builder = PartBuilder(places)
    fast = LineParser(BatchParser(limits=Limits(), input_id=INPUT, default_platform="iOS"),
                      places)
    made = []
    for start in range(0, len(lines), 10):  # parsed part by part, as chunking does
        records = [fast.parse(raw, line) for line, raw in
                   enumerate(lines[start:start + 10], start=start + 1)]
        part = builder.build([r for r in records if r is not None])
        assert part is not None
        made.append(_content(part))

    assert made == _parts(_records(lines, None), PartBuilder(), 10)


def test_a_line_with_a_message_id_gives_events() -> None:
    batch = orjson.loads(_lines()[0])
    batch["events"][-1]["data"]["source_message_id"] = "m-1"

    record = _records([orjson.dumps(batch)], PlaceNumbers())[0]

    assert record.rows is None
    assert record.events[-1].message_id == "m-1"
    assert record.events == _records([orjson.dumps(batch)], None)[0].events


def test_a_part_that_cannot_be_staged_gets_its_rows_back_as_events() -> None:
    lines = _lines()[:6]
    batch = orjson.loads(lines[-1])
    batch["events"][0]["data"]["source_message_id"] = "m-2"
    lines[-1] = orjson.dumps(batch)
    places = PlaceNumbers()
    records = _records(lines, places)
    assert records[0].rows is not None and records[-1].rows is None

    assert PartBuilder(places).build(records) is None

    assert [(r.rows, r.events) for r in records] == [
        (None, r.events) for r in _records(lines, None)]
