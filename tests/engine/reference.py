"""A reference evaluator: the audience semantics in plain Python, written from the spec.

It shares no code with app/engine: it walks the test data (tests/engine/data.py)
row by row with Python sets, regular expressions and loops. Case folding is
``str.lower`` (the tests use ASCII text, where every backend agrees).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from app.core.criteria import (
    AudienceDefinition,
    AudienceMembershipCriterion,
    Clause,
    Condition,
    DeviceCriterion,
    EcommerceCriterion,
    EventCriterion,
    Group,
    IdentityCriterion,
    LocationCriterion,
    TimeWindow,
    UserAttributeCriterion,
)
from app.core.graph import JourneyGraph

from .data import DAY, Data, Event

LOCATION_NAMES = {"country": "$country", "region": "$state", "city": "$city",
                  "postal_code": "$zip"}


def ms(moment: datetime) -> int:
    return round(moment.astimezone(UTC).timestamp() * 1000)


def in_window(ts: int, window: TimeWindow, as_of: int) -> bool:
    if ts > as_of:
        return False
    if window.kind == "within_last_days":
        assert window.days is not None
        return ts >= as_of - window.days * DAY
    assert window.start is not None
    start = ms(window.start)
    if window.kind == "before":
        return ts < start
    if window.kind == "after":
        return ts >= start
    if window.kind == "on":
        day = datetime.fromtimestamp(start / 1000, UTC).date()
        return datetime.fromtimestamp(ts / 1000, UTC).date() == day
    assert window.end is not None
    end_moment = window.end.astimezone(UTC)
    if end_moment.hour == end_moment.minute == end_moment.second == 0 and (
        end_moment.microsecond == 0
    ):
        return start <= ts and datetime.fromtimestamp(ts / 1000, UTC).date() <= end_moment.date()
    return start <= ts <= ms(window.end)


def wildcard(pattern: str) -> re.Pattern[str]:
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL)


def text_matches(value: str, operator: str, target: Any) -> bool:
    """Positive string operators on a present value."""
    v = value.lower()
    if operator == "contains":
        return str(target).lower() in v
    if operator == "equals":
        return v == str(target).lower()
    if operator == "pattern":
        return wildcard(str(target).lower()).fullmatch(v) is not None
    if operator == "in":
        return v in {str(t).lower() for t in target}
    raise AssertionError(operator)


POSITIVE = {"not_contains": "contains", "not_equals": "equals", "not_in": "in", "ne": "eq"}


def value_matches(value: Any, kind: str, operator: str, target: Any) -> bool:
    """One (possibly missing: None) typed value against a condition."""
    if operator == "exists":
        return value is not None
    if operator == "not_exists":
        return value is None
    if value is None:
        return False
    if operator in POSITIVE:
        return not value_matches(value, kind, POSITIVE[operator], target)
    if kind == "string":
        return text_matches(value, operator, target)
    if kind == "list":
        elements = {str(e).lower() for e in value}
        wanted = [target] if operator == "contains" else target
        return any(str(t).lower() in elements for t in wanted)
    if kind == "date":
        target = [ms(t) for t in target] if isinstance(target, list) else ms(target)
    if operator == "eq":
        return bool(value == target)
    if operator == "gt":
        return bool(value > target)
    if operator == "ge":
        return bool(value >= target)
    if operator == "lt":
        return bool(value < target)
    if operator == "le":
        return bool(value <= target)
    if operator == "between":
        return bool(target[0] <= value <= target[1])
    raise AssertionError(operator)


def json_value(attributes: dict[str, Any] | None, condition: Condition) -> Any:
    """An event attribute of the condition's type, or None."""
    if not attributes or condition.attribute not in attributes:
        return None
    value = attributes[condition.attribute]
    kind = condition.type
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind in ("number", "date"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return value if ok else None
    return value if isinstance(value, str) else None


class Reference:
    def __init__(self, data: Data, graph: JourneyGraph, as_of: datetime,
                 stored: dict[str, set[int]] | None = None) -> None:
        self.data = data
        self.graph = graph
        self.as_of = ms(as_of)
        self.inputs = set(graph.journey.input_ids)
        self.members: dict[str, set[int]] = dict(stored or {})
        self.visible = [e for e in data.events
                        if e.input_id in self.inputs and e.ts_ms <= self.as_of]

    def evaluate(self) -> dict[str, set[int]]:
        """Every audience (the journey id: population) -> its members."""
        result: dict[str, set[int]] = {}
        population = {e.user_id for e in self.visible}
        result[self.graph.id] = population
        self.members[self.graph.id] = population
        for milestone in self.graph.milestones_in_order():
            parent = self.members[milestone.parent_id or self.graph.id]
            siblings = self.graph.children(milestone.parent_id)
            taken: set[int] = set()
            for sibling in siblings[: siblings.index(milestone)]:
                taken |= self.members[sibling.id]
            if milestone.remaining:
                mine = parent - taken
            else:
                mine = {u for u in parent if self.matches(milestone.definition, u, parent)}
                mine -= taken
            result[milestone.id] = mine
            self.members[milestone.id] = mine
        if self.graph.journey.exclusive:
            return self.deepest_only(result)
        return result

    def deepest_only(self, reached: dict[str, set[int]]) -> dict[str, set[int]]:
        """The exclusive option, as the spec states it: a user in a milestone and in one of
        its descendants is not kept in the milestone. (Membership criteria of this run
        have read ``reached``: who reached each milestone.)"""
        kept = dict(reached)
        for milestone in self.graph.milestones_in_order():
            below = self.graph.subtree_ids(milestone.id) - {milestone.id}
            kept[milestone.id] = {
                u for u in reached[milestone.id] if not any(u in reached[d] for d in below)
            }
        return kept

    # ---------------------------------------------------------------- per user

    def matches(self, definition: AudienceDefinition, user: int, universe: set[int]) -> bool:
        if definition.is_empty:
            return True
        return self.clauses(definition.clauses, user, universe)

    def clauses(self, clauses: tuple[Clause, ...], user: int, universe: set[int]) -> bool:
        result: bool | None = None
        for clause in clauses:
            hit = self.item(clause.item, user, universe)
            if result is None:
                result = (not hit) if clause.join == "exclude" else hit
            elif clause.join == "and":
                result = result and hit
            elif clause.join == "or":
                result = result or hit
            else:
                result = result and not hit
        return bool(result)

    def item(self, item: Any, user: int, universe: set[int]) -> bool:
        if isinstance(item, Group):
            return self.clauses(item.clauses, user, universe)
        if isinstance(item, EventCriterion | EcommerceCriterion):
            return self.event(item, user)
        if isinstance(item, UserAttributeCriterion):
            return self.user_attribute(item.condition, user)
        if isinstance(item, IdentityCriterion):
            has = any(u == user and t == item.identity_type
                      for u, t, _ in self.data.identities)
            return has == item.present
        if isinstance(item, DeviceCriterion):
            wanted = {p.lower() for p in item.platforms}
            on = any(e.user_id == user and e.platform is not None
                     and e.platform.lower() in wanted for e in self.visible)
            return on != item.negate
        if isinstance(item, LocationCriterion):
            return self.location(item, user)
        assert isinstance(item, AudienceMembershipCriterion)
        return (user in self.members.get(item.milestone_id, set())) == item.member

    def event(self, item: EventCriterion | EcommerceCriterion, user: int) -> bool:
        def counts(event: Event) -> bool:
            if event.user_id != user or not in_window(event.ts_ms, item.window, self.as_of):
                return False
            if isinstance(item, EventCriterion):
                if event.event_type != item.event_type:
                    return False
                if item.event_name is not None and event.event_name != item.event_name:
                    return False
                if item.commerce_action is not None and (
                    event.commerce_action is None
                    or event.commerce_action.lower() != item.commerce_action.lower()
                ):
                    return False
            else:
                if event.event_type != "commerce_event" or event.commerce_action is None:
                    return False
                if event.commerce_action.lower() != item.action.lower():
                    return False
                for amount in item.amount:
                    if not value_matches(event.amount, "number", amount.operator, amount.value):
                        return False
            return all(
                value_matches(json_value(event.attributes, c), c.type, c.operator, c.value)
                for c in item.conditions
            )

        n = sum(1 for e in self.visible if counts(e))
        return {
            ">": n > item.count, ">=": n >= item.count, "=": n == item.count,
            "<": n < item.count, "<=": n <= item.count,
        }[item.count_operator]

    def attribute(self, user: int, name: str) -> tuple[str, Any] | None:
        for a in self.data.attributes:
            if a.user_id == user and a.name == name:
                return a.value_type, a.value
        return None

    def user_attribute(self, condition: Condition, user: int) -> bool:
        found = self.attribute(user, condition.attribute)
        value = found[1] if found is not None and found[0] == condition.type else None
        return value_matches(value, condition.type, condition.operator, condition.value)

    def location(self, item: LocationCriterion, user: int) -> bool:
        values = [getattr(e, item.field) for e in self.visible if e.user_id == user]
        found = self.attribute(user, LOCATION_NAMES[item.field])
        if found is not None and found[0] == "string":
            values.append(found[1])
        present = [v for v in values if v is not None]
        if item.operator == "exists":
            return bool(present)
        if item.operator == "not_exists":
            return not present
        if item.operator in POSITIVE:
            positive = POSITIVE[item.operator]
            return bool(present) and not any(
                text_matches(v, positive, item.value) for v in present
            )
        return any(text_matches(v, item.operator, item.value) for v in present)
