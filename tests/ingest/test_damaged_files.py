"""Damaged compressed files: what came before the damage is stored, the import says where
it stopped (``file: compressed data ends early (after line N)``), never a traceback."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.ingest.importer import import_files
from app.ingest.sources import GZIP_READ_SIZE
from app.store import Database
from tests.ingest.conftest import Stored

T0 = 1_793_000_000_000
BATCHES = 4000


def _batch(n: int) -> dict[str, Any]:
    return {"mpid": 1000 + n, "source_request_id": f"r{n}", "events": [
        {"event_type": "custom_event",
         "data": {"event_name": "Watch content", "timestamp_unixtime_ms": T0 + n,
                  "custom_attributes": {"title": f"Episode {n}", "n": n}}}]}


def _truncated_gzip(path: Path, keep: float = 0.5) -> Path:
    text = "".join(json.dumps(_batch(n)) + "\n" for n in range(BATCHES)).encode()
    whole = gzip.compress(text)
    path.write_bytes(whole[: int(len(whole) * keep)])
    return path


def _lines_before_damage(path: Path) -> int:
    """Whole lines a reader gets out of the damaged file (what it can decompress)."""
    data = bytearray()
    with gzip.open(path) as stream:
        try:
            while piece := stream.read(1):
                data += piece
        except EOFError:
            pass
    return data.count(b"\n")


@pytest.mark.parametrize("parsing", ["here", "in a process"])
def test_a_truncated_gzip_keeps_what_came_before_and_says_where_it_stopped(
    parsing: str, tmp_path: Path, db: Database, stored: Stored,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if parsing == "in a process":
        monkeypatch.setattr("app.ingest.importer.PARSE_PROCESS_MIN_BYTES", 0)
    path = _truncated_gzip(tmp_path / "batches.jsonl.gz")

    summary = import_files(db, [path], format="mparticle", input_id="in-streaming-ios")

    readable = _lines_before_damage(path)
    assert 0 < summary.records_imported <= readable < BATCHES
    # Reads are small: what is lost with the damage is less than one read of
    # decompressed data (the read that met it), not the file.
    line_bytes = len(json.dumps(_batch(BATCHES)) + "\n")
    lost_bytes = (readable - summary.records_imported) * line_bytes
    assert lost_bytes <= GZIP_READ_SIZE + line_bytes
    assert [str(d) for d in summary.damaged_files] == [
        f"{path}: compressed data ends early (after line {summary.records_imported:,})"]
    assert summary.records_rejected == 0
    assert len(stored.users()) == summary.records_imported
    assert "1 file not read to the end" in summary.text()


@pytest.mark.parametrize("shape", ["array", "csv", "segment"])
def test_every_reader_stops_cleanly_at_the_damage(
    shape: str, tmp_path: Path, db: Database, stored: Stored,
) -> None:
    if shape == "array":
        text = "[\n" + ",\n".join(json.dumps(_batch(n)) for n in range(BATCHES)) + "\n]\n"
        format = "mparticle"
    elif shape == "csv":
        text = "user_id,timestamp,event_name\n" + "".join(
            f"u{n},{T0 + n},Watch content\n" for n in range(BATCHES * 4))
        format = "csv"
    else:
        text = "".join(json.dumps({"type": "track", "userId": f"u{n}", "event": "Watch",
                                   "messageId": f"m{n}",
                                   "timestamp": "2026-10-26T07:33:20Z"}) + "\n"
                       for n in range(BATCHES * 4))
        format = "segment"
    path = tmp_path / f"{shape}.gz"
    whole = gzip.compress(text.encode())
    path.write_bytes(whole[: len(whole) // 2])

    summary = import_files(db, [path], format=format,  # type: ignore[arg-type]
                           input_id="in-streaming-ios")

    assert summary.records_imported > 0
    assert len(summary.damaged_files) == 1
    assert "compressed data ends early (after line" in str(summary.damaged_files[0])


def test_the_cli_reports_the_damage_and_exits_2(
    tmp_path: Path, sqlite_db: Database, sqlite_url: str, capsys: pytest.CaptureFixture[str],
    write: Callable[..., Path],
) -> None:
    damaged = _truncated_gzip(tmp_path / "damaged.jsonl.gz")
    good = write("good.jsonl", json.dumps(_batch(BATCHES + 1)) + "\n")

    code = main(["--db", sqlite_url, "import", str(damaged), str(good), "--format",
                 "mparticle", "--input", "Streaming App/iOS", "--quiet"])

    out, err = capsys.readouterr()
    assert code == 2
    assert f"{damaged}: compressed data ends early (after line " in err
    assert "Traceback" not in err
    assert "1 file not read to the end" in out
    # the file after the damaged one is imported all the same
    assert str(1000 + BATCHES + 1) in Stored(sqlite_db).users()


def test_the_cli_exits_2_for_a_missing_file(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--db", sqlite_url, "import", str(tmp_path / "nope.jsonl"), "--format",
                 "mparticle", "--input", "Streaming App/iOS"])

    assert code == 2
    assert "there is no such file" in capsys.readouterr().err
