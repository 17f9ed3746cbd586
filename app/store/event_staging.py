"""Moving a part's event rows into SQLite's ``events`` in one long call.

``executemany`` steps SQLite once per row and gives the GIL up and takes it back
around every step. While another thread of the import runs Python (parsing the
next part), each take-back waits for that thread's switch interval: the two
threads end up taking turns, and the time SQLite spends on the events indexes
is not used for parsing. So on SQLite the writer binds the rows into a
temporary table (quick steps, nothing else competing) and then moves them into
``events`` with one ``INSERT … SELECT``: a single call that runs for tens of
milliseconds without the GIL, while the other thread parses.

The temporary table belongs to the connection (invisible to others) and is
emptied after every move; the move is part of the writer's transaction like any
other statement, with the same constraints and foreign-key checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from itertools import chain, islice
from typing import Any

from sqlalchemy import Connection

STAGING_TABLE = "import_staged_events"

#: Rows bound per staging statement: one multi-row INSERT binds them in one call
#: (binding row by row is most of the staging time). 64 rows of 15 values stay under
#: 999 bound values, the limit of the oldest SQLite versions still around.
ROWS_PER_STATEMENT = 64


class EventStaging:
    """The temporary table of one writer's connection and the statements that use it."""

    def __init__(self, connection: Connection, columns: Sequence[str]) -> None:
        self._connection = connection
        names = ", ".join(columns)
        # No declared types: values stay as bound, and ``events`` applies its own
        # column affinities on the move, exactly as for a direct insert.
        connection.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} ({names})")
        row = f"({', '.join('?' * len(columns))})"
        self._stage = f"INSERT INTO temp.{STAGING_TABLE} ({names}) VALUES {row}"
        self._stage_many = (f"INSERT INTO temp.{STAGING_TABLE} ({names}) VALUES "
                            + ", ".join([row] * ROWS_PER_STATEMENT))
        self._move = (f"INSERT INTO main.events ({names}) "
                      f"SELECT {names} FROM temp.{STAGING_TABLE} ORDER BY ts_ms, rowid")
        self._empty = f"DELETE FROM temp.{STAGING_TABLE}"
        connection.exec_driver_sql(self._empty)  # a pooled connection may have kept one
        self.staged = 0
        """Rows staged since the last move."""

    def stage(self, rows: list[tuple[Any, ...]]) -> None:
        """Add ``rows`` (in ``columns`` order) to the chunk's staged events."""
        whole = len(rows) - len(rows) % ROWS_PER_STATEMENT
        if whole:
            values = iter(rows)
            self._connection.exec_driver_sql(self._stage_many, [
                tuple(chain.from_iterable(islice(values, ROWS_PER_STATEMENT)))
                for _ in range(whole // ROWS_PER_STATEMENT)])
        if whole < len(rows):
            self._connection.exec_driver_sql(self._stage, rows[whole:])
        self.staged += len(rows)

    def move(self, others_may_run: Callable[[], AbstractContextManager[None]]) -> None:
        """Insert the staged events into ``events`` in time order; ``others_may_run`` wraps it."""
        if not self.staged:
            return
        with others_may_run():
            self._connection.exec_driver_sql(self._move)
        self._connection.exec_driver_sql(self._empty)
        self.staged = 0

    def drop(self) -> None:
        self._connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGING_TABLE}")
