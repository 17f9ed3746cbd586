"""The database tables, as typed SQLAlchemy 2 ORM classes.

This module describes the tables; only :mod:`app.store.repositories` reads and
writes them. The Alembic migrations in ``migrations/versions`` create the same
tables explicitly, and a test compares the two so they cannot drift apart.

Portability (SQLite by default, PostgreSQL for teams, DuckDB later) decides the
types: plain strings for ids, the generic ``JSON`` type for criteria and
settings, ``Double`` for canvas positions and an aware-UTC timestamp type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID_LENGTH = 64
"""Ids are 32 hex digits (``app.core.models.new_id``); imported data may bring up to 64."""

NAME_LENGTH = 255
"""Room above the model's 80-character names so a longer limit needs no migration."""

JOURNEY_NAME_INDEX = "uq_journeys_name_key"
"""The unique index on (account, name key): a save that meets it clashes on the name."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names every backend agrees on, so migrations can name what they alter."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always an aware UTC ``datetime`` in Python.

    SQLite keeps no time zone and hands back naive values; PostgreSQL hands back
    the session's zone. Normalising here means callers never compare naive with
    aware times. Naive input is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps stored by Journey Studio must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


def _id(*foreign: ForeignKey, primary_key: bool = False, index: bool = False) -> Any:
    return mapped_column(String(ID_LENGTH), *foreign, primary_key=primary_key, index=index)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AccountRow(Base):
    """The account; there is exactly one per database.

    ``version`` is bumped by every change of the account's own fields, like a
    journey's: a window that changes the limit names the version it started from.
    """

    __tablename__ = "accounts"

    id: Mapped[str] = _id(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    active_audience_limit: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)


class WorkspaceRow(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = _id(primary_key=True)
    account_id: Mapped[str] = _id(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    position: Mapped[int] = mapped_column(Integer)


class InputRow(Base):
    __tablename__ = "inputs"

    id: Mapped[str] = _id(primary_key=True)
    workspace_id: Mapped[str] = _id(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)


class ConnectionRow(Base):
    """A connection; ``secret_ref`` names where its secret is kept, never the secret.

    ``keyring:<name>`` is an entry of the OS keyring, ``env:<NAME>`` an environment
    variable (see :mod:`app.outputs.secrets`); empty: the connection has no secret.
    """

    __tablename__ = "connections"

    id: Mapped[str] = _id(primary_key=True)
    account_id: Mapped[str] = _id(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    partner: Mapped[str] = mapped_column(String(64))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    secret_ref: Mapped[str] = mapped_column(String(NAME_LENGTH))


class JourneyRow(Base):
    """A journey; ``version`` is bumped by every save (optimistic concurrency).

    ``name_key`` is the name as the uniqueness rule compares it
    (:func:`app.core.account.journey_name_key`); its unique index keeps two windows
    from both creating “Same” and “same”.
    """

    __tablename__ = "journeys"
    __table_args__ = (
        Index(JOURNEY_NAME_INDEX, "account_id", "name_key", unique=True),
    )

    id: Mapped[str] = _id(primary_key=True)
    account_id: Mapped[str] = _id(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_key: Mapped[str] = mapped_column(String(NAME_LENGTH))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Users leave earlier milestones when they reach a later one (``Journey.exclusive``)."""


class JourneyInputRow(Base):
    """A selected input of a journey; ``position`` keeps the selection order."""

    __tablename__ = "journey_inputs"

    journey_id: Mapped[str] = _id(ForeignKey("journeys.id", ondelete="CASCADE"), primary_key=True)
    input_id: Mapped[str] = _id(ForeignKey("inputs.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)


class MilestoneRow(Base):
    """A milestone; ``parent_id`` NULL means the journey start.

    ``sibling_index`` is the left-to-right place in its parent's split.
    ``definition`` is the AudienceDefinition dumped with ``model_dump(mode="json")``.
    """

    __tablename__ = "milestones"

    id: Mapped[str] = _id(primary_key=True)
    journey_id: Mapped[str] = _id(ForeignKey("journeys.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("milestones.id"), index=True
    )
    sibling_index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    remaining: Mapped[bool] = mapped_column(Boolean)
    definition: Mapped[Any] = mapped_column(JSON)
    x: Mapped[float] = mapped_column(Double)
    y: Mapped[float] = mapped_column(Double)
    variant: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    """An arm of an A/B test on the parent: the Variant as JSON; NULL otherwise."""


class OutputRow(Base):
    """An output; ``position`` is its place in the journey document's output order."""

    __tablename__ = "outputs"

    id: Mapped[str] = _id(primary_key=True)
    journey_id: Mapped[str] = _id(ForeignKey("journeys.id", ondelete="CASCADE"), index=True)
    milestone_id: Mapped[str] = _id(ForeignKey("milestones.id"), index=True)
    connection_id: Mapped[str] = _id(ForeignKey("connections.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean)
    position: Mapped[int] = mapped_column(Integer)
    x: Mapped[float] = mapped_column(Double)
    y: Mapped[float] = mapped_column(Double)
