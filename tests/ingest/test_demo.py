"""The demo data: a funnel the demo journeys can see, real batch files, seeded and repeatable."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select

from app.core.criteria import EventCriterion, LocationCriterion
from app.ingest.demo_account import demo_account
from app.ingest.demo_data import demo_batches, seed_demo_events, write_demo_files
from app.ingest.importer import import_files
from app.store import Database
from app.store.event_numbers import named_events
from app.store.event_tables import EventRow, UserAttributeRow, UserIdentityRow, UserRow
from tests.ingest.conftest import Stored, store_demo_account

NOW = 1_793_000_000_000
DAY = 86_400_000


def _users_who(stored: Stored, event_name: str, since_ms: int = 0) -> set[str]:
    return {e.external_id for e in stored.events(event_name=event_name) if e.ts_ms >= since_ms}


def test_demo_data_feeds_every_milestone_of_the_demo_journeys(
    db: Database, stored: Stored
) -> None:
    summary = seed_demo_events(db, 400, seed=3, now_ms=NOW)

    assert summary.records_rejected == 0
    assert len(stored.users()) == 400
    # Every event criterion of the demo journeys names events the data has.
    criteria = [
        clause.item
        for document in demo_account().journeys
        for milestone in document.milestones
        for clause in milestone.definition.clauses
    ]
    for criterion in criteria:
        if isinstance(criterion, EventCriterion):
            matching = stored.events(event_type=criterion.event_type,
                                     event_name=criterion.event_name)
            if criterion.commerce_action is not None:
                matching = [e for e in matching
                            if e.commerce_action == criterion.commerce_action]
            assert matching, f"no demo event for {criterion}"
        elif isinstance(criterion, LocationCriterion):
            assert stored.events(**{criterion.field: criterion.value})
    # The funnel narrows at each step, within the windows the milestones use.
    signed = _users_who(stored, "Sign up for trial", NOW - 30 * DAY)
    watched = signed & _users_who(stored, "Watch content", NOW - 14 * DAY)
    saved = watched & _users_who(stored, "Save for later", NOW - 14 * DAY)
    paid = saved & {e.external_id for e in stored.events(event_name="Subscribe",
                                                         commerce_action="purchase")}
    assert len(signed) > len(watched) > len(saved) > len(paid) > 10
    assert len(signed) > 150


def test_demo_users_have_locations_identities_attributes_and_every_event_type(
    db: Database, stored: Stored
) -> None:
    seed_demo_events(db, 300, seed=3, now_ms=NOW)

    named = named_events().subquery()
    with db.engine.connect() as connection:
        users_by_region = dict(connection.execute(
            select(named.c.region, func.count(func.distinct(named.c.user_id)))
            .group_by(named.c.region)).all())
        types = set(connection.execute(select(named.c.event_type).distinct()).scalars())
        inputs = set(connection.execute(select(named.c.input_id).distinct()).scalars())
        identity_types = set(connection.execute(
            select(UserIdentityRow.identity_type).distinct()).scalars())
        attribute_types = set(connection.execute(
            select(UserAttributeRow.value_type).distinct()).scalars())
        span = connection.execute(select(func.min(EventRow.ts_ms),
                                         func.max(EventRow.ts_ms))).one()
    assert 0.15 < users_by_region["CA"] / 300 < 0.45
    assert {"NY", "TX", "ENG", "ON"} <= set(users_by_region)
    assert types == {"custom_event", "screen_view", "commerce_event", "session_start",
                     "session_end", "first_run", "uninstall"}
    assert inputs == {"in-streaming-ios", "in-streaming-android", "in-streaming-web",
                      "in-marketing-web", "in-marketing-partner"}
    assert {"customer_id", "email", "mobile_number"} <= identity_types
    assert attribute_types == {"string", "number", "boolean", "date", "list"}
    assert span[0] > NOW - 70 * DAY and span[1] <= NOW  # time-relative: the last two months


def test_same_seed_same_data_and_seeding_again_adds_nothing(
    db: Database, stored: Stored
) -> None:
    assert list(demo_batches(20, seed=5, now_ms=NOW)) == list(demo_batches(20, seed=5,
                                                                           now_ms=NOW))
    assert list(demo_batches(20, seed=5, now_ms=NOW)) != list(demo_batches(20, seed=6,
                                                                           now_ms=NOW))
    first = seed_demo_events(db, 50, seed=5, now_ms=NOW)

    again = seed_demo_events(db, 50, seed=5, now_ms=NOW)

    assert again.records_imported == 0
    assert again.records_duplicated == first.records_imported
    assert stored.count(EventRow) == first.events_imported


def test_demo_files_import_to_the_same_store_as_direct_seeding(
    tmp_path: Path, sqlite_db: Database
) -> None:
    direct = seed_demo_events(sqlite_db, 120, seed=9, now_ms=NOW)
    files = write_demo_files(tmp_path / "demo", 120, seed=9, now_ms=NOW)
    other = Database(f"sqlite:///{tmp_path}/other.db")
    store_demo_account(other)
    try:
        imported = [import_files(other, [path], format="mparticle", input_id=input_id)
                    for input_id, path in files.items()]
        assert sum(s.records_rejected for s in imported) == 0
        assert sum(s.events_imported for s in imported) == direct.events_imported

        def fingerprint(database: Database) -> list[tuple[object, ...]]:
            named = named_events().subquery()
            with database.engine.connect() as connection:
                return sorted(connection.execute(
                    select(UserRow.external_id, named.c.input_id, named.c.ts_ms,
                           named.c.event_type, named.c.event_name, named.c.region)
                    .join(UserRow, UserRow.id == named.c.user_id)).all())

        assert fingerprint(other) == fingerprint(sqlite_db)
    finally:
        other.dispose()


def test_first_run_demo_data_is_quick(sqlite_db: Database) -> None:
    started = time.monotonic()
    summary = seed_demo_events(sqlite_db)
    elapsed = time.monotonic() - started

    assert summary.events_imported > 5000
    assert elapsed < 3.0
