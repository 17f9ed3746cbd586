"""Attribute and amount conditions: an attribute, its type, an operator and typed values.

:class:`ValueFields` shows the value widgets that fit the type and operator (text,
two numbers for *between*, true/false, date pickers, a comma list), and
:class:`ConditionList` holds the conditions of one event or commerce criterion
with an "Add condition" button. Every part emits ``changed`` on each edit; the
row builds its criterion from them and the core validates it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.criteria import (
    BOOLEAN_OPERATORS,
    LIST_OPERATORS,
    ORDER_OPERATORS,
    PRESENCE_OPERATORS,
    STRING_OPERATORS,
    AmountCondition,
    Condition,
    operator_label,
)
from app.ui import icons
from app.ui.builder import fields as f

OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "string": STRING_OPERATORS, "number": ORDER_OPERATORS, "date": ORDER_OPERATORS,
    "boolean": BOOLEAN_OPERATORS, "list": LIST_OPERATORS,
}


def operator_options(kind: str) -> list[tuple[str, str]]:
    return [(op, operator_label(op, kind))
            for op in (*OPERATORS_BY_TYPE[kind], *PRESENCE_OPERATORS)]


def remove_button(tip: str) -> QToolButton:
    button = QToolButton()
    button.setObjectName("removeRow")
    button.setIcon(icons.icon("close", "text_muted", active="danger"))
    button.setIconSize(QSize(14, 14))
    button.setAutoRaise(True)
    button.setAccessibleName(tip)
    button.setToolTip(tip)
    return button


class ValueFields(QWidget):
    """The value of a condition, shaped by its type and operator."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = "string"
        self.operator = "equals"
        self.text = QLineEdit()
        self.text.setAccessibleName("Value")
        self.high = QLineEdit()
        self.high.setAccessibleName("High value")
        self.high.setPlaceholderText("high")
        self.and_label = QLabel("and")
        self.and_label.setObjectName("rowWord")
        self.truth = f.combo((("true", "true"), ("false", "false")), "Value")
        self.day = f.date_field("Date")
        self.last_day = f.date_field("End date")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        for widget in (self.text, self.truth, self.day, self.and_label, self.high,
                       self.last_day):
            row.addWidget(widget, 1 if isinstance(widget, QLineEdit) else 0)
        self.text.textChanged.connect(self.changed)
        self.high.textChanged.connect(self.changed)
        self.truth.currentIndexChanged.connect(self.changed)
        self.day.dateChanged.connect(self.changed)
        self.last_day.dateChanged.connect(self.changed)
        self.shape("string", "equals")

    def shape(self, kind: str, operator: str) -> None:
        """Show the widgets a ``kind`` value compared with ``operator`` needs."""
        self.kind, self.operator = kind, operator
        none = operator in PRESENCE_OPERATORS
        two = operator == "between"
        dated = kind == "date" and not none
        boolean = kind == "boolean" and not none
        typed = not (none or dated or boolean)
        self.text.setVisible(typed)
        self.high.setVisible(typed and two)
        self.truth.setVisible(boolean)
        self.day.setVisible(dated)
        self.last_day.setVisible(dated and two)
        self.and_label.setVisible(two and not none)
        if operator in ("in", "not_in"):
            self.text.setPlaceholderText("values, separated by commas")
        elif two:
            self.text.setPlaceholderText("low")
        else:
            self.text.setPlaceholderText("a number" if kind == "number" else "value")

    def value(self) -> object:
        if self.operator in PRESENCE_OPERATORS:
            return None
        if self.kind == "boolean":
            return self.truth.currentData() == "true"
        if self.kind == "date":
            if self.operator == "between":
                return [f.day_of(self.day), f.day_of(self.last_day)]
            return f.day_of(self.day)
        if self.operator == "between":
            return [self._number(self.text, "low"), self._number(self.high, "high")]
        return f.parse_value(self.text.text(), self.operator, self.kind)

    def _number(self, field: QLineEdit, which: str) -> str:
        text = field.text().strip()
        if not text:
            raise ValueError(f"Type the {which} number of “between”.")
        return text

    def load(self, value: object) -> None:
        if isinstance(value, bool):
            f.select(self.truth, "true" if value else "false")
        elif self.kind == "date":
            values = value if isinstance(value, list) else [value]
            f.show_day(self.day, values[0] if values else None)  # type: ignore[arg-type]
            if len(values) > 1:
                f.show_day(self.last_day, values[1])  # type: ignore[arg-type]
        elif self.operator == "between" and isinstance(value, list) and len(value) == 2:
            self.text.setText(f.value_text(value[0]))
            self.high.setText(f.value_text(value[1]))
        else:
            self.text.setText(f.value_text(value))


class ConditionLine(QWidget):
    """One attribute condition: attribute name, type, operator, value; or the amount."""

    changed = Signal()
    removeRequested = Signal(object)

    def __init__(self, *, amount: bool = False, user: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.amount = amount
        self.attribute = QLineEdit()
        self.attribute.setAccessibleName("Attribute")
        self.attribute.setPlaceholderText("Attribute, e.g. plan" if user
                                          else "Attribute, e.g. category")
        self.attribute.setMinimumWidth(150)
        f.searchable(self.attribute)
        self.amount_label = QLabel("Amount")
        self.amount_label.setObjectName("rowWord")
        types = f.ATTRIBUTE_TYPES if user else f.EVENT_ATTRIBUTE_TYPES
        self.type = f.combo((("number", "Number"),) if amount else types, "Type")
        self.operator = QComboBox()
        self.operator.setAccessibleName("Operator")
        self.values = ValueFields()
        self.remove = remove_button("Remove condition")
        self.remove.clicked.connect(lambda: self.removeRequested.emit(self))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        row.addWidget(self.amount_label if amount else self.attribute, 0 if amount else 2)
        if not amount:
            row.addWidget(self.type)
        row.addWidget(self.operator)
        row.addWidget(self.values, 3)
        if not user:
            row.addWidget(self.remove)
        self.type.setVisible(not amount)
        self.remove.setVisible(not user)
        self._retype()
        f.select(self.operator, "gt" if amount else "equals")
        self._reshape()
        self.attribute.textChanged.connect(self.changed)
        self.type.currentIndexChanged.connect(self._retype)
        self.type.currentIndexChanged.connect(self.changed)
        self.operator.currentIndexChanged.connect(self._reshape)
        self.operator.currentIndexChanged.connect(self.changed)
        self.values.changed.connect(self.changed)

    def _retype(self) -> None:
        f.fill(self.operator, operator_options(self.type.currentData()))
        self._reshape()

    def _reshape(self) -> None:
        self.values.shape(self.type.currentData(), self.operator.currentData())

    def set_type(self, kind: str) -> None:
        f.select(self.type, kind)

    def condition(self) -> Condition:
        return Condition(attribute=self.attribute.text().strip(), type=self.type.currentData(),
                         operator=self.operator.currentData(),
                         value=self.values.value())  # type: ignore[arg-type]

    def amount_condition(self) -> AmountCondition:
        value = self.values.value()
        if isinstance(value, list):
            value = [_number(v) for v in value]
        elif value is not None:
            value = _number(value)
        return AmountCondition(operator=self.operator.currentData(), value=value)

    def load(self, attribute: str, kind: str, operator: str, value: object) -> None:
        self.attribute.setText(attribute)
        f.select(self.type, kind)
        self._retype()
        f.select(self.operator, operator)
        self._reshape()
        self.values.load(value)


def _number(value: object) -> float:
    """A typed amount as a number, or the refusal a marketer reads."""
    try:
        number = float(str(value))
    except ValueError:
        raise ValueError(f"The amount “{value}” is not a number.") from None
    return number


class ConditionList(QWidget):
    """The attribute (or amount) conditions of one criterion, and a button to add one."""

    changed = Signal()

    def __init__(self, *, amount: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.amount = amount
        self.lines: list[ConditionLine] = []
        self.completions: Callable[[], Sequence[str]] = lambda: ()
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        label = "Amount" if amount else "Attribute condition"
        self.add_button = QPushButton(label)
        self.add_button.setObjectName("addCondition")
        self.add_button.setIcon(icons.icon("plus", "accent"))
        self.add_button.setIconSize(QSize(14, 14))
        self.add_button.setAutoDefault(False)
        self.add_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.add_button.setToolTip("Only count events whose " + (
            "total amount compares with a number" if amount else "attributes match"))
        self.add_button.clicked.connect(self._add_clicked)
        self.setVisible(False)

    def add_line(self) -> ConditionLine:
        line = ConditionLine(amount=self.amount)
        f.set_completions(line.attribute, self.completions())
        line.changed.connect(self.changed)
        line.removeRequested.connect(self.remove_line)
        self.lines.append(line)
        self._layout.addWidget(line)
        self.setVisible(True)
        self.changed.emit()
        return line

    def _add_clicked(self) -> None:
        line = self.add_line()
        first = line.operator if self.amount else line.attribute
        first.setFocus(Qt.FocusReason.OtherFocusReason)

    def remove_line(self, line: ConditionLine) -> None:
        self.lines.remove(line)
        line.setParent(None)
        line.deleteLater()
        self.setVisible(bool(self.lines))
        self.changed.emit()

    def refresh_completions(self) -> None:
        values = self.completions()
        for line in self.lines:
            f.set_completions(line.attribute, values)

    def conditions(self) -> tuple[Condition, ...]:
        return tuple(line.condition() for line in self.lines)

    def amounts(self) -> tuple[AmountCondition, ...]:
        return tuple(line.amount_condition() for line in self.lines)

    def load_conditions(self, conditions: Sequence[Condition]) -> None:
        for condition in conditions:
            self.add_line().load(condition.attribute, condition.type, condition.operator,
                                 condition.value)

    def load_amounts(self, amounts: Sequence[AmountCondition]) -> None:
        for amount in amounts:
            self.add_line().load("amount", "number", amount.operator, amount.value)

    def date_fields(self) -> list[QDateEdit]:
        return [w for line in self.lines for w in (line.values.day, line.values.last_day)]

