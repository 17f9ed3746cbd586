"""Per-user event summaries instead of the per-user event indexes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Every index on ``events`` is paid for on every imported event. The two indexes
that served per-user questions (``(input_id, user_id)`` for a journey's
population, ``(user_id, ts_ms)`` for device and location tests) give way to
small tables with one row per user and value and the earliest timestamp
(``user_inputs``, ``user_platforms``, ``user_places``), filled here from the
events already stored and kept up to date by ``app.store.event_summaries``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user_column() -> sa.Column[int]:
    return sa.Column("user_id", BIG_ID, nullable=False)


def _user_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.drop_index("ix_events_user_ts", table_name="events")
    op.drop_index("ix_events_input_user", table_name="events")
    op.create_table(
        "user_inputs",
        _user_column(),
        sa.Column("input_id", ID, nullable=False),
        sa.Column("first_ms", sa.BigInteger(), nullable=False),
        _user_key("user_inputs"),
        sa.PrimaryKeyConstraint("user_id", "input_id", name=op.f("pk_user_inputs")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "user_platforms",
        _user_column(),
        sa.Column("input_id", ID, nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("first_ms", sa.BigInteger(), nullable=False),
        _user_key("user_platforms"),
        sa.PrimaryKeyConstraint(
            "user_id", "input_id", "platform", name=op.f("pk_user_platforms")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "user_places",
        _user_column(),
        sa.Column("input_id", ID, nullable=False),
        sa.Column("field", sa.String(16), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("first_ms", sa.BigInteger(), nullable=False),
        _user_key("user_places"),
        sa.PrimaryKeyConstraint(
            "user_id", "input_id", "field", "value", name=op.f("pk_user_places")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "event_summary_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_summary_state")),
    )
    _fill_summaries()


def _fill_summaries() -> None:
    """The summaries of the events stored so far, in the events' shape at this revision.

    Plain SQL rather than the store's refresh: that one follows the current
    schema (0009 stores inputs and types as numbers), which this revision predates.
    """
    op.execute("INSERT INTO user_inputs (user_id, input_id, first_ms) "
               "SELECT user_id, input_id, min(ts_ms) FROM events GROUP BY user_id, input_id")
    op.execute("INSERT INTO user_platforms (user_id, input_id, platform, first_ms) "
               "SELECT user_id, input_id, platform, min(ts_ms) FROM events "
               "WHERE platform IS NOT NULL GROUP BY user_id, input_id, platform")
    for field in ("country", "region", "city", "postal_code"):
        op.execute("INSERT INTO user_places (user_id, input_id, field, value, first_ms) "
                   f"SELECT user_id, input_id, '{field}', {field}, min(ts_ms) FROM events "
                   f"WHERE {field} IS NOT NULL GROUP BY user_id, input_id, {field}")
    op.execute("INSERT INTO event_summary_state (id, last_event_id) "
               "SELECT 1, (SELECT max(id) FROM events) WHERE EXISTS (SELECT 1 FROM events)")


def downgrade() -> None:
    op.drop_table("event_summary_state")
    op.drop_table("user_places")
    op.drop_table("user_platforms")
    op.drop_table("user_inputs")
    op.create_index("ix_events_input_user", "events", ["input_id", "user_id"])
    op.create_index("ix_events_user_ts", "events", ["user_id", "ts_ms"])
