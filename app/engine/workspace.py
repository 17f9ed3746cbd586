"""A connection's scratch space for audiences being computed: temporary tables.

An estimate computes the audiences on the way to a milestone (its ancestors
and their earlier siblings), each from its parent's members. Putting each into
a temporary table with the shape of ``audience_members`` (audience_key,
user_id) lets the next query test membership by key (see
:class:`app.engine.compiler.Scope`) instead of recomputing the chain, and keeps
the work out of the stored tables: temporary tables belong to one connection,
are not part of the database file, and need no write lock.

:func:`empty_temporary` is the one way such tables are made; evaluation uses
it for the set it compares with the stored members. Each user names its own
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

    def fill(self, audience_id: str, query: UserSet) -> None:
        """Put ``query``'s users in as ``audience_id``'s members."""
        source = as_member(query).subquery()
        self.filled = self.filled | {audience_id}
        self.connection.execute(
            insert(self.table).from_select(
                ["audience_key", "user_id"],
                select(literal(scratch_key(audience_id), BigInteger()), source.c.user_id),
            )
        )

    def clear(self) -> None:
        self.connection.execute(delete(self.table))
        self.filled = frozenset()
