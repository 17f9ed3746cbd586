"""Temporary tables of one connection: audiences being computed and their differences.

They have the shape of ``audience_members`` (audience_key, user_id) and belong
to the connection that made them: not part of the database file, no write
lock needed to fill them. The engine fills them with computed sets
(``app.engine.workspace``); the membership repository
(:mod:`app.store.memberships`) compares them with the stored members and
applies the differences.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, MetaData, Table

_metadata = MetaData()  # not the store's: these tables are made per connection, never migrated


def work_table(name: str) -> Table:
    """A temporary table ``name`` of (audience_key, user_id) pairs."""
    return Table(
        name,
        _metadata,
        Column("audience_key", BigInteger, primary_key=True),
        Column("user_id", BigInteger, primary_key=True),
        prefixes=["TEMPORARY"],
    )


EVALUATION_TABLE = work_table("evaluation_work")
"""An evaluation's new sets, every audience of the journey."""
EVALUATION_ADDS = work_table("evaluation_adds")
"""The members an evaluation adds to audiences that have stored members."""
EVALUATION_DROPS = work_table("evaluation_drops")
"""The members an evaluation removes from them."""


def empty_temporary(connection: Connection, name: str, definition: str) -> None:
    """Create the connection's temporary table ``name`` if it has none, and empty it.

    ``definition`` is the SQL after the name: columns and key in parentheses,
    then any table options. A pooled connection keeps its temporary tables, so
    rows a failed run left behind are removed here.
    """
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} {definition}")
    connection.exec_driver_sql(f"DELETE FROM {name}")


def create_work_table(connection: Connection, table: Table) -> None:
    """Create (or empty) ``table`` on this connection, stored in key order where possible.

    On SQLite, rows stored in key order (WITHOUT ROWID): one B-tree, not a table
    and a separate key index, to fill and to look members up in.
    """
    clustered = " WITHOUT ROWID" if connection.dialect.name == "sqlite" else ""
    empty_temporary(
        connection,
        table.name,
        "(audience_key BIGINT NOT NULL, user_id BIGINT NOT NULL, "
        f"PRIMARY KEY (audience_key, user_id)){clustered}",
    )
