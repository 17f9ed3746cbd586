"""Ingest fixtures: a fresh database with the demo account's inputs, on SQLite and PostgreSQL.

Only the account records are stored (not through ``Studio.open``), so the event
tables start empty whatever the first-run seeding does. The PostgreSQL variant
is a fresh database on the test server (tests/conftest.py's ``migrated_url``), dropped
afterwards; without a server it is skipped (and fails under CI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.ingest.demo_account import demo_account
from app.store import AccountRepository, Database
from app.store.event_numbers import named_events
from app.store.event_tables import UserAttributeRow, UserIdentityRow, UserRow
from tests.database_templates import NewDatabase


def store_demo_account(database: Database) -> None:
    """The demo account's workspaces and inputs (no journeys, no events)."""
    with database.transaction() as session:
        AccountRepository(session).create(demo_account().account_data())


@pytest.fixture
def db(migrated_url: str) -> Iterator[Database]:
    """A migrated database holding the demo inputs, once per backend."""
    database = Database(migrated_url)
    store_demo_account(database)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def sqlite_db(new_database: NewDatabase) -> Iterator[Database]:
    database = Database(new_database("sqlite", "migrated"))
    store_demo_account(database)
    try:
        yield database
    finally:
        database.dispose()


# ---------------------------------------------------------------------- reading back


class Stored:
    """What a user of the app would see in the store, as plain Python values."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _rows(self, statement: Any) -> list[Any]:
        with self.database.engine.connect() as connection:
            return list(connection.execute(statement))

    def users(self) -> dict[str, Any]:
        return {r.external_id: r for r in self._rows(select(UserRow))}

    def events(self, **where: Any) -> list[Any]:
        named = named_events().subquery()
        statement = select(named, UserRow.external_id).join(
            UserRow, UserRow.id == named.c.user_id).order_by(named.c.ts_ms, named.c.id)
        for name, value in where.items():
            statement = statement.where(named.c[name] == value)
        return self._rows(statement)

    def identities(self, external_id: str) -> dict[str, str]:
        rows = self._rows(select(UserIdentityRow.identity_type, UserIdentityRow.value)
                          .join(UserRow, UserRow.id == UserIdentityRow.user_id)
                          .where(UserRow.external_id == external_id))
        return dict(rows)  # type: ignore[arg-type]

    def attributes(self, external_id: str) -> dict[str, Any]:
        """name → the typed value (list for lists, ms for dates) with its type."""
        rows = self._rows(select(UserAttributeRow.__table__)
                          .join(UserRow, UserRow.id == UserAttributeRow.user_id)
                          .where(UserRow.external_id == external_id))
        result = {}
        for r in rows:
            row = r
            value = {"string": row.text_value, "number": row.number_value,
                     "boolean": row.bool_value, "date": row.date_ms,
                     "list": row.list_value}[row.value_type]
            result[row.name] = (row.value_type, value)
        return result

    def count(self, table: Any) -> int:
        with self.database.engine.connect() as connection:
            return len(list(connection.execute(select(table))))


@pytest.fixture
def stored(db: Database) -> Stored:
    return Stored(db)


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Writes a test file (text or bytes, optionally gzipped) and returns its path."""
    import gzip

    def _write(name: str, content: str | bytes, *, compress: bool = False) -> Path:
        data = content.encode() if isinstance(content, str) else content
        path = tmp_path / name
        path.write_bytes(gzip.compress(data) if compress else data)
        return path

    return _write
