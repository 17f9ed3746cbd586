"""Shared test configuration for the whole suite.

Kept deliberately small: per-area fixtures belong in the conftest.py of tests/core,
tests/store, tests/ui, ...
"""

from __future__ import annotations

import os

# Must happen before anything imports Qt: every widget test runs without a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from tests.database_templates import (
    Backend,
    Content,
    NewDatabase,
    PostgresTemplates,
    SqliteTemplates,
)

#: Environment variable holding the SQLAlchemy URL of a throw-away PostgreSQL database,
#: e.g. postgresql+psycopg://postgres@127.0.0.1:54329/journeys_test (.ci/run sets it).
POSTGRES_URL_ENV = "JOURNEY_STUDIO_TEST_POSTGRES_URL"

#: Screenshots and other files tests write for a human to look at (git-ignored).
ARTIFACTS_DIR = Path(__file__).resolve().parent / "_artifacts"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Any test that asks for a PostgreSQL server is marked, so `-m "not postgres"` works.
    for item in items:
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """SQLAlchemy URL of an empty PostgreSQL database for store tests.

    Skips when JOURNEY_STUDIO_TEST_POSTGRES_URL is unset on a developer machine, but fails
    under CI (env var CI set), so CI can never silently skip the PostgreSQL tests.
    """
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if url:
        return url
    if _in_ci():
        pytest.fail(
            f"{POSTGRES_URL_ENV} is not set but CI is: .ci/run must start PostgreSQL "
            "and export the URL before running the tests",
            pytrace=False,
        )
    pytest.skip(
        f"no PostgreSQL server: set {POSTGRES_URL_ENV}="
        "postgresql+psycopg://USER@HOST:PORT/DBNAME to run this test"
    )


@pytest.fixture(scope="session")
def pg_admin_engine(postgres_url: str) -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the test server, for CREATE/DROP DATABASE."""
    engine = create_engine(postgres_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_templates(postgres_url: str, pg_admin_engine: Engine) -> Iterator[PostgresTemplates]:
    """The session's template databases on the test server, dropped at its end."""
    templates = PostgresTemplates(postgres_url, pg_admin_engine)
    yield templates
    templates.drop_templates()


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplates:
    return SqliteTemplates(tmp_path_factory.mktemp("templates"))


@pytest.fixture
def pg_url(pg_templates: PostgresTemplates) -> Iterator[str]:
    """The URL of a brand-new, empty PostgreSQL database, dropped after the test."""
    url = pg_templates.create("empty")
    yield url
    pg_templates.drop(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file that does not exist yet, in the test's own folder."""
    return f"sqlite:///{tmp_path}/journeys.db"


@pytest.fixture
def new_database(request: pytest.FixtureRequest, tmp_path: Path,
                 sqlite_templates: SqliteTemplates) -> Iterator[NewDatabase]:
    """Makes databases for the test: empty (a SQLite file not there yet), at the newest
    schema with no account ("migrated"), or holding the demo account ("demo"); copies
    of ones made once per session (tests/database_templates.py), dropped afterwards."""
    made: list[str] = []
    files = itertools.count()

    def make(backend: Backend, content: Content) -> str:
        if backend == "sqlite":
            # The first is sqlite_url's file, so a test may name it by either.
            number = next(files)
            name = f"journeys-{number}.db" if number else "journeys.db"
            return sqlite_templates.copy(content, tmp_path / name)
        url = request.getfixturevalue("pg_templates").create(content)
        made.append(url)
        return url

    yield make
    for url in made:
        request.getfixturevalue("pg_templates").drop(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_backend(request: pytest.FixtureRequest) -> Backend:
    """Each test that asks runs once on SQLite and once on PostgreSQL."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def db_url(store_backend: Backend, new_database: NewDatabase) -> str:
    """A new, empty database (a SQLite file not made yet), once per backend."""
    return new_database(store_backend, "empty")


@pytest.fixture
def migrated_url(store_backend: Backend, new_database: NewDatabase) -> str:
    """A new database at the newest schema with no account yet, once per backend."""
    return new_database(store_backend, "migrated")


@pytest.fixture
def demo_url(store_backend: Backend, new_database: NewDatabase) -> str:
    """A new database holding the demo account and its customers, once per backend."""
    return new_database(store_backend, "demo")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """tests/_artifacts, created if missing: where tests save screenshots."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


# The in-memory keyring of the connection tests (every test that stores a secret uses it).
from tests.memory_keyring import memory_keyring, no_keyring  # noqa: E402, F401
