"""The audience definition language (DESIGN.md section 3), as pydantic models.

A definition is a list of clauses read left to right; each clause joins a
criterion (or a nested group) to what came before with And, Or or Exclude.
An empty definition matches every user of the parent audience, which is what
a "Remaining users" milestone or an "everyone in the journey" milestone needs.

The models are frozen so that commands can keep the old definition for undo,
and they round-trip through JSON so the store can keep them in a JSON column.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

AttributeType = Literal["string", "number", "boolean", "date", "list"]
"""How a condition reads its attribute. ``list`` is a list of strings (user attributes)."""

STRING_OPERATORS = (
    "contains",
    "not_contains",
    "equals",
    "not_equals",
    "pattern",
    "in",
    "not_in",
)
ORDER_OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le", "between")
PRESENCE_OPERATORS = ("exists", "not_exists")
LIST_OPERATORS = ("contains", "not_contains", "in", "not_in")
"""On a list: it holds the value / does not / holds one of the values / holds none of them."""

Operator = Literal[
    "contains",
    "not_contains",
    "equals",
    "not_equals",
    "pattern",
    "in",
    "not_in",
    "eq",
    "ne",
    "gt",
    "ge",
    "lt",
    "le",
    "between",
    "exists",
    "not_exists",
]

Scalar = str | float | bool | datetime
ConditionValue = Scalar | list[Scalar] | None

EventType = Literal[
    "custom_event",
    "screen_view",
    "commerce_event",
    "session_start",
    "session_end",
    "first_run",
    "uninstall",
]

CountOperator = Literal[">", ">=", "=", "<", "<="]
Join = Literal["and", "or", "exclude"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Frozen):
    """A comparison of one attribute with a value, typed so the engine compares rightly."""

    attribute: str = Field(min_length=1, max_length=255)
    type: AttributeType = "string"
    operator: Operator
    value: ConditionValue = None

    @field_validator("value")
    @classmethod
    def _value_fits_type(cls, value: ConditionValue, info: ValidationInfo) -> ConditionValue:
        """Values of a number, date or true/false attribute are kept as that type.

        JSON has no dates, so without this a date read back from JSON would stay text.
        """
        kind = info.data.get("type")
        if value is None or kind in (None, "string", "list"):
            return value
        where = f"condition on “{info.data.get('attribute', '')}”"
        if isinstance(value, list):
            return [_typed_value(item, kind, where) for item in value]
        return _typed_value(value, kind, where)

    @model_validator(mode="after")
    def _operator_fits_type(self) -> Condition:
        where = f"condition on “{self.attribute}”"
        op = self.operator
        if op in PRESENCE_OPERATORS:
            return self
        if self.type == "string" and op not in STRING_OPERATORS:
            raise ValueError(f"{where}: “{op}” does not apply to text; use one of "
                             f"{', '.join(STRING_OPERATORS)}")
        if self.type == "list" and op not in LIST_OPERATORS:
            raise ValueError(f"{where}: “{op}” does not apply to a list; use one of "
                             f"{', '.join(LIST_OPERATORS)}")
        if self.type in ("number", "date") and op not in ORDER_OPERATORS:
            raise ValueError(f"{where}: “{op}” does not apply to a {self.type}; use one of "
                             f"{', '.join(ORDER_OPERATORS)}")
        if self.type == "boolean" and op not in ("eq", "ne"):
            raise ValueError(f"{where}: a true/false attribute compares with eq or ne only")
        if self.value is None:
            raise ValueError(f"{where}: “{op}” needs a value")
        if op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"{where}: “{op}” needs a non-empty list of values")
        elif op == "between":
            if not isinstance(self.value, list) or len(self.value) != 2:
                raise ValueError(f"{where}: “between” needs exactly two values, low and high")
        elif isinstance(self.value, list):
            raise ValueError(f"{where}: “{op}” compares with one value, not a list")
        values = self.value if isinstance(self.value, list) else [self.value]
        if self.type in ("string", "list") and not all(isinstance(v, str) for v in values):
            raise ValueError(f"{where}: text operators compare with text values")
        return self


_DATE = TypeAdapter(datetime)
_TYPE_NAMES = {"number": "a number", "date": "a date", "boolean": "true or false"}


def _typed_value(value: Scalar, kind: AttributeType, where: str) -> Scalar:
    """``value`` as a ``kind`` (numbers and dates may be given as text), or a refusal."""
    if kind == "number" and not isinstance(value, bool):
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif kind == "date":
        if isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return _DATE.validate_python(value)
            except ValidationError:
                pass
    elif kind == "boolean" and isinstance(value, bool):
        return value
    raise ValueError(f"{where}: {_value_text(value)} is not {_TYPE_NAMES[kind]}")


class TimeWindow(_Frozen):
    """When the counted events happened. Days are 24 h in UTC.

    ``within_last_days`` counts the ``days`` before ``as_of``; ``before`` is
    exclusive of ``start``; ``after``, ``on`` and ``between`` are inclusive.
    """

    kind: Literal["within_last_days", "before", "after", "on", "between"] = "within_last_days"
    days: int | None = Field(default=30, ge=1, le=3650)
    start: datetime | None = None
    end: datetime | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> TimeWindow:
        if self.kind == "within_last_days" and self.days is None:
            raise ValueError("time window “within the last N days” needs N")
        if self.kind in ("before", "after", "on", "between") and self.start is None:
            raise ValueError(f"time window “{self.kind}” needs a date")
        if self.kind == "between" and (self.end is None or self.start is None
                                       or self.end < self.start):
            raise ValueError("time window “between” needs an end date on or after its start")
        return self


def _no_list_conditions(conditions: tuple[Condition, ...]) -> tuple[Condition, ...]:
    for condition in conditions:
        if condition.type == "list":
            raise ValueError(
                f"condition on “{condition.attribute}”: event attributes are not lists; "
                f"list conditions apply to user attributes"
            )
    return conditions


class EventCriterion(_Frozen):
    """Users who did an event (by type and name) a number of times in a time window."""

    kind: Literal["event"] = "event"
    event_type: EventType = "custom_event"
    event_name: str | None = Field(default=None, max_length=255)
    commerce_action: str | None = Field(default=None, max_length=64)
    conditions: tuple[Condition, ...] = ()
    count_operator: CountOperator = ">"
    count: int = Field(default=0, ge=0)
    window: TimeWindow = TimeWindow()

    @field_validator("conditions")
    @classmethod
    def _conditions_are_not_lists(cls, value: tuple[Condition, ...]) -> tuple[Condition, ...]:
        return _no_list_conditions(value)


CommerceAction = Literal[
    "add_to_cart",
    "remove_from_cart",
    "add_to_wishlist",
    "remove_from_wishlist",
    "checkout",
    "checkout_option",
    "click",
    "view_detail",
    "purchase",
    "refund",
]


class AmountCondition(_Frozen):
    """A comparison of a commerce event's total amount with a number (or two, for between)."""

    operator: Literal["eq", "ne", "gt", "ge", "lt", "le", "between", "exists", "not_exists"]
    value: float | list[float] | None = None

    @property
    def condition_value(self) -> ConditionValue:
        """The value as a :class:`Condition` holds it."""
        if isinstance(self.value, list):
            return list[Scalar](self.value)
        return self.value

    @model_validator(mode="after")
    def _valid_as_condition(self) -> AmountCondition:
        Condition(
            attribute="amount", type="number", operator=self.operator, value=self.condition_value
        )
        return self


class EcommerceCriterion(_Frozen):
    """Users who did a commerce action (purchase, add to cart, …), with amount conditions.

    Reads commerce events (``event_type`` commerce_event) whose product action is
    ``action``; ``amount`` compares each event's total amount, ``conditions`` its
    other attributes; counting and the time window work as for :class:`EventCriterion`.
    """

    kind: Literal["ecommerce"] = "ecommerce"
    action: CommerceAction = "purchase"
    amount: tuple[AmountCondition, ...] = ()
    conditions: tuple[Condition, ...] = ()
    count_operator: CountOperator = ">"
    count: int = Field(default=0, ge=0)
    window: TimeWindow = TimeWindow()

    @field_validator("conditions")
    @classmethod
    def _conditions_are_not_lists(cls, value: tuple[Condition, ...]) -> tuple[Condition, ...]:
        return _no_list_conditions(value)


class UserAttributeCriterion(_Frozen):
    kind: Literal["user_attribute"] = "user_attribute"
    condition: Condition


class IdentityCriterion(_Frozen):
    kind: Literal["identity"] = "identity"
    identity_type: str = Field(min_length=1, max_length=64)
    present: bool = True


class DeviceCriterion(_Frozen):
    kind: Literal["device"] = "device"
    platforms: tuple[str, ...] = Field(min_length=1)
    negate: bool = False


class LocationCriterion(_Frozen):
    kind: Literal["location"] = "location"
    field: Literal["country", "region", "city", "postal_code"]
    operator: Operator = "equals"
    value: ConditionValue = None

    @model_validator(mode="after")
    def _valid_as_condition(self) -> LocationCriterion:
        Condition(attribute=self.field, type="string", operator=self.operator, value=self.value)
        return self


class AudienceMembershipCriterion(_Frozen):
    kind: Literal["audience"] = "audience"
    milestone_id: str = Field(min_length=1)
    member: bool = True


Criterion = Annotated[
    EventCriterion
    | EcommerceCriterion
    | UserAttributeCriterion
    | IdentityCriterion
    | DeviceCriterion
    | LocationCriterion
    | AudienceMembershipCriterion,
    Field(discriminator="kind"),
]


class Group(_Frozen):
    """Parenthesised clauses, so that And/Or/Exclude can be nested."""

    kind: Literal["group"] = "group"
    clauses: tuple[Clause, ...] = Field(min_length=1)


class Clause(_Frozen):
    join: Join = "and"
    item: Annotated[Criterion | Group, Field(discriminator="kind")]


class AudienceDefinition(_Frozen):
    """What a milestone's users must match, on top of being in the parent audience."""

    clauses: tuple[Clause, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.clauses

    def to_json(self) -> str:
        return self.model_dump_json(exclude_defaults=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> AudienceDefinition:
        return cls.model_validate_json(text)


Group.model_rebuild()
Clause.model_rebuild()
AudienceDefinition.model_rebuild()


def audience_references(definition: AudienceDefinition) -> list[str]:
    """The milestone ids that the audience-membership criteria of ``definition`` name.

    In clause order, nested groups included, each id once.
    """
    found: dict[str, None] = {}
    pending: list[Clause] = list(reversed(definition.clauses))
    while pending:
        item = pending.pop().item
        if isinstance(item, Group):
            pending.extend(reversed(item.clauses))
        elif isinstance(item, AudienceMembershipCriterion):
            found.setdefault(item.milestone_id)
    return list(found)

DEFINITION_SCHEMA_VERSION = 1
"""Bumped when a saved definition would read differently; exports carry it."""

CRITERION_KINDS = (
    "event",
    "ecommerce",
    "user_attribute",
    "identity",
    "device",
    "location",
    "audience",
)


def definition_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an audience definition, for editors and imports."""
    schema = AudienceDefinition.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"Journey Studio audience definition, version {DEFINITION_SCHEMA_VERSION}"
    return schema


_KIND_NAMES = {
    "event": "event criterion",
    "ecommerce": "ecommerce criterion",
    "user_attribute": "user attribute criterion",
    "identity": "identity criterion",
    "device": "device criterion",
    "location": "location criterion",
    "audience": "audience membership criterion",
    "group": "group",
}


def validation_messages(error: ValidationError) -> list[str]:
    """One line a problem, naming the clause, the criterion kind and the field.

    e.g. ``clause 2 (ecommerce criterion), field amount[0]: “between” needs exactly
    two values, low and high``. Clauses are counted from 1; nested groups read
    ``clause 3 › clause 1``.
    """
    lines: list[str] = []
    for problem in error.errors():
        where: list[str] = []
        fields: list[str] = []
        loc = list(problem["loc"])
        index = 0
        while index < len(loc):
            part = loc[index]
            if (part == "clauses" and index + 1 < len(loc)
                    and isinstance(loc[index + 1], int)):
                number = int(loc[index + 1]) + 1
                kind = loc[index + 3] if index + 3 < len(loc) else None
                label = f"clause {number}"
                if isinstance(kind, str) and kind in _KIND_NAMES:
                    label += f" ({_KIND_NAMES[kind]})"
                    index += 4
                else:
                    index += 2
                    if index < len(loc) and loc[index] == "item":
                        index += 1
                where.append(label)
                fields = []
                continue
            if isinstance(part, int) and fields:
                fields[-1] += f"[{part}]"
            else:
                fields.append(str(part))
            index += 1
        message = str(problem["msg"]).removeprefix("Value error, ")
        head = " › ".join(where) or "definition"
        if fields:
            head += ", field " + ".".join(fields)
        lines.append(f"{head}: {message}")
    return lines


def describe(definition: AudienceDefinition) -> str:
    """A one-line summary for a node on the canvas, e.g. ``did “Signed up” and country is “US”``."""
    if definition.is_empty:
        return "Everyone in the parent audience"
    parts: list[str] = []
    for index, clause in enumerate(definition.clauses):
        text = _describe_item(clause.item)
        if index == 0:
            parts.append(("not " + text) if clause.join == "exclude" else text)
        else:
            parts.append({"and": "and ", "or": "or ", "exclude": "but not "}[clause.join] + text)
    return " ".join(parts)


_OPERATOR_TEXT = {
    "contains": "contains",
    "not_contains": "does not contain",
    "equals": "is",
    "not_equals": "is not",
    "pattern": "matches",
    "in": "is one of",
    "not_in": "is not one of",
    "eq": "=",
    "ne": "≠",
    "gt": ">",
    "ge": "≥",
    "lt": "<",
    "le": "≤",
    "between": "between",
    "exists": "exists",
    "not_exists": "does not exist",
}
_COUNT_TEXT = {
    ">": "more than",
    ">=": "at least",
    "=": "exactly",
    "<": "fewer than",
    "<=": "at most",
}


def _describe_item(item: Criterion | Group) -> str:
    if isinstance(item, Group):
        return "(" + describe(AudienceDefinition(clauses=item.clauses)) + ")"
    if isinstance(item, EventCriterion):
        what = item.event_name or item.commerce_action or item.event_type.replace("_", " ")
        text = f"did “{what}”"
        if (item.count_operator, item.count) != (">", 0):
            times = "time" if item.count == 1 else "times"
            text += f" {_COUNT_TEXT[item.count_operator]} {item.count} {times}"
        if (item.window.kind, item.window.days) != ("within_last_days", 30):
            text += " " + _window_text(item.window)
        if item.conditions:
            text += " with " + " and ".join(
                _condition_text(c.attribute, c.operator, c.value) for c in item.conditions
            )
        return text
    if isinstance(item, EcommerceCriterion):
        text = f"did “{item.action.replace('_', ' ')}”"
        if (item.count_operator, item.count) != (">", 0):
            times = "time" if item.count == 1 else "times"
            text += f" {_COUNT_TEXT[item.count_operator]} {item.count} {times}"
        if (item.window.kind, item.window.days) != ("within_last_days", 30):
            text += " " + _window_text(item.window)
        conditions = [
            _condition_text("amount", a.operator, a.condition_value) for a in item.amount
        ]
        conditions += [_condition_text(c.attribute, c.operator, c.value)
                       for c in item.conditions]
        if conditions:
            text += " with " + " and ".join(conditions)
        return text
    if isinstance(item, UserAttributeCriterion):
        condition = item.condition
        return _condition_text(condition.attribute, condition.operator, condition.value)
    if isinstance(item, IdentityCriterion):
        return ("has " if item.present else "lacks ") + item.identity_type
    if isinstance(item, DeviceCriterion):
        return ("not on " if item.negate else "on ") + "/".join(item.platforms)
    if isinstance(item, LocationCriterion):
        return _condition_text(item.field.replace("_", " "), item.operator, item.value)
    return ("in " if item.member else "not in ") + "another audience"


def _window_text(window: TimeWindow) -> str:
    if window.kind == "within_last_days":
        return "in the last day" if window.days == 1 else f"in the last {window.days} days"
    start = _value_text(window.start)
    if window.kind == "between":
        return f"between {start} and {_value_text(window.end)}"
    return {"before": "before ", "after": "on or after ", "on": "on "}[window.kind] + start


def _condition_text(attribute: str, operator: str, value: ConditionValue) -> str:
    text = f"{attribute} {_OPERATOR_TEXT[operator]}"
    if operator in PRESENCE_OPERATORS or value is None:
        return text
    if isinstance(value, list):
        joiner = " and " if operator == "between" else ", "
        return f"{text} {joiner.join(_value_text(v) for v in value)}"
    return f"{text} {_value_text(value)}"


def _value_text(value: Scalar | None) -> str:
    """A value as a marketer reads it: quoted text, plain numbers, dates in UTC."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo is not None else value
        if moment.time() == time():
            return moment.date().isoformat()
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"“{value}”"
