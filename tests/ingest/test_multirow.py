"""MultiRowInsert: many rows per statement store exactly what one row per statement would."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from app.store.multirow import MultiRowInsert

UPSERT = ("INSERT INTO t (k, v) VALUES (?, ?) "
          "ON CONFLICT (k) DO UPDATE SET v = excluded.v")


@pytest.mark.parametrize("count", [0, 1, 63, 64, 65, 200, 1000])
def test_every_row_is_stored_once_whatever_the_count(count: int) -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        connection.exec_driver_sql("INSERT INTO t (k, v) VALUES (0, 'old')")
        rows = [(k, f"v{k}") for k in range(count)]
        MultiRowInsert(UPSERT, 2).execute(connection, rows)
        stored = connection.exec_driver_sql("SELECT k, v FROM t ORDER BY k").fetchall()
    expected = rows if count else [(0, "old")]
    assert [tuple(r) for r in stored] == expected


def test_rows_with_none_in_different_places_store_null_there() -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (k INTEGER PRIMARY KEY, a, b)")
        rows = [(k, None if k % 2 else k, None if k % 3 else str(k)) for k in range(300)]
        MultiRowInsert("INSERT INTO t (k, a, b) VALUES (?, ?, ?)", 3).execute(connection, rows)
        stored = connection.exec_driver_sql("SELECT k, a, b FROM t ORDER BY k").fetchall()
    assert [tuple(r) for r in stored] == rows


def test_rows_per_statement_stay_under_the_oldest_bound_value_limit() -> None:
    wide = "INSERT INTO t (a) VALUES (" + ", ".join(["?"] * 40) + ")"
    statement = MultiRowInsert(wide, 40)
    assert statement.rows_per_statement * 40 <= 999


@pytest.mark.parametrize("sql", [
    "INSERT INTO t (k, v) VALUES (?, ?), (?, ?)",
    "INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = ?",
    "INSERT INTO t (k) VALUES (?)",
])
def test_anything_but_one_row_of_the_given_width_is_refused(sql: str) -> None:
    with pytest.raises(ValueError):
        MultiRowInsert(sql, 2)
