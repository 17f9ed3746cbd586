"""Cancelled or killed imports leave whole chunks only; running again completes them once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from app.ingest.demo_data import demo_batches
from app.ingest.importer import import_files
from app.store import Database
from app.store.event_tables import EventRow, ImportedBatchRow
from app.store.event_writer import EventWriter

REPO = Path(__file__).resolve().parents[2]
IOS = "in-streaming-ios"
CHUNK = 300


def _write_batches(path: Path, users: int) -> list[tuple[str, int]]:
    """The iOS batches of ``users`` demo users as JSON lines: (request id, events) in order."""
    batches = []
    with path.open("wb") as out:
        for input_id, batch in demo_batches(users, seed=11):
            if input_id == IOS:
                out.write(orjson.dumps(batch) + b"\n")
                batches.append((batch["source_request_id"], len(batch["events"])))
    return batches


def _chunk_ends(batches: list[tuple[str, int]], chunk: int) -> set[int]:
    """How many batches are stored after each whole chunk, as the importer cuts them."""
    ends, weight = {0}, 0
    for index, (_key, events) in enumerate(batches, start=1):
        weight += max(1, events)
        if weight >= chunk:
            ends.add(index)
            weight = 0
    ends.add(len(batches))
    return ends


def _stored(database: Database) -> tuple[set[str], int]:
    with database.engine.connect() as connection:
        keys = set(connection.execute(select(ImportedBatchRow.batch_key)).scalars())
        events = connection.execute(select(func.count()).select_from(EventRow)).scalar_one()
    return keys, events


def _assert_whole_chunks(database: Database, batches: list[tuple[str, int]]) -> int:
    keys, events = _stored(database)
    prefix = [key for key, _ in batches[:len(keys)]]
    assert set(prefix) == keys, "stored batches are not the file's first batches"
    assert len(keys) in _chunk_ends(batches, CHUNK), "a chunk was stored in part"
    assert events == sum(n for _, n in batches[:len(keys)]), "a batch was stored in part"
    return len(keys)


def test_cancelled_import_keeps_whole_chunks_and_a_rerun_completes_it(
    tmp_path: Path, sqlite_db: Database
) -> None:
    path = tmp_path / "batches.jsonl"
    batches = _write_batches(path, 1500)  # many chunks more than the parser may run ahead
    progress: list[int] = []

    summary = import_files(sqlite_db, [path], format="mparticle", input_id=IOS,
                           chunk_size=CHUNK, progress=lambda p: progress.append(p.records),
                           cancel=lambda: len(progress) >= 2)

    assert summary.cancelled
    stored = _assert_whole_chunks(sqlite_db, batches)
    assert 0 < stored < len(batches)
    rerun = import_files(sqlite_db, [path], format="mparticle", input_id=IOS, chunk_size=CHUNK)
    assert rerun.records_duplicated == stored
    assert _assert_whole_chunks(sqlite_db, batches) == len(batches)


def test_killed_import_process_keeps_whole_chunks_and_a_rerun_completes_it(
    tmp_path: Path, sqlite_db: Database, sqlite_url: str
) -> None:
    path = tmp_path / "batches.jsonl"
    batches = _write_batches(path, 2500)
    command = [sys.executable, "-m", "app.cli", "--db", sqlite_url, "import", str(path),
               "--format", "mparticle", "--input", "Streaming App/iOS",
               "--chunk-size", str(CHUNK), "--quiet"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not _stored(sqlite_db)[0]:
            assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the import stored nothing within 60 s"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()

    assert process.returncode == -signal.SIGKILL
    stored = _assert_whole_chunks(sqlite_db, batches)
    assert 0 < stored < len(batches), "the process was not killed mid-file"

    rerun = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300,
                           check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{stored:,} duplicated" in rerun.stdout
    assert _assert_whole_chunks(sqlite_db, batches) == len(batches)


def test_a_failing_chunk_stores_nothing_of_itself(
    tmp_path: Path, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "batches.jsonl"
    batches = _write_batches(path, 300)
    original = EventWriter._write_seen
    calls = {"n": 0}

    def fail_in_third_chunk(self: EventWriter, span: dict[int, tuple[int, int]]) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # after the chunk's events were inserted
            raise RuntimeError("disk full")
        original(self, span)

    monkeypatch.setattr(EventWriter, "_write_seen", fail_in_third_chunk)
    with pytest.raises(RuntimeError, match="disk full"):
        import_files(sqlite_db, [path], format="mparticle", input_id=IOS, chunk_size=CHUNK)

    # The first two chunks are stored, the third rolled back whole.
    assert _assert_whole_chunks(sqlite_db, batches) == sorted(_chunk_ends(batches, CHUNK))[2]
    monkeypatch.undo()
    import_files(sqlite_db, [path], format="mparticle", input_id=IOS, chunk_size=CHUNK)
    assert _assert_whole_chunks(sqlite_db, batches) == len(batches)
