"""A basic audience-definition editor: rows of criteria joined by And / Or / Exclude.

Each row edits one criterion of :mod:`app.core.criteria` (event, user attribute,
location, device, identity). The models validate themselves, so a row builds
its criterion on every change and shows pydantic's refusal under the row, in
place; the dialog is only accepted when every row builds. Nested groups and
audience-membership criteria are kept as they are when present (they are shown
read-only), so opening and accepting the editor never loses what it can't edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast, get_args

from pydantic import ValidationError
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core import vocabulary as words
from app.core.criteria import (
    COUNT_MAX,
    ORDER_OPERATORS,
    PRESENCE_OPERATORS,
    STRING_OPERATORS,
    WINDOW_DAYS_MAX,
    AudienceDefinition,
    Clause,
    Condition,
    CountOperator,
    DeviceCriterion,
    EventCriterion,
    IdentityCriterion,
    LocationCriterion,
    TimeWindow,
    UserAttributeCriterion,
    describe,
    plain_problems,
)
from app.ui import icons

KINDS = (
    ("event", "Did an event"),
    ("user_attribute", "User attribute"),
    ("location", "Location"),
    ("device", "Device / platform"),
    ("identity", "Identity"),
)
_EVENT_TYPE_LABELS: dict[str, str] = {
    "commerce_event": "Commerce", "first_run": "Install (first run)",
}
"""Event types whose label is not the type in words ("screen_view" -> "Screen view")."""
_LOCATION_LABELS = {"region": "Region / state"}
_COUNT_LABELS: dict[str, str] = {">": "more than", ">=": "at least", "=": "exactly",
                                 "<": "fewer than", "<=": "at most"}


def _in_words(word: str, labels: Mapping[str, str]) -> str:
    """A core word as the editor labels it: its own label, else the word spelled out."""
    return labels.get(word) or word.replace("_", " ").capitalize()


# The choices come from the core's vocabulary (app/core/vocabulary.py and the criteria
# language): a type added there is offered here, with a label if it has none yet.
EVENT_TYPES = tuple((t, _in_words(t, _EVENT_TYPE_LABELS)) for t in words.EVENT_TYPES)
COUNT_OPERATORS = tuple((op, _COUNT_LABELS.get(op, op)) for op in get_args(CountOperator))
OPERATOR_LABELS = {
    "contains": "contains", "not_contains": "does not contain", "equals": "is",
    "not_equals": "is not", "pattern": "matches pattern", "in": "is one of",
    "not_in": "is not one of", "eq": "=", "ne": "≠", "gt": ">", "ge": "≥", "lt": "<",
    "le": "≤", "between": "between", "exists": "exists", "not_exists": "does not exist",
}
ATTRIBUTE_TYPES = (("string", "Text"), ("number", "Number"), ("boolean", "True / false"),
                   ("date", "Date"))
LOCATION_FIELDS = tuple((f, _in_words(f, _LOCATION_LABELS)) for f in words.LOCATION_FIELDS)
PLATFORMS = tuple(dict.fromkeys(words.PLATFORM_SPELLINGS.values()))
"""Known platforms as they are stored (a device criterion compares ignoring case)."""
IDENTITY_TYPES = words.IDENTITY_TYPES


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


def _combo(options: tuple[tuple[str, str], ...]) -> QComboBox:
    combo = QComboBox()
    for value, label in options:
        combo.addItem(label, value)
    return combo


def _select(combo: QComboBox, value: object) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


def parse_value(text: str, operator: str, kind: str) -> object:
    """A condition value from what was typed: lists split at commas, booleans as words."""
    if operator in PRESENCE_OPERATORS:
        return None
    parts: list[object] = [p.strip() for p in text.split(",") if p.strip()]
    if kind == "boolean":
        words = {"true": True, "yes": True, "false": False, "no": False}
        parts = [words.get(str(p).casefold(), p) for p in parts]
    if operator in ("in", "not_in", "between"):
        return parts
    if not parts:
        return None
    return parts[0] if kind == "boolean" else text.strip()


def value_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Editor(QWidget):
    """One kind of criterion; ``changed`` on every edit."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(6)

    def add(self, widget: QWidget, stretch: int = 0) -> QWidget:
        self.row.addWidget(widget, stretch)
        if isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(self.changed)
        elif isinstance(widget, QLineEdit):
            widget.textChanged.connect(self.changed)
        elif isinstance(widget, QSpinBox):
            widget.setMinimumWidth(84)
            widget.setMaximumWidth(150)
            # The style sheet cannot pad a spin box's inner edit field; match the line edits.
            widget.lineEdit().setTextMargins(6, 0, 0, 0)
            widget.valueChanged.connect(self.changed)
        elif isinstance(widget, QCheckBox):
            widget.toggled.connect(self.changed)
        return widget

    def first_field(self) -> QWidget:
        """Where typing starts: the first text field, else the first field."""
        widgets = [self.row.itemAt(i).widget() for i in range(self.row.count())]
        fields = [w for w in widgets if w is not None]
        return next((w for w in fields if isinstance(w, QLineEdit)), fields[0])

    def criterion(self) -> object:
        raise NotImplementedError

    def load(self, criterion: object) -> None:
        raise NotImplementedError


class EventEditor(_Editor):
    def __init__(self) -> None:
        super().__init__()
        self.event_type = cast(QComboBox, self.add(_combo(EVENT_TYPES)))
        self.event_name = cast(QLineEdit, self.add(QLineEdit(), 1))
        self.event_name.setPlaceholderText("Event name, e.g. Sign up")
        self.event_name.setMinimumWidth(190)
        self.count_operator = cast(QComboBox, self.add(_combo(COUNT_OPERATORS)))
        self.count = cast(QSpinBox, self.add(QSpinBox()))
        self.count.setRange(0, COUNT_MAX)
        self.count.setSuffix(" times")
        self.days = cast(QSpinBox, self.add(QSpinBox()))
        self.days.setRange(1, WINDOW_DAYS_MAX)
        self.days.setValue(30)
        self.days.setPrefix("in last ")
        self.days.setSuffix(" days")

        self._loaded: EventCriterion | None = None

    def criterion(self) -> EventCriterion:
        """The edited criterion; what this row does not show (attribute conditions, a
        commerce action, a dated window) is kept from the loaded one, never dropped."""
        name = self.event_name.text().strip() or None
        event_type = self.event_type.currentData()
        base = self._loaded or EventCriterion()
        if event_type == "custom_event" and not name:
            raise ValueError("Name the custom event, e.g. “Sign up”.")
        window = base.window
        if self.days.isEnabled():
            window = TimeWindow(kind="within_last_days", days=self.days.value())
        return EventCriterion.model_validate({
            **base.model_dump(), "event_type": event_type, "event_name": name,
            "count_operator": self.count_operator.currentData(), "count": self.count.value(),
            "window": window.model_dump(),
        })

    def load(self, criterion: object) -> None:
        assert isinstance(criterion, EventCriterion)
        self._loaded = criterion
        _select(self.event_type, criterion.event_type)
        self.event_name.setText(criterion.event_name or "")
        if criterion.commerce_action:
            self.event_name.setPlaceholderText(f"Any {criterion.commerce_action}")
        _select(self.count_operator, criterion.count_operator)
        self.count.setValue(criterion.count)
        if criterion.window.kind == "within_last_days" and criterion.window.days:
            self.days.setValue(criterion.window.days)
        else:
            self.days.setEnabled(False)
            self.days.setSpecialValueText("dated")
            self.days.setToolTip("A dated window is kept as it is: "
                                 f"{describe(AudienceDefinition(clauses=(Clause(item=criterion),)))}")


class _ConditionFields:
    """Operator and value widgets whose choices follow the attribute's type."""

    def __init__(self, editor: _Editor, kinds: str = "string") -> None:
        self.operator = cast(QComboBox, editor.add(QComboBox()))
        self.value = cast(QLineEdit, editor.add(QLineEdit(), 1))
        self.fill(kinds)
        self.operator.currentIndexChanged.connect(self._placeholder)

    def fill(self, kind: str) -> None:
        current = self.operator.currentData()
        operators = {"string": STRING_OPERATORS, "number": ORDER_OPERATORS,
                     "date": ORDER_OPERATORS, "boolean": ("eq", "ne")}[kind]
        self.operator.blockSignals(True)
        self.operator.clear()
        for op in (*operators, *PRESENCE_OPERATORS):
            self.operator.addItem(OPERATOR_LABELS[op], op)
        _select(self.operator, current)
        self.operator.blockSignals(False)
        self._placeholder()

    def _placeholder(self) -> None:
        op = self.operator.currentData()
        self.value.setEnabled(op not in PRESENCE_OPERATORS)
        self.value.setPlaceholderText({"in": "a, b, c", "not_in": "a, b, c",
                                       "between": "low, high"}.get(op, "value"))


class AttributeEditor(_Editor):
    def __init__(self) -> None:
        super().__init__()
        self.attribute = cast(QLineEdit, self.add(QLineEdit(), 1))
        self.attribute.setPlaceholderText("Attribute, e.g. plan")
        self.kind = cast(QComboBox, self.add(_combo(ATTRIBUTE_TYPES)))
        self.fields = _ConditionFields(self)
        self.kind.currentIndexChanged.connect(lambda: self.fields.fill(self.kind.currentData()))

    def criterion(self) -> UserAttributeCriterion:
        kind = self.kind.currentData()
        op = self.fields.operator.currentData()
        return UserAttributeCriterion(condition=Condition(
            attribute=self.attribute.text().strip(), type=kind, operator=op,
            value=parse_value(self.fields.value.text(), op, kind),  # type: ignore[arg-type]
        ))

    def load(self, criterion: object) -> None:
        assert isinstance(criterion, UserAttributeCriterion)
        condition = criterion.condition
        self.attribute.setText(condition.attribute)
        _select(self.kind, condition.type)
        self.fields.fill(condition.type)
        _select(self.fields.operator, condition.operator)
        self.fields.value.setText(value_text(condition.value))


class LocationEditor(_Editor):
    def __init__(self) -> None:
        super().__init__()
        self.field = cast(QComboBox, self.add(_combo(LOCATION_FIELDS)))
        self.fields = _ConditionFields(self)
        _select(self.fields.operator, "equals")

    def criterion(self) -> LocationCriterion:
        op = self.fields.operator.currentData()
        return LocationCriterion(field=self.field.currentData(), operator=op,
                                 value=parse_value(self.fields.value.text(), op,
                                                   "string"))  # type: ignore[arg-type]

    def load(self, criterion: object) -> None:
        assert isinstance(criterion, LocationCriterion)
        _select(self.field, criterion.field)
        _select(self.fields.operator, criterion.operator)
        self.fields.value.setText(value_text(criterion.value))


class DeviceEditor(_Editor):
    def __init__(self) -> None:
        super().__init__()
        self.negate = cast(QComboBox, self.add(_combo((("on", "uses"), ("not", "does not use")))))
        self.boxes = {p: cast(QCheckBox, self.add(QCheckBox(p))) for p in PLATFORMS}
        self.row.addStretch(1)

    def criterion(self) -> DeviceCriterion:
        chosen = tuple(p for p, box in self.boxes.items() if box.isChecked())
        if not chosen:
            raise ValueError("Tick at least one platform.")
        return DeviceCriterion(platforms=chosen, negate=self.negate.currentData() == "not")

    def load(self, criterion: object) -> None:
        assert isinstance(criterion, DeviceCriterion)
        _select(self.negate, "not" if criterion.negate else "on")
        wanted = {p.casefold() for p in criterion.platforms}
        for name, box in self.boxes.items():
            box.setChecked(name.casefold() in wanted)


class IdentityEditor(_Editor):
    def __init__(self) -> None:
        super().__init__()
        self.present = cast(QComboBox, self.add(_combo((("has", "has"), ("lacks", "lacks")))))
        self.identity = cast(QComboBox, self.add(QComboBox(), 1))
        self.identity.setEditable(True)
        self.identity.addItems(IDENTITY_TYPES)
        line = self.identity.lineEdit()
        if line is not None:
            line.textChanged.connect(self.changed)

    def criterion(self) -> IdentityCriterion:
        return IdentityCriterion(identity_type=self.identity.currentText().strip(),
                                 present=self.present.currentData() == "has")

    def load(self, criterion: object) -> None:
        assert isinstance(criterion, IdentityCriterion)
        _select(self.present, "has" if criterion.present else "lacks")
        self.identity.setCurrentText(criterion.identity_type)


EDITORS: dict[str, type[_Editor]] = {
    "event": EventEditor, "user_attribute": AttributeEditor, "location": LocationEditor,
    "device": DeviceEditor, "identity": IdentityEditor,
}


class CriterionRow(QWidget):
    """Join, kind, the kind's fields, a remove button; the refusal under it."""

    changed = Signal()
    removeRequested = Signal(object)

    def __init__(self, first: bool, clause: Clause | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("criterionRow")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._kept: Clause | None = None
        self.join = QComboBox()
        self.join.setObjectName("joinCombo")
        self.kind = _combo(KINDS)
        self.stack = QStackedWidget()
        self.editors: dict[str, _Editor] = {}
        for key, _label in KINDS:
            editor = self.editors[key] = EDITORS[key]()
            editor.changed.connect(self.changed)
            self.stack.addWidget(editor)
        self.remove_button = QToolButton()
        self.remove_button.setObjectName("removeRow")
        self.remove_button.setIcon(icons.icon("close", "text_muted", active="danger"))
        self.remove_button.setIconSize(QSize(16, 16))
        self.remove_button.setAutoRaise(True)
        self.remove_button.setAccessibleName("Remove criterion")
        self.remove_button.setToolTip("Remove this criterion")
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self))
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.count = QLabel()
        self.count.setObjectName("criterionCount")
        self.count.setToolTip("Users of the previous audience who match this criterion alone")
        self.count.hide()
        # Join and kind on top, the kind's fields on a line of their own below: event
        # names and values get the whole width.
        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(self.join)
        top.addWidget(self.kind)
        top.addStretch(1)
        top.addWidget(self.count)
        top.addSpacing(4)
        top.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 8, 10)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.stack)
        layout.addWidget(self.error)
        self.set_first(first)
        self._show_editor(self.kind.currentData())
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.join.currentIndexChanged.connect(self.changed)
        if clause is not None:
            self.load(clause)

    def first_field(self) -> QWidget:
        """The first field to type in of the shown criterion (the event name, the
        attribute name…); the kind box when the criterion is kept as it is."""
        if self._kept is not None:
            return self.join
        return self.editors[self.kind.currentData()].first_field()

    def set_count(self, text: str | None) -> None:
        """This criterion's own count at the right of the row (None: none shown)."""
        self.count.setText(text or "")
        self.count.setVisible(text is not None)

    def set_first(self, first: bool) -> None:
        """The first row says Include / Exclude; the others And / Or / Exclude."""
        current = self.join.currentData() or "and"
        self.join.blockSignals(True)
        self.join.clear()
        options = (("and", "Include"), ("exclude", "Exclude")) if first else (
            ("and", "And"), ("or", "Or"), ("exclude", "Exclude"))
        for value, label in options:
            self.join.addItem(label, value)
        _select(self.join, current if (current != "or" or not first) else "and")
        self.join.blockSignals(False)

    def _kind_changed(self) -> None:
        self._show_editor(self.kind.currentData())
        self.changed.emit()

    def _show_editor(self, kind: str) -> None:
        """Show ``kind``'s fields, sized to them alone.

        A stacked widget is as tall as its tallest page; ignoring the hidden pages'
        size keeps a one-line event row from growing to the height of another kind.
        """
        shown = self.editors[kind]
        for editor in self.editors.values():
            policy = QSizePolicy.Policy.Preferred if editor is shown else QSizePolicy.Policy.Ignored
            editor.setSizePolicy(policy, policy)
        self.stack.setCurrentWidget(shown)
        self.stack.adjustSize()

    def load(self, clause: Clause) -> None:
        _select(self.join, clause.join)
        kind = getattr(clause.item, "kind", "")
        if kind in self.editors:
            _select(self.kind, kind)
            self._show_editor(kind)
            self.editors[kind].load(clause.item)
        else:  # a group or an audience-membership criterion: kept as it is
            self._kept = clause
            self.kind.hide()
            self.stack.hide()
            note = QLabel(describe(AudienceDefinition(clauses=(clause,))))
            note.setObjectName("keptCriterion")
            note.setWordWrap(True)
            note.setToolTip("Kept as it is: this editor does not change groups or "
                            "audience-membership criteria.")
            cast(QVBoxLayout, self.layout()).insertWidget(1, note)

    def clause(self) -> Clause:
        """The row as a clause; raises ValueError / ValidationError with the refusal."""
        join = self.join.currentData()
        if self._kept is not None:
            return self._kept.model_copy(update={"join": join})
        editor = self.editors[self.kind.currentData()]
        return Clause(join=join, item=editor.criterion())  # type: ignore[arg-type]

    def validate(self) -> bool:
        try:
            self.clause()
        except (ValueError, ValidationError) as problem:
            self.error.setText(refusal_text(problem))
            self.error.show()
            return False
        self.error.hide()
        return True


class CriteriaEditor(QWidget):
    """The rows and an "Add criterion" button; ``changed`` after any edit."""

    changed = Signal()

    def __init__(self, definition: AudienceDefinition | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[CriterionRow] = []
        self._rows_layout = QVBoxLayout()
        self._rows_layout.setSpacing(6)
        self.empty = QLabel("No criteria: everyone in the previous audience is in this one.")
        self.empty.setObjectName("emptyCriteria")
        self.add_button = QPushButton("Add criterion")
        self.add_button.setObjectName("addCriterion")
        self.add_button.setIcon(icons.icon("plus", "accent"))
        self.add_button.setIconSize(QSize(16, 16))
        # Never the dialog's default button: focused after a click it would take the
        # default look, and Enter in a field would add a row instead of meaning OK.
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self._add_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.empty)
        layout.addLayout(self._rows_layout)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)  # spare height goes below the rows, never into them
        for clause in (definition.clauses if definition else ()):
            self.add_row(clause)
        self._refresh_empty()

    def add_row(self, clause: Clause | None = None) -> CriterionRow:
        row = CriterionRow(not self.rows, clause)
        row.changed.connect(self.changed)
        row.removeRequested.connect(self.remove_row)
        self.rows.append(row)
        self._rows_layout.addWidget(row)
        self._refresh_empty()
        self.changed.emit()
        return row

    def _add_clicked(self) -> None:
        """A new row from the button: the keyboard goes to its first field, so what the
        marketer types next fills the criterion instead of being lost on the button."""
        row = self.add_row()
        row.first_field().setFocus(Qt.FocusReason.OtherFocusReason)
        QTimer.singleShot(0, lambda: self._show_row(row))

    def _show_row(self, row: CriterionRow) -> None:
        """Scroll the new row into view once laid out (the editor sits in a scroll area)."""
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if parent is not None and row in self.rows:
            parent.ensureWidgetVisible(row)

    def remove_row(self, row: CriterionRow) -> None:
        self.rows.remove(row)
        row.setParent(None)
        row.deleteLater()
        if self.rows:
            self.rows[0].set_first(True)
        self._refresh_empty()
        self.changed.emit()

    def _refresh_empty(self) -> None:
        self.empty.setVisible(not self.rows)

    def validate(self) -> bool:
        return all([row.validate() for row in self.rows])

    def definition(self) -> AudienceDefinition:
        return AudienceDefinition(clauses=tuple(row.clause() for row in self.rows))
