"""Binding None through the registered adapter stores exactly what binding it plainly did."""

from __future__ import annotations

import sqlite3

from app.store.sqlite_binding import bind_none_directly


def test_none_is_still_stored_as_null_and_other_values_as_before() -> None:
    bind_none_directly()
    bind_none_directly()  # idempotent
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (a, b, c, d)")
    connection.execute("INSERT INTO t VALUES (?, ?, ?, ?)", (None, True, 1.5, "x"))
    stored = connection.execute("SELECT a, typeof(a), b, typeof(b), c, d FROM t").fetchall()
    assert stored == [(None, "null", 1, "integer", 1.5, "x")]
