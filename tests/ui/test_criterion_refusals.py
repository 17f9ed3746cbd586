"""A criterion row the rules refuse says why in plain words, as journey files do ("should be
at most 255 characters long"), never pydantic's "Value should have at most 255 items after
validation"."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow

from .test_add_criterion import open_new_milestone


def test_an_event_name_too_long_is_refused_in_plain_words_on_its_row(
    qtbot: QtBot, canvas: MainWindow
) -> None:
    dialog = open_new_milestone(qtbot, canvas)
    QTest.keyClicks(dialog.name, "Renewed")
    QTest.mouseClick(dialog.criteria.add_button, Qt.MouseButton.LeftButton)
    row = dialog.criteria.rows[0]
    QTest.keyClicks(row.editors["event"].event_name, "W" * 256)  # type: ignore[attr-defined]

    assert not row.error.isHidden()
    assert row.error.text() == "Event name should be at most 255 characters long"
    assert not dialog.ok_button.isEnabled()


def test_a_refusal_names_the_operator_as_the_operator_box_shows_it(
    qtbot: QtBot, canvas: MainWindow
) -> None:
    """Location "is one of" with no value: the row says “is one of” needs a value, in the
    words of the box beside it, never the stored name of the operator ("in")."""
    dialog = open_new_milestone(qtbot, canvas)
    QTest.keyClicks(dialog.name, "In a few cities")
    QTest.mouseClick(dialog.criteria.add_button, Qt.MouseButton.LeftButton)
    row = dialog.criteria.rows[0]
    QTest.keyClicks(row.kind, "Loc")
    operator = row.editors["location"].operator  # type: ignore[attr-defined]
    for _ in range(3):  # is -> is not -> matches pattern -> is one of
        QTest.keyClick(operator, Qt.Key.Key_Down)
    assert operator.currentText() == "is one of"

    assert not row.error.isHidden()
    assert row.error.text() == "condition on “country”: “is one of” needs a value"
    assert not dialog.ok_button.isEnabled()
