"""DuckDB as an engine backend: the tables the engine reads and writes, without Alembic.

Alembic's DuckDB support is shaky, so a DuckDB database is not opened with
:class:`~app.store.database.Database`. :func:`create_engine_tables` creates the
event-store tables, the audience tables and the outbox's on a DuckDB engine from the same
SQLAlchemy metadata, minus foreign keys (DuckDB has no ON DELETE CASCADE and
the engine needs none). Copy the rows in, listing every input the events use
in ``inputs`` (a journey reading all of them skips the input test) and numbering
them in ``input_numbers`` (events name their input by number), then pass
the engine wherever the engine API takes ``Database | Engine``.
"""

from __future__ import annotations

from sqlalchemy import Column, Engine, Index, MetaData, Table

from app.store import audience_tables, delivery_tables, event_tables, schema

ENGINE_TABLES: tuple[Table, ...] = tuple(
    model.__table__  # type: ignore[misc]
    for model in (
        schema.InputRow,
        event_tables.InputNumberRow,
        event_tables.UserRow,
        event_tables.UserIdentityRow,
        event_tables.UserAttributeRow,
        event_tables.EventRow,
        event_tables.UserInputRow,
        event_tables.UserPlatformRow,
        event_tables.UserPlaceRow,
        event_tables.SummaryStateRow,
        audience_tables.AudienceMemberRow,
        audience_tables.AudienceDropRow,
        audience_tables.AudienceKeyRow,
        audience_tables.AudienceSizeRow,
        schema.OutputRow,
        delivery_tables.OutputSyncRow,
        delivery_tables.OutboxRow,
        delivery_tables.OutputDeliveredRow,
    )
)


def engine_metadata() -> MetaData:
    """A copy of the engine's tables (columns, keys, indexes) without foreign keys."""
    metadata = MetaData()
    for table in ENGINE_TABLES:
        copy = Table(
            table.name,
            metadata,
            *(
                Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable,
                       autoincrement=False)
                for c in table.columns
            ),
        )
        for index in table.indexes:
            Index(index.name, *(copy.c[c.name] for c in index.columns), unique=index.unique)
    return metadata


def create_engine_tables(engine: Engine) -> None:
    """Create (if missing) every table the engine uses on ``engine``."""
    engine_metadata().create_all(engine)
