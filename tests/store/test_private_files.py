"""The SQLite database holds customer data: the files the app creates are its owner's only.

A new database file (and its -wal and -shm companions) is readable and writable by
its owner alone (0600), and the folder the app makes for the default database is
0700. A folder the person chose (``--db`` somewhere) keeps its own mode.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.store import database as database_module
from app.studio import Studio

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="Windows has no owner/group/other file modes"
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common umask (022), under which SQLite makes files anyone can read."""
    previous = os.umask(0o022)
    yield None
    os.umask(previous)


def test_a_new_database_file_and_its_companions_are_private(
    tmp_path: Path, loose_umask: None
) -> None:
    folder = tmp_path / "chosen"
    folder.mkdir(mode=0o755)
    path = folder / "journeys.db"
    studio = Studio.open(str(path))
    try:
        studio.evaluate(studio.state.journey_by_name("Trial to paid").document())
        made = sorted(p.name for p in folder.iterdir())
        assert "journeys.db-wal" in made  # open, in WAL mode: the companions exist now
        assert {p: oct(mode(folder / p)) for p in made} == {p: oct(0o600) for p in made}
    finally:
        studio.close()
    assert mode(folder) == 0o755  # the person's folder is left as it was


def test_the_cli_creates_a_private_file(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "j.db"
    assert main(["--db", str(path), "journeys", "list"]) == 0
    assert mode(path) == 0o600


def test_the_default_folder_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: None
) -> None:
    data = tmp_path / "data" / "Journey Studio"
    monkeypatch.setattr(database_module.platformdirs, "user_data_dir",
                        lambda *_args, **_kwargs: str(data))
    studio = Studio.open(None)
    try:
        assert studio.database.url.endswith("journeys.db")
    finally:
        studio.close()
    assert mode(data) == 0o700
    assert mode(data / "journeys.db") == 0o600


def test_an_existing_file_keeps_its_mode(tmp_path: Path, loose_umask: None) -> None:
    """Who may read a file someone made is their choice (a shared team file, say)."""
    path = tmp_path / "shared.db"
    Studio.open(str(path)).close()
    path.chmod(0o640)
    Studio.open(str(path)).close()
    assert mode(path) == 0o640
