"""Events name their type and their input by small integers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

Both covering indexes hold every event's type and input, and index upkeep is
most of what storing an event costs. As text (a type name, a 32-character input
id) the two were most of each index entry; as ``events.type_code`` (the codes
below) and ``events.input_no`` (the input's number in the new ``input_numbers``
table) they are a byte or two each.

The events are copied into a new ``events`` table rather than altered in place:
SQLite can't change a column, and one ``INSERT … SELECT`` converting both
columns writes each event once on either backend (adding columns, updating them
and dropping the old ones would write the table twice, and on PostgreSQL leave a
dead version of every row behind). Every event keeps its id. On PostgreSQL the
new ``events.id`` takes over the old column's sequence, and the keys are added
after the copy, each checked once over the whole table instead of once per row.
The indexes are built last, from the copied rows, on both backends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

EVENT_TYPE_CODES: dict[str, int] = {
    "custom_event": 1,
    "screen_view": 2,
    "commerce_event": 3,
    "session_start": 4,
    "session_end": 5,
    "first_run": 6,
    "uninstall": 7,
}
"""A copy of ``app.store.incoming.EVENT_TYPE_CODES`` as it was when this revision was
written: a migration must keep converting the same way whatever the program does later."""

OLD_EVENTS = "events_before_0009"
"""The name the table being replaced has while its rows are copied."""


class _Shape(NamedTuple):
    """How an event names its input and its type: what differs between 0008 and 0009."""

    input_column: str
    input_type: sa.types.TypeEngine[Any]
    inputs_table: str
    inputs_key: str
    type_column: str
    type_type: sa.types.TypeEngine[Any]

    def columns(self, id_default: sa.TextClause | None) -> list[sa.Column[Any]]:
        """The columns of ``events`` in this shape, in table order."""
        return [
            # With a default of its own, the column is no SERIAL (that would make a new
            # sequence) but still autoincrements.
            sa.Column("id", BIG_ID, server_default=id_default,
                      autoincrement=id_default is None, nullable=False),
            sa.Column("user_id", BIG_ID, nullable=False),
            sa.Column(self.input_column, self.input_type, nullable=False),
            sa.Column("ts_ms", sa.BigInteger(), nullable=False),
            sa.Column(self.type_column, self.type_type, nullable=False),
            sa.Column("event_name", sa.String(255), nullable=True),
            sa.Column("custom_event_type", sa.String(64), nullable=True),
            sa.Column("commerce_action", sa.String(32), nullable=True),
            sa.Column("amount", sa.Double(), nullable=True),
            sa.Column("attributes", sa.JSON(), nullable=True),
            sa.Column("country", sa.String(64), nullable=True),
            sa.Column("region", sa.String(64), nullable=True),
            sa.Column("city", sa.String(128), nullable=True),
            sa.Column("postal_code", sa.String(32), nullable=True),
            sa.Column("platform", sa.String(32), nullable=True),
            sa.Column("message_id", sa.String(255), nullable=True),
        ]

    def foreign_keys(self) -> list[tuple[str, str, str, str | None]]:
        """(column, referred table, referred column, ON DELETE) of each foreign key."""
        return [
            ("user_id", "users", "id", "CASCADE"),
            (self.input_column, self.inputs_table, self.inputs_key, None),
        ]

    def unique_columns(self) -> list[str]:
        return [self.input_column, "message_id"]

    def indexes(self) -> dict[str, list[str]]:
        """The two covering indexes: the same names in both shapes."""
        ending = ["ts_ms", "user_id", self.input_column]
        return {
            "ix_events_name_type_ts_user_input": ["event_name", self.type_column, *ending],
            "ix_events_type_ts_user_input": [self.type_column, *ending],
        }


NAMED = _Shape("input_id", ID, "inputs", "id", "event_type", sa.String(32))
"""Events as revision 0008 stores them."""
NUMBERED = _Shape("input_no", sa.Integer(), "input_numbers", "number", "type_code",
                  sa.SmallInteger())
"""Events as this revision stores them."""

Conversion = Callable[[sa.TableClause], tuple[sa.FromClause, list[sa.ColumnElement[Any]]]]
"""Given the old table: what to read from, and the new input and type values."""

_inputs = sa.table("inputs", sa.column("id"))
_numbers = sa.table("input_numbers", sa.column("number"), sa.column("input_id"))


def upgrade() -> None:
    bind = op.get_bind()
    unknown: Sequence[str] = bind.execute(
        sa.select(sa.column("event_type"))
        .distinct()
        .select_from(sa.table("events"))
        .where(sa.column("event_type").not_in(list(EVENT_TYPE_CODES)))
    ).scalars().all()
    if unknown:
        raise RuntimeError(f"events of unknown types can't be converted: {sorted(unknown)}")
    op.create_table(
        "input_numbers",
        sa.Column("number", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("input_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["input_id"], ["inputs.id"], name=op.f("fk_input_numbers_input_id_inputs")
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_input_numbers")),
        sa.UniqueConstraint("input_id", name=op.f("uq_input_numbers_input_id")),
    )
    # Every input gets a number (the program numbers only inputs with events, but a
    # number costs nothing); numbers come from the autoincrement, so the program's own
    # numbering carries on after them.
    bind.execute(
        _numbers.insert().from_select(
            ["input_id"], sa.select(_inputs.c.id).order_by(_inputs.c.id)
        )
    )

    def converted(old: sa.TableClause) -> tuple[sa.FromClause, list[sa.ColumnElement[Any]]]:
        joined = old.join(_numbers, _numbers.c.input_id == old.c.input_id)
        return joined, [_numbers.c.number, sa.case(EVENT_TYPE_CODES, value=old.c.event_type)]

    _rebuild_events(NAMED, NUMBERED, converted)


def downgrade() -> None:
    names = {code: name for name, code in EVENT_TYPE_CODES.items()}

    def converted(old: sa.TableClause) -> tuple[sa.FromClause, list[sa.ColumnElement[Any]]]:
        joined = old.join(_numbers, _numbers.c.number == old.c.input_no)
        return joined, [_numbers.c.input_id, sa.case(names, value=old.c.type_code)]

    _rebuild_events(NUMBERED, NAMED, converted)
    op.drop_table("input_numbers")


def _rebuild_events(source: _Shape, target: _Shape, converted: Conversion) -> None:
    """Replace ``events`` (in ``source`` shape) by a copy in ``target`` shape."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    for name in source.indexes():
        op.drop_index(name, table_name="events")
    id_default = None
    sequence = None
    if postgres:
        sequence = bind.execute(
            sa.text("SELECT pg_get_serial_sequence('events', 'id')")
        ).scalar_one()
        if sequence is None:
            raise RuntimeError("events.id has no sequence to carry over")
        id_default = sa.text(f"nextval('{_literal(sequence)}'::regclass)")
        # A primary key or unique constraint is an index, whose name is unique in the
        # whole schema: the old table gives them up for the new one.
        op.drop_constraint("uq_events_input_message", "events", type_="unique")
        op.drop_constraint("pk_events", "events", type_="primary")
    op.rename_table("events", OLD_EVENTS)

    keys: list[sa.Constraint] = [
        sa.ForeignKeyConstraint(
            [column], [f"{table}.{key}"], name=op.f(f"fk_events_{column}_{table}"),
            ondelete=ondelete,
        )
        for column, table, key, ondelete in target.foreign_keys()
    ]
    keys.append(sa.UniqueConstraint(*target.unique_columns(), name="uq_events_input_message"))
    columns = target.columns(id_default)
    op.create_table(
        "events",
        *columns,
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        # SQLite can't add keys to a table afterwards.
        *(() if postgres else keys),
    )

    old = sa.table(OLD_EVENTS, *(sa.column(c.name) for c in source.columns(None)))
    from_clause, (input_value, type_value) = converted(old)
    values = [
        input_value if c.name == target.input_column
        else type_value if c.name == target.type_column
        else old.c[c.name]
        for c in columns
    ]
    rows = sa.select(*values).select_from(from_clause)
    if not postgres:
        rows = rows.order_by(old.c.id)  # appended in rowid order: SQLite's fastest insert
    new = sa.table("events", *(sa.column(c.name) for c in columns))
    copy = new.insert().from_select([c.name for c in columns], rows)
    copied = bind.execute(copy.execution_options(preserve_rowcount=True)).rowcount
    stored = bind.execute(sa.select(sa.func.count()).select_from(old)).scalar_one()
    if copied != stored:
        raise RuntimeError(
            f"only {copied} of {stored} events could be converted: some name an input "
            "that doesn't exist"
        )

    if postgres:
        for column, table, key, ondelete in target.foreign_keys():
            op.create_foreign_key(
                op.f(f"fk_events_{column}_{table}"), "events", table, [column], [key],
                ondelete=ondelete,
            )
        op.create_unique_constraint(
            "uq_events_input_message", "events", target.unique_columns()
        )
        # The sequence now belongs to the new column (else it is dropped with the old
        # table) and continues above every stored id, without ever going back.
        bind.execute(sa.text(f"ALTER SEQUENCE {sequence} OWNED BY events.id"))
        bind.execute(sa.text(
            f"SELECT setval('{_literal(str(sequence))}', GREATEST("
            f"(SELECT COALESCE(MAX(id), 0) FROM events), (SELECT last_value FROM {sequence})))"
        ))
    op.drop_table(OLD_EVENTS)
    for name, indexed in target.indexes().items():
        op.create_index(name, "events", indexed)


def _literal(text: str) -> str:
    """``text`` inside an SQL string literal."""
    return text.replace("'", "''")
