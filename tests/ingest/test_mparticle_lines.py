"""The typed fast path for mParticle JSON lines gives exactly the parser's records.

app/ingest/mparticle_lines.py may only accept what :class:`BatchParser` accepts,
and must build the same record from it; anything else it leaves to the parser
(returns None), which then stores it or names the problem as before.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest

from app.ingest.demo_data import demo_batches
from app.ingest.mparticle import BatchParser
from app.ingest.mparticle_lines import LineParser
from app.ingest.values import Limits, RecordError
from app.store.incoming import IncomingRecord

INPUT = "in-streaming-ios"


def _parsers() -> tuple[LineParser, BatchParser]:
    """A fast path and a separate full parser (so neither remembers the other's profiles)."""
    limits = Limits()
    fast = LineParser(BatchParser(limits=limits, input_id=INPUT, default_platform="iOS"))
    full = BatchParser(limits=limits, input_id=INPUT, default_platform="iOS")
    return fast, full


def _stored(record: IncomingRecord) -> tuple[Any, ...]:
    """What the writer stores of a record (the profile fingerprint differs by design)."""
    return (record.line, record.user, record.key, dict(record.identities),
            dict(record.attributes), record.events)


def _full(full: BatchParser, raw: bytes, line: int = 1) -> IncomingRecord | str:
    try:
        return full.parse(orjson.loads(raw), line, raw)
    except RecordError as exc:
        return str(exc)


def _base() -> dict[str, Any]:
    return {
        "mpid": 42, "source_request_id": "r-1", "environment": "production",
        "user_identities": {"customer_id": "C1", "email": "a@example.com"},
        "user_attributes": {"$country": "US", "plan": "trial", "$age": 30,
                            "genres": ["Drama"], "signup_date": "2026-10-01"},
        "device_info": {"platform": "android"},
        "timestamp_unixtime_ms": 1_790_000_000_000,
        "events": [
            {"event_type": "custom_event",
             "data": {"event_name": "Watch", "custom_event_type": "media",
                      "timestamp_unixtime_ms": 1_790_000_000_001,
                      "custom_attributes": {"title": "Dune", "minutes": 12.5, "hd": True},
                      "location": {"country_code": "US", "region_code": "CA",
                                   "city_name": "San Diego", "postal_code": "92101"}}},
            {"event_type": "screen_view", "data": {"screen_name": "Home"}},
            {"event_type": "session_start",
             "data": {"session_id": 7, "session_start_unixtime_ms": 1_790_000_000_000,
                      "timestamp_unixtime_ms": 1_790_000_000_002}},
            {"event_type": "commerce_event",
             "data": {"timestamp_unixtime_ms": 1_790_000_000_003, "currency_code": "USD",
                      "product_action": {"action": "purchase", "total_amount": 9.99,
                                         "products": [{"id": "p1", "price": 9.99}],
                                         "transaction_id": "t1"},
                      "source_message_id": "m-1"}},
            {"event_type": "session_end", "data": None},
            {"event_type": "first_run"},
            {"event_type": "uninstall", "data": {"location": {"city_name": "Paris"}}},
        ],
    }


def test_demo_batches_give_the_parsers_records() -> None:
    fast, full = _parsers()
    taken = 0
    for line, (_input, batch) in enumerate(demo_batches(300, seed=5), start=1):
        raw = orjson.dumps(batch)
        record = fast.parse(raw, line)
        assert record is not None, f"line {line} left to the parser"
        expected = _full(full, raw, line)
        assert isinstance(expected, IncomingRecord)
        assert _stored(record) == _stored(expected)
        taken += 1
    assert taken > 500


def test_every_event_type_and_field_gives_the_parsers_record() -> None:
    fast, full = _parsers()
    raw = orjson.dumps(_base())
    record = fast.parse(raw, 3)
    assert record is not None
    expected = _full(full, raw, 3)
    assert isinstance(expected, IncomingRecord)
    assert _stored(record) == _stored(expected)
    # The same profile again: handed over unparsed, still the same values when read.
    again = fast.parse(raw, 4)
    assert again is not None and again.profile == record.profile
    assert dict(again.attributes) == dict(expected.attributes)
    assert [e.event_type for e in record.events] == [
        "custom_event", "screen_view", "session_start", "commerce_event", "session_end",
        "first_run", "uninstall"]
    assert record.events[3].commerce_action == "purchase"
    assert record.events[0].platform == "Android"


def _variant(path: str, value: Any) -> dict[str, Any]:
    """The base batch with ``path`` (dotted, list indexes as numbers) set to ``value``."""
    batch = copy.deepcopy(_base())
    *parents, last = path.split(".")
    target: Any = batch
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is _DELETE:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return batch


_DELETE = object()

VARIANTS = [
    ("mpid", "  "), ("mpid", True), ("mpid", 2**64 - 1), ("mpid", 2**63), ("mpid", "x" * 256),
    ("mpid", "u-7"), ("mpid", _DELETE), ("mpid", None), ("mpid", 1.5),
    ("user_identities", None), ("user_identities", []), ("user_identities", {"email": 5}),
    ("user_attributes", None), ("user_attributes", {"plan": {"a": 1}}),
    ("user_attributes", {"tags": ["a", 1]}), ("user_attributes", "plan"),
    ("device_info", "ios"), ("device_info.platform", ""), ("device_info.platform", "x" * 33),
    ("device_info.platform", 3), ("device_info", None),
    ("environment", "x" * 65), ("environment", 1),
    ("source_request_id", _DELETE), ("source_request_id", "x" * 256), ("source_request_id", 5),
    ("timestamp_unixtime_ms", "soon"), ("timestamp_unixtime_ms", 1.79e12),
    ("events", None), ("events", {}), ("events", []), ("events.1", 5),
    ("events.0.event_type", "party"), ("events.0.event_type", _DELETE),
    ("events.0.data", []), ("events.0.data.event_name", ""), ("events.0.data.event_name", " "),
    ("events.0.data.event_name", _DELETE), ("events.0.data.event_name", "x" * 256),
    ("events.0.data.custom_event_type", 4), ("events.1.data.screen_name", None),
    ("events.1.data.screen_name", ""), ("events.0.data.timestamp_unixtime_ms", 1.7900000000015e12),
    ("events.0.data.timestamp_unixtime_ms", 5), ("events.0.data.timestamp_unixtime_ms", True),
    ("events.0.data.timestamp_unixtime_ms", 99_999_999_999_999),
    ("events.0.data.custom_attributes", [1]), ("events.0.data.custom_attributes", {}),
    ("events.0.data.custom_attributes", {"big": 2**70}),
    ("events.0.data.custom_attributes", {"long": "x" * 1025}),
    ("events.0.data.custom_attributes", {"n": None, "nested": {"a": [1, {"b": None}]}}),
    ("events.0.data.location", "US"), ("events.0.data.location.country_code", "x" * 65),
    ("events.0.data.location.city_name", ["x"]), ("events.0.data.location", None),
    ("events.0.data.location.postal_code", "x" * 33),
    ("events.2.data.session_id", None), ("events.2.data.is_non_interactive", False),
    ("events.3.data.product_action", None), ("events.3.data.product_action.action", "steal"),
    ("events.3.data.product_action.total_amount", "9"),
    ("events.3.data.product_action.products", [1]),
    ("events.3.data.source_message_id", "m" * 256), ("events.3.data.source_message_id", 3),
    ("events.0.data.event_name", "tab\u0000name"), ("events.0.data.event_name", "Café 😀"),
]


@pytest.mark.parametrize(("path", "value"), VARIANTS,
                         ids=[f"{p}={str(v)[:12]}" for p, v in VARIANTS])
def test_a_variant_is_taken_the_same_or_left_to_the_parser(path: str, value: Any) -> None:
    fast, full = _parsers()
    # The standard library writes what orjson would not (integers beyond 64 bits).
    raw = json.dumps(_variant(path, value), ensure_ascii=False).encode()
    record = fast.parse(raw, 9)
    expected = _full(full, raw, 9)
    if record is not None:
        assert isinstance(expected, IncomingRecord), f"the parser refuses it: {expected}"
        assert _stored(record) == _stored(expected)


@pytest.mark.parametrize("raw", [
    b'{"mpid": 1, "ignored": "\xff", "events": []}',  # invalid UTF-8 where nothing is read
    b'{"mpid": 1, "events": [{"event_type": "first_run", "data": {"x": "\\ud800"}}]}',
    b'{"mpid": 1, "events": [}',
    b'[{"mpid": 1}]',
])
def test_lines_the_parser_must_judge_are_left_to_it(raw: bytes) -> None:
    fast, _full_parser = _parsers()
    assert fast.parse(raw, 1) is None


def test_a_changed_profile_is_checked_again() -> None:
    fast, _full_parser = _parsers()
    good = _base()
    assert fast.parse(orjson.dumps(good), 1) is not None
    bad = copy.deepcopy(good)
    bad["user_attributes"]["plan"] = {"nested": "object"}
    assert fast.parse(orjson.dumps(bad), 2) is None  # the parser names the problem
