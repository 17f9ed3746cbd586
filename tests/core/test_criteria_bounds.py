"""The criteria language holds only what can be stored and evaluated, on every database.

Counts and day windows have a ceiling, numbers are finite, text has no NUL (which
PostgreSQL can't store), numbers are numbers (not text that looks like one), and
groups nest only so deep. A refusal names the clause and the field in plain words,
as ``validation_messages`` words it for an import.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.core.commands import AddMilestone, CreateJourney, RenameJourney, RenameMilestone
from app.core.criteria import (
    CLAUSES_MAX,
    CONDITIONS_MAX,
    COUNT_MAX,
    GROUP_DEPTH_MAX,
    AudienceDefinition,
    Condition,
    EventCriterion,
    validation_messages,
)
from app.core.errors import InvalidNameError
from app.core.models import Journey, JourneyDocument, Milestone
from tests.core.conftest import make_state


def one(item: dict[str, Any]) -> dict[str, Any]:
    return {"clauses": [{"item": item}]}


def problems(data: Any) -> list[str]:
    """The messages an import would show for ``data`` as a definition (as JSON reads it)."""
    with pytest.raises(ValidationError) as caught:
        AudienceDefinition.model_validate(data)
    return validation_messages(caught.value)


def nested(depth: int) -> dict[str, Any]:
    item: dict[str, Any] = {"kind": "identity", "identity_type": "email"}
    for _ in range(depth):
        item = {"kind": "group", "clauses": [{"item": item}]}
    return one(item)


EVENT = {"kind": "event", "event_name": "Open"}
NAN = float("nan")
INF = float("inf")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (one({**EVENT, "count": 2**63}),
         f"clause 1 (event criterion), field count: should be at most {COUNT_MAX:,}"),
        (one({**EVENT, "count": -1}),
         "clause 1 (event criterion), field count: should be at least 0"),
        (one({**EVENT, "count": "5"}),
         "clause 1 (event criterion), field count: should be a whole number"),
        (one({**EVENT, "count": 2.5}),
         "clause 1 (event criterion), field count: should be a whole number"),
        (one({**EVENT, "count": True}),
         "clause 1 (event criterion), field count: should be a whole number"),
        (one({**EVENT, "window": {"days": 10**6}}),
         "clause 1 (event criterion), field window.days: should be at most 3,650"),
        (one({**EVENT, "window": {"days": "30"}}),
         "clause 1 (event criterion), field window.days: should be a whole number"),
        (one({"kind": "ecommerce", "amount": [{"operator": "gt", "value": NAN}]}),
         "clause 1 (ecommerce criterion), field amount[0].value: should be a finite number, "
         "not NaN or Infinity"),
        (one({"kind": "ecommerce", "amount": [{"operator": "between", "value": [1, INF]}]}),
         "clause 1 (ecommerce criterion), field amount[0].value[1]: should be a finite number"),
        (one({"kind": "ecommerce", "amount": [{"operator": "gt", "value": "12"}]}),
         "clause 1 (ecommerce criterion), field amount[0].value: should be a number"),
        (one({"kind": "user_attribute", "condition": {
            "attribute": "ltv", "type": "number", "operator": "gt", "value": NAN}}),
         "clause 1 (user attribute criterion), field condition.value: should be a finite "
         "number"),
        (one({"kind": "user_attribute", "condition": {
            "attribute": "ltv", "type": "number", "operator": "gt", "value": "-Infinity"}}),
         "clause 1 (user attribute criterion), field condition.value: condition on “ltv”: "
         "“-Infinity” is not a finite number"),
        (one({"kind": "user_attribute", "condition": {
            "attribute": "ltv", "type": "number", "operator": "gt", "value": 10**400}}),
         "clause 1 (user attribute criterion), field condition.value: should be a finite "
         "number"),
        (one({**EVENT, "event_name": "Op\x00en"}),
         "clause 1 (event criterion), field event_name: contains a NUL character"),
        (one({"kind": "location", "field": "city", "operator": "in",
              "value": ["Paris", "Ly\x00on"]}),
         "clause 1 (location criterion), field value[1]: contains a NUL character"),
        (one({"kind": "device", "platforms": ["iOS\x00"]}),
         "clause 1 (device criterion), field platforms[0]: contains a NUL character"),
        (one({"kind": "audience", "milestone_id": "m\x00"}),
         "clause 1 (audience membership criterion), field milestone_id: contains a NUL"),
        (one({"kind": "user_attribute", "condition": {
            "attribute": "pl\x00an", "operator": "exists"}}),
         "clause 1 (user attribute criterion), field condition.attribute: contains a NUL"),
        (one({"kind": "identity", "identity_type": "em\udcffail"}),
         "clause 1 (identity criterion), field identity_type: is not valid UTF-8 text"),
        (one([EVENT]),
         "clause 1, field item: should be an object"),
        ({"clauses": {"item": EVENT}},
         "definition, field clauses: should be a list"),
        (one({**EVENT, "window": [30]}),
         "clause 1 (event criterion), field window: should be an object"),
        (one({"kind": "device", "platforms": ["iOS"] * 1001}),
         "clause 1 (device criterion), field platforms: should have at most"),
        (nested(GROUP_DEPTH_MAX + 1),
         f"definition: clause 1 nests groups {GROUP_DEPTH_MAX + 1} deep; groups nest at most "
         f"{GROUP_DEPTH_MAX} deep"),
        (nested(400),
         f"definition: clause 1 nests groups 400 deep; groups nest at most {GROUP_DEPTH_MAX} deep"),
        ({"clauses": [{"join": "or", "item": EVENT}] * (CLAUSES_MAX + 1)},
         f"definition: {CLAUSES_MAX + 1} clauses (groups and what they hold included); a "
         f"definition holds at most {CLAUSES_MAX}"),
        ({"clauses": [{"item": {"kind": "group", "clauses": [{"item": EVENT}] * 40}}] * 2},
         "definition: 82 clauses"),
        (one({**EVENT, "conditions": [{"attribute": "a", "operator": "exists"}]
              * (CONDITIONS_MAX + 1)}),
         f"clause 1 (event criterion), field conditions: should have at most {CONDITIONS_MAX} "
         f"items"),
    ],
    ids=[
        "count 2**63", "count -1", "count as text", "count 2.5", "count true",
        "a million days", "days as text", "NaN amount", "Infinity amount", "amount as text",
        "NaN condition", "Infinity as text", "number past float", "NUL event name",
        "NUL list value", "NUL platform", "NUL milestone id", "NUL attribute",
        "bad UTF-8", "list for an object", "object for a list", "list for a window",
        "too many platforms", "groups one too deep", "groups 400 deep", "too many clauses",
        "too many clauses in groups", "too many conditions",
    ],
)
def test_what_cannot_be_stored_or_evaluated_is_refused_in_plain_words(
    data: Any, expected: str
) -> None:
    messages = problems(data)
    assert any(m.startswith(expected) for m in messages), messages
    assert len(messages) == 1, messages
    assert not any("Input should" in m or "https://" in m for m in messages), messages


def test_the_bounds_themselves_are_allowed() -> None:
    at_limit = AudienceDefinition.model_validate(
        nested(GROUP_DEPTH_MAX - 1)
        | {"clauses": [*nested(GROUP_DEPTH_MAX - 1)["clauses"],
                       {"item": {**EVENT, "count": COUNT_MAX, "window": {"days": 3650}}}]}
    )
    assert AudienceDefinition.from_json(at_limit.to_json()) == at_limit
    assert EventCriterion(count=COUNT_MAX).count == COUNT_MAX
    # Text that looks like a number stays accepted where the language says so: a
    # condition's value is read as its attribute's type.
    assert Condition(attribute="ltv", type="number", operator="gt", value="12.5").value == 12.5


@pytest.mark.parametrize("name", ["Op\x00ened", "\x00"])
def test_a_name_with_a_nul_is_refused_as_the_canvas_would_name_things(name: str) -> None:
    """Names are text the store keeps: PostgreSQL refuses NUL where SQLite stores it."""
    state = make_state(journeys=(("j1", "Onboarding"),))
    AddMilestone("j1", Milestone(id="m", name="Opened")).do(state)
    before = state.snapshot()
    for command in (
        RenameMilestone("j1", "m", name),
        RenameJourney("j1", name),
        CreateJourney(JourneyDocument(journey=Journey(id="j2", name=name))),
        AddMilestone("j1", Milestone(id="n", name=name)),
    ):
        with pytest.raises(InvalidNameError, match="NUL character"):
            command.do(state)
        assert state.snapshot() == before
