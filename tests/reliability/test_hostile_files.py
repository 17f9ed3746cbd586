"""A corpus of hostile import files, made here, run through `journeys import` on SQLite and
on PostgreSQL with the same expectations: each case's exit code, the message naming the
file (and line), and the records stored before and after. Nothing of a bad record is
stored; the rest of the file is (DESIGN.md section 6)."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from app.cli import main
from app.store.event_tables import EventRow, ImportedBatchRow

T0 = 1_793_000_000_000


def _batch(n: int) -> dict[str, Any]:
    return {"mpid": 5000 + n, "source_request_id": f"hostile-{n}", "events": [
        {"event_type": "custom_event",
         "data": {"event_name": "Watch content", "timestamp_unixtime_ms": T0 + n}}]}


def _line(n: int) -> bytes:
    return json.dumps(_batch(n)).encode()


def _with(n: int, text: str) -> bytes:
    return _line(n)[:-1] + b", " + text.encode() + b"}"


GOOD_LINES = b"\n".join(_line(n) for n in range(1, 41)) + b"\n"
MANY_LINES = b"\n".join(_line(n) for n in range(1, 4001)) + b"\n"
_PACKED = gzip.compress(MANY_LINES)


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes
    format: str
    exit_code: int
    message: str
    """Expected on stderr after ``<file>`` (``:line: reason`` or ``: reason``)."""
    stored: int
    """Records (batches, calls, rows) the import stores."""
    suffix: str = ".jsonl"


CASES = [
    Case("broken first line", b'{"mpid": 1, "events": [\n' + GOOD_LINES, "mparticle", 1,
         ":1: broken JSON", 40),
    Case("trailing comma first", b'{"mpid": 1, "events": [],}\n' + GOOD_LINES, "mparticle",
         1, ":1: broken JSON", 40),
    Case("bad UTF-8 first", b'{"mpid": 1, "note": "caf\xe9"}\n' + GOOD_LINES, "mparticle", 1,
         ":1: not valid UTF-8 text", 40),
    Case("deep nesting", _line(1) + b"\n{\"mpid\": 2, \"x\": " + b"[" * 20_000
         + b"]" * 20_000 + b"}\n" + _line(3) + b"\n", "mparticle", 1,
         ":2: broken JSON: the batch is nested too deeply", 2),
    Case("NaN", _line(1) + b"\n" + _with(2, '"user_attributes": {"n": NaN}') + b"\n"
         + _line(3) + b"\n", "mparticle", 1, ":2: broken JSON: NaN is not a JSON number", 2),
    Case("Infinity in an array", b"[" + _line(1) + b",\n"
         + _with(2, '"user_attributes": {"n": Infinity}') + b",\n" + _line(3) + b"]",
         "mparticle", 1, ":2: Infinity is not a JSON number", 2, ".json"),
    Case("huge integer in an array", b"[" + _line(1) + b",\n"
         + _with(2, '"user_attributes": {"n": 99999999999999999999999}') + b"]",
         "mparticle", 1,
         ":2: user_attributes.n: the integer 99999999999999999999999 is beyond 64 bits", 1,
         ".json"),
    Case("huge mpid", b'{"mpid": 123456789012345678901234567890, "events": []}\n'
         + _line(2) + b"\n", "mparticle", 1,
         ":1: mpid: the integer 123456789012345678901234… is beyond 64 bits", 1),
    # Integers past 64 bits where the importer stores a value: read as rounded numbers,
    # they would be stored wrong; the batch is refused instead, naming the field.
    Case("huge integer in a user attribute", _line(1) + b"\n"
         + _with(2, '"user_attributes": {"score": 18446744073709551616}') + b"\n"
         + _line(3) + b"\n", "mparticle", 1,
         ":2: user_attributes.score: the integer 18446744073709551616 is beyond 64 bits", 2),
    Case("huge integer in an event attribute", _line(1) + b"\n"
         + json.dumps(_batch(2)).encode().replace(
             b'"Watch content"', b'"Watch content", "custom_attributes": '
             b'{"n": -9223372036854775809}') + b"\n" + _line(3) + b"\n", "mparticle", 1,
         ":2: events[0].data.custom_attributes.n: the integer -9223372036854775809 is "
         "beyond 64 bits", 2),
    Case("huge integer in a listed user attribute", _line(1) + b"\n"
         + _with(2, '"user_attributes": {"ids": [1, 99999999999999999999]}') + b"\n",
         "mparticle", 1,
         ":2: user_attributes.ids[1]: the integer 99999999999999999999 is beyond 64 bits", 1),
    Case("huge integer in an event attribute in an array", b"[" + _line(1) + b",\n"
         + json.dumps(_batch(2)).encode().replace(
             b'"Watch content"', b'"Watch content", "custom_attributes": '
             b'{"n": 99999999999999999999999}') + b"]", "mparticle", 1,
         ":2: events[0].data.custom_attributes.n: the integer 99999999999999999999999 is "
         "beyond 64 bits", 1, ".json"),
    # Where nothing is read, too: JSON lines refuse it as JSON arrays do.
    Case("huge integer in a field nothing reads", _line(1) + b"\n"
         + _with(2, '"ignored": 18446744073709551616') + b"\n"
         + _line(3) + b"\n", "mparticle", 1,
         ":2: ignored: the integer 18446744073709551616 is beyond 64 bits", 2),
    Case("huge integer in a field nothing reads, in an array", b"[" + _line(1) + b",\n"
         + _with(2, '"ignored": 18446744073709551616') + b"]", "mparticle", 1,
         ":2: ignored: the integer 18446744073709551616 is beyond 64 bits", 1, ".json"),
    Case("huge integer in Segment properties",
         b"".join(json.dumps(c).encode() + b"\n" for c in (
             {"type": "track", "userId": "u1", "event": "W", "messageId": "m1",
              "timestamp": "2026-10-26T07:33:20Z", "properties": {"n": 2**64}},
             {"type": "identify", "userId": "u1", "messageId": "m2",
              "timestamp": "2026-10-26T07:33:20Z", "traits": {"n": -(2**63) - 1}},
             {"type": "track", "userId": "u1", "event": "W", "messageId": "m3",
              "timestamp": "2026-10-26T07:33:20Z", "properties": {"n": 2**63}})),
         "segment", 1, ":1: properties.n: the integer 18446744073709551616 is beyond 64 bits",
         1),
    Case("huge integer in a CSV number column",
         b"user_id,timestamp,event_name,attr.n:number,user.m:number\n"
         b"u1,2026-10-26T07:33:20Z,W,18446744073709551616,\n"
         b"u1,2026-10-26T07:33:20Z,W,,-9223372036854775809\n"
         b"u1,2026-10-26T07:33:20Z,W,1e30,18446744073709551615\n",
         "csv", 1, ":2: column attr.n: the integer 18446744073709551616 is beyond 64 bits",
         1, ".csv"),
    Case("truncated gzip", _PACKED[: len(_PACKED) // 2], "mparticle", 2,
         ": compressed data ends early (after line ", -1, ".jsonl.gz"),
    Case("long Segment ids",
         b"".join(json.dumps(c).encode() + b"\n" for c in (
             {"type": "track", "userId": "u1", "event": "W", "messageId": "m" * 252,
              "timestamp": "2026-10-26T07:33:20Z"},
             {"type": "track", "anonymousId": "a" * 246, "event": "W", "messageId": "m2",
              "timestamp": "2026-10-26T07:33:20Z"})),
         "segment", 0, "", 2),
]


def _stored(url: str) -> tuple[int, int]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            batches = connection.execute(
                select(func.count()).select_from(ImportedBatchRow)).scalar_one()
            events = connection.execute(select(func.count()).select_from(EventRow)).scalar_one()
        return int(batches), int(events)
    finally:
        engine.dispose()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_hostile_file_gets_its_exit_code_and_message_and_stores_only_good_records(
    case: Case, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"hostile{case.suffix}"
    path.write_bytes(case.content)
    input_name = "Streaming App/Web" if case.format == "segment" else "Streaming App/iOS"
    assert main(["--db", db_url, "account", "show"]) == 0  # a new database, demo included
    capsys.readouterr()
    before = _stored(db_url)

    code = main(["--db", db_url, "import", str(path), "--format", case.format,
                 "--input", input_name, "--quiet"])

    out, err = capsys.readouterr()
    after = _stored(db_url)
    assert code == case.exit_code, err
    assert "Traceback" not in err
    if case.message:
        assert f"{path}{case.message}" in err
    else:
        assert err == ""
    new_records = after[0] - before[0]
    if case.stored >= 0:
        assert new_records == case.stored
    else:  # what came before the damage: some, not all
        assert 0 < new_records < 4000
    assert "imported" in out
