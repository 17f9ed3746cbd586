"""Journey evaluation: memberships per audience, adds and drops, size history.

``evaluate_journey(database, graph, as_of)`` computes, in one read transaction
(nothing is written to the database, so edits and imports are never kept
waiting by the long part):

1. the journey's population (users with an event through one of its inputs at
   or before ``as_of``), stored as the audience whose id is the journey id;
2. every milestone in tree order (parents first, siblings left to right):
   ``parent ∩ criteria``, minus the members of the earlier siblings (splits are
   exclusive: a user lands in the first sibling that matches); a Remaining-users
   milestone is the parent minus all its earlier siblings.

Each audience's new set goes into a temporary workspace, and its difference
with the stored members into two more temporary tables (adds and drops). Then
a short write transaction applies the differences: drops deleted and noted in
``audience_drops``, adds inserted marked with the audience's run number (a
first run inserts the whole set), and a size-history row (as_of, evaluated_at,
size, adds, drops) appended per audience. All set work happens in the
database; Python only sees counts.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
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
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

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
from app.engine.workspace import (
    EVALUATION_ADDS,
    EVALUATION_DROPS,
    EVALUATION_TABLE,
    Workspace,
)
from app.store.audience_tables import (
    AudienceDropRow,
    AudienceKeyRow,
    AudienceSizeRow,
    cast_table,
    scratch_key,
)
from app.store.database import Database
from app.store.event_summaries import refresh_summaries

log = logging.getLogger(__name__)

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

    Two steps on one connection: :func:`_compute` only reads the database (the
    long part), :func:`_apply` then takes the write lock to store the result; a
    what-if stops after the first.
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
            _drop_workspace(connection)


@dataclass(frozen=True)
class _Planned:
    """One audience's new set, computed, and how it differs from the stored one.

    ``stored`` is what the plan was made against: the audience's stored key
    (None: never evaluated) and its number of runs. Its set is in the
    workspace; when the audience had stored members (``whole`` false), its adds
    and drops are in :data:`EVALUATION_ADDS` and :data:`EVALUATION_DROPS`.
    """

    audience_id: str
    name: str
    parent_id: str | None
    stored: tuple[int | None, int]
    whole: bool
    size: int
    added: int
    removed: int

    def result(self) -> AudienceResult:
        return AudienceResult(
            self.audience_id, self.name, self.parent_id, self.size, self.added, self.removed
        )


@dataclass(frozen=True)
class _Plan:
    """A computed evaluation, not stored yet: the population first, then the milestones."""

    evaluation_id: str
    journey_id: str
    as_of: datetime
    audiences: tuple[_Planned, ...]

    def result(
        self, evaluated_at: datetime, audiences: Sequence[_Planned], write_lock_seconds: float
    ) -> EvaluationResult:
        people, *milestones = (a.result() for a in audiences)
        return EvaluationResult(
            self.evaluation_id, self.journey_id, self.as_of, evaluated_at, people,
            tuple(milestones), write_lock_seconds,
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
    _begin_reading(connection)
    work = Workspace(connection, EVALUATION_TABLE)
    for changes in (EVALUATION_ADDS, EVALUATION_DROPS):
        Workspace(connection, changes)
    input_ids = input_filter(connection, graph.journey.input_ids)
    size = work.fill(graph.id, population(input_ids, as_of_ms))
    planned = [_plan_changes(connection, graph.id, POPULATION_NAME, None, size)]
    for m in graph.milestones_in_order():
        query = milestone_query(
            graph, m, as_of_ms, input_ids, table=work.table, fresh=work.filled
        )
        size = work.fill(m.id, query)
        planned.append(_plan_changes(connection, m.id, m.name, m.parent_id, size))
    connection.commit()
    return _Plan(uuid.uuid4().hex, graph.id, as_of, tuple(planned))


def _plan_changes(
    connection: Connection, audience_id: str, name: str, parent_id: str | None, size: int
) -> _Planned:
    """Compare the audience's new set (in the workspace) with its stored members.

    An audience with no stored members (a first run) has every member as an
    add: nothing is copied, :func:`_store` takes the set from the workspace.
    Otherwise the adds and drops go to their temporary tables, so that storing
    them writes only the difference.
    """
    key = _stored_key(connection, audience_id)
    stored = (key, _runs(connection, audience_id))
    scratch = scratch_key(audience_id)
    adds, removes, work = EVALUATION_ADDS, EVALUATION_DROPS, EVALUATION_TABLE
    for changes in (adds, removes):
        connection.execute(delete(changes).where(changes.c.audience_key == scratch))
    if key is None or not _has_members(connection, key):
        return _Planned(audience_id, name, parent_id, stored, True, size, size, 0)
    new = select(work.c.user_id).where(work.c.audience_key == scratch)
    current = members.c.audience_key == key
    removed = _inserted(connection, removes, scratch, select(
        _key(scratch), members.c.user_id
    ).where(current, members.c.user_id.not_in(new)))
    known = select(members.c.user_id).where(current, members.c.user_id == work.c.user_id)
    added = _inserted(connection, adds, scratch, select(
        _key(scratch), work.c.user_id
    ).where(work.c.audience_key == scratch, ~known.exists()))
    return _Planned(audience_id, name, parent_id, stored, False, size, added, removed)


def _apply(connection: Connection, plan: _Plan) -> EvaluationResult:
    """Store a computed evaluation: the write lock is held only for the differences.

    An audience stored by another run since the plan was made (its key or
    number of runs moved) is compared again, now, under the lock, so the
    stored members always end up equal to this run's sets.
    """
    keep = {a.audience_id for a in plan.audiences}
    with _writing(connection, plan.journey_id) as held:
        # Taken once it is this run's turn, so history rows are in the order runs applied.
        evaluated_at = datetime.now(UTC)
        _forget_removed(connection, plan.journey_id, keep)
        done = []
        for planned in plan.audiences:
            now = (_stored_key(connection, planned.audience_id),
                   _runs(connection, planned.audience_id))
            if now != planned.stored:
                planned = _plan_changes(connection, planned.audience_id, planned.name,
                                        planned.parent_id, planned.size)
            _store(connection, planned, plan, evaluated_at)
            done.append(planned)
    return plan.result(evaluated_at, done, held.seconds)


def _store(
    connection: Connection, planned: _Planned, plan: _Plan, evaluated_at: datetime
) -> None:
    """Write one audience's planned change and its size-history row.

    Drops are deleted (and noted in ``audience_drops``), adds inserted with
    this run's number, which is how the adds are found later.
    """
    key = _key_of(connection, planned.audience_id)
    run = planned.stored[1] + 1
    scratch = scratch_key(planned.audience_id)
    execute = connection.execute
    execute(delete(drops).where(drops.c.audience_key == key))
    added_from = EVALUATION_TABLE if planned.whole else EVALUATION_ADDS
    if not planned.whole and planned.removed:
        gone = EVALUATION_DROPS
        execute(insert(drops).from_select(
            ["audience_key", "user_id"],
            select(_key(key), gone.c.user_id).where(gone.c.audience_key == scratch),
        ))
        execute(delete(members).where(
            members.c.audience_key == key,
            members.c.user_id.in_(select(gone.c.user_id).where(gone.c.audience_key == scratch)),
        ))
    if planned.added:
        execute(insert(members).from_select(
            ["audience_key", "user_id", "since_run"],
            select(_key(key), added_from.c.user_id, _run(run))
            .where(added_from.c.audience_key == scratch),
        ))
    execute(
        insert(history).values(
            audience_id=planned.audience_id,
            evaluation_id=plan.evaluation_id,
            journey_id=plan.journey_id,
            as_of=plan.as_of,
            evaluated_at=evaluated_at,
            size=planned.size,
            added=planned.added,
            removed=planned.removed,
        )
    )


def _has_members(connection: Connection, key: int) -> bool:
    found = connection.execute(
        select(members.c.user_id).where(members.c.audience_key == key).limit(1)
    ).first()
    return found is not None


def _inserted(connection: Connection, into: Table, scratch: int, rows: Select[Any]) -> int:
    """Insert ``rows`` (audience ``scratch``'s) into the temporary ``into``; how many.

    The driver's row count where it has one (SQLite, PostgreSQL); otherwise
    (DuckDB) the audience's rows are counted afterwards.
    """
    inserted = connection.execute(
        insert(into).from_select(["audience_key", "user_id"], rows)
    ).rowcount
    if inserted is not None and inserted >= 0:
        return int(inserted)
    counted = connection.execute(
        select(func.count()).select_from(into).where(into.c.audience_key == scratch)
    ).scalar_one()
    return int(counted)


def _drop_workspace(connection: Connection) -> None:
    """Drop the run's temporary tables: they may hold millions of rows, kept per connection.

    Tidying only: a failure here (a lost connection, whose tables are gone with
    it) must neither hide the run's own error nor fail a stored run.
    """
    try:
        if connection.in_transaction():
            connection.rollback()
        for work in (EVALUATION_TABLE, EVALUATION_ADDS, EVALUATION_DROPS):
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {work.name}")
        connection.commit()
    except SQLAlchemyError:
        log.debug("Could not drop an evaluation's temporary tables", exc_info=True)


def _begin_reading(connection: Connection) -> None:
    """Start the computation's read transaction: one snapshot for all its queries.

    SQLite's Python driver begins a transaction only before a write, so each
    read would see the latest commit; an explicit BEGIN (deferred: no lock is
    taken) makes the reads one transaction. PostgreSQL reads one snapshot at
    REPEATABLE READ. Neither blocks a writer.
    """
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql("BEGIN")
    elif dialect == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


@dataclass
class _Held:
    """How long the write lock of :func:`_writing` was held, once it is released."""

    seconds: float = 0.0


APPLY_BUSY_TIMEOUT_MS = 120_000
"""How long storing an evaluation waits for another writer (SQLite). Longer than an
edit waits: the run has already done its work, and it holds the lock only briefly."""


@contextmanager
def _writing(connection: Connection, journey_id: str) -> Iterator[_Held]:
    """A write transaction, committed at the end; yields how long it held the lock.

    SQLite takes the write lock at BEGIN IMMEDIATE, so the run waits for it
    there rather than failing when it first writes. On PostgreSQL, runs of one
    journey take turns (see :func:`_take_turn`). The time counts from the lock
    taken to the commit done: what other writers may have to wait.
    """
    sqlite = connection.dialect.name == "sqlite"
    held = _Held()
    if sqlite:
        usual = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one())
        connection.exec_driver_sql(f"PRAGMA busy_timeout={APPLY_BUSY_TIMEOUT_MS:d}")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={usual:d}")
    else:
        _take_turn(connection, journey_id)
    started = time.perf_counter()
    try:
        yield held
    except BaseException:
        connection.rollback()
        raise
    connection.commit()
    held.seconds = time.perf_counter() - started


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
    """On PostgreSQL, make the stores of concurrent evaluations of one journey take turns.

    Two at once would both insert the same (audience, user) members. A
    transaction-scoped advisory lock keyed by the journey waits for the other
    run's store. (SQLite has one writer at a time, DuckDB one process.)
    """
    if connection.dialect.name == "postgresql":
        connection.execute(
            select(func.pg_advisory_xact_lock(func.hashtext(literal(journey_id, String()))))
        )


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
