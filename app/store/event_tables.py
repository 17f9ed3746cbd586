"""The event store: users, their identities and attributes, and their events.

Users get an integer surrogate key (``users.id``) so that audience set
operations (INTERSECT / UNION / EXCEPT over user ids) and the covering indexes
work on small integers; ``external_id`` is the id the data came with (an
mParticle MPID, a Segment userId or anonymousId, a CSV user column).

Timestamps are integer milliseconds since the epoch in UTC, the unit both
mParticle and the engine's time windows speak, and cheap to index and compare.

Text columns are as wide as app/core/vocabulary.py says, the sizes the importers
check values against: a value that passes an import always fits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core import vocabulary as words
from app.store.schema import ID_LENGTH, Base, UTCDateTime

BIG_ID = BigInteger().with_variant(Integer(), "sqlite")
"""BIGINT everywhere, but INTEGER on SQLite so the column is the rowid (autoincrement)."""



class UserRow(Base):
    """One customer, as known across all inputs."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(words.EXTERNAL_ID_LENGTH), unique=True)
    first_seen_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_seen_ms: Mapped[int | None] = mapped_column(BigInteger)


class UserIdentityRow(Base):
    """One identity of a user (email, customer_id, mobile_number, …): one value a type."""

    __tablename__ = "user_identities"
    __table_args__ = (Index("ix_user_identities_type_value", "identity_type", "value"),)

    user_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    identity_type: Mapped[str] = mapped_column(
        String(words.IDENTITY_TYPE_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(String(words.IDENTITY_VALUE_LENGTH))


class UserAttributeRow(Base):
    """One typed attribute of a user; exactly one of the value columns is set.

    ``value_type`` is string, number, boolean, date or list. Dates are UTC
    milliseconds in ``date_ms``; lists are JSON arrays of strings in ``list_value``.
    """

    __tablename__ = "user_attributes"
    __table_args__ = (Index("ix_user_attributes_name_user", "name", "user_id"),)

    user_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(
        String(words.ATTRIBUTE_NAME_LENGTH), primary_key=True)
    value_type: Mapped[str] = mapped_column(String(words.WORD_LENGTH))
    text_value: Mapped[str | None] = mapped_column(String(words.TEXT_VALUE_LENGTH))
    number_value: Mapped[float | None] = mapped_column(Double)
    bool_value: Mapped[bool | None] = mapped_column(Boolean)
    date_ms: Mapped[int | None] = mapped_column(BigInteger)
    list_value: Mapped[Any] = mapped_column(JSON, nullable=True)


class InputNumberRow(Base):
    """The small number an input's events carry instead of its id.

    Every event names its input, and both covering indexes end with it: as the
    32-character input id that was a third of each index entry; as a number it is
    a byte or two (moving 1M staged events into the table took ~0.9 s less). An
    input gets its number when its first events are stored
    (``app.store.event_numbers``).
    """

    __tablename__ = "input_numbers"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    input_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("inputs.id"),
                                          unique=True)


class EventRow(Base):
    """One event of one user, through one input.

    Location and platform are copied onto the event (as the data sent them);
    the engine reads them through the per-user summaries below. ``message_id``
    holds a per-event de-duplication key (Segment ``messageId``, a CSV id column).

    Only the two covering indexes the event criteria need are kept: every index
    is paid for on every imported event. They end with the input, so a journey
    reading some of the account's inputs still never reads event rows for its
    plain event criteria. Per-user questions (through which
    inputs, on which platforms, in which places) are answered by the summary
    tables, which have a row per user and value instead of a row per event.

    The event type and the input are stored as small integers (``type_code``,
    see ``EVENT_TYPE_CODES`` in app/store/incoming.py; ``input_no``, see
    :class:`InputNumberRow`): both sit in every entry of both indexes, and
    short entries are what makes storing events fast.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index(
            "ix_events_name_type_ts_user_input",
            "event_name", "type_code", "ts_ms", "user_id", "input_no",
        ),
        Index("ix_events_type_ts_user_input", "type_code", "ts_ms", "user_id", "input_no"),
        UniqueConstraint("input_no", "message_id", name="uq_events_input_message"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BIG_ID, ForeignKey("users.id", ondelete="CASCADE"))
    input_no: Mapped[int] = mapped_column(Integer, ForeignKey("input_numbers.number"))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    type_code: Mapped[int] = mapped_column(SmallInteger)
    event_name: Mapped[str | None] = mapped_column(String(words.EVENT_NAME_LENGTH))
    custom_event_type: Mapped[str | None] = mapped_column(
        String(words.CUSTOM_EVENT_TYPE_LENGTH))
    commerce_action: Mapped[str | None] = mapped_column(String(words.COMMERCE_ACTION_LENGTH))
    amount: Mapped[float | None] = mapped_column(Double)
    attributes: Mapped[Any] = mapped_column(JSON, nullable=True)
    country: Mapped[str | None] = mapped_column(String(words.COUNTRY_LENGTH))
    region: Mapped[str | None] = mapped_column(String(words.REGION_LENGTH))
    city: Mapped[str | None] = mapped_column(String(words.CITY_LENGTH))
    postal_code: Mapped[str | None] = mapped_column(String(words.POSTAL_CODE_LENGTH))
    platform: Mapped[str | None] = mapped_column(String(words.PLATFORM_LENGTH))
    message_id: Mapped[str | None] = mapped_column(String(words.MESSAGE_ID_LENGTH))


class ImportedBatchRow(Base):
    """A batch already imported (mParticle ``source_request_id``): re-imports are no-ops."""

    __tablename__ = "imported_batches"

    input_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("inputs.id"), primary_key=True
    )
    batch_key: Mapped[str] = mapped_column(String(words.BATCH_KEY_LENGTH), primary_key=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())


# ---------------------------------------------------------------------- per-user summaries
#
# What the engine asks per user rather than per event: "has this user an event
# through input I (on platform P, in place V) at or before as_of?" That holds
# exactly when the earliest such event is at or before as_of, so one row per
# (user, input[, value]) with the earliest timestamp answers it. The tables are
# kept up to date from the events by ``app.store.event_summaries``; each is
# clustered by user (WITHOUT ROWID on SQLite) so a user's rows sit together and
# a DISTINCT over users reads them in order.


class _SeenThroughInput:
    """The columns every summary starts and ends with: user, input, earliest time.

    ``sort_order`` keeps (user_id, input_id) first in each table, so the
    primary key, and the row order on SQLite, leads with the user.
    """

    __table_args__ = ({"sqlite_with_rowid": False},)

    user_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, sort_order=-2
    )
    input_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, sort_order=-1)
    first_ms: Mapped[int] = mapped_column(BigInteger, sort_order=1)


class UserInputRow(_SeenThroughInput, Base):
    """A user has events through ``input_id``; the earliest at ``first_ms``."""

    __tablename__ = "user_inputs"


class UserPlatformRow(_SeenThroughInput, Base):
    """A user has events through ``input_id`` on ``platform``; the earliest at ``first_ms``."""

    __tablename__ = "user_platforms"

    platform: Mapped[str] = mapped_column(String(words.PLATFORM_LENGTH), primary_key=True)


class UserPlaceRow(_SeenThroughInput, Base):
    """A user has events through ``input_id`` whose location ``field`` is ``value``.

    ``field`` is an events location column: country, region, city or postal_code.
    """

    __tablename__ = "user_places"

    field: Mapped[str] = mapped_column(String(words.WORD_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(String(words.PLACE_LENGTH), primary_key=True)


class SummaryStateRow(Base):
    """One row: the id of the last event the per-user summaries include."""

    __tablename__ = "event_summary_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger)


# ---------------------------------------------------------------------- data catalogue
#
# What the builder offers as completions (app/core/catalogue.py): per input, how
# often each event name, event attribute, user attribute, identity type, platform
# and place occurred. Kept up to date by ``app.store.catalogue``: the event kinds
# from the events beyond ``catalogue_state.last_event_id`` (like the per-user
# summaries above), the profile kinds by triggers on the profile tables.

CATALOGUE_TEXT_LENGTH = max(words.EVENT_NAME_LENGTH, words.ATTRIBUTE_NAME_LENGTH)
"""The widest scope or value of a catalogue row (an event or attribute name)."""


class CatalogueRow(Base):
    """How often ``value`` (of ``kind``, within ``scope``) occurred through ``input_id``.

    The kinds and scopes are those of :class:`app.core.catalogue.Sighting`.
    ``count`` counts events for the event kinds (events, event attributes,
    platforms, places) and users seen through the input for the profile kinds
    (user attributes, identity types); ``last_ms`` is the latest event's time,
    NULL for the profile kinds (profile values carry no time). A row whose count
    fell to 0 (its users were deleted) stays, and is not read.
    """

    __tablename__ = "catalogue"
    __table_args__ = ({"sqlite_with_rowid": False},)

    input_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(words.WORD_LENGTH), primary_key=True)
    scope: Mapped[str] = mapped_column(String(CATALOGUE_TEXT_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(String(CATALOGUE_TEXT_LENGTH), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    last_ms: Mapped[int | None] = mapped_column(BigInteger)


class CatalogueStateRow(Base):
    """One row: the id of the last event the catalogue's event counts include."""

    __tablename__ = "catalogue_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger)


catalogue_changes = Table(
    "catalogue_changes", Base.metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("input_id", String(ID_LENGTH), nullable=False),
    Column("kind", String(words.WORD_LENGTH), nullable=False),
    Column("scope", String(CATALOGUE_TEXT_LENGTH), nullable=False),
    Column("value", String(CATALOGUE_TEXT_LENGTH), nullable=False),
    Column("change", Integer, nullable=False),
)
"""Changes of the profile kinds' counts not yet added to ``catalogue``: triggers on the
profile tables and ``user_inputs`` insert rows here (+1 or -1 a user, input and name),
and :func:`app.store.catalogue.refresh_catalogue` adds them up and empties it. Only
inserts while an import runs: adding to the few shared counts row by row would make
concurrent writers wait on each other (and, on PostgreSQL, leave a new version of the
row each time)."""
