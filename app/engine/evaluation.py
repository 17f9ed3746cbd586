"""Journey evaluation: each audience's members, computed; the store keeps them.

``evaluate_journey(database, graph, as_of)`` computes, in one read transaction
(nothing is written to the database, so edits and imports are never kept
waiting by the long part):

1. the journey's population (users with an event through one of its inputs at
   or before ``as_of``), the audience whose id is the journey id;
2. every milestone in tree order (parents first, siblings left to right):
   ``parent ∩ criteria``, minus the members of the earlier siblings (splits are
   exclusive: a user lands in the first sibling that matches); a Remaining-users
   milestone is the parent minus all its earlier siblings; an arm of an A/B test
   is the parent's users whose bucket is in its range (:mod:`app.engine.ab_tests`)
   and takes no part in the split;
3. in a journey whose option "users leave earlier milestones when they reach a
   later one" is on (``Journey.exclusive``), every milestone then loses the users
   who reached one of its children (so those who reached any descendant; the
   arms of an A/B test are a split of the same step, not a later one, and cut nothing): each
   user stays in the deepest milestone reached on a path only. The children
   were computed from everyone who reached it, so the tree picks the same users;
   only who is kept changes. Audience-membership criteria that name a milestone of
   the same journey see, within one run, everyone who reached it.

Each audience's new set goes into a temporary work table. The membership
repository (:mod:`app.store.memberships`) compares the sets with the stored
members and then, holding the write lock only for that, stores the
differences, the size history and the outputs' outboxes in one transaction.
All set work happens in the database; Python only sees counts.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, select

from app.core.criteria import AudienceDefinition
from app.core.graph import JourneyGraph
from app.core.models import Milestone
from app.engine.ab_tests import ArmFiller
from app.engine.compiler import (
    Scope,
    UserSet,
    as_member,
    compile_definition,
    input_filter,
    members,
    members_of,
    population,
    to_ms,
)
from app.engine.workspace import Workspace
from app.store import memberships
from app.store.audience_tables import scratch_key
from app.store.database import Database
from app.store.event_summaries import refresh_summaries
from app.store.memberships import (
    PlannedAudience,
    engine_of,
    forget_audiences,
    keys,
    latest_changes,
    size_history,
    stored_members,
)
from app.store.work_tables import EVALUATION_ADDS, EVALUATION_DROPS, EVALUATION_TABLE

log = logging.getLogger(__name__)

__all__ = [
    "POPULATION_NAME",
    "AudienceResult",
    "EvaluationResult",
    "engine_of",
    "evaluate_journey",
    "forget_audiences",
    "keys",
    "latest_changes",
    "milestone_query",
    "size_history",
    "stored_members",
    "utc",
]

POPULATION_NAME = "Journey population"


@dataclass(frozen=True)
class AudienceResult:
    """One audience after an evaluation. ``parent_id`` None: a top-level milestone."""

    audience_id: str
    name: str
    parent_id: str | None
    size: int
    added: int
    removed: int


@dataclass(frozen=True)
class EvaluationResult:
    """What one evaluation found: the population and every milestone, in tree order."""

    evaluation_id: str
    journey_id: str
    as_of: datetime
    evaluated_at: datetime
    population: AudienceResult
    milestones: tuple[AudienceResult, ...]
    write_lock_seconds: float = 0.0
    """How long storing the result held the write lock (what other writers may wait)."""

    def milestone(self, milestone_id: str) -> AudienceResult:
        for result in self.milestones:
            if result.audience_id == milestone_id:
                return result
        raise KeyError(milestone_id)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (times as ISO-8601 UTC)."""

        def one(result: AudienceResult) -> dict[str, Any]:
            return {
                "id": result.audience_id,
                "name": result.name,
                "parent_id": result.parent_id,
                "size": result.size,
                "added": result.added,
                "removed": result.removed,
            }

        return {
            "evaluation_id": self.evaluation_id,
            "journey_id": self.journey_id,
            "as_of": self.as_of.isoformat(),
            "evaluated_at": self.evaluated_at.isoformat(),
            "population": one(self.population),
            "milestones": [one(m) for m in self.milestones],
        }


def utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def milestone_query(
    graph: JourneyGraph,
    milestone: Milestone,
    as_of_ms: int,
    input_ids: tuple[str, ...] | None,
    *,
    definition: AudienceDefinition | None = None,
    table: Table = members,
    fresh: frozenset[str] = frozenset(),
    sample: int | None = None,
) -> UserSet:
    """The users of ``milestone`` given its parent's and earlier siblings' members.

    Those members are read from ``table`` (the stored memberships; an estimate
    passes its workspace, with ``fresh`` naming the audiences computed there).
    ``definition`` replaces the milestone's own (a preview of an edit).
    Criteria read only rows of the parent's members (see :class:`Scope`), and
    the earlier siblings' members are skipped the same way, so no set is
    copied just to be intersected or subtracted.
    """
    if milestone.variant is not None:
        # An arm of an A/B test is filled by bucket (see app.engine.ab_tests); here it is
        # read back: from this run's workspace once computed, else as last stored.
        return members_of(milestone.id, table=table if milestone.id in fresh else members)
    parent_id = milestone.parent_id or graph.id
    siblings = graph.children(milestone.parent_id)
    earlier = [s.id for s in siblings[: siblings.index(milestone)] if s.variant is None]
    if milestone.remaining:
        query: UserSet = members_of(parent_id, table=table)
    else:
        scope = Scope(
            members_of(parent_id, table=table),
            input_ids,
            as_of_ms,
            sample,
            within=parent_id,
            events_within=milestone.parent_id is None,
            members_table=table,
            fresh=fresh,
        )
        query = compile_definition(
            definition if definition is not None else milestone.definition, scope
        )
    if earlier:
        found = as_member(query).subquery()
        query = select(found.c.user_id).where(
            found.c.user_id.not_in(members_of(*earlier, table=table))
        )
    return query


def evaluate_journey(
    database: Database | Engine,
    graph: JourneyGraph,
    as_of: datetime | None = None,
    *,
    store: bool = True,
) -> EvaluationResult:
    """Evaluate every audience of ``graph`` at ``as_of`` (default now), store and return it.

    ``store=False`` is a what-if: the same work and the same answer (adds and drops
    counted against the stored members), but nothing of it is kept, so the stored
    memberships stay the journey's current state and the next stored run is compared
    with them, not with the what-if.

    Two steps on one connection: :func:`_compute` only reads the database (the
    long part), :func:`_apply` then has the store take the write lock to store the
    result; a what-if stops after the first.
    """
    engine = engine_of(database)
    with engine.begin() as connection:
        refresh_summaries(connection)  # writes only when events came in some other way
    with engine.connect() as connection:
        try:
            plan = _compute(connection, graph, utc(as_of))
            if not store:
                return plan.result(datetime.now(UTC), plan.audiences, 0.0)
            return _apply(connection, plan)
        finally:
            memberships.drop_work_tables(connection)


@dataclass(frozen=True)
class _Plan:
    """A computed evaluation, not stored yet: the population first, then the milestones."""

    evaluation_id: str
    journey_id: str
    as_of: datetime
    audiences: tuple[PlannedAudience, ...]

    def result(
        self,
        evaluated_at: datetime,
        audiences: Sequence[PlannedAudience],
        write_lock_seconds: float,
    ) -> EvaluationResult:
        people, *milestones = (_result(a) for a in audiences)
        return EvaluationResult(
            self.evaluation_id, self.journey_id, self.as_of, evaluated_at, people,
            tuple(milestones), write_lock_seconds,
        )


def _result(planned: PlannedAudience) -> AudienceResult:
    return AudienceResult(
        planned.audience_id, planned.name, planned.parent_id, planned.size, planned.added,
        planned.removed,
    )


def _compute(connection: Connection, graph: JourneyGraph, as_of: datetime) -> _Plan:
    """Every audience's new set and its difference with the stored one, in temporary tables.

    One read transaction: every query sees the same snapshot of the events and
    memberships, and nothing is written to the database itself (temporary
    tables belong to the connection), so edits and imports go on meanwhile.
    Each milestone reads its parent and earlier siblings from this run's
    workspace, as :func:`milestone_query` says.
    """
    as_of_ms = to_ms(as_of)
    memberships.begin_reading(connection)
    work = Workspace(connection, EVALUATION_TABLE)
    for changes in (EVALUATION_ADDS, EVALUATION_DROPS):
        Workspace(connection, changes)
    input_ids = input_filter(connection, graph.journey.input_ids)
    sizes = {graph.id: work.fill(graph.id, population(input_ids, as_of_ms))}
    ordered = list(graph.milestones_in_order())
    arms = ArmFiller(work)
    for m in ordered:
        if m.variant is not None:
            sizes[m.id] = arms.fill(m)
            continue
        query = milestone_query(
            graph, m, as_of_ms, input_ids, table=work.table, fresh=work.filled
        )
        sizes[m.id] = work.fill(m.id, query)
    if graph.journey.exclusive:
        _keep_deepest(work, graph, ordered, sizes)
    planned = [
        memberships.plan_changes(connection, graph.id, POPULATION_NAME, None, sizes[graph.id])
    ]
    for m in ordered:
        planned.append(
            memberships.plan_changes(connection, m.id, m.name, m.parent_id, sizes[m.id])
        )
    connection.commit()
    return _Plan(uuid.uuid4().hex, graph.id, as_of, tuple(planned))


def _keep_deepest(
    work: Workspace, graph: JourneyGraph, ordered: Sequence[Milestone], sizes: dict[str, int]
) -> None:
    """Remove from each milestone the users who reached one of its children (exclusive).

    Parents go first, so each milestone is cut by its children's sets as they were
    computed (everyone who reached them), and a child reached by a user holds every
    user who reached its own children: one DELETE per milestone with children
    removes those who reached any descendant. ``sizes`` is brought up to date.
    """
    for m in ordered:
        if cutting_children(graph, m.id):
            sizes[m.id] = keep_deepest(work, graph, m.id, sizes[m.id])


def cutting_children(graph: JourneyGraph, milestone_id: str) -> list[Milestone]:
    """The children whose users leave ``milestone_id`` in an exclusive journey: all but
    the arms of an A/B test (a split of the same step, not a later one)."""
    return [c for c in graph.children(milestone_id) if c.variant is None]


def keep_deepest(work: Workspace, graph: JourneyGraph, milestone_id: str,
                 size: int | None = None) -> int:
    """Remove from ``milestone_id``'s set in ``work`` (``size`` users, when known) the
    users in one of its :func:`cutting_children`'s sets there, computed from everyone
    who reached it; how many users it keeps. The exclusive option's rule, for
    evaluations and previews alike."""
    table = work.table
    key = scratch_key(milestone_id)
    children = [scratch_key(c.id) for c in cutting_children(graph, milestone_id)]
    below = select(table.c.user_id).where(table.c.audience_key.in_(children))
    removed = work.connection.execute(
        delete(table).where(table.c.audience_key == key, table.c.user_id.in_(below))
    ).rowcount
    if size is not None and removed is not None and removed >= 0:
        return size - int(removed)
    # No row count from the driver (DuckDB), or no size to start from: count what is left.
    return int(work.connection.execute(
        select(func.count()).select_from(table).where(table.c.audience_key == key)
    ).scalar_one())


def _apply(connection: Connection, plan: _Plan) -> EvaluationResult:
    """Have the store keep a computed evaluation (memberships, history, outboxes).

    Large new audiences are copied into place first, in short transactions
    (:func:`app.store.memberships.stage_new_audiences`), so the transaction that
    stores the run holds the write lock only for small changes.
    """
    staged, staging_hold = memberships.stage_new_audiences(connection, plan.audiences)
    applied = memberships.apply(
        connection, plan.evaluation_id, plan.journey_id, plan.as_of, staged
    )
    hold = max(staging_hold, applied.write_lock_seconds)
    return plan.result(applied.evaluated_at, applied.audiences, hold)
