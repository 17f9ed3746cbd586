"""User profiles repeated in every mParticle batch: stored once per change, whatever the order.

The parser and the writer skip a profile they have seen for the user (by a
fingerprint of it), so these tests check what a marketer would see in the
store when users interleave, profiles change back and forth, a batch carrying
a profile turns out to be a duplicate, or a profile that was valid for one
user comes with another.

Every test runs twice: parsed in the importing process, and parsed in a process
of its own, which on SQLite stages a profile in the part's database only when
it changes for the user (app/store/staged_profiles.py) and leaves the writer to
keep a duplicate's profile for the new records that follow it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.ingest import importer
from app.ingest.importer import import_files
from app.store import Database
from tests.ingest.conftest import Stored

IOS = "in-streaming-ios"
T0 = 1_793_000_000_000


@pytest.fixture(params=["parsed here", "parsed in a process"], autouse=True)
def parsing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "parsed in a process":
        monkeypatch.setattr(importer, "PARSE_PROCESS_MIN_BYTES", 0)


def _batch(mpid: int, n: int, **attributes: Any) -> dict[str, Any]:
    return {
        "mpid": mpid, "source_request_id": f"req-{mpid}-{n}",
        "user_identities": {"customer_id": f"C-{mpid}"},
        "user_attributes": {"plan": "free", **attributes},
        "events": [{"event_type": "custom_event",
                    "data": {"event_name": "Watch content",
                             "timestamp_unixtime_ms": T0 + n}}],
    }


def _file(write: Callable[..., Path], name: str, *batches: dict[str, Any]) -> Path:
    return write(name, "".join(json.dumps(b) + "\n" for b in batches))


def _import(db: Database, path: Path, **options: Any) -> Any:
    return import_files(db, [path], format="mparticle", input_id=IOS, **options)


def test_interleaved_users_each_keep_their_latest_profile(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    batches = []
    for n in range(6):
        for mpid in (1, 2, 3):
            plan = "paid" if (mpid == 2 and n >= 3) else "free"
            batches.append(_batch(mpid, n, plan=plan, visits=n))
    # User 3 goes back to an earlier profile: it must be stored again.
    batches.append(_batch(3, 6, plan="free", visits=0))

    summary = _import(db, _file(write, "a.jsonl", *batches), chunk_size=2)

    assert summary.records_imported == 19
    assert stored.attributes("1") == {"plan": ("string", "free"), "visits": ("number", 5)}
    assert stored.attributes("2") == {"plan": ("string", "paid"), "visits": ("number", 5)}
    assert stored.attributes("3") == {"plan": ("string", "free"), "visits": ("number", 0)}
    assert stored.identities("2") == {"customer_id": "C-2"}


@pytest.mark.parametrize("chunk_size", [1, 1000], ids=["apart", "in one part"])
def test_a_profile_first_seen_on_a_duplicate_batch_is_still_stored(
    db: Database, stored: Stored, write: Callable[..., Path], chunk_size: int
) -> None:
    first = _batch(7, 1, plan="trial")
    _import(db, _file(write, "old.jsonl", first))
    # Another tool changed the user since; then a file repeats the old batch and
    # adds a new one with the same profile: the new one's profile is what counts.
    _import(db, _file(write, "change.jsonl", _batch(7, 2, plan="paid", visits=2)))

    summary = _import(db, _file(write, "again.jsonl", first, _batch(7, 3, plan="trial")),
                      chunk_size=chunk_size)

    assert (summary.records_duplicated, summary.records_imported) == (1, 1)
    assert stored.attributes("7") == {"plan": ("string", "trial"), "visits": ("number", 2)}
    assert stored.identities("7") == {"customer_id": "C-7"}


def test_a_re_imported_file_leaves_profiles_changed_since_as_they_are(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    old = _file(write, "old.jsonl", _batch(4, 1, plan="trial"), _batch(5, 1, plan="trial"))
    _import(db, old)
    _import(db, _file(write, "change.jsonl", _batch(4, 2, plan="paid")))

    summary = _import(db, old)

    assert summary.records_duplicated == 2
    assert stored.attributes("4")["plan"] == ("string", "paid")
    assert stored.attributes("5")["plan"] == ("string", "trial")


def test_a_profile_kept_from_a_duplicate_is_not_used_for_a_different_one(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    first = _batch(8, 1, plan="trial")
    _import(db, _file(write, "old.jsonl", first))

    _import(db, _file(write, "again.jsonl", first, _batch(8, 2, plan="paid"),
                      _batch(8, 3, plan="paid")), chunk_size=1)

    assert stored.attributes("8")["plan"] == ("string", "paid")


def test_changes_within_one_part_keep_the_latest_value_of_each_attribute(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    batches = [_batch(6, 1, plan="free", visits=1, city="Lyon"),
               _batch(6, 2, plan="paid", visits=2),  # city not sent: it stays
               _batch(6, 3, plan="paid", visits=None),  # null: visits goes
               _batch(6, 4, plan="paid", visits=None, city="Paris")]
    batches[2]["user_identities"]["email"] = "six@example.com"

    _import(db, _file(write, "a.jsonl", *batches))

    assert stored.attributes("6") == {"plan": ("string", "paid"), "city": ("string", "Paris")}
    assert stored.identities("6") == {"customer_id": "C-6", "email": "six@example.com"}


def test_a_bad_profile_is_rejected_even_after_a_good_one_for_the_user(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    good = _batch(9, 1, score=1)
    bad = _batch(9, 2, score={"nested": "object"})
    again_good = _batch(9, 3, score=1)

    path = _file(write, "a.jsonl", good, bad, again_good)
    summary = _import(db, path)

    assert summary.records_imported == 2
    assert [str(r) for r in summary.rejections] == [
        f"{path}:2: user_attributes.score must be a string, number, boolean or list, "
        "not an object"]
    assert stored.attributes("9")["score"] == ("number", 1)


def test_a_user_named_only_by_identities_keeps_them_across_repeated_profiles(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    def anonymous(n: int) -> dict[str, Any]:
        batch = _batch(0, n, plan="trial")
        del batch["mpid"]
        batch["user_identities"] = {"email": "ann@example.com"}
        return batch

    summary = _import(db, _file(write, "a.jsonl", anonymous(1), anonymous(2), anonymous(3)),
                      chunk_size=1)

    assert summary.records_imported == 3
    assert list(stored.users()) == ["email:ann@example.com"]
    assert len(stored.events()) == 3
    assert stored.identities("email:ann@example.com") == {"email": "ann@example.com"}
    assert stored.attributes("email:ann@example.com") == {"plan": ("string", "trial")}
