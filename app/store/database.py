"""Opening a database: engine, SQLite pragmas, migrations and transactions.

A :class:`Database` is opened from any SQLAlchemy URL. Opening upgrades the
schema to the newest Alembic revision, so the rest of the program can assume
the tables of :mod:`app.store.schema` exist. Each thread (GUI, background
workers) takes its own session from :meth:`Database.transaction`.

Alembic is imported only when a database is not at :data:`HEAD_REVISION` yet
(new, or made by an older version): loading it and its migration scripts costs
more than half a second, on every start of the app if it were done each time.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs
from sqlalchemy import (
    URL,
    Connection,
    Engine,
    column,
    create_engine,
    event,
    inspect,
    make_url,
    select,
    table,
    text,
)
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from app.core.errors import DataError, StudioError

if TYPE_CHECKING:
    from alembic.config import Config

APP_NAME = "Journey Studio"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
HEAD_REVISION = "0015"
"""The newest migration in migrations/versions (a test checks it is Alembic's head):
a database stored at this revision is opened without loading Alembic."""
ALEMBIC_VERSION = table("alembic_version", column("version_num"))
"""Where Alembic keeps a database's revision (its default version table)."""
SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long a SQLite write waits for another writer's lock before it gives up."""
POSTGRES_LOCK_TIMEOUT_MS = 5000
"""The same for PostgreSQL: how long a statement of :meth:`Database.transaction`
waits for a row or table lock. Only there: an evaluation or import may wait as
long as it takes, a person's edit should not."""
#: Page size of new SQLite files (SQLite's default is 4,096). Events arrive all over
#: the two covering indexes (name|type, then time): with 16 KiB pages an import touches,
#: and its commits write back, fewer pages (1M events: ~30% less time in SQLite), and
#: the engine's index range scans read fewer, fuller pages.
SQLITE_PAGE_SIZE = 16_384
POSTGRES_CONNECT_TIMEOUT_S = 10
SUPPORTED_BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
"""The databases the store keeps its data in: the migrations and the engine's SQL are
written and tested for these. (DuckDB serves the engine's tests as a query backend
only: it has no migrations.)"""
PRIVATE_FILE_MODE = 0o600
"""A new SQLite file: customer data, read and written by its owner only. SQLite gives
its -wal, -shm and -journal files the database file's mode."""
PRIVATE_FOLDER_MODE = 0o700

BUSY_MESSAGE = "The database is busy (an evaluation or import is writing); try again."
"""What a person is told when a write waited for another writer and gave up."""


class BusyError(StudioError):
    """Another writer held the database longer than a write waits; nothing was changed."""

    def __init__(self, message: str = BUSY_MESSAGE) -> None:
        super().__init__(message)


def default_database_url() -> str:
    """The SQLite file in the user's data folder (created if missing, owner only).

    Local-first: with no configuration at all, journeys live in one file that
    belongs to the person using the program. The folder holds customer data, so
    when it is made here only its owner may enter it (an existing one is left as is).
    """
    folder = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(mode=PRIVATE_FOLDER_MODE, exist_ok=True)
    return URL.create("sqlite", database=str(folder / "journeys.db")).render_as_string(
        hide_password=False
    )


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic configuration built in code, so no alembic.ini is needed.

    Pass ``connection`` to migrate through it (what :class:`Database` does; it
    keeps in-memory databases working), or ``url`` for Alembic's own commands.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url is not None:
        # The config is a ConfigParser: a literal "%" (e.g. in a password) must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class UnreadableJSON:
    """Stands in for a stored JSON value that is not valid JSON text.

    Decoding happens while rows are fetched, before the store knows which
    journey or milestone a value belongs to. Returning this marker instead of
    raising lets the repository name the broken record in its ``DataError``.
    """

    __slots__ = ("error", "text")

    def __init__(self, text: str, error: str) -> None:
        self.text = text
        self.error = error

    def __repr__(self) -> str:
        return f"UnreadableJSON({self.error!r})"


def _lenient_json_loads(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        return UnreadableJSON(raw, str(exc))


class Database:
    """One open database: an engine, a session factory and an up-to-date schema.

    ``Database(url)`` connects, migrates to the newest revision and raises a
    :class:`~app.core.errors.StudioError` whose message says what went wrong
    when that is impossible (bad address, server down, newer schema).
    """

    def __init__(self, url: str | URL | None = None, *, echo: bool = False) -> None:
        self._url = _parse_url(default_database_url() if url is None else url)
        self._engine = _create_engine(self._url, echo=echo)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        _create_private_file(self._url)
        try:
            self._upgrade()
        except BaseException:
            self._engine.dispose()
            raise

    # ------------------------------------------------------------------ properties

    @property
    def url(self) -> str:
        """The database address for display, with any password masked."""
        return self._url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for the engine layer's queries and for tests."""
        return self._engine

    @property
    def dialect_name(self) -> str:
        """``sqlite`` or ``postgresql`` (see :data:`SUPPORTED_BACKENDS`)."""
        return self._engine.dialect.name

    # ------------------------------------------------------------------ sessions

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error.

        Repositories are built on the yielded session. After a
        :class:`~app.core.errors.ConflictError` the transaction is over (rolled
        back); open a new one to reload.
        """
        try:
            with self._sessions.begin() as session:
                _limit_lock_waits(session)
                yield session
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StudioError(
                    f"Lost the connection to the database at {self.url}: {_reason(exc)}"
                ) from exc
            if is_busy(exc):
                raise BusyError() from exc
            raise

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A connection whose reads all see the database as it was at the first of them.

        For several queries that must agree (a chunk of the outbox, then its users'
        identities) while evaluations commit meanwhile. PostgreSQL's default (read
        committed) takes a snapshot per statement, and SQLite's driver starts no
        transaction for reads: here PostgreSQL reads in REPEATABLE READ, and SQLite in a
        deferred transaction (WAL keeps its snapshot from the first read). Ended on
        leaving; for reads only.
        """
        with self._engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                driver = connection.connection.dbapi_connection
                if driver is not None and not driver.in_transaction:
                    connection.exec_driver_sql("BEGIN")
            else:
                connection.execution_options(isolation_level="REPEATABLE READ")
            yield connection
            connection.commit()

    def dispose(self) -> None:
        """Close every pooled connection. The object can't be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url!r})"

    # ------------------------------------------------------------------ internals

    def _upgrade(self) -> None:
        """Bring the schema to the newest revision, inside one connection.

        A database already there (every start but the first after an update) is only
        read: Alembic is not loaded.
        """
        try:
            with self._engine.begin() as connection:
                if stored_revision(connection) != HEAD_REVISION:
                    self._migrate(connection)
        except SQLAlchemyError as exc:
            raise StudioError(f"Can't open the database at {self.url}: {_reason(exc)}") from exc

    def _migrate(self, connection: Connection) -> None:
        from alembic import command
        from alembic.util.exc import CommandError

        try:
            command.upgrade(alembic_config(connection), "head")
        except CommandError as exc:
            raise DataError(
                f"Can't open the database at {self.url}: its tables were made by another "
                f"(probably newer) version of Journey Studio ({exc}). Update the program."
            ) from exc


def stored_revision(connection: Connection) -> str | None:
    """The revision Alembic recorded in the database; None when it has none (or several)."""
    if not inspect(connection).has_table(ALEMBIC_VERSION.name):
        return None
    revisions = connection.execute(select(ALEMBIC_VERSION.c.version_num)).scalars().all()
    return str(revisions[0]) if len(revisions) == 1 else None


def _parse_url(url: str | URL) -> URL:
    try:
        return url if isinstance(url, URL) else make_url(url.strip())
    except (ArgumentError, ValueError) as exc:
        shown = re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", str(url))
        raise DataError(
            f"Can't open the database at {shown!r}: that is not a database address "
            f"(expected e.g. sqlite:///path/to/journeys.db or "
            f"postgresql+psycopg://user@host/dbname)."
        ) from exc


def _is_sqlite_memory(url: URL) -> bool:
    database = url.database or ""
    return (
        database in ("", ":memory:")
        or "mode=memory" in database
        or (url.query.get("mode") == "memory")
    )


def _create_private_file(url: URL) -> None:
    """Create a SQLite database file that does not exist yet, readable by its owner only.

    SQLite would create it with the process's umask, usually readable by everyone
    on the machine. An empty file is an empty database to SQLite. A file that exists
    keeps its mode (who may read it is its owner's choice); when the file can't be
    made (no such folder), SQLite's own error says so when it connects.
    """
    if url.get_backend_name() != "sqlite" or _is_sqlite_memory(url) or "uri" in url.query:
        return
    try:
        descriptor = os.open(url.database or "", os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             PRIVATE_FILE_MODE)
    except OSError:
        return
    os.close(descriptor)


def _create_engine(url: URL, *, echo: bool) -> Engine:
    """An engine tuned per backend; a clear error when the driver is missing."""
    options: dict[str, Any] = {"echo": echo, "json_deserializer": _lenient_json_loads}
    shown = url.render_as_string(hide_password=True)
    backend = url.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise DataError(
            f"Can't open the database at {shown}: “{backend}” databases are not supported. "
            f"Journey Studio keeps its data in SQLite (a file path, or "
            f"sqlite:///path/to/journeys.db) or PostgreSQL "
            f"(postgresql+psycopg://user@host/dbname)."
        )
    if backend == "sqlite":
        if _is_sqlite_memory(url):
            # One shared connection, so every session sees the one in-memory database.
            options["poolclass"] = StaticPool
            options["connect_args"] = {"check_same_thread": False}
    else:
        options["pool_pre_ping"] = True
        if backend == "postgresql" and "connect_timeout" not in url.query:
            options["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
    try:
        engine = create_engine(url, **options)
    except NoSuchModuleError as exc:
        raise DataError(
            f"Can't open the database at {shown}: “{url.drivername}” is not a database "
            f"kind this installation knows."
        ) from exc
    except ImportError as exc:
        raise StudioError(
            f"Can't open the database at {shown}: its driver is not installed ({exc})."
        ) from exc
    except (ArgumentError, TypeError) as exc:
        raise DataError(f"Can't open the database at {shown}: {exc}") from exc
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(file_based=not _is_sqlite_memory(url)))
    return engine


def _sqlite_pragmas(*, file_based: bool) -> Any:
    """A connect listener setting the pragmas every SQLite connection needs.

    SQLite forgets ``foreign_keys`` and ``busy_timeout`` per connection, so they
    are set on each new one. WAL lets readers (background evaluation) run while
    the GUI writes; it only applies to files.
    """

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if file_based:
                # Only a new, empty file takes the page size (WAL fixes it afterwards).
                cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE:d}")
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
        finally:
            cursor.close()

    return on_connect


SQLITE_BUSY_CODES = (5, 6)
"""SQLITE_BUSY and SQLITE_LOCKED: the primary result codes of a lock not obtained."""
POSTGRES_BUSY_STATES = ("55P03", "40P01")
"""lock_not_available (lock_timeout ran out) and deadlock_detected."""


def is_busy(exc: DBAPIError) -> bool:
    """Whether ``exc`` means another writer held a lock longer than this one would wait."""
    original = exc.orig
    code = getattr(original, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in SQLITE_BUSY_CODES
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if isinstance(state, str):
        return state in POSTGRES_BUSY_STATES
    text = str(original).lower()
    return "database is locked" in text or "database is busy" in text


@contextmanager
def busy_as_studio_error() -> Iterator[None]:
    """Turn a lock wait that ran out into a :class:`BusyError` (work outside a session)."""
    try:
        yield
    except DBAPIError as exc:
        if is_busy(exc):
            raise BusyError() from exc
        raise


def _limit_lock_waits(session: Session) -> None:
    """On PostgreSQL, bound this transaction's lock waits (SQLite's busy timeout does it there)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = {POSTGRES_LOCK_TIMEOUT_MS:d}"))


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's own explanation on one line, without SQLAlchemy's boilerplate."""
    original = getattr(exc, "orig", None)
    text = str(original) if original is not None else str(exc)
    return " ".join(text.split()) or type(exc).__name__
