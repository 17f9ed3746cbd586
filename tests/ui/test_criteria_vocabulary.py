"""The criteria editor offers exactly the core's vocabulary: event types, platforms,
identity types, location fields and count operators come from app/core, not from a
copy that can fall behind (a type added to the core must be choosable in the editor)."""

from __future__ import annotations

from typing import get_args

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core import vocabulary as words
from app.core.criteria import AudienceDefinition, CountOperator
from app.ui.criteria_editor import CriteriaEditor


def _data(combo: object) -> list[object]:
    return [combo.itemData(i) for i in range(combo.count())]  # type: ignore[attr-defined]


def _texts(combo: object) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]  # type: ignore[attr-defined]


def test_the_editor_offers_exactly_the_core_vocabulary(qtbot: QtBot) -> None:
    editor = CriteriaEditor(AudienceDefinition())
    qtbot.addWidget(editor)
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    row = editor.rows[0]
    event, location = row.editors["event"], row.editors["location"]
    device, identity = row.editors["device"], row.editors["identity"]

    assert _data(event.event_type) == list(words.EVENT_TYPES)
    assert _data(event.count_operator) == list(get_args(CountOperator))
    assert _data(location.field) == list(words.LOCATION_FIELDS)
    assert list(device.boxes) == list(dict.fromkeys(words.PLATFORM_SPELLINGS.values()))
    assert [box.text() for box in device.boxes.values()] == list(device.boxes)
    assert _texts(identity.identity) == list(words.IDENTITY_TYPES)
    # Every choice has a label a marketer reads, not the stored word.
    assert "_" not in "".join(_texts(event.event_type) + _texts(location.field))
