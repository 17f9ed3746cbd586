"""The data catalogue's counts equal what the imported data holds, import after import.

Each test compares what the builder is offered (``sightings``: every count and
last-seen time) with a count made directly from the stored events and profiles,
on SQLite and PostgreSQL: after the demo data's import, after a second import
that brings new users, and after importing the same files again.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from app.core.catalogue import Catalogue
from app.ingest import importer
from app.ingest.demo_data import DEMO_INPUTS, PARTNER, seed_demo_events, write_demo_files
from app.ingest.importer import import_files
from app.store import Database
from app.store import catalogue as catalogue_module
from app.store.catalogue import sightings
from app.store.event_numbers import named_events
from app.store.event_tables import UserAttributeRow, UserIdentityRow, UserInputRow

NOW_MS = 1_790_000_000_000
Key = tuple[str, str, str, str]


def direct_counts(database: Database) -> dict[Key, tuple[int, int | None]]:
    """(input, kind, scope, value) → (count, latest ms), counted from the stored rows."""
    counts: Counter[Key] = Counter()
    latest: dict[Key, int] = {}

    def seen(key: Key, ts: int | None) -> None:
        counts[key] += 1
        if ts is not None and ts > latest.get(key, ts - 1):
            latest[key] = ts

    named = named_events().subquery()
    with database.engine.connect() as connection:
        for e in connection.execute(select(named)):
            name = e.commerce_action if e.event_type == "commerce_event" else e.event_name
            seen((e.input_id, "event", e.event_type, name or ""), e.ts_ms)
            attributes = e.attributes
            if isinstance(attributes, str):
                attributes = json.loads(attributes)
            for key in attributes or {}:
                scope = e.event_name or e.commerce_action or ""
                seen((e.input_id, "event_attribute", scope, key), e.ts_ms)
            if e.platform is not None:
                seen((e.input_id, "platform", "", e.platform), e.ts_ms)
            for field in ("country", "region", "city", "postal_code"):
                if e._mapping[field] is not None:
                    seen((e.input_id, "place", field, e._mapping[field]), e.ts_ms)
        inputs_of: dict[int, list[str]] = {}
        for user_id, input_id in connection.execute(
                select(UserInputRow.user_id, UserInputRow.input_id)):
            inputs_of.setdefault(user_id, []).append(input_id)
        for user_id, name, value_type in connection.execute(
                select(UserAttributeRow.user_id, UserAttributeRow.name,
                       UserAttributeRow.value_type)):
            for input_id in inputs_of.get(user_id, ()):
                seen((input_id, "user_attribute", value_type, name), None)
        for user_id, identity_type in connection.execute(
                select(UserIdentityRow.user_id, UserIdentityRow.identity_type)):
            for input_id in inputs_of.get(user_id, ()):
                seen((input_id, "identity_type", "", identity_type), None)
    return {key: (count, latest.get(key)) for key, count in counts.items()}


def offered(database: Database) -> dict[Key, tuple[int, int | None]]:
    """What the catalogue offers, in the same shape."""
    return {
        (s.input_id, s.kind, s.scope, s.value):
        (s.count, None if s.last_seen is None else round(s.last_seen.timestamp() * 1000))
        for s in sightings(database.engine)
    }


def import_demo_files(database: Database, folder: Path, users: int) -> int:
    """Import generated demo files (one per input) through the importer; returns events stored."""
    stored = 0
    for input_id, path in write_demo_files(folder, users, seed=7).items():
        summary = import_files(database, [path], format="mparticle", input_id=input_id,
                               chunk_size=500)
        stored += summary.events_imported
    return stored


def test_counts_and_last_seen_equal_a_direct_count_of_the_demo_data(db: Database) -> None:
    seed_demo_events(db, 40, now_ms=NOW_MS)

    catalogue = offered(db)

    assert catalogue == direct_counts(db)
    kinds = {key[1] for key in catalogue}
    assert kinds == {"event", "event_attribute", "user_attribute", "identity_type",
                     "platform", "place"}


def test_another_import_adds_exactly_and_the_same_import_again_changes_nothing(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Parsed in a process of its own, as large files are: on SQLite its parts come
    # staged, with the counts the parsing process made of their events.
    monkeypatch.setattr(importer, "PARSE_PROCESS_MIN_BYTES", 0)
    seed_demo_events(db, 30, seed=7)
    before = offered(db)

    # The first 30 users' batches are stored already (de-duplicated), 30 more are new.
    added = import_demo_files(db, tmp_path / "files", 60)
    after = offered(db)

    assert added > 0
    assert after == direct_counts(db)
    grown = [key for key in before if after[key][0] > before[key][0]]
    assert grown, "the new users' events were not counted"
    total = sum(count for (_i, kind, _s, _v), (count, _) in after.items() if kind == "event")
    with db.engine.connect() as connection:
        assert total == connection.execute(text("SELECT count(*) FROM events")).scalar_one()

    assert import_demo_files(db, tmp_path / "again", 60) == 0
    assert offered(db) == after


def test_a_name_seen_only_through_another_input_gets_a_hint_naming_it(db: Database) -> None:
    seed_demo_events(db, 40, now_ms=NOW_MS)
    streaming = [i for i in DEMO_INPUTS if i.startswith("in-streaming")]
    labels = {PARTNER: "Marketing Site/Partner feed: Braze"}
    catalogue = Catalogue(sightings(db.engine), streaming, labels)
    partner_pushes = direct_counts(db)[(PARTNER, "event", "custom_event", "Push opened")][0]

    assert catalogue.hint("event", "custom_event", "Push opened") == (
        f"never seen in this journey's inputs; {partner_pushes:,} times in "
        "Marketing Site/Partner feed: Braze")
    assert catalogue.hint("event", "custom_event", "Sign up for trail") == (
        "never seen in any input")
    assert catalogue.hint("event", "custom_event", "Sign up for trial") is None
    assert "Push opened" not in catalogue.values("event")


def test_a_deleted_user_and_a_retyped_attribute_keep_the_user_counts_exact(
        db: Database) -> None:
    seed_demo_events(db, 20, now_ms=NOW_MS)
    with db.engine.begin() as connection:
        connection.execute(text(
            "UPDATE user_attributes SET value_type = 'number', text_value = NULL, "
            "number_value = 3 WHERE name = 'plan' AND user_id = (SELECT min(id) FROM users)"))
        connection.execute(text("DELETE FROM users WHERE id = (SELECT max(id) FROM users)"))

    catalogue = offered(db)

    assert {k: v for k, v in catalogue.items() if k[1] in ("user_attribute", "identity_type")} \
        == {k: v for k, v in direct_counts(db).items()
            if k[1] in ("user_attribute", "identity_type")}
    assert any(k[1:] == ("user_attribute", "number", "plan") for k in catalogue)


def attribute_keys(catalogue: dict[Key, Any], scope: str) -> set[str]:
    return {k[3] for k in catalogue if k[1] == "event_attribute" and k[2] == scope}


def test_attribute_keys_past_the_cap_are_left_out_and_the_kept_stay_exact(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalogue_module, "KEYS_PER_EVENT_NAME", 2)
    seed_demo_events(db, 15, seed=7, now_ms=NOW_MS)
    first = offered(db)
    watched = attribute_keys(first, "Watch content")

    seed_demo_events(db, 30, seed=7, now_ms=NOW_MS)  # 15 more users, the same three keys
    after = offered(db)

    direct = direct_counts(db)
    assert watched < attribute_keys(direct, "Watch content")  # genre, minutes, title
    assert len(watched) == 2 and attribute_keys(after, "Watch content") == watched
    kept = {k: v for k, v in after.items() if k[1] == "event_attribute"}
    assert all(direct[k] == v for k, v in kept.items())  # exact counts of the kept keys
    per_name = Counter((k[0], k[2]) for k in kept)
    seen = Counter((k[0], k[2]) for k in direct if k[1] == "event_attribute")
    assert per_name == {pair: min(2, keys) for pair, keys in seen.items()}
