"""What the command line refuses, it refuses in one clear line, never with a traceback.

- A database the program can't keep its data in (``--db duckdb:///…``, MySQL, …):
  ``journeys: …`` naming the supported ones (SQLite, PostgreSQL), exit code 1.
- An argument that can't be right (``--chunk-size 0``, ``--as-of 0001-01-01``):
  argparse's usage error, exit code 2, before any database is opened.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main


@pytest.mark.parametrize("url", [
    "duckdb:///{tmp}/events.duckdb",
    "mysql://someone@localhost/journeys",
    "mysql+pymysql://someone:secret@localhost/journeys",
    "oracle+oracledb://someone@localhost/journeys",
    "nosuchdb://host/x",
])
def test_an_unsupported_database_is_refused_by_name(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = url.format(tmp=tmp_path)
    assert main(["--db", url, "journeys", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("journeys: Can't open the database at ")
    assert err.count("\n") == 1
    assert "SQLite" in err and "PostgreSQL" in err
    assert "Traceback" not in err and "secret" not in err
    assert list(tmp_path.iterdir()) == []  # nothing created on the way
