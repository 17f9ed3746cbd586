"""Audience memberships and their history, written by the engine's evaluation.

- ``audience_members``: who is in each audience (milestone id, or a journey id
  for the journey's population) after the latest evaluation.
- ``audience_staging``: an evaluation's freshly computed set, per audience,
  before it is compared with ``audience_members``; emptied again in the same
  transaction.
- ``audience_changes``: the users one evaluation added to or removed from an
  audience (only the latest evaluation of each audience is kept).
- ``audience_size_history``: one row per audience per evaluation: the
  ``as_of`` time evaluated, when it ran, size, adds and drops.

Audience ids are not foreign keys: milestones are rewritten by the journey
repository, and a removed milestone's rows are dropped with
``app.engine.evaluation.forget_audiences``. User ids are not foreign keys
either, to keep the bulk inserts of an evaluation free of extra index work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from app.store.event_tables import BIG_ID
from app.store.schema import ID_LENGTH, Base, UTCDateTime


def cast_table(model: Any) -> Table:
    """The Core table of a mapped class, typed as a Table (for insert/delete)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class AudienceMemberRow(Base):
    __tablename__ = "audience_members"

    audience_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)


class AudienceStagingRow(Base):
    __tablename__ = "audience_staging"

    evaluation_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    audience_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)


class AudienceChangeRow(Base):
    __tablename__ = "audience_changes"

    audience_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    evaluation_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    added: Mapped[bool] = mapped_column(Boolean)


class AudienceSizeRow(Base):
    __tablename__ = "audience_size_history"
    __table_args__ = (Index("ix_audience_size_history_journey", "journey_id", "evaluated_at"),)

    audience_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    evaluation_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    size: Mapped[int] = mapped_column(BigInteger)
    added: Mapped[int] = mapped_column(BigInteger)
    removed: Mapped[int] = mapped_column(BigInteger)
