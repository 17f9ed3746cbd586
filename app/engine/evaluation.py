"""Journey evaluation: memberships per audience, adds and drops, size history.

``evaluate_journey(database, graph, as_of)`` computes, in one transaction:

1. the journey's population (users with an event through one of its inputs at
   or before ``as_of``), stored as the audience whose id is the journey id;
2. every milestone in tree order (parents first, siblings left to right):
   ``parent ∩ criteria``, minus the members of the earlier siblings (splits are
   exclusive: a user lands in the first sibling that matches); a Remaining-users
   milestone is the parent minus all its earlier siblings.

Each audience's new set is written to ``audience_staging`` with one
``INSERT … SELECT``; adds (staged EXCEPT stored) and drops (stored EXCEPT staged)
go to ``audience_changes``; ``audience_members`` is updated from them; and a
size-history row (as_of, evaluated_at, size, adds, drops) is appended. All set
work happens in the database; Python only sees counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Engine,
    String,
    delete,
    func,
    insert,
    literal,
    select,
)

from app.core.graph import JourneyGraph
from app.core.models import Milestone
from app.engine.compiler import (
    Scope,
    UserSet,
    as_member,
    compile_definition,
    input_filter,
    members,
    members_of,
    minus,
    population,
    to_ms,
)
from app.store.audience_tables import (
    AudienceChangeRow,
    AudienceSizeRow,
    AudienceStagingRow,
    cast_table,
)
from app.store.database import Database
from app.store.event_summaries import refresh_summaries

staging = cast_table(AudienceStagingRow)
changes = cast_table(AudienceChangeRow)
history = cast_table(AudienceSizeRow)

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


def engine_of(database: Database | Engine) -> Engine:
    return database.engine if isinstance(database, Database) else database


def utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


RESTRICT_BELOW = 0.05
"""A parent audience smaller than this share of the population limits its child's
criterion queries to its members (``user_id IN (…)``) instead of intersecting afterwards."""
NARROW_BELOW = 0.1
"""The same for the criteria no index serves (device, event location), which would
otherwise read every event."""


def milestone_query(
    graph: JourneyGraph,
    milestone: Milestone,
    as_of_ms: int,
    input_ids: tuple[str, ...] | None,
    restrict: bool = False,
    narrow: bool = False,
) -> UserSet:
    """The users of ``milestone`` given its parent's and earlier siblings' stored members."""
    parent = members_of(milestone.parent_id or graph.id)
    siblings = graph.children(milestone.parent_id)
    earlier = [s.id for s in siblings[: siblings.index(milestone)]]
    if milestone.remaining:
        query: UserSet = parent
    else:
        scope = Scope(
            parent,
            input_ids,
            as_of_ms,
            restrict=parent if restrict else None,
            narrow=parent if narrow else None,
        )
        query = compile_definition(milestone.definition, scope)
    if earlier:
        query = minus(query, members_of(*earlier))
    return query


def evaluate_journey(
    database: Database | Engine, graph: JourneyGraph, as_of: datetime | None = None
) -> EvaluationResult:
    """Evaluate every audience of ``graph`` at ``as_of`` (default now), store and return it."""
    as_of = utc(as_of)
    as_of_ms = to_ms(as_of)
    evaluation_id = uuid.uuid4().hex
    milestones = list(graph.milestones_in_order())
    with engine_of(database).begin() as connection:
        _take_turn(connection, graph.id, evaluation_id)
        # Taken once it is this run's turn, so history rows are in the order runs applied.
        evaluated_at = datetime.now(UTC)
        refresh_summaries(connection)
        _forget_removed(connection, graph.id, {graph.id, *(m.id for m in milestones)})
        input_ids = input_filter(connection, graph.journey.input_ids)
        step = _Step(connection, evaluation_id, graph.id, as_of, evaluated_at)
        people = step.store(graph.id, POPULATION_NAME, None, population(input_ids, as_of_ms))
        sizes = {graph.id: people.size}
        results: list[AudienceResult] = []
        for m in milestones:
            parent_size = sizes[m.parent_id or graph.id]
            restrict = parent_size < RESTRICT_BELOW * people.size
            narrow = parent_size < NARROW_BELOW * people.size
            query = milestone_query(graph, m, as_of_ms, input_ids, restrict, narrow)
            result = step.store(m.id, m.name, m.parent_id, query)
            sizes[m.id] = result.size
            results.append(result)
    return EvaluationResult(
        evaluation_id, graph.id, as_of, evaluated_at, people, tuple(results)
    )


@dataclass
class _Step:
    connection: Connection
    evaluation_id: str
    journey_id: str
    as_of: datetime
    evaluated_at: datetime

    def store(
        self, audience_id: str, name: str, parent_id: str | None, query: UserSet
    ) -> AudienceResult:
        run = literal(self.evaluation_id, String())
        audience = literal(audience_id, String())
        execute = self.connection.execute
        source = as_member(query).subquery()
        execute(
            insert(staging).from_select(
                ["evaluation_id", "audience_id", "user_id"],
                select(run, audience, source.c.user_id),
            )
        )
        staged = select(staging.c.user_id).where(
            staging.c.evaluation_id == self.evaluation_id, staging.c.audience_id == audience_id
        )
        stored = members_of(audience_id)
        execute(delete(changes).where(changes.c.audience_id == audience_id))
        for added, difference in ((True, minus(staged, stored)), (False, minus(stored, staged))):
            moved = as_member(difference).subquery()
            execute(
                insert(changes).from_select(
                    ["audience_id", "evaluation_id", "user_id", "added"],
                    select(audience, run, moved.c.user_id, literal(added, Boolean())),
                )
            )

        def changed(added: bool) -> Any:
            return select(changes.c.user_id).where(
                changes.c.audience_id == audience_id,
                changes.c.evaluation_id == self.evaluation_id,
                changes.c.added.is_(added),
            )

        execute(
            delete(members).where(
                members.c.audience_id == audience_id, members.c.user_id.in_(changed(False))
            )
        )
        execute(
            insert(members).from_select(
                ["audience_id", "user_id"],
                select(audience, changes.c.user_id).where(
                    changes.c.audience_id == audience_id,
                    changes.c.evaluation_id == self.evaluation_id,
                    changes.c.added.is_(True),
                ),
            )
        )
        execute(
            delete(staging).where(
                staging.c.evaluation_id == self.evaluation_id,
                staging.c.audience_id == audience_id,
            )
        )
        counts = {
            bool(added): int(number)
            for added, number in execute(
                select(changes.c.added, func.count())
                .where(
                    changes.c.audience_id == audience_id,
                    changes.c.evaluation_id == self.evaluation_id,
                )
                .group_by(changes.c.added)
            ).all()
        }
        size = execute(
            select(func.count()).select_from(members).where(members.c.audience_id == audience_id)
        ).scalar_one()
        result = AudienceResult(
            audience_id,
            name,
            parent_id,
            int(size),
            int(counts.get(True, 0)),
            int(counts.get(False, 0)),
        )
        execute(
            insert(history).values(
                audience_id=audience_id,
                evaluation_id=self.evaluation_id,
                journey_id=self.journey_id,
                as_of=self.as_of,
                evaluated_at=self.evaluated_at,
                size=result.size,
                added=result.added,
                removed=result.removed,
            )
        )
        return result


def _take_turn(connection: Connection, journey_id: str, evaluation_id: str) -> None:
    """Make concurrent evaluations of one journey run one after the other.

    Two at once would both insert the same (audience, user) members. On
    PostgreSQL a transaction-scoped advisory lock keyed by the journey waits for
    the other run. Elsewhere the first statement is a write (a no-op delete), so
    SQLite takes its write lock now: later runs wait (busy timeout) instead of
    failing when they try to write over a snapshot another run changed.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(
            select(func.pg_advisory_xact_lock(func.hashtext(literal(journey_id, String()))))
        )
    else:
        connection.execute(delete(staging).where(staging.c.evaluation_id == evaluation_id))


def _forget_removed(connection: Connection, journey_id: str, keep: set[str]) -> None:
    """Drop the stored members of audiences this journey no longer has."""
    gone = [
        row[0]
        for row in connection.execute(
            select(history.c.audience_id).where(history.c.journey_id == journey_id).distinct()
        )
        if row[0] not in keep
    ]
    if gone:
        _delete_audiences(connection, gone)


def _delete_audiences(connection: Connection, audience_ids: Sequence[str]) -> None:
    connection.execute(delete(members).where(members.c.audience_id.in_(audience_ids)))
    connection.execute(delete(changes).where(changes.c.audience_id.in_(audience_ids)))


def forget_audiences(database: Database | Engine, audience_ids: Iterable[str]) -> None:
    """Remove the memberships and changes of deleted audiences (history is kept)."""
    ids = list(audience_ids)
    if ids:
        with engine_of(database).begin() as connection:
            _delete_audiences(connection, ids)


def stored_members(database: Database | Engine, audience_id: str) -> set[int]:
    """The stored members of one audience (for tests and small exports)."""
    with engine_of(database).connect() as connection:
        return {int(r[0]) for r in connection.execute(members_of(audience_id))}


def latest_changes(database: Database | Engine, audience_id: str) -> tuple[set[int], set[int]]:
    """``(added, removed)`` user ids of the latest evaluation of ``audience_id``."""
    with engine_of(database).connect() as connection:
        rows = connection.execute(
            select(changes.c.user_id, changes.c.added).where(
                changes.c.audience_id == audience_id
            )
        ).all()
    return ({int(u) for u, a in rows if a}, {int(u) for u, a in rows if not a})


def size_history(database: Database | Engine, audience_id: str) -> list[dict[str, Any]]:
    """Every size-history row of an audience, oldest first."""
    with engine_of(database).connect() as connection:
        rows = connection.execute(
            select(
                history.c.as_of,
                history.c.evaluated_at,
                history.c.size,
                history.c.added,
                history.c.removed,
            )
            .where(history.c.audience_id == audience_id)
            .order_by(history.c.evaluated_at, history.c.as_of)
        ).mappings()
        return [dict(row) for row in rows]
