"""The store: SQLAlchemy schema, sessions, repositories and Alembic migrations.

The only code that reads or writes database tables. Imports no Qt (a test checks).

    from app.store import Database, JourneyRepository
    db = Database()                      # the local SQLite file, migrated to head
    with db.transaction() as session:
        journeys = JourneyRepository(session).list()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.lazy import lazy_exports

if TYPE_CHECKING:
    from app.store import audience_tables, event_tables, repositories
    from app.store.database import Database, default_database_url
    from app.store.repositories import (
        AccountData,
        AccountRepository,
        JourneyRepository,
        StoredJourney,
    )

# Loaded on first use (PEP 562): a process that only parses import files loads
# app.store.incoming without SQLAlchemy and the repositories.
_WHERE: dict[str, str | None] = {
    "AccountData": "app.store.repositories", "AccountRepository": "app.store.repositories",
    "JourneyRepository": "app.store.repositories", "StoredJourney": "app.store.repositories",
    "Database": "app.store.database", "default_database_url": "app.store.database",
}
_WHERE.update(dict.fromkeys(("audience_tables", "event_tables", "repositories")))
__getattr__ = lazy_exports(__name__, _WHERE)


__all__ = [
    "AccountData",
    "AccountRepository",
    "Database",
    "JourneyRepository",
    "StoredJourney",
    "audience_tables",
    "default_database_url",
    "event_tables",
    "repositories",
]
