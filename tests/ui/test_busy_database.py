"""An edit that meets a busy database is refused with a plain message, and leaves no trace.

Another process holds SQLite's write lock (an import storing a chunk, an
evaluation storing its result) for longer than an edit waits. The rename typed
in the inspector then fails: the banner says the database is busy, the History
gets no row (Undo would refer to an edit that was never stored), and what the
window holds in memory is what a fresh load reads from the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.store import database as store_database
from app.studio import Studio
from app.ui.main_window import MainWindow

from .conftest import TRIAL

SIGNED_UP = "ms-signed-up"


@pytest.fixture
def stored_studio(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Studio]:
    """The stored studio (conftest), its edits waiting a third of a second for a lock."""
    monkeypatch.setattr(store_database, "SQLITE_BUSY_TIMEOUT_MS", 300)
    opened = Studio.open(str(db_path))
    yield opened
    opened.close()


@pytest.fixture
def studio(stored_studio: Studio) -> Studio:  # type: ignore[override]
    return stored_studio


@pytest.fixture
def another_writer(db_path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection to the file, in the middle of a write: it holds the write lock."""
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


def rename_in_inspector(window: MainWindow, milestone_id: str, name: str) -> None:
    """Select the milestone with a click and type its new name in the inspector."""
    body = window.scene.milestone_items[milestone_id].scene_body()
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier,
                     window.view.mapFromScene(QPointF(body.left() + 40, body.top() + 46)))
    field = window.inspector.name_field
    assert field is not None
    field.selectAll()
    QTest.keyClicks(field, name)
    QTest.keyClick(field, Qt.Key.Key_Return)


def fresh_load(db_path: Path) -> object:
    """The journey as a new Studio reads it from the file."""
    other = Studio.open(str(db_path))
    try:
        return other.state.journey(TRIAL).document()
    finally:
        other.close()


def test_an_edit_refused_by_a_busy_database_shows_why_and_pushes_nothing(
    qtbot: QtBot, editor: MainWindow, studio: Studio, db_path: Path,
    another_writer: sqlite3.Connection,
) -> None:
    history_rows = editor.undo_view.model().rowCount()
    rename_in_inspector(editor, SIGNED_UP, "Started a trial")
    assert editor.undo_stack.count() == 0
    assert editor.undo_view.model().rowCount() == history_rows
    assert not editor.undo_action.isEnabled()
    banner = editor.banner
    assert banner.isVisible() and banner.level == "error"
    assert banner.text() == store_database.BUSY_MESSAGE
    assert "UPDATE" not in banner.text() and "locked" not in banner.text()
    assert studio.state.journey(TRIAL).milestone(SIGNED_UP).name == "Signed up for trial"
    another_writer.execute("ROLLBACK")
    assert fresh_load(db_path) == studio.state.journey(TRIAL).document()
    # With the other writer gone, the same edit is stored and can be undone.
    rename_in_inspector(editor, SIGNED_UP, "Started a trial")
    assert editor.undo_stack.count() == 1
    assert fresh_load(db_path) == studio.state.journey(TRIAL).document()
    assert studio.state.journey(TRIAL).milestone(SIGNED_UP).name == "Started a trial"


def test_an_edit_that_fails_unexpectedly_is_not_pushed_either(
    editor: MainWindow, studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever stops the store from taking an edit, History only lists stored edits."""
    from app.core.commands import RenameMilestone

    def broken(_command: object) -> None:
        raise OSError("disk I/O error")

    monkeypatch.setattr(studio, "execute", broken)
    with pytest.raises(OSError):
        editor.run(RenameMilestone(TRIAL, SIGNED_UP, "Started a trial"))
    assert editor.undo_stack.count() == 0
    assert not editor.undo_action.isEnabled()
