"""Templates in the New journey dialog, and File ▸ Export/Import journey…, in the window.

On a real Studio over the demo database: a journey made from a template with
clicks shows people on every card once evaluated; a journey exported and imported
through the File menu (the file dialogs answered as a person would) comes back as
the same journey under the next free name, in one undoable step; a spoilt file
stores nothing and the banner names the milestone and field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from app.core.templates import CART_ABANDONMENT, RE_ENGAGEMENT
from app.studio import Studio
from app.ui.dialogs import NewJourneyDialog
from app.ui.main_window import MainWindow

from .conftest import TRIAL

WAIT_MS = 15_000


def _file_action(window: MainWindow, text: str) -> QAction:
    """The File menu's action shown as ``text`` (mnemonics aside)."""
    menu = window.menuBar().actions()[0].menu()
    for action in menu.actions():  # type: ignore[union-attr]
        if action.text().replace("&", "") == text:
            return action
    raise AssertionError(f"no {text} in the File menu")


def _click_template(dialog: NewJourneyDialog, name: str) -> None:
    items = dialog.templates.findItems(name, Qt.MatchFlag.MatchExactly)
    assert len(items) == 1
    point = dialog.templates.visualItemRect(items[0]).center()
    QTest.mouseClick(dialog.templates.viewport(), Qt.MouseButton.LeftButton, pos=point)


@pytest.mark.parametrize("template", [CART_ABANDONMENT, RE_ENGAGEMENT], ids=lambda t: t.key)
def test_a_journey_from_a_template_shows_people_on_every_card(
    qtbot: QtBot, editor: MainWindow, stored_studio: Studio, artifacts_dir: Path,
    template: Any,
) -> None:
    QTest.mouseClick(editor.panel.new_button, Qt.MouseButton.LeftButton)
    dialog = editor.active_dialog
    assert isinstance(dialog, NewJourneyDialog)
    assert dialog.template() is None  # Blank journey comes first, chosen
    _click_template(dialog, template.name)
    assert dialog.template() is template
    assert dialog.template_note.text() == template.description
    assert dialog.name.text() == template.name  # a name not typed follows the choice
    dialog.check_workspace("ws-streaming")
    dialog.grab().save(str(artifacts_dir / f"new-journey-{template.key}.png"))
    QTest.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    created = stored_studio.state.journey_by_name(template.name)
    assert [m.name for m in created.milestones_in_order()] == [
        m.name for m in template.milestones]
    assert editor.panel.current_journey_id() == created.id
    qtbot.waitUntil(lambda: editor.evaluations.figures(created.id) is not None,
                    timeout=WAIT_MS)
    shown = {m.name: editor.scene.milestone_items[m.id].card().size_text
             for m in created.milestones_in_order()}
    assert all(re.fullmatch(r"[1-9][\d,]* users?", text) for text in shown.values()), shown
    editor.grab().save(str(artifacts_dir / f"template-{template.key}.png"))
    editor.undo()
    assert not stored_studio.state.has_journey(created.id)


def test_a_template_named_like_a_journey_suggests_the_next_free_name(
    editor: MainWindow
) -> None:
    QTest.mouseClick(editor.panel.new_button, Qt.MouseButton.LeftButton)
    dialog = editor.active_dialog
    assert isinstance(dialog, NewJourneyDialog)
    _click_template(dialog, "Trial to paid")  # the demo account has one
    assert dialog.name.text() == "Trial to paid (2)"
    assert dialog.name_error.isHidden()
    QTest.keyClicks(dialog.name, " for web")
    _click_template(dialog, "Win-back after churn")  # a typed name stays
    assert dialog.name.text() == "Trial to paid (2) for web"
    dialog.reject()


def _answer_files(monkeypatch: pytest.MonkeyPatch, save: Path | None = None,
                  open_: Path | None = None) -> None:
    """The file dialogs answer as a person choosing these files would."""
    if save is not None:
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            staticmethod(lambda *_a, **_k: (str(save), "")))
    if open_ is not None:
        monkeypatch.setattr(QFileDialog, "getOpenFileName",
                            staticmethod(lambda *_a, **_k: (str(open_), "")))


def test_export_then_import_through_the_file_menu_is_one_undoable_step(
    monkeypatch: pytest.MonkeyPatch, editor: MainWindow, stored_studio: Studio,
    tmp_path: Path, db_path: Path,
) -> None:
    path = tmp_path / "trial.json"
    _answer_files(monkeypatch, save=path, open_=path)
    assert editor.panel.current_journey_id() == TRIAL
    _file_action(editor, "Export journey…").trigger()
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["journey"]["name"] == "Trial to paid"
    assert [m["name"] for m in written["milestones"]] == [
        m.name for m in stored_studio.state.journey(TRIAL).milestones_in_order()]
    assert "Exported “Trial to paid” to trial.json" in editor.banner.text()

    _file_action(editor, "Import journey…").trigger()
    copy = stored_studio.state.journey_by_name("Trial to paid (2)")
    assert editor.panel.current_journey_id() == copy.id
    assert editor.scene.graph is copy
    original = stored_studio.state.journey(TRIAL)
    assert [(m.name, m.definition, m.remaining) for m in copy.milestones_in_order()] == [
        (m.name, m.definition, m.remaining) for m in original.milestones_in_order()]
    assert copy.journey.input_ids == original.journey.input_ids
    assert "Imported as “Trial to paid (2)”" in editor.banner.text()
    assert editor.controller.stack.undoText() == "Import “Trial to paid (2)”"
    reopened = Studio.open(str(db_path))
    try:
        assert reopened.state.has_journey(copy.id)
    finally:
        reopened.close()
    editor.undo()
    assert not stored_studio.state.has_journey(copy.id)


def test_a_spoilt_file_stores_nothing_and_the_banner_says_what_and_where(
    monkeypatch: pytest.MonkeyPatch, editor: MainWindow, stored_studio: Studio,
    tmp_path: Path,
) -> None:
    data = json.loads(stored_studio.journey_file_text(TRIAL))
    data["milestones"][1]["definition"]["clauses"][0]["item"]["count"] = "many"
    path = tmp_path / "spoilt.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    _answer_files(monkeypatch, open_=path)
    before = stored_studio.state.snapshot()
    undo_steps = editor.controller.stack.count()
    _file_action(editor, "Import journey…").trigger()
    assert editor.banner.isVisible() and editor.banner.level == "error"
    assert editor.banner.text() == (
        "Could not import spoilt.json: milestone 2 (“Watched content”): clause 1 (event "
        "criterion), field count: should be a whole number")
    assert stored_studio.state.snapshot() == before
    assert editor.controller.stack.count() == undo_steps
