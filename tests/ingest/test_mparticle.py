"""mParticle batches: every event type and field, every file shape, de-duplication, bad records."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.ingest.importer import import_files
from app.store import Database
from app.store.event_tables import EventRow, ImportedBatchRow, UserRow
from tests.ingest.conftest import Stored

IOS = "in-streaming-ios"
T0 = 1_793_000_000_000  # 2026-10-26T07:33:20Z, before any run of these tests

FULL_BATCH: dict[str, Any] = {
    "mpid": 8_675_309_000_001,
    "environment": "production",
    "source_request_id": "req-1",
    "user_identities": {"customer_id": "C-1", "email": "ava@example.com",
                        "mobile_number": "+15550001"},
    "user_attributes": {
        "$country": "US", "$state": "CA", "$city": "Los Angeles", "$zip": "90012",
        "$age": 34, "vip": True, "genres": ["Drama", "Sci-fi"], "signup_date": "2026-10-01",
        "plan": "trial", "old": None,
    },
    "device_info": {"platform": "iOS"},
    "events": [
        {"event_type": "first_run", "data": {"timestamp_unixtime_ms": T0}},
        {"event_type": "session_start", "data": {"timestamp_unixtime_ms": T0 + 1,
                                                 "session_id": 77}},
        {"event_type": "screen_view", "data": {"timestamp_unixtime_ms": T0 + 2,
                                               "screen_name": "Home",
                                               "custom_attributes": {"tab": "for you"}}},
        {"event_type": "custom_event", "data": {
            "timestamp_unixtime_ms": T0 + 3, "event_name": "Sign up for trial",
            "custom_event_type": "other", "source_message_id": "m-1",
            "custom_attributes": {"plan": "basic", "price": 9.99, "promo": False},
            "location": {"country_code": "US", "region_code": "CA",
                         "city_name": "Los Angeles", "postal_code": "90012"}}},
        {"event_type": "commerce_event", "data": {
            "timestamp_unixtime_ms": T0 + 4, "event_name": "Subscribe",
            "currency_code": "USD",
            "product_action": {"action": "purchase", "total_amount": 14.99,
                               "transaction_id": "T-1",
                               "products": [{"id": "std", "name": "Standard", "price": 14.99,
                                             "quantity": 1}]}}},
        {"event_type": "session_end", "data": {"timestamp_unixtime_ms": T0 + 5,
                                               "session_id": 77, "session_duration_ms": 4}},
        {"event_type": "uninstall", "data": {"timestamp_unixtime_ms": T0 + 6}},
    ],
}


def _lines(*batches: Any) -> str:
    return "".join(json.dumps(b) + "\n" for b in batches)


def _import(db: Database, *paths: Path, input_id: str = IOS, **options: Any) -> Any:
    return import_files(db, paths, format="mparticle", input_id=input_id, **options)


def test_every_event_type_and_field_is_stored(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    summary = _import(db, write("batch.jsonl", _lines(FULL_BATCH)))

    assert (summary.records_imported, summary.events_imported, summary.records_rejected) == (
        1, 7, 0)
    user = stored.users()["8675309000001"]
    assert (user.first_seen_ms, user.last_seen_ms) == (T0, T0 + 6)
    assert stored.identities("8675309000001") == {
        "customer_id": "C-1", "email": "ava@example.com", "mobile_number": "+15550001"}
    attributes = stored.attributes("8675309000001")
    assert attributes["$state"] == ("string", "CA")
    assert attributes["$zip"] == ("string", "90012")
    assert attributes["$age"] == ("number", 34.0)
    assert attributes["vip"] == ("boolean", True)
    assert attributes["genres"] == ("list", ["Drama", "Sci-fi"])
    assert attributes["signup_date"] == ("date", 1_790_812_800_000)  # 2026-10-01 UTC
    assert "old" not in attributes

    events = stored.events()
    assert [(e.event_type, e.event_name) for e in events] == [
        ("first_run", None), ("session_start", None), ("screen_view", "Home"),
        ("custom_event", "Sign up for trial"), ("commerce_event", "Subscribe"),
        ("session_end", None), ("uninstall", None),
    ]
    assert {e.platform for e in events} == {"iOS"}
    assert {e.input_id for e in events} == {IOS}
    screen, custom, commerce, end = events[2], events[3], events[4], events[5]
    assert screen.attributes == {"tab": "for you"}
    assert (custom.custom_event_type, custom.message_id) == ("other", "m-1")
    assert custom.attributes == {"plan": "basic", "price": 9.99, "promo": False}
    assert (custom.country, custom.region, custom.city, custom.postal_code) == (
        "US", "CA", "Los Angeles", "90012")
    assert (commerce.commerce_action, commerce.amount) == ("purchase", 14.99)
    assert commerce.attributes["products"][0]["id"] == "std"
    assert commerce.attributes["transaction_id"] == "T-1"
    assert commerce.attributes["currency_code"] == "USD"
    assert end.attributes == {"session_id": 77, "session_duration_ms": 4}
    assert events[0].attributes is None  # no attributes: SQL NULL, not JSON null
    assert events[0].country is None


@pytest.mark.parametrize("shape", ["object", "pretty", "array", "lines", "gzip"])
def test_every_file_shape_stores_the_same(
    shape: str, db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    second = {**FULL_BATCH, "source_request_id": "req-2", "mpid": 2,
              "events": FULL_BATCH["events"][:2]}
    if shape == "object":
        files = [write("a.json", json.dumps(FULL_BATCH)), write("b.json", json.dumps(second))]
    elif shape == "pretty":
        files = [write("a.json", json.dumps(FULL_BATCH, indent=2) + "\n"
                       + json.dumps(second, indent=4))]
    elif shape == "array":
        files = [write("a.json", json.dumps([FULL_BATCH, second], indent=1))]
    elif shape == "lines":
        files = [write("a.jsonl", _lines(FULL_BATCH, second))]
    else:
        files = [write("a.jsonl.gz", _lines(FULL_BATCH, second), compress=True)]

    summary = _import(db, *files)

    assert (summary.records_imported, summary.events_imported) == (2, 9)
    assert summary.records_rejected == 0
    assert sorted(stored.users()) == ["2", "8675309000001"]


def test_user_without_mpid_is_found_by_identity(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    event = {"event_type": "custom_event",
             "data": {"event_name": "Watch content", "timestamp_unixtime_ms": T0 + 10}}
    anonymous = {"user_identities": {"email": "ava@example.com"}, "events": [event]}
    new_person = {"user_identities": {"email": "zoe@example.com", "customer_id": "C-9"},
                  "events": [event]}

    _import(db, write("a.jsonl", _lines(FULL_BATCH, anonymous, new_person)), chunk_size=1)

    users = stored.users()
    assert sorted(users) == ["8675309000001", "customer_id:C-9"]
    watched = {e.external_id for e in stored.events(event_name="Watch content")}
    assert watched == {"8675309000001", "customer_id:C-9"}


def test_same_file_twice_stores_each_event_once(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    no_request_id = {k: v for k, v in FULL_BATCH.items() if k != "source_request_id"}
    no_request_id = {**no_request_id, "mpid": 5, "events": FULL_BATCH["events"][:3]}
    path = write("a.jsonl", _lines(FULL_BATCH, no_request_id))

    first = _import(db, path)
    again = _import(db, path, chunk_size=1)

    assert (first.records_imported, first.events_imported) == (2, 10)
    assert (again.records_imported, again.records_duplicated, again.events_imported) == (
        0, 2, 0)
    assert stored.count(EventRow) == 10
    assert stored.count(ImportedBatchRow) == 2
    assert stored.count(UserRow) == 2


def test_many_batch_keys_in_one_chunk_are_claimed_once(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    """Keys are claimed in parts of several sizes: repeats and stored keys are all caught."""
    def batch(n: int) -> dict[str, Any]:
        return {"mpid": 1 + n % 7, "source_request_id": f"r-{n:04d}",
                "events": [_event(event_name="Open App", timestamp_unixtime_ms=1_700_000_000_000)]}

    _import(db, write("a.jsonl", _lines(*(batch(n) for n in range(0, 1200, 3)))))
    # 1,200 keys, a third stored already, each new one twice: one chunk, many part sizes.
    again = [batch(n) for n in range(1200)] + [batch(n) for n in range(1, 1200, 3)]
    summary = _import(db, write("b.jsonl", _lines(*again)), chunk_size=10_000)

    assert summary.records_imported == 800
    assert summary.records_duplicated == 400 + 400
    assert stored.count(ImportedBatchRow) == 1200
    assert stored.count(EventRow) == 1200


def test_a_resent_event_with_a_known_message_id_is_skipped(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    _import(db, write("a.jsonl", _lines(FULL_BATCH)))
    resent = {**FULL_BATCH, "source_request_id": "req-retry"}

    summary = _import(db, write("b.jsonl", _lines(resent)))

    assert summary.events_duplicated == 1  # the custom event carrying source_message_id m-1
    assert len(stored.events(event_name="Sign up for trial")) == 1


def _event(**data: Any) -> dict[str, Any]:
    return {"event_type": "custom_event",
            "data": {"event_name": "Watch content", "timestamp_unixtime_ms": T0, **data}}


def _batch(n: int, *events: dict[str, Any], **fields: Any) -> dict[str, Any]:
    good = _event(custom_attributes={"n": n})
    return {"mpid": 100 + n, "source_request_id": f"r{n}", "events": [good, *events], **fields}


BAD_RECORDS = [
    pytest.param('{"mpid": 1, "events": [', "broken JSON", id="broken-json"),
    pytest.param(_batch(1, _event(timestamp_unixtime_ms="yesterday")),
                 "events[1].data.timestamp_unixtime_ms must be a number of milliseconds, "
                 "not a string", id="wrong-type"),
    pytest.param(_batch(1, {"event_type": "custom_event",
                            "data": {"timestamp_unixtime_ms": T0}}),
                 "events[1].data.event_name is missing", id="missing-field"),
    pytest.param({"events": [_event()]},
                 "the batch names no user: it has no mpid and no user_identities",
                 id="missing-user"),
    pytest.param(_batch(1, {"event_type": "page_visit", "data": {}}),
                 "events[1].event_type 'page_visit' is not a known event type",
                 id="unknown-event-type"),
    pytest.param(_batch(1, _event(timestamp_unixtime_ms=1_700_000_000)),
                 "events[1].data.timestamp_unixtime_ms 1700000000 (1970-01-20 16:13 UTC) is "
                 "out of range", id="timestamp-in-seconds"),
    pytest.param(_batch(1, _event(timestamp_unixtime_ms=4_102_444_800_000)),
                 "is out of range", id="timestamp-in-future"),
    pytest.param(_batch(1, _event(event_name="x" * 300)),
                 "events[1].data.event_name is too long (300 characters, at most 255)",
                 id="oversized-name"),
    pytest.param(_batch(1, _event(location={"region_code": "R" * 65})),
                 "events[1].data.location.region_code is too long", id="oversized-region"),
    pytest.param(_batch(1, _event(location={"city_name": {"name": "Paris"}})),
                 "events[1].data.location.city_name must be a string, not an object",
                 id="location-object"),
    pytest.param(_batch(1, _event(custom_attributes={"note": "n" * 1500})),
                 "events[1].data.custom_attributes.note is too long (1500 characters",
                 id="oversized-event-attribute"),
    pytest.param(_batch(1, user_attributes={"bio": "b" * 2000}),
                 "user_attributes.bio is too long", id="oversized-attribute"),
    pytest.param(_batch(1, {"event_type": "commerce_event", "data": {
        "timestamp_unixtime_ms": T0, "product_action": {"action": "steal"}}}),
        "events[1].data.product_action.action 'steal' is not a known commerce action",
        id="unknown-commerce-action"),
    pytest.param(b'{"mpid": 1, "events": [], "note": "caf\xe9"}', "not valid UTF-8 text",
                 id="bad-encoding"),
]


@pytest.mark.parametrize(("bad", "reason"), BAD_RECORDS)
def test_bad_record_is_reported_with_file_and_line_and_not_stored(
    bad: Any, reason: str, db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    bad_line = bad if isinstance(bad, bytes) else (
        bad.encode() if isinstance(bad, str) else json.dumps(bad).encode())
    content = (json.dumps(_batch(7)).encode() + b"\n" + bad_line + b"\n"
               + json.dumps(_batch(8)).encode() + b"\n")
    path = write("mixed.jsonl", content)
    reports: list[str] = []

    summary = _import(db, path, on_reject=lambda r: reports.append(str(r)))

    assert len(reports) == 1
    assert reports[0].startswith(f"{path}:2: ")
    assert reason in reports[0]
    assert (summary.records_imported, summary.records_rejected) == (2, 1)
    # Nothing of the bad batch is stored, not even its good first event (or its user).
    assert sorted(stored.users()) == ["107", "108"]
    assert stored.count(EventRow) == 2
    assert [str(r) for r in summary.rejections] == reports


def test_broken_json_array_reports_the_line_and_keeps_what_came_before(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    text = "[\n" + json.dumps(_batch(1)) + ",\n" + json.dumps(_batch(2)) + ",\n{\"mpid\": 3,,}\n]"
    path = write("a.json", text)

    summary = _import(db, path)

    assert [str(r).split(": ", 1)[0] for r in summary.rejections] == [f"{path}:4"]
    assert "broken JSON" in summary.rejections[0].reason
    assert summary.records_imported == 2
    assert sorted(stored.users()) == ["101", "102"]


def test_oversized_line_is_skipped_without_reading_it_whole(
    db: Database, stored: Stored, write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.ingest.sources.MAX_RECORD_BYTES", 1000)
    big = _batch(2, user_attributes={f"a{i}": "x" * 100 for i in range(20)})
    path = write("a.jsonl", _lines(_batch(1), big, _batch(3)))

    summary = _import(db, path)

    assert [str(r) for r in summary.rejections] == [
        f"{path}:2: the batch is too large ({len(json.dumps(big)) + 1:,} bytes)"]
    assert sorted(stored.users()) == ["101", "103"]


@pytest.mark.parametrize("first", [
    pytest.param(b'{"mpid": 1, "source_request_id": "r0", "events": [', id="truncated"),
    pytest.param(b'{"mpid": 1, "source_request_id": "r0", "events": [],}', id="trailing-comma"),
    pytest.param(b'{"mpid": 1, "events": [], "note": "caf\xe9"}', id="bad-utf8"),
])
def test_a_broken_first_line_costs_only_itself(
    first: bytes, db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    """A JSON-lines file is read as lines even when its first line is broken: taking it
    for one pretty-printed document would drop every batch after it."""
    path = write("first.jsonl", first + b"\n" + _lines(_batch(1), _batch(2)).encode())

    summary = _import(db, path)

    assert [str(r).split(": ", 1)[0] for r in summary.rejections] == [f"{path}:1"]
    assert summary.records_imported == 2
    assert sorted(stored.users()) == ["101", "102"]


def test_a_pretty_printed_document_whose_inner_line_is_an_object_stays_one_document(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    batch = _batch(1)
    events = ",\n".join("    " + json.dumps(e) for e in batch["events"])
    text = ('{\n  "mpid": 101,\n  "source_request_id": "r1",\n  "events": [\n'
            + events + "\n  ]\n}\n")
    path = write("pretty.json", text)

    summary = _import(db, path)

    assert summary.records_rejected == 0 and summary.records_imported == 1
    assert sorted(stored.users()) == ["101"]


def _with(n: int, text: str) -> bytes:
    """Batch ``n`` with ``text`` (JSON as written, maybe not valid) as its last field."""
    return (json.dumps(_batch(n))[:-1] + ", " + text + "}").encode()


HOSTILE = [
    pytest.param(b'{"mpid": 5, "events": [], "user_attributes": {"x": '
                 + b"[" * 50_000 + b"]" * 50_000 + b"}}", "nested too deeply",
                 id="deep-nesting"),
    pytest.param(_with(5, '"user_attributes": {"n": NaN}'), "NaN", id="nan-attribute"),
    pytest.param(_with(5, '"user_attributes": {"n": -Infinity}'), "Infinity", id="infinity"),
    pytest.param(b'{"mpid": 5, "events": [{"event_type": "custom_event", "data": {'
                 b'"event_name": "W", "timestamp_unixtime_ms": 1793000000000, '
                 b'"custom_attributes": {"p": NaN}}}]}', "NaN", id="nan-event-attribute"),
    pytest.param(b'{"mpid": 123456789012345678901234567890, "events": []}',
                 "mpid: the integer 123456789012345678901234… is beyond 64 bits",
                 id="huge-mpid"),
    # Past 64 bits where a value is stored: orjson would read a rounded float.
    pytest.param(_with(5, '"user_attributes": {"n": 18446744073709551616}'),
                 "user_attributes.n: the integer 18446744073709551616 is beyond 64 bits",
                 id="huge-user-attribute"),
    pytest.param(_with(5, '"user_attributes": {"n": [1, -9223372036854775809]}'),
                 "user_attributes.n[1]: the integer -9223372036854775809 is beyond 64 bits",
                 id="huge-list-item"),
    pytest.param(_with(5, '"user_identities": {"customer_id": 18446744073709551616}'),
                 "user_identities.customer_id: the integer 18446744073709551616 is beyond",
                 id="huge-identity"),
    pytest.param(b'{"mpid": 5, "events": [{"event_type": "custom_event", "data": {'
                 b'"event_name": "W", "timestamp_unixtime_ms": 1793000000000, '
                 b'"custom_attributes": {"p": 123456789012345678901234567890}}}]}',
                 "events[0].data.custom_attributes.p: the integer 123456789012345678901234…",
                 id="huge-event-attribute"),
    pytest.param(b'{"mpid": 5, "events": [{"event_type": "commerce_event", "data": {'
                 b'"timestamp_unixtime_ms": 1793000000000, "product_action": {'
                 b'"action": "purchase", "total_amount": 18446744073709551616}}}]}',
                 "events[0].data.product_action.total_amount: the integer",
                 id="huge-amount"),
    pytest.param(b'{"mpid": 5, "events": [{"event_type": "session_start", "data": {'
                 b'"timestamp_unixtime_ms": 1793000000000, "session_id": 2' + b"0" * 30
                 + b'}}]}', "events[0].data.session_id: the integer", id="huge-session-id"),
]


@pytest.mark.parametrize("shape", ["lines", "array"])
@pytest.mark.parametrize(("bad", "reason"), HOSTILE)
def test_hostile_values_reject_their_batch_and_the_import_goes_on(
    bad: bytes, reason: str, shape: str, db: Database, stored: Stored,
    write: Callable[..., Path],
) -> None:
    """Nesting of any depth, NaN, Infinity and integers past 64 bits: the batch is rejected
    with its line and a reason, never a traceback, and the batches around it are stored."""
    good = [json.dumps(_batch(n)).encode() for n in (1, 2)]
    if shape == "lines":
        content = b"\n".join((good[0], bad, good[1])) + b"\n"
    else:
        content = b"[\n" + b",\n".join((good[0], bad, good[1])) + b"\n]\n"

    summary = _import(db, write(f"hostile.{'jsonl' if shape == 'lines' else 'json'}",
                                content))

    assert summary.records_imported == 2
    assert [r.line for r in summary.rejections] == [2 if shape == "lines" else 3]
    assert reason in summary.rejections[0].reason
    assert sorted(stored.users()) == ["101", "102"]


def test_an_integer_past_64_bits_in_a_json_array_is_rejected(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    """Even in a field the importer does not read, and with more digits than Python's
    ``int`` takes from text."""
    bad = _with(5, '"events": [{"event_type": "custom_event", "data": {'
                   '"event_name": "W", "timestamp_unixtime_ms": 1793000000000, '
                   '"custom_attributes": {"p": 123456789012345678901234567890}}}]')
    ignored = _with(6, '"ignored": ' + "9" * 5000)
    content = (b"[" + json.dumps(_batch(1)).encode() + b",\n" + bad + b",\n" + ignored
               + b",\n" + json.dumps(_batch(2)).encode() + b"]")

    summary = _import(db, write("huge.json", content))

    assert [str(r).split(": ", 1)[1] for r in summary.rejections] == [
        "events[0].data.custom_attributes.p: the integer 123456789012345678901234… is "
        "beyond 64 bits",
        "ignored: the integer 999999999999999999999999… is beyond 64 bits"]
    assert sorted(stored.users()) == ["101", "102"]
