"""Events store their input and their type as small integers; this is where they get them.

Both covering indexes of ``events`` hold the type and the input in every entry
(see :class:`~app.store.event_tables.EventRow`): as text (a 32-character input
id, a type name) they were most of an entry, and index upkeep is most of what
storing an event costs. So ``events.type_code`` holds ``EVENT_TYPE_CODES[type]``
and ``events.input_no`` the input's number in ``input_numbers``, given to an
input the first time its events are stored.

Importers keep speaking names (:class:`~app.store.incoming.IncomingEvent`);
the writer turns an event row into a stored row here, once, just before it is
stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Select, case, func, select
from sqlalchemy.dialects import postgresql, sqlite

from app.store.event_summaries import events, input_numbers
from app.store.incoming import EVENT_TYPE_CODES, EVENT_TYPES_BY_CODE, IncomingEvent

EVENT_ROW_FIELDS = ("user_id", *IncomingEvent._fields)
"""An event row as the writer builds it: the user, then :class:`IncomingEvent` (names)."""
STORED_EVENT_COLUMNS = ("user_id", "input_no", "ts_ms", "type_code",
                        *IncomingEvent._fields[3:])
"""The ``events`` columns an event row is stored in, in the same order."""


class InputNumbers:
    """The number of each input in ``input_numbers``, as one writer's connection sees it.

    Numbers given inside a chunk's transaction vanish if the chunk is rolled
    back: the writer calls :meth:`forget` then.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._numbers: dict[str, int] = {}

    def number_of(self, input_id: str) -> int:
        """The input's number, given it now if it has none (in the open transaction)."""
        number = self._numbers.get(input_id)
        if number is None:
            number = self._numbers[input_id] = number_input(self._connection, input_id)
        return number

    def stored_rows(self, rows: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Event rows (``EVENT_ROW_FIELDS``) as stored rows (``STORED_EVENT_COLUMNS``)."""
        codes = EVENT_TYPE_CODES
        numbers = self._numbers
        number_of = self.number_of
        stored = []
        for row in rows:
            number = numbers.get(row[1])
            if number is None:
                number = number_of(row[1])
            stored.append((row[0], number, row[2], codes[row[3]], *row[4:]))
        return stored

    def forget(self) -> None:
        self._numbers.clear()


def number_input(connection: Connection, input_id: str) -> int:
    """``input_id``'s number, inserting its ``input_numbers`` row if it has none.

    SQLite and PostgreSQL number it themselves (autoincrement, racing writers
    settled by the unique input id); elsewhere (DuckDB's copy of the tables has
    no autoincrement) it gets the next number.
    """
    dialect = connection.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        connection.execute(insert(input_numbers).values(input_id=input_id)
                           .on_conflict_do_nothing(index_elements=["input_id"]))
    elif _number_of(connection, input_id) is None:
        last = connection.execute(select(func.max(input_numbers.c.number))).scalar()
        connection.execute(input_numbers.insert().values(number=(last or 0) + 1,
                                                         input_id=input_id))
    number = _number_of(connection, input_id)
    assert number is not None
    return number


def _number_of(connection: Connection, input_id: str) -> int | None:
    number = connection.execute(select(input_numbers.c.number)
                                .where(input_numbers.c.input_id == input_id)).scalar()
    return None if number is None else int(number)


def named_events() -> Select[Any]:
    """``events`` with ``input_id`` and ``event_type`` (names) in place of their numbers.

    The events as importers described them: for reading them back (a check of
    what an import stored, an export), never for the engine's hot paths.
    """
    named = [
        input_numbers.c.input_id if column.name == "input_no"
        else case(EVENT_TYPES_BY_CODE, value=column).label("event_type")
        if column.name == "type_code" else column
        for column in events.columns
    ]
    return select(*named).select_from(
        events.join(input_numbers, input_numbers.c.number == events.c.input_no))


def event_counts(connection: Connection, input_ids: list[str] | None = None) -> dict[str, int]:
    """How many events are stored per input (of some inputs, or all that have any).

    Counts the events themselves, grouped by the input's number: one pass over an
    index that leads with it (``uq_events_input_message``), over the given inputs'
    entries only when they are named. Inputs without events are left out.
    """
    numbers = select(input_numbers.c.number, input_numbers.c.input_id)
    if input_ids is not None:
        if not input_ids:
            return {}
        numbers = numbers.where(input_numbers.c.input_id.in_(input_ids))
    inputs_by_number = {row.number: row.input_id for row in connection.execute(numbers)}
    if not inputs_by_number:
        return {}
    counts = select(events.c.input_no, func.count()).group_by(events.c.input_no)
    if input_ids is not None:
        counts = counts.where(events.c.input_no.in_(list(inputs_by_number)))
    return {inputs_by_number[number]: int(count)
            for number, count in connection.execute(counts)
            if number in inputs_by_number and count}
