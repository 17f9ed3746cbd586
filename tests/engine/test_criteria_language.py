"""The criteria language additions the engine relies on: Ecommerce and list criteria,
the JSON Schema, and validation messages naming the clause, criterion and field."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from app.core.criteria import (
    CRITERION_KINDS,
    AmountCondition,
    AudienceDefinition,
    Clause,
    Condition,
    EcommerceCriterion,
    TimeWindow,
    definition_json_schema,
    describe,
    validation_messages,
)


def test_an_ecommerce_criterion_round_trips_and_reads_well() -> None:
    criterion = EcommerceCriterion(
        action="add_to_cart",
        amount=(AmountCondition(operator="between", value=[10, 50]),),
        conditions=(Condition(attribute="brand", operator="equals", value="Acme"),),
        count_operator=">=",
        count=2,
        window=TimeWindow(days=7),
    )
    definition = AudienceDefinition(clauses=(Clause(item=criterion),))
    assert AudienceDefinition.from_json(definition.to_json()) == definition
    assert describe(definition) == (
        "did “add to cart” at least 2 times in the last 7 days with amount between 10 and 50 "
        "and brand is “Acme”"
    )


def test_list_conditions_take_list_operators_only() -> None:
    Condition(attribute="tags", type="list", operator="contains", value="vip")
    Condition(attribute="tags", type="list", operator="in", value=["a", "b"])
    with pytest.raises(ValidationError, match="“matches pattern” does not apply to a list"):
        Condition(attribute="tags", type="list", operator="pattern", value="v*")


def test_the_json_schema_covers_every_criterion_kind() -> None:
    schema = definition_json_schema()
    text = json.dumps(schema)
    assert schema["$schema"].endswith("2020-12/schema")
    for kind in (*CRITERION_KINDS, "group"):
        assert f'"const": "{kind}"' in text, kind
    assert "\"ecommerce\"" in text and "\"list\"" in text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"clauses": [{"item": {"kind": "ecommerce", "action": "purchase",
                                   "amount": [{"operator": "gt"}]}}]},
            "clause 1 (ecommerce criterion), field amount[0]: condition on “amount”: “>” "
            "needs a value",
        ),
        (
            {"clauses": [
                {"item": {"kind": "identity", "identity_type": "email"}},
                {"join": "or", "item": {"kind": "group", "clauses": [
                    {"item": {"kind": "event", "count": -1}}]}},
            ]},
            "clause 2 (group) › clause 1 (event criterion), field count: should be at least 0",
        ),
        (
            {"clauses": [{"item": {"kind": "user_attribute", "condition": {
                "attribute": "age", "type": "number", "operator": "gt", "value": "old"}}}]},
            "clause 1 (user attribute criterion), field condition.value: condition on “age”: "
            "“old” is not a number",
        ),
    ],
)
def test_validation_messages_name_the_clause_criterion_and_field(data, expected) -> None:
    with pytest.raises(ValidationError) as caught:
        AudienceDefinition.model_validate(data)
    assert validation_messages(caught.value)[0] == expected
