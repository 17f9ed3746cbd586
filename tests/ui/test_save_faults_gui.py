"""What the window shows after a save fails at one of its steps is what is stored.

A failure before or at the commit stores nothing: the removed milestone stays on
the canvas, the banner says the change was not saved, and History gets no row.
A failure after the commit (forgetting a deleted journey's memberships) can't
take the stored deletion back: the journey stays gone from the list, History
shows the deletion as a done step, and the next edit does not bring it back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from app.core.commands import CreateJourney
from app.core.models import Journey, JourneyDocument
from app.studio import Studio
from app.ui.main_window import MainWindow
from tests.reliability.test_save_faults import failing_clean_up

from .conftest import TRIAL
from .test_editing import body_point, click, milestone, ordered, stored

LEAF = "ms-not-saved"
SPARE = "j-spare"


@pytest.fixture
def studio(stored_studio: Studio) -> Studio:  # type: ignore[override]
    """The stored demo studio with an empty journey, “Spare”, which may be deleted."""
    stored_studio.execute(CreateJourney(JourneyDocument(journey=Journey(id=SPARE, name="Spare"))))
    return stored_studio


def fail_next_commit(studio: Studio) -> None:
    """Make the next commit on the studio's database fail, as a full disk would."""

    def commit(_connection: Any) -> None:
        event.remove(studio.database.engine, "commit", commit)
        raise OperationalError("COMMIT", {}, OSError("disk I/O error"))

    event.listen(studio.database.engine, "commit", commit)


def listed(window: MainWindow) -> list[str]:
    model = window.panel.model
    return [str(model.data(model.index(row, 0), Qt.ItemDataRole.DisplayRole))
            for row in range(model.rowCount())]


def history(window: MainWindow) -> list[str]:
    stack = window.undo_stack
    return [stack.text(i) for i in range(stack.count())]


def test_a_removal_whose_commit_fails_stays_on_the_canvas_and_off_the_history(
    studio: Studio, editor: MainWindow, db_path: Path
) -> None:
    graph = studio.state.journey(TRIAL)
    before = history(editor)
    click(editor, body_point(milestone(editor, LEAF)))
    fail_next_commit(studio)
    QTest.keyClick(editor.view, Qt.Key.Key_Delete)

    assert LEAF in editor.scene.milestone_items and graph.has_milestone(LEAF)
    assert history(editor) == before
    assert editor.banner.isVisible() and editor.banner.level == "error"
    assert editor.banner.text().startswith("Not saved")
    assert "COMMIT" not in editor.banner.text()
    assert ordered(studio.state.snapshot()) == stored(db_path)
    # Nothing was left half done: the same gesture now removes it, as one undoable step.
    click(editor, body_point(milestone(editor, LEAF)))
    QTest.keyClick(editor.view, Qt.Key.Key_Delete)
    assert LEAF not in editor.scene.milestone_items
    assert editor.undo_stack.count() == len(before) + 1
    assert ordered(studio.state.snapshot()) == stored(db_path)


def test_a_deletion_whose_clean_up_fails_stays_deleted_and_done_in_history(
    studio: Studio, editor: MainWindow, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = failing_clean_up(monkeypatch)
    assert "Spare" in listed(editor)
    assert editor.panel.select(SPARE)
    editor.panel.delete_action.trigger()

    assert asked == [[SPARE]]
    assert "Spare" not in listed(editor)
    assert history(editor)[-1] == "Delete journey “Spare”"
    assert editor.undo_stack.index() == editor.undo_stack.count()
    assert not (editor.banner.isVisible() and editor.banner.level == "error")
    assert ordered(studio.state.snapshot()) == stored(db_path)
    # The next edit neither brings the journey back nor fails.
    assert editor.panel.select(TRIAL)
    click(editor, body_point(milestone(editor, LEAF)))
    QTest.keyClick(editor.view, Qt.Key.Key_Delete)
    assert LEAF not in editor.scene.milestone_items
    assert "Spare" not in listed(editor)
    assert not studio.state.has_journey(SPARE)
    assert ordered(studio.state.snapshot()) == stored(db_path)
    assert asked == [[SPARE], [SPARE]]  # forgotten after that save
    # Undo in History takes back the removal, then brings the deletion back as stored.
    editor.undo()
    editor.undo()
    assert "Spare" in listed(editor)
    assert ordered(studio.state.snapshot()) == stored(db_path)
