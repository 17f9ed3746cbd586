"""Keys and user ids that the importers prefix (``seg:``, ``csv:``, ``anonymous:``,
``email:``…) fit their columns whatever the value's length: past the column they are
stored as the prefix and a digest, so SQLite and PostgreSQL store the same records (before,
PostgreSQL refused the whole import, on every retry, and SQLite stored it)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from app.ingest.importer import import_files
from app.store import Database
from app.store.event_tables import ImportedBatchRow, UserRow
from tests.ingest.conftest import Stored

WEB = "in-streaming-web"
TS = "2026-10-26T07:33:20Z"
LONG_MESSAGE = "m" * 252
LONG_ANONYMOUS = "a" * 246
LONG_EMAIL = "e" * 240 + "@example.com"


def _digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def _segment_file(write: Callable[..., Path]) -> Path:
    calls = [
        {"type": "track", "userId": "u1", "event": "Watch", "messageId": LONG_MESSAGE,
         "timestamp": TS},
        {"type": "track", "anonymousId": LONG_ANONYMOUS, "event": "Watch", "messageId": "m2",
         "timestamp": TS},
        {"type": "track", "userId": "u3", "event": "Watch", "messageId": "m3",
         "timestamp": TS},
    ]
    return write("calls.jsonl", "".join(json.dumps(c) + "\n" for c in calls))


def test_long_segment_ids_are_stored_as_digests_and_import_once(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    path = _segment_file(write)

    first = import_files(db, [path], format="segment", input_id=WEB)
    again = import_files(db, [path], format="segment", input_id=WEB)

    assert (first.records_imported, first.records_rejected) == (3, 0)
    assert (again.records_imported, again.records_duplicated) == (0, 3)
    assert sorted(stored.users()) == sorted(["u1", "u3", "anonymous:" + _digest(LONG_ANONYMOUS)])
    keys = set(stored_keys(db))
    assert "seg:" + _digest(LONG_MESSAGE) in keys and "seg:m2" in keys
    assert all(len(key) <= 255 for key in keys)


def test_a_user_named_by_a_long_email_is_one_user_on_every_import(
    db: Database, stored: Stored, write: Callable[..., Path]
) -> None:
    rows = "identity.email,timestamp,event_name\n" + "".join(
        f"{LONG_EMAIL},{1_793_000_000_000 + n},Watch content\n" for n in range(3))
    path = write("events.csv", rows)

    summary = import_files(db, [path], format="csv", input_id=WEB)

    assert (summary.records_imported, summary.records_rejected) == (3, 0)
    assert list(stored.users()) == ["email:" + _digest(LONG_EMAIL)]
    assert stored.identities("email:" + _digest(LONG_EMAIL)) == {"email": LONG_EMAIL}
    assert stored.count(UserRow) == 1


def stored_keys(db: Database) -> list[str]:
    with db.engine.connect() as connection:
        return list(connection.execute(select(ImportedBatchRow.batch_key)).scalars())
