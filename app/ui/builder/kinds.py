"""One editor per criterion kind of DESIGN.md section 3, each showing every field.

An editor builds its criterion (a model of :mod:`app.core.criteria`) on demand;
the model validates itself, so a refusal is the core's own words. ``hint()`` is a
warning that does not block (an event the journey's inputs never saw).
"""

from __future__ import annotations

from typing import cast

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLayout,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.criteria import (
    COUNT_MAX,
    AudienceMembershipCriterion,
    DeviceCriterion,
    EcommerceCriterion,
    EventCriterion,
    IdentityCriterion,
    LocationCriterion,
    UserAttributeCriterion,
)
from app.ui.builder import fields as f
from app.ui.builder.conditions import ConditionLine, ConditionList, ValueFields, operator_options
from app.ui.builder.context import BuilderContext
from app.ui.builder.window import WindowFields


class KindEditor(QWidget):
    """The fields of one criterion kind; ``changed`` on every edit."""

    changed = Signal()

    def __init__(self, context: BuilderContext) -> None:
        super().__init__()
        self.context = context
        self.lines = QVBoxLayout(self)
        self.lines.setContentsMargins(0, 0, 0, 0)
        self.lines.setSpacing(6)
        self.row = self.line()

    def line(self) -> QHBoxLayout:
        """A new line of fields under the others."""
        row = QHBoxLayout()
        row.setSpacing(6)
        self.lines.addLayout(row)
        return row

    def add(self, widget: QWidget, stretch: int = 0, row: QLayout | None = None) -> QWidget:
        """Put ``widget`` on ``row`` (the first line by default) and listen to its edits."""
        cast(QHBoxLayout, row or self.row).addWidget(widget, stretch)
        if isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(self.changed)
            line = widget.lineEdit() if widget.isEditable() else None
            if line is not None:
                line.textChanged.connect(self.changed)
        elif isinstance(widget, QLineEdit):
            widget.textChanged.connect(self.changed)
        elif isinstance(widget, QSpinBox):
            widget.setMinimumWidth(96)
            widget.setMaximumWidth(150)
            # The style sheet cannot pad a spin box's inner edit field; match the line edits.
            widget.lineEdit().setTextMargins(6, 0, 0, 0)
            widget.valueChanged.connect(self.changed)
        elif isinstance(widget, QCheckBox):
            widget.toggled.connect(self.changed)
        else:
            self.add_listened(widget)
        return widget

    def add_below(self, widget: QWidget) -> QWidget:
        """Put ``widget`` on a line of its own under the others."""
        self.lines.addWidget(widget)
        return self.add_listened(widget)

    def add_listened(self, widget: QWidget) -> QWidget:
        if hasattr(widget, "changed"):
            widget.changed.connect(self.changed)
        return widget

    def condition_buttons(self, *lists: ConditionList) -> None:
        """The "+ condition" buttons on a line under the conditions."""
        row = self.line()
        row.setSpacing(2)
        for conditions in lists:
            row.addWidget(conditions.add_button)
        row.addStretch(1)

    def first_field(self) -> QWidget:
        """Where typing starts: the first text field of the first line, else its first field."""
        items = [self.row.itemAt(i) for i in range(self.row.count())]
        found = [w for w in (i.widget() for i in items if i is not None) if w is not None]
        return next((w for w in found if isinstance(w, QLineEdit)), found[0])

    def criterion(self) -> object:
        raise NotImplementedError

    def load(self, criterion: object) -> None:
        raise NotImplementedError

    def hint(self) -> str | None:
        """A warning about the criterion that does not make it invalid (None: none)."""
        return None


class _Counted(KindEditor):
    """Counting and the time window, shared by event and commerce criteria."""

    def add_counting(self, row: QHBoxLayout) -> None:
        self.count_operator = cast(QComboBox, self.add(
            f.combo(f.COUNT_OPERATORS, "How many times"), row=row))
        self.count = cast(QSpinBox, self.add(QSpinBox(), row=row))
        self.count.setAccessibleName("Count")
        self.count.setRange(0, COUNT_MAX)
        self.count.setSuffix(" times")
        self.count.setMaximumWidth(120)
        self.when = cast(WindowFields, self.add(WindowFields(), row=row))
        row.addStretch(1)

    @property
    def days(self) -> QSpinBox:
        """The "in the last N days" field."""
        return self.when.days

    def counting(self) -> dict[str, object]:
        return {"count_operator": self.count_operator.currentData(), "count": self.count.value(),
                "window": self.when.time_window()}

    def load_counting(self, criterion: EventCriterion | EcommerceCriterion) -> None:
        f.select(self.count_operator, criterion.count_operator)
        self.count.setValue(criterion.count)
        self.when.load(criterion.window)


class EventEditor(_Counted):
    """``[Custom event] [Sign up]`` / ``more than 0 times in the last 30 days`` / conditions."""

    def __init__(self, context: BuilderContext) -> None:
        super().__init__(context)
        self.event_type = cast(QComboBox, self.add(f.combo(f.EVENT_TYPES, "Event type")))
        self.event_name = cast(QLineEdit, self.add(QLineEdit(), 1))
        self.event_name.setAccessibleName("Event name")
        self.event_name.setPlaceholderText("Event name, e.g. Sign up")
        self.event_name.setMinimumWidth(190)
        f.searchable(self.event_name)
        self.add_counting(self.line())
        self.conditions = cast(ConditionList, self.add_below(ConditionList()))
        self.conditions.completions = self._attribute_names
        self.condition_buttons(self.conditions)
        self._loaded: EventCriterion | None = None
        self.event_type.currentIndexChanged.connect(self._offer_names)
        self.event_name.textChanged.connect(self.conditions.refresh_completions)
        self._offer_names()

    def _offer_names(self) -> None:
        f.set_completions(self.event_name,
                          self.context.values("event", self.event_type.currentData()))

    def _attribute_names(self) -> list[str]:
        name = self.event_name.text().strip()
        return self.context.values("event_attribute", name) if name else []

    def criterion(self) -> EventCriterion:
        """The edited criterion; a commerce action of a loaded one is kept, never dropped."""
        name = self.event_name.text().strip() or None
        event_type = self.event_type.currentData()
        if event_type == "custom_event" and not name:
            raise ValueError("Name the custom event, e.g. “Sign up”.")
        base = self._loaded or EventCriterion()
        return EventCriterion.model_validate({
            **base.model_dump(), "event_type": event_type, "event_name": name,
            "conditions": self.conditions.conditions(), **self.counting(),
        })

    def load(self, criterion: object) -> None:
        assert isinstance(criterion, EventCriterion)
        self._loaded = criterion
        f.select(self.event_type, criterion.event_type)
        self.event_name.setText(criterion.event_name or "")
        if criterion.commerce_action:
            self.event_name.setPlaceholderText(f"Any {criterion.commerce_action}")
        self.load_counting(criterion)
        self.conditions.load_conditions(criterion.conditions)

    def hint(self) -> str | None:
        name = self.event_name.text().strip()
        return self.context.hint("event", self.event_type.currentData(), name)


class CommerceEditor(_Counted):
    """``[Purchase]`` with amount conditions (between: two numbers) and attribute conditions."""

    def __init__(self, context: BuilderContext) -> None:
        super().__init__(context)
        self.action = cast(QComboBox, self.add(f.combo(f.COMMERCE_ACTIONS, "Commerce action")))
        f.select(self.action, EcommerceCriterion().action)  # the core's default: purchase
        self.add_counting(self.row)
        self.amounts = cast(ConditionList, self.add_below(ConditionList(amount=True)))
        self.conditions = cast(ConditionList, self.add_below(ConditionList()))
        self.conditions.completions = lambda: self.context.values(
            "event_attribute", self.action.currentData())
        self.condition_buttons(self.amounts, self.conditions)
        self.action.currentIndexChanged.connect(self.conditions.refresh_completions)

    def first_field(self) -> QWidget:
        return self.action

    def criterion(self) -> EcommerceCriterion:
        return EcommerceCriterion.model_validate({
            "action": self.action.currentData(), "amount": self.amounts.amounts(),
            "conditions": self.conditions.conditions(), **self.counting(),
        })

    def load(self, criterion: object) -> None:
        assert isinstance(criterion, EcommerceCriterion)
        f.select(self.action, criterion.action)
        self.load_counting(criterion)
        self.amounts.load_amounts(criterion.amount)
        self.conditions.load_conditions(criterion.conditions)

    def hint(self) -> str | None:
        return self.context.hint("event", f.COMMERCE_EVENT_TYPE, self.action.currentData())


class AttributeEditor(KindEditor):
    """``[plan] [Text] [is] [pro]``: one condition on a user attribute, lists included."""

    def __init__(self, context: BuilderContext) -> None:
        super().__init__(context)
        self.fields = cast(ConditionLine, self.add(ConditionLine(user=True), 1))
        self.attribute = self.fields.attribute
        self.kind = self.fields.type
        f.set_completions(self.attribute, context.values("user_attribute"))
        completer = self.attribute.completer()
        if completer is not None:
            completer.activated.connect(self._typed_as_detected)
        self.attribute.editingFinished.connect(self._typed_as_detected)

    def _typed_as_detected(self, *_: object) -> None:
        """A known attribute picks the type the store detected for it."""
        detected = self.context.detected_type(self.attribute.text().strip())
        if detected is not None:
            self.fields.set_type(detected)

    def criterion(self) -> UserAttributeCriterion:
        return UserAttributeCriterion(condition=self.fields.condition())

    def load(self, criterion: object) -> None:
        assert isinstance(criterion, UserAttributeCriterion)
        c = criterion.condition
        self.fields.load(c.attribute, c.type, c.operator, c.value)


class LocationEditor(KindEditor):
    """``[Country] [is] [US]``, with every string operator."""

    def __init__(self, context: BuilderContext) -> None:
        super().__init__(context)
        self.field = cast(QComboBox, self.add(f.combo(f.LOCATION_FIELDS, "Location field")))
        self.operator = cast(QComboBox, self.add(f.combo(operator_options("string"),
                                                         "Operator")))
        self.values = cast(ValueFields, self.add(ValueFields(), 1))
        self.value = self.values.text
        f.searchable(self.value)
        f.select(self.operator, "equals")
        self._reshape()
        self.operator.currentIndexChanged.connect(self._reshape)
        self.field.currentIndexChanged.connect(self._offer_places)
        self._offer_places()

    def _reshape(self) -> None:
        self.values.shape("string", self.operator.currentData())

    def _offer_places(self) -> None:
        f.set_completions(self.value, self.context.values("place", self.field.currentData()))

    def first_field(self) -> QWidget:
        return self.value

    def criterion(self) -> LocationCriterion:
        return LocationCriterion(field=self.field.currentData(),
                                 operator=self.operator.currentData(),
                                 value=self.values.value())  # type: ignore[arg-type]

    def load(self, criterion: object) -> None:
        assert isinstance(criterion, LocationCriterion)
        f.select(self.field, criterion.field)
        f.select(self.operator, criterion.operator)
        self._reshape()
        self.values.load(criterion.value)


class DeviceEditor(KindEditor):
    """``[uses] ☑ iOS ☐ Android …``: the known platforms and those the inputs saw."""

    def __init__(self, context: BuilderContext) -> None:
        super().__init__(context)
        self.negate = cast(QComboBox, self.add(f.combo((("on", "uses"),
                                                        ("not", "does not use")), "Uses")))
        names = list(f.PLATFORMS)
        known = {p.casefold() for p in names}
        names += [p for p in context.values("platform") if p.casefold() not in known]
        self.boxes = {p: cast(QCheckBox, self.add(QCheckBox(p))) for p in names}
        self.row.addStretch(1)

    def criterion(self) -> DeviceCriterion:
        chosen = tuple(p for p, box in self.boxes.items() if box.isChecked())
        if not chosen:
            raise ValueError("Tick at least one platform.")
        return DeviceCriterion(platforms=chosen, negate=self.negate.currentData() == "not")

    def load(self, criterion: object) -> None:
        assert isinstance(criterion, DeviceCriterion)
        f.select(self.negate, "not" if criterion.negate else "on")
        for platform in criterion.platforms:  # one the list does not know yet
            if platform.casefold() not in {p.casefold() for p in self.boxes}:
                self.boxes[platform] = cast(QCheckBox, self.add(QCheckBox(platform)))
        wanted = {p.casefold() for p in criterion.platforms}
        for name, box in self.boxes.items():
            box.setChecked(name.casefold() in wanted)


class IdentityEditor(KindEditor):
    """``[has] [email]``: an identity type, typed or chosen."""

    def __init__(self, context: BuilderContext) -> None:
        super().__init__(context)
        self.present = cast(QComboBox, self.add(f.combo((("has", "has"), ("lacks", "lacks")),
                                                        "Has or lacks")))
        self.identity = QComboBox()
        self.identity.setAccessibleName("Identity type")
        self.identity.setEditable(True)
        self.identity.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.identity.addItems(list(f.IDENTITY_TYPES))
        seen = [t for t in context.values("identity_type") if t not in f.IDENTITY_TYPES]
        self.identity.addItems(seen)
        line = self.identity.lineEdit()
        assert line is not None
        f.searchable(line, [*f.IDENTITY_TYPES, *seen])
        self.add(self.identity, 1)

    def first_field(self) -> QWidget:
        return self.identity

    def criterion(self) -> IdentityCriterion:
        return IdentityCriterion(identity_type=self.identity.currentText().strip(),
                                 present=self.present.currentData() == "has")

    def load(self, criterion: object) -> None:
        assert isinstance(criterion, IdentityCriterion)
        f.select(self.present, "has" if criterion.present else "lacks")
        self.identity.setCurrentText(criterion.identity_type)


MISSING_AUDIENCE = "An audience no longer in this account"


class AudienceEditor(KindEditor):
    """``[is in] [Trial to paid ▸ Converted]``: any journey's audience the rule allows."""

    def __init__(self, context: BuilderContext) -> None:
        super().__init__(context)
        self.member = cast(QComboBox, self.add(f.combo((("in", "is in"),
                                                        ("not", "is not in")), "Member")))
        self.audience = QComboBox()
        self.audience.setAccessibleName("Audience")
        self.audience.setMinimumWidth(260)
        self.audience.addItem("Choose an audience…", "")
        for choice in context.audiences:
            self.audience.addItem(choice.label, choice.milestone_id)
        self.add(self.audience, 1)

    def first_field(self) -> QWidget:
        return self.audience

    def choices(self) -> list[str]:
        """The audiences offered, as labelled."""
        return [self.audience.itemText(i) for i in range(1, self.audience.count())]

    def criterion(self) -> AudienceMembershipCriterion:
        chosen = self.audience.currentData()
        if not chosen:
            raise ValueError("Choose the audience whose members this criterion "
                             + ("includes." if self.member.currentData() == "in"
                                else "leaves out."))
        return AudienceMembershipCriterion(milestone_id=chosen,
                                           member=self.member.currentData() == "in")

    def load(self, criterion: object) -> None:
        assert isinstance(criterion, AudienceMembershipCriterion)
        f.select(self.member, "in" if criterion.member else "not")
        if self.audience.findData(criterion.milestone_id) < 0:
            self.audience.addItem(MISSING_AUDIENCE, criterion.milestone_id)
        f.select(self.audience, criterion.milestone_id)


EDITORS: dict[str, type[KindEditor]] = {
    "event": EventEditor, "ecommerce": CommerceEditor, "user_attribute": AttributeEditor,
    "location": LocationEditor, "device": DeviceEditor, "identity": IdentityEditor,
    "audience": AudienceEditor,
}
