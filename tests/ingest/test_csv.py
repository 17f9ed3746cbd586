"""CSV rows: the documented columns, prefixed attribute columns, types, bad rows and headers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.ingest.importer import import_files
from app.store import Database
from app.store.event_tables import EventRow
from tests.ingest.conftest import Stored

ANDROID = "in-streaming-android"

HEADER = ("user_id,timestamp,event_type,event_name,custom_event_type,commerce_action,amount,"
          "country,region,city,postal_code,platform,message_id,attr.title,attr.minutes:number,"
          "user.plan,user.age:number,user.vip:boolean,user.signup:date,user.genres:list,"
          "user.zip,identity.email\n")


def _import(db: Database, *paths: Path) -> Any:
    return import_files(db, paths, format="csv", input_id=ANDROID)


def test_every_column_is_stored(db: Database, stored: Stored, write: Callable[..., Path]) -> None:
    path = write("events.csv", HEADER + (
        'u1,2026-10-27T08:00:00Z,custom_event,Watch content,media,,,US,CA,"Los Angeles",'
        '90012,,e1,"Ocean Deep, part 2",42,trial,31,yes,2026-10-01,Drama|Sci-fi,02139,'
        'u1@example.com\n'
        "u1,1793088100000,commerce_event,Subscribe,,purchase,9.99,,,,,android,e2,,,paid,,,,,"
        ",\n"
        "u2,2026-10-27 09:00:00+00:00,screen_view,Home,,,,,,,,,,,,,,,,,,\n"
    ))

    summary = _import(db, path)

    assert (summary.records_imported, summary.events_imported, summary.records_rejected) == (
        3, 3, 0)
    watch, subscribe, home = stored.events()
    assert (watch.external_id, watch.event_type, watch.event_name, watch.custom_event_type) == (
        "u1", "custom_event", "Watch content", "media")
    assert watch.ts_ms == 1_793_088_000_000
    assert (watch.country, watch.region, watch.city, watch.postal_code) == (
        "US", "CA", "Los Angeles", "90012")
    assert watch.attributes == {"title": "Ocean Deep, part 2", "minutes": 42.0}
    assert (watch.message_id, watch.platform) == ("e1", "Android")
    assert (subscribe.commerce_action, subscribe.amount, subscribe.ts_ms) == (
        "purchase", 9.99, 1_793_088_100_000)
    assert (home.event_type, home.event_name, home.external_id) == ("screen_view", "Home", "u2")
    assert stored.identities("u1") == {"email": "u1@example.com"}
    attributes = stored.attributes("u1")
    assert attributes["plan"] == ("string", "paid")  # the later row wins
    assert attributes["age"] == ("number", 31.0)
    assert attributes["vip"] == ("boolean", True)
    assert attributes["signup"] == ("date", 1_790_812_800_000)
    assert attributes["genres"] == ("list", ["Drama", "Sci-fi"])
    assert attributes["zip"] == ("string", "02139")  # not turned into a number


def test_same_file_twice_stores_each_row_once(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    path = write("events.csv", "user_id,timestamp,event_name\n"
                 "u1,2026-10-27T08:00:00Z,Watch content\nu2,2026-10-27T08:00:00Z,Watch content\n")
    _import(db, path)

    again = _import(db, path)

    assert again.records_duplicated == 2
    assert stored.count(EventRow) == 2


@pytest.mark.parametrize(("row", "reason"), [
    ("u1,,Watch content", "timestamp is empty"),
    (",2026-10-27T08:00:00Z,Watch content", "the row names no user"),
    ("u1,2026-10-27T08:00:00Z,", "event_name is missing"),
    ("u1,yesterday,Watch content", "timestamp 'yesterday' is not an ISO-8601 timestamp"),
    ("u1,1999-01-01T00:00:00Z,Watch content", "is out of range"),
    ("u1,2026-10-27T08:00:00Z,Watch content,lots", "column attr.n 'lots' is not a number"),
    ("u1,2026-10-27T08:00:00Z," + "x" * 300, "event_name is too long"),
    ('u1,2026-10-27T08:00:00Z,"unclosed', "broken CSV"),
])
def test_bad_row_is_reported_and_not_stored(
    row: str, reason: str, db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    path = write("events.csv", "user_id,timestamp,event_name,attr.n:number\n"
                 "u0,2026-10-27T08:00:00Z,Watch content,1\n" + row + "\n")

    summary = _import(db, path)

    assert len(summary.rejections) == 1
    assert str(summary.rejections[0]).startswith(f"{path}:3: ")
    assert reason in summary.rejections[0].reason
    assert stored.count(EventRow) == 1


def test_bad_encoding_is_reported(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    path = write("events.csv", b"user_id,timestamp,event_name\n"
                 b"u\xff,2026-10-27T08:00:00Z,Watch\nu2,2026-10-27T08:00:00Z,Watch\n")

    summary = _import(db, path)

    assert [str(r) for r in summary.rejections] == [f"{path}:2: not valid UTF-8 text"]
    assert sorted(stored.users()) == ["u2"]


@pytest.mark.parametrize(("header", "reason"), [
    ("user_id,timestamp,colour", "unknown column 'colour'"),
    ("user_id,event_name", "the timestamp column is missing"),
    ("timestamp,event_name", "there is no user_id column"),
    ("user_id,timestamp,user.age:integer", "column 'user.age:integer'"),
])
def test_bad_header_rejects_the_file(
    header: str, reason: str, db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    path = write("events.csv", header + "\nu1,2026-10-27T08:00:00Z,x\n")

    summary = _import(db, path)

    assert len(summary.rejections) == 1
    assert str(summary.rejections[0]).startswith(f"{path}:1: bad header, nothing imported: ")
    assert reason in summary.rejections[0].reason
    assert stored.count(EventRow) == 0


def test_broken_csv_row_in_the_middle_is_reported_and_the_rest_imported(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    path = write("events.csv", "user_id,timestamp,event_name\n"
                 "u1,2026-10-27T08:00:00Z,Watch\n"
                 'u2,"2026-10-27T08:00:00Z"x,Watch\n'
                 "u3,2026-10-27T08:00:00Z,Watch\n")

    summary = _import(db, path)

    assert [str(r).split(": ", 1)[0] for r in summary.rejections] == [f"{path}:3"]
    assert "broken CSV" in summary.rejections[0].reason
    assert sorted(stored.users()) == ["u1", "u3"]
