"""The summaries the event writer folds in itself equal a rebuild from the events.

The writer computes each chunk's summary rows from the rows it stores (when the
summaries were current before the chunk) instead of reading the events back;
these tests import data through it in several ways, then compare the summary
tables with what ``refresh_summaries`` makes from scratch.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from app.ingest.demo_data import DEMO_INPUTS, demo_batches, seed_demo_events
from app.ingest.importer import import_files
from app.ingest.mparticle import parse_batch
from app.ingest.values import Limits
from app.store import Database, event_writer
from app.store.event_numbers import number_input
from app.store.event_summaries import (
    refresh_summaries,
    summarised_up_to,
    summary_state,
    user_inputs,
    user_places,
    user_platforms,
)
from app.store.event_tables import EventRow, UserRow
from app.store.event_writer import EventWriter
from app.store.incoming import EVENT_TYPE_CODES

IOS = "in-streaming-ios"
NOW_MS = 1_790_000_000_000


def _summaries(connection: Connection) -> dict[str, set[tuple[Any, ...]]]:
    return {table.name: {tuple(row) for row in connection.execute(select(table))}
            for table in (user_inputs, user_platforms, user_places)}


def _assert_equal_to_a_rebuild(database: Database) -> None:
    """The summary tables hold what a from-scratch refresh makes, and the mark is current."""
    with database.engine.begin() as connection:
        folded = _summaries(connection)
        newest = connection.execute(select(EventRow.id).order_by(EventRow.id.desc())).first()
        assert newest is not None
        assert summarised_up_to(connection) == newest[0]
        for table in (user_inputs, user_platforms, user_places, summary_state):
            connection.execute(delete(table))
        refresh_summaries(connection)
        rebuilt = _summaries(connection)
    assert all(rebuilt.values())
    assert folded == rebuilt


def _files(folder: Path, users: int, *, seed: int, now_ms: int) -> dict[str, Path]:
    """The demo batches as JSON lines, one file per input."""
    paths = {input_id: folder / f"{input_id}-{seed}.jsonl" for input_id in DEMO_INPUTS}
    files = {input_id: path.open("wb") for input_id, path in paths.items()}
    try:
        for input_id, batch in demo_batches(users, seed=seed, now_ms=now_ms):
            files[input_id].write(orjson.dumps(batch) + b"\n")
    finally:
        for file in files.values():
            file.close()
    return paths


def test_imported_files_in_many_chunks_fold_like_a_rebuild(db: Database, tmp_path: Path) -> None:
    for seed, now_ms in ((1, NOW_MS), (2, NOW_MS - 30 * 86_400_000)):  # later, then earlier
        for input_id, path in _files(tmp_path, 30, seed=seed, now_ms=now_ms).items():
            import_files(db, [path], format="mparticle", input_id=input_id, chunk_size=40)
    _assert_equal_to_a_rebuild(db)


@pytest.mark.parametrize("move_after", [None, 7], ids=["moved-at-commit", "moved-midway"])
def test_chunks_written_in_parts_fold_like_a_rebuild(
    db: Database, move_after: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if move_after is not None:  # staged events move into the table before the commit too
        monkeypatch.setattr(event_writer, "MOVE_AFTER_EVENTS", move_after)
    limits = Limits()
    records = [parse_batch(batch, line, None, limits=limits, input_id=IOS,
                           default_platform="iOS")
               for line, (_input, batch) in enumerate(demo_batches(25, seed=4, now_ms=NOW_MS))]
    with EventWriter(db) as writer:
        for start in range(0, len(records), 30):
            writer.write_part(IOS, records[start:start + 10])
            writer.write_part(IOS, records[start + 10:start + 30])
            writer.commit()
    _assert_equal_to_a_rebuild(db)


def test_demo_data_stored_directly_folds_like_a_rebuild(db: Database) -> None:
    seed_demo_events(db, 40, seed=5, now_ms=NOW_MS)
    _assert_equal_to_a_rebuild(db)


def test_events_added_without_a_refresh_are_folded_in_by_the_next_chunk(
    db: Database, tmp_path: Path
) -> None:
    seed_demo_events(db, 10, seed=6, now_ms=NOW_MS)
    with db.engine.begin() as connection:  # an event the summaries do not include yet
        user_id = connection.execute(select(UserRow.id)).scalars().first()
        connection.execute(insert(EventRow).values(
            user_id=user_id, input_no=number_input(connection, "in-marketing-partner"),
            ts_ms=NOW_MS - 1, type_code=EVENT_TYPE_CODES["custom_event"],
            event_name="Outside", country="FR", platform="Web"))
    path = _files(tmp_path, 10, seed=7, now_ms=NOW_MS)[IOS]
    import_files(db, [path], format="mparticle", input_id=IOS, chunk_size=40)
    _assert_equal_to_a_rebuild(db)


def test_interleaved_users_fold_like_a_rebuild(db: Database, tmp_path: Path) -> None:
    # A live stream: batches in time order, every chunk has most users in it, and
    # most of a chunk's summary rows are already stored with an earlier time.
    batches = sorted(
        (batch for input_id, batch in demo_batches(40, seed=8, now_ms=NOW_MS)
         if input_id == IOS),
        key=lambda batch: min(e["data"]["timestamp_unixtime_ms"] for e in batch["events"]))
    path = tmp_path / "stream.jsonl"
    path.write_bytes(b"".join(orjson.dumps(batch) + b"\n" for batch in batches))
    # Then the same users again, earlier than anything stored (a backfill).
    earlier = _files(tmp_path, 40, seed=8, now_ms=NOW_MS - 60 * 86_400_000)[IOS]

    import_files(db, [path], format="mparticle", input_id=IOS, chunk_size=25)
    import_files(db, [earlier], format="mparticle", input_id=IOS, chunk_size=25)

    _assert_equal_to_a_rebuild(db)


def test_a_rolled_back_chunk_leaves_nothing_the_next_chunks_rely_on(db: Database) -> None:
    limits = Limits()
    records = [parse_batch(batch, line, None, limits=limits, input_id=IOS,
                           default_platform="iOS")
               for line, (_input, batch) in enumerate(demo_batches(10, seed=9, now_ms=NOW_MS))]
    with EventWriter(db) as writer:
        writer.write_part(IOS, records[:20])
        with pytest.raises((IntegrityError, sqlite3.IntegrityError)):
            # An unknown input fails the chunk: all of it rolls back.
            writer.write_part("no-such-input", records[20:21])
        for start in range(0, len(records), 15):  # later chunks bring the same users again
            writer.write(IOS, records[start:start + 15])
    _assert_equal_to_a_rebuild(db)
