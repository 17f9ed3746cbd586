"""Segment calls: identify, track, page, screen; userId/anonymousId; messageId; bad calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.ingest.importer import import_files
from app.store import Database
from app.store.event_tables import EventRow
from tests.ingest.conftest import Stored

WEB = "in-streaming-web"

CALLS: list[dict[str, Any]] = [
    {"type": "page", "anonymousId": "anon-1", "messageId": "m1", "name": "Pricing",
     "timestamp": "2026-10-27T08:00:00Z", "properties": {"path": "/pricing"},
     "context": {"location": {"country": "US", "region": "CA", "city": "San Diego"}}},
    {"type": "identify", "userId": "u-1", "anonymousId": "anon-1", "messageId": "m2",
     "timestamp": "2026-10-27T10:05:00+02:00",
     "traits": {"email": "mia@example.com", "plan": "trial", "age": 29, "newsletter": True,
                "signup_date": "2026-10-27", "address": {"city": "San Diego",
                                                          "postalCode": "92101"}}},
    {"type": "track", "userId": "u-1", "messageId": "m3", "event": "Sign up for trial",
     "timestamp": "2026-10-27T08:06:00.250Z", "properties": {"plan": "basic"},
     "context": {"os": {"name": "iOS"}}},
    {"type": "track", "userId": "u-1", "messageId": "m4", "event": "Order Completed",
     "timestamp": "2026-10-27T08:07:00Z", "properties": {"total": 14.99, "currency": "USD"}},
    {"type": "screen", "anonymousId": "anon-1", "messageId": "m5", "name": "Player",
     "originalTimestamp": "2026-10-27T08:08:00Z"},
]


def _lines(*calls: Any) -> str:
    return "".join(json.dumps(c) + "\n" for c in calls)


def _import(db: Database, *paths: Path, chunk_size: int = 10_000) -> Any:
    return import_files(db, paths, format="segment", input_id=WEB, chunk_size=chunk_size)


@pytest.mark.parametrize("chunk_size", [1, 10_000], ids=["call-by-call", "one-chunk"])
def test_every_call_type_and_field_is_stored(
    chunk_size: int, db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    summary = _import(db, write("calls.jsonl", _lines(*CALLS)), chunk_size=chunk_size)

    assert (summary.records_imported, summary.events_imported, summary.records_rejected) == (
        5, 4, 0)
    # The page view came before identify, under the anonymous id; the screen view after
    # it finds the identified user through the anonymousId identify recorded.
    assert sorted(stored.users()) == ["anonymous:anon-1", "u-1"]
    assert stored.identities("u-1") == {
        "customer_id": "u-1", "anonymous_id": "anon-1", "email": "mia@example.com"}
    attributes = stored.attributes("u-1")
    assert attributes["plan"] == ("string", "trial")
    assert attributes["age"] == ("number", 29.0)
    assert attributes["newsletter"] == ("boolean", True)
    assert attributes["signup_date"] == ("date", 1_793_059_200_000)
    assert attributes["address.postalCode"] == ("string", "92101")

    page, signup, order, screen = stored.events()
    assert (page.event_type, page.event_name, page.external_id) == (
        "screen_view", "Pricing", "anonymous:anon-1")
    assert (page.country, page.region, page.city) == ("US", "CA", "San Diego")
    assert page.attributes == {"path": "/pricing"}
    assert page.platform == "Web"  # the input's platform when the call names none
    assert (signup.event_type, signup.event_name, signup.message_id) == (
        "custom_event", "Sign up for trial", "m3")
    assert signup.ts_ms == 1_793_088_360_250  # 2026-10-27T08:06:00.250Z
    assert signup.platform == "iOS"
    assert (order.event_type, order.commerce_action, order.amount, order.event_name) == (
        "commerce_event", "purchase", 14.99, "Order Completed")
    assert (screen.event_name, screen.external_id) == ("Player", "u-1")


def test_same_file_twice_stores_each_event_once(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    path = write("calls.jsonl", _lines(*CALLS))
    _import(db, path)

    again = _import(db, path)

    assert (again.records_imported, again.records_duplicated) == (0, 5)
    assert stored.count(EventRow) == 4


@pytest.mark.parametrize(("bad", "reason"), [
    ('{"type": "track", "userId": "u"', "broken JSON"),
    ({"type": "alias", "userId": "u", "timestamp": "2026-10-27T08:00:00Z"},
     "type 'alias' is not a supported call"),
    ({"type": "track", "event": "x", "timestamp": "2026-10-27T08:00:00Z"},
     "the call names no user"),
    ({"type": "track", "userId": "u", "timestamp": "2026-10-27T08:00:00Z"},
     "event is missing"),
    ({"type": "track", "userId": "u", "event": "x", "timestamp": "last tuesday"},
     "timestamp 'last tuesday' is not an ISO-8601 timestamp"),
    ({"type": "track", "userId": "u", "event": "x", "timestamp": "1999-12-31T00:00:00Z"},
     "is out of range"),
    ({"type": "track", "userId": 3.5, "event": "x", "timestamp": "2026-10-27T08:00:00Z"},
     "userId must be a string, not a number"),
    ({"type": "track", "userId": "u", "event": "x" * 256, "timestamp": "2026-10-27T08:00Z"},
     "event is too long"),
    (b'{"type": "track", "userId": "\xff", "event": "x"}', "not valid UTF-8 text"),
])
def test_bad_call_is_reported_and_not_stored(
    bad: Any, reason: str, db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    raw = bad if isinstance(bad, bytes) else (bad if isinstance(bad, str) else json.dumps(bad)
                                              ).encode()
    path = write("calls.jsonl", _lines(CALLS[2]).encode() + raw + b"\n")

    summary = _import(db, path)

    assert len(summary.rejections) == 1
    assert str(summary.rejections[0]).startswith(f"{path}:2: ")
    assert reason in summary.rejections[0].reason
    assert stored.count(EventRow) == 1
