"""The outbox: for each output, the change its partner still has to receive.

The rule this module keeps (see :mod:`app.store.delivery_tables`): for an
output that is tracked (it was active at its journey's last evaluation), the
outbox holds exactly the difference between its audience's stored members and
what the partner acknowledged (``output_delivered``): an add row for each
member the partner lacks, a remove row for each user it holds who is no longer
a member. Two writers keep it so, each in the transaction of its own change:

- :func:`follow_evaluation`, when an evaluation stores memberships: for the
  users the run added or dropped (a few, usually), or, for an output it starts
  tracking (new, or active again), by comparing the whole audience with what
  was delivered. An inactive output is untracked: its outbox is emptied, so
  nothing is sent for it, and reactivating it sends the difference between the
  members and what the partner last received.
- :func:`record_delivered`, when a partner acknowledged a chunk: those users
  move to the delivered state, and their rows are worked out again against the
  current members (an evaluation may have changed them while the chunk was on
  its way).

Dispatchers claim an output under a lease (:func:`claim`), so two of them never
send its rows at the same time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    MetaData,
    SmallInteger,
    String,
    Table,
    and_,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from app.core.partners import NO_IDENTITIES, Profile, profiles
from app.store.audience_tables import AudienceMemberRow, AudienceSizeRow, cast_table
from app.store.delivery_tables import (
    ADD,
    REASON_LENGTH,
    REMOVE,
    OutboxRow,
    OutputDeliveredRow,
    OutputSyncRow,
)
from app.store.event_tables import UserIdentityRow, UserRow
from app.store.numbering import key_of, keys
from app.store.schema import ConnectionRow, MilestoneRow, OutputRow
from app.store.work_tables import empty_temporary

members = cast_table(AudienceMemberRow)
history = cast_table(AudienceSizeRow)
pending = cast_table(OutboxRow)
delivered = cast_table(OutputDeliveredRow)
sync = cast_table(OutputSyncRow)
outputs = cast_table(OutputRow)
users = cast_table(UserRow)
identities = cast_table(UserIdentityRow)


@dataclass(frozen=True)
class AudienceChanges:
    """Where one evaluated audience's stored members and this run's changes can be read.

    ``audience_key``: its stored rows. ``added`` and ``dropped`` are temporary
    tables holding the run's adds and drops under ``scratch`` (``dropped`` None:
    the audience had no members before, ``added`` then holds its whole set).
    """

    audience_key: int
    added: Table
    dropped: Table | None
    scratch: int


def follow_evaluation(
    connection: Connection, journey_id: str, changes: Mapping[str, AudienceChanges]
) -> None:
    """Bring the outbox of each of the journey's stored outputs up to date with a run.

    Runs inside the evaluation's write transaction, after its memberships are
    stored. Outputs are read as stored (another window may have changed them
    since this run's journey was copied). Rows of outputs the journey no longer
    has are dropped: a removed output is sent nothing more.
    """
    stored = connection.execute(
        select(outputs.c.id, outputs.c.milestone_id, outputs.c.active)
        .where(outputs.c.journey_id == journey_id)
    ).all()
    states = {
        row.output_id: row
        for row in connection.execute(
            select(sync.c.output_id, sync.c.output_key, sync.c.tracking)
            .where(sync.c.journey_id == journey_id)
        )
    }
    for output_id, milestone_id, active in stored:
        state = states.pop(output_id, None)
        if not active:
            if state is not None and state.tracking:
                _untrack(connection, output_id, state.output_key)
            continue
        audience = changes.get(milestone_id)
        if audience is None:
            continue
        if state is None:
            key = key_of(connection, output_id)
            connection.execute(insert(sync).values(
                output_id=output_id, journey_id=journey_id, output_key=key, tracking=True,
            ))
            _resync(connection, key, audience.audience_key)
        elif not state.tracking:
            connection.execute(
                update(sync).where(sync.c.output_id == output_id).values(tracking=True)
            )
            _resync(connection, state.output_key, audience.audience_key)
        else:
            _follow(connection, state.output_key, audience)
    for gone in states.values():
        forget_output(connection, gone.output_id, gone.output_key)


def _key(value: int) -> Any:
    return literal(value, BigInteger())


def _action(value: int) -> Any:
    return literal(value, SmallInteger())


def _resync(connection: Connection, output_key: int, audience_key: int) -> None:
    """The whole difference between the audience's members and what the partner holds."""
    connection.execute(delete(pending).where(pending.c.output_key == output_key))
    held = select(delivered.c.user_id).where(
        delivered.c.output_key == output_key, delivered.c.user_id == members.c.user_id
    )
    connection.execute(insert(pending).from_select(
        ["output_key", "action", "user_id"],
        select(_key(output_key), _action(ADD), members.c.user_id)
        .where(members.c.audience_key == audience_key, ~held.exists()),
    ))
    member = select(members.c.user_id).where(
        members.c.audience_key == audience_key, members.c.user_id == delivered.c.user_id
    )
    connection.execute(insert(pending).from_select(
        ["output_key", "action", "user_id"],
        select(_key(output_key), _action(REMOVE), delivered.c.user_id)
        .where(delivered.c.output_key == output_key, ~member.exists()),
    ))


def _follow(connection: Connection, output_key: int, audience: AudienceChanges) -> None:
    """Only the users this run added or dropped: their rows, worked out again."""
    added = select(audience.added.c.user_id).where(
        audience.added.c.audience_key == audience.scratch
    )
    connection.execute(delete(pending).where(
        pending.c.output_key == output_key, pending.c.action == REMOVE,
        pending.c.user_id.in_(added),
    ))
    source = audience.added
    held = select(delivered.c.user_id).where(
        delivered.c.output_key == output_key, delivered.c.user_id == source.c.user_id
    )
    connection.execute(insert(pending).from_select(
        ["output_key", "action", "user_id"],
        select(_key(output_key), _action(ADD), source.c.user_id)
        .where(source.c.audience_key == audience.scratch, ~held.exists()),
    ))
    if audience.dropped is None:
        return
    gone = audience.dropped
    dropped = select(gone.c.user_id).where(gone.c.audience_key == audience.scratch)
    connection.execute(delete(pending).where(
        pending.c.output_key == output_key, pending.c.action == ADD,
        pending.c.user_id.in_(dropped),
    ))
    was_held = select(delivered.c.user_id).where(
        delivered.c.output_key == output_key, delivered.c.user_id == gone.c.user_id
    )
    connection.execute(insert(pending).from_select(
        ["output_key", "action", "user_id"],
        select(_key(output_key), _action(REMOVE), gone.c.user_id)
        .where(gone.c.audience_key == audience.scratch, was_held.exists()),
    ))


def _untrack(connection: Connection, output_id: str, output_key: int) -> None:
    """An inactive output: nothing to send; its delivered state is kept for reactivation."""
    connection.execute(delete(pending).where(pending.c.output_key == output_key))
    connection.execute(update(sync).where(sync.c.output_id == output_id).values(tracking=False))


def forget_output(connection: Connection, output_id: str, output_key: int) -> None:
    """A removed output: its outbox, delivered state and sync row go (the log stays)."""
    for rows in (pending, delivered):
        connection.execute(delete(rows).where(rows.c.output_key == output_key))
    connection.execute(delete(sync).where(sync.c.output_id == output_id))
    connection.execute(delete(keys).where(keys.c.audience_id == output_id))


def forget_removed_outputs(connection: Connection) -> int:
    """Drop the rows of outputs no journey has any more (removed, or their journey deleted)."""
    gone = connection.execute(
        select(sync.c.output_id, sync.c.output_key).where(
            ~select(outputs.c.id).where(outputs.c.id == sync.c.output_id).exists()
        )
    ).all()
    for output_id, output_key in gone:
        forget_output(connection, output_id, int(output_key))
    return len(gone)


# ---------------------------------------------------------------------- dispatching


@dataclass(frozen=True)
class Target:
    """An output with something to send, and what sending to it needs."""

    output_id: str
    output_key: int
    journey_id: str
    audience_id: str
    audience_name: str
    connection_id: str
    connection_name: str
    partner: str
    settings: dict[str, Any]
    secret_ref: str
    remote_state: dict[str, Any]


def targets(connection: Connection, output_ids: Sequence[str] | None = None) -> list[Target]:
    """Active, unfaulted, tracked outputs whose outbox has rows, oldest output first."""
    has_rows = select(pending.c.user_id).where(pending.c.output_key == sync.c.output_key)
    query = (
        select(
            sync.c.output_id, sync.c.output_key, sync.c.journey_id, sync.c.remote_state,
            outputs.c.milestone_id, MilestoneRow.name.label("audience_name"),
            ConnectionRow.id.label("connection_id"), ConnectionRow.name.label("connection_name"),
            ConnectionRow.partner, ConnectionRow.settings, ConnectionRow.secret_ref,
        )
        .join(outputs, outputs.c.id == sync.c.output_id)
        .join(MilestoneRow, MilestoneRow.id == outputs.c.milestone_id)
        .join(ConnectionRow, ConnectionRow.id == outputs.c.connection_id)
        .where(
            sync.c.tracking.is_(True), outputs.c.active.is_(True),
            sync.c.fault_reason.is_(None), has_rows.exists(),
        )
        .order_by(sync.c.output_key)
    )
    if output_ids is not None:
        query = query.where(sync.c.output_id.in_(list(output_ids)))
    return [
        Target(
            row.output_id, int(row.output_key), row.journey_id, row.milestone_id,
            row.audience_name, row.connection_id, row.connection_name, row.partner,
            dict(row.settings or {}), row.secret_ref or "", dict(row.remote_state or {}),
        )
        for row in connection.execute(query)
    ]


def claim(connection: Connection, output_id: str, owner: str, seconds: float) -> bool:
    """Take (or extend) the lease of ``output_id`` for ``owner``; False: another holds it.

    One conditional UPDATE: it succeeds only when the output is free, its lease
    ran out, or ``owner`` holds it already, whatever other dispatchers do at the
    same moment (the database serialises the two updates of one row).
    """
    now = datetime.now(UTC)
    claimed = connection.execute(
        update(sync)
        .where(
            sync.c.output_id == output_id,
            or_(sync.c.lease_owner.is_(None), sync.c.lease_owner == owner,
                sync.c.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
    ).rowcount
    return claimed == 1


def release(connection: Connection, output_id: str, owner: str) -> None:
    connection.execute(
        update(sync)
        .where(sync.c.output_id == output_id, sync.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def still_sendable(connection: Connection, output_id: str, owner: str) -> bool:
    """Whether ``owner`` still holds the output's lease and the output may be sent to."""
    row = connection.execute(
        select(sync.c.lease_owner, sync.c.fault_reason, sync.c.tracking, outputs.c.active)
        .join(outputs, outputs.c.id == sync.c.output_id)
        .where(sync.c.output_id == output_id)
    ).first()
    return bool(row and row.lease_owner == owner and row.fault_reason is None
                and row.tracking and row.active)


def last_delivered(connection: Connection, output_id: str) -> datetime | None:
    """When the output's latest acknowledged delivery was recorded (None: never)."""
    found: datetime | None = connection.execute(
        select(sync.c.last_delivered_at).where(sync.c.output_id == output_id)
    ).scalar()
    return found


@dataclass(frozen=True)
class Chunk:
    """The next users to send an output, in the outbox's order: removes, then adds, by user.

    ``deletes`` and ``adds`` are the users' numbers (ascending), ``delete_profiles``
    and ``add_profiles`` the same users as partners know them, in the same order.
    ``runs`` is how many evaluations the audience had when the chunk was read: while
    it has not changed, the outbox rows between the chunk's first and last are
    exactly the chunk's, which lets :func:`record_delivered` work on that range.
    An empty chunk (nothing left to send) is false.
    """

    deletes: Sequence[int] = ()
    adds: Sequence[int] = ()
    delete_profiles: Sequence[Profile] = ()
    add_profiles: Sequence[Profile] = ()
    runs: int = -1

    @property
    def rows(self) -> list[tuple[int, int]]:
        """(action, user number) of every user, in the outbox's order."""
        return [(REMOVE, user) for user in self.deletes] + [(ADD, user) for user in self.adds]

    def __len__(self) -> int:
        return len(self.deletes) + len(self.adds)


CHUNK_TABLE = "outbox_chunk"
"""A connection's temporary table of the chunk being recorded: set operations by join,
not by lists of ten thousand bound values (which cost more to compile than to run)."""


def next_chunk(connection: Connection, target: Target, size: int) -> Chunk:
    """The first ``size`` rows of the output's outbox (removes, then adds, by user), with
    each of those users' stable id and identities (type -> value) for the payload.

    Call on a :meth:`~app.store.database.Database.snapshot` connection, so both queries
    see the same rows whatever an evaluation commits between them. Made with
    as few Python operations per user as can be: a large initial sync reads a
    million users, ten thousand at a time.
    """
    output_key = target.output_key
    evaluations = _runs(connection, target.audience_id)
    mine = pending.c.output_key == output_key
    in_order = (pending.c.action, pending.c.user_id)
    rows = connection.execute(
        # A user without a row (none should be) is known by their number.
        select(pending.c.action, pending.c.user_id,
               func.coalesce(users.c.external_id, cast(pending.c.user_id, String)))
        .select_from(pending.outerjoin(users, users.c.id == pending.c.user_id))
        .where(mine).order_by(*in_order).limit(size)
    ).all()
    if not rows:
        return Chunk(runs=evaluations)
    first = select(pending.c.user_id).where(mine).order_by(*in_order).limit(size).subquery()
    found: dict[int, dict[str, str]] = {}
    for number, kind, value in connection.execute(
        select(identities.c.user_id, identities.c.identity_type, identities.c.value)
        .join(first, first.c.user_id == identities.c.user_id)
    ):
        found.setdefault(int(number), {})[kind] = value
    actions, numbers, external_ids = zip(*rows, strict=True)
    split = bisect_left(actions, ADD)  # removes (0) sort before adds (1)
    people = profiles(external_ids, map(found.get, numbers, repeat(NO_IDENTITIES)))
    return Chunk(numbers[:split], numbers[split:], people[:split], people[split:], evaluations)


def record_delivered(
    connection: Connection,
    target: Target,
    chunk: Chunk,
    remote_state: Mapping[str, Any] | None,
) -> None:
    """The partner acknowledged ``chunk``: move its users to the delivered state.

    Their outbox rows are then worked out again against the audience's current
    members, for a tracked output: an evaluation stored while the chunk was on
    its way may have changed them, and the rule (outbox = members Δ delivered)
    must hold whatever happened meanwhile.
    """
    key = target.output_key
    if chunk and _runs(connection, target.audience_id) == chunk.runs:
        _record_range(connection, key, chunk)
    else:
        _record_rows(connection, target, chunk)
    values: dict[str, Any] = {"last_delivered_at": datetime.now(UTC)}
    if remote_state is not None:
        values["remote_state"] = dict(remote_state)
    connection.execute(update(sync).where(sync.c.output_id == target.output_id).values(**values))


def _runs(connection: Connection, audience_id: str) -> int:
    return int(connection.execute(
        select(func.count()).select_from(history).where(history.c.audience_id == audience_id)
    ).scalar_one())


def _record_range(connection: Connection, key: int, chunk: Chunk) -> None:
    """No evaluation since the chunk was read: its rows are the outbox's in its range.

    Only acknowledged deliveries (which remove rows) touched the outbox since, so
    the range holds the chunk's rows or fewer, and each is in the state the rule
    says: an add is a member the partner lacked, a remove a user it held who is
    not a member. Moving them is three statements over one key range.
    """
    first = (REMOVE, chunk.deletes[0]) if chunk.deletes else (ADD, chunk.adds[0])
    last = (ADD, chunk.adds[-1]) if chunk.adds else (REMOVE, chunk.deletes[-1])
    (first_action, first_user), (last_action, last_user) = first, last
    if first_action == last_action:
        in_range = (pending.c.action == first_action) & pending.c.user_id.between(
            first_user, last_user
        )
    else:
        in_range = ((pending.c.action == first_action) & (pending.c.user_id >= first_user)) | (
            (pending.c.action == last_action) & (pending.c.user_id <= last_user)
        )
    mine = pending.c.output_key == key
    connection.execute(delete(delivered).where(
        delivered.c.output_key == key,
        delivered.c.user_id.in_(
            select(pending.c.user_id).where(mine, pending.c.action == REMOVE, in_range)
        ),
    ))
    connection.execute(insert(delivered).from_select(
        ["output_key", "user_id"],
        select(_key(key), pending.c.user_id).where(mine, pending.c.action == ADD, in_range),
    ))
    connection.execute(delete(pending).where(mine, in_range))


def _record_rows(connection: Connection, target: Target, chunk: Chunk) -> None:
    """An evaluation came in between: each of the chunk's users worked out again."""
    key = target.output_key
    work = _chunk_table(connection, chunk)
    in_chunk = select(work.c.user_id)
    removed = select(work.c.user_id).where(work.c.action == REMOVE)
    connection.execute(delete(delivered).where(
        delivered.c.output_key == key, delivered.c.user_id.in_(removed)
    ))
    held = select(delivered.c.user_id).where(
        delivered.c.output_key == key, delivered.c.user_id == work.c.user_id
    )
    connection.execute(insert(delivered).from_select(
        ["output_key", "user_id"],
        select(_key(key), work.c.user_id).where(work.c.action == ADD, ~held.exists()),
    ))
    connection.execute(delete(pending).where(
        pending.c.output_key == key, pending.c.user_id.in_(in_chunk)
    ))
    tracking = connection.execute(
        select(sync.c.tracking).where(sync.c.output_id == target.output_id)
    ).scalar()
    audience_key = connection.execute(
        select(keys.c.audience_key).where(keys.c.audience_id == target.audience_id)
    ).scalar()
    if tracking and audience_key is not None:
        member = select(members.c.user_id).where(
            members.c.audience_key == int(audience_key), members.c.user_id == work.c.user_id
        )
        for action, wanted in ((ADD, member.exists() & ~held.exists()),
                               (REMOVE, ~member.exists() & held.exists())):
            connection.execute(insert(pending).from_select(
                ["output_key", "action", "user_id"],
                select(_key(key), _action(action), work.c.user_id).where(wanted),
            ))
    connection.execute(delete(work))


_chunk_metadata = MetaData()
_CHUNK = Table(
    CHUNK_TABLE, _chunk_metadata,
    Column("action", SmallInteger, primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    prefixes=["TEMPORARY"],
)


def _chunk_table(connection: Connection, chunk: Chunk) -> Table:
    """The connection's temporary chunk table, holding ``chunk``'s rows."""
    empty_temporary(
        connection, CHUNK_TABLE,
        "(action SMALLINT NOT NULL, user_id BIGINT NOT NULL, PRIMARY KEY (action, user_id))",
    )
    if chunk:
        # The driver's own executemany: SQLAlchemy's per-row parameter handling costs
        # several times the insert itself for ten thousand rows. Values are bound.
        marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        connection.exec_driver_sql(
            f"INSERT INTO {CHUNK_TABLE} (action, user_id) VALUES ({marker}, {marker})",
            chunk.rows,
        )
    return _CHUNK


def fault(connection: Connection, output_id: str, reason: str) -> None:
    """Pause forwarding to ``output_id`` with ``reason`` (and release its lease)."""
    connection.execute(
        update(sync)
        .where(sync.c.output_id == output_id)
        .values(fault_reason=reason[:REASON_LENGTH], faulted_at=datetime.now(UTC),
                lease_owner=None, lease_until=None)
    )


def resume(connection: Connection, output_id: str) -> bool:
    """Clear the output's fault; False when it was not faulted."""
    return connection.execute(
        update(sync)
        .where(sync.c.output_id == output_id, sync.c.fault_reason.is_not(None))
        .values(fault_reason=None, faulted_at=None)
    ).rowcount == 1


@dataclass(frozen=True)
class OutputForwarding:
    """How forwarding to one output stands: faulted or not, what is pending, when last sent."""

    output_id: str
    journey_id: str
    tracking: bool
    fault_reason: str | None
    faulted_at: datetime | None
    pending_adds: int
    pending_deletes: int
    partner_holds: int
    last_delivered_at: datetime | None

    @property
    def faulted(self) -> bool:
        return self.fault_reason is not None


def forwarding(
    connection: Connection, journey_id: str | None = None
) -> dict[str, OutputForwarding]:
    """The forwarding state of every output seen by forwarding (of one journey, or all)."""
    query = select(sync)
    if journey_id is not None:
        query = query.where(sync.c.journey_id == journey_id)
    rows = connection.execute(query).all()
    counts: dict[tuple[int, int], int] = {
        (int(k), int(a)): int(n)
        for k, a, n in connection.execute(
            select(pending.c.output_key, pending.c.action, func.count())
            .where(pending.c.output_key.in_([r.output_key for r in rows]))
            .group_by(pending.c.output_key, pending.c.action)
        )
    }
    held: dict[int, int] = {
        int(k): int(n)
        for k, n in connection.execute(
            select(delivered.c.output_key, func.count())
            .where(delivered.c.output_key.in_([r.output_key for r in rows]))
            .group_by(delivered.c.output_key)
        )
    }
    return {
        r.output_id: OutputForwarding(
            r.output_id, r.journey_id, bool(r.tracking), r.fault_reason, r.faulted_at,
            counts.get((r.output_key, ADD), 0), counts.get((r.output_key, REMOVE), 0),
            held.get(r.output_key, 0), r.last_delivered_at,
        )
        for r in rows
    }


def delivered_users(connection: Connection, output_id: str) -> set[int]:
    """Who the output's partner holds, as acknowledged deliveries say (tests, checks)."""
    return {int(u) for u in connection.execute(
        select(delivered.c.user_id)
        .join(sync, and_(sync.c.output_key == delivered.c.output_key))
        .where(sync.c.output_id == output_id)
    ).scalars()}

