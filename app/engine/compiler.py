"""Audience definitions compiled to SQLAlchemy selects of user ids.

A definition becomes set algebra over one-column selects (``user_id``):
And -> INTERSECT, Or -> UNION, Exclude -> EXCEPT, read left to right
(``A and B or C`` is ``(A and B) or C``; a group is parenthesised). Each
criterion is one filtered query over one table, so that each event criterion is
one range scan of an ``(event_name | type_code, ts_ms, user_id, input_no)`` index,
grouped by user when it counts. Every value is a bound parameter.

Compound selects are always made common table expressions and read as
``SELECT user_id FROM cte`` before they are nested, because SQLite refuses
parentheses around the members of a compound select (and a statement nested as
deep as its definition overflows SQLite's parser); the same statement then runs
on SQLite, PostgreSQL and DuckDB.

Semantics (DESIGN.md section 3, and the decisions it leaves open):

- The *universe* is the parent audience. Criteria that match users by absence
  (count ``= 0``, ``<``, ``<=``, lacks an identity, not a member, ``not_exists``,
  device ``negate``) are the universe minus the users who have it.
- Events: only events of the journey's inputs, at or before ``as_of``. Event
  names match exactly (they are picked from the data); commerce actions and all
  string operators are case-insensitive (``lower()`` on both sides).
- Time windows, days of 24 h in UTC: within the last N days is
  ``as_of - N·24h <= ts <= as_of``; Before ``ts < start``; After ``ts >= start``;
  On is the UTC day of ``start``; Between is ``start <= ts <= end``, and an
  ``end`` at exactly midnight includes that whole day.
- Counts: ``count op N`` over the matching events. ``> N``, ``>= N`` (N > 0) and
  ``= N`` (N > 0) are users having such a count; ``= 0``, ``< N`` and ``<= N``
  are the universe minus the users having ``>= 1``, ``>= N`` or ``> N`` events.
- Negative string and order operators (does not contain / does not match / not
  in list / ``!=``) match a *present* value that fails the positive operator;
  a missing value matches only ``not_exists``. ``exists`` means "has a value of
  the condition's type".
- Location reads the events' location values (journey inputs, up to ``as_of``,
  through the per-user summary ``user_places``) and the reserved user attributes
  ``$country``, ``$state``, ``$city``, ``$zip``: a user matches when any of
  those values matches; a negative operator matches users with some value for
  the field and no value matching the positive twin.
- Device: users with an event (journey inputs, up to ``as_of``) on one of the
  platforms (case-insensitive, through the per-user summary ``user_platforms``);
  ``negate`` is the universe minus those.
- Population, platforms and places are read from the per-user summaries
  (``app.store.event_summaries``): a user has such an event at or before
  ``as_of`` exactly when the earliest one is, which is what they store.
- List attributes (``type: list``) are JSON arrays of strings; ``contains``
  means an element equals the value (case-insensitive, ASCII case folding on
  SQLite), ``in`` an element equals one of the values.
- Audience membership reads the members of the other audience: those the
  running evaluation (or estimate) computed when it is earlier in this
  journey's tree order, the stored ones (latest evaluation) otherwise.
- Event attributes are typed JSON values; a condition reads only values of its
  type (a number written as text is text). Dates in event attributes are numbers
  of UTC milliseconds.

Case folding: both sides go through the backend's ``lower()``; SQLite folds
ASCII letters only, PostgreSQL and DuckDB fold all of Unicode.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Select,
    String,
    Table,
    and_,
    cast,
    except_,
    false,
    func,
    intersect,
    literal,
    not_,
    or_,
    select,
    union,
)

from app.core.criteria import (
    AudienceDefinition,
    AudienceMembershipCriterion,
    Clause,
    Condition,
    ConditionValue,
    CountOperator,
    Criterion,
    DeviceCriterion,
    EcommerceCriterion,
    EventCriterion,
    Group,
    IdentityCriterion,
    LocationCriterion,
    TimeWindow,
    UserAttributeCriterion,
)
from app.engine.jsonfield import JsonField
from app.store.audience_tables import AudienceKeyRow, AudienceMemberRow, cast_table, scratch_key
from app.store.event_tables import (
    EventRow,
    InputNumberRow,
    UserAttributeRow,
    UserIdentityRow,
    UserInputRow,
    UserPlaceRow,
    UserPlatformRow,
)
from app.store.incoming import EVENT_TYPE_CODES
from app.store.schema import InputRow

events = cast_table(EventRow)
input_numbers = cast_table(InputNumberRow)
user_attributes = cast_table(UserAttributeRow)
user_identities = cast_table(UserIdentityRow)
user_inputs = cast_table(UserInputRow)
user_platforms = cast_table(UserPlatformRow)
user_places = cast_table(UserPlaceRow)
members = cast_table(AudienceMemberRow)
audience_keys = cast_table(AudienceKeyRow)
inputs = cast_table(InputRow)

UserSet = Select[Any] | CompoundSelect[Any]
"""A select of one column, ``user_id``: a set of users."""

DAY_MS = 24 * 60 * 60 * 1000

LOCATION_ATTRIBUTES = {
    "country": "$country",
    "region": "$state",
    "city": "$city",
    "postal_code": "$zip",
}
"""The reserved user attributes (mParticle's names) that location criteria read too."""


def to_ms(moment: datetime) -> int:
    """UTC milliseconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1))


@dataclass(frozen=True)
class Scope:
    """What a definition is compiled against.

    ``universe`` is the parent audience (a user set); ``input_ids`` the
    journey's inputs, None when they are every input of the account (then no
    filter is needed, and the covering indexes serve the queries alone);
    ``as_of_ms`` the evaluation time; ``sample`` keeps only users whose id is a
    multiple of it (size estimates), None for everyone.

    ``within``, when set, names the audience that is the universe, whose
    members are in ``members_table`` (the stored memberships, or an estimate's
    temporary copy with the same columns).
    Every criterion query is then limited to its members, so nothing outside
    the universe is computed and the result needs no intersection with the
    universe afterwards (an INTERSECT would first copy the whole universe into
    a temporary B-tree): tables keyed by user (attributes, identities,
    summaries, members) with ``user_id IN (members)``, which SQLite answers by
    looking up each member when the audience is small; the events with the
    same ``IN``, which SQLite answers from a small in-memory copy of the
    members (faster than a lookup in the whole members table per event).
    ``events_within`` says the universe is the journey population, which holds
    every user with an event of the journey up to ``as_of`` by definition:
    event and summary queries then need no test at all.
    """

    universe: UserSet
    input_ids: tuple[str, ...] | None
    as_of_ms: int
    sample: int | None = None
    within: str | None = None
    events_within: bool = False
    members_table: Table = members
    fresh: frozenset[str] = frozenset()
    """Audiences whose current members are in ``members_table`` rather than stored
    (computed earlier in the same run): audience-membership criteria read them there."""


# ---------------------------------------------------------------------- set algebra


def as_member(query: UserSet) -> Select[Any]:
    """``query`` as a plain select, fit to be a member of a compound select (SQLite).

    A compound becomes a common table expression, not a subquery: each clause of a
    definition combines the result so far with one more part, and nesting those
    as subqueries made the statement's depth grow with every clause and group
    until SQLite's parser gave up ("parser stack overflow"). Common table
    expressions are listed side by side in the statement's WITH, so its depth
    stays that of one clause.
    """
    if isinstance(query, CompoundSelect):
        inner = query.cte()
        return select(inner.c.user_id)
    return query


def intersect_all(*queries: UserSet) -> UserSet:
    if len(queries) == 1:
        return queries[0]
    return intersect(*(as_member(q) for q in queries))


def union_all(*queries: UserSet) -> UserSet:
    if len(queries) == 1:
        return queries[0]
    return union(*(as_member(q) for q in queries))


def minus(left: UserSet, right: UserSet) -> UserSet:
    return except_(as_member(left), as_member(right))


def nobody() -> Select[Any]:
    return select(events.c.user_id.label("user_id")).where(false())


def audience_is(
    column: ColumnElement[Any], audience_ids: Sequence[str], table: Table = members
) -> ColumnElement[bool]:
    """``column`` (an ``audience_key``) is the key of one of ``audience_ids`` in ``table``.

    Stored memberships are keyed by the number ``audience_keys`` gave the
    audience (looked up once per statement; an audience never evaluated has
    none, so it has no members); a workspace's by :func:`scratch_key`.
    """
    ids = list(audience_ids)
    if table is members:
        number = select(audience_keys.c.audience_key)
        if len(ids) == 1:
            return column == number.where(audience_keys.c.audience_id == ids[0]).scalar_subquery()
        return column.in_(number.where(audience_keys.c.audience_id.in_(ids)))
    hashed = [scratch_key(audience_id) for audience_id in ids]
    return column == hashed[0] if len(hashed) == 1 else column.in_(hashed)


def members_of(*audience_ids: str, table: Table = members) -> Select[Any]:
    """The members of one or more audiences (one row a user), stored in ``table``.

    ``table`` has the columns of ``audience_members`` (audience_key, user_id);
    it is aliased, so the select can sit inside another query of the same table.
    """
    stored = table.alias("stored")
    query = select(stored.c.user_id).where(audience_is(stored.c.audience_key, audience_ids, table))
    return query if len(audience_ids) == 1 else query.distinct()


def population(
    input_ids: Sequence[str] | None, as_of_ms: int, sample: int | None = None
) -> Select[Any]:
    """Users with at least one event through one of ``input_ids`` at or before ``as_of``.

    ``input_ids`` None: through any input. Read from ``user_inputs`` (a row per
    user and input), not from the events.
    """
    query = _summary(user_inputs, input_ids, as_of_ms)
    if sample is not None and sample > 1:
        query = query.where(user_inputs.c.user_id % sample == 0)
    return query.distinct()


def _summary(table: Any, input_ids: Sequence[str] | None, as_of_ms: int) -> Select[Any]:
    """Users of a per-user summary table seen through ``input_ids`` by ``as_of``."""
    query = select(table.c.user_id).where(table.c.first_ms <= as_of_ms)
    if input_ids is not None:
        query = query.where(table.c.input_id.in_(list(input_ids)))
    return query


def input_filter(connection: Connection, input_ids: Sequence[str]) -> tuple[str, ...] | None:
    """``input_ids`` as a filter: None when they cover every input of the account.

    Every event names a stored input (a foreign key), so a journey reading all
    inputs needs no input test, which keeps the event queries on their covering
    indexes. (On DuckDB, where the engine's tables have no foreign keys, the
    inputs table must list every input the events use.)
    """
    wanted = tuple(dict.fromkeys(input_ids))
    if not wanted:
        return wanted
    every = {row[0] for row in connection.execute(select(inputs.c.id))}
    return None if every <= set(wanted) else wanted


# ---------------------------------------------------------------------- definitions


def compile_definition(definition: AudienceDefinition, scope: Scope) -> UserSet:
    """The users of ``scope.universe`` matching ``definition`` (the universe if empty).

    A device or location criterion joined with And / Exclude filters the users
    found so far (a correlated EXISTS on the user's summary rows) instead of
    reading every user's; when the first clause is one, the clauses start from
    the universe (``U and c1 …``), and after an Or the result is intersected with
    the universe again (unless every part is limited to it, ``scope.within``).
    """
    if definition.is_empty:
        return scope.universe
    first = definition.clauses[0]
    bounded = scope.within is not None  # every part is already within the universe
    if _user_test(first.item, scope) is None:
        result = _clauses(definition.clauses, scope)
        return result if bounded else intersect_all(scope.universe, result)
    result = _clauses(definition.clauses, scope, start=scope.universe)
    if not bounded and any(clause.join == "or" for clause in definition.clauses[1:]):
        return intersect_all(scope.universe, result)
    return result


def compile_item(item: Criterion | Group, scope: Scope) -> UserSet:
    """The users one criterion (or group) matches; may include users outside the universe."""
    if isinstance(item, Group):
        return _clauses(item.clauses, scope)
    if isinstance(item, EventCriterion | EcommerceCriterion):
        return _event(item, scope)
    if isinstance(item, UserAttributeCriterion):
        return _user_attribute(item.condition, scope)
    if isinstance(item, IdentityCriterion):
        has = _sampled(
            select(user_identities.c.user_id).where(
                user_identities.c.identity_type == item.identity_type
            ),
            user_identities.c.user_id,
            scope,
        )
        return has if item.present else minus(scope.universe, has)
    if isinstance(item, DeviceCriterion):
        on = _sampled(
            _summary(user_platforms, scope.input_ids, scope.as_of_ms),
            user_platforms.c.user_id, scope, seen=True,
        ).where(
            func.lower(user_platforms.c.platform).in_(
                [func.lower(literal(p)) for p in item.platforms]
            )
        ).distinct()
        return minus(scope.universe, on) if item.negate else on
    if isinstance(item, LocationCriterion):
        return _location(item, scope)
    assert isinstance(item, AudienceMembershipCriterion)
    source = scope.members_table if item.milestone_id in scope.fresh else members
    other = source.alias("other")
    stored = _sampled(
        select(other.c.user_id).where(
            audience_is(other.c.audience_key, [item.milestone_id], source)
        ),
        other.c.user_id,
        scope,
    )
    return stored if item.member else minus(scope.universe, stored)


BALANCED_FROM = 12
"""Clause lists at least this long are composed as a balanced tree (:func:`_balanced`)."""


def _clauses(
    clauses: Sequence[Clause], scope: Scope, start: UserSet | None = None
) -> UserSet:
    """The users ``clauses`` match, read left to right from ``start`` (or the first).

    Each clause combines the result so far with one more part, so the statement
    nests a level a clause, and so does SQLAlchemy when it compiles it: about ten
    Python frames a clause. Short lists are read that way (the statements the
    engine's indexes were tuned on); long ones go through :func:`_balanced`, whose
    nesting grows with the logarithm of their length.
    """
    if len(clauses) >= BALANCED_FROM:
        return _balanced(clauses, scope, start)
    result = start
    for index, clause in enumerate(clauses):
        join = "and" if index == 0 and start is not None and clause.join == "or" else clause.join
        if result is not None and join in ("and", "exclude"):
            test = _user_test(clause.item, scope)
            if test is not None:
                found = as_member(result).cte()
                matches = test(found.c.user_id)
                result = select(found.c.user_id).where(
                    matches if join == "and" else not_(matches)
                )
                continue
        part = compile_item(clause.item, scope)
        if result is not None and index == 0 and start is not None:
            result = intersect_all(result, part) if join == "and" else minus(result, part)
            continue
        if result is None:
            result = minus(scope.universe, part) if clause.join == "exclude" else part
        elif clause.join == "and":
            result = intersect_all(result, part)
        elif clause.join == "or":
            result = union_all(result, part)
        else:
            result = minus(result, part)
    assert result is not None, "a group has at least one clause"
    return result


UserTest = Callable[[ColumnElement[Any]], ColumnElement[bool]]


@dataclass(frozen=True)
class _Step:
    """What a run of clauses does to the result so far ``R``:
    ``((R ∩ keep…) − drop…, filtered by tests) ∪ add``.

    And keeps, Exclude drops (device and location: a per-user test, kept or
    negated), Or adds. Two runs one after the other are again one such step
    (:meth:`then`), so a clause list can be composed as a balanced tree of
    steps instead of one clause after another.
    """

    keep: tuple[UserSet, ...] = ()
    drop: tuple[UserSet, ...] = ()
    tests: tuple[tuple[UserTest, bool], ...] = ()
    add: UserSet | None = None

    def then(self, later: _Step) -> _Step:
        """This step followed by ``later``: intersections and differences commute,
        and what this one adds passes through ``later``'s filters."""
        add = later.add
        if self.add is not None:
            passed = later.applied_to(self.add, with_add=False)
            add = passed if add is None else union_all(passed, add)
        return _Step(self.keep + later.keep, self.drop + later.drop,
                     self.tests + later.tests, add)

    def applied_to(self, result: UserSet, *, with_add: bool = True) -> UserSet:
        """The step applied to ``result``; every list is one flat set operation."""
        if self.keep:
            result = intersect_all(result, *self.keep)
        if self.drop:
            result = minus(result, union_all(*self.drop))
        if self.tests:
            found = as_member(result).cte()
            result = select(found.c.user_id).where(and_(*(
                test(found.c.user_id) if keep else not_(test(found.c.user_id))
                for test, keep in self.tests)))
        if with_add and self.add is not None:
            result = union_all(result, self.add)
        return result


def _balanced(clauses: Sequence[Clause], scope: Scope, start: UserSet | None) -> UserSet:
    """:func:`_clauses` for a long list: its steps composed pairwise, level by level.

    Each part is a common table expression, computed once however many of the
    composed steps read it.
    """
    steps = list(clauses)
    if start is None:
        first = steps.pop(0)
        part = _shared(compile_item(first.item, scope))
        start = minus(scope.universe, part) if first.join == "exclude" else part
        joins = [clause.join for clause in steps]
    else:  # the first clause applies to the start: Or is And there
        joins = ["and" if i == 0 and c.join == "or" else c.join for i, c in enumerate(steps)]
    level = [_step(join, clause.item, scope) for join, clause in zip(joins, steps, strict=True)]
    if not level:
        return start
    while len(level) > 1:
        paired = [level[i].then(level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = paired + level[len(paired) * 2:]
    return level[0].applied_to(start)


def _step(join: str, item: Criterion | Group, scope: Scope) -> _Step:
    """One clause as a :class:`_Step`."""
    if join != "or":
        test = _user_test(item, scope)
        if test is not None:
            return _Step(tests=((test, join == "and"),))
    part = _shared(compile_item(item, scope))
    if join == "and":
        return _Step(keep=(part,))
    if join == "exclude":
        return _Step(drop=(part,))
    return _Step(add=part)


def _shared(query: UserSet) -> Select[Any]:
    """``query`` as a common table expression, for a part several steps read."""
    return select(query.cte().c.user_id)


def _user_test(
    item: Criterion | Group, scope: Scope
) -> Callable[[ColumnElement[Any]], ColumnElement[bool]] | None:
    """For the per-user criteria (device, location): a test of one user, else None.

    The test is a correlated EXISTS over the user's own summary rows (and
    location attributes), which are clustered by user: a few rows a user.
    """
    if isinstance(item, DeviceCriterion):
        wanted = [func.lower(literal(p)) for p in item.platforms]

        def device(user: ColumnElement[Any]) -> ColumnElement[bool]:
            on = _own(user_platforms, user, scope).where(
                func.lower(user_platforms.c.platform).in_(wanted)
            )
            return not_(on.exists()) if item.negate else on.exists()

        return device
    if isinstance(item, LocationCriterion):
        column: ColumnElement[Any] = user_places.c.value
        ua = user_attributes
        name = LOCATION_ATTRIBUTES[item.field]

        def any_value(
            user: ColumnElement[Any], test_event: ColumnElement[bool],
            test_attr: ColumnElement[bool],
        ) -> ColumnElement[bool]:
            attribute = select(ua.c.user_id).where(ua.c.user_id == user, ua.c.name == name)
            return or_(
                _own(user_places, user, scope)
                .where(user_places.c.field == item.field, test_event)
                .exists(),
                attribute.where(test_attr).exists(),
            )

        def location(user: ColumnElement[Any]) -> ColumnElement[bool]:
            has_value = any_value(user, column.is_not(None), ua.c.text_value.is_not(None))
            operator = item.operator
            if operator == "exists":
                return has_value
            if operator == "not_exists":
                return not_(has_value)
            positive_operator = {"not_contains": "contains", "not_equals": "equals",
                                 "not_in": "in"}.get(operator, operator)
            positive = any_value(
                user,
                _text_positive(column, positive_operator, item.value),
                _text_positive(ua.c.text_value, positive_operator, item.value),
            )
            if operator == positive_operator:
                return positive
            return and_(has_value, not_(positive))

        return location
    return None


def _own(table: Any, user: ColumnElement[Any], scope: Scope) -> Select[Any]:
    """The summary rows of the journey (inputs, up to ``as_of``) of the user ``user`` names."""
    return _summary(table, scope.input_ids, scope.as_of_ms).where(table.c.user_id == user)


# ---------------------------------------------------------------------- events


def _sampled(
    query: Select[Any], user_id: Any, scope: Scope, *, seen: bool = False
) -> Select[Any]:
    """``query`` (a table keyed by user) limited to the sample and the universe, when set.

    ``seen``: the query reads the journey's events (or their summaries) up to
    ``as_of``, so its users are in the population already.
    """
    if scope.sample is not None and scope.sample > 1:
        query = query.where(user_id % scope.sample == 0)
    if scope.within is not None and not (seen and scope.events_within):
        query = query.where(user_id.in_(members_of(scope.within, table=scope.members_table)))
    return query


def window_bounds(window: TimeWindow, as_of_ms: int) -> tuple[int | None, int | None]:
    """``(low, high_exclusive)`` in UTC ms for ``window``; None means unbounded."""
    if window.kind == "within_last_days":
        assert window.days is not None
        return as_of_ms - window.days * DAY_MS, None
    assert window.start is not None
    start = to_ms(window.start)
    if window.kind == "before":
        return None, start
    if window.kind == "after":
        return start, None
    if window.kind == "on":
        day = start - start % DAY_MS
        return day, day + DAY_MS
    assert window.end is not None
    end = to_ms(window.end)
    return start, (end + DAY_MS if end % DAY_MS == 0 else end + 1)


def _event(item: EventCriterion | EcommerceCriterion, scope: Scope) -> UserSet:
    """The users with matching events (counted per user when the criterion counts).

    Terms are split by what they read: ``indexed`` ones are answered by a
    covering index (type, name, time, user, input; the universe test by the
    members' key), ``row`` ones need the event row (commerce action, amount,
    attributes). Under a stored parent audience the indexed terms first pick
    the candidate events' ids, and only those rows are read: reading the row of
    every event in the time range, most of them of users outside a small
    parent, is what would cost the most.
    """
    indexed: list[ColumnElement[bool]] = [events.c.ts_ms <= scope.as_of_ms]
    row: list[ColumnElement[bool]] = []
    if scope.input_ids is not None:
        # Events name their input by number (app/store/event_numbers.py).
        indexed.append(events.c.input_no.in_(
            select(input_numbers.c.number)
            .where(input_numbers.c.input_id.in_(list(scope.input_ids)))))
    if scope.sample is not None and scope.sample > 1:
        indexed.append(events.c.user_id % scope.sample == 0)
    in_parent = scope.within is not None and not scope.events_within
    if in_parent:
        assert scope.within is not None
        indexed.append(events.c.user_id.in_(members_of(scope.within, table=scope.members_table)))
    if isinstance(item, EventCriterion):
        indexed.append(events.c.type_code == EVENT_TYPE_CODES[item.event_type])
        if item.event_name is not None:
            # With the type, one range of the (event_name, type_code, ts_ms, user_id) index.
            indexed.append(events.c.event_name == item.event_name)
        if item.commerce_action is not None:
            row.append(
                func.lower(events.c.commerce_action) == func.lower(literal(item.commerce_action))
            )
    else:
        indexed.append(events.c.type_code == EVENT_TYPE_CODES["commerce_event"])
        row.append(func.lower(events.c.commerce_action) == func.lower(literal(item.action)))
        row.extend(
            _compare(events.c.amount, "number", amount.operator, amount.condition_value)
            for amount in item.amount
        )
    low, high = window_bounds(item.window, scope.as_of_ms)
    if low is not None:
        indexed.append(events.c.ts_ms >= low)
    if high is not None:
        indexed.append(events.c.ts_ms < high)
    row.extend(_event_condition(condition) for condition in item.conditions)
    if row and in_parent:
        candidates = select(events.c.id).where(*indexed)
        query = select(events.c.user_id).where(events.c.id.in_(candidates), *row)
    else:
        query = select(events.c.user_id).where(*indexed, *row)
    return _counted(query, item.count_operator, item.count, scope)


def _counted(query: Select[Any], operator: CountOperator, n: int, scope: Scope) -> UserSet:
    grouped = query.group_by(events.c.user_id)
    count = func.count()

    def having(condition: ColumnElement[bool]) -> Select[Any]:
        return grouped.having(condition)

    if operator == ">":
        return query.distinct() if n == 0 else having(count > n)
    if operator == ">=":
        return scope.universe if n == 0 else having(count >= n)
    if operator == "=":
        return minus(scope.universe, query.distinct()) if n == 0 else having(count == n)
    if operator == "<":
        return nobody() if n == 0 else minus(scope.universe, having(count >= n))
    # "<="
    return minus(scope.universe, query.distinct() if n == 0 else having(count > n))


def _event_condition(condition: Condition) -> ColumnElement[bool]:
    """A per-event test of one attribute in the events' JSON attributes."""
    kind = condition.type
    value: ColumnElement[Any]
    if kind == "date" or kind == "number":
        value = JsonField(events.c.attributes, condition.attribute, "number")
    elif kind == "boolean":
        value = JsonField(events.c.attributes, condition.attribute, "boolean")
    elif kind == "string":
        value = JsonField(events.c.attributes, condition.attribute, "string")
    else:
        raise ValueError(
            f"condition on “{condition.attribute}”: list conditions apply to user attributes"
        )
    return _compare(value, kind, condition.operator, condition.value)


# ---------------------------------------------------------------------- comparisons


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _pattern(text: str) -> str:
    """A ``*`` / ``?`` pattern as a LIKE pattern (escape character ``\\``)."""
    return "".join(
        "%" if ch == "*" else "_" if ch == "?" else _like_escape(ch) for ch in text
    )


def _lower_like(value: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
    return func.lower(value).like(func.lower(literal(pattern, String())), escape="\\")


def _text_positive(value: ColumnElement[Any], operator: str, target: Any) -> ColumnElement[bool]:
    lowered = func.lower(value)
    if operator in ("contains", "not_contains"):
        return _lower_like(value, "%" + _like_escape(str(target)) + "%")
    if operator in ("equals", "not_equals"):
        return lowered == func.lower(literal(str(target), String()))
    if operator == "pattern":
        return _lower_like(value, _pattern(str(target)))
    # in / not_in
    return lowered.in_([func.lower(literal(str(t), String())) for t in target])


def _scalar(kind: str, target: Any) -> Any:
    if kind == "date":
        return to_ms(target)
    if kind == "boolean":
        return "true" if target else "false"
    return target


def _compare(
    value: ColumnElement[Any], kind: str, operator: str, target: ConditionValue
) -> ColumnElement[bool]:
    """``value`` (NULL when missing) satisfies ``operator`` with ``target``.

    ``kind`` is the condition type; a boolean ``value`` is the text 'true'/'false'
    for JSON attributes (see :class:`JsonField`) and compared as such.
    """
    present = value.is_not(None)
    if operator == "exists":
        return present
    if operator == "not_exists":
        return value.is_(None)
    if kind == "string":
        positive = _text_positive(value, operator, target)
        if operator.startswith("not_"):
            return and_(present, not_(positive))
        return positive
    if operator == "between":
        assert isinstance(target, list)
        low, high = (_scalar(kind, t) for t in target)
        return and_(value >= low, value <= high)
    scalar = _scalar(kind, target)
    comparisons: dict[str, ColumnElement[bool]] = {
        "eq": value == scalar,
        "ne": and_(present, value != scalar),
        "gt": value > scalar,
        "ge": value >= scalar,
        "lt": value < scalar,
        "le": value <= scalar,
    }
    return comparisons[operator]


# ---------------------------------------------------------------------- user attributes


def _list_contains(value: ColumnElement[Any], element: str) -> ColumnElement[bool]:
    """The JSON text of a list holds ``element`` as a whole element (case-insensitive)."""
    text = cast(value, String())
    spellings = {json.dumps(element), json.dumps(element, ensure_ascii=False)}
    return or_(*(_lower_like(text, "%" + _like_escape(s) + "%") for s in sorted(spellings)))


def _user_attribute(condition: Condition, scope: Scope) -> UserSet:
    ua = user_attributes
    column: ColumnElement[Any] = {
        "string": ua.c.text_value,
        "number": ua.c.number_value,
        "boolean": ua.c.bool_value,
        "date": ua.c.date_ms,
        "list": ua.c.list_value,
    }[condition.type]
    base = _sampled(select(ua.c.user_id).where(ua.c.name == condition.attribute),
                    ua.c.user_id, scope)
    operator = condition.operator
    if condition.type == "list":
        present: ColumnElement[bool] = and_(ua.c.value_type == "list", column.is_not(None))
        if operator == "exists":
            return base.where(present)
        if operator == "not_exists":
            return minus(scope.universe, base.where(present))
        targets = condition.value if isinstance(condition.value, list) else [condition.value]
        hit = or_(*(_list_contains(column, str(t)) for t in targets))
        if operator.startswith("not_"):
            return base.where(present, not_(hit))
        return base.where(present, hit)
    if condition.type == "boolean":
        if operator in ("exists", "not_exists"):
            has = base.where(column.is_not(None))
            return has if operator == "exists" else minus(scope.universe, has)
        target = bool(condition.value)
        wanted = target if operator == "eq" else not target
        return base.where(column.is_not(None), column == wanted)
    if operator == "not_exists":
        return minus(scope.universe, base.where(column.is_not(None)))
    return base.where(_compare(column, condition.type, operator, condition.value))


# ---------------------------------------------------------------------- location


def _location(item: LocationCriterion, scope: Scope) -> UserSet:
    column: ColumnElement[Any] = user_places.c.value
    ua = user_attributes
    places = _sampled(
        _summary(user_places, scope.input_ids, scope.as_of_ms),
        user_places.c.user_id, scope, seen=True,
    ).where(user_places.c.field == item.field)
    attribute = _sampled(
        select(ua.c.user_id).where(ua.c.name == LOCATION_ATTRIBUTES[item.field]),
        ua.c.user_id,
        scope,
    )

    def matching(test_event: ColumnElement[bool], test_attr: ColumnElement[bool]) -> UserSet:
        return union_all(
            places.where(test_event).distinct(),
            attribute.where(test_attr),
        )

    has_value = matching(column.is_not(None), ua.c.text_value.is_not(None))
    operator = item.operator
    if operator == "exists":
        return has_value
    if operator == "not_exists":
        return minus(scope.universe, has_value)
    positive_operator = {"not_contains": "contains", "not_equals": "equals",
                         "not_in": "in"}.get(operator, operator)
    positive = matching(
        _text_positive(column, positive_operator, item.value),
        _text_positive(ua.c.text_value, positive_operator, item.value),
    )
    if operator == positive_operator:
        return positive
    return minus(has_value, positive)
