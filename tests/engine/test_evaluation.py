"""Evaluation bookkeeping: size history, removed milestones, replay at an earlier as_of,
and event attribute names that need quoting."""

from __future__ import annotations

from datetime import timedelta

from app.core.criteria import AudienceDefinition, Clause, Condition, EventCriterion
from app.core.graph import JourneyGraph
from app.core.models import Journey, Milestone
from app.engine.evaluation import (
    evaluate_journey,
    forget_audiences,
    latest_changes,
    size_history,
    stored_members,
)

from .conftest import Backend
from .data import BASE_MS, DAY, EPOCH, INPUTS, Data, Event, add_events


def did(name: str, *conditions: Condition) -> AudienceDefinition:
    return AudienceDefinition(
        clauses=(Clause(item=EventCriterion(event_name=name, conditions=conditions)),)
    )


def test_size_history_replay_and_removed_milestones(backend: Backend) -> None:
    backend.load(Data(users=[1, 2, 3], events=[
        Event(1, BASE_MS, event_name="Open"),
        Event(2, BASE_MS + 3 * DAY, event_name="Open"),
    ]))
    graph = JourneyGraph(Journey(name="History", input_ids=INPUTS))
    opened = graph.add_milestone(Milestone(name="Opened", definition=did("Open")))
    child = graph.add_milestone(Milestone(name="Child", parent_id=opened.id))
    early = EPOCH + timedelta(days=1)
    late = EPOCH + timedelta(days=5)
    evaluate_journey(backend.engine, graph, early)
    evaluate_journey(backend.engine, graph, late)
    add_events(backend.engine, [Event(3, BASE_MS + 4 * DAY, event_name="Open")], 10)
    result = evaluate_journey(backend.engine, graph, late)
    assert [(h["size"], h["added"], h["removed"]) for h in size_history(backend.engine,
                                                                         opened.id)] == [
        (1, 1, 0), (2, 1, 0), (3, 1, 0)
    ]
    assert [h["as_of"] for h in size_history(backend.engine, opened.id)] == [early, late, late]
    assert latest_changes(backend.engine, opened.id) == ({3}, set())
    # Replaying an earlier time drops the users whose events came later.
    evaluate_journey(backend.engine, graph, early)
    assert stored_members(backend.engine, opened.id) == {1}
    assert latest_changes(backend.engine, opened.id) == (set(), {2, 3})
    assert result.milestone(child.id).size == 3
    # A removed milestone's memberships go at the next evaluation.
    graph.remove_milestone(child.id)
    evaluate_journey(backend.engine, graph, late)
    assert stored_members(backend.engine, child.id) == set()
    forget_audiences(backend.engine, [opened.id])
    assert stored_members(backend.engine, opened.id) == set()


def test_event_attribute_names_that_need_quoting(backend: Backend) -> None:
    odd = ["$price", "a.b", "with space", "quote\"d"]
    backend.load(Data(users=[1, 2], events=[
        Event(1, BASE_MS, event_name="E", attributes={name: "yes" for name in odd}),
        Event(2, BASE_MS, event_name="E", attributes={"a": {"b": "yes"}}),
    ]))
    for name in odd:
        graph = JourneyGraph(Journey(name="Odd", input_ids=INPUTS))
        milestone = graph.add_milestone(Milestone(name="M", definition=did(
            "E", Condition(attribute=name, operator="equals", value="YES"))))
        evaluate_journey(backend.engine, graph, EPOCH + timedelta(days=1))
        assert stored_members(backend.engine, milestone.id) == {1}, name


def test_concurrent_evaluations_of_one_journey_take_turns(backend: Backend) -> None:
    """Two windows (or a window and the CLI) evaluating at once both succeed, one after
    the other, and leave the memberships as one evaluation would."""
    if backend.name == "duckdb":
        return  # DuckDB is embedded and single-writer: one process evaluates at a time
    import threading

    backend.load(Data(users=list(range(1, 41)), events=[
        Event(u, BASE_MS + u * 1000, event_name="Open") for u in range(1, 41) if u % 3
    ]))
    graph = JourneyGraph(Journey(name="Busy", input_ids=INPUTS))
    opened = graph.add_milestone(Milestone(name="Opened", definition=did("Open")))
    later = EPOCH + timedelta(days=5)
    errors: list[BaseException] = []
    sizes: list[int] = []

    def run() -> None:
        try:
            sizes.append(evaluate_journey(backend.engine, graph, later).milestone(opened.id).size)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    expected = {u for u in range(1, 41) if u % 3}
    assert sizes == [len(expected)] * 4
    assert stored_members(backend.engine, opened.id) == expected
    assert [h["added"] for h in size_history(backend.engine, opened.id)] == [len(expected), 0, 0, 0]
