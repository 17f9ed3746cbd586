"""The engine's memberships equal the reference evaluator's, on random data and journeys.

Runs on SQLite, PostgreSQL (when a server is configured; always in CI) and DuckDB.
Each example reloads the backend's tables, evaluates, and compares every audience;
the second test adds events and evaluates again, checking the reported joins and
leaves against the two reference results.
"""

from __future__ import annotations

from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.criteria import AudienceDefinition, Clause
from app.engine import compiler
from app.engine.estimates import estimate
from app.engine.evaluation import evaluate_journey, latest_changes, stored_members

from .conftest import Backend
from .data import AS_OF, add_events
from .reference import Reference
from .strategies import datasets, journeys, later_events

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check(backend: Backend, graph, expected: dict[str, set[int]], result) -> None:
    by_id = {r.audience_id: r for r in (result.population, *result.milestones)}
    for audience_id, users in expected.items():
        name = "population" if audience_id == graph.id else graph.milestone(audience_id).name
        got = stored_members(backend.engine, audience_id)
        assert got == users, f"{backend.name}: {name}: engine {sorted(got)} != {sorted(users)}"
        assert by_id[audience_id].size == len(users)


@SETTINGS
@given(data=datasets(), graph=journeys())
def test_memberships_equal_the_reference(backend: Backend, data, graph) -> None:
    backend.load(data)
    result = evaluate_journey(backend.engine, graph, AS_OF)
    expected = Reference(data, graph, AS_OF).evaluate()
    _check(backend, graph, expected, result)


@SETTINGS
@given(data=datasets(), graph=journeys(max_clauses=7))
def test_clause_lists_composed_as_balanced_trees_equal_the_reference(
    backend: Backend, data, graph
) -> None:
    """Long clause lists are composed as balanced trees of steps (the compiler's
    ``_balanced``): here every list of two or more is, and the random journeys have lists
    of up to seven clauses, so their composition is checked against the reference too."""
    backend.load(data)
    with patch.object(compiler, "BALANCED_FROM", 2):
        result = evaluate_journey(backend.engine, graph, AS_OF)
    _check(backend, graph, Reference(data, graph, AS_OF).evaluate(), result)


@SETTINGS
@given(data=datasets(), graph=journeys(), more=st.data())
def test_re_evaluation_reports_exactly_who_joined_and_left(
    backend: Backend, data, graph, more
) -> None:
    backend.load(data)
    evaluate_journey(backend.engine, graph, AS_OF)
    before = Reference(data, graph, AS_OF).evaluate()
    new_events = more.draw(later_events(data.users))
    add_events(backend.engine, new_events, first_event_id=len(data.events))
    data.events.extend(new_events)
    result = evaluate_journey(backend.engine, graph, AS_OF)
    after = Reference(data, graph, AS_OF, stored=before).evaluate()
    _check(backend, graph, after, result)
    for audience in (result.population, *result.milestones):
        old, new = before[audience.audience_id], after[audience.audience_id]
        added, removed = latest_changes(backend.engine, audience.audience_id)
        assert added == new - old, audience.name
        assert removed == old - new, audience.name
        assert (audience.added, audience.removed) == (len(new - old), len(old - new))


@SETTINGS
@given(data=datasets(), graph=journeys())
def test_exact_estimates_equal_the_reference(backend: Backend, data, graph) -> None:
    """On a small store a preview counts exactly: every milestone's size, and each
    criterion's own count among the parent's users, equal the reference's."""
    backend.load(data)
    evaluate_journey(backend.engine, graph, AS_OF)  # membership criteria read stored members
    reference = Reference(data, graph, AS_OF)
    expected = reference.evaluate()
    for milestone in graph.milestones_in_order():
        got = estimate(backend.engine, graph, milestone.id, as_of=AS_OF)
        assert (got.audience.size, got.audience.approximate) == (
            len(expected[milestone.id]), False), milestone.name
        parent = expected[milestone.parent_id or graph.id]
        clauses = () if milestone.remaining else milestone.definition.clauses
        assert len(got.criteria) == len(clauses)
        for clause, count in zip(clauses, got.criteria, strict=True):
            alone = AudienceDefinition(clauses=(Clause(join="and", item=clause.item),))
            wanted = {u for u in parent if reference.matches(alone, u, parent)}
            assert count.size == len(wanted), f"{milestone.name}: {clause.item}"


def _exclusive(graph):
    """The same journey with "users leave earlier milestones when they reach a later one"."""
    graph.replace_journey(graph.journey.model_copy(update={"exclusive": True}))
    return graph


@SETTINGS
@given(data=datasets(), graph=journeys())
def test_exclusive_journeys_equal_the_reference(backend: Backend, data, graph) -> None:
    """With the option on, each milestone keeps exactly the users who reached it and none of
    its descendants (the reference applies the rule as the spec states it), and the
    milestones on a path share no user."""
    backend.load(data)
    graph = _exclusive(graph)
    result = evaluate_journey(backend.engine, graph, AS_OF)
    expected = Reference(data, graph, AS_OF).evaluate()
    _check(backend, graph, expected, result)
    for milestone in graph.milestones_in_order():
        for below in graph.subtree_ids(milestone.id) - {milestone.id}:
            assert not expected[milestone.id] & expected[below]


@SETTINGS
@given(data=datasets(), graph=journeys(), more=st.data())
def test_exclusive_option_moves_users_exactly_when_they_reach_a_later_milestone(
    backend: Backend, data, graph, more
) -> None:
    """Evaluate, add events, evaluate again: a user leaves an earlier milestone in the run
    where they reach a later one (and only then), and the joins and leaves reported and
    stored are exactly those of the reference."""
    graph = _exclusive(graph)
    backend.load(data)
    evaluate_journey(backend.engine, graph, AS_OF)
    reference = Reference(data, graph, AS_OF)
    before = reference.evaluate()
    reached_before = {k: set(v) for k, v in reference.members.items()}
    new_events = more.draw(later_events(data.users))
    add_events(backend.engine, new_events, first_event_id=len(data.events))
    data.events.extend(new_events)
    result = evaluate_journey(backend.engine, graph, AS_OF)
    reference = Reference(data, graph, AS_OF, stored=before)
    after = reference.evaluate()
    reached_after = reference.members
    _check(backend, graph, after, result)
    for audience in result.milestones:
        key = audience.audience_id
        added, removed = latest_changes(backend.engine, key)
        assert added == after[key] - before[key], audience.name
        assert removed == before[key] - after[key], audience.name
        below = graph.subtree_ids(key) - {key}
        reached_later = {u for d in below for u in reached_after[d] - reached_before[d]}
        for user in removed & reached_after[key]:  # still reaches it, yet left
            assert user in reached_later, f"{audience.name}: {user} left without moving on"
        for user in reached_later & before[key] & reached_after[key]:
            assert user in removed, f"{audience.name}: {user} moved on but stayed"
