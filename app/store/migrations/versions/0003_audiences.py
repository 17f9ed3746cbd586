"""Audience memberships, staging, changes and size history (the engine's evaluation).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audience_members",
        sa.Column("audience_id", ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.PrimaryKeyConstraint("audience_id", "user_id", name=op.f("pk_audience_members")),
    )
    op.create_table(
        "audience_staging",
        sa.Column("evaluation_id", ID, nullable=False),
        sa.Column("audience_id", ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.PrimaryKeyConstraint(
            "evaluation_id", "audience_id", "user_id", name=op.f("pk_audience_staging")
        ),
    )
    op.create_table(
        "audience_changes",
        sa.Column("audience_id", ID, nullable=False),
        sa.Column("evaluation_id", ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("added", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "audience_id", "evaluation_id", "user_id", name=op.f("pk_audience_changes")
        ),
    )
    op.create_table(
        "audience_size_history",
        sa.Column("audience_id", ID, nullable=False),
        sa.Column("evaluation_id", ID, nullable=False),
        sa.Column("journey_id", ID, nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("added", sa.BigInteger(), nullable=False),
        sa.Column("removed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "audience_id", "evaluation_id", name=op.f("pk_audience_size_history")
        ),
    )
    op.create_index(
        "ix_audience_size_history_journey",
        "audience_size_history",
        ["journey_id", "evaluated_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_audience_size_history_journey", table_name="audience_size_history")
    op.drop_table("audience_size_history")
    op.drop_table("audience_changes")
    op.drop_table("audience_staging")
    op.drop_table("audience_members")
