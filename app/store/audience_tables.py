"""Audience memberships and their history, written by the engine's evaluation.

- ``audience_members``: who is in each audience (milestone id, or a journey id
  for the journey's population) after the latest evaluation, and since which
  run of that audience (so the latest run's adds are the members since it).
- ``audience_drops``: the users the latest evaluation of an audience removed.
- ``audience_keys``: the integer each audience's rows are stored under.
- ``audience_size_history``: one row per audience per evaluation: the
  ``as_of`` time evaluated, when it ran, size, adds and drops.

Membership rows are keyed by an integer (``audience_keys``) rather than by
the audience id. Audience ids are not foreign keys: milestones are rewritten by
the journey repository, and a removed milestone's rows are dropped with
``app.engine.evaluation.forget_audiences``. User ids are not foreign keys
either, to keep the bulk inserts of an evaluation free of extra index work.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from app.store.schema import ID_LENGTH, Base, UTCDateTime


def cast_table(model: Any) -> Table:
    """The Core table of a mapped class, typed as a Table (for insert/delete)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def scratch_key(audience_id: str) -> int:
    """The integer an audience is filed under in a temporary workspace: a 63-bit hash.

    Workspaces (``app.engine.workspace``) live for one computation and need a
    key without asking the database; two ids colliding among 2**63 is not a
    practical concern. Stored memberships use :class:`AudienceKeyRow` instead.
    """
    digest = hashlib.blake2b(audience_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


class AudienceKeyRow(Base):
    """The integer an audience's stored rows are keyed by, numbered as audiences appear.

    Membership tables hold millions of rows; keying them by an 8-byte integer
    instead of the id text makes each row a few times smaller. Numbering in
    order of first evaluation (rather than hashing the id) puts a new
    audience's rows after every stored one, so its first evaluation appends to
    the end of the members B-tree, which SQLite does about twice as fast as
    inserting the same rows in the middle.
    """

    __tablename__ = "audience_keys"

    audience_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    audience_key: Mapped[int] = mapped_column(BigInteger, unique=True)


class AudienceMemberRow(Base):
    """A member of an audience; ``since_run`` is the audience's run that added them.

    The users an evaluation added are the members whose ``since_run`` is the
    audience's latest run (its number of size-history rows), so adds need no
    rows of their own.
    """

    __tablename__ = "audience_members"
    __table_args__ = ({"sqlite_with_rowid": False},)

    audience_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    since_run: Mapped[int] = mapped_column(Integer)


class AudienceDropRow(Base):
    """A user the latest evaluation of an audience removed from it."""

    __tablename__ = "audience_drops"
    __table_args__ = ({"sqlite_with_rowid": False},)

    audience_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


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
