"""Hypothesis strategies: random event stores and random journeys of random definitions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from app.core.criteria import (
    LIST_OPERATORS,
    ORDER_OPERATORS,
    PRESENCE_OPERATORS,
    STRING_OPERATORS,
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

from .data import BASE_MS, DAY, EPOCH, INPUTS, Attribute, Data, Event

TEXT = st.text(alphabet="aAb_%", min_size=0, max_size=3)
PATTERN = st.text(alphabet="aAb_%*?", min_size=0, max_size=3)
NUMBERS = st.sampled_from([0.0, 5.0, 9.5, 10.0, 100.0])
DAYS = [EPOCH + timedelta(days=d) for d in (0, 1, 2, 5, 10)]
MOMENTS = st.sampled_from(
    [*DAYS, EPOCH + timedelta(days=2, milliseconds=1), EPOCH + timedelta(days=5, hours=12)]
)
OFFSETS = [-DAY, 0, 1, DAY - 1, DAY, 2 * DAY, 5 * DAY, 5 * DAY + DAY // 2, 9 * DAY,
           10 * DAY, 10 * DAY + 1]
EVENT_KEYS = ["k", "n"]
ATTRIBUTE_NAMES = ["plan", "score", "vip", "signup", "tags", "$country", "$city"]


# ---------------------------------------------------------------------- data


@st.composite
def events(draw: Any, users: list[int]) -> Event:
    event_type = draw(st.sampled_from(["custom_event", "screen_view", "commerce_event"]))
    commerce = event_type == "commerce_event"
    attributes = draw(
        st.none()
        | st.dictionaries(
            st.sampled_from(EVENT_KEYS),
            TEXT | NUMBERS | st.integers(0, 20) | st.booleans() | st.none(),
            max_size=2,
        )
    )
    return Event(
        user_id=draw(st.sampled_from(users)),
        ts_ms=BASE_MS + draw(st.sampled_from(OFFSETS)),
        event_type=event_type,
        event_name=draw(st.sampled_from(["Open", "open", "Buy", None])),
        input_id=draw(st.sampled_from(INPUTS)),
        commerce_action=(
            draw(st.sampled_from(["purchase", "PURCHASE", "add_to_cart", None]))
            if commerce else None
        ),
        amount=draw(st.none() | NUMBERS) if commerce else None,
        attributes=attributes,
        country=draw(st.none() | TEXT),
        city=draw(st.none() | TEXT),
        platform=draw(st.sampled_from(["iOS", "ios", "web", None])),
    )


@st.composite
def attribute_value(draw: Any, value_type: str) -> Any:
    if value_type == "string":
        return draw(TEXT)
    if value_type == "number":
        return draw(NUMBERS)
    if value_type == "boolean":
        return draw(st.booleans())
    if value_type == "date":
        return BASE_MS + draw(st.sampled_from([0, DAY, 2 * DAY, 5 * DAY, 5 * DAY + 1]))
    return draw(st.lists(TEXT, max_size=3))


@st.composite
def datasets(draw: Any) -> Data:
    users = list(range(1, draw(st.integers(2, 8)) + 1))
    data = Data(users=users)
    for user in users:
        for kind in draw(st.lists(st.sampled_from(["email", "customer_id"]), unique=True)):
            data.identities.append((user, kind, f"{kind}-{user}"))
        names = draw(st.lists(st.sampled_from(ATTRIBUTE_NAMES), unique=True, max_size=4))
        for name in names:
            if name.startswith("$"):
                value_type = "string"
            else:
                value_type = draw(st.sampled_from(["string", "number", "boolean", "date", "list"]))
            value = draw(attribute_value(value_type))
            data.attributes.append(Attribute(user, name, value_type, value))
    data.events = draw(st.lists(events(users), min_size=5, max_size=40))
    return data


# ---------------------------------------------------------------------- definitions


@st.composite
def condition_value(draw: Any, kind: str, operator: str) -> Any:
    if operator in PRESENCE_OPERATORS:
        return None
    single: Any
    if kind == "string":
        single = PATTERN if operator == "pattern" else TEXT
    elif kind == "list":
        single = TEXT
    elif kind == "number":
        single = NUMBERS
    elif kind == "date":
        single = MOMENTS
    else:
        single = st.booleans()
    if operator in ("in", "not_in"):
        return draw(st.lists(single, min_size=1, max_size=3))
    if operator == "between":
        return [draw(single), draw(single)]
    return draw(single)


def operators_for(kind: str) -> list[str]:
    base = {
        "string": list(STRING_OPERATORS),
        "list": list(LIST_OPERATORS),
        "number": list(ORDER_OPERATORS),
        "date": list(ORDER_OPERATORS),
        "boolean": ["eq", "ne"],
    }[kind]
    return base + list(PRESENCE_OPERATORS)


@st.composite
def conditions(draw: Any, names: list[str], kinds: list[str]) -> Condition:
    kind = draw(st.sampled_from(kinds))
    operator = draw(st.sampled_from(operators_for(kind)))
    value = draw(condition_value(kind, operator))
    return Condition(attribute=draw(st.sampled_from(names)), type=kind, operator=operator,
                     value=value)


@st.composite
def windows(draw: Any) -> TimeWindow:
    kind = draw(st.sampled_from(
        ["within_last_days", "within_last_days", "before", "after", "on", "between"]
    ))
    if kind == "within_last_days":
        return TimeWindow(days=draw(st.sampled_from([30, 10, 5, 1])))
    start = draw(MOMENTS)
    if kind == "between":
        end = draw(MOMENTS.filter(lambda m: m >= start))
        return TimeWindow(kind=kind, days=None, start=start, end=end)
    return TimeWindow(kind=kind, days=None, start=start)


COUNTS = st.tuples(st.sampled_from([">", ">=", "=", "<", "<="]), st.integers(0, 3))


@st.composite
def event_criteria(draw: Any) -> EventCriterion:
    operator, count = draw(COUNTS)
    event_type = draw(st.sampled_from(["custom_event", "screen_view", "commerce_event"]))
    return EventCriterion(
        event_type=event_type,
        event_name=draw(st.sampled_from([None, None, "Open", "Buy"])),
        commerce_action=(
            draw(st.sampled_from([None, "Purchase"])) if event_type == "commerce_event" else None
        ),
        conditions=tuple(draw(st.lists(
            conditions([*EVENT_KEYS, "missing"], ["string", "number", "boolean", "date"]),
            max_size=1,
        ))),
        count_operator=operator,
        count=count,
        window=draw(windows()),
    )


@st.composite
def ecommerce_criteria(draw: Any) -> EcommerceCriterion:
    operator, count = draw(COUNTS)
    amounts = []
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from([*ORDER_OPERATORS, *PRESENCE_OPERATORS]))
        amounts.append(AmountCondition(operator=op, value=draw(condition_value("number", op))))
    return EcommerceCriterion(
        action=draw(st.sampled_from(["purchase", "add_to_cart"])),
        amount=tuple(amounts),
        conditions=tuple(draw(st.lists(conditions(EVENT_KEYS, ["string", "number"]),
                                       max_size=1))),
        count_operator=operator,
        count=count,
        window=draw(windows()),
    )


@st.composite
def locations(draw: Any) -> LocationCriterion:
    operator = draw(st.sampled_from([*STRING_OPERATORS, *PRESENCE_OPERATORS]))
    return LocationCriterion(
        field=draw(st.sampled_from(["country", "city"])),
        operator=operator,
        value=draw(condition_value("string", operator)),
    )


def leaves(milestone_ids: list[str]) -> st.SearchStrategy[Any]:
    options = [
        event_criteria(),
        ecommerce_criteria(),
        st.builds(
            UserAttributeCriterion,
            condition=conditions(ATTRIBUTE_NAMES, ["string", "number", "boolean", "date",
                                                   "list"]),
        ),
        st.builds(IdentityCriterion, identity_type=st.sampled_from(["email", "customer_id"]),
                  present=st.booleans()),
        st.builds(DeviceCriterion,
                  platforms=st.lists(st.sampled_from(["IOS", "web", "android"]), min_size=1,
                                     max_size=2).map(tuple),
                  negate=st.booleans()),
        locations(),
    ]
    if milestone_ids:
        options.append(st.builds(AudienceMembershipCriterion,
                                 milestone_id=st.sampled_from(milestone_ids),
                                 member=st.booleans()))
    return st.one_of(*options)


def clause_lists(
    items: st.SearchStrategy[Any], max_size: int = 3
) -> st.SearchStrategy[tuple[Clause, ...]]:
    return st.lists(
        st.builds(Clause, join=st.sampled_from(["and", "or", "or", "exclude"]), item=items),
        min_size=1, max_size=max_size,
    ).map(tuple)


def definitions(
    milestone_ids: list[str], max_clauses: int = 3
) -> st.SearchStrategy[AudienceDefinition]:
    items = st.recursive(
        leaves(milestone_ids),
        lambda inner: st.builds(Group, clauses=clause_lists(inner, max_clauses)),
        max_leaves=max(4, max_clauses),
    )
    return st.one_of(
        st.builds(AudienceDefinition, clauses=clause_lists(items, max_clauses)),
        st.just(AudienceDefinition()),
    )


@st.composite
def journeys(draw: Any, max_clauses: int = 3) -> JourneyGraph:
    """Random journeys; each clause list holds at most ``max_clauses``."""
    inputs = draw(st.lists(st.sampled_from(INPUTS), unique=True, min_size=1, max_size=3))
    graph = JourneyGraph(Journey(name="Random", input_ids=tuple(inputs)))
    for n in range(draw(st.integers(1, 5))):
        existing = [m.id for m in graph.milestones_in_order() if not m.remaining]
        parent = draw(st.sampled_from([None, *existing]))
        definition = draw(definitions(existing, max_clauses))
        graph.add_milestone(Milestone(name=f"M{n}", parent_id=parent, definition=definition))
    for parent_id in [None, *(m.id for m in graph.milestones_in_order())]:
        if graph.children(parent_id) and draw(st.booleans()):
            graph.add_milestone(Milestone(name=f"Rest {parent_id}", parent_id=parent_id,
                                          remaining=True))
    return graph


def later_events(users: list[int]) -> st.SearchStrategy[list[Event]]:
    return st.lists(events(users), max_size=10)


def moment(day: int) -> datetime:
    return EPOCH + timedelta(days=day)
