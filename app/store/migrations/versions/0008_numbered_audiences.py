"""Stored audiences numbered in order of first evaluation instead of hashed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

``audience_keys`` gives each audience the next integer when it is first
evaluated, so a new audience's member rows are appended after every stored
one (SQLite appends to the end of a B-tree about twice as fast as it inserts
in the middle, where a hashed key put them). Audiences already stored get
numbers in the order of their first evaluation, and their rows are re-keyed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)

_keys = sa.table("audience_keys", sa.column("audience_id"), sa.column("audience_key"))
_history = sa.table("audience_size_history", sa.column("audience_id"),
                    sa.column("evaluated_at"))
_rows = tuple(
    sa.table(name, sa.column("audience_key")) for name in ("audience_members", "audience_drops")
)


def upgrade() -> None:
    from app.store.audience_tables import scratch_key

    op.create_table(
        "audience_keys",
        sa.Column("audience_id", ID, nullable=False),
        sa.Column("audience_key", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("audience_id", name=op.f("pk_audience_keys")),
        sa.UniqueConstraint("audience_key", name=op.f("uq_audience_keys_audience_key")),
    )
    bind = op.get_bind()
    first_runs = bind.execute(
        sa.select(_history.c.audience_id)
        .group_by(_history.c.audience_id)
        .order_by(sa.func.min(_history.c.evaluated_at), _history.c.audience_id)
    ).scalars().all()
    for number, audience_id in enumerate(first_runs, start=1):
        bind.execute(_keys.insert().values(audience_id=audience_id, audience_key=number))
        for rows in _rows:
            bind.execute(
                rows.update()
                .where(rows.c.audience_key == scratch_key(audience_id))
                .values(audience_key=number)
            )
    # Rows of audiences with no history cannot be named: derived data, recomputed when
    # their journey is evaluated again.
    for rows in _rows:
        bind.execute(rows.delete().where(rows.c.audience_key > len(first_runs)))


def downgrade() -> None:
    from app.store.audience_tables import scratch_key

    bind = op.get_bind()
    for audience_id, number in bind.execute(
        sa.select(_keys.c.audience_id, _keys.c.audience_key)
    ).all():
        for rows in _rows:
            bind.execute(
                rows.update()
                .where(rows.c.audience_key == number)
                .values(audience_key=scratch_key(audience_id))
            )
    op.drop_table("audience_keys")
