"""The audience definition language: JSON round trip, validation messages, describe()."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from app.core.criteria import (
    PRESENCE_OPERATORS,
    AudienceDefinition,
    AudienceMembershipCriterion,
    Clause,
    Condition,
    DeviceCriterion,
    EventCriterion,
    Group,
    IdentityCriterion,
    LocationCriterion,
    TimeWindow,
    UserAttributeCriterion,
    describe,
)

JAN = datetime(2024, 1, 1, tzinfo=UTC)
FEB = datetime(2024, 2, 1, tzinfo=UTC)


def attribute(name: str, type_: str, operator: str, value=None) -> UserAttributeCriterion:
    return UserAttributeCriterion(
        condition=Condition(attribute=name, type=type_, operator=operator, value=value)
    )


def one(item, join: str = "and") -> AudienceDefinition:
    return AudienceDefinition(clauses=(Clause(join=join, item=item),))


EVERYTHING = AudienceDefinition(
    clauses=(
        Clause(item=EventCriterion(event_name="Signed up")),
        Clause(
            item=EventCriterion(
                event_type="commerce_event",
                commerce_action="purchase",
                conditions=(
                    Condition(
                        attribute="amount", type="number", operator="between", value=[10, 99.5]
                    ),
                    Condition(attribute="currency", operator="in", value=["USD", "EUR"]),
                    Condition(attribute="placed", type="date", operator="ge", value=JAN),
                    Condition(attribute="gift", type="boolean", operator="eq", value=False),
                    Condition(attribute="coupon", operator="not_exists"),
                ),
                count_operator=">=",
                count=3,
                window=TimeWindow(kind="between", days=None, start=JAN, end=FEB),
            )
        ),
        Clause(
            join="or",
            item=EventCriterion(event_type="screen_view", window=TimeWindow(kind="on", start=JAN)),
        ),
        Clause(join="and", item=attribute("signup", "date", "between", [JAN, FEB])),
        Clause(join="and", item=attribute("plan", "string", "pattern", "gold*")),
        Clause(join="exclude", item=IdentityCriterion(identity_type="email", present=False)),
        Clause(
            join="or",
            item=Group(
                clauses=(
                    Clause(item=DeviceCriterion(platforms=("iOS", "Android"), negate=True)),
                    Clause(
                        join="or",
                        item=LocationCriterion(
                            field="postal_code", operator="in", value=["10001", "10002"]
                        ),
                    ),
                    Clause(
                        join="exclude",
                        item=Group(
                            clauses=(
                                Clause(
                                    item=AudienceMembershipCriterion(
                                        milestone_id="m-123", member=False
                                    )
                                ),
                                Clause(join="and", item=attribute("vip", "boolean", "ne", True)),
                            )
                        ),
                    ),
                )
            ),
        ),
    )
)


def test_a_definition_with_every_kind_and_nested_groups_round_trips_through_json():
    text = EVERYTHING.to_json()
    data = json.loads(text)  # plain JSON: what the store keeps in a JSON column
    kinds = {clause["item"]["kind"] for clause in data["clauses"]}
    assert kinds == {"event", "user_attribute", "identity", "group"}
    assert data["clauses"][-1]["item"]["clauses"][2]["item"]["kind"] == "group"
    again = AudienceDefinition.from_json(text)
    assert again == EVERYTHING
    assert again.to_json() == text
    assert AudienceDefinition.from_json(text.encode()) == EVERYTHING


@pytest.mark.parametrize(
    ("type_", "operator", "value"),
    [
        ("date", "gt", JAN),
        ("date", "between", [JAN, FEB]),
        ("number", "ge", 3),
        ("number", "between", [1.5, 2]),
        ("boolean", "eq", True),
        ("string", "equals", "gold"),
        ("string", "in", ["a", "b"]),
        ("string", "exists", None),
    ],
)
def test_every_condition_value_keeps_its_type_through_json(type_, operator, value):
    condition = Condition(attribute="a", type=type_, operator=operator, value=value)
    again = Condition.model_validate_json(condition.model_dump_json())
    assert again == condition
    values = again.value if isinstance(again.value, list) else [again.value]
    expected = {"date": datetime, "number": float, "boolean": bool, "string": (str, type(None))}
    assert all(isinstance(v, expected[type_]) for v in values), values


def test_dates_written_as_text_are_read_as_dates():
    condition = Condition.model_validate_json(
        '{"attribute": "signup", "type": "date", "operator": "lt", "value": "2024-01-01T00:00:00Z"}'
    )
    assert condition.value == JAN


@pytest.mark.parametrize(
    ("type_", "operator", "value", "fragment"),
    [
        ("number", "gt", "lots", "condition on “score”: “lots” is not a number"),
        ("number", "eq", True, "condition on “score”: true is not a number"),
        ("date", "lt", "soon", "condition on “score”: “soon” is not a date"),
        ("date", "between", [JAN, 5], "condition on “score”: 5 is not a date"),
        ("boolean", "eq", "maybe", "condition on “score”: “maybe” is not true or false"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_the_condition(
    type_, operator, value, fragment
):
    with pytest.raises(ValidationError, match=fragment):
        Condition(attribute="score", type=type_, operator=operator, value=value)


def validation_error(data: dict) -> tuple[tuple, str]:
    """The location and message of the first validation error of ``data``.

    (A nested group whose only clause is invalid also reports the group as too short.)
    """
    with pytest.raises(ValidationError) as caught:
        AudienceDefinition.model_validate(data)
    problem = caught.value.errors()[0]
    return problem["loc"], problem["msg"]


def clause(item: dict, join: str = "and") -> dict:
    return {"clauses": [{"join": join, "item": item}]}


def condition(attribute: str, type_: str, operator: str, value) -> dict:
    return {"attribute": attribute, "type": type_, "operator": operator, "value": value}


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        (
            clause(
                {"kind": "user_attribute", "condition": condition("age", "number", "between", [18])}
            ),
            ("user_attribute", "condition"),
            "condition on “age”: “between” needs exactly two values, low and high",
        ),
        (
            clause(
                {"kind": "user_attribute", "condition": condition("age", "number", "between", 18)}
            ),
            ("user_attribute", "condition"),
            "condition on “age”: “between” needs exactly two values",
        ),
        (
            clause({"kind": "user_attribute", "condition": condition("plan", "string", "gt", "b")}),
            ("user_attribute", "condition"),
            "condition on “plan”: “>” does not apply to text; use one of “contains”, "
            "“does not contain”, “is”, “is not”, “matches pattern”, “is one of”, "
            "“is not one of”",
        ),
        (
            clause({"kind": "event", "conditions": [condition("amount", "number", "contains", 5)]}),
            ("event", "conditions", 0),
            "condition on “amount”: “contains” does not apply to a number; use one of "
            "“=”, “≠”, “>”, “≥”, “<”, “≤”, “between”",
        ),
        (
            clause(
                {"kind": "user_attribute", "condition": condition("vip", "boolean", "gt", True)}
            ),
            ("user_attribute", "condition"),
            "condition on “vip”: a true/false attribute compares with “=” or “≠” only",
        ),
        (
            clause({"kind": "location", "field": "city", "operator": "in", "value": []}),
            ("location",),
            "condition on “city”: “is one of” needs a non-empty list of values",
        ),
        (
            clause({"kind": "location", "field": "country", "operator": "equals"}),
            ("location",),
            "condition on “country”: “is” needs a value",
        ),
        (
            clause(
                {
                    "kind": "user_attribute",
                    "condition": condition("plan", "string", "equals", ["a"]),
                }
            ),
            ("user_attribute", "condition"),
            "condition on “plan”: “is” compares with one value, not a list",
        ),
        (
            clause(
                {
                    "kind": "event",
                    "event_name": "Purchase",
                    "window": {
                        "kind": "between",
                        "start": "2024-02-01T00:00:00Z",
                        "end": "2024-01-01T00:00:00Z",
                    },
                }
            ),
            ("event", "window"),
            "time window “between” needs an end date on or after its start",
        ),
        (
            clause({"kind": "event", "window": {"kind": "before"}}),
            ("event", "window"),
            "time window “before” needs a date",
        ),
        (
            clause({"kind": "event", "window": {"kind": "within_last_days", "days": None}}),
            ("event", "window"),
            "time window “within the last N days” needs N",
        ),
        (
            clause(
                {
                    "kind": "group",
                    "clauses": [
                        {
                            "item": {
                                "kind": "group",
                                "clauses": [
                                    {
                                        "item": {
                                            "kind": "user_attribute",
                                            "condition": condition(
                                                "age", "number", "between", [1, 2, 3]
                                            ),
                                        }
                                    }
                                ],
                            }
                        }
                    ],
                },
                "or",
            ),
            ("group", "clauses", 0, "item", "group", "clauses", 0, "item", "user_attribute"),
            "condition on “age”: “between” needs exactly two values",
        ),
    ],
)
def test_validation_errors_name_the_criterion_and_the_field(data, where, message):
    location, text = validation_error(data)
    assert message in text
    assert location[:3] == ("clauses", 0, "item")
    assert location[3 : 3 + len(where)] == where


def test_presence_operators_need_no_value_and_apply_to_every_type():
    for type_ in ("string", "number", "boolean", "date"):
        for operator in PRESENCE_OPERATORS:
            assert Condition(attribute="a", type=type_, operator=operator).value is None


def test_an_empty_group_and_an_empty_device_list_are_refused():
    for data, field in (
        (clause({"kind": "group", "clauses": []}), "clauses"),
        (clause({"kind": "device", "platforms": []}), "platforms"),
    ):
        with pytest.raises(ValidationError) as caught:
            AudienceDefinition.model_validate(data)
        assert all(problem["loc"][-1] == field for problem in caught.value.errors())


# ---------------------------------------------------------------------- describe


@pytest.mark.parametrize(
    ("definition", "text"),
    [
        (AudienceDefinition(), "Everyone in the parent audience"),
        (one(EventCriterion(event_name="Signed up")), "did “Signed up”"),
        (one(EventCriterion(event_type="session_start")), "did “session start”"),
        (
            one(
                EventCriterion(
                    event_type="commerce_event",
                    commerce_action="purchase",
                    count_operator=">=",
                    count=3,
                    window=TimeWindow(days=7),
                )
            ),
            "did “purchase” at least 3 times in the last 7 days",
        ),
        (
            one(EventCriterion(event_name="Purchase", count_operator="=", count=0)),
            "did “Purchase” exactly 0 times",
        ),
        (
            one(
                EventCriterion(
                    event_name="Login",
                    count_operator="<",
                    count=2,
                    window=TimeWindow(kind="before", start=JAN),
                )
            ),
            "did “Login” fewer than 2 times before 2024-01-01",
        ),
        (
            one(
                EventCriterion(
                    event_name="Open", window=TimeWindow(kind="between", start=JAN, end=FEB)
                )
            ),
            "did “Open” between 2024-01-01 and 2024-02-01",
        ),
        (
            one(
                EventCriterion(
                    event_name="Purchase",
                    conditions=(
                        Condition(attribute="amount", type="number", operator="gt", value=100),
                    ),
                )
            ),
            "did “Purchase” with amount > 100",
        ),
        (one(attribute("age", "number", "between", [18, 30.5])), "age between 18 and 30.5"),
        (one(attribute("plan", "string", "equals", "gold")), "plan is “gold”"),
        (one(attribute("plan", "string", "not_in", ["a", "b"])), "plan is not one of “a”, “b”"),
        (one(attribute("plan", "string", "exists")), "plan exists"),
        (one(attribute("plan", "number", "not_exists")), "plan does not exist"),
        (one(attribute("signup", "date", "lt", JAN)), "signup < 2024-01-01"),
        (
            one(attribute("seen", "date", "ge", datetime(2024, 3, 5, 14, 30, tzinfo=UTC))),
            "seen ≥ 2024-03-05 14:30 UTC",
        ),
        (one(attribute("vip", "boolean", "eq", True)), "vip = true"),
        (one(IdentityCriterion(identity_type="email")), "has email"),
        (one(IdentityCriterion(identity_type="email"), "exclude"), "not has email"),
        (one(DeviceCriterion(platforms=("iOS", "Android"))), "on iOS/Android"),
        (
            one(LocationCriterion(field="postal_code", operator="in", value=["10001"])),
            "postal code is one of “10001”",
        ),
        (one(AudienceMembershipCriterion(milestone_id="m")), "in another audience"),
        (
            AudienceDefinition(
                clauses=(
                    Clause(item=IdentityCriterion(identity_type="email")),
                    Clause(
                        join="or",
                        item=Group(
                            clauses=(
                                Clause(item=DeviceCriterion(platforms=("web",))),
                                Clause(
                                    join="and", item=LocationCriterion(field="country", value="US")
                                ),
                            )
                        ),
                    ),
                    Clause(
                        join="exclude",
                        item=AudienceMembershipCriterion(milestone_id="m", member=False),
                    ),
                )
            ),
            "(has email or (on web and country is “US”)) but not not in another audience",
        ),
    ],
)
def test_describe_gives_readable_text(definition, text):
    assert describe(definition) == text


def test_describe_never_shows_internal_names_or_python_values():
    text = describe(EVERYTHING)
    for artefact in ("None", "[", "]", "'", "_", "+00:00", ".0 ", " gt ", " ge ", " eq ", " ne "):
        assert artefact not in text, (artefact, text)
    assert text.startswith(
        "(((did “Signed up” and did “purchase” at least 3 times between 2024-01-01 and 2024-02-01 "
        "with amount between 10 and 99.5 and currency is one of “USD”, “EUR” and "
        "placed ≥ 2024-01-01 and gift = false and coupon does not exist) or "
    )


def _named(name: str, join: str = "and") -> Clause:
    return Clause(join=join, item=EventCriterion(event_name=name))  # type: ignore[arg-type]


@pytest.mark.parametrize(("joins", "text"), [
    (("and", "and", "or"), "(did “A” and did “B”) or did “C”"),
    (("and", "or", "and"), "(did “A” or did “B”) and did “C”"),
    (("and", "or", "exclude"), "(did “A” or did “B”) but not did “C”"),
    (("and", "and", "exclude"), "did “A” and did “B” but not did “C”"),
    (("and", "or", "or"), "did “A” or did “B” or did “C”"),
    (("and", "and", "or", "and"), "((did “A” and did “B”) or did “C”) and did “D”"),
])
def test_describe_brackets_mixed_joins_as_the_engine_reads_them(joins: tuple[str, ...],
                                                                text: str) -> None:
    """Clauses are read left to right (the engine's rule): "A and B or C" is
    "(A and B) or C", and the card must not read as "A and (B or C)"."""
    clauses = tuple(_named("ABCD"[i], join) for i, join in enumerate(joins))
    assert describe(AudienceDefinition(clauses=clauses)) == text


def test_describe_keeps_groups_in_parentheses() -> None:
    group = Group(clauses=(_named("B"), _named("C", "or")))
    definition = AudienceDefinition(clauses=(_named("A"), Clause(join="and", item=group)))
    assert describe(definition) == "did “A” and (did “B” or did “C”)"
