"""Forwarding's tables: what each output's partner holds, what is pending, every attempt.

An output's partner should hold its audience's members. Three tables say how
far that is true, keyed by the integer an output is numbered under in
``audience_keys`` (the same numbering as audiences, so rows are 16 bytes):

- ``output_delivered``: who the partner holds, as far as deliveries it
  acknowledged tell: an add acknowledged puts a user in, a delete takes them out.
- ``outbox``: the change still to send, one row a user: ``action`` 1 adds a
  member the partner lacks, 0 removes a user it holds who is no longer a member.
  The evaluation that stores memberships updates it in the same transaction
  (for its adds and drops, or entirely for an output it starts tracking), and
  each acknowledged delivery moves its users from here to ``output_delivered``.
  So the outbox is always "the change since what was last delivered".
- ``output_sync``: one row per output that forwarding has seen: whether its
  outbox is being kept (``tracking``: the output was active at the last
  evaluation), its fault, the lease of the dispatcher sending to it, and what
  the partner told us to keep (a Facebook custom audience's id).
- ``delivery_attempts``: the delivery log, one row per request: time, adds,
  deletes, outcome, HTTP status or error, latency.

Output ids are not foreign keys: outputs are rewritten by the journey
repository on every save, and a removed output's rows are dropped by the
evaluation or the dispatcher that next meets it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Double, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.store.schema import ID_LENGTH, Base, UTCDateTime

ADD = 1
"""``outbox.action`` of a user the partner should get."""
REMOVE = 0
"""``outbox.action`` of a user the partner should drop."""

REASON_LENGTH = 500
"""Room for a fault's reason or an attempt's error, cut to fit when longer."""


class OutputSyncRow(Base):
    """Forwarding's state of one output (see the module docstring)."""

    __tablename__ = "output_sync"

    output_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    output_key: Mapped[int] = mapped_column(BigInteger, unique=True)
    tracking: Mapped[bool] = mapped_column(Boolean)
    fault_reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH))
    faulted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    remote_state: Mapped[Any] = mapped_column(JSON, nullable=True)
    last_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxRow(Base):
    """A user still to be added to (``action`` 1) or removed from (0) an output's partner."""

    __tablename__ = "outbox"
    __table_args__ = ({"sqlite_with_rowid": False},)

    output_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    action: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class OutputDeliveredRow(Base):
    """A user the output's partner holds, as acknowledged deliveries say."""

    __tablename__ = "output_delivered"
    __table_args__ = ({"sqlite_with_rowid": False},)

    output_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class DeliveryAttemptRow(Base):
    """One request to a partner: the delivery log.

    ``outcome`` is ``delivered``, ``retry`` (it will be tried again) or
    ``faulted`` (forwarding to the output paused). ``error`` never holds a secret.
    """

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_output", "output_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    output_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    journey_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    connection_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    adds: Mapped[int] = mapped_column(Integer)
    deletes: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(REASON_LENGTH))
    latency_ms: Mapped[float] = mapped_column(Double())
    idempotency_key: Mapped[str] = mapped_column(String(128))
