"""A connection's scratch space for audiences being computed: temporary tables.

An estimate computes the audiences on the way to a milestone (its ancestors
and their earlier siblings), each from its parent's members. Putting each into
a temporary table with the shape of ``audience_members`` (audience_key,
user_id) lets the next query test membership by key (see
:class:`app.engine.compiler.Scope`) instead of recomputing the chain, and keeps
the work out of the stored tables: temporary tables belong to one connection,
are not part of the database file, and need no write lock.

:mod:`app.store.work_tables` defines such tables. An evaluation computes every
audience of its journey into a workspace, while only reading the database; the
membership repository then compares them with the stored members and takes the
write lock just to apply the differences. Each user names its own
table, so two sharing a connection (an in-memory database) do not clear each
other's rows."""

from __future__ import annotations

from sqlalchemy import BigInteger, Connection, Table, delete, func, insert, literal, select

from app.engine.compiler import UserSet, as_member
from app.store.audience_tables import scratch_key
from app.store.work_tables import create_work_table, work_table

ESTIMATE_TABLE = work_table("estimate_work")
"""An estimate's audiences on the way to the milestone it sizes."""


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
        create_work_table(connection, table)

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
