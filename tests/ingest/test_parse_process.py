"""Large imports parse in a process of their own: the store must end up exactly the same.

``import_files`` parses files of at least ``PARSE_PROCESS_MIN_BYTES`` in a child
process that hands parts over (on SQLite with their events staged in a
serialized database). These tests lower the threshold so small files take that
path, import the same files both ways into fresh databases, and compare what a
marketer would see: every event with every column, users with their first and
last seen times, identities, attributes, the per-user summaries and the batches
remembered for de-duplication. They also cover rejections, cancellation, a
parser that fails, and an importing process that is killed.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from app.ingest import importer
from app.ingest.demo_data import demo_batches
from app.ingest.importer import import_files
from app.ingest.parse_process import ParserStopped
from app.store import Database, event_writer
from app.store.event_summaries import user_inputs, user_places, user_platforms
from app.store.event_tables import (
    EventRow,
    ImportedBatchRow,
    UserAttributeRow,
    UserIdentityRow,
    UserRow,
)
from tests.ingest.conftest import store_demo_account

REPO = Path(__file__).resolve().parents[2]
IOS = "in-streaming-ios"
WEB = "in-streaming-web"
NOW_MS = 1_790_000_000_000


def _everything(database: Database) -> dict[str, Any]:
    """The stored rows a user could see, keyed by external ids instead of surrogate ids."""
    with database.engine.connect() as connection:
        names = dict(connection.execute(select(UserRow.id, UserRow.external_id)).all())

        def rows(table: Any, *, drop: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
            result = []
            for row in connection.execute(select(table)).mappings():
                values = {k: v for k, v in row.items() if k not in drop}
                if "user_id" in values:
                    values["user_id"] = names[values["user_id"]]
                result.append(tuple(sorted(values.items(), key=lambda kv: kv[0])))
            return sorted(result, key=repr)

        return {
            "users": rows(UserRow.__table__, drop=("id",)),
            "events": rows(EventRow.__table__, drop=("id",)),
            "identities": rows(UserIdentityRow.__table__),
            "attributes": rows(UserAttributeRow.__table__),
            "batches": rows(ImportedBatchRow.__table__, drop=("imported_at",)),
            "summaries": [rows(t) for t in (user_inputs, user_platforms, user_places)],
        }


def _fresh(url: str) -> Database:
    database = Database(url)
    store_demo_account(database)
    return database


def _demo_file(path: Path, users: int, *, seed: int, interleaved: bool = False) -> Path:
    batches = [b for input_id, b in demo_batches(users, seed=seed, now_ms=NOW_MS)
               if input_id == IOS]
    if interleaved:
        batches.sort(key=lambda b: min(e["data"]["timestamp_unixtime_ms"] for e in b["events"]))
    path.write_bytes(b"".join(orjson.dumps(b) + b"\n" for b in batches))
    return path


@pytest.fixture
def in_a_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "PARSE_PROCESS_MIN_BYTES", 0)


def _both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url_of: Any,
               paths: list[Path], **options: Any) -> tuple[Any, Any, Database, Database]:
    here, there = _fresh(url_of("here")), _fresh(url_of("there"))
    first = import_files(here, paths, **options)
    monkeypatch.setattr(importer, "PARSE_PROCESS_MIN_BYTES", 0)
    second = import_files(there, paths, **options)
    return first, second, here, there


@pytest.mark.parametrize(("interleaved", "move_while_waiting"),
                         [(False, False), (True, False), (False, True)],
                         ids=["grouped", "interleaved", "moved-while-waiting"])
def test_mparticle_files_are_stored_the_same_way_by_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interleaved: bool,
    move_while_waiting: bool
) -> None:
    if move_while_waiting:  # staged events moved whenever the writer waits for a part
        monkeypatch.setattr(event_writer, "MOVE_WHILE_WAITING_EVENTS", 1)
    first_file = _demo_file(tmp_path / "a.jsonl", 40, seed=21, interleaved=interleaved)
    second_file = tmp_path / "b.jsonl.gz"  # gzip, a bad line, a repeated batch, no mpid
    lines = first_file.read_bytes().splitlines()
    anonymous = {"user_identities": {"email": "nobody@example.com"}, "source_request_id": "x",
                 "events": [{"event_type": "custom_event", "data": {
                     "event_name": "Watch content", "timestamp_unixtime_ms": NOW_MS,
                     "source_message_id": "m-1"}}]}
    regions = [None, "R0", "R0", "R1", "R1", "R1", "R0"]  # runs of two places, and none
    travelling = {"mpid": 77, "source_request_id": "trip", "events": [
        {"event_type": "custom_event", "data": {
            "event_name": "Open App", "timestamp_unixtime_ms": NOW_MS - 5 + n,
            **({"location": {"country_code": "US", "region_code": region}} if region else {})}}
        for n, region in enumerate(regions)]}
    second_file.write_bytes(gzip.compress(b"\n".join(
        [lines[3], b'{"mpid": 1, "events": [', orjson.dumps(anonymous), *lines[-50:],
         lines[-1],  # repeated in its part
         orjson.dumps(travelling)]) + b"\n"))  # in a part of its own: no message ids

    def url_of(name: str) -> str:
        return f"sqlite:///{tmp_path / name}.db"

    first, second, here, there = _both_ways(
        tmp_path, monkeypatch, url_of, [first_file, second_file], format="mparticle",
        input_id=IOS, chunk_size=97)

    assert first.events_imported > 300
    assert (second.records_imported, second.records_duplicated, second.records_rejected,
            second.events_imported, second.users_created) == (
        first.records_imported, first.records_duplicated, first.records_rejected,
        first.events_imported, first.users_created)
    assert [str(r) for r in second.rejections] == [str(r) for r in first.rejections]
    assert [r.line for r in second.rejections] == [2]
    assert _everything(there) == _everything(here)


def test_a_json_array_on_one_line_is_stored_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = [b for input_id, b in demo_batches(6, seed=8, now_ms=NOW_MS) if input_id == IOS]
    path = tmp_path / "array.json"
    path.write_bytes(orjson.dumps(batches))  # every batch on line 1

    def url_of(name: str) -> str:
        return f"sqlite:///{tmp_path / name}.db"

    first, second, here, there = _both_ways(tmp_path, monkeypatch, url_of, [path],
                                            format="mparticle", input_id=IOS, chunk_size=50)

    assert first.records_imported == len(batches) > 10
    assert second.records_imported == first.records_imported
    assert _everything(there) == _everything(here)


def test_segment_calls_with_message_ids_are_stored_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    for n in range(300):
        calls.append({"type": "track", "event": f"Event {n % 7}", "userId": f"u{n % 13}",
                      "messageId": f"m{n % 280}", "timestamp": "2026-10-01T12:00:00Z",
                      "properties": {"n": n}})
        if n % 50 == 0:
            calls.append({"type": "identify", "userId": f"u{n % 13}", "messageId": f"i{n}",
                          "timestamp": "2026-10-01T12:00:00Z", "traits": {"plan": f"p{n}"}})
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in calls))

    def url_of(name: str) -> str:
        return f"sqlite:///{tmp_path / name}.db"

    first, second, here, there = _both_ways(tmp_path, monkeypatch, url_of, [path],
                                            format="segment", input_id=WEB, chunk_size=40)

    assert first.records_duplicated == 20
    assert (second.records_imported, second.records_duplicated) == (
        first.records_imported, first.records_duplicated)
    assert _everything(there) == _everything(here)


@pytest.mark.postgres
def test_postgresql_gets_the_same_from_a_parsing_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    path = _demo_file(tmp_path / "a.jsonl", 20, seed=22, interleaved=True)
    sqlite = _fresh(f"sqlite:///{tmp_path / 'reference.db'}")
    import_files(sqlite, [path], format="mparticle", input_id=IOS, chunk_size=60)
    monkeypatch.setattr(importer, "PARSE_PROCESS_MIN_BYTES", 0)
    postgres = _fresh(pg_url)
    try:
        summary = import_files(postgres, [path], format="mparticle", input_id=IOS,
                               chunk_size=60)
        assert summary.events_imported > 100
        assert _everything(postgres) == _everything(sqlite)
    finally:
        postgres.dispose()


@pytest.mark.usefixtures("in_a_process")
def test_a_cancelled_import_stops_its_parsing_process(tmp_path: Path, sqlite_db: Database
                                                     ) -> None:
    path = _demo_file(tmp_path / "a.jsonl", 600, seed=23)
    commits: list[int] = []

    summary = import_files(sqlite_db, [path], format="mparticle", input_id=IOS,
                           chunk_size=200, progress=lambda p: commits.append(p.records),
                           cancel=lambda: len(commits) >= 2)

    assert summary.cancelled
    with sqlite_db.engine.connect() as connection:
        stored = len(connection.execute(select(ImportedBatchRow.batch_key)).all())
    assert stored == commits[-1] > 0  # whole chunks: exactly the records of the commits
    assert multiprocessing.active_children() == []


@pytest.mark.usefixtures("in_a_process")
def test_a_parser_failure_is_raised_with_its_reason_and_nothing_partial_is_kept(
    tmp_path: Path, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "PARSE_PROCESS_MIN_BYTES", 0)
    good = _demo_file(tmp_path / "good.jsonl", 1500, seed=24)
    events_of = {b["source_request_id"]: len(b["events"])
                 for b in map(orjson.loads, good.read_bytes().splitlines())}
    unreadable = tmp_path / "a-folder.jsonl"  # the parsing process fails to open it
    unreadable.mkdir()

    with pytest.raises(IsADirectoryError, match="a-folder"):
        import_files(sqlite_db, [good, unreadable], format="mparticle", input_id=IOS,
                     chunk_size=100)

    with sqlite_db.engine.connect() as connection:
        keys = connection.execute(select(ImportedBatchRow.batch_key)).scalars().all()
        events = len(connection.execute(select(EventRow.id)).all())
    assert sorted(keys) == sorted(events_of)  # the file before the failure is kept ...
    assert events == sum(events_of.values())  # ... whole, and nothing else
    assert multiprocessing.active_children() == []


def test_a_truncated_archive_keeps_the_records_before_the_damage(
    tmp_path: Path, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "PARSE_PROCESS_MIN_BYTES", 0)
    good = _demo_file(tmp_path / "good.jsonl", 1500, seed=24).read_bytes()
    events_of = {b["source_request_id"]: len(b["events"])
                 for b in map(orjson.loads, good.splitlines())}
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(good)[:-20_000])  # the archive ends mid-stream

    summary = import_files(sqlite_db, [broken], format="mparticle", input_id=IOS,
                           chunk_size=100)

    assert [d.reason.split(" (")[0] for d in summary.damaged_files] == [
        "compressed data ends early"]
    with sqlite_db.engine.connect() as connection:
        keys = connection.execute(select(ImportedBatchRow.batch_key)).scalars().all()
        events = len(connection.execute(select(EventRow.id)).all())
    assert 0 < len(keys) < len(events_of)  # the records before the damage are kept ...
    assert events == sum(events_of[k] for k in keys)  # ... whole, and nothing else
    assert multiprocessing.active_children() == []


def test_a_parser_that_dies_is_reported(tmp_path: Path, sqlite_db: Database,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "PARSE_PROCESS_MIN_BYTES", 0)
    path = _demo_file(tmp_path / "a.jsonl", 400, seed=25)
    from app.ingest import parse_process

    original = parse_process.ParserProcess.__init__

    def start_then_kill(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        os.kill(self._process.pid, signal.SIGKILL)

    monkeypatch.setattr(parse_process.ParserProcess, "__init__", start_then_kill)
    with pytest.raises(ParserStopped, match="stopped unexpectedly"):
        import_files(sqlite_db, [path], format="mparticle", input_id=IOS)


def test_the_parsing_process_ends_when_the_importing_process_is_killed(tmp_path: Path,
                                                                      sqlite_url: str) -> None:
    path = _demo_file(tmp_path / "a.jsonl", 3000, seed=26)
    _write_import_script(tmp_path / "run_import.py", chunk_size=500)
    process = subprocess.Popen([sys.executable, str(tmp_path / "run_import.py"), sqlite_url,
                                str(path)], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 60
        parsers: list[int] = []
        while not parsers:
            assert process.poll() is None, "the import ended before its parser was seen"
            assert time.monotonic() < deadline, "no parsing process within 60 s"
            parsers = _children_of(process.pid)
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)

    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in parsers):
        assert time.monotonic() < deadline, "the parsing process outlived its importer"
        time.sleep(0.1)


@pytest.mark.parametrize("run_as", ["script", "module"])
def test_the_parsing_process_does_not_run_the_programs_main_module(
        tmp_path: Path, sqlite_url: str, run_as: str) -> None:
    # A spawned child runs the parent's main module first, unless told otherwise;
    # for the ``journeys`` command that meant importing most of the program again.
    path = _demo_file(tmp_path / "a.jsonl", 300, seed=27)
    marker = tmp_path / "main-module-ran-in-the-child"
    _write_import_script(tmp_path / "run_import.py", chunk_size=250_000,
                         when_imported=f"Path({str(marker)!r}).write_text(__name__)")
    command = ([str(tmp_path / "run_import.py")] if run_as == "script"
               else ["-m", "run_import"])
    done = subprocess.run([sys.executable, *command, sqlite_url, str(path)], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 500
    assert not marker.exists(), f"the child ran the main module as {marker.read_text()}"


def _write_import_script(path: Path, *, chunk_size: int, when_imported: str = "pass") -> None:
    """A program importing argv[2] into the database argv[1] through a parsing process;
    it prints the events imported. ``when_imported`` runs if the file is imported as a
    module instead of run."""
    path.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "if __name__ != '__main__':\n"
        f"    {when_imported}\n"
        "from app.ingest import importer\n"
        "from app.store import Database\n"
        "from tests.ingest.conftest import store_demo_account\n"
        "if __name__ == '__main__':\n"
        "    importer.PARSE_PROCESS_MIN_BYTES = 0\n"
        "    database = Database(sys.argv[1])\n"
        "    store_demo_account(database)\n"
        "    summary = importer.import_files(\n"
        "        database, [Path(sys.argv[2])], format='mparticle',\n"
        f"        input_id='in-streaming-ios', chunk_size={chunk_size})\n"
        "    print(summary.events_imported)\n"
    )


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and "spawn" in (entry / "cmdline").read_text():
                children.append(int(entry.name))
    return children


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_parsing_process_loads_no_database_or_domain_libraries() -> None:
    # What it loads is memory it holds for the whole import (the peak counts both
    # processes): the parsers need neither SQLAlchemy nor the domain model.
    check = ("import sys, app.ingest.parse_process\n"
             "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
             "{'sqlalchemy', 'alembic', 'pydantic', 'networkx', 'PySide6', 'duckdb'})\n"
             "print(','.join(heavy))\n")
    loaded = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True,
                            text=True, check=True).stdout.strip()
    assert loaded == ""
