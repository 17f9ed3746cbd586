"""``journeys import`` and ``journeys demo``: what a person sees and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.store import Database
from tests.ingest.conftest import Stored

BATCH = {"mpid": 1, "source_request_id": "r1", "events": [
    {"event_type": "custom_event",
     "data": {"event_name": "Watch content", "timestamp_unixtime_ms": 1_793_000_000_000}}]}


def test_import_prints_rejections_progress_and_summary_and_fails_on_rejection(
    tmp_path: Path, sqlite_db: Database, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(BATCH) + "\n{oops\n")

    code = main(["--db", sqlite_url, "import", str(path), "--format", "mparticle",
                 "--input", "streaming app/iOS"])

    out, err = capsys.readouterr()
    assert code == 1
    assert f"{path}:2: broken JSON" in err
    assert "[##############################] 100%" in err
    assert "1 imported (1 events, 1 new users), 0 duplicated, 1 rejected" in out
    assert len(Stored(sqlite_db).events()) == 1


def test_import_of_a_clean_file_twice_succeeds_and_reports_duplicates(
    tmp_path: Path, sqlite_db: Database, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(BATCH) + "\n")
    args = ["--db", sqlite_url, "import", str(path), "--format", "mparticle",
            "--input", "in-streaming-ios", "--quiet"]

    assert main(args) == 0
    assert main(args) == 0

    out, err = capsys.readouterr()
    assert "0 imported (0 events, 0 new users), 1 duplicated, 0 rejected" in out
    assert err == ""


def test_import_names_the_inputs_when_the_input_is_unknown(
    tmp_path: Path, sqlite_db: Database, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(BATCH) + "\n")

    code = main(["--db", sqlite_url, "import", str(path), "--format", "mparticle",
                 "--input", "Streaming App/iPad"])

    assert code == 1
    err = capsys.readouterr().err
    assert "There is no input “Streaming App/iPad”" in err
    assert "Streaming App/iOS" in err


def test_demo_stores_users_and_writes_batch_files(
    tmp_path: Path, sqlite_db: Database, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--db", sqlite_url, "demo", "--users", "40", "--out", str(tmp_path / "out")])

    out = capsys.readouterr().out
    assert code == 0
    assert len(Stored(sqlite_db).users()) == 40
    assert "0 rejected" in out
    assert (tmp_path / "out" / "in-streaming-ios.jsonl.gz").stat().st_size > 0
    assert "--input 'Streaming App/iOS'" in out
