"""Foundation: account, workspaces, inputs, connections, journeys, milestones, outputs.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Tables are created explicitly (not ``metadata.create_all``) so this revision
stays what it is when schema.py moves on. Every foreign-key column is indexed:
loading a journey reads its rows by ``journey_id``, and deleting a parent row
checks its children by the referencing column.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
NAME = sa.String(255)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("active_audience_limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "workspaces",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_workspaces_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
    )
    op.create_index(op.f("ix_workspaces_account_id"), "workspaces", ["account_id"])
    op.create_table(
        "inputs",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("platform", sa.String(64), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_inputs_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inputs")),
    )
    op.create_index(op.f("ix_inputs_workspace_id"), "inputs", ["workspace_id"])
    op.create_table(
        "connections",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_connections_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
    )
    op.create_index(op.f("ix_connections_account_id"), "connections", ["account_id"])
    op.create_table(
        "journeys",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_journeys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journeys")),
    )
    op.create_index(op.f("ix_journeys_account_id"), "journeys", ["account_id"])
    op.create_table(
        "journey_inputs",
        sa.Column("journey_id", ID, nullable=False),
        sa.Column("input_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_inputs_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["input_id"], ["inputs.id"], name=op.f("fk_journey_inputs_input_id_inputs")
        ),
        sa.PrimaryKeyConstraint("journey_id", "input_id", name=op.f("pk_journey_inputs")),
    )
    op.create_index(op.f("ix_journey_inputs_input_id"), "journey_inputs", ["input_id"])
    op.create_table(
        "milestones",
        sa.Column("id", ID, nullable=False),
        sa.Column("journey_id", ID, nullable=False),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("sibling_index", sa.Integer(), nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("remaining", sa.Boolean(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("x", sa.Double(), nullable=False),
        sa.Column("y", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_milestones_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["milestones.id"], name=op.f("fk_milestones_parent_id_milestones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
    )
    op.create_index(op.f("ix_milestones_journey_id"), "milestones", ["journey_id"])
    op.create_index(op.f("ix_milestones_parent_id"), "milestones", ["parent_id"])
    op.create_table(
        "outputs",
        sa.Column("id", ID, nullable=False),
        sa.Column("journey_id", ID, nullable=False),
        sa.Column("milestone_id", ID, nullable=False),
        sa.Column("connection_id", ID, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("x", sa.Double(), nullable=False),
        sa.Column("y", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_outputs_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"], ["milestones.id"], name=op.f("fk_outputs_milestone_id_milestones")
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_outputs_connection_id_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outputs")),
    )
    op.create_index(op.f("ix_outputs_journey_id"), "outputs", ["journey_id"])
    op.create_index(op.f("ix_outputs_milestone_id"), "outputs", ["milestone_id"])
    op.create_index(op.f("ix_outputs_connection_id"), "outputs", ["connection_id"])


def downgrade() -> None:
    for table, columns in (
        ("outputs", ("connection_id", "milestone_id", "journey_id")),
        ("milestones", ("parent_id", "journey_id")),
        ("journey_inputs", ("input_id",)),
        ("journeys", ("account_id",)),
        ("connections", ("account_id",)),
        ("inputs", ("workspace_id",)),
        ("workspaces", ("account_id",)),
        ("accounts", ()),
    ):
        for column in columns:
            op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
        op.drop_table(table)
