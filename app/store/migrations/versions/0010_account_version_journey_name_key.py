"""The account is versioned like journeys; journey names are unique in the store.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

``accounts.version`` lets a window that changes the account's limit name the
version it started from, so a stale window can't overwrite a newer limit.
``journeys.name_key`` is the name as the uniqueness rule compares it (spaces
collapsed, case folded: ``app.core.account.journey_name_key``), under a unique
index, so two windows can't both create “Same” and “same”. SQLite's ``lower()``
folds ASCII letters only, hence a key computed by the rule rather than an index
on ``lower(name)``.

Both columns are added NOT NULL with a server default (SQLite can only add a
NOT NULL column that way, and rebuilding ``journeys`` would cascade-delete its
milestones); the program always writes them. Journeys that already share a key
(two windows did create “Same” and “same” before this revision) keep the oldest
name; the others get “ (2)”, “ (3)” … so the index can be built and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = sa.String(255)
NAME_MAX_LENGTH = 80
"""The longest journey name the program accepts (a renamed duplicate stays within it)."""
INDEX = "uq_journeys_name_key"

JOURNEYS = sa.table(
    "journeys",
    sa.column("id"),
    sa.column("account_id"),
    sa.column("name"),
    sa.column("name_key"),
    sa.column("created_at"),
)


def upgrade() -> None:
    op.add_column(
        "accounts", sa.Column("version", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column("journeys", sa.Column("name_key", NAME, nullable=False, server_default=""))
    _fill_name_keys()
    op.create_index(INDEX, "journeys", ["account_id", "name_key"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="journeys")
    op.drop_column("journeys", "name_key")
    op.drop_column("accounts", "version")


def _fill_name_keys() -> None:
    """Write every journey's key; rename the younger of journeys whose keys clash."""
    from app.core.account import journey_name_key

    bind = op.get_bind()
    rows = bind.execute(
        sa.select(JOURNEYS.c.id, JOURNEYS.c.account_id, JOURNEYS.c.name).order_by(
            JOURNEYS.c.created_at, JOURNEYS.c.id
        )
    ).all()
    taken: set[tuple[str, str]] = set()
    for journey_id, account_id, stored_name in rows:
        name, key, number = stored_name, journey_name_key(stored_name), 1
        while (account_id, key) in taken:
            number += 1
            suffix = f" ({number})"
            name = stored_name[: NAME_MAX_LENGTH - len(suffix)].rstrip() + suffix
            key = journey_name_key(name)
        taken.add((account_id, key))
        bind.execute(
            sa.update(JOURNEYS)
            .where(JOURNEYS.c.id == journey_id)
            .values(name=name, name_key=key)
        )
