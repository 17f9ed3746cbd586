"""A connection's scratch space for audiences being computed: temporary tables.

An estimate computes the audiences on the way to a milestone (its ancestors
and their earlier siblings), each from its parent's members. Putting each into
a temporary table with the shape of ``audience_members`` (audience_key,
user_id) lets the next query test membership by key (see
:class:`app.engine.compiler.Scope`) instead of recomputing the chain, and keeps
the work out of the stored tables: temporary tables belong to one connection,
are not part of the database file, and need no write lock.

:func:`empty_temporary` is the one way such tables are made. An evaluation
computes every audience of its journey into a workspace, and the differences
with the stored members into two more, all while only reading the database; it
then takes the write lock just to apply those differences. Each user names its own
table, so two sharing a connection (an in-memory database) do not clear each
other's rows."""

from __future__ import annotations

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


ESTIMATE_TABLE = _work_table("estimate_work")
EVALUATION_TABLE = _work_table("evaluation_work")
"""An evaluation's new sets, every audience of the journey."""
EVALUATION_ADDS = _work_table("evaluation_adds")
"""The members an evaluation adds to audiences that have stored members."""
EVALUATION_DROPS = _work_table("evaluation_drops")
"""The members an evaluation removes from them."""


def empty_temporary(connection: Connection, name: str, definition: str) -> None:
    """Create the connection's temporary table ``name`` if it has none, and empty it.

    ``definition`` is the SQL after the name: columns and key in parentheses,
    then any table options. A pooled connection keeps its temporary tables, so
    rows a failed run left behind are removed here.
    """
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} {definition}")
    connection.exec_driver_sql(f"DELETE FROM {name}")


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
        empty_temporary(
            connection,
            table.name,
            "(audience_key BIGINT NOT NULL, user_id BIGINT NOT NULL, "
            f"PRIMARY KEY (audience_key, user_id)){clustered}",
        )

    def fill(self, audience_id: str, query: UserSet) -> int:
        """Put ``query``'s users in as ``audience_id``'s members; how many there are."""
        source = as_member(query).subquery()
        self.filled = self.filled | {audience_id}
        key = scratch_key(audience_id)
        inserted = self.connection.execute(
            insert(self.table).from_select(
                ["audience_key", "user_id"],
                select(literal(key, BigInteger()), source.c.user_id),
            )
        ).rowcount
        if inserted is not None and inserted >= 0:
            return int(inserted)
        # No row count from the driver (DuckDB): count the audience's rows.
        counted = self.connection.execute(
            select(func.count()).select_from(self.table).where(self.table.c.audience_key == key)
        ).scalar_one()
        return int(counted)

    def clear(self) -> None:
        self.connection.execute(delete(self.table))
        self.filled = frozenset()
