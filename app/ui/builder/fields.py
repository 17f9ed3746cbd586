"""The builder's small parts: labels of the core's words, combo helpers, completions,
date pickers and the wording of refusals.

The choices come from the core (app/core/vocabulary.py and the criteria language):
a type added there is offered here, with a label if it has none yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import get_args

from pydantic import ValidationError
from PySide6.QtCore import QDate, QStringListModel, Qt
from PySide6.QtWidgets import QComboBox, QCompleter, QDateEdit, QLineEdit, QWidget

from app.core import vocabulary as words
from app.core.criteria import (
    PRESENCE_OPERATORS,
    CountOperator,
    plain_problems,
)

KINDS = (
    ("event", "Did an event"),
    ("ecommerce", "Commerce action"),
    ("user_attribute", "User attribute"),
    ("location", "Location"),
    ("device", "Device / platform"),
    ("identity", "Identity"),
    ("audience", "Audience membership"),
)
"""The criterion kinds, in the order the kind box offers them."""
_EVENT_TYPE_LABELS: dict[str, str] = {
    "commerce_event": "Commerce", "first_run": "Install (first run)",
}
"""Event types whose label is not the type in words ("screen_view" -> "Screen view")."""
_LOCATION_LABELS = {"region": "Region / state"}
_COUNT_LABELS: dict[str, str] = {">": "more than", ">=": "at least", "=": "exactly",
                                 "<": "fewer than", "<=": "at most"}


def in_words(word: str, labels: Mapping[str, str] | None = None) -> str:
    """A core word as the builder labels it: its own label, else the word spelled out."""
    return (labels or {}).get(word) or word.replace("_", " ").capitalize()


EVENT_TYPES = tuple((t, in_words(t, _EVENT_TYPE_LABELS)) for t in words.EVENT_TYPES)
COMMERCE_ACTIONS = tuple((a, in_words(a)) for a in words.COMMERCE_ACTIONS)
COUNT_OPERATORS = tuple((op, _COUNT_LABELS.get(op, op)) for op in get_args(CountOperator))
ATTRIBUTE_TYPES = (("string", "Text"), ("number", "Number"), ("boolean", "True / false"),
                   ("date", "Date"), ("list", "List"))
EVENT_ATTRIBUTE_TYPES = ATTRIBUTE_TYPES[:-1]
"""Event attributes are never lists (the core refuses list conditions on events)."""
LOCATION_FIELDS = tuple((f, in_words(f, _LOCATION_LABELS)) for f in words.LOCATION_FIELDS)
PLATFORMS = tuple(dict.fromkeys(words.PLATFORM_SPELLINGS.values()))
"""Known platforms as they are stored (a device criterion compares ignoring case)."""
IDENTITY_TYPES = words.IDENTITY_TYPES
WINDOW_KINDS = (("within_last_days", "in the last"), ("before", "before"),
                ("after", "on or after"), ("on", "on"), ("between", "between"))
"""Time windows as the row reads: “more than 0 times in the last 30 days”."""
COMMERCE_EVENT_TYPE = "commerce_event"
"""The event type whose catalogue entries are product actions."""


def refusal_text(problem: Exception) -> str:
    """The first problem of a refusal, in the core's plain words (as journey files say it):
    ``Count should be at most 1,000,000``, not pydantic's "Input should be…"."""
    if isinstance(problem, ValidationError):
        found = plain_problems(problem.errors())
        if found:
            loc, message = found[0]
            # The row shows one criterion: its field in words ("event_name" -> "Event name").
            location = " ".join(str(p).replace("_", " ") for p in loc if isinstance(p, str))
            if "“" in message or not location:
                return message
            return f"{location[:1].upper()}{location[1:]} {message}"
    return str(problem)


def combo(options: Iterable[tuple[str, str]], name: str = "") -> QComboBox:
    box = QComboBox()
    if name:
        box.setAccessibleName(name)
    for value, label in options:
        box.addItem(label, value)
    return box


def select(box: QComboBox, value: object) -> None:
    index = box.findData(value)
    if index >= 0:
        box.setCurrentIndex(index)


def fill(box: QComboBox, options: Sequence[tuple[str, str]]) -> None:
    """Replace the choices, keeping the current one when it is still offered; quietly."""
    current = box.currentData()
    box.blockSignals(True)
    box.clear()
    for value, label in options:
        box.addItem(label, value)
    select(box, current)
    box.blockSignals(False)


def searchable(field: QLineEdit, values: Sequence[str] = ()) -> QCompleter:
    """Offer ``values`` as completions of ``field``: any part of a value, any case."""
    completer = QCompleter(field)
    # The model belongs to the completer: a model without a parent would be collected
    # by Python, and the completions with it.
    completer.setModel(QStringListModel(list(values), completer))
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    completer.setMaxVisibleItems(12)
    field.setCompleter(completer)
    return completer


def set_completions(field: QLineEdit, values: Sequence[str]) -> None:
    """The completions of a field made :func:`searchable`."""
    completer = field.completer()
    if completer is None:
        completer = searchable(field)
    model = completer.model()
    if isinstance(model, QStringListModel):
        model.setStringList(list(values))


def date_field(name: str) -> QDateEdit:
    """A date with a calendar popup (UTC days, as the criteria count them)."""
    field = QDateEdit()
    field.setCalendarPopup(True)
    field.setDisplayFormat("yyyy-MM-dd")
    field.setAccessibleName(name)
    field.setDate(QDate.currentDate())
    field.setMinimumWidth(128)
    field.lineEdit().setTextMargins(4, 0, 0, 0)
    return field


def day_of(field: QDateEdit) -> datetime:
    """The field's day as midnight UTC."""
    day = field.date()
    return datetime.combine(date(day.year(), day.month(), day.day()), time(), tzinfo=UTC)


def show_day(field: QDateEdit, moment: datetime | None) -> None:
    if moment is None:
        return
    moment = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    field.setDate(QDate(moment.year, moment.month, moment.day))


def parse_value(text: str, operator: str, kind: str) -> object:
    """A condition value from what was typed: lists split at commas, booleans as words."""
    if operator in PRESENCE_OPERATORS:
        return None
    parts: list[object] = [p.strip() for p in text.split(",") if p.strip()]
    if kind == "boolean":
        truth = {"true": True, "yes": True, "false": False, "no": False}
        parts = [truth.get(str(p).casefold(), p) for p in parts]
    if operator in ("in", "not_in", "between"):
        return parts
    if not parts:
        return None
    return parts[0] if kind == "boolean" else text.strip()


def value_text(value: object) -> str:
    """A value as the row's text field shows it (lists joined with commas)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def set_visible(visible: bool, *widgets: QWidget) -> None:
    for widget in widgets:
        widget.setVisible(visible)
