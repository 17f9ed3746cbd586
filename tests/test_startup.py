"""Start-up hygiene: what launching the app loads, and the opt-in start-up marks.

Nothing here is timed (tests/benchmarks/startup.py measures). These tests fail when a
heavy module creeps back into the path from launch to the first painted canvas:
Alembic (only needed to migrate a database that is not current), the audience engine
and the importers (loaded when first used, off the GUI thread), DuckDB (only for a
duckdb URL). Each check runs in a fresh interpreter, as the app does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from app.store.database import HEAD_REVISION, Database, alembic_config, stored_revision
from app.studio import Studio

REPO_ROOT = Path(__file__).resolve().parent.parent

MIGRATIONS = ("alembic", "mako")
"""Loaded only to migrate a database that is not at the newest revision."""
NOT_AT_START = (*MIGRATIONS, "duckdb", "duckdb_engine", "psycopg", "app.engine", "app.ingest")
"""Module names (and their submodules) that must not be loaded before the window is up."""
BEFORE_QT = ("app.studio", "app.core.graph", "sqlalchemy.orm", "pydantic", "networkx")
"""Imported before PySide6 (see app/ui/main.py: PySide6 reads the source of every
module imported after it)."""


def run_python(script: str, tmp_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter from the checkout, offscreen, settings in tmp."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               XDG_CONFIG_HOME=str(tmp_path / "settings"), **environment)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` are one of ``names`` or inside one of them."""
    return sorted(m for m in modules
                  if any(m == name or m.startswith(name + ".") for name in names))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An existing database, as the app finds it on its second start: the demo account
    and its generated customers, migrated to the newest revision."""
    path = tmp_path_factory.mktemp("startup") / "journeys.db"
    Studio.open(str(path)).close()
    return path


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
    assert loaded(json.loads(result.stdout.splitlines()[-1]), MIGRATIONS) == []


def test_an_older_database_is_still_upgraded_when_opened(db_url: str) -> None:
    migrate_to(db_url, "0008")
    assert revision_of(db_url) == "0008"
    Database(db_url).dispose()
    assert revision_of(db_url) == HEAD_REVISION


# ---------------------------------------------------------------------- the app


def test_starting_the_app_loads_no_alembic_engine_importer_or_duckdb(
    demo_db: Path, tmp_path: Path
) -> None:
    """Importing the app and building its window on an existing database."""
    result = run_python(f"""
        import json, sys
        import app.ui.main
        imported = list(sys.modules)  # in the order they were imported
        window = app.ui.main.build_window(["--db", {str(demo_db)!r}])
        print(json.dumps({{"imported": imported, "built": list(sys.modules)}}))
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout.splitlines()[-1])
    assert loaded(modules["imported"], NOT_AT_START) == []
    assert loaded(modules["built"], NOT_AT_START) == []
    assert "app.ui.main_window" in modules["built"]  # the check looked at a started app


def test_the_app_imports_its_domain_and_store_before_pyside6(tmp_path: Path) -> None:
    result = run_python("""
        import json, sys
        import app.ui.main
        print(json.dumps(list(sys.modules)))
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    order = json.loads(result.stdout.splitlines()[-1])
    qt = order.index("PySide6")
    late = [name for name in BEFORE_QT if name not in order[:qt]]
    assert late == []


def test_startup_marks_tell_when_the_canvas_and_the_first_sizes_were_painted(
    demo_db: Path, tmp_path: Path
) -> None:
    """JOURNEY_STUDIO_STARTUP_TIMING=exit: both marks on stderr, then the app quits."""
    launched = time.time()
    result = run_python(f"""
        import sys
        from app.ui.main import main
        sys.exit(main(["--db", {str(demo_db)!r}]))
        """, tmp_path, JOURNEY_STUDIO_STARTUP_TIMING="exit")
    assert result.returncode == 0, result.stderr
    marks = dict(line.split()[1:3] for line in result.stderr.splitlines()
                 if line.startswith("startup-timing "))
    assert set(marks) == {"paint", "sizes"}, result.stderr
    painted, sized = float(marks["paint"]), float(marks["sizes"])
    assert launched < painted <= sized <= time.time()


def test_without_the_variable_no_marks_are_printed(demo_db: Path, tmp_path: Path) -> None:
    """The marks are opt-in: a normal start prints none (the app is quit after 2 s)."""
    result = run_python(f"""
        import sys
        from PySide6.QtCore import QTimer
        import app.ui.main as entry
        QTimer.singleShot(2000, entry.application().quit)
        sys.exit(entry.main(["--db", {str(demo_db)!r}]))
        """, tmp_path, JOURNEY_STUDIO_STARTUP_TIMING="")
    assert result.returncode == 0, result.stderr
    assert "startup-timing" not in result.stderr
