"""A chunk written in parts is one transaction: de-duplicated across its parts, whole or absent."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.store import Database, event_writer
from app.store.event_tables import EventRow
from app.store.event_writer import EventWriter
from app.store.incoming import IncomingEvent, IncomingRecord, UserRef

WEB = "in-streaming-web"
T0 = 1_790_000_000_000


def _record(line: int, *message_ids: str) -> IncomingRecord:
    events = [IncomingEvent(WEB, T0 + line, "custom_event", "Clicked", message_id=m)
              for m in message_ids]
    return IncomingRecord(line=line, user=UserRef(f"u-{line % 3}"), key=f"k{line}",
                          events=events)


def _events(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(EventRow)).scalar_one())


@pytest.mark.parametrize("move_after", [None, 1], ids=["moved-at-commit", "moved-midway"])
def test_message_ids_are_stored_once_across_the_parts_of_a_chunk(
    db: Database, move_after: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if move_after is not None:
        monkeypatch.setattr(event_writer, "MOVE_AFTER_EVENTS", move_after)
    with EventWriter(db) as writer:
        first = writer.write_part(WEB, [_record(1, "m1", "m2")])
        second = writer.write_part(WEB, [_record(2, "m2", "m3"), _record(3, "m1")])
        writer.commit()
        again = writer.write(WEB, [_record(4, "m3", "m4")])

    assert (first.events_imported, second.events_imported, second.events_duplicated) == (
        2, 1, 2)
    assert (again.events_imported, again.events_duplicated) == (1, 1)
    assert _events(db) == 4


def test_a_chunk_left_open_is_rolled_back_whole(db: Database) -> None:
    with EventWriter(db) as writer:
        writer.write(WEB, [_record(1, "m1")])
        writer.write_part(WEB, [_record(2, "m2")])
        writer.write_part(WEB, [_record(3, "m3")])
    # Closed without a commit: both parts are gone, and so are their batch keys.
    assert _events(db) == 1
    with EventWriter(db) as writer:
        result = writer.write(WEB, [_record(2, "m2"), _record(3, "m3")])
    assert (result.records_imported, result.events_imported) == (2, 2)


def test_events_moved_while_the_writer_waits_stay_in_their_chunk(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_writer, "MOVE_WHILE_WAITING_EVENTS", 2)
    with EventWriter(sqlite_db) as writer:
        writer.write_part(WEB, [_record(1, "m1", "m2")])
        writer.while_waiting()
        assert writer._staging is not None and writer._staging.staged == 0  # moved
        writer.write_part(WEB, [_record(2, "m3")])
        writer.while_waiting()
        assert writer._staging.staged == 1  # fewer than MOVE_WHILE_WAITING_EVENTS
    # Closed without a commit: the moved events went with the chunk.
    assert _events(sqlite_db) == 0
    with EventWriter(sqlite_db) as writer:
        writer.write_part(WEB, [_record(1, "m1", "m2")])
        writer.while_waiting()
        second = writer.write_part(WEB, [_record(2, "m2", "m3")])  # m2: moved already
        writer.commit()
    assert (second.events_imported, second.events_duplicated) == (1, 1)
    assert _events(sqlite_db) == 3


def test_every_staged_event_is_stored_as_given(db: Database) -> None:
    # More events than one staging statement binds, and a remainder.
    events = [IncomingEvent(WEB, T0 + (i * 7919) % 1000, "screen_view", f"Screen {i}",
                            amount=i / 4 if i % 3 else None, attributes=f'{{"i":{i}}}',
                            country="US" if i % 2 else None, message_id=f"m{i}")
              for i in range(150)]
    with EventWriter(db) as writer:
        writer.write(WEB, [IncomingRecord(line=1, user=UserRef("u-1"), key="k", events=events)])
    with db.engine.connect() as connection:
        stored = connection.execute(
            select(EventRow.ts_ms, EventRow.event_name, EventRow.amount, EventRow.attributes,
                   EventRow.country, EventRow.message_id).order_by(EventRow.id)).all()
    expected = sorted(events, key=lambda e: e.ts_ms)  # stored in time order
    assert [tuple(row) for row in stored] == [
        (e.ts_ms, e.event_name, e.amount, {"i": int(e.message_id[1:])}, e.country, e.message_id)
        for e in expected]
