"""A connection's scratch space for audiences being computed: a temporary table.

Evaluation and estimates compute audiences one after the other, each from its
parent's (and earlier siblings') members. Putting each computed audience into
a temporary table with the shape of ``audience_members`` (audience_key,
user_id) lets the next query test membership by key (see
:class:`app.engine.compiler.Scope`) instead of recomputing the chain, and keeps
the work out of the stored tables: temporary tables belong to one connection,
are never written to the database file, and need no write lock (on SQLite, an
evaluation computes while a save from the window goes ahead).

Each user of a workspace names its own table, so an evaluation and an estimate
sharing a connection (an in-memory database) do not clear each other's rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    MetaData,
    Table,
    delete,
    func,
    insert,
    literal,
    select,
)

from app.engine.compiler import UserSet, as_member
from app.store.audience_tables import scratch_key

_metadata = MetaData()  # not the store's: these tables are made per connection, never migrated


def _work_table(name: str) -> Table:
    return Table(
        name,
        _metadata,
        Column("audience_key", BigInteger, primary_key=True),
        Column("user_id", BigInteger, primary_key=True),
        prefixes=["TEMPORARY"],
    )


EVALUATION_TABLE = _work_table("evaluation_work")
ESTIMATE_TABLE = _work_table("estimate_work")


class Workspace:
    """Computed audiences of one connection, in the temporary ``table``.

    Creating one creates the table if this connection has none yet and
    empties it; :meth:`clear` empties it again when the work is done.
    """

    def __init__(self, connection: Connection, table: Table) -> None:
        self.connection = connection
        self.table = table
        self.filled: frozenset[str] = frozenset()
        """The audiences computed so far."""
        # On SQLite, rows stored in key order (WITHOUT ROWID): one B-tree, not a table
        # and a separate key index, to fill and to look members up in.
        clustered = " WITHOUT ROWID" if connection.dialect.name == "sqlite" else ""
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {table.name} "
            "(audience_key BIGINT NOT NULL, user_id BIGINT NOT NULL, "
            f"PRIMARY KEY (audience_key, user_id)){clustered}"
        )
        self.clear()

    def fill(self, audience_id: str, query: UserSet) -> int:
        """Put ``query``'s users in as ``audience_id``'s members; returns how many."""
        source = as_member(query).subquery()
        key = scratch_key(audience_id)
        self.filled = self.filled | {audience_id}
        inserted = self.connection.execute(
            insert(self.table).from_select(
                ["audience_key", "user_id"],
                select(literal(key, BigInteger()), source.c.user_id),
            )
        ).rowcount
        return inserted if inserted is not None and inserted >= 0 else self.size(audience_id)

    def size(self, audience_id: str) -> int:
        table = self.table
        counted: Any = self.connection.execute(
            select(func.count())
            .select_from(table)
            .where(table.c.audience_key == scratch_key(audience_id))
        ).scalar_one()
        return int(counted)

    def clear(self) -> None:
        self.connection.execute(delete(self.table))
        self.filled = frozenset()
