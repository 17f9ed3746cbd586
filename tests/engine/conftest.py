"""Engine fixtures: one fresh database per test on SQLite, PostgreSQL and DuckDB.

``backend`` yields a :class:`Backend`: an engine plus whether the inputs table
exists (it does where the store's migrations ran: SQLite and PostgreSQL, opened
through :class:`~app.store.database.Database`). DuckDB is not migrated by
Alembic; its tables come from :func:`app.engine.duckdb.create_engine_tables`
(the same metadata, without foreign keys) on a file in the test's folder.

PostgreSQL needs JOURNEY_STUDIO_TEST_POSTGRES_URL (tests/conftest.py's
``postgres_url``): skipped locally without it, a failure under CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from app.engine.duckdb import create_engine_tables
from app.store import Database
from tests.database_templates import NewDatabase

from .data import Data, load


@dataclass
class Backend:
    name: str
    engine: Engine
    has_inputs: bool

    def load(self, data: Data) -> None:
        load(self.engine, data, with_inputs=self.has_inputs)


def _database_backend(name: str, url: str) -> Iterator[Backend]:
    database = Database(url)
    try:
        yield Backend(name, database.engine, has_inputs=True)
    finally:
        database.dispose()


def _duckdb_backend(path: str) -> Iterator[Backend]:
    engine = create_engine(f"duckdb:///{path}")
    create_engine_tables(engine)
    try:
        yield Backend("duckdb", engine, has_inputs=False)
    finally:
        engine.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "duckdb"]
)
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, new_database: NewDatabase
) -> Iterator[Backend]:
    if request.param == "duckdb":
        yield from _duckdb_backend(f"{tmp_path}/engine.duckdb")
    else:
        name = request.param
        yield from _database_backend(name, new_database(name, "migrated"))


@pytest.fixture
def sqlite_backend(new_database: NewDatabase) -> Iterator[Backend]:
    yield from _database_backend("sqlite", new_database("sqlite", "migrated"))
