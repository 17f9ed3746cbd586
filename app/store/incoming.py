"""What importers hand the event writer: records of a user, their events and profile.

Parsers (app/ingest) build these in one thread or process and the writer
(app/store/event_writer.py) stores them in another, so they are plain, compact
values: named tuples for the many events, slotted dataclasses for the records.
This module imports nothing heavy: a parsing process loads it without SQLAlchemy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from app.core.vocabulary import EVENT_TYPES, EXTERNAL_ID_LENGTH, EventType


def prefixed(prefix: str, value: str, limit: int = EXTERNAL_ID_LENGTH) -> str:
    """``prefix + value`` as a stored key or id of at most ``limit`` characters.

    Importers name keys and derived user ids with a prefix (``seg:``, ``csv:``,
    ``anonymous:``, ``email:``…) after checking the value alone; the two together may
    be longer than the column, which PostgreSQL refuses (the whole import with it) and
    SQLite stores. Past the limit the id is ``prefix`` and the SHA-256 of the value:
    fixed-length, and the same value gives the same id on every import and database.
    """
    whole = prefix + value
    if len(whole) <= limit:
        return whole
    return f"{prefix}sha256:{hashlib.sha256(value.encode()).hexdigest()}"


EVENT_TYPE_CODES: dict[str, int] = {
    name: code for code, name in enumerate(EVENT_TYPES, start=1)
}
"""How ``events.type_code`` stores each event type: its place in the core's list,
counting from 1 (custom_event 1, screen_view 2, commerce_event 3, session_start 4,
session_end 5, first_run 6, uninstall 7). Stored data depends on these numbers, so
the list only grows at its end (a test holds them to the numbers stored databases
were converted with)."""
EVENT_TYPES_BY_CODE: dict[int, EventType] = dict(enumerate(EVENT_TYPES, start=1))

ATTRIBUTE_VALUE_FIELDS = ("value_type", "text_value", "number_value", "bool_value", "date_ms",
                          "list_value")
"""The keys of a record's attribute row (``IncomingRecord.attributes``), in column order."""


class IncomingEvent(NamedTuple):
    """One event of a record, as stored (its user is filled in by the writer).

    A named tuple rather than a dict: an import holds a few chunks of these in
    memory at once, and a tuple takes a fifth of the room of a dict with the
    same fields. ``attributes`` is JSON text (already serialised) or None.
    """

    input_id: str
    ts_ms: int
    event_type: str
    event_name: str | None = None
    custom_event_type: str | None = None
    commerce_action: str | None = None
    amount: float | None = None
    attributes: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    postal_code: str | None = None
    platform: str | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class UserRef:
    """Who a record is about.

    ``external_id`` is the id the data came with (MPID, Segment userId, …) or one
    derived from an identity. ``lookup`` is an identity (type, value) that, when a
    stored user already has it, names that user instead (e.g. a Segment
    anonymousId that an earlier ``identify`` tied to a known user).
    """

    external_id: str
    lookup: tuple[str, str] | None = None


@dataclass(slots=True)
class IncomingRecord:
    """One record of an import, validated and normalised, ready to be stored whole.

    ``events`` are the record's events (:class:`IncomingEvent`);
    ``attributes`` maps a name to a ``user_attributes`` row without ``user_id``/``name``
    (``None`` removes the attribute). ``key`` de-duplicates the record within an
    input (an mParticle ``source_request_id``, a Segment ``messageId``, a content hash).
    ``profile``, when a parser gives one, fingerprints ``identities`` and
    ``attributes`` as the source sent them: the writer stores a user's profile
    once per fingerprint (sources such as mParticle repeat it in every record) and
    reads ``attributes`` only then.

    ``rows``, when not None, holds the events instead of ``events``, already as the
    rows a parsing process stages (app/store/staged_events.py: the record's line as
    its number, places numbered): a parser that stages makes them directly, which
    saves building each event twice. Only the part builder reads them.
    """

    line: int
    user: UserRef
    key: str | None = None
    identities: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, dict[str, Any] | None] = field(default_factory=dict)
    events: list[IncomingEvent] = field(default_factory=list)
    profile: int | None = None
    rows: list[tuple[Any, ...]] | None = None

    def event_count(self) -> int:
        return len(self.events) if self.rows is None else len(self.rows)
