"""Running a one-row SQLite INSERT for many rows, many rows to a statement.

``executemany`` of a one-row INSERT steps SQLite once per row, and stepping
(with the Python-to-SQLite round trip around each step) costs the event writer
more than SQLite spends storing a small row. The same INSERT with many
``VALUES`` groups binds a whole group of rows in one step, so the rows cost one
round trip per group instead of one each. ``ON CONFLICT`` clauses apply to
every row of a multi-row INSERT as to a single one, so upserts work the same.

Binding ``None`` costs Python's sqlite3 module several times what binding a
number or a string does (it looks for an adapter first), and the rows the
writer stores are mostly ``None`` in the same columns (an attribute row has one
value column of five set). So rows are grouped by which of their values are
``None``, and each group runs a variant of the statement with ``NULL`` written
in those places: only the other values are bound. The rows of a group keep
their order; callers whose rows' order matters must not rely on the order
across groups.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain, compress, islice
from operator import is_not
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # at run time only the callers import SQLAlchemy (not a parsing process)
    from sqlalchemy import Connection

#: Bound values per statement at most: the limit of the oldest SQLite versions still around.
MAX_BOUND_VALUES = 999
#: Rows per statement at most (more rows gain little once the round trips are few).
MAX_ROWS_PER_STATEMENT = 64


def values_groups(width: int, rows: int) -> str:
    """``(?, …), (?, …), …``: the VALUES of ``rows`` rows of ``width`` positional values."""
    return ", ".join(["(" + ", ".join("?" * width) + ")"] * rows)


def run_in_groups(execute_many: Callable[[str, list[tuple[Any, ...]]], object], many: str,
                  one: str, rows: Sequence[tuple[Any, ...]],
                  size: int = MAX_ROWS_PER_STATEMENT) -> None:
    """Run ``rows`` through ``many`` (an INSERT of ``size`` rows), the rest through ``one``.

    ``execute_many`` is an ``executemany``: a driver connection's, or SQLAlchemy's
    ``exec_driver_sql``. ``one`` is the same INSERT for a single row.
    """
    whole = len(rows) - len(rows) % size
    if whole:
        values = iter(rows)
        execute_many(many, [tuple(chain.from_iterable(islice(values, size)))
                            for _ in range(whole // size)])
    if whole < len(rows):
        execute_many(one, list(rows[whole:]))


class RowsInsert:
    """``INSERT INTO target VALUES …`` for rows of ``width`` values, many rows to a statement.

    The plain form of :class:`MultiRowInsert` (no ``None`` variants, any driver's
    ``executemany``): what a parsing process or a writer's staging binds rows with.
    """

    def __init__(self, target: str, width: int) -> None:
        head = f"INSERT INTO {target} VALUES "
        self.many = head + values_groups(width, MAX_ROWS_PER_STATEMENT)
        self.one = head + values_groups(width, 1)

    def run(self, execute_many: Callable[[str, list[tuple[Any, ...]]], object],
            rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``rows`` through ``execute_many`` (see :func:`run_in_groups`)."""
        run_in_groups(execute_many, self.many, self.one, rows)


class _Variant:
    """The statement for rows whose values are ``None`` exactly where ``kept`` is False."""

    def __init__(self, head: str, tail: str, kept: tuple[bool, ...], rows: int) -> None:
        group = "(" + ", ".join(["?" if k else "NULL" for k in kept]) + ")"
        self.kept = kept
        self.rows = rows
        self.one_row = f"{head}VALUES {group}{tail}"
        self.many_rows = f"{head}VALUES {', '.join([group] * rows)}{tail}"

    def execute(self, connection: Connection, rows: list[tuple[Any, ...]]) -> None:
        kept = self.kept
        run_in_groups(connection.exec_driver_sql, self.many_rows, self.one_row,
                      [tuple(compress(row, kept)) for row in rows], self.rows)


class MultiRowInsert:
    """A one-row ``INSERT … VALUES (?, …)`` run over lists of tuples, many rows to a step.

    ``sql`` is the one-row statement with positional parameters (``?``), exactly one
    ``VALUES`` group of ``width`` placeholders; whatever follows the group (an
    ``ON CONFLICT`` clause) applies to every row.
    """

    def __init__(self, sql: str, width: int) -> None:
        group = "(" + ", ".join(["?"] * width) + ")"
        head, found, tail = sql.partition(f"VALUES {group}")
        if not found or f"VALUES {group}" in tail or "?" in head + tail:
            raise ValueError(f"not a one-row INSERT of {width} positional values: {sql}")
        self._head, self._tail = head, tail
        self._nones = (None,) * width
        self.rows_per_statement = max(1, min(MAX_ROWS_PER_STATEMENT, MAX_BOUND_VALUES // width))
        self._variants: dict[tuple[bool, ...], _Variant] = {}

    def execute(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (tuples in the statement's column order) in as few steps as it takes."""
        groups: dict[tuple[bool, ...], list[tuple[Any, ...]]] = {}
        nones = self._nones
        for row in rows:
            kept = tuple(map(is_not, row, nones))
            group = groups.get(kept)
            if group is None:
                groups[kept] = [row]
            else:
                group.append(row)
        for kept, group in groups.items():
            variant = self._variants.get(kept)
            if variant is None:
                variant = self._variants[kept] = _Variant(
                    self._head, self._tail, kept, self.rows_per_statement)
            variant.execute(connection, group)
