"""The journey option "users leave earlier milestones when they reach a later one".

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

``journeys.exclusive`` (see ``app.core.models.Journey``): off for every journey
stored before, so their audiences stay as they were.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite's copy-and-rename of a batch alter would drop the
    # journeys table, and with it (ON DELETE CASCADE) every milestone.
    op.add_column(
        "journeys",
        sa.Column("exclusive", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("journeys", "exclusive")
