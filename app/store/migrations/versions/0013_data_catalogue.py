"""The data catalogue: per input, what names, attributes and places the data holds.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

``catalogue`` counts, per input, event names by type, event attribute keys by
event name, platforms and places (events), user attributes by detected type and
identity types (users); ``catalogue_state`` marks the last event counted and
``catalogue_changes`` holds the profile counts' changes not yet added up. The
triggers on ``user_inputs``, ``user_attributes`` and ``user_identities`` record
those changes (see ``app/store/catalogue.py``). The data already stored is
counted here, so the first builder opened after the upgrade does not wait for it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
WORD = sa.String(16)
TEXT = sa.String(255)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    from app.store.catalogue import count_profiles, create_triggers, refresh_catalogue

    op.create_table(
        "catalogue",
        sa.Column("input_id", ID, nullable=False),
        sa.Column("kind", WORD, nullable=False),
        sa.Column("scope", TEXT, nullable=False),
        sa.Column("value", TEXT, nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("input_id", "kind", "scope", "value",
                                name=op.f("pk_catalogue")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "catalogue_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_state")),
    )
    op.create_table(
        "catalogue_changes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("input_id", ID, nullable=False),
        sa.Column("kind", WORD, nullable=False),
        sa.Column("scope", TEXT, nullable=False),
        sa.Column("value", TEXT, nullable=False),
        sa.Column("change", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_changes")),
    )
    connection = op.get_bind()
    count_profiles(connection)
    create_triggers(connection)
    refresh_catalogue(connection)


def downgrade() -> None:
    from app.store.catalogue import drop_triggers

    drop_triggers(op.get_bind())
    op.drop_table("catalogue_changes")
    op.drop_table("catalogue_state")
    op.drop_table("catalogue")
