"""Opening databases: pragmas, migrations on open, transactions and readable failures."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from app.core.errors import DataError, StudioError
from app.core.models import Account
from app.store import AccountRepository, Database, default_database_url
from app.store.database import SQLITE_PAGE_SIZE
from app.store.schema import AccountRow, InputRow


def _pragma(database: Database, name: str) -> object:
    with database.engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_file_gets_wal_foreign_keys_and_busy_timeout(sqlite_db: Database) -> None:
    assert str(_pragma(sqlite_db, "journal_mode")).lower() == "wal"
    assert _pragma(sqlite_db, "foreign_keys") == 1
    assert _pragma(sqlite_db, "busy_timeout") == 5000


def test_new_sqlite_file_has_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    import sqlite3

    fresh = Database(f"sqlite:///{tmp_path / 'new.db'}")
    old_path = tmp_path / "old.db"
    with sqlite3.connect(old_path) as old:  # made by an earlier version: 4 KiB pages
        old.execute("PRAGMA page_size=4096")
        old.execute("PRAGMA journal_mode=WAL")
        old.execute("CREATE TABLE kept (x)")
    reopened = Database(f"sqlite:///{old_path}")
    try:
        assert _pragma(fresh, "page_size") == SQLITE_PAGE_SIZE == 16_384
        assert _pragma(reopened, "page_size") == 4096
        with reopened.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM kept").scalar() == 0
    finally:
        fresh.dispose()
        reopened.dispose()


def test_pragmas_are_set_on_every_new_connection(sqlite_db: Database) -> None:
    sqlite_db.engine.dispose()  # the next connection is brand new
    assert _pragma(sqlite_db, "foreign_keys") == 1
    assert _pragma(sqlite_db, "busy_timeout") == 5000


def test_sqlite_enforces_foreign_keys(sqlite_db: Database) -> None:
    with pytest.raises(IntegrityError), sqlite_db.transaction() as session:
        session.add(
            InputRow(
                id="i1",
                workspace_id="no-such-workspace",
                name="Storefront",
                kind="platform",
                platform="web",
                position=0,
            )
        )
        session.flush()


def test_in_memory_database_is_one_database_for_every_session_and_thread() -> None:
    with Database("sqlite://") as database:
        assert _pragma(database, "foreign_keys") == 1
        with database.transaction() as session:
            AccountRepository(session).save_account(Account(name="Memory"))
        names: list[str | None] = []

        def read() -> None:
            with database.transaction() as session:
                names.append(session.scalar(select(AccountRow.name)))

        worker = threading.Thread(target=read)
        worker.start()
        worker.join()
        assert names == ["Memory"]


def test_transaction_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    with db.transaction() as session:
        AccountRepository(session).save_account(Account(name="Before"))
    with pytest.raises(RuntimeError), db.transaction() as session:
        session.execute(update(AccountRow).values(name="During"))
        raise RuntimeError("boom")
    with db.transaction() as session:
        assert session.scalar(select(AccountRow.name)) == "Before"
        assert session.scalar(select(func.count()).select_from(AccountRow)) == 1


def test_reads_in_a_snapshot_agree_whatever_commits_between_them(db: Database) -> None:
    """The dispatcher reads a chunk, then its users' identities: an evaluation committing
    in between must not make the second read see other rows than the first."""
    with db.transaction() as session:
        AccountRepository(session).save_account(Account(name="Before"))
    names = select(AccountRow.name)
    with db.snapshot() as connection:
        assert connection.execute(names).scalar_one() == "Before"
        with db.transaction() as session:
            session.execute(update(AccountRow).values(name="Meanwhile"))
        assert connection.execute(names).scalar_one() == "Before"
    with db.snapshot() as connection:
        assert connection.execute(names).scalar_one() == "Meanwhile"


def test_reopening_keeps_the_data(db_url: str) -> None:
    with Database(db_url) as first, first.transaction() as session:
        AccountRepository(session).save_account(Account(name="Kept"))
    with Database(db_url) as second, second.transaction() as session:
        loaded = AccountRepository(session).load()
    assert loaded is not None and loaded.account.name == "Kept"


def test_url_masks_the_password() -> None:
    with pytest.raises(StudioError) as refused:
        Database("postgresql+psycopg://marketer:hunter2@127.0.0.1:1/journeys")
    message = str(refused.value)
    assert message.startswith("Can't open the database at postgresql+psycopg://marketer:***@")
    assert "hunter2" not in message


def test_unreachable_server_is_reported_with_the_reason() -> None:
    with pytest.raises(StudioError) as refused:
        Database("postgresql+psycopg://someone@127.0.0.1:1/journeys")
    assert "Can't open the database at postgresql+psycopg://someone@127.0.0.1:1/journeys" in str(
        refused.value
    )
    assert "refused" in str(refused.value).lower()


@pytest.mark.parametrize("url", ["not a url", "://nothing", "postgresql+psycopg://u:p@h:port/db"])
def test_malformed_url_is_a_data_error(url: str) -> None:
    with pytest.raises(DataError, match="Can't open the database at") as refused:
        Database(url)
    assert ":p@" not in str(refused.value)


def test_unknown_database_kind_is_a_data_error() -> None:
    with pytest.raises(DataError, match=r"“nosuchdb” databases are not supported.*SQLite.*"
                       r"PostgreSQL"):
        Database("nosuchdb://host/x")


def test_unwritable_sqlite_location_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StudioError, match=r"Can't open the database at .*missing"):
        Database(f"sqlite:///{tmp_path}/missing/folder/journeys.db")


def test_database_from_a_newer_program_is_refused(db_url: str) -> None:
    with Database(db_url) as database, database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(DataError, match="newer"):
        Database(db_url)


def test_default_database_is_a_file_in_the_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data home"))
    url = default_database_url()
    folder = tmp_path / "data home" / "Journey Studio"
    assert folder.is_dir()
    assert url.startswith("sqlite:///") and url.endswith("journeys.db")
    with Database() as database:
        assert database.url == url
        assert database.dialect_name == "sqlite"
    assert (folder / "journeys.db").is_file()
