"""mParticle Events API batches → records of the event store.

A batch (DESIGN.md section 4) is one record: its user, identities, attributes
and all its events are stored together or the batch is rejected whole. Files
hold one batch (a JSON object, possibly pretty-printed), a JSON array of
batches, or JSON lines (one batch a line); gzip or plain.

The user is ``mpid``; without one, the user is found by (or named after) the
first identity present in :data:`IDENTITY_PRIORITY`. ``source_request_id`` is the
batch's de-duplication key; a batch without one is keyed by a hash of its text,
so re-importing the same file is still a no-op.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from app.core.vocabulary import (
    BATCH_KEY_LENGTH,
    CITY_LENGTH,
    COMMERCE_ACTION_LENGTH,
    COUNTRY_LENGTH,
    CUSTOM_EVENT_TYPE_LENGTH,
    ENVIRONMENT_LENGTH,
    EVENT_NAME_LENGTH,
    MESSAGE_ID_LENGTH,
    POSTAL_CODE_LENGTH,
    REGION_LENGTH,
)
from app.ingest import values as v
from app.ingest.sources import Broken, Oversized, SourceFile, Unacceptable
from app.ingest.values import RecordError
from app.store.incoming import (
    IncomingEvent,
    IncomingRecord,
    UserRef,
    prefixed,
)
from app.store.last_values import LastValues
from app.store.staged_events import PlaceNumbers

#: Users whose last valid profile fingerprint the parser remembers (then it starts
#: over): about 100 bytes each, held by the parsing process for the whole import
#: (200,000 took it from 84 to 101 MB on 6M events).
PROFILE_CACHE_LIMIT = 100_000

IDENTITY_PRIORITY = ("customer_id", "email", "mobile_number", "other_id_1", "other")

#: Fields of ``data`` copied into the event's attributes when present, in this order.
EXTRA_DATA_FIELD_ORDER = (
    "session_id", "session_start_unixtime_ms", "session_duration_ms", "currency_code",
    "is_non_interactive",
)
_EXTRA_DATA_FIELDS = frozenset(EXTRA_DATA_FIELD_ORDER)
#: Distinct locations whose checked form the parser remembers (then it starts over):
#: a user's events repeat the same few, so most are checked once.
PLACE_CACHE_LIMIT = 10_000


class DeferredProfile:
    """A profile already seen valid for the user, parsed only when read.

    The writer reads a profile only when it has not stored it for the user
    (see ``IncomingRecord.profile``), which is rare: parsing the attributes of
    every batch would cost more than the rest of the batch. The profile is kept
    as the JSON text its fingerprint was taken of, which is also what crosses to
    the writer when parsing runs in a process of its own (bytes are the cheapest
    thing to hand over). :meth:`mappings` gives the two mappings a record carries
    (they refer to the profile, never the other way round: no reference cycle
    for the garbage collector to find).
    """

    __slots__ = ("_values", "json")

    def __init__(self, profile_json: bytes) -> None:
        self.json = profile_json
        """``[identities, attributes]`` as the batch had them, as JSON text."""
        self._values: tuple[dict[str, str], dict[str, Any]] | None = None

    def mappings(self) -> tuple[Mapping[str, str], Mapping[str, dict[str, Any] | None]]:
        """(identities, attributes) as mappings that parse the profile when first read."""
        return ProfileHalf(self, 0), ProfileHalf(self, 1)

    def values(self) -> tuple[dict[str, str], dict[str, Any]]:
        """(identities, attributes), parsed once."""
        if self._values is None:
            raw_identities, raw_attributes = orjson.loads(self.json)
            self._values = (v.identities(raw_identities, "user_identities"),
                            v.user_attributes(raw_attributes, "user_attributes"))
        return self._values


class ProfileHalf(Mapping[str, Any]):
    """One half of a :class:`DeferredProfile` as a mapping (parses it when first read)."""

    __slots__ = ("_half", "profile")

    def __init__(self, profile: DeferredProfile, half: int) -> None:
        self.profile = profile
        self._half = half

    def __getitem__(self, name: str) -> Any:
        return self.profile.values()[self._half][name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.profile.values()[self._half])

    def __len__(self) -> int:
        return len(self.profile.values()[self._half])


class BatchParser:
    """Turns batches into records for one input.

    Every mParticle batch repeats the user's identities and attributes, so the
    parser fingerprints them (see :meth:`_profile`): checked once per change,
    stored once per change.
    """

    def __init__(self, *, limits: v.Limits, input_id: str, default_platform: str | None) -> None:
        self.limits = limits
        self.input_id = input_id
        self.default_platform = default_platform
        self._valid = LastValues(PROFILE_CACHE_LIMIT)
        self._places: dict[tuple[Any, ...], Place] = {}

    def parse(self, batch: Any, line: int, key_source: bytes | None = None) -> IncomingRecord:
        """One batch as a record; raises :class:`RecordError` naming the first problem.

        ``key_source`` is the batch's text, hashed into a de-duplication key when
        the batch has no ``source_request_id``; it is given only for batches orjson
        read from a line, the ones whose profile can be fingerprinted.
        """
        if not isinstance(batch, dict):
            raise RecordError(f"a batch must be a JSON object, not {v.type_name(batch)}")
        identities, attributes, fingerprint = self._profile(batch, key_source is not None)
        user = _user(batch.get("mpid"), identities)
        device = v.json_object(batch.get("device_info"), "device_info") or {}
        platform = (v.platform_name(device.get("platform"), "device_info.platform")
                    or self.default_platform)
        _short(batch.get("environment"), ENVIRONMENT_LENGTH, "environment")
        key = _short(batch.get("source_request_id"), BATCH_KEY_LENGTH,
                     "source_request_id")
        if key is None:
            source = key_source if key_source is not None else orjson.dumps(
                batch, option=orjson.OPT_SORT_KEYS)
            key = "sha256:" + hashlib.sha256(source).hexdigest()
        events_in = batch.get("events")
        if events_in is None:
            events_in = []
        if not isinstance(events_in, list):
            raise RecordError(f"events must be a list, not {v.type_name(events_in)}")
        batch_ts = batch.get("timestamp_unixtime_ms")
        events = []
        for index, event in enumerate(events_in):
            try:
                events.append(self._event(event, platform, batch_ts))
            except RecordError as exc:
                raise RecordError(f"events[{index}].{exc}") from None
        return IncomingRecord(line=line, user=user, key=key, identities=identities,
                              attributes=attributes, events=events, profile=fingerprint)

    def _profile(self, batch: dict[str, Any], from_orjson: bool
                 ) -> tuple[Mapping[str, str], Mapping[str, Any], int | None]:
        """The batch's identities and attributes, and a fingerprint of them as sent.

        The fingerprint (a hash of the two objects re-serialised) lets the writer
        skip a profile it stored for the user already, and lets this parser skip
        checking attributes it has seen valid for the user: it remembers each
        user's last valid fingerprint (8 bytes, not the parsed profile), so that
        holds however users interleave. A profile seen valid is handed over
        unparsed (:class:`DeferredProfile`; its identities too, unless they name the
        user); only a writer that needs it parses it. Only for batches orjson read:
        another decoder's values (NaN, huge integers) may not re-serialise faithfully.
        """
        raw_identities = batch.get("user_identities")
        raw_attributes = batch.get("user_attributes")
        if not from_orjson:
            return (v.identities(raw_identities, "user_identities"),
                    v.user_attributes(raw_attributes, "user_attributes"), None)
        profile_json = orjson.dumps((raw_identities, raw_attributes))
        fingerprint = hash(profile_json)
        mpid = batch.get("mpid")
        named = mpid is not None and not isinstance(mpid, dict | list)
        who = mpid if named else repr(raw_identities)
        if self.profile_seen_valid(who, fingerprint):
            # orjson's bytes keep their 4 KiB working buffer: a part holds thousands
            # of these, so keep an exact copy.
            identities, attributes = DeferredProfile(
                memoryview(profile_json).tobytes()).mappings()
            if not named:  # the identities name the user: needed now
                identities = v.identities(raw_identities, "user_identities")
            return identities, attributes, fingerprint
        identities = v.identities(raw_identities, "user_identities")
        attributes = v.user_attributes(raw_attributes, "user_attributes")
        self.remember_valid_profile(who, fingerprint)
        return identities, attributes, fingerprint

    def profile_seen_valid(self, who: Any, fingerprint: int) -> bool:
        """Whether ``fingerprint`` is the last profile of user ``who`` found valid."""
        return self._valid.is_last(who, fingerprint)

    def remember_valid_profile(self, who: Any, fingerprint: int) -> None:
        self._valid.remember(who, fingerprint)

    def known_place(self, place: Place) -> Place:
        """``place`` (checked already) as the one tuple every event in it shares."""
        known = self._places.get(place)
        if known is None:
            if len(self._places) > PLACE_CACHE_LIMIT:
                self._places.clear()
            known = self._places[place] = place
        return known

    def _event(self, event: Any, platform: str | None, batch_ts: Any) -> IncomingEvent:
        """One event as an event row; error paths are relative (``data.…``)."""
        if event.__class__ is not dict:
            raise RecordError(f"… must be an object, not {v.type_name(event)}"[2:])
        event_type = event.get("event_type")
        if event_type not in v.EVENT_TYPES:
            if event_type is None:
                raise RecordError("event_type is missing")
            shown = event_type if isinstance(event_type, str) else v.type_name(event_type)
            raise RecordError(f"event_type {str(shown)[:40]!r} is not a known event type")
        data = event.get("data")
        if data is None:
            data = {}
        elif data.__class__ is not dict:
            raise RecordError(f"data must be an object, not {v.type_name(data)}")
        raw_ts = data.get("timestamp_unixtime_ms")
        ts = raw_ts if raw_ts is not None else batch_ts
        limits = self.limits
        if ts.__class__ is not int or not limits.min_ts_ms <= ts <= limits.max_ts_ms:
            ts = v.timestamp_ms(ts, "data.timestamp_unixtime_ms", limits)
        name = data.get("event_name")
        if name is not None:
            name = _short(name, EVENT_NAME_LENGTH, "data.event_name")
        custom_type = None
        if event_type == "custom_event":
            if not name:
                v.text(name, "data.event_name", required=True)
            custom_type = _short(data.get("custom_event_type"), CUSTOM_EVENT_TYPE_LENGTH,
                                 "data.custom_event_type")
        elif event_type == "screen_view":
            screen = _short(data.get("screen_name"), EVENT_NAME_LENGTH, "data.screen_name")
            if screen is not None:
                name = screen
            elif not name:
                v.text(None, "data.screen_name", required=True)
        attributes = v.json_object(data.get("custom_attributes"), "data.custom_attributes") or {}
        if not _EXTRA_DATA_FIELDS.isdisjoint(data.keys()):
            attributes = dict(attributes)  # copied: the batch's own dict stays as it came
            for field in EXTRA_DATA_FIELD_ORDER:
                if field in data and data[field] is not None:
                    attributes[field] = data[field]
        action = amount = None
        if event_type == "commerce_event":
            attributes = dict(attributes)
            action, amount = product_action(data.get("product_action"), "data.product_action",
                                             attributes)
        location = data.get("location")
        if location is None:
            place = NO_PLACE
        elif location.__class__ is not dict:
            raise RecordError(f"data.location must be an object, not {v.type_name(location)}")
        else:
            raw_place = (location.get("country_code"), location.get("region_code"),
                         location.get("city_name"), location.get("postal_code"))
            try:
                known = self._places.get(raw_place)
            except TypeError:  # a list or an object where text belongs: _place says so
                known = None
            # A checked place is its raw values (text is kept as sent), so it is its own key.
            place = known if known is not None else self.known_place(_place(raw_place))
        message_id = data.get("source_message_id")
        if message_id is not None:
            message_id = _short(message_id, MESSAGE_ID_LENGTH, "data.source_message_id")
        # tuple.__new__ skips the named tuple's Python-level __new__ (half the cost).
        return _new_event(IncomingEvent, (
            self.input_id, ts, event_type, name, custom_type, action, amount,
            v.attributes_json(attributes, "data.custom_attributes"),
            *place, platform, message_id,
        ))


_new_event = tuple.__new__
Place = tuple[str | None, str | None, str | None, str | None]
"""An event's (country, region, city, postal code)."""
NO_PLACE: Place = (None, None, None, None)


def _place(raw: tuple[Any, Any, Any, Any]) -> Place:
    """A location's (country, region, city, postal code), checked; raises on a bad one."""
    country, region, city, postal = raw
    return (_short(country, COUNTRY_LENGTH, "data.location.country_code"),
            _short(region, REGION_LENGTH, "data.location.region_code"),
            _short(city, CITY_LENGTH, "data.location.city_name"),
            _short(postal, POSTAL_CODE_LENGTH, "data.location.postal_code"))


def _short(value: Any, limit: int, where: str) -> str | None:
    """:func:`values.text`, with the common case (absent or a plain short string) inlined."""
    if value is None or (value.__class__ is str and len(value) <= limit
                         and "\x00" not in value):
        return value  # type: ignore[no-any-return,unused-ignore]
    return v.text(value, where, limit)


def parse_batch(
    batch: Any, line: int, key_source: bytes | None, *, limits: v.Limits,
    input_id: str, default_platform: str | None,
) -> IncomingRecord:
    """One batch as a record (see :class:`BatchParser`, which is faster for many)."""
    parser = BatchParser(limits=limits, input_id=input_id, default_platform=default_platform)
    return parser.parse(batch, line, key_source)


def _user(mpid: Any, identities: Mapping[str, str]) -> UserRef:
    if mpid is not None:
        return UserRef(v.identifier(mpid, "mpid"))
    ordered = [k for k in IDENTITY_PRIORITY if k in identities] + sorted(identities)
    if not ordered:
        raise RecordError("the batch names no user: it has no mpid and no user_identities")
    kind = ordered[0]
    return UserRef(prefixed(f"{kind}:", identities[kind]), lookup=(kind, identities[kind]))


def product_action(
    value: Any, where: str, attributes: dict[str, Any]
) -> tuple[str | None, float | None]:
    """The commerce action and total; products and other fields go into ``attributes``."""
    product_action = v.json_object(value, where)
    if product_action is None:
        return None, None
    action = v.text(product_action.get("action"), f"{where}.action",
                    COMMERCE_ACTION_LENGTH, required=True)
    if action not in v.COMMERCE_ACTIONS:
        raise RecordError(f"{where}.action {action!r} is not a known commerce action")
    amount = v.number(product_action.get("total_amount"), f"{where}.total_amount")
    products = product_action.get("products")
    if products is not None:
        if not isinstance(products, list) or not all(isinstance(p, dict) for p in products):
            raise RecordError(f"{where}.products must be a list of objects")
        attributes["products"] = products
    for name, item in product_action.items():
        if name not in ("action", "total_amount", "products") and item is not None:
            attributes[name] = item
    return action, amount


def read_file(
    source: SourceFile, *, limits: v.Limits, input_id: str, default_platform: str | None,
    places: PlaceNumbers | None = None,
) -> Iterator[IncomingRecord | tuple[int, str]]:
    """Records of a batch file, or (line, reason) for each batch that can't be stored.

    JSON lines are parsed a line at a time (fast, and a broken line costs only
    itself): by the typed fast path (app/ingest/mparticle_lines.py), or by orjson
    and :class:`BatchParser` when that path leaves a line to them (refused first when
    it holds an integer past 64 bits, which orjson reads as a rounded float). A JSON array or a
    pretty-printed document goes through the slower incremental decoder. With
    ``places`` (a parsing process that stages parts) the fast path gives events
    as staged rows.
    """
    # Imported here: the fast path builds on this module's parser.
    from app.ingest.mparticle_lines import LineParser

    parser = BatchParser(limits=limits, input_id=input_id, default_platform=default_platform)
    start = source.peek_start()
    if start.startswith(b"[") or (start.startswith(b"{") and not _reads_as_lines(source)):
        for line, item in source.json_documents():
            if isinstance(item, Oversized):
                yield line, f"the batch is too large ({item.size:,} bytes)"
            elif isinstance(item, Broken | Unacceptable):
                yield line, item.reason
            else:
                yield _parsed(parser, item, line, None)
        return
    fast = LineParser(parser, places)
    for line, raw in source.lines():
        if isinstance(raw, Oversized):
            yield line, f"the batch is too large ({raw.size:,} bytes)"
            continue
        if not raw.strip():
            continue
        record = fast.parse(raw, line)
        if record is not None:
            yield record
            continue
        try:
            batch = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield line, v.json_reason(raw, exc)
            continue
        huge = v.integer_beyond_64_bits_in(raw)  # orjson rounded it to a float
        yield (line, huge) if huge is not None else _parsed(parser, batch, line, raw)


def _parsed(
    parser: BatchParser, batch: Any, line: int, raw: bytes | None
) -> IncomingRecord | tuple[int, str]:
    try:
        return parser.parse(batch, line, raw)
    except RecordError as exc:
        return line, str(exc)
    except orjson.JSONEncodeError as exc:  # hashing the batch for its key: a huge integer
        return line, f"the batch can't be stored: {exc}"
    except RecursionError:
        return line, "the batch is nested too deeply"


def _reads_as_lines(source: SourceFile) -> bool:
    """Whether a file that starts with ``{`` is JSON lines rather than one document.

    It is when its first line is a whole JSON value, or when that line holds more than an
    opening brace and the next non-blank line is a whole JSON object: a broken first batch
    (cut off, a trailing comma, bad UTF-8) then costs only itself instead of every batch
    after it. A pretty-printed document's first line is a lone brace (or a first field),
    and its second line is a field, never a whole object.
    """
    head = source.peek(v.MAX_ATTRIBUTES_BYTES).removeprefix(b"\xef\xbb\xbf")
    lines = head.split(b"\n")
    if _whole_json(lines[0]):
        return True
    if len(lines) == 1:
        return True  # one line, or a first line longer than the peek: read it as a line
    if lines[0].strip() in (b"{", b""):
        return False
    # The last piece may be cut off by the peek: then it does not parse, which is safe.
    following = next((line.strip() for line in lines[1:] if line.strip()), b"")
    return following.startswith(b"{") and _whole_json(following)


def _whole_json(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True
