"""Event store: users, identities, attributes, events and imported batches.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

The indexes are the ones the audience engine's queries need: events by name or
type within a time range yielding user ids (covering), events by input for a
journey's population, and per-user lookups.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("first_seen_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_seen_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("external_id", name=op.f("uq_users_external_id")),
    )
    op.create_table(
        "user_identities",
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("identity_type", sa.String(64), nullable=False),
        sa.Column("value", sa.String(1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "identity_type", name=op.f("pk_user_identities")),
    )
    op.create_index(
        "ix_user_identities_type_value", "user_identities", ["identity_type", "value"]
    )
    op.create_table(
        "user_attributes",
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value_type", sa.String(16), nullable=False),
        sa.Column("text_value", sa.String(1024), nullable=True),
        sa.Column("number_value", sa.Double(), nullable=True),
        sa.Column("bool_value", sa.Boolean(), nullable=True),
        sa.Column("date_ms", sa.BigInteger(), nullable=True),
        sa.Column("list_value", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_attributes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "name", name=op.f("pk_user_attributes")),
    )
    op.create_index("ix_user_attributes_name_user", "user_attributes", ["name", "user_id"])
    op.create_table(
        "events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("input_id", ID, nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("event_name", sa.String(255), nullable=True),
        sa.Column("custom_event_type", sa.String(64), nullable=True),
        sa.Column("commerce_action", sa.String(32), nullable=True),
        sa.Column("amount", sa.Double(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.Column("country", sa.String(64), nullable=True),
        sa.Column("region", sa.String(64), nullable=True),
        sa.Column("city", sa.String(128), nullable=True),
        sa.Column("postal_code", sa.String(32), nullable=True),
        sa.Column("platform", sa.String(32), nullable=True),
        sa.Column("message_id", sa.String(255), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_events_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["input_id"], ["inputs.id"], name=op.f("fk_events_input_id_inputs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("input_id", "message_id", name="uq_events_input_message"),
    )
    op.create_index("ix_events_name_ts_user", "events", ["event_name", "ts_ms", "user_id"])
    op.create_index("ix_events_type_ts_user", "events", ["event_type", "ts_ms", "user_id"])
    op.create_index("ix_events_input_user", "events", ["input_id", "user_id"])
    op.create_index("ix_events_user_ts", "events", ["user_id", "ts_ms"])
    op.create_table(
        "imported_batches",
        sa.Column("input_id", ID, nullable=False),
        sa.Column("batch_key", sa.String(255), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["input_id"], ["inputs.id"], name=op.f("fk_imported_batches_input_id_inputs")
        ),
        sa.PrimaryKeyConstraint("input_id", "batch_key", name=op.f("pk_imported_batches")),
    )


def downgrade() -> None:
    op.drop_table("imported_batches")
    op.drop_index("ix_events_user_ts", table_name="events")
    op.drop_index("ix_events_input_user", table_name="events")
    op.drop_index("ix_events_type_ts_user", table_name="events")
    op.drop_index("ix_events_name_ts_user", table_name="events")
    op.drop_table("events")
    op.drop_index("ix_user_attributes_name_user", table_name="user_attributes")
    op.drop_table("user_attributes")
    op.drop_index("ix_user_identities_type_value", table_name="user_identities")
    op.drop_table("user_identities")
    op.drop_table("users")
