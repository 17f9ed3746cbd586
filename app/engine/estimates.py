"""Size estimates for previews, while an audience is being built.

``estimate(database, graph, milestone_id, definition)`` counts the audience the
milestone would have with ``definition`` (default: its current one), and each
top-level criterion's own count within the parent audience. Nothing is
stored: the population and the parent chain (with the earlier siblings along
the way) are computed into a temporary table of the connection, with the same
queries evaluation uses, and the counts test membership there
(audience-membership criteria read stored members). In a journey whose option
"users leave earlier milestones" is on, the audience is counted as evaluation keeps
it: its children are computed from it and their users taken out, by the same rule
(:func:`app.engine.evaluation.keep_deepest`).

- Small stores (at most ``exact_limit`` users) are counted exactly.
- Larger ones are counted on a fixed sample: users whose id is a multiple of
  ``k`` (about ``sample_users`` users), scaled by ``k`` and marked approximate.
  The sample is the same every time, so previews do not jitter.
- A sampled count below ``min_sample_count`` is reported as too small to
  estimate rather than as a number that could be off by an order of magnitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Connection,
    Engine,
    func,
    select,
)

from app.core.criteria import AudienceDefinition
from app.core.graph import JourneyGraph
from app.core.models import Milestone
from app.engine.ab_tests import ArmFiller
from app.engine.compiler import (
    Scope,
    UserSet,
    as_member,
    compile_item,
    input_filter,
    members_of,
    population,
    to_ms,
)
from app.engine.evaluation import (
    cutting_children,
    engine_of,
    keep_deepest,
    milestone_query,
    utc,
)
from app.engine.workspace import ESTIMATE_TABLE, Workspace
from app.store.database import Database
from app.store.event_tables import UserRow

EXACT_LIMIT = 200_000
SAMPLE_USERS = 50_000
MIN_SAMPLE_COUNT = 30


@dataclass(frozen=True)
class Estimate:
    """A count: exact, approximate (scaled from the sample), or too small to estimate."""

    size: int | None
    approximate: bool = False
    too_small: bool = False

    @property
    def text(self) -> str:
        if self.too_small or self.size is None:
            return "too small to estimate"
        return ("≈ " if self.approximate else "") + f"{self.size:,}"


@dataclass(frozen=True)
class AudienceEstimate:
    audience: Estimate
    criteria: tuple[Estimate, ...]
    """One a top-level clause, in order: the parent's users matching that criterion alone."""
    sample_every: int
    """1 for exact counts; otherwise the sample holds users whose id is a multiple of it."""


def _prepare(
    work: Workspace,
    graph: JourneyGraph,
    milestone_id: str,
    as_of_ms: int,
    input_ids: tuple[str, ...] | None,
    sample: int | None,
) -> None:
    """Compute the population, the ancestors of ``milestone_id`` and the earlier
    siblings of each (and of the milestone itself) into ``work``."""
    work.fill(graph.id, population(input_ids, as_of_ms, sample))
    arms = ArmFiller(work)
    chain = []
    ancestor = graph.milestone(milestone_id)
    while True:
        chain.append(ancestor)
        if ancestor.parent_id is None:
            break
        ancestor = graph.milestone(ancestor.parent_id)
    for index, step in enumerate(reversed(chain)):
        siblings = graph.children(step.parent_id)
        at = siblings.index(step)
        needed = siblings[:at] if index == len(chain) - 1 else [*siblings[:at], step]
        for m in needed:
            if m.variant is not None:
                arms.fill(m)
                continue
            work.fill(m.id, milestone_query(
                graph, m, as_of_ms, input_ids, table=work.table, fresh=work.filled,
                sample=sample,
            ))


def _count(connection: Connection, query: UserSet) -> int:
    inner = as_member(query).subquery()
    return int(connection.execute(select(func.count()).select_from(inner)).scalar_one())


def _audience_count(
    work: Workspace,
    graph: JourneyGraph,
    milestone: Milestone,
    definition: AudienceDefinition,
    as_of_ms: int,
    input_ids: tuple[str, ...] | None,
    sample: int | None,
) -> int:
    """How many users ``milestone`` would have with ``definition``, as evaluation keeps
    them: in an exclusive journey, without those who reached one of its children (their
    sets computed from the previewed one, as evaluation computes them)."""
    query = milestone_query(graph, milestone, as_of_ms, input_ids, definition=definition,
                            table=work.table, fresh=work.filled, sample=sample)
    children = cutting_children(graph, milestone.id) if graph.journey.exclusive else []
    if not children:
        return _count(work.connection, query)
    size = work.fill(milestone.id, query)
    for child in children:
        work.fill(child.id, milestone_query(graph, child, as_of_ms, input_ids,
                                            table=work.table, fresh=work.filled,
                                            sample=sample))
    return keep_deepest(work, graph, milestone.id, size)


def estimate(
    database: Database | Engine,
    graph: JourneyGraph,
    milestone_id: str,
    definition: AudienceDefinition | None = None,
    as_of: datetime | None = None,
    *,
    exact_limit: int = EXACT_LIMIT,
    sample_users: int = SAMPLE_USERS,
    min_sample_count: int = MIN_SAMPLE_COUNT,
) -> AudienceEstimate:
    """Estimate the size of ``milestone_id`` (with ``definition``, if given) and its criteria."""
    as_of_ms = to_ms(utc(as_of))
    milestone = graph.milestone(milestone_id)
    definition = definition if definition is not None else milestone.definition
    users = UserRow.__table__
    with engine_of(database).connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(users)).scalar_one())
        every = 1 if total <= exact_limit else max(2, math.ceil(total / sample_users))
        sample = None if every == 1 else every

        def scaled(count: int) -> Estimate:
            if every == 1:
                return Estimate(count)
            if count < min_sample_count:
                return Estimate(None, approximate=True, too_small=True)
            return Estimate(count * every, approximate=True)

        input_ids = input_filter(connection, graph.journey.input_ids)
        work = Workspace(connection, ESTIMATE_TABLE)
        try:
            _prepare(work, graph, milestone_id, as_of_ms, input_ids, sample)
            audience = scaled(_audience_count(
                work, graph, milestone, definition, as_of_ms, input_ids, sample))
            parent_id = milestone.parent_id or graph.id
            scope = Scope(
                members_of(parent_id, table=work.table), input_ids, as_of_ms, sample,
                within=parent_id, events_within=milestone.parent_id is None,
                members_table=work.table, fresh=work.filled,
            )
            criteria = tuple(
                scaled(_count(connection, compile_item(c.item, scope)))
                for c in ([] if milestone.remaining else definition.clauses)
            )
        finally:
            work.clear()
            connection.rollback()
    return AudienceEstimate(audience, criteria, every)
