"""Edge cases of the audience semantics, one test each, on SQLite, PostgreSQL and DuckDB."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from app.core.criteria import (
    CLAUSES_MAX,
    AmountCondition,
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
from app.core.models import Journey, Milestone
from app.engine.evaluation import EvaluationResult, evaluate_journey, stored_members

from .conftest import Backend
from .data import AS_OF, AS_OF_MS, BASE_MS, DAY, EPOCH, INPUTS, Attribute, Data, Event
from .reference import Reference


def define(*items: Any, joins: tuple[str, ...] = ()) -> AudienceDefinition:
    joins = joins or ("and",) * len(items)
    return AudienceDefinition(
        clauses=tuple(Clause(join=j, item=i) for j, i in zip(joins, items, strict=True))
    )


def attr(name: str, type_: str, operator: str, value: Any = None) -> UserAttributeCriterion:
    return UserAttributeCriterion(
        condition=Condition(attribute=name, type=type_, operator=operator, value=value)
    )


class Run:
    """A one-milestone-per-definition journey over ``data``, evaluated at ``as_of``."""

    def __init__(self, backend: Backend, data: Data, inputs: tuple[str, ...] = INPUTS) -> None:
        self.backend = backend
        self.graph = JourneyGraph(Journey(name="Edge", input_ids=inputs))
        backend.load(data)

    def add(self, name: str, definition: AudienceDefinition | None = None,
            parent: str | None = None, remaining: bool = False) -> str:
        definition = definition or AudienceDefinition()
        milestone = self.graph.add_milestone(
            Milestone(name=name, parent_id=parent, definition=definition, remaining=remaining)
        )
        return milestone.id

    def evaluate(self) -> EvaluationResult:
        return evaluate_journey(self.backend.engine, self.graph, AS_OF)

    def members(self, milestone_id: str) -> set[int]:
        return stored_members(self.backend.engine, milestone_id)

    def each(self, definitions: dict[str, AudienceDefinition]) -> dict[str, set[int]]:
        """Each definition as the one milestone of its own journey (same inputs)."""
        got: dict[str, set[int]] = {}
        for key, definition in definitions.items():
            graph = JourneyGraph(Journey(name=key[:80], input_ids=self.graph.journey.input_ids))
            milestone = graph.add_milestone(Milestone(name=key[:80], definition=definition))
            evaluate_journey(self.backend.engine, graph, AS_OF)
            got[key] = self.members(milestone.id)
        return got


def users(n: int) -> list[int]:
    return list(range(1, n + 1))


# ---------------------------------------------------------------------- population


def test_a_journey_without_inputs_has_nobody(backend: Backend) -> None:
    run = Run(backend, Data(users=users(2), events=[Event(1, BASE_MS)]), inputs=())
    first = run.add("Everyone")
    negative = run.add("No purchases", define(EventCriterion(count_operator="=", count=0)))
    result = run.evaluate()
    assert result.population.size == 0
    assert run.members(first) == set() == run.members(negative)


def test_a_user_with_no_events_is_not_in_the_population(backend: Backend) -> None:
    data = Data(
        users=users(2),
        attributes=[Attribute(2, "plan", "string", "gold")],
        events=[Event(1, BASE_MS)],
    )
    run = Run(backend, data)
    gold = run.add("Gold", define(attr("plan", "string", "equals", "gold")))
    not_gold = run.add("Not gold", define(attr("plan", "string", "not_exists")))
    result = run.evaluate()
    assert result.population.size == 1
    assert run.members(gold) == set()
    assert run.members(not_gold) == {1}
    assert stored_members(backend.engine, run.graph.id) == {1}


def test_events_of_other_inputs_and_after_as_of_are_not_seen(backend: Backend) -> None:
    data = Data(users=users(3), events=[
        Event(1, AS_OF_MS, event_name="Open"),
        Event(2, AS_OF_MS + 1, event_name="Open"),
        Event(3, AS_OF_MS, event_name="Open", input_id=INPUTS[2]),
        Event(3, BASE_MS, event_name="Other"),
    ])
    run = Run(backend, data, inputs=INPUTS[:2])
    opened = run.add("Opened", define(EventCriterion(event_name="Open")))
    run.evaluate()
    assert stored_members(backend.engine, run.graph.id) == {1, 3}
    assert run.members(opened) == {1}


# ---------------------------------------------------------------------- time windows


def window_data() -> Data:
    """User k has exactly one event, at the offset OFFSETS[k-1] from EPOCH."""
    return Data(users=users(len(OFFSETS)), events=[
        Event(n + 1, BASE_MS + offset, event_name="E") for n, offset in enumerate(OFFSETS)
    ])


OFFSETS = [
    -1,  # 1: the last ms of the day before
    0,  # 2: midnight, day 0
    DAY - 1,  # 3: the last ms of day 0
    DAY,  # 4: midnight, day 1
    2 * DAY,  # 5
    3 * DAY - 1,  # 6: last ms of day 2
    3 * DAY,  # 7
    8 * DAY - 1,  # 8: one ms before as_of - 2 days
    8 * DAY,  # 9: exactly as_of - 2 days
    10 * DAY,  # 10: exactly as_of
]


def window(kind: str, start: Any = None, end: Any = None, days: int | None = None) -> Any:
    return EventCriterion(
        event_name="E",
        window=TimeWindow(kind=kind, days=days, start=start, end=end),
    )


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [
        (window("within_last_days", days=2), {9, 10}),
        (window("within_last_days", days=30), set(range(1, 11))),
        (window("before", EPOCH), {1}),
        (window("before", EPOCH + timedelta(days=1)), {1, 2, 3}),
        (window("after", EPOCH + timedelta(days=1)), {4, 5, 6, 7, 8, 9, 10}),
        (window("after", EPOCH + timedelta(milliseconds=DAY - 1)), {3, 4, 5, 6, 7, 8, 9, 10}),
        (window("on", EPOCH), {2, 3}),
        (window("on", EPOCH + timedelta(hours=13)), {2, 3}),
        (window("between", EPOCH, EPOCH + timedelta(days=1)), {2, 3, 4}),
        (window("between", EPOCH, EPOCH + timedelta(days=2)), {2, 3, 4, 5, 6}),
        (window("between", EPOCH + timedelta(milliseconds=DAY - 1),
                EPOCH + timedelta(days=2, hours=1)), {3, 4, 5}),
    ],
    ids=["last-2-days", "last-30-days", "before-exclusive", "before-day-1", "after-inclusive",
         "after-ms", "on-day", "on-time-of-day", "between-midnight-end-includes-day",
         "between-two-days", "between-times-inclusive"],
)
def test_time_window_boundaries(backend: Backend, criterion: Any, expected: set[int]) -> None:
    run = Run(backend, window_data())
    milestone = run.add("Window", define(criterion))
    run.evaluate()
    assert run.members(milestone) == expected


# ---------------------------------------------------------------------- counts


def test_counts_including_zero(backend: Backend) -> None:
    data = Data(users=users(4), events=[
        Event(1, BASE_MS, event_name="Other"),
        Event(2, BASE_MS, event_name="Buy"),
        *(Event(3, BASE_MS + n, event_name="Buy") for n in range(2)),
        *(Event(4, BASE_MS + n, event_name="Buy") for n in range(3)),
    ])
    cases = {
        "> 0": (">", 0, {2, 3, 4}),
        "> 1": (">", 1, {3, 4}),
        ">= 0": (">=", 0, {1, 2, 3, 4}),
        ">= 2": (">=", 2, {3, 4}),
        "= 0": ("=", 0, {1}),
        "= 2": ("=", 2, {3}),
        "< 0": ("<", 0, set()),
        "< 2": ("<", 2, {1, 2}),
        "<= 0": ("<=", 0, {1}),
        "<= 2": ("<=", 2, {1, 2, 3}),
    }
    run = Run(backend, data)
    got = run.each({
        key: define(EventCriterion(event_name="Buy", count_operator=op, count=n))
        for key, (op, n, _) in cases.items()
    })
    assert got == {key: expected for key, (_, _, expected) in cases.items()}


# ---------------------------------------------------------------------- attributes


def test_null_and_missing_attributes(backend: Backend) -> None:
    data = Data(
        users=users(4),
        attributes=[
            Attribute(1, "plan", "string", "gold"),
            Attribute(2, "plan", "string", None),  # present row, NULL value
            Attribute(3, "plan", "number", 3.0),  # another type
        ],
        events=[
            Event(1, BASE_MS, event_name="E", attributes={"k": "x"}),
            Event(2, BASE_MS, event_name="E", attributes={"k": None}),
            Event(3, BASE_MS, event_name="E", attributes=None),
            Event(4, BASE_MS, event_name="E", attributes={"k": 5}),
        ],
    )
    run = Run(backend, data)
    got = run.each({
        "plan exists": define(attr("plan", "string", "exists")),
        "plan missing": define(attr("plan", "string", "not_exists")),
        "plan is not gold": define(attr("plan", "string", "not_equals", "gold")),
        "plan not in": define(attr("plan", "string", "not_in", ["silver"])),
        "plan number exists": define(attr("plan", "number", "exists")),
        "k exists": define(EventCriterion(
            event_name="E", conditions=(Condition(attribute="k", operator="exists"),))),
        "k missing": define(EventCriterion(
            event_name="E", conditions=(Condition(attribute="k", operator="not_exists"),))),
        "k is not y": define(EventCriterion(
            event_name="E",
            conditions=(Condition(attribute="k", operator="not_equals", value="y"),))),
        "k number": define(EventCriterion(
            event_name="E",
            conditions=(Condition(attribute="k", type="number", operator="ge", value=5),))),
    })
    assert got == {
        "plan exists": {1},
        "plan missing": {2, 3, 4},
        "plan is not gold": set(),
        "plan not in": {1},
        "plan number exists": {3},
        "k exists": {1},
        "k missing": {2, 3, 4},
        "k is not y": {1},
        "k number": {4},
    }


def test_list_attributes(backend: Backend) -> None:
    data = Data(
        users=users(4),
        attributes=[
            Attribute(1, "tags", "list", ["VIP", "beta"]),
            Attribute(2, "tags", "list", ["vipish", "a_b"]),
            Attribute(3, "tags", "list", []),
        ],
        events=[Event(u, BASE_MS) for u in users(4)],
    )
    run = Run(backend, data)
    got = run.each({
        "contains vip": define(attr("tags", "list", "contains", "vip")),
        "contains a%b": define(attr("tags", "list", "contains", "a%b")),
        "contains a_b": define(attr("tags", "list", "contains", "A_B")),
        "in": define(attr("tags", "list", "in", ["beta", "vipish"])),
        "not contains vip": define(attr("tags", "list", "not_contains", "vip")),
        "not in": define(attr("tags", "list", "not_in", ["beta"])),
        "exists": define(attr("tags", "list", "exists")),
        "not exists": define(attr("tags", "list", "not_exists")),
    })
    assert got == {
        "contains vip": {1},
        "contains a%b": set(),
        "contains a_b": {2},
        "in": {1, 2},
        "not contains vip": {2, 3},
        "not in": {2, 3},
        "exists": {1, 2, 3},
        "not exists": {4},
    }


def test_case_insensitive_matching(backend: Backend) -> None:
    data = Data(
        users=users(3),
        attributes=[Attribute(1, "plan", "string", "Gold Plus"),
                    Attribute(2, "$country", "string", "us")],
        events=[
            Event(1, BASE_MS, event_type="commerce_event", commerce_action="PURCHASE",
                  amount=20.0, platform="IOS"),
            Event(2, BASE_MS, country="De", platform="Web"),
            Event(3, BASE_MS, country="US", platform="android"),
        ],
    )
    run = Run(backend, data)
    got = run.each({
        "equals": define(attr("plan", "string", "equals", "gOLD pLUS")),
        "contains": define(attr("plan", "string", "contains", "LD p")),
        "in": define(attr("plan", "string", "in", ["x", "GOLD PLUS"])),
        "commerce": define(EcommerceCriterion(
            action="purchase", amount=(AmountCondition(operator="between", value=[20, 30]),))),
        "device": define(DeviceCriterion(platforms=("ios", "WEB"))),
        "not on device": define(DeviceCriterion(platforms=("ios", "WEB"), negate=True)),
        "country": define(LocationCriterion(field="country", value="uS")),
        "country not": define(LocationCriterion(field="country", operator="not_equals",
                                                value="us")),
    })
    assert got == {
        "equals": {1},
        "contains": {1},
        "in": {1},
        "commerce": {1},
        "device": {1, 2},
        "not on device": {3},
        "country": {2, 3},
        "country not": set(),  # user 2 is "De" in events but "us" as an attribute
    }


def test_patterns_with_star_and_question_mark(backend: Backend) -> None:
    names = ["gold", "GOLDEN", "g_ld", "g%ld", "old", "go"]
    data = Data(
        users=users(len(names)),
        attributes=[Attribute(n + 1, "plan", "string", v) for n, v in enumerate(names)],
        events=[Event(n + 1, BASE_MS) for n in range(len(names))],
    )
    run = Run(backend, data)
    got = run.each({
        "g*": define(attr("plan", "string", "pattern", "g*")),
        "g?ld": define(attr("plan", "string", "pattern", "G?LD")),
        "*ld": define(attr("plan", "string", "pattern", "*ld")),
        "g_ld literal": define(attr("plan", "string", "pattern", "g_l*")),
        "g%ld literal": define(attr("plan", "string", "contains", "%")),
        "exact": define(attr("plan", "string", "pattern", "go")),
    })
    assert got == {
        "g*": {1, 2, 3, 4, 6},
        "g?ld": {1, 3, 4},
        "*ld": {1, 3, 4, 5},
        "g_ld literal": {3},
        "g%ld literal": {4},
        "exact": {6},
    }


def test_identity_membership_and_nested_groups(backend: Backend) -> None:
    data = Data(
        users=users(4),
        identities=[(1, "email", "a@x"), (2, "email", "b@x"), (3, "customer_id", "c")],
        events=[Event(u, BASE_MS, event_name="Open" if u % 2 else "Buy") for u in users(4)],
    )
    run = Run(backend, data)
    openers = run.add("Openers", define(EventCriterion(event_name="Open")))
    rest = run.add("Rest", remaining=True)
    mixed = run.add(
        "Mixed",
        define(
            IdentityCriterion(identity_type="email"),
            Group(clauses=(
                Clause(item=AudienceMembershipCriterion(milestone_id=openers, member=False)),
                Clause(join="exclude", item=IdentityCriterion(identity_type="customer_id")),
            )),
            joins=("and", "or"),
        ),
        parent=rest,
    )
    run.evaluate()
    assert run.members(openers) == {1, 3}
    assert run.members(rest) == {2, 4}
    assert run.members(mixed) == {2, 4}


# ---------------------------------------------------------------------- structure


def test_a_milestone_whose_parent_is_empty_is_empty(backend: Backend) -> None:
    data = Data(users=users(2), events=[Event(1, BASE_MS), Event(2, BASE_MS)])
    run = Run(backend, data)
    nobody = run.add("Nobody", define(EventCriterion(event_name="Never")))
    child = run.add("Child", define(EventCriterion(count_operator="=", count=0)), parent=nobody)
    everyone_below = run.add("Everyone below", parent=child)
    result = run.evaluate()
    assert run.members(child) == set() == run.members(everyone_below)
    assert result.milestone(child).size == 0


def test_splits_are_exclusive_in_left_to_right_order_and_remaining_catches_the_rest(
    backend: Backend,
) -> None:
    data = Data(users=users(5), events=[
        Event(1, BASE_MS, event_name="A"),
        Event(2, BASE_MS, event_name="A"), Event(2, BASE_MS, event_name="B"),
        Event(3, BASE_MS, event_name="B"),
        Event(4, BASE_MS, event_name="C"),
        Event(5, BASE_MS + 20 * DAY, event_name="A"),  # after as_of: not in the journey
    ])
    run = Run(backend, data)
    a = run.add("Did A", define(EventCriterion(event_name="A")))
    b = run.add("Did B", define(EventCriterion(event_name="B")))
    rest = run.add("Remaining", remaining=True)
    result = run.evaluate()
    assert (run.members(a), run.members(b), run.members(rest)) == ({1, 2}, {3}, {4})
    assert [m.size for m in result.milestones] == [2, 1, 1]
    # Swap the split: user 2 moves from A to B, which is reported as a drop and an add.
    run.graph.move_milestone(b, None, 0)
    result = run.evaluate()
    assert (run.members(b), run.members(a), run.members(rest)) == ({2, 3}, {1}, {4})
    assert (result.milestone(b).added, result.milestone(b).removed) == (1, 0)
    assert (result.milestone(a).added, result.milestone(a).removed) == (0, 1)
    assert (result.milestone(rest).added, result.milestone(rest).removed) == (0, 0)


# ---------------------------------------------------------------------- deep definitions


def test_a_deeply_nested_definition_is_evaluated(backend: Backend) -> None:
    # Every level: (did E<k> or <the level below>) exclude did X<k>. Each level's
    # set algebra wraps the one below: a statement as deep as the definition
    # overflowed SQLite's parser stack.
    depth = 24
    people = users(60)
    events = [Event(u, BASE_MS, event_name=f"E{u % depth}") for u in people]
    events += [Event(u, BASE_MS, event_name=f"X{u * 7 % (depth * 3)}") for u in people]
    definition: AudienceDefinition = define(EventCriterion(event_name="E0"))
    expected = {u for u in people if u % depth == 0}
    for level in range(1, depth):
        definition = define(EventCriterion(event_name=f"E{level}"),
                            Group(clauses=definition.clauses),
                            EventCriterion(event_name=f"X{level}"),
                            joins=("and", "or", "exclude"))
        expected = ({u for u in people if u % depth == level} | expected) - {
            u for u in people if u * 7 % (depth * 3) == level}
    run = Run(backend, Data(users=people, events=events))
    assert run.each({"deep": definition}) == {"deep": expected}
    assert 10 < len(expected) < 50


@contextmanager
def _headroom(frames: int) -> Iterator[None]:
    """At most ``frames`` more Python frames than the caller has: as a preview in a
    worker thread, or an evaluation called from deeper code, would have."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + frames)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def test_the_longest_flat_definition_is_evaluated_in_a_shallow_stack(backend: Backend) -> None:
    """As many clauses as the core accepts, in one list of And, Or and Exclude over every
    kind of criterion (per-user tests included): compiling it must not need a frame a
    clause (a flat list of ~95 overflowed the stack), and it matches the reference."""
    people = users(120)
    events = [Event(u, BASE_MS + u, event_name=f"E{u % 7}", platform=("iOS", "Web")[u % 2],
                    country=("US", "FR", "DE")[u % 3]) for u in people]
    events += [Event(u, BASE_MS + u, event_name=f"E{u % 5 + 7}") for u in people[::3]]
    data = Data(users=people, events=events,
                identities=[(u, "email", f"u{u}@example.com") for u in people[::4]])
    kinds: list[Any] = [
        lambda i: EventCriterion(event_name=f"E{i % 12}"),
        lambda i: DeviceCriterion(platforms=(("iOS", "Web")[i % 2],)),
        lambda i: IdentityCriterion(identity_type="email", present=i % 2 == 0),
        lambda i: LocationCriterion(field="country", operator="equals",
                                    value=("US", "FR", "DE")[i % 3]),
        lambda i: EventCriterion(event_name=f"E{i % 12}", count_operator="<", count=1),
    ]
    joins = ("or", "and", "or", "exclude", "or", "or", "and")
    definition = define(*(kinds[i % len(kinds)](i) for i in range(CLAUSES_MAX)),
                        joins=tuple(joins[i % len(joins)] for i in range(CLAUSES_MAX)))
    run = Run(backend, data)
    milestone = run.add("long", definition)
    expected = Reference(data, run.graph, AS_OF).evaluate()[milestone]
    assert 10 < len(expected) < 110

    with _headroom(400):
        run.evaluate()

    assert run.members(milestone) == expected
