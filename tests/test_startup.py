"""Start-up hygiene: what opening a database loads.

Nothing here is timed (tests/benchmarks/startup.py measures). These tests fail when a
heavy module creeps back into the path from launch to the first painted canvas:
Alembic is only needed to migrate a database that is not current. Each check runs in
a fresh interpreter, as the app does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from app.store.database import HEAD_REVISION, Database, alembic_config, stored_revision

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Module names (and their submodules) that must not be loaded before the window is up.
NOT_AT_START = ("alembic", "mako")


def run_python(script: str, tmp_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter from the checkout, offscreen, settings in tmp."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               XDG_CONFIG_HOME=str(tmp_path / "settings"), **environment)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def loaded(modules: list[str], names: tuple[str, ...] = NOT_AT_START) -> list[str]:
    """Which of ``modules`` are one of ``names`` or inside one of them."""
    return sorted(m for m in modules
                  if any(m == name or m.startswith(name + ".") for name in names))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return str(request.getfixturevalue("pg_url"))


def migrate_to(url: str, revision: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def revision_of(url: str) -> str | None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return stored_revision(connection)
    finally:
        engine.dispose()


# ---------------------------------------------------------------------- the schema check


def test_head_revision_is_the_newest_migration() -> None:
    """A new migration must move HEAD_REVISION too, or current databases would not be
    upgraded to it."""
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_a_current_database_opens_without_loading_alembic(db_url: str, tmp_path: Path) -> None:
    Database(db_url).dispose()  # new: created and migrated
    result = run_python(f"""
        import json, sys
        from app.store.database import Database
        Database({db_url!r}).dispose()
        print(json.dumps(sorted(sys.modules)))
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert loaded(json.loads(result.stdout.splitlines()[-1])) == []


def test_an_older_database_is_still_upgraded_when_opened(db_url: str) -> None:
    migrate_to(db_url, "0008")
    assert revision_of(db_url) == "0008"
    Database(db_url).dispose()
    assert revision_of(db_url) == HEAD_REVISION
