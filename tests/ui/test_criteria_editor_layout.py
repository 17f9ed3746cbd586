"""The criteria editor keeps its rows compact however tall the dialog is."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.core.criteria import AudienceDefinition, Clause, EventCriterion
from app.ui.criteria_editor import CriteriaEditor


def test_an_event_row_is_as_tall_as_its_fields_in_a_tall_editor(qtbot: QtBot) -> None:
    editor = CriteriaEditor(AudienceDefinition(clauses=(
        Clause(item=EventCriterion(event_name="Watch content")),
    )))
    qtbot.addWidget(editor)
    editor.resize(820, 600)
    editor.show()
    qtbot.waitExposed(editor)
    row = editor.rows[0]
    # Four lines (join/kind; type/name; count and window; "+ Attribute condition") and
    # the row's margins: the spare height of the editor must not go into the row.
    assert row.height() < 5 * row.kind.height() + 30
    assert editor.add_button.geometry().top() < row.geometry().bottom() + 40
