"""Journey evaluation: memberships per audience, adds and drops, size history.

``evaluate_journey(database, graph, as_of)`` computes, in one transaction:

1. the journey's population (users with an event through one of its inputs at
   or before ``as_of``), stored as the audience whose id is the journey id;
2. every milestone in tree order (parents first, siblings left to right):
   ``parent ∩ criteria``, minus the members of the earlier siblings (splits are
   exclusive: a user lands in the first sibling that matches); a Remaining-users
   milestone is the parent minus all its earlier siblings.

Each audience's new set goes into ``audience_members`` with one ``INSERT …
SELECT`` when it has no stored members yet; otherwise into a temporary table,
from which only the difference is written (drops deleted and noted in
``audience_drops``, adds inserted marked with the audience's run number). A
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
    BigInteger,
    Connection,
    Engine,
    Integer,
    Select,
    String,
    Table,
    column,
    delete,
    func,
    insert,
    literal,
    select,
    table,
)
from sqlalchemy.exc import IntegrityError

from app.core.criteria import AudienceDefinition
from app.core.graph import JourneyGraph
from app.core.models import Milestone
from app.engine.compiler import (
    Scope,
    UserSet,
    as_member,
    audience_is,
    compile_definition,
    input_filter,
    members,
    members_of,
    population,
    to_ms,
)
from app.engine.workspace import empty_temporary
from app.store.audience_tables import (
    AudienceDropRow,
    AudienceKeyRow,
    AudienceSizeRow,
    cast_table,
)
from app.store.database import Database
from app.store.event_summaries import refresh_summaries

drops = cast_table(AudienceDropRow)
keys = cast_table(AudienceKeyRow)
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
    parent_id = milestone.parent_id or graph.id
    siblings = graph.children(milestone.parent_id)
    earlier = [s.id for s in siblings[: siblings.index(milestone)]]
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
    """
    as_of = utc(as_of)
    as_of_ms = to_ms(as_of)
    evaluation_id = uuid.uuid4().hex
    milestones = list(graph.milestones_in_order())
    with engine_of(database).begin() as connection:
        _take_turn(connection, graph.id)
        # Taken once it is this run's turn, so history rows are in the order runs applied.
        evaluated_at = datetime.now(UTC)
        refresh_summaries(connection)
        _forget_removed(connection, graph.id, {graph.id, *(m.id for m in milestones)})
        input_ids = input_filter(connection, graph.journey.input_ids)
        step = _Step(connection, evaluation_id, graph.id, as_of, evaluated_at)
        people = step.store(graph.id, POPULATION_NAME, None, population(input_ids, as_of_ms))
        results: list[AudienceResult] = []
        for m in milestones:
            query = milestone_query(graph, m, as_of_ms, input_ids)
            results.append(step.store(m.id, m.name, m.parent_id, query))
        if not store:
            connection.rollback()  # memberships, drops, history rows, new audience keys
    return EvaluationResult(
        evaluation_id, graph.id, as_of, evaluated_at, people, tuple(results)
    )


FRESH_TABLE = "audience_fresh"
"""A temporary table (one per connection) holding the audience being recomputed."""

fresh = table(FRESH_TABLE, column("user_id"))


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
        """Replace the stored members of ``audience_id`` by ``query``'s users; count the moves.

        An audience with no stored members (a first run) takes the query's users
        straight into ``audience_members``: one write a member. Otherwise the
        new set goes to a temporary table first and only the difference is
        written: drops deleted (and noted in ``audience_drops``), adds inserted
        with this run's number, which is how the adds are found later.
        """
        key = _key_of(self.connection, audience_id)
        run = _runs(self.connection, audience_id) + 1
        execute = self.connection.execute
        execute(delete(drops).where(drops.c.audience_key == key))
        source = as_member(query).subquery()
        if not self._has_members(key):
            added = self._insert(
                insert(members).from_select(
                    ["audience_key", "user_id", "since_run"],
                    select(_key(key), source.c.user_id, _run(run)),
                ),
                members_of(audience_id),
            )
            size, removed = added, 0
        else:
            user_id = "INTEGER" if self.connection.dialect.name == "sqlite" else "BIGINT"
            empty_temporary(self.connection, FRESH_TABLE, f"(user_id {user_id} PRIMARY KEY)")
            size = self._insert(
                insert(fresh).from_select(["user_id"], select(source.c.user_id)),
                select(fresh.c.user_id),
            )
            current = members.c.audience_key == key
            gone = select(_key(key), members.c.user_id).where(
                current, members.c.user_id.not_in(select(fresh.c.user_id))
            )
            dropped = select(drops.c.user_id).where(drops.c.audience_key == key)
            removed = self._insert(
                insert(drops).from_select(["audience_key", "user_id"], gone), dropped
            )
            if removed:
                execute(delete(members).where(current, members.c.user_id.in_(dropped)))
            known = select(members.c.user_id).where(
                current, members.c.user_id == fresh.c.user_id
            )
            added = self._insert(
                insert(members).from_select(
                    ["audience_key", "user_id", "since_run"],
                    select(_key(key), fresh.c.user_id, _run(run)).where(~known.exists()),
                ),
                select(members.c.user_id).where(current, members.c.since_run == run),
            )
        result = AudienceResult(audience_id, name, parent_id, size, added, removed)
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

    def _has_members(self, key: int) -> bool:
        found = self.connection.execute(
            select(members.c.user_id).where(members.c.audience_key == key).limit(1)
        ).first()
        return found is not None

    def _insert(self, statement: Any, rows: Select[Any]) -> int:
        """Run an INSERT … SELECT; the number of rows it inserted.

        The driver's row count where it has one (SQLite, PostgreSQL); otherwise
        (DuckDB) ``rows`` is counted afterwards.
        """
        inserted = self.connection.execute(statement).rowcount
        if inserted is not None and inserted >= 0:
            return int(inserted)
        counted = self.connection.execute(
            select(func.count()).select_from(rows.subquery())
        ).scalar_one()
        return int(counted)


def _key(key: int) -> Any:
    return literal(key, BigInteger())


def _run(run: int) -> Any:
    return literal(run, Integer())


def _runs(connection: Connection, audience_id: str) -> int:
    """How many evaluations an audience has had (its size-history rows)."""
    count = connection.execute(
        select(func.count()).select_from(history).where(history.c.audience_id == audience_id)
    ).scalar_one()
    return int(count)


NO_AUDIENCE = -1
"""An audience key no audience has (the first is 1)."""


def _stored_key(connection: Connection, audience_id: str) -> int | None:
    found = connection.execute(
        select(keys.c.audience_key).where(keys.c.audience_id == audience_id)
    ).scalar()
    return None if found is None else int(found)


def _key_of(connection: Connection, audience_id: str) -> int:
    """The key ``audience_id``'s rows are stored under; numbers a new audience.

    A new audience gets the next number, so its rows go after every stored
    one (see :class:`AudienceKeyRow`). On PostgreSQL an evaluation of another
    journey may take the same number at the same time: the loser's insert
    fails and it tries the next number (a savepoint keeps its transaction).
    SQLite runs one evaluation's writes at a time, and DuckDB one process.
    """
    for _attempt in range(10):
        found = _stored_key(connection, audience_id)
        if found is not None:
            return found
        top = connection.execute(select(func.max(keys.c.audience_key))).scalar()
        number = int(top or 0) + 1
        statement = insert(keys).values(audience_id=audience_id, audience_key=number)
        if connection.dialect.name != "postgresql":
            connection.execute(statement)
            return number
        try:
            with connection.begin_nested():
                connection.execute(statement)
            return number
        except IntegrityError:
            continue
    raise RuntimeError(f"could not number audience {audience_id}: too many concurrent runs")


def _take_turn(connection: Connection, journey_id: str) -> None:
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
        connection.execute(delete(drops).where(drops.c.audience_key == NO_AUDIENCE))


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
    for rows in (members, drops):
        connection.execute(delete(rows).where(audience_is(rows.c.audience_key, audience_ids)))
    connection.execute(delete(keys).where(keys.c.audience_id.in_(list(audience_ids))))


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
        run = _runs(connection, audience_id)
        key = _stored_key(connection, audience_id)
        if run == 0 or key is None:  # never evaluated (or carried over from an older layout)
            return set(), set()
        added = connection.execute(
            select(members.c.user_id).where(
                members.c.audience_key == key, members.c.since_run == run
            )
        ).scalars().all()
        removed = connection.execute(
            select(drops.c.user_id).where(drops.c.audience_key == key)
        ).scalars().all()
    return ({int(u) for u in added}, {int(u) for u in removed})


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
