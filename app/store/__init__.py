"""The store: SQLAlchemy schema, sessions, repositories and Alembic migrations.

The only code that reads or writes database tables. Imports no Qt (a test checks).

    from app.store import Database, JourneyRepository
    db = Database()                      # the local SQLite file, migrated to head
    with db.transaction() as session:
        journeys = JourneyRepository(session).list()
"""

from app.store import audience_tables, event_tables, repositories
from app.store.database import Database, default_database_url
from app.store.repositories import (
    AccountData,
    AccountRepository,
    JourneyRepository,
    StoredJourney,
)

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
