"""The audience definition language (DESIGN.md section 3), as pydantic models.

A definition is a list of clauses read left to right; each clause joins a
criterion (or a nested group) to what came before with And, Or or Exclude.
An empty definition matches every user of the parent audience, which is what
a "Remaining users" milestone or an "everyone in the journey" milestone needs.

The models are frozen so that commands can keep the old definition for undo,
and they round-trip through JSON so the store can keep them in a JSON column.

They hold only what every database can store and the engine can evaluate: the
bounds below are the one place where counts, windows, numbers and text are
limited, and an import, the editor and the store all read them from here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from app.core import vocabulary as words
from app.core.vocabulary import CommerceAction, EventType, LocationField

COUNT_MAX = 1_000_000
"""The most events a criterion counts to (the criteria editor's spin box stops there too)."""
WINDOW_DAYS_MAX = 3650
"""The longest "within the last N days" window: ten years."""
GROUP_DEPTH_MAX = 25
"""How deep groups nest in groups: each level is a level of the query and of the text
that describes it (the engine is tested 24 deep)."""
CLAUSES_MAX = 75
"""The most clauses a definition holds, counting those inside groups and the groups.
Each clause is a step of the audience's query; long lists are composed as balanced
trees (app/engine/compiler.py), so one list this long compiles in a shallow stack (a
preview in a worker thread), which tests/engine checks on every database."""
CONDITIONS_MAX = 50
"""The most attribute or amount conditions one event criterion holds."""
LIST_VALUES_MAX = 1000
"""The most values one list compares with (``in``, ``not_in``, device platforms): each
value is a bound parameter of the query, and databases cap those."""


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _storable(text: str) -> str:
    """Text as every database stores it: PostgreSQL refuses NUL in text (SQLite keeps
    it), and a lone surrogate (bytes of a file that were not UTF-8) is no text at all."""
    if "\x00" in text:
        raise ValueError("contains a NUL character (\\x00), which can't be stored")
    if _SURROGATE.search(text):
        raise ValueError("is not valid UTF-8 text")
    return text


Text = Annotated[str, AfterValidator(_storable)]
"""Any text of a definition: names, values, ids."""
FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A number of a definition: finite (NaN and Infinity compare with nothing, and PostgreSQL
refuses NaN where SQLite stores it) and written as a number, not as text."""
Count = Annotated[int, Field(strict=True, ge=0, le=COUNT_MAX)]
"""How many events: a whole number (not text, not true/false) up to :data:`COUNT_MAX`."""
WindowDays = Annotated[int, Field(strict=True, ge=1, le=WINDOW_DAYS_MAX)]
Flag = Annotated[bool, Field(strict=True)]
"""True or false as JSON writes them, not "yes" or 1."""

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
BOOLEAN_OPERATORS = ("eq", "ne")

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

Scalar = Text | FiniteFloat | bool | datetime
ConditionValue = Scalar | Annotated[list[Scalar], Field(max_length=LIST_VALUES_MAX)] | None

OPERATOR_LABELS: dict[str, str] = {
    "contains": "contains", "not_contains": "does not contain", "equals": "is",
    "not_equals": "is not", "pattern": "matches pattern", "in": "is one of",
    "not_in": "is not one of", "eq": "=", "ne": "≠", "gt": ">", "ge": "≥", "lt": "<",
    "le": "≤", "between": "between", "exists": "exists", "not_exists": "does not exist",
}
"""Each operator in the words the builder shows it in: the one home of operator wording,
for the builder's boxes, the summaries and every message that names an operator."""
LIST_OPERATOR_LABELS: dict[str, str] = {
    "contains": "holds", "not_contains": "does not hold", "in": "holds one of",
    "not_in": "holds none of",
}
"""A list attribute's operators say what the list holds."""


def operator_label(operator: str, attribute_type: str = "string") -> str:
    """``operator`` as the builder shows it for an attribute of ``attribute_type``."""
    if attribute_type == "list" and operator in LIST_OPERATOR_LABELS:
        return LIST_OPERATOR_LABELS[operator]
    return OPERATOR_LABELS.get(operator, operator)


def _quoted_labels(operators: tuple[str, ...], attribute_type: str, joiner: str = ", ") -> str:
    return joiner.join(f"“{operator_label(op, attribute_type)}”" for op in operators)


CountOperator = Literal[">", ">=", "=", "<", "<="]
Join = Literal["and", "or", "exclude"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Frozen):
    """A comparison of one attribute with a value, typed so the engine compares rightly."""

    attribute: Text = Field(min_length=1, max_length=words.ATTRIBUTE_NAME_LENGTH)
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
        # Named as the builder shows it, as every refusal here does.
        said = f"“{operator_label(op, self.type)}”"
        if op in PRESENCE_OPERATORS:
            return self
        if self.type == "string" and op not in STRING_OPERATORS:
            raise ValueError(f"{where}: {said} does not apply to text; use one of "
                             f"{_quoted_labels(STRING_OPERATORS, self.type)}")
        if self.type == "list" and op not in LIST_OPERATORS:
            raise ValueError(f"{where}: {said} does not apply to a list; use one of "
                             f"{_quoted_labels(LIST_OPERATORS, self.type)}")
        if self.type in ("number", "date") and op not in ORDER_OPERATORS:
            raise ValueError(f"{where}: {said} does not apply to a {self.type}; use one of "
                             f"{_quoted_labels(ORDER_OPERATORS, self.type)}")
        if self.type == "boolean" and op not in BOOLEAN_OPERATORS:
            raise ValueError(f"{where}: a true/false attribute compares with "
                             f"{_quoted_labels(BOOLEAN_OPERATORS, self.type, ' or ')} only")
        if self.value is None:
            raise ValueError(f"{where}: {said} needs a value")
        if op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"{where}: {said} needs a non-empty list of values")
        elif op == "between":
            if not isinstance(self.value, list) or len(self.value) != 2:
                raise ValueError(f"{where}: {said} needs exactly two values, low and high")
        elif isinstance(self.value, list):
            raise ValueError(f"{where}: {said} compares with one value, not a list")
        values = self.value if isinstance(self.value, list) else [self.value]
        if self.type in ("string", "list") and not all(isinstance(v, str) for v in values):
            raise ValueError(f"{where}: text operators compare with text values")
        return self


_DATE = TypeAdapter(datetime)
_TYPE_NAMES = {"number": "a number", "date": "a date", "boolean": "true or false"}


def _typed_value(value: Scalar, kind: AttributeType, where: str) -> Scalar:
    """``value`` as a ``kind`` (numbers and dates may be given as text), or a refusal."""
    if kind == "number" and isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            number = float(value)
        except (ValueError, OverflowError):
            number = None
        if number is not None and math.isfinite(number):
            return number
        if number is not None or isinstance(value, int | float):
            raise ValueError(f"{where}: {_value_text(value)} is not a finite number")
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
    days: WindowDays | None = 30
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
    event_name: Text | None = Field(default=None, max_length=words.EVENT_NAME_LENGTH)
    commerce_action: Text | None = Field(default=None, max_length=words.COMMERCE_ACTION_LENGTH)
    conditions: tuple[Condition, ...] = Field(default=(), max_length=CONDITIONS_MAX)
    count_operator: CountOperator = ">"
    count: Count = 0
    window: TimeWindow = TimeWindow()

    @field_validator("conditions")
    @classmethod
    def _conditions_are_not_lists(cls, value: tuple[Condition, ...]) -> tuple[Condition, ...]:
        return _no_list_conditions(value)


class AmountCondition(_Frozen):
    """A comparison of a commerce event's total amount with a number (or two, for between)."""

    operator: Literal["eq", "ne", "gt", "ge", "lt", "le", "between", "exists", "not_exists"]
    value: FiniteFloat | Annotated[list[FiniteFloat], Field(max_length=2)] | None = None

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
    amount: tuple[AmountCondition, ...] = Field(default=(), max_length=CONDITIONS_MAX)
    conditions: tuple[Condition, ...] = Field(default=(), max_length=CONDITIONS_MAX)
    count_operator: CountOperator = ">"
    count: Count = 0
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
    identity_type: Text = Field(min_length=1, max_length=words.IDENTITY_TYPE_LENGTH)
    present: Flag = True


class DeviceCriterion(_Frozen):
    kind: Literal["device"] = "device"
    platforms: tuple[Annotated[Text, Field(max_length=words.PLATFORM_LENGTH)], ...] = Field(
        min_length=1, max_length=LIST_VALUES_MAX
    )
    negate: Flag = False


class LocationCriterion(_Frozen):
    kind: Literal["location"] = "location"
    field: LocationField
    operator: Operator = "equals"
    value: ConditionValue = None

    @model_validator(mode="after")
    def _valid_as_condition(self) -> LocationCriterion:
        Condition(attribute=self.field, type="string", operator=self.operator, value=self.value)
        return self


class AudienceMembershipCriterion(_Frozen):
    kind: Literal["audience"] = "audience"
    milestone_id: Text = Field(min_length=1, max_length=64)
    member: Flag = True


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

    @model_validator(mode="before")
    @classmethod
    def _not_too_big(cls, data: Any) -> Any:
        """Refuse deep nesting and too many clauses before validating them (pydantic would
        recurse into all of it): such a definition could be stored but not evaluated."""
        clauses = data.get("clauses") if isinstance(data, Mapping) else None
        if not isinstance(clauses, Sequence) or isinstance(clauses, str):
            return data
        total = 0
        for number, clause in enumerate(clauses, start=1):
            depth, count = _size(clause)
            if depth > GROUP_DEPTH_MAX:
                raise ValueError(
                    f"clause {number} nests groups {depth} deep; groups nest at most "
                    f"{GROUP_DEPTH_MAX} deep"
                )
            total += count
        if total > CLAUSES_MAX:
            raise ValueError(
                f"{total:,} clauses (groups and what they hold included); a definition "
                f"holds at most {CLAUSES_MAX}"
            )
        return data

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


def _size(clause: object) -> tuple[int, int]:
    """How deep groups nest in ``clause`` (raw data or models), and how many clauses it
    is with those inside it; without recursing."""
    deepest = 0
    count = 0
    pending: list[tuple[object, int]] = [(clause, 0)]
    while pending:
        current, depth = pending.pop()
        count += 1
        item = _part(current, "item")
        if _part(item, "kind") != "group":
            deepest = max(deepest, depth)
            continue
        inner = _part(item, "clauses")
        if isinstance(inner, Sequence) and not isinstance(inner, str) and inner:
            pending.extend((c, depth + 1) for c in inner)
        else:
            deepest = max(deepest, depth + 1)
    return deepest, count


def _part(value: object, name: str) -> object:
    """``value[name]`` of raw data, or ``value.name`` of a model; None if neither."""
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None) if isinstance(value, BaseModel) else None


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
    ``clause 3 › clause 1``. See :func:`plain_problems` for the wording.
    """
    return [f"{location_text(loc)}: {message}" for loc, message in plain_problems(error.errors())]


def location_text(loc: Sequence[int | str]) -> str:
    """Where in a definition ``loc`` (a pydantic location) is, in words.

    e.g. ``clause 3 (group) › clause 1 (event criterion), field window.days``.
    """
    where, fields = _location_words(loc)
    head = " › ".join(where) or "definition"
    if fields:
        head += ", field " + fields
    return head


def plain_problems(problems: Sequence[ErrorDetails]) -> list[tuple[tuple[int | str, ...], str]]:
    """pydantic's errors as (location, message in plain words), one per problem.

    A value that fits no member of a union (text, number, list…) is one problem,
    not one per member: said as what it should have been, or, when one member
    came close (a number but not a finite one), as that member's complaint. The
    union members' names are left out of the location.
    """
    groups: dict[tuple[int | str, ...], list[ErrorDetails]] = {}
    for problem in problems:
        loc = tuple(problem["loc"])
        tag = next((i for i, part in enumerate(loc) if _is_union_member(part)), len(loc))
        groups.setdefault(loc[:tag], []).append(problem)
    found: list[tuple[tuple[int | str, ...], str]] = []
    for where, group in groups.items():
        close = [p for p in group if not _is_type_problem(p)]
        if close:
            found.append((_without_members(close[0]["loc"]), _plain(close[0])))
        elif len(group) == 1:
            found.append((where, _plain(group[0])))
        else:
            found.append((where, _one_of(group)))
    # A list whose items failed is also "too short after validation": say the items only.
    return [
        (loc, message) for loc, message in found
        if not (message.startswith("should have at least")
                and any(len(other) > len(loc) and other[: len(loc)] == loc
                        for other, _ in found))
    ]


_MEMBER = re.compile(r"^(str|int|float|bool|datetime|none|list|tuple|dict)$|[\[\-]")
"""How pydantic names a union member in a location (``float``, ``list[float]``,
``function-after[…]``); field names never look like that."""


def _is_union_member(part: int | str) -> bool:
    return isinstance(part, str) and bool(_MEMBER.search(part))


def _without_members(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    return tuple(part for part in loc if not _is_union_member(part))


def _is_type_problem(problem: ErrorDetails) -> bool:
    kind = problem["type"]
    return kind.endswith(("_type", "_parsing")) or kind in ("none_required", "int_from_float")


_TYPE_WORDS = {
    "string": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "datetime": "a date",
    "date": "a date",
    "list": "a list",
    "tuple": "a list",
    "dict": "an object",
    "model": "an object",
    "model_attributes": "an object",
    "none": "empty (null)",
}


def _type_words(problem: ErrorDetails) -> str | None:
    kind = problem["type"]
    if kind == "none_required":
        return _TYPE_WORDS["none"]
    if kind == "int_from_float":
        return _TYPE_WORDS["int"]
    stem = re.sub(r"(_from_date)?_(type|parsing)$", "", kind)
    return _TYPE_WORDS.get(stem)


def _one_of(group: Sequence[ErrorDetails]) -> str:
    given = group[0].get("input")
    if isinstance(given, int) and not isinstance(given, bool):
        return "should be a finite number; this one is too large for any database"
    words = list(dict.fromkeys(w for w in map(_type_words, group) if w))
    if not words:
        return _plain(group[0])
    if len(words) == 1:
        return f"should be {words[0]}"
    return f"should be {', '.join(words[:-1])} or {words[-1]}"


def _plain(problem: ErrorDetails) -> str:
    """One pydantic error in the words of this program (no "Input should", no URL)."""
    kind = problem["type"]
    ctx: dict[str, Any] = dict(problem.get("ctx") or {})
    given = problem.get("input")
    text = isinstance(given, str)
    kinds = ", ".join((*CRITERION_KINDS, "group"))
    words = {
        "finite_number": "should be a finite number, not NaN or Infinity",
        "string_unicode": "is not valid UTF-8 text",
        "missing": "is missing",
        "extra_forbidden": "is not a field here",
        "less_than_equal": f"should be at most {_number(ctx.get('le'))}",
        "less_than": f"should be less than {_number(ctx.get('lt'))}",
        "greater_than_equal": f"should be at least {_number(ctx.get('ge'))}",
        "greater_than": f"should be more than {_number(ctx.get('gt'))}",
        "too_long": f"should be at most {_number(ctx.get('max_length'))} characters long"
                    if text else f"should have at most {_number(ctx.get('max_length'))} items",
        "string_too_long": f"should be at most {_number(ctx.get('max_length'))} characters long",
        "too_short": "should not be empty" if text
                     else f"should have at least {_number(ctx.get('min_length'))} items",
        "string_too_short": "should not be empty",
        "literal_error": "should be " + _quoted(str(ctx.get("expected"))),
        "union_tag_invalid": f"“{ctx.get('tag')}” is not a kind of criterion; use one of "
                             f"{kinds}",
        "union_tag_not_found": f"needs a “kind”: one of {kinds}",
    }
    if kind in words:
        return words[kind]
    if kind == "int_type" and isinstance(given, float) and given.is_integer():
        return "should be a whole number, written without a decimal point"
    if kind == "float_type" and isinstance(given, int) and not isinstance(given, bool):
        return "should be a finite number; this one is too large for any database"
    type_words = _type_words(problem)
    if type_words and _is_type_problem(problem):
        return f"should be {type_words}"
    message = str(problem["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return message.replace("Input should", "should")


def _quoted(text: str) -> str:
    """pydantic's ``'a', 'b' or 'c'`` with this program's quotes."""
    return re.sub(r"'([^']*)'", r"“\1”", text)


def _number(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _location_words(loc: Sequence[int | str]) -> tuple[list[str], str]:
    """(``["clause 2 (event criterion)", …]``, ``"window.days"``) for a location."""
    where: list[str] = []
    fields: list[str] = []
    parts = list(loc)
    index = 0
    while index < len(parts):
        part = parts[index]
        if part == "clauses" and index + 1 < len(parts) and isinstance(parts[index + 1], int):
            label = f"clause {int(parts[index + 1]) + 1}"
            rest = parts[index + 2:]
            if len(rest) >= 2 and rest[0] == "item" and rest[1] in _KIND_NAMES:
                label += f" ({_KIND_NAMES[str(rest[1])]})"
                index += 4
            elif len(rest) >= 2 and rest[0] == "item":
                index += 3
            else:
                index += 2
            where.append(label)
            fields = []
            continue
        if isinstance(part, int) and fields:
            fields[-1] += f"[{part}]"
        else:
            fields.append(str(part))
        index += 1
    return where, ".".join(fields)


def describe(definition: AudienceDefinition) -> str:
    """A one-line summary for a node on the canvas, e.g. ``did “Signed up” and country is “US”``."""
    if definition.is_empty:
        return "Everyone in the parent audience"
    text = ""
    kinds: set[str] = set()
    for index, clause in enumerate(definition.clauses):
        part = _describe_item(clause.item)
        if index == 0:
            text = ("not " + part) if clause.join == "exclude" else part
            continue
        # Clauses are read left to right (as the engine does): where Or meets And or
        # Exclude, what came before is bracketed, so "A and B or C" reads
        # "(A and B) or C", never "A and (B or C)".
        kind = "or" if clause.join == "or" else "and"
        if kinds and kind not in kinds:
            text = f"({text})"
            kinds = set()
        kinds.add(kind)
        text += " " + {"and": "and ", "or": "or ", "exclude": "but not "}[clause.join] + part
    return text


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
                _condition_text(c.attribute, c.operator, c.value, c.type) for c in item.conditions
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
        conditions += [_condition_text(c.attribute, c.operator, c.value, c.type)
                       for c in item.conditions]
        if conditions:
            text += " with " + " and ".join(conditions)
        return text
    if isinstance(item, UserAttributeCriterion):
        condition = item.condition
        return _condition_text(condition.attribute, condition.operator, condition.value,
                               condition.type)
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


def _condition_text(attribute: str, operator: str, value: ConditionValue,
                    attribute_type: str = "string") -> str:
    text = f"{attribute} {operator_label(operator, attribute_type)}"
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
