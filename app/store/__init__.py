"""The store: SQLAlchemy schema, sessions, repositories and Alembic migrations.

The only code that reads or writes database tables. Imports no Qt (a test checks).

    from app.store import Database, JourneyRepository
    db = Database()                      # the local SQLite file, migrated to head
    with db.transaction() as session:
        journeys = JourneyRepository(session).list()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
_WHERE = {
    "AccountData": "app.store.repositories", "AccountRepository": "app.store.repositories",
    "JourneyRepository": "app.store.repositories", "StoredJourney": "app.store.repositories",
    "Database": "app.store.database", "default_database_url": "app.store.database",
}
_MODULES = ("audience_tables", "event_tables", "repositories")


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"app.store.{name}")
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'app.store' has no attribute {name!r}")

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
