"""Running a one-row SQLite INSERT for many rows, many rows to a statement.

``executemany`` of a one-row INSERT steps SQLite once per row, and stepping
(with the Python-to-SQLite round trip around each step) costs the event writer
more than SQLite spends storing a small row. The same INSERT with many
``VALUES`` groups binds a whole group of rows in one step, so the rows cost one
round trip per group instead of one each. ``ON CONFLICT`` clauses apply to
every row of a multi-row INSERT as to a single one, so upserts work the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, islice
from typing import Any

from sqlalchemy import Connection

#: Bound values per statement at most: the limit of the oldest SQLite versions still around.
MAX_BOUND_VALUES = 999
#: Rows per statement at most (more rows gain little once the round trips are few).
MAX_ROWS_PER_STATEMENT = 64


class MultiRowInsert:
    """A one-row ``INSERT … VALUES (?, …)`` and its many-row form, run over lists of tuples.

    ``sql`` is the one-row statement with positional parameters (``?``), exactly one
    ``VALUES`` group of ``width`` placeholders; whatever follows the group (an
    ``ON CONFLICT`` clause) applies to every row.
    """

    def __init__(self, sql: str, width: int) -> None:
        group = "(" + ", ".join(["?"] * width) + ")"
        head, found, tail = sql.partition(f"VALUES {group}")
        if not found or f"VALUES {group}" in tail or "?" in head + tail:
            raise ValueError(f"not a one-row INSERT of {width} positional values: {sql}")
        self.rows_per_statement = max(1, min(MAX_ROWS_PER_STATEMENT, MAX_BOUND_VALUES // width))
        self.one_row = sql
        self.many_rows = f"{head}VALUES {', '.join([group] * self.rows_per_statement)}{tail}"

    def execute(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (tuples in the statement's column order) in as few steps as it takes."""
        size = self.rows_per_statement
        whole = len(rows) - len(rows) % size
        if whole:
            values = iter(rows)
            connection.exec_driver_sql(self.many_rows, [
                tuple(chain.from_iterable(islice(values, size))) for _ in range(whole // size)])
        if whole < len(rows):
            connection.exec_driver_sql(self.one_row, list(rows[whole:]))
