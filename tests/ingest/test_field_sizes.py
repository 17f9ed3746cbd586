"""Every text an importer accepts fits the column that stores it, on every database.

The importers' checks and the columns' widths both come from app/core/vocabulary.py;
these tests fill each field to its size (stored alike on SQLite and PostgreSQL) and one
character past it (the record is refused with a reason, on both).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core import vocabulary as words
from app.ingest.csv_format import HeaderError, parse_header
from app.ingest.importer import import_files
from app.store import Database
from app.store.event_tables import EventRow
from tests.ingest.conftest import Stored

WEB = "in-streaming-web"
TS = "1793000000000"
IDENTITY_TYPE = "i" * words.IDENTITY_TYPE_LENGTH
ATTRIBUTE = "a" * words.ATTRIBUTE_NAME_LENGTH

#: CSV column → the size the importer checks it against.
SIZES = {
    "user_id": words.EXTERNAL_ID_LENGTH,
    "event_name": words.EVENT_NAME_LENGTH,
    "custom_event_type": words.CUSTOM_EVENT_TYPE_LENGTH,
    "country": words.COUNTRY_LENGTH,
    "region": words.REGION_LENGTH,
    "city": words.CITY_LENGTH,
    "postal_code": words.POSTAL_CODE_LENGTH,
    "platform": words.PLATFORM_LENGTH,
    "message_id": words.MESSAGE_ID_LENGTH,
    f"identity.{IDENTITY_TYPE}": words.IDENTITY_VALUE_LENGTH,
    f"user.{ATTRIBUTE}": words.TEXT_VALUE_LENGTH,
}


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, ["timestamp", *SIZES], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _full(column: str, size: int, row: int = 0) -> str:
    """A value of exactly ``size`` characters, different on each row."""
    return f"{row}-{column[:8]}".ljust(size, "x")


def test_every_field_at_its_size_is_stored_whole(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    row = {"timestamp": TS, **{column: _full(column, size) for column, size in SIZES.items()}}
    path = write("full.csv", _csv([row]))

    summary = import_files(db, [path], format="csv", input_id=WEB)

    assert (summary.records_imported, summary.records_rejected) == (1, 0)
    user = row["user_id"]
    assert list(stored.users()) == [user]
    assert stored.identities(user) == {IDENTITY_TYPE: row[f"identity.{IDENTITY_TYPE}"]}
    assert stored.attributes(user) == {ATTRIBUTE: ("string", row[f"user.{ATTRIBUTE}"])}
    [event] = stored.events()
    for column in ("event_name", "custom_event_type", "country", "region", "city",
                   "postal_code", "platform", "message_id"):
        assert getattr(event, column) == row[column], column
    assert stored.count(EventRow) == 1


def test_a_field_one_character_too_long_refuses_its_record_alike_on_every_database(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    rows = []
    for n, (long_column, size) in enumerate(SIZES.items(), start=1):
        row = {"timestamp": TS, "user_id": f"u{n}", "event_name": "Watch"}
        row[long_column] = _full(long_column, size + 1, n)
        rows.append(row)
    path = write("long.csv", _csv(rows))

    summary = import_files(db, [path], format="csv", input_id=WEB)

    assert (summary.records_imported, summary.records_rejected) == (0, len(SIZES))
    reasons = [rejection.reason for rejection in summary.rejections]
    assert len(reasons) == len(SIZES) and all("too long" in reason for reason in reasons), reasons
    assert stored.count(EventRow) == 0


@pytest.mark.parametrize(("header", "size"), [
    ("identity.", words.IDENTITY_TYPE_LENGTH), ("user.", words.ATTRIBUTE_NAME_LENGTH),
    ("attr.", words.ATTRIBUTE_NAME_LENGTH),
])
def test_a_column_naming_an_identity_type_or_attribute_too_long_for_its_column_is_refused(
    header: str, size: int
) -> None:
    assert parse_header(["timestamp", "user_id", header + "n" * size])
    with pytest.raises(HeaderError, match="too long"):
        parse_header(["timestamp", "user_id", header + "n" * (size + 1)])
