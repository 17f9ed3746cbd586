"""The membership repository: stores an evaluation's sets, and reads them back.

The engine computes each audience's new set into a connection's temporary
work table (:mod:`app.store.work_tables`), reading only. This module then:

1. compares each set with the stored members (:func:`plan_changes`): adds and
   drops go to two more temporary tables, still without writing;
2. takes the write lock and applies the differences (:func:`apply`): drops
   deleted and noted in ``audience_drops``, adds inserted marked with the
   audience's run number (a first run inserts the whole set), a size-history
   row per audience, and each output's outbox brought up to date
   (:func:`app.store.outbox.follow_evaluation`), all in one transaction.

So memberships, size history and the outbox are written in one place, in one
transaction (DESIGN.md section 2), and the write lock is held only for the
differences.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
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
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from app.store import outbox
from app.store.audience_tables import (
    AudienceDropRow,
    AudienceKeyRow,
    AudienceMemberRow,
    AudienceSizeRow,
    cast_table,
    scratch_key,
)
from app.store.database import Database
from app.store.numbering import key_of, stored_key
from app.store.schema import JourneyRow
from app.store.work_tables import EVALUATION_ADDS, EVALUATION_DROPS, EVALUATION_TABLE

log = logging.getLogger(__name__)

members = cast_table(AudienceMemberRow)
drops = cast_table(AudienceDropRow)
keys = cast_table(AudienceKeyRow)
history = cast_table(AudienceSizeRow)


def engine_of(database: Database | Engine) -> Engine:
    return database.engine if isinstance(database, Database) else database


@dataclass(frozen=True)
class PlannedAudience:
    """One audience's new set, computed, and how it differs from the stored one.

    ``stored`` is what the plan was made against: the audience's stored key
    (None: never evaluated) and its number of runs. Its set is in the
    work table; when the audience had stored members (``whole`` false), its adds
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
    staged: int | None = None
    """The key a new audience's members were copied under ahead of the store (see
    :func:`stage_new_audiences`); None: they are inserted when the run is stored."""


@dataclass(frozen=True)
class Applied:
    """What :func:`apply` stored: when, each audience as stored, the write lock's hold."""

    evaluated_at: datetime
    audiences: tuple[PlannedAudience, ...]
    write_lock_seconds: float


def plan_changes(
    connection: Connection, audience_id: str, name: str, parent_id: str | None, size: int
) -> PlannedAudience:
    """Compare the audience's new set (in the work table) with its stored members.

    An audience with no stored members (a first run) has every member as an
    add: nothing is copied, :func:`apply` takes the set from the work table.
    Otherwise the adds and drops go to their temporary tables, so that storing
    them writes only the difference.
    """
    key = stored_key(connection, audience_id)
    stored = (key, runs(connection, audience_id))
    scratch = scratch_key(audience_id)
    adds, removes, work = EVALUATION_ADDS, EVALUATION_DROPS, EVALUATION_TABLE
    for changes in (adds, removes):
        connection.execute(delete(changes).where(changes.c.audience_key == scratch))
    if key is None or not _has_members(connection, key):
        return PlannedAudience(audience_id, name, parent_id, stored, True, size, size, 0)
    new = select(work.c.user_id).where(work.c.audience_key == scratch)
    current = members.c.audience_key == key
    removed = _inserted(connection, removes, scratch, select(
        _key(scratch), members.c.user_id
    ).where(current, members.c.user_id.not_in(new)))
    known = select(members.c.user_id).where(current, members.c.user_id == work.c.user_id)
    added = _inserted(connection, adds, scratch, select(
        _key(scratch), work.c.user_id
    ).where(work.c.audience_key == scratch, ~known.exists()))
    return PlannedAudience(audience_id, name, parent_id, stored, False, size, added, removed)


STAGE_ABOVE = 50_000
"""A brand-new audience with more members than this is copied ahead, in chunks."""
STAGE_CHUNK = 50_000
"""Members copied per short write transaction while staging (tens of milliseconds)."""
STAGING_PREFIX = "staging:"
"""How ``audience_keys`` names a key reserved for staging: ``staging:<unix time>:<uuid>``."""
STAGING_FORGOTTEN_AFTER = timedelta(hours=6)
"""A staging key older than this belongs to a run that died: its rows are swept."""


def stage_new_audiences(
    connection: Connection, planned: Sequence[PlannedAudience]
) -> tuple[list[PlannedAudience], float]:
    """Copy large brand-new audiences' members into place before the run is stored.

    A first evaluation of a million-member audience would otherwise insert every
    member while holding the write lock that edits wait for. Instead its rows
    are copied under a reserved key, in chunks of short write transactions each,
    and are invisible meanwhile: readers find an audience's rows through
    ``audience_keys``, and the reserved key is named ``staging:…`` there. Storing
    the run then only renames the key to the audience (:func:`apply`). Returns
    the plans (staged ones marked) and the longest write-lock hold taken here.
    """
    longest = 0.0
    marked: list[PlannedAudience] = []
    for audience in planned:
        if audience.stored[0] is not None or not audience.whole or audience.size <= STAGE_ABOVE:
            marked.append(audience)
            continue
        with _writing(connection, None) as held:
            sweep_abandoned_staging(connection)
            key = key_of(connection, f"{STAGING_PREFIX}{int(time.time())}:{uuid.uuid4().hex}")
        longest = max(longest, held.seconds)
        scratch = scratch_key(audience.audience_id)
        work = EVALUATION_TABLE
        last = -(2**63)
        while True:
            with _writing(connection, None) as held:
                rows = (
                    select(_key(key), work.c.user_id, _run(1))
                    .where(work.c.audience_key == scratch, work.c.user_id > last)
                    .order_by(work.c.user_id)
                    .limit(STAGE_CHUNK)
                )
                copied = connection.execute(insert(members).from_select(
                    ["audience_key", "user_id", "since_run"], rows
                )).rowcount
                top = connection.execute(
                    select(func.max(members.c.user_id)).where(members.c.audience_key == key)
                ).scalar()
            longest = max(longest, held.seconds)
            if not copied or top is None or top == last:
                break
            last = int(top)
        marked.append(replace(audience, staged=key))
    return marked, longest


def sweep_abandoned_staging(connection: Connection) -> int:
    """Remove the rows of staging keys left by runs that died (older than a few hours)."""
    cutoff = time.time() - STAGING_FORGOTTEN_AFTER.total_seconds()
    abandoned = []
    for audience_id, key in connection.execute(
        select(keys.c.audience_id, keys.c.audience_key)
        .where(keys.c.audience_id.startswith(STAGING_PREFIX))
    ):
        stamp = audience_id.removeprefix(STAGING_PREFIX).split(":", 1)[0]
        if not stamp.isdigit() or int(stamp) < cutoff:
            abandoned.append((audience_id, int(key)))
    for audience_id, key in abandoned:
        connection.execute(delete(members).where(members.c.audience_key == key))
        connection.execute(delete(keys).where(keys.c.audience_id == audience_id))
    return len(abandoned)


def sweep_orphans(database: Database | Engine) -> int:
    """Remove stored members nothing can read any more; how many audiences were swept.

    Those of journeys deleted while their clean-up failed (the app was closed
    before it was tried again), and those of staging keys of runs that died.
    Run at start-up: harmless rows, but they may hold millions.
    """
    with engine_of(database).begin() as connection:
        alive = select(JourneyRow.id)
        orphaned = [
            row[0] for row in connection.execute(
                select(history.c.audience_id)
                .where(history.c.journey_id.not_in(alive))
                .where(history.c.audience_id.in_(select(keys.c.audience_id)))
                .distinct()
            )
        ]
        if orphaned:
            _delete_audiences(connection, orphaned)
        return len(orphaned) + sweep_abandoned_staging(connection)


def _discard_staged(connection: Connection, audience: PlannedAudience) -> PlannedAudience:
    """Drop a staged copy that can't be used (another run stored the audience first)."""
    assert audience.staged is not None
    connection.execute(delete(members).where(members.c.audience_key == audience.staged))
    connection.execute(delete(keys).where(keys.c.audience_key == audience.staged))
    return replace(audience, staged=None)


def apply(
    connection: Connection,
    evaluation_id: str,
    journey_id: str,
    as_of: datetime,
    planned: Sequence[PlannedAudience],
) -> Applied:
    """Store a computed evaluation: the write lock is held only for the differences.

    An audience stored by another run since the plan was made (its key or
    number of runs moved) is compared again, now, under the lock, so the
    stored members always end up equal to this run's sets. The journey's
    outputs' outboxes follow in the same transaction.
    """
    keep = {a.audience_id for a in planned}
    with _writing(connection, journey_id) as held:
        # Taken once it is this run's turn, so history rows are in the order runs applied.
        evaluated_at = datetime.now(UTC)
        _forget_removed(connection, journey_id, keep)
        done = []
        for audience in planned:
            now = (stored_key(connection, audience.audience_id),
                   runs(connection, audience.audience_id))
            if now != audience.stored:
                if audience.staged is not None:
                    audience = _discard_staged(connection, audience)
                audience = plan_changes(connection, audience.audience_id, audience.name,
                                        audience.parent_id, audience.size)
            _store(connection, audience, evaluation_id, journey_id, as_of, evaluated_at)
            done.append(audience)
        outbox.follow_evaluation(
            connection,
            journey_id,
            {a.audience_id: _changes_of(connection, a) for a in done},
        )
    return Applied(evaluated_at, tuple(done), held.seconds)


def _changes_of(connection: Connection, audience: PlannedAudience) -> outbox.AudienceChanges:
    """Where an audience's stored members and this run's adds and drops can be read."""
    scratch = scratch_key(audience.audience_id)
    key = stored_key(connection, audience.audience_id)
    assert key is not None, "stored just before"
    if audience.whole:
        return outbox.AudienceChanges(key, EVALUATION_TABLE, None, scratch)
    return outbox.AudienceChanges(key, EVALUATION_ADDS, EVALUATION_DROPS, scratch)


def _store(
    connection: Connection,
    planned: PlannedAudience,
    evaluation_id: str,
    journey_id: str,
    as_of: datetime,
    evaluated_at: datetime,
) -> None:
    """Write one audience's planned change and its size-history row.

    Drops are deleted (and noted in ``audience_drops``), adds inserted with
    this run's number, which is how the adds are found later.
    """
    if planned.staged is not None:  # its members are in place: give them their audience
        connection.execute(
            update(keys).where(keys.c.audience_key == planned.staged)
            .values(audience_id=planned.audience_id)
        )
    key = key_of(connection, planned.audience_id)
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
    if planned.added and planned.staged is None:
        execute(insert(members).from_select(
            ["audience_key", "user_id", "since_run"],
            select(_key(key), added_from.c.user_id, _run(run))
            .where(added_from.c.audience_key == scratch),
        ))
    execute(
        insert(history).values(
            audience_id=planned.audience_id,
            evaluation_id=evaluation_id,
            journey_id=journey_id,
            as_of=as_of,
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



def begin_reading(connection: Connection) -> None:
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


def drop_work_tables(connection: Connection) -> None:
    """Drop an evaluation's temporary tables: they may hold millions of rows, kept per connection.

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


@dataclass
class _Held:
    """How long the write lock of :func:`_writing` was held, once it is released."""

    seconds: float = 0.0


APPLY_BUSY_TIMEOUT_MS = 120_000
"""How long storing an evaluation waits for another writer (SQLite). Longer than an
edit waits: the run has already done its work, and it holds the lock only briefly."""


@contextmanager
def _writing(connection: Connection, journey_id: str | None) -> Iterator[_Held]:
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
    elif journey_id is not None:
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


def runs(connection: Connection, audience_id: str) -> int:
    """How many evaluations an audience has had (its size-history rows)."""
    count = connection.execute(
        select(func.count()).select_from(history).where(history.c.audience_id == audience_id)
    ).scalar_one()
    return int(count)


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
    numbers = select(keys.c.audience_key).where(keys.c.audience_id.in_(list(audience_ids)))
    for rows in (members, drops):
        connection.execute(delete(rows).where(rows.c.audience_key.in_(numbers)))
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
        key = stored_key(connection, audience_id)
        if key is None:
            return set()
        found = connection.execute(select(members.c.user_id).where(members.c.audience_key == key))
        return {int(r[0]) for r in found}


def latest_changes(database: Database | Engine, audience_id: str) -> tuple[set[int], set[int]]:
    """``(added, removed)`` user ids of the latest evaluation of ``audience_id``."""
    with engine_of(database).connect() as connection:
        run = runs(connection, audience_id)
        key = stored_key(connection, audience_id)
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
