"""CSV files → records of the event store: one event a row.

The first row names the columns (the README's "Importing customer data" lists
them): fixed columns for the event, and prefixed columns for the rest —
``attr.NAME`` event attributes, ``user.NAME`` user attributes and
``identity.TYPE`` identities. A ``:type`` suffix (``user.age:number``) types a
value; without one it is a string, because guessing would turn postal codes
like 02139 into numbers. An empty cell means "no value".
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from app.core.vocabulary import (
    ATTRIBUTE_NAME_LENGTH,
    BATCH_KEY_LENGTH,
    CITY_LENGTH,
    COMMERCE_ACTION_LENGTH,
    COUNTRY_LENGTH,
    CUSTOM_EVENT_TYPE_LENGTH,
    EVENT_NAME_LENGTH,
    IDENTITY_TYPE_LENGTH,
    IDENTITY_VALUE_LENGTH,
    MESSAGE_ID_LENGTH,
    POSTAL_CODE_LENGTH,
    REGION_LENGTH,
)
from app.ingest import values as v
from app.ingest.sources import Oversized, SourceFile
from app.ingest.values import RecordError
from app.store.incoming import (
    IncomingEvent,
    IncomingRecord,
    UserRef,
    prefixed,
)

EVENT_COLUMNS = frozenset({
    "user_id", "timestamp", "event_type", "event_name", "custom_event_type",
    "commerce_action", "amount", "country", "region", "city", "postal_code", "platform",
    "message_id",
})
VALUE_TYPES = ("string", "number", "boolean", "date", "list")
PREFIXES = ("attr.", "user.", "identity.")
#: The longest name each prefixed column may give: the width that stores it.
_NAME_LENGTHS = {"attr.": ATTRIBUTE_NAME_LENGTH, "user.": ATTRIBUTE_NAME_LENGTH,
                 "identity.": IDENTITY_TYPE_LENGTH}
LIST_SEPARATOR = "|"
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


@dataclass(frozen=True, slots=True)
class Column:
    """A header cell: where its values go and how they are typed."""

    index: int
    kind: str  # "event", "attr", "user" or "identity"
    name: str
    value_type: str = "string"


class HeaderError(RecordError):
    """The header row can't be used; the file is not read."""


def parse_header(cells: list[str]) -> list[Column]:
    columns: list[Column] = []
    seen: set[str] = set()
    for index, cell in enumerate(cells):
        header = cell.strip()
        if not header:
            continue
        if header in seen:
            raise HeaderError(f"the column {header!r} appears twice")
        seen.add(header)
        if header in EVENT_COLUMNS:
            columns.append(Column(index, "event", header))
            continue
        prefix = next((p for p in PREFIXES if header.startswith(p)), None)
        if prefix is None:
            raise HeaderError(
                f"unknown column {header!r}: use the documented columns, or the prefixes "
                f"attr., user. and identity."
            )
        name, _, value_type = header[len(prefix):].partition(":")
        value_type = value_type or "string"
        if not name or value_type not in VALUE_TYPES:
            raise HeaderError(f"column {header!r}: write NAME or NAME:TYPE with a type of "
                              f"{', '.join(VALUE_TYPES)}")
        if prefix == "identity." and value_type != "string":
            raise HeaderError(f"column {header!r}: identities are strings")
        if len(name) > _NAME_LENGTHS[prefix]:
            raise HeaderError(f"column {header[:40]!r}…: the name is too long ({len(name)} "
                              f"characters, at most {_NAME_LENGTHS[prefix]})")
        columns.append(Column(index, prefix[:-1], name, value_type))
    names = {c.name for c in columns if c.kind == "event"}
    if "timestamp" not in names:
        raise HeaderError("the timestamp column is missing")
    if "user_id" not in names and not any(c.kind == "identity" for c in columns):
        raise HeaderError("there is no user_id column and no identity.TYPE column")
    return columns


def _typed(cell: str, value_type: str, where: str) -> Any:
    if value_type == "string":
        return cell
    if value_type == "number":
        try:
            number = float(cell)
        except ValueError:
            raise RecordError(f"{where} {cell[:40]!r} is not a number") from None
        digits = cell.strip().removeprefix("+")
        if digits.removeprefix("-").isdigit() and (
                len(digits) > 4000 or int(digits) not in v.INT64):
            raise RecordError(v.beyond_64_bits(where, digits))  # float() rounded it
        return v.number(number, where)
    if value_type == "boolean":
        word = cell.strip().casefold()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise RecordError(f"{where} {cell[:40]!r} is not true or false")
    if value_type == "date":
        return v.iso_timestamp_ms(cell, where, v.Limits(min_ts_ms=-(2**62), max_ts_ms=2**62))
    return [item.strip() for item in cell.split(LIST_SEPARATOR) if item.strip()]


def parse_row(
    cells: list[str], columns: list[Column], line: int, *, limits: v.Limits, input_id: str,
    default_platform: str | None,
) -> IncomingRecord:
    fields: dict[str, str] = {}
    event_attributes: dict[str, Any] = {}
    user_attributes: dict[str, dict[str, Any] | None] = {}
    identities: dict[str, str] = {}
    for column in columns:
        cell = cells[column.index] if column.index < len(cells) else ""
        if cell == "":
            continue
        if column.kind == "event":
            fields[column.name] = cell
            continue
        where = f"column {column.kind}.{column.name}"
        if column.kind == "identity":
            identities[column.name] = v.text(cell, where, IDENTITY_VALUE_LENGTH,
                                             required=True) or ""
            continue
        value = _typed(cell, column.value_type, where)
        if column.kind == "attr":
            # Dates stay as written (validated ISO-8601), as they would in JSON.
            event_attributes[column.name] = cell if column.value_type == "date" else value
        elif column.value_type == "date":
            user_attributes[column.name] = v.date_attribute(value)
        else:
            user_attributes[column.name] = v.user_attribute(value, where, detect_dates=False)
    user = _user(fields.get("user_id"), identities)
    ts = _timestamp(fields.get("timestamp"), limits)
    event_type = fields.get("event_type", "custom_event")
    if event_type not in v.EVENT_TYPES:
        raise RecordError(f"event_type {event_type[:40]!r} is not a known event type")
    name = v.text(fields.get("event_name"), "event_name", EVENT_NAME_LENGTH,
                  required=event_type in ("custom_event", "screen_view"))
    action = v.text(fields.get("commerce_action"), "commerce_action",
                    COMMERCE_ACTION_LENGTH)
    if action is not None and action not in v.COMMERCE_ACTIONS:
        raise RecordError(f"commerce_action {action!r} is not a known commerce action")
    amount = _typed(fields["amount"], "number", "amount") if "amount" in fields else None
    message_id = v.text(fields.get("message_id"), "message_id", MESSAGE_ID_LENGTH)
    key = prefixed("csv:", message_id, BATCH_KEY_LENGTH) if message_id is not None else (
        "sha256:" + hashlib.sha256(orjson.dumps(cells)).hexdigest())
    event = IncomingEvent(
        input_id=input_id,
        ts_ms=ts,
        event_type=event_type,
        event_name=name,
        custom_event_type=v.text(fields.get("custom_event_type"), "custom_event_type",
                                 CUSTOM_EVENT_TYPE_LENGTH),
        commerce_action=action,
        amount=amount,
        attributes=v.attributes_json(event_attributes, "attr."),
        country=v.text(fields.get("country"), "country", COUNTRY_LENGTH),
        region=v.text(fields.get("region"), "region", REGION_LENGTH),
        city=v.text(fields.get("city"), "city", CITY_LENGTH),
        postal_code=v.text(fields.get("postal_code"), "postal_code", POSTAL_CODE_LENGTH),
        platform=v.platform_name(fields.get("platform"), "platform") or default_platform,
        message_id=message_id,
    )
    return IncomingRecord(line=line, user=user, key=key, identities=identities,
                          attributes=user_attributes, events=[event])


def _user(user_id: str | None, identities: dict[str, str]) -> UserRef:
    if user_id is not None:
        return UserRef(v.identifier(user_id, "user_id"))
    if not identities:
        raise RecordError("the row names no user: user_id and every identity column are empty")
    kind = sorted(identities)[0] if "customer_id" not in identities else "customer_id"
    return UserRef(prefixed(f"{kind}:", identities[kind]), lookup=(kind, identities[kind]))


def _timestamp(cell: str | None, limits: v.Limits) -> int:
    if cell is None:
        raise RecordError("timestamp is empty")
    stripped = cell.strip()
    if stripped.isdigit():
        return v.timestamp_ms(int(stripped), "timestamp", limits)
    return v.iso_timestamp_ms(stripped, "timestamp", limits)


def read_file(
    source: SourceFile, *, limits: v.Limits, input_id: str, default_platform: str | None,
) -> Iterator[IncomingRecord | tuple[int, str]]:
    """Records of a CSV file, or (line, reason) for each row that can't be stored."""
    bad_lines: set[int] = set()
    oversized: dict[int, int] = {}

    def text_lines() -> Iterator[str]:
        for number, raw in source.lines():
            if isinstance(raw, Oversized):
                oversized[number] = raw.size
                yield "\n"
                continue
            try:
                yield raw.decode("utf-8") + "\n"
            except UnicodeDecodeError:
                bad_lines.add(number)
                yield raw.decode("utf-8", "replace") + "\n"

    reader = csv.reader(text_lines(), strict=True)
    columns: list[Column] | None = None
    last_line = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield last_line + 1, f"broken CSV: {exc}"  # where the broken row starts
            last_line = reader.line_num
            continue
        first, last_line = last_line + 1, reader.line_num
        if bad_lines or oversized:
            _forget_before(first, bad_lines, oversized)
        if columns is None:
            try:
                if bad_lines:
                    raise HeaderError("not valid UTF-8 text")
                columns = parse_header(cells)
            except HeaderError as exc:
                yield first, f"bad header, nothing imported: {exc}"
                return
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if any(first <= n <= last_line for n in oversized):
            yield first, "the row is too large"
            continue
        if bad_lines and any(first <= n <= last_line for n in bad_lines):
            yield first, "not valid UTF-8 text"
            continue
        try:
            yield parse_row(cells, columns, first, limits=limits, input_id=input_id,
                            default_platform=default_platform)
        except RecordError as exc:
            yield first, str(exc)


def _forget_before(line: int, bad_lines: set[int], oversized: dict[int, int]) -> None:
    """Drop marks of lines before ``line``: memory stays bounded however many there are."""
    for number in [n for n in bad_lines if n < line]:
        bad_lines.discard(number)
    for number in [n for n in oversized if n < line]:
        del oversized[number]
