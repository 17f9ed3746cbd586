"""The events' name index also holds the event type.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

An event criterion names a type and a name; with both in the index ahead of
the time, the criterion is one range of ``(event_name, event_type, ts_ms,
user_id)`` that never reads the event rows (the old index had no type, so
every matching event's row was read to check it).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_events_name_ts_user", table_name="events")
    op.create_index(
        "ix_events_name_type_ts_user", "events", ["event_name", "event_type", "ts_ms", "user_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_events_name_type_ts_user", table_name="events")
    op.create_index("ix_events_name_ts_user", "events", ["event_name", "ts_ms", "user_id"])
