"""A/B test arms in an evaluation: bucketed members, the Control as the remainder, results."""

from __future__ import annotations

from datetime import timedelta

from app.core.ab_tests import arm_milestones, bucket
from app.core.criteria import AudienceDefinition, Clause, EventCriterion
from app.core.graph import JourneyGraph
from app.core.models import Journey, Milestone
from app.engine.ab_tests import ab_test_results
from app.engine.estimates import estimate
from app.engine.evaluation import evaluate_journey, stored_members

from .conftest import Backend
from .data import BASE_MS, EPOCH, INPUTS, Data, Event

USERS = list(range(1, 401))


def did(name: str) -> AudienceDefinition:
    return AudienceDefinition(clauses=(Clause(item=EventCriterion(event_name=name)),))


def test_arms_split_the_parent_by_bucket_and_the_control_is_the_rest(backend: Backend) -> None:
    """Everyone opened; every third user also watched. Arms under "Opened" beside "Watched"
    (an ordinary child, the next milestone) and "Rest" (Remaining users)."""
    backend.load(Data(users=USERS, events=[
        *(Event(u, BASE_MS, event_name="Open") for u in USERS),
        *(Event(u, BASE_MS + 1, event_name="Watch") for u in USERS if u % 3 == 0),
    ]))
    graph = JourneyGraph(Journey(name="Test", input_ids=INPUTS))
    opened = graph.add_milestone(Milestone(name="Opened", definition=did("Open")))
    watched = graph.add_milestone(
        Milestone(name="Watched", parent_id=opened.id, definition=did("Watch"))
    )
    rest = graph.add_milestone(Milestone(name="Rest", parent_id=opened.id, remaining=True))
    arms = arm_milestones(opened, [("A", 20), ("B", 30)], test_id="t-1")
    for arm in arms:
        graph.add_milestone(arm)
    as_of = EPOCH + timedelta(days=5)
    result = evaluate_journey(backend.engine, graph, as_of)

    expected: dict[str, set[int]] = {arm.id: set() for arm in arms}
    for u in USERS:
        b = bucket("t-1", f"u{u}")
        for arm in arms:
            assert arm.variant is not None
            if arm.variant.start <= b < arm.variant.end:
                expected[arm.id].add(u)
    found = {arm.id: stored_members(backend.engine, arm.id) for arm in arms}
    assert found == expected
    assert set().union(*found.values()) == set(USERS)  # variants ∪ control = parent
    assert sum(len(s) for s in found.values()) == len(USERS)  # and disjoint
    assert [result.milestone(arm.id).size for arm in arms] == [len(expected[a.id]) for a in arms]
    # The arms take no part in the split: Watched and Rest are as without a test.
    assert result.milestone(watched.id).size == len(USERS) // 3
    assert result.milestone(rest.id).size == len(USERS) - len(USERS) // 3

    comparisons = ab_test_results(backend.engine, graph, opened.id)
    assert [c.variant.label for c in comparisons] == ["A", "B"]
    for comparison, arm in zip(comparisons, arms, strict=False):
        members = expected[arm.id]
        assert comparison.variant.size == len(members)
        assert comparison.variant.converted == sum(1 for u in members if u % 3 == 0)
    control = expected[arms[-1].id]
    assert comparisons[0].control.converted == sum(1 for u in control if u % 3 == 0)
    # An estimate of a milestone under an arm computes the arm the same way.
    under = graph.add_milestone(Milestone(name="Under A", parent_id=arms[0].id))
    sized = estimate(backend.engine, graph, under.id, as_of=as_of).audience.size
    assert sized == len(expected[arms[0].id])
