"""The delivery log: every request made to a partner, and what came of it.

Written by the dispatcher after each attempt (in the transaction that records
a delivered chunk, or on its own for a retry or a fault), read by the Activity
panel and ``journeys deliveries``. Reasons are the connectors' plain words and
never hold a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from app.store.audience_tables import cast_table
from app.store.delivery_tables import REASON_LENGTH, DeliveryAttemptRow

attempts = cast_table(DeliveryAttemptRow)

OUTCOMES = ("delivered", "retry", "faulted")
"""What an attempt can come to: acknowledged, to be tried again, forwarding paused."""


@dataclass(frozen=True)
class DeliveryRecord:
    """One attempt of the log."""

    id: int
    output_id: str
    journey_id: str
    connection_id: str
    started_at: datetime
    adds: int
    deletes: int
    outcome: str
    http_status: int | None
    error: str | None
    latency_ms: float
    idempotency_key: str

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "output_id": self.output_id,
            "journey_id": self.journey_id,
            "connection_id": self.connection_id,
            "started_at": self.started_at.isoformat(),
            "adds": self.adds,
            "deletes": self.deletes,
            "outcome": self.outcome,
            "http_status": self.http_status,
            "error": self.error,
            "latency_ms": round(self.latency_ms, 1),
            "idempotency_key": self.idempotency_key,
        }


def record(connection: Connection, entry: DeliveryRecord) -> None:
    """Append one attempt (its ``id`` is given by the database)."""
    assert entry.outcome in OUTCOMES, entry.outcome
    values = entry.as_dict()
    values.pop("id")
    values["started_at"] = entry.started_at
    values["latency_ms"] = entry.latency_ms
    values["error"] = None if entry.error is None else entry.error[:REASON_LENGTH]
    connection.execute(insert(attempts).values(**values))


def recent(
    connection: Connection,
    *,
    output_ids: Sequence[str] | None = None,
    outcome: str | None = None,
    limit: int = 200,
) -> list[DeliveryRecord]:
    """The latest attempts, newest first, of some outputs (None: all) and one outcome."""
    query = select(attempts).order_by(attempts.c.id.desc()).limit(limit)
    if output_ids is not None:
        query = query.where(attempts.c.output_id.in_(list(output_ids)))
    if outcome is not None:
        query = query.where(attempts.c.outcome == outcome)
    return [
        DeliveryRecord(
            r.id, r.output_id, r.journey_id, r.connection_id, r.started_at, r.adds,
            r.deletes, r.outcome, r.http_status, r.error, float(r.latency_ms),
            r.idempotency_key,
        )
        for r in connection.execute(query)
    ]
