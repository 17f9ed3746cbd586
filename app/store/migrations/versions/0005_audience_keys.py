"""Audience memberships keyed by an integer; adds marked on the member rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

An evaluation used to write every audience three times (a staging copy, the
changes, the members), each row carrying the audience id as text. Now members
are keyed by ``audience_key`` (a 63-bit hash of the audience id, see
``app.store.audience_tables.audience_key``), stored in key order (WITHOUT ROWID
on SQLite), and carry the run that added them, so the latest adds need no rows
of their own; the latest drops get a small table. Existing members are carried
over (as added by an earlier run: the next evaluation reports changes from
them); the latest changes of the old layout are not.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    from app.store.audience_tables import scratch_key as audience_key

    op.drop_table("audience_staging")
    op.drop_table("audience_changes")
    op.rename_table("audience_members", "audience_members_old")
    if op.get_bind().dialect.name == "postgresql":  # its key's index keeps the old name
        op.execute(
            "ALTER TABLE audience_members_old "
            "RENAME CONSTRAINT pk_audience_members TO pk_audience_members_old"
        )
    op.create_table(
        "audience_members",
        sa.Column("audience_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("since_run", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("audience_key", "user_id", name=op.f("pk_audience_members")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "audience_drops",
        sa.Column("audience_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("audience_key", "user_id", name=op.f("pk_audience_drops")),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    old = sa.table("audience_members_old", sa.column("audience_id"), sa.column("user_id"))
    new = sa.table(
        "audience_members", sa.column("audience_key"), sa.column("user_id"),
        sa.column("since_run"),
    )
    for (audience_id,) in bind.execute(sa.select(old.c.audience_id).distinct()).all():
        bind.execute(
            new.insert().from_select(
                ["audience_key", "user_id", "since_run"],
                sa.select(
                    sa.literal(audience_key(audience_id), sa.BigInteger()),
                    old.c.user_id,
                    sa.literal(0, sa.Integer()),
                ).where(old.c.audience_id == audience_id),
            )
        )
    op.drop_table("audience_members_old")


def downgrade() -> None:
    # The old layout is keyed by audience id, which the integer keys cannot give back:
    # memberships are derived data, rebuilt by the next evaluation.
    op.drop_table("audience_drops")
    op.drop_table("audience_members")
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
