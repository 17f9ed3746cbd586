"""Databases made once per test session and copied for each test that needs one.

Most tests want a database in one of three states: empty (the migrations' own tests),
at the newest schema with no account yet (store, ingest and engine tests), or holding the
demo account and its generated customers (tests of the Studio, the CLI and the window).
Reaching the last two costs every test the migrations (about 0.3 s) and the demo's
seeding (about 1.5 s). Copying a database made once is about a hundred times cheaper:
SQLite copies the file, PostgreSQL clones a template database
(``CREATE DATABASE … TEMPLATE``). What each test gets is still its own database, dropped
or deleted after it, exactly as if the test had made it itself.

The demo's events are placed relative to the time the template is made, so a test sees
them up to a session's length older than a new seed would be; no test asserts a demo
audience's size, and every comparison is within one database.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine, make_url, text

Backend = Literal["sqlite", "postgresql"]
Content = Literal["empty", "migrated", "demo"]
NewDatabase = Callable[[Backend, Content], str]
"""``new_database(backend, content)`` (tests/conftest.py): the URL of a database of the
test's own."""



def _migrate(url: str) -> None:
    from app.store import Database

    Database(url).dispose()


def _seed_demo(url: str) -> None:
    from app.studio import Studio

    Studio.open(url).close()


_MAKERS: dict[str, Callable[[str], None]] = {"migrated": _migrate, "demo": _seed_demo}


class SqliteTemplates:
    """SQLite files made once in a session folder; each test gets a copy of one."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._made: dict[str, Path] = {}

    def copy(self, content: Content, target: Path) -> str:
        """The URL of ``target``: absent for "empty", else a copy of the made database."""
        if content != "empty":
            shutil.copyfile(self._template(content), target)
        return f"sqlite:///{target}"

    def _template(self, content: str) -> Path:
        if content not in self._made:
            path = self._folder / f"{content}.db"
            try:
                _MAKERS[content](f"sqlite:///{path}")
            except BaseException:
                for part in path.parent.glob(path.name + "*"):  # no half-made template
                    part.unlink()
                raise
            # Closing the last connection checkpoints WAL: the main file is complete.
            assert not path.with_name(path.name + "-wal").exists(), "WAL left behind"
            self._made[content] = path
        return self._made[content]


class PostgresTemplates:
    """Template databases made once on the test server; each test gets a clone of one."""

    def __init__(self, server_url: str, admin: Engine) -> None:
        self._server_url = server_url
        self._admin = admin
        self._made: dict[str, str] = {}
        self._session = uuid.uuid4().hex[:8]

    def create(self, content: Content) -> str:
        """A new database, empty or cloned from the made one; :meth:`drop` it afterwards."""
        name = f"js_store_{uuid.uuid4().hex[:16]}"
        source = "" if content == "empty" else f" TEMPLATE {self._template(content)}"
        self._execute(f"CREATE DATABASE {name}{source}")
        return self._url(name)

    def drop(self, url: str) -> None:
        """Drop a database made by :meth:`create`, ending any connection a failed test
        left open (WITH (FORCE), PostgreSQL 13+)."""
        self._drop(str(make_url(url).database))

    def drop_templates(self) -> None:
        for name in self._made.values():
            self._drop(name)
        self._made.clear()

    def _template(self, content: str) -> str:
        if content not in self._made:
            name = f"js_template_{content}_{self._session}"
            self._execute(f"CREATE DATABASE {name}")
            try:
                _MAKERS[content](self._url(name))  # every connection closed afterwards
            except BaseException:
                self._drop(name)  # the next test tries again, rather than cloning half
                raise
            self._made[content] = name
        return self._made[content]

    def _url(self, name: str) -> str:
        return make_url(self._server_url).set(database=name).render_as_string(
            hide_password=False
        )

    def _drop(self, name: str) -> None:
        force = " WITH (FORCE)" if self._admin.dialect.server_version_info >= (13,) else ""
        self._execute(f"DROP DATABASE IF EXISTS {name}{force}")

    def _execute(self, statement: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(statement))
