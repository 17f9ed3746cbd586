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

A part staged by a parsing process (app/store/staged_events.py) arrives as a
serialized database: the calls here load it, claim its records' keys, stage its
events for the users the writer gives them and fold its first times into the
per-user summaries, each one SQL statement or a few, without Python per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import (
    BindParameter,
    Column,
    Connection,
    MetaData,
    Table,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.store.chunk_summaries import INPUT_COLUMNS, PLATFORM_COLUMNS
from app.store.chunk_summaries import PLACE_COLUMNS as SUMMARY_PLACE_COLUMNS
from app.store.event_summaries import (
    PLACE_FIELDS,
    user_inputs,
    user_places,
    user_platforms,
)
from app.store.multirow import RowsInsert
from app.store.staged_events import (
    FIRST_COLUMNS,
    FIRSTS_TABLE,
    KEYS_TABLE,
    PLACE_COLUMNS,
    PLACES_TABLE,
    select_staged,
)

STAGING_TABLE = "import_staged_events"
#: The attached in-memory schema a serialized part is loaded into, and the table
#: pairing its record numbers with user ids.
PART_SCHEMA = "import_part"
PART_USERS = "import_part_users"


class EventStaging:
    """The temporary table of one writer's connection and the statements that use it."""

    def __init__(self, connection: Connection, columns: Sequence[str]) -> None:
        self._connection = connection
        self._attach_part()
        names = ", ".join(columns)
        # No declared types: values stay as bound, and ``events`` applies its own
        # column affinities on the move, exactly as for a direct insert.
        connection.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} ({names})")
        # Many rows a statement: binding row by row was most of the staging time.
        self._stage = RowsInsert(f"temp.{STAGING_TABLE} ({names})", len(columns))
        self._stage_users = RowsInsert(f"temp.{PART_USERS}", 2)
        self._move = (f"INSERT INTO main.events ({names}) "
                      f"SELECT {names} FROM temp.{STAGING_TABLE} ORDER BY ts_ms, rowid")
        self._empty = f"DELETE FROM temp.{STAGING_TABLE}"
        connection.exec_driver_sql(self._empty)  # a pooled connection may have kept one
        self.staged = 0
        """Rows staged since the last move."""
        self._stage_part = (
            f"INSERT INTO temp.{STAGING_TABLE} ({names}) "
            + select_staged(columns, f"temp.{PART_USERS}").format(schema=PART_SCHEMA))
        self._fold_summaries = _summary_folds(connection)
        places = f"{PART_SCHEMA}.{PLACES_TABLE}"
        self._number_inputs = (
            f"INSERT INTO main.input_numbers (input_id) SELECT DISTINCT input_id FROM {places} "
            "WHERE true ON CONFLICT DO NOTHING",
            f"UPDATE {places} SET input_no = (SELECT n.number FROM main.input_numbers AS n "
            f"WHERE n.input_id = {PLACES_TABLE}.input_id)")
        # The first of a key repeated in the part is claimed, as in EventWriter._claim.
        self._claim = ("INSERT INTO main.imported_batches (input_id, batch_key, imported_at) "
                       f"SELECT ?, batch_key, ? FROM {PART_SCHEMA}.{KEYS_TABLE} "
                       "WHERE true ORDER BY record_no ON CONFLICT DO NOTHING")

    def stage(self, rows: list[tuple[Any, ...]]) -> None:
        """Add ``rows`` (in ``columns`` order) to the chunk's staged events."""
        self._stage.run(self._connection.exec_driver_sql, rows)
        self.staged += len(rows)

    def load_part(self, database: bytes) -> None:
        """Make a serialized part (see app/store/staged_events.py) the one the calls below read.

        Its places get their inputs' numbers (``input_no``, see
        app/store/event_numbers.py), numbering inputs new to the store.
        """
        driver = self._connection.connection.driver_connection
        assert driver is not None
        driver.deserialize(database, name=PART_SCHEMA)
        for statement in self._number_inputs:
            self._connection.exec_driver_sql(statement)

    def claim_keys(self, input_id: str, stamp: Any) -> tuple[int, int]:
        """Store the loaded part's record keys in ``imported_batches``, skipping stored ones.

        Returns how many were new and the highest rowid of the table before: the
        new ones are the rows above it (see :meth:`keys_claimed_after`).
        """
        run = self._connection.exec_driver_sql
        before = run("SELECT max(rowid) FROM main.imported_batches").scalar() or 0
        claimed = run(self._claim, (input_id, stamp)).rowcount
        return claimed, before

    def keys_claimed_after(self, rowid: int) -> set[str]:
        """The keys of ``imported_batches`` rows above ``rowid`` (claimed by this writer)."""
        return set(self._connection.exec_driver_sql(
            "SELECT batch_key FROM main.imported_batches WHERE rowid > ?", (rowid,)).scalars())

    def stage_part(self, users: list[tuple[int, int]]) -> int:
        """Stage the events of the loaded part.

        ``users`` pairs the part's record numbers with user ids; events of records
        not listed (duplicates) are left out. Returns how many events were staged.
        """
        self._connection.exec_driver_sql(f"DELETE FROM temp.{PART_USERS}")
        self._stage_users.run(self._connection.exec_driver_sql, users)
        staged = self._connection.exec_driver_sql(self._stage_part).rowcount
        self.staged += staged
        return staged

    def _attach_part(self) -> None:
        """The schema parts are deserialized into, and the record → user table.

        ATTACH is not allowed inside a transaction, so this happens with the
        staging table, before the first chunk's; the one attached schema is
        reused for every part (deserializing replaces its content).
        """
        attached = {row[1] for row in self._connection.exec_driver_sql("PRAGMA database_list")}
        if PART_SCHEMA not in attached:  # a pooled connection may have kept it
            self._connection.exec_driver_sql(f"ATTACH DATABASE ':memory:' AS {PART_SCHEMA}")
        self._connection.exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {PART_USERS} "
            "(record_no INTEGER PRIMARY KEY, user_id INTEGER NOT NULL)")

    def fold_summaries(self) -> None:
        """Fold the loaded part's staged records (those given users) into the summaries.

        Each keeps the earlier of the stored and the new first time, as
        :func:`~app.store.event_summaries.refresh_summaries` does; see
        ``EventWriter._fold_summaries`` for the mark that says how far they go.
        """
        for statement in self._fold_summaries:
            self._connection.exec_driver_sql(statement)

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
        self._connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{PART_USERS}")
        self._connection.commit()
        self._connection.exec_driver_sql(f"DETACH DATABASE {PART_SCHEMA}")


def _summary_folds(connection: Connection) -> list[str]:
    """The upserts folding a loaded part's first times into the three summary tables.

    Each keeps the earlier time, as the rest of the store does (see
    app/store/event_summaries.py), built from the part's tables as SQLAlchemy sees them.
    """
    part = MetaData()
    firsts = Table(FIRSTS_TABLE, part, *(Column(c) for c in FIRST_COLUMNS), schema=PART_SCHEMA)
    places = Table(PLACES_TABLE, part, *(Column(c) for c in PLACE_COLUMNS), schema=PART_SCHEMA)
    users = Table(PART_USERS, part, Column("record_no"), Column("user_id"), schema="temp")
    joined = firsts.join(users, users.c.record_no == firsts.c.record_no).join(
        places, places.c.place_no == firsts.c.place_no)

    def fold(table: Table, columns: Sequence[str], values: list[Any], present: Any = None
             ) -> str:
        keys = list(columns[:-1])  # named as ``values`` are ordered; then first_ms
        rows = (select(*values, func.min(firsts.c.first_ms)).select_from(joined)
                .where(true() if present is None else present.is_not(None))
                .group_by(*(v for v in values if not isinstance(v, BindParameter))))
        insert = sqlite_insert(table).from_select([*keys, "first_ms"], rows)
        # The earlier time, as keeping_earliest() keeps it, but a row whose time stays
        # is not written at all: users met again in later parts mostly keep theirs.
        statement = insert.on_conflict_do_update(
            index_elements=keys, set_={"first_ms": insert.excluded.first_ms},
            where=insert.excluded.first_ms < table.c.first_ms)
        return str(statement.compile(dialect=connection.dialect,
                                     compile_kwargs={"literal_binds": True}))

    owner = [users.c.user_id, places.c.input_id]
    return [
        fold(user_inputs, INPUT_COLUMNS, owner),
        fold(user_platforms, PLATFORM_COLUMNS, [*owner, places.c.platform], places.c.platform),
        *(fold(user_places, SUMMARY_PLACE_COLUMNS, [*owner, literal(field), places.c[field]],
               places.c[field])
          for field in PLACE_FIELDS),
    ]
