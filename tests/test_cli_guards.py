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


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    """A database path that no refused command may create: arguments are checked first."""
    return str(tmp_path / "j.db")


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``argv``; it must stop with argparse's usage error. Returns stderr."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: journeys ")
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(("value", "reason"), [
    ("0", "a whole number of 1 or more, not “0”"),
    ("-5", "a whole number of 1 or more, not “-5”"),
    ("1.5", "a whole number of 1 or more, not “1.5”"),
    ("many", "a whole number of 1 or more, not “many”"),
])
def test_a_chunk_size_below_one_is_a_usage_error(
    value: str, reason: str, db_path: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = tmp_path / "events.csv"
    events.write_text("user_id,event_name,timestamp\n")
    err = usage_error(["--db", db_path, "import", str(events), "--format", "csv",
                       "--input", "Streaming App/iOS", f"--chunk-size={value}"], capsys)
    assert f"argument --chunk-size: {reason}" in err
    assert not Path(db_path).exists()


@pytest.mark.parametrize(("value", "reason"), [
    ("0001-01-01", "“0001-01-01” is before 2000-01-01, the earliest time events are kept"),
    ("1999-12-31T23:59:59Z", "is before 2000-01-01, the earliest time events are kept"),
    ("not-a-date", "“not-a-date” is not an ISO-8601 time; write e.g. 2024-03-01 or "
                   "2024-03-01T12:00:00Z"),
    ("2024-02-30", "“2024-02-30” is not an ISO-8601 time"),
    ("9999-12-31T23:00:00-05:00", "“9999-12-31T23:00:00-05:00” is not a time that can be "
                                  "written in UTC"),
])
def test_an_impossible_as_of_is_a_usage_error(
    value: str, reason: str, db_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = usage_error(["--db", db_path, "evaluate", "Trial to paid", f"--as-of={value}"],
                      capsys)
    assert "argument --as-of: " in err and reason in err
    assert not Path(db_path).exists()


@pytest.mark.parametrize("value", ["-1", "lots"])
def test_a_negative_number_of_demo_users_is_a_usage_error(
    value: str, db_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = usage_error(["--db", db_path, "demo", f"--users={value}"], capsys)
    assert f"argument --users: a whole number of 0 or more, not “{value}”" in err


def test_a_seed_that_is_not_a_whole_number_is_a_usage_error(
    db_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = usage_error(["--db", db_path, "demo", "--seed=x"], capsys)
    assert "argument --seed: a whole number, not “x”" in err


def test_the_earliest_and_a_zoned_as_of_are_accepted(
    db_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", db_path, "evaluate", "Trial to paid", "--json",
                 "--as-of", "2000-01-01"]) == 0
    assert '"as_of": "2000-01-01T00:00:00+00:00"' in capsys.readouterr().out
    assert main(["--db", db_path, "evaluate", "Trial to paid", "--json",
                 "--as-of", "2024-03-01T12:00:00+02:00"]) == 0
    assert '"as_of": "2024-03-01T10:00:00+00:00"' in capsys.readouterr().out
