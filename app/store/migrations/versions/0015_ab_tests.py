"""A/B tests: a milestone can be an arm of a test on its parent.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

``milestones.variant`` holds the arm's test id, label, bucket range and whether it
is the Control (the :class:`app.core.models.Variant` dumped as JSON); NULL for
every ordinary milestone, which is what all existing rows are.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("milestones") as batch:
        batch.add_column(sa.Column("variant", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("milestones") as batch:
        batch.drop_column("variant")
