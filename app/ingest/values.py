"""Checking and normalising the values of incoming records.

Every format's parser goes through these helpers, so the rules (and the words
of the rejection reasons) are the same for mParticle, Segment and CSV. A bad
value raises :class:`RecordError`; the importer skips the whole record and
reports ``file:line: reason``. Limits match the column sizes of the event
store (both come from app/core/vocabulary.py), so nothing that passes here can
fail in the database (PostgreSQL would refuse an over-long value and take the
whole chunk down with it).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson

from app.core import vocabulary as words
from app.core.vocabulary import (
    ATTRIBUTE_NAME_LENGTH,
    EXTERNAL_ID_LENGTH,
    IDENTITY_TYPE_LENGTH,
    IDENTITY_VALUE_LENGTH,
    PLATFORM_LENGTH,
    SHORT_TEXT,
    TEXT_VALUE_LENGTH,
)

#: 2000-01-01T00:00:00Z. Earlier "milliseconds" are nearly always seconds sent by mistake.
MIN_TIMESTAMP_MS = 946_684_800_000
#: How far past the import's clock an event may be (devices with a fast clock).
FUTURE_TOLERANCE_MS = 24 * 3600 * 1000
#: Largest JSON of one event's attributes.
MAX_ATTRIBUTES_BYTES = 64 * 1024
#: The longest attribute name (event and user attributes alike).
MAX_NAME = ATTRIBUTE_NAME_LENGTH
MAX_LIST_ITEMS = 1000
_SHORTEST_LIMIT = min(MAX_NAME, TEXT_VALUE_LENGTH)

#: The core's vocabulary as sets, for the membership checks of every event.
EVENT_TYPES = frozenset(words.EVENT_TYPES)
COMMERCE_ACTIONS = frozenset(words.COMMERCE_ACTIONS)
_PLATFORMS = words.PLATFORM_SPELLINGS
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                       r"(?:Z|[+-]\d{2}:?\d{2})?)?")


class RecordError(ValueError):
    """A record that cannot be stored; the message is the reason shown to the user."""


INT64 = range(-(2**63), 2**64)
"""Integers that a 64-bit column (signed, or an unsigned mpid) can hold. orjson reads
larger ones as rounded floats, which would be stored as numbers nobody sent."""
_LONG_NUMBER = re.compile(rb"-?[0-9]{19,}")
"""Digits that may spell an integer outside :data:`INT64` (it has at least 19)."""


def beyond_64_bits(where: str, digits: object) -> str:
    """The reason a record is refused for an integer past 64 bits, naming its field."""
    shown = str(digits)
    if len(shown) > 24:
        shown = shown[:24] + "…"
    reason = f"the integer {shown} is beyond 64 bits"
    return f"{where}: {reason}" if where else reason


class HugeInteger(str):
    """The digits of an integer past 64 bits, standing in its place in a value decoded by
    a reader that keeps them as written (Python's ``int`` refuses 4,300 digits or more)."""


def json_integer(digits: str) -> int | HugeInteger:
    """A JSON integer's value, or its digits as a :class:`HugeInteger` past 64 bits."""
    if len(digits) < 20 or (len(digits) <= 21 and int(digits) in INT64):
        return int(digits)
    return HugeInteger(digits)


def integer_beyond_64_bits(value: Any) -> str | None:
    """Why a decoded JSON value is refused, when it holds an integer past 64 bits
    anywhere (exact, or a :class:`HugeInteger`), naming the first one's path
    (``events[0].data.x``); else None.

    Walks iteratively: the value may nest as deeply as its reader allowed."""
    pending: list[tuple[Any, str]] = [(value, "")]
    while pending:
        item, where = pending.pop()
        if (item.__class__ is int and item not in INT64) or item.__class__ is HugeInteger:
            return beyond_64_bits(where, item)
        if isinstance(item, dict):
            pending.extend((child, f"{where}.{str(name)[:40]}" if where else str(name)[:40])
                           for name, child in reversed(item.items()))
        elif isinstance(item, list):
            pending.extend((child, f"{where}[{index}]")
                           for index, child in reversed(list(enumerate(item))))
    return None


def has_integer_beyond_64_bits(raw: bytes) -> bool:
    """Whether a run of digits in ``raw`` spells an integer outside :data:`INT64`.

    A look at the text, not the JSON: digits inside a string count too, which only
    sends such a line to a reader that decodes it and knows better."""
    return any(len(digits) > 21 or int(digits) not in INT64
               for digits in _LONG_NUMBER.findall(raw))


def integer_beyond_64_bits_in(raw: bytes) -> str | None:
    """:func:`integer_beyond_64_bits` for one JSON text, for readers that take such an
    integer as a rounded float (orjson): the reason, or None (also for broken JSON,
    which the reader then refuses in its own words).

    Called for every line a reader parses, so it looks at the digits first: a line
    whose every run of 19 or more digits fits in 64 bits (mpids have 19) is decoded
    no further."""
    if not has_integer_beyond_64_bits(raw):
        return None
    try:
        value = msgspec.json.decode(raw)  # integers exact, at any size
    except (msgspec.MsgspecError, RecursionError, ValueError):
        return None
    return integer_beyond_64_bits(value)


@dataclass(frozen=True, slots=True)
class Limits:
    """The time range accepted for events, fixed once per import."""

    min_ts_ms: int = MIN_TIMESTAMP_MS
    max_ts_ms: int = field(
        default_factory=lambda: int(time.time() * 1000) + FUTURE_TOLERANCE_MS
    )


def type_name(value: Any) -> str:
    """How a JSON value's type is named in a reason."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def text(value: Any, where: str, limit: int = SHORT_TEXT, *, required: bool = False) -> str | None:
    """A string field: None when absent (unless required), else checked for type and size."""
    if value is None:
        if required:
            raise RecordError(f"{where} is missing")
        return None
    if not isinstance(value, str):
        raise RecordError(f"{where} must be a string, not {type_name(value)}")
    if len(value) > limit:
        raise RecordError(f"{where} is too long ({len(value)} characters, at most {limit})")
    if "\x00" in value:
        raise RecordError(f"{where} contains a NUL character")
    if required and not value.strip():
        raise RecordError(f"{where} is empty")
    return value


def identifier(value: Any, where: str) -> str:
    """A user id: a non-empty string or an integer (MPIDs are 64-bit integers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value not in INT64:
            raise RecordError(beyond_64_bits(where, value))
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) >= 2**63:
        # orjson reads integers past 64 bits as floats
        raise RecordError(f"{where} is an integer beyond 64 bits")
    result = text(value, where, EXTERNAL_ID_LENGTH, required=True)
    assert result is not None
    return result


def timestamp_ms(value: Any, where: str, limits: Limits) -> int:
    """Integer UTC milliseconds within the accepted range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        if value is None:
            raise RecordError(f"{where} is missing")
        raise RecordError(f"{where} must be a number of milliseconds, not {type_name(value)}")
    if value != value or value in (float("inf"), float("-inf")):
        raise RecordError(f"{where} is not a number")
    ms = int(value)
    check_time_range(ms, where, limits)
    return ms


def check_time_range(ms: int, where: str, limits: Limits) -> None:
    if ms < limits.min_ts_ms or ms > limits.max_ts_ms:
        shown = _shown_time(ms)
        raise RecordError(
            f"{where} {ms} ({shown}) is out of range: events must lie between 2000-01-01 "
            f"and one day after the import"
        )


def _shown_time(ms: int) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return "not a representable date"


def iso_timestamp_ms(value: Any, where: str, limits: Limits) -> int:
    """An ISO-8601 date-time (``Z`` or an offset; no offset means UTC) as UTC milliseconds."""
    if not isinstance(value, str):
        if value is None:
            raise RecordError(f"{where} is missing")
        raise RecordError(f"{where} must be an ISO-8601 string, not {type_name(value)}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RecordError(f"{where} {value[:40]!r} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ms = int(moment.timestamp() * 1000)
    check_time_range(ms, where, limits)
    return ms


def number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"{where} must be a number, not {type_name(value)}")
    if value != value or value in (float("inf"), float("-inf")):
        raise RecordError(f"{where} is not a finite number")
    if isinstance(value, int) and value not in INT64:
        raise RecordError(beyond_64_bits(where, value))
    return float(value)


def platform_name(value: Any, where: str) -> str | None:
    """The platform as inputs spell it (``web`` → ``Web``); unknown names are kept."""
    name = text(value, where, PLATFORM_LENGTH)
    if name is None:
        return None
    return _PLATFORMS.get(name.casefold(), name)


def json_object(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RecordError(f"{where} must be an object, not {type_name(value)}")
    return value


def attributes_json(values: dict[str, Any], where: str) -> str | None:
    """Event attributes serialised for the ``attributes`` JSON column (None when empty).

    Values may be strings, numbers, booleans, null, or lists and objects of them;
    string values are limited like every text column.
    """
    if not values:
        return None
    try:
        encoded = orjson.dumps(values)
    except TypeError as exc:
        raise RecordError(f"{where} can't be stored: {exc}") from None
    if len(encoded) > _SHORTEST_LIMIT:
        # Only text this long can hold an over-long name or value: check them then.
        for name, value in values.items():
            if len(name) > MAX_NAME:
                raise RecordError(f"{where}: the attribute name {name[:40]!r}… is too long")
            if isinstance(value, str) and len(value) > TEXT_VALUE_LENGTH:
                raise RecordError(
                    f"{where}.{name} is too long ({len(value)} characters, at most "
                    f"{TEXT_VALUE_LENGTH})"
                )
        if len(encoded) > MAX_ATTRIBUTES_BYTES:
            raise RecordError(f"{where} is too large ({len(encoded):,} bytes, at most "
                              f"{MAX_ATTRIBUTES_BYTES:,})")
    return encoded.decode()


_VALUE_COLUMNS = {"string": "text_value", "number": "number_value", "boolean": "bool_value",
                  "date": "date_ms", "list": "list_value"}
"""The column of a ``user_attributes`` row that holds a value of each type."""


def attribute_row(value_type: str, value: Any) -> dict[str, Any]:
    """A ``user_attributes`` row (without user and name): ``value`` in its type's column."""
    row: dict[str, Any] = {"value_type": value_type, "text_value": None, "number_value": None,
                           "bool_value": None, "date_ms": None, "list_value": None}
    row[_VALUE_COLUMNS[value_type]] = value
    return row


def date_attribute(ms: int) -> dict[str, Any]:
    """A ``user_attributes`` row for a date (UTC milliseconds)."""
    return attribute_row("date", ms)


def user_attribute(value: Any, where: str, *, detect_dates: bool = True) -> dict[str, Any] | None:
    """A ``user_attributes`` row (without user and name) for a JSON value; None removes.

    JSON has no date type, so with ``detect_dates`` strings that are ISO-8601 dates
    (``2024-03-01``, ``2024-03-01T12:00:00Z``) are stored as dates and date
    criteria work on them; other strings stay strings.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return attribute_row("boolean", value)
    if isinstance(value, int | float):
        return attribute_row("number", number(value, where))
    if isinstance(value, str):
        text(value, where, TEXT_VALUE_LENGTH)
        moment = _iso_date_ms(value) if detect_dates else None
        return attribute_row("string", value) if moment is None else date_attribute(moment)
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            raise RecordError(
                f"{where} has too many items ({len(value)}, at most {MAX_LIST_ITEMS})")
        items = []
        for index, item in enumerate(value):
            if isinstance(item, dict | list) or item is None:
                raise RecordError(f"{where}[{index}] must be a string, number or boolean, "
                                  f"not {type_name(item)}")
            shown = item if isinstance(item, str) else orjson.dumps(item).decode()
            text(shown, f"{where}[{index}]", TEXT_VALUE_LENGTH)
            items.append(shown)
        return attribute_row("list", orjson.dumps(items).decode())
    raise RecordError(f"{where} must be a string, number, boolean or list, "
                      f"not {type_name(value)}")


def _iso_date_ms(value: str) -> int | None:
    if not _ISO_DATE.fullmatch(value):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def user_attributes(values: Any, where: str) -> dict[str, dict[str, Any] | None]:
    """A map of user attributes (name → row, None to remove) from a JSON object.

    Every changed profile of an import comes through here (about ten attributes
    each), so the usual values take :func:`_plain_attribute`, which names no
    place; anything it does not vouch for goes through the full checks, which
    say where the problem is.
    """
    mapping = json_object(values, where)
    if not mapping:
        return {}
    result: dict[str, dict[str, Any] | None] = {}
    for name, value in mapping.items():
        if not (name.__class__ is str and 0 < len(name) <= MAX_NAME and "\x00" not in name
                and not name.isspace()):
            text(name, f"{where} name", MAX_NAME, required=True)
        row = _plain_attribute(value)
        result[name] = row if row is not _CHECK else user_attribute(value, f"{where}.{name}")
    return result


_CHECK: dict[str, Any] = {}
"""What :func:`_plain_attribute` returns for a value it leaves to the full checks."""


def _plain_attribute(value: Any) -> dict[str, Any] | None:
    """:func:`user_attribute`'s row for a value that plainly passes its checks, else _CHECK."""
    kind = value.__class__
    if value is None:
        return None
    if kind is str:
        if len(value) > TEXT_VALUE_LENGTH or "\x00" in value:
            return _CHECK
        # Only what could be an ISO date goes to the date check (a pattern, then a parse).
        moment = _iso_date_ms(value) if len(value) >= 10 and value[4] == "-" else None
        return attribute_row("string", value) if moment is None else date_attribute(moment)
    if kind is bool:
        return attribute_row("boolean", value)
    if (kind is int and -(2**63) <= value < 2**64) or (kind is float and value - value == 0):
        return attribute_row("number", float(value))
    if kind is list and len(value) <= MAX_LIST_ITEMS and all(
            item.__class__ is str and len(item) <= TEXT_VALUE_LENGTH and "\x00" not in item
            for item in value):
        return attribute_row("list", orjson.dumps(value).decode())
    return _CHECK


def identities(values: Any, where: str) -> dict[str, str]:
    """Identity type → value from a JSON object; null values are left out."""
    mapping = json_object(values, where)
    if not mapping:
        return {}
    result: dict[str, str] = {}
    for kind, value in mapping.items():
        if value is None:
            continue
        text(kind, f"{where} type", IDENTITY_TYPE_LENGTH, required=True)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        checked = text(value, f"{where}.{kind}", IDENTITY_VALUE_LENGTH, required=True)
        assert checked is not None
        result[kind] = checked
    return result


def json_reason(raw: bytes, exc: ValueError) -> str:
    """Why a line is not JSON: bad encoding, or where the JSON breaks."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not valid UTF-8 text"
    message = getattr(exc, "msg", str(exc))
    column = getattr(exc, "colno", None)
    at = getattr(exc, "pos", None)
    if isinstance(at, int):
        # JSON has no NaN or Infinity, though some writers put them there: say so.
        ahead = raw[max(0, at - 1):at + 9].lstrip(b":, [-")
        constant = next((c for c in (b"NaN", b"Infinity") if ahead.startswith(c)), None)
        if constant is not None:
            message = f"{constant.decode()} is not a JSON number"
    if message == "depth limit exceeded":
        message = "the batch is nested too deeply"
    return f"broken JSON: {message}" + (f" (column {column})" if column else "")
