"""Size estimates: exact on small stores, sampled and marked approximate on large ones."""

from __future__ import annotations

from app.core.criteria import AudienceDefinition, Clause, EventCriterion, IdentityCriterion
from app.core.graph import JourneyGraph
from app.core.models import Journey, Milestone
from app.engine.estimates import estimate
from app.engine.evaluation import evaluate_journey

from .conftest import Backend
from .data import AS_OF, BASE_MS, INPUTS, Data, Event


def define(*items: object, joins: tuple[str, ...] = ()) -> AudienceDefinition:
    joins = joins or ("and",) * len(items)
    return AudienceDefinition(clauses=tuple(
        Clause.model_validate({"join": j, "item": i}) for j, i in zip(joins, items, strict=True)
    ))


def store(users: int, buyers: int, rare: int) -> Data:
    """``users`` who opened; the first ``buyers`` bought; the first ``rare`` have an email."""
    data = Data(users=list(range(1, users + 1)))
    for user in data.users:
        data.events.append(Event(user, BASE_MS, event_name="Open"))
        if user <= buyers:
            data.events.append(Event(user, BASE_MS + 1, event_name="Buy"))
        if user <= rare:
            data.identities.append((user, "email", f"u{user}@x"))
    return data


def journey() -> tuple[JourneyGraph, str, str]:
    graph = JourneyGraph(Journey(name="Estimates", input_ids=INPUTS))
    opened = graph.add_milestone(Milestone(
        name="Opened", definition=define(EventCriterion(event_name="Open"))
    ))
    buyers = graph.add_milestone(Milestone(
        name="Buyers", parent_id=opened.id,
        definition=define(
            EventCriterion(event_name="Buy"),
            IdentityCriterion(identity_type="email"),
            joins=("and", "exclude"),
        ),
    ))
    graph.add_milestone(Milestone(name="Others", parent_id=opened.id, remaining=True))
    return graph, opened.id, buyers.id


def test_small_stores_are_counted_exactly(backend: Backend) -> None:
    backend.load(store(40, 25, 10))
    graph, _opened, buyers = journey()
    preview = estimate(backend.engine, graph, buyers, as_of=AS_OF)
    assert preview.sample_every == 1
    assert preview.audience.size == 15 and not preview.audience.approximate
    assert [c.size for c in preview.criteria] == [25, 10]
    assert preview.audience.text == "15"
    # Estimates agree with an evaluation, without storing anything.
    result = evaluate_journey(backend.engine, graph, AS_OF)
    assert result.milestone(buyers).size == 15
    others = graph.children(graph.milestone(buyers).parent_id)[1]
    assert estimate(backend.engine, graph, others.id, as_of=AS_OF).audience.size == 25


def test_a_preview_of_an_edited_definition(sqlite_backend: Backend) -> None:
    sqlite_backend.load(store(40, 25, 10))
    graph, _opened, buyers = journey()
    preview = estimate(sqlite_backend.engine, graph, buyers,
                       define(EventCriterion(event_name="Buy")), as_of=AS_OF)
    assert preview.audience.size == 25


def test_large_stores_are_sampled_and_tiny_audiences_too_small_to_estimate(
    sqlite_backend: Backend,
) -> None:
    sqlite_backend.load(store(2000, 1000, 5))
    graph, opened, buyers = journey()
    kwargs = {"as_of": AS_OF, "exact_limit": 100, "sample_users": 400, "min_sample_count": 30}
    preview = estimate(sqlite_backend.engine, graph, buyers, **kwargs)  # type: ignore[arg-type]
    assert preview.sample_every == 5
    assert preview.audience.approximate
    assert preview.audience.text.startswith("≈ ")
    assert abs((preview.audience.size or 0) - 995) <= 50
    buy, email = preview.criteria
    assert buy.size == 1000 and buy.approximate
    assert email.too_small and email.size is None
    assert email.text == "too small to estimate"
    top = estimate(sqlite_backend.engine, graph, opened, **kwargs)  # type: ignore[arg-type]
    assert top.audience.size == 2000


def test_in_an_exclusive_journey_a_preview_counts_whom_evaluation_keeps(
    backend: Backend
) -> None:
    """Users who reached a child leave the milestone: the preview says so too, also for an
    edited definition (the children are computed from the previewed set)."""
    backend.load(store(40, 25, 10))
    graph = JourneyGraph(Journey(name="Exclusive", input_ids=INPUTS, exclusive=True))
    opened = graph.add_milestone(Milestone(
        name="Opened", definition=define(EventCriterion(event_name="Open"))))
    graph.add_milestone(Milestone(
        name="Emailed buyers", parent_id=opened.id,
        definition=define(EventCriterion(event_name="Buy"),
                          IdentityCriterion(identity_type="email"))))
    result = evaluate_journey(backend.engine, graph, AS_OF)
    assert result.milestone(opened.id).size == 40 - 10
    assert estimate(backend.engine, graph, opened.id, as_of=AS_OF).audience.size == 30
    # Opened narrowed to the buyers: 25, less the 10 with an email who go on.
    buyers = define(EventCriterion(event_name="Buy"))
    assert estimate(backend.engine, graph, opened.id, buyers, as_of=AS_OF).audience.size == 15
