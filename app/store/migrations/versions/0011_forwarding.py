"""Forwarding: connection secrets by reference, the outbox, delivered state, the delivery log.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

``connections.secret_ref`` names where a connection's secret is kept (the OS
keyring or an environment variable), so the database never holds one. Settings
of older databases kept secret fields in their JSON; no program could fill them
in, so they are dropped here rather than carried into the new shape.

``output_sync``, ``outbox``, ``output_delivered`` and ``delivery_attempts`` are
described in ``app/store/delivery_tables.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
REASON = sa.String(500)
SECRET_FIELDS = ("access_token", "signing_secret", "api_key")
"""The secret fields connections' settings held before this revision."""

_connections = sa.table("connections", sa.column("id"), sa.column("settings", sa.JSON()))


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(
            sa.Column("secret_ref", sa.String(255), nullable=False, server_default="")
        )
    bind = op.get_bind()
    for connection_id, settings in bind.execute(
        sa.select(_connections.c.id, _connections.c.settings)
    ).all():
        if isinstance(settings, dict) and any(k in settings for k in SECRET_FIELDS):
            kept = {k: v for k, v in settings.items() if k not in SECRET_FIELDS}
            bind.execute(
                _connections.update()
                .where(_connections.c.id == connection_id)
                .values(settings=kept)
            )
    op.create_table(
        "output_sync",
        sa.Column("output_id", ID, nullable=False),
        sa.Column("journey_id", ID, nullable=False),
        sa.Column("output_key", sa.BigInteger(), nullable=False),
        sa.Column("tracking", sa.Boolean(), nullable=False),
        sa.Column("fault_reason", REASON, nullable=True),
        sa.Column("faulted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", ID, nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remote_state", sa.JSON(), nullable=True),
        sa.Column("last_delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("output_id", name=op.f("pk_output_sync")),
        sa.UniqueConstraint("output_key", name=op.f("uq_output_sync_output_key")),
    )
    op.create_index(op.f("ix_output_sync_journey_id"), "output_sync", ["journey_id"])
    for name, columns in (
        ("outbox", ("output_key", "action", "user_id")),
        ("output_delivered", ("output_key", "user_id")),
    ):
        op.create_table(
            name,
            *(
                sa.Column(c, sa.SmallInteger() if c == "action" else sa.BigInteger(),
                          nullable=False, autoincrement=False)
                for c in columns
            ),
            sa.PrimaryKeyConstraint(*columns, name=op.f(f"pk_{name}")),
            sqlite_with_rowid=False,
        )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("output_id", ID, nullable=False),
        sa.Column("journey_id", ID, nullable=False),
        sa.Column("connection_id", ID, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("adds", sa.Integer(), nullable=False),
        sa.Column("deletes", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", REASON, nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    op.create_index("ix_delivery_attempts_output", "delivery_attempts", ["output_id", "id"])
    op.create_index(
        op.f("ix_delivery_attempts_started_at"), "delivery_attempts", ["started_at"]
    )


def downgrade() -> None:
    for name in ("delivery_attempts", "output_delivered", "outbox", "output_sync"):
        op.drop_table(name)
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("secret_ref")
