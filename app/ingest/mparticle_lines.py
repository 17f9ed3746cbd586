"""The fast path for mParticle JSON lines: typed decoding that checks in C.

Parsing a batch with orjson and then checking every field in Python cost
~16 µs a batch (~5 µs an event), most of an import's parsing. Here msgspec
decodes a line straight into the typed structs below, checking types and
lengths as it goes, so what is left in Python is building the record.

This path only ever *accepts*: a line it cannot take as it is (any type or
length msgspec refuses, a missing name, a time out of range, a NUL character,
an integer beyond 64 bits …) returns None and goes through
:class:`app.ingest.mparticle.BatchParser`, which stores it the same way or
names the problem. So the rules and the words of every rejection stay in one
place; the structs are at least as strict as the parser, never looser, and a
test feeds both paths the same batches (tests/ingest/test_mparticle_lines.py).

Differences in what counts as readable JSON, all about values the importer never
reads: a number too large for a double (valid JSON that orjson refuses) in an
ignored field is accepted here (a line holding an integer past 64 bits goes to the
full path, which refuses one anywhere), and the profile objects are checked only
when their text changes for the user (text already seen valid is the same text).
Every value this path reads keeps integers exact (msgspec), so one past 64 bits fails
its check and the line goes to the full path, which names it. Invalid UTF-8 anywhere
in a line is refused here as by orjson.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, cast

import msgspec
import orjson
from msgspec import Meta, Raw, Struct

from app.core import vocabulary as words
from app.ingest import values as v
from app.ingest.mparticle import (
    EXTRA_DATA_FIELD_ORDER,
    NO_PLACE,
    BatchParser,
    DeferredProfile,
    Place,
    product_action,
)
from app.store.incoming import (
    EVENT_TYPE_CODES,
    IncomingEvent,
    IncomingRecord,
    UserRef,
)
from app.store.staged_events import PlaceNumbers

# Strings of at most the core's sizes (app/core/vocabulary.py), checked in C: the same
# sizes as the parser's checks, so never looser.
_Name = Annotated[str, Meta(max_length=words.EVENT_NAME_LENGTH)]
_BatchKey = Annotated[str, Meta(max_length=words.BATCH_KEY_LENGTH)]
_City = Annotated[str, Meta(max_length=words.CITY_LENGTH)]
_Country = Annotated[str, Meta(max_length=words.COUNTRY_LENGTH)]
_CustomEventType = Annotated[str, Meta(max_length=words.CUSTOM_EVENT_TYPE_LENGTH)]
_Environment = Annotated[str, Meta(max_length=words.ENVIRONMENT_LENGTH)]
_MessageId = Annotated[str, Meta(max_length=words.MESSAGE_ID_LENGTH)]
_Platform = Annotated[str, Meta(max_length=words.PLATFORM_LENGTH)]
_PostalCode = Annotated[str, Meta(max_length=words.POSTAL_CODE_LENGTH)]
_Region = Annotated[str, Meta(max_length=words.REGION_LENGTH)]
# MPIDs are signed 64-bit. orjson reads larger integers as floats (refused as an
# mpid), up to 2**64 - 1 as integers: those few go through the parser.
_Mpid = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
_NULL = Raw(b"null")


class _Location(Struct):
    country_code: _Country | None = None
    region_code: _Region | None = None
    city_name: _City | None = None
    postal_code: _PostalCode | None = None


class _Data(Struct):
    timestamp_unixtime_ms: int | None = None
    event_name: _Name | None = None
    custom_event_type: _CustomEventType | None = None
    screen_name: _Name | None = None
    custom_attributes: dict[str, Any] | None = None
    location: _Location | None = None
    source_message_id: _MessageId | None = None
    product_action: dict[str, Any] | None = None
    # Copied into the event's attributes (mparticle.EXTRA_DATA_FIELD_ORDER).
    session_id: Any = None
    session_start_unixtime_ms: Any = None
    session_duration_ms: Any = None
    currency_code: Any = None
    is_non_interactive: Any = None


class _Event(Struct):
    event_type: words.EventType  # checked in C
    data: _Data | None = None


class _Device(Struct):
    platform: _Platform | None = None


class _Batch(Struct):
    mpid: _Mpid | Annotated[
        str, Meta(min_length=1, max_length=words.EXTERNAL_ID_LENGTH)] | None = None
    user_identities: Raw = _NULL
    user_attributes: Raw = _NULL
    device_info: _Device | None = None
    environment: _Environment | None = None
    source_request_id: _BatchKey | None = None
    timestamp_unixtime_ms: int | None = None
    events: list[_Event] | None = None


_EMPTY_DATA = _Data()
_NO_EVENTS: list[_Event] = []
_new_event = tuple.__new__


class _Fallback(Exception):
    """The line needs the full parser (it may be fine: the parser decides)."""


class _NeedsEvents(Exception):
    """An event has a message id: the record's events can't be staged rows."""


class LineParser:
    """Parses JSON lines into records, sharing a :class:`BatchParser`'s memory of profiles.

    :meth:`parse` returns None for a line the full parser must see. With
    ``places`` (a parsing process that stages parts) a record's events come as
    staged rows (``IncomingRecord.rows``) numbered by their line, unless one has a
    message id (such parts are not staged: see app/store/staged_events.py).
    """

    def __init__(self, parser: BatchParser, places: PlaceNumbers | None = None) -> None:
        self._parser = parser
        self._places = places
        self._decode = msgspec.json.Decoder(_Batch).decode
        self._last_user: tuple[Any, UserRef] | None = None

    def parse(self, raw: bytes, line: int) -> IncomingRecord | None:
        """The line's batch as a record, or None to send it through the full parser."""
        if not raw.isascii():
            try:
                raw.decode()  # msgspec does not check the strings it skips
            except UnicodeDecodeError:
                return None
        # NUL is refused in every text field: let the parser say where. Most lines have
        # no backslash at all, and looking for one byte is several times faster.
        if b"\\" in raw and b"\\u0000" in raw:
            return None
        # An integer past 64 bits is refused anywhere, read or not, as the array reader
        # and the full parser do: such a line goes there to be named.
        if v.has_integer_beyond_64_bits(raw):
            return None
        try:
            try:
                return self._record(self._decode(raw), raw, line, self._places is not None)
            except _NeedsEvents:
                return self._record(self._decode(raw), raw, line, False)
        except (msgspec.MsgspecError, _Fallback, ValueError, TypeError, RecursionError):
            return None  # nested too deeply for msgspec too: orjson's depth limit says so

    def _record(self, batch: _Batch, raw: bytes, line: int, as_rows: bool) -> IncomingRecord:
        parser = self._parser
        mpid = batch.mpid
        identities_json = bytes(batch.user_identities)
        profile_json = b"".join((b"[", identities_json, b",", batch.user_attributes, b"]"))
        fingerprint = hash(profile_json)
        who: Any = mpid if mpid is not None else identities_json
        identities: Any
        attributes: Any
        if parser.profile_seen_valid(who, fingerprint):
            identities, attributes = DeferredProfile(profile_json).mappings()
            if mpid is None:  # the identities name the user: needed now
                identities = v.identities(orjson.loads(identities_json), "user_identities")
        else:
            identities = v.identities(orjson.loads(identities_json), "user_identities")
            # msgspec keeps an integer past 64 bits exact (orjson would round it to a
            # float and the check would pass it): refused here, the parser says where.
            attributes = v.user_attributes(msgspec.json.decode(batch.user_attributes),
                                           "user_attributes")
            parser.remember_valid_profile(who, fingerprint)
        user = self._user(mpid, identities)
        device = batch.device_info
        platform = parser.default_platform
        if device is not None:
            platform = v.platform_name(device.platform, "device_info.platform") or platform
        key = batch.source_request_id
        if key is None:
            key = "sha256:" + hashlib.sha256(raw).hexdigest()
        events = batch.events if batch.events is not None else _NO_EVENTS
        batch_ts = batch.timestamp_unixtime_ms
        if as_rows:
            return IncomingRecord(
                line=line, user=user, key=key, identities=identities, attributes=attributes,
                rows=[self._event(e, platform, batch_ts, line) for e in events],
                profile=fingerprint)
        return IncomingRecord(
            line=line, user=user, key=key, identities=identities, attributes=attributes,
            events=cast("list[IncomingEvent]",
                        [self._event(e, platform, batch_ts, None) for e in events]),
            profile=fingerprint)

    def _user(self, mpid: Any, identities: Any) -> UserRef:
        """The batch's user; consecutive batches of one mpid share one reference."""
        if mpid is None:
            raise _Fallback  # named after an identity: the parser's rules
        last = self._last_user
        if last is not None and last[0] == mpid and last[0].__class__ is mpid.__class__:
            return last[1]
        user = UserRef(v.identifier(mpid, "mpid"))
        self._last_user = (mpid, user)
        return user

    def _event(self, event: _Event, platform: str | None, batch_ts: int | None,
               row_of: int | None) -> tuple[Any, ...]:
        """The event as an :class:`IncomingEvent`, or as a staged row of record ``row_of``."""
        data = event.data
        if data is None:
            data = _EMPTY_DATA
        ts = data.timestamp_unixtime_ms
        if ts is None:
            ts = batch_ts
        limits = self._parser.limits
        if ts is None or not limits.min_ts_ms <= ts <= limits.max_ts_ms:
            raise _Fallback
        event_type = event.event_type
        name = data.event_name
        custom_type = None
        if event_type == "custom_event":
            if not name:
                raise _Fallback
            custom_type = data.custom_event_type
        elif event_type == "screen_view":
            screen = data.screen_name
            if screen is not None:
                name = screen
            elif not name:
                raise _Fallback
        attributes = data.custom_attributes or {}
        # Spelled out: most events have none of these, and named reads are the cheapest
        # check (an attrgetter over EXTRA_DATA_FIELD_ORDER cost 0.3 s more per 1M events).
        if (data.session_id is not None or data.session_start_unixtime_ms is not None
                or data.session_duration_ms is not None or data.currency_code is not None
                or data.is_non_interactive is not None):
            attributes = dict(attributes)
            for field in EXTRA_DATA_FIELD_ORDER:
                value = getattr(data, field)
                if value is not None:
                    attributes[field] = value
        action = amount = None
        if event_type == "commerce_event":
            attributes = dict(attributes)
            action, amount = product_action(data.product_action, "data.product_action",
                                            attributes)
        location = data.location
        place: Place = NO_PLACE
        if location is not None:
            place = self._parser.known_place((location.country_code, location.region_code,
                                              location.city_name, location.postal_code))
        attributes_json = (v.attributes_json(attributes, "data.custom_attributes")
                           if attributes else None)
        if row_of is None:
            return _new_event(IncomingEvent, (
                self._parser.input_id, ts, event_type, name, custom_type, action, amount,
                attributes_json, *place, platform, data.source_message_id))
        if data.source_message_id is not None:
            raise _NeedsEvents
        assert self._places is not None
        return (ts, EVENT_TYPE_CODES[event_type], name, custom_type, action, amount,
                attributes_json, row_of,
                self._places.number_of(self._parser.input_id, place, platform))
