"""The Alembic migrations build exactly the tables schema.py describes, on every backend."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.pool import NullPool

from app.store import audience_tables, delivery_tables, event_tables  # noqa: F401 (their tables join Base)
from app.store.database import Database, alembic_config
from app.store.incoming import EVENT_TYPE_CODES
from app.store.schema import Base

HEAD_TABLES = set(Base.metadata.tables)


def _migrate(url: str, *targets: str) -> None:
    """Run Alembic commands by hand, the way a developer would, through one connection."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        for target in targets:
            with engine.begin() as connection:
                config = alembic_config(connection)
                if target == "base":
                    command.downgrade(config, "base")
                else:
                    command.upgrade(config, target)
    finally:
        engine.dispose()


def _downgrade_opened(url: str, target: str) -> None:
    """Downgrade through the program's own engine (SQLite: foreign keys on)."""
    with Database(url) as database, database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), target)


def _differences(url: str) -> list[object]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> dict[str, dict[str, dict[str, object]]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        inspector = inspect(engine)
        return {
            table: {c["name"]: dict(c) for c in inspector.get_columns(table)}
            for table in inspector.get_table_names()
        }
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_and_column(db_url: str) -> None:
    _migrate(db_url, "head")
    tables = _tables(db_url)
    assert set(tables) >= HEAD_TABLES
    for name, table in Base.metadata.tables.items():
        assert set(tables[name]) == {c.name for c in table.columns}, name
        for column in table.columns:
            assert bool(tables[name][column.name]["nullable"]) == column.nullable, (
                f"{name}.{column.name}"
            )


def test_migrated_schema_matches_schema_py(db_url: str) -> None:
    _migrate(db_url, "head")
    assert _differences(db_url) == []


UNINDEXED_FOREIGN_KEYS = {("events", "input_no"), ("events", "user_id")}
"""Foreign keys left without an index on purpose: an events index is paid for on every
imported event. An input that has events can never be deleted (the key refuses it), and
users are never deleted by the program; deleting one (a privacy request) reads the events
once, which is acceptable for something that rare."""


def test_every_foreign_key_column_is_indexed(db_url: str) -> None:
    _migrate(db_url, "head")
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        inspector = inspect(engine)
        for table in HEAD_TABLES:
            indexed = {ix["column_names"][0] for ix in inspector.get_indexes(table)}
            indexed.add(inspector.get_pk_constraint(table)["constrained_columns"][0])
            # A unique constraint is kept with an index on every backend (SQLite's
            # own is not listed among the indexes).
            indexed.update(uc["column_names"][0]
                           for uc in inspector.get_unique_constraints(table))
            for fk in inspector.get_foreign_keys(table):
                column = fk["constrained_columns"][0]
                if (table, column) not in UNINDEXED_FOREIGN_KEYS:
                    assert column in indexed, (table, fk)
    finally:
        engine.dispose()


def test_downgrade_to_base_then_upgrade_again(db_url: str) -> None:
    _migrate(db_url, "head", "base")
    assert not HEAD_TABLES & set(_tables(db_url))
    _migrate(db_url, "head")
    assert set(_tables(db_url)) >= HEAD_TABLES
    assert _differences(db_url) == []


def test_opening_a_database_upgrades_it_to_head(db_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    database = Database(db_url)
    try:
        with database.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == head
    finally:
        database.dispose()
    # Opening again finds nothing to do and keeps the data layout intact.
    Database(db_url).dispose()
    assert _differences(db_url) == []


def test_in_memory_sqlite_is_migrated_through_the_shared_connection() -> None:
    database = Database("sqlite://")
    try:
        assert set(inspect(database.engine).get_table_names()) >= HEAD_TABLES
    finally:
        database.dispose()


def test_the_comparison_would_notice_a_drift(db_url: str) -> None:
    """Guards the test above against passing vacuously: an extra column is reported."""
    from sqlalchemy import Column, Integer, MetaData

    _migrate(db_url, "head")
    drifted = MetaData(naming_convention=dict(Base.metadata.naming_convention))
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["milestones"].append_column(Column("colour", Integer, nullable=True))
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), drifted)
    finally:
        engine.dispose()
    assert [d[0] for d in diffs] == ["add_column"]


def test_stored_events_and_memberships_survive_the_upgrade(db_url: str) -> None:
    """A database made before the per-user summaries and the keyed memberships: its
    events are summarised by the upgrade and its audiences keep their members."""
    from datetime import datetime

    from app.engine.evaluation import latest_changes, stored_members
    from app.store.event_summaries import summarised_up_to

    _migrate(db_url, "0003")
    rows = {
        "accounts": [{"id": "a", "name": "A", "active_audience_limit": 5}],
        "workspaces": [{"id": "w", "account_id": "a", "name": "W", "position": 0}],
        "inputs": [{"id": "in", "workspace_id": "w", "name": "iOS", "kind": "platform",
                    "platform": "iOS", "position": 0}],
        "users": [{"id": 1, "external_id": "u1"}, {"id": 2, "external_id": "u2"}],
        "events": [
            {"id": 1, "user_id": 1, "input_id": "in", "ts_ms": 2000, "event_type": "custom_event",
             "event_name": "Open", "platform": "iOS", "country": "US"},
            {"id": 2, "user_id": 1, "input_id": "in", "ts_ms": 1000, "event_type": "custom_event",
             "event_name": "Open", "platform": "iOS", "country": "US"},
            {"id": 3, "user_id": 2, "input_id": "in", "ts_ms": 3000, "event_type": "session_start",
             "event_name": None, "platform": "Android", "country": None},
        ],
        "audience_members": [{"audience_id": "opened", "user_id": 1},
                             {"audience_id": "never-evaluated", "user_id": 2}],
        "audience_size_history": [
            {"audience_id": "opened", "evaluation_id": "e1", "journey_id": "j",
             "as_of": datetime(2024, 1, 1), "evaluated_at": datetime(2024, 1, 1),
             "size": 1, "added": 1, "removed": 0},
        ],
    }
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        _insert_rows(engine, rows)
        _migrate(db_url, "head")
        with engine.connect() as connection:
            assert read_all(connection, "SELECT user_id, input_id, first_ms FROM user_inputs") == {
                (1, "in", 1000), (2, "in", 3000)}
            platforms = "SELECT user_id, platform, first_ms FROM user_platforms"
            assert read_all(connection, platforms) == {(1, "iOS", 1000), (2, "Android", 3000)}
            places = "SELECT user_id, field, value, first_ms FROM user_places"
            assert read_all(connection, places) == {(1, "country", "US", 1000)}
            assert summarised_up_to(connection) == 3
        assert stored_members(engine, "opened") == {1}
        assert latest_changes(engine, "opened") == (set(), set())
        # Members of an audience with no history can't be named any more: dropped.
        with engine.connect() as connection:
            assert read_all(connection, "SELECT user_id FROM audience_members") == {(1,)}
    finally:
        engine.dispose()


def _insert_rows(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Insert each table's rows by column name, whatever the revision's models say."""
    with engine.begin() as connection:
        for name, values in rows.items():
            target = sql_table(name, *(sql_column(c) for c in values[0]))
            connection.execute(target.insert(), values)


def read_all(connection, sql: str) -> set[tuple[object, ...]]:
    return {tuple(r) for r in connection.exec_driver_sql(sql)}


def test_events_keep_their_ids_and_values_through_the_type_and_input_codes(db_url: str) -> None:
    """0009 stores each event's type and input as integers: every event keeps its id and
    its values, new events are numbered after them, and a downgrade gives the names back."""
    _migrate(db_url, "0008")
    event_columns = ("id", "user_id", "input_id", "ts_ms", "event_type", "event_name",
                     "amount", "message_id")
    events = [
        (10, 1, "in-ios", 1000, "custom_event", "Open", None, "m1"),
        (11, 1, "in-web", 1500, "screen_view", "Pricing", None, "m1"),
        (12, 2, "in-ios", 2000, "commerce_event", None, 19.5, None),
        (20, 2, "in-web", 2500, "session_start", None, None, None),
        (21, 3, "in-web", 3000, "session_end", None, None, None),
        (25, 3, "in-ios", 3500, "first_run", None, None, None),
        (30, 1, "in-web", 4000, "uninstall", None, None, None),
    ]
    rows: dict[str, list[dict[str, Any]]] = {
        "accounts": [{"id": "a", "name": "A", "active_audience_limit": 5}],
        "workspaces": [{"id": "w", "account_id": "a", "name": "W", "position": 0}],
        "inputs": [
            {"id": "in-web", "workspace_id": "w", "name": "Web", "kind": "platform",
             "platform": "web", "position": 1},
            {"id": "in-ios", "workspace_id": "w", "name": "iOS", "kind": "platform",
             "platform": "iOS", "position": 0},
        ],
        "users": [{"id": n, "external_id": f"u{n}"} for n in (1, 2, 3)],
        "events": [dict(zip(event_columns, event, strict=True)) for event in events],
    }
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        _insert_rows(engine, rows)

        Database(db_url).dispose()  # the program's upgrade: on SQLite, foreign keys on
        assert _differences(db_url) == []
        stored = (
            "SELECT e.id, e.user_id, n.input_id, e.ts_ms, e.type_code, e.event_name, e.amount,"
            " e.message_id FROM events AS e JOIN input_numbers AS n ON n.number = e.input_no"
        )
        with engine.connect() as connection:
            assert read_all(connection, stored) == {
                (*event[:4], EVENT_TYPE_CODES[event[4]], *event[5:]) for event in events
            }
            numbers = read_all(connection, "SELECT number, input_id FROM input_numbers")
        assert {input_id for _, input_id in numbers} == {"in-ios", "in-web"}
        ios = next(number for number, input_id in numbers if input_id == "in-ios")
        with engine.begin() as connection:
            new_id = connection.exec_driver_sql(
                "INSERT INTO events (user_id, input_no, ts_ms, type_code, event_name)"
                f" VALUES (2, {ios}, 5000, {EVENT_TYPE_CODES['custom_event']}, 'Late')"
                " RETURNING id"
            ).scalar_one()
        assert new_id > max(event[0] for event in events)

        _downgrade_opened(db_url, "0008")
        with engine.connect() as connection:
            assert read_all(connection, f"SELECT {', '.join(event_columns)} FROM events") == {
                *events, (new_id, 2, "in-ios", 5000, "custom_event", "Late", None, None)}
        inspector = inspect(engine)
        assert "input_numbers" not in inspector.get_table_names()
        indexes = inspector.get_indexes("events")  # PostgreSQL's include the unique key's
        assert {ix["name"]: ix["column_names"] for ix in indexes
                if not ix.get("duplicates_constraint")} == {
            "ix_events_name_type_ts_user_input":
                ["event_name", "event_type", "ts_ms", "user_id", "input_id"],
            "ix_events_type_ts_user_input": ["event_type", "ts_ms", "user_id", "input_id"],
        }
        assert [(uq["name"], uq["column_names"])
                for uq in inspector.get_unique_constraints("events")] == [
            ("uq_events_input_message", ["input_id", "message_id"])]
        assert {(fk["constrained_columns"][0], fk["referred_table"])
                for fk in inspector.get_foreign_keys("events")} == {
            ("user_id", "users"), ("input_id", "inputs")}
        # Upgrading again gives the same ids and the schema of schema.py.
        _migrate(db_url, "head")
        assert _differences(db_url) == []
        with engine.connect() as connection:
            assert len(read_all(connection, stored)) == len(events) + 1
    finally:
        engine.dispose()


def test_journeys_that_already_share_a_name_are_numbered_by_the_upgrade(db_url: str) -> None:
    """0010 adds the unique name key: journeys stored as “Same”, “same” and “SAME ” by two
    windows before it keep the oldest name and get “ (2)”, “ (3)”; the account is version 1."""
    from datetime import datetime

    from sqlalchemy.exc import IntegrityError

    _migrate(db_url, "0009")
    created = [datetime(2026, 1, day) for day in (1, 2, 3, 4)]
    rows = {
        "accounts": [{"id": "a", "name": "A", "active_audience_limit": 5}],
        "journeys": [
            {"id": journey_id, "account_id": "a", "name": name, "version": 1,
             "created_at": at, "updated_at": at}
            for journey_id, name, at in (
                ("j3", "SAME ", created[2]), ("j1", "Same", created[0]),
                ("j4", "Other", created[3]), ("j2", "same", created[1]),
            )
        ],
    }
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        _insert_rows(engine, rows)
        Database(db_url).dispose()
        assert _differences(db_url) == []
        with engine.connect() as connection:
            assert read_all(connection, "SELECT id, name, name_key FROM journeys") == {
                ("j1", "Same", "same"), ("j2", "same (2)", "same (2)"),
                ("j3", "SAME (3)", "same (3)"), ("j4", "Other", "other"),
            }
            assert read_all(connection, "SELECT id, version FROM accounts") == {("a", 1)}
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO journeys (id, account_id, name, name_key, version, created_at,"
                " updated_at) VALUES ('j5', 'a', 'OTHER', 'other', 1, '2026-01-05',"
                " '2026-01-05')"
            )
        _downgrade_opened(db_url, "0009")
        assert "name_key" not in {c["name"] for c in inspect(engine).get_columns("journeys")}
    finally:
        engine.dispose()


def _event(**fields: Any) -> dict[str, Any]:
    return {"join": "and", "item": {"kind": "event", "event_type": "custom_event", **fields}}


def test_stored_criteria_out_of_the_new_bounds_are_repaired_by_the_upgrade(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Criteria an older version stored without today's bounds (a count of 2**63, a window
    of 5000 days, NUL in a name, NaN and Infinity, 80 clauses) kept the whole database
    from opening. 0012 clamps numbers into the bounds, drops what can't be repaired (a
    condition whose value is NaN; clauses past the most a definition holds), says what
    it changed, and leaves valid definitions alone."""
    import json
    import logging
    from datetime import datetime

    from sqlalchemy import text

    from app.core.criteria import CLAUSES_MAX, describe
    from app.studio import Studio

    _migrate(db_url, "0011")
    sqlite = db_url.startswith("sqlite")
    definitions = {
        "binge": {"clauses": [_event(event_name="Watch\u0000 content", count_operator=">=",
                                     count=2**63, window={"kind": "within_last_days",
                                                          "days": 5000})]},
        "many": {"clauses": [{"join": "or", "item": {"kind": "identity",
                                                     "identity_type": f"id_{n}"}}
                             for n in range(CLAUSES_MAX + 5)]},
        "fine": {"clauses": [_event(event_name="Sign up", count=2)]},
    }
    if sqlite:  # PostgreSQL's JSON never held NaN or Infinity
        definitions["priced"] = {"clauses": [
            {"join": "and", "item": {"kind": "ecommerce", "action": "purchase", "amount": [
                {"operator": "gt", "value": float("nan")},
                {"operator": "lt", "value": float("inf")}]}},
            {"join": "and", "item": {"kind": "user_attribute", "condition": {
                "attribute": "age", "type": "number", "operator": "ge",
                "value": float("nan")}}},
            _event(event_name="Open", conditions=[
                {"attribute": "minutes", "type": "number", "operator": "between",
                 "value": [float("-inf"), float("nan")]},
                {"attribute": "title", "type": "string", "operator": "equals",
                 "value": "Dune"}]),
        ]}
    at = datetime(2026, 1, 1)
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        _insert_rows(engine, {
            "accounts": [{"id": "a", "name": "A", "active_audience_limit": 5, "version": 1}],
            "journeys": [{"id": "j", "account_id": "a", "name": "Old", "name_key": "old",
                          "version": 1, "created_at": at, "updated_at": at}],
        })
        as_json = ":definition" if sqlite else "CAST(:definition AS JSON)"
        with engine.begin() as connection:
            for index, (name, definition) in enumerate(definitions.items()):
                connection.execute(
                    text("INSERT INTO milestones (id, journey_id, parent_id, sibling_index,"
                         " name, remaining, definition, x, y) VALUES (:id, 'j', NULL, :index,"
                         f" :name, :remaining, {as_json}, 0, 0)"),
                    {"id": name, "index": index, "name": name.title(), "remaining": False,
                     "definition": json.dumps(definition)})

        with caplog.at_level(logging.WARNING):
            studio = Studio.open(db_url, seed_demo=False)
        try:
            journey = studio.state.journey("j")
            described = {m.id: describe(m.definition) for m in journey.milestones_in_order()}
        finally:
            studio.close()
    finally:
        engine.dispose()

    assert described["binge"] == "did “Watch content” at least 1000000 times in the last 3650 days"
    assert described["fine"] == "did “Sign up” more than 2 times"
    assert described["many"].count(" or has ") == CLAUSES_MAX - 1
    assert described["many"].endswith(f"has id_{CLAUSES_MAX - 1}")
    changes = caplog.text
    assert "“Binge” of the journey “Old”" in changes
    assert "9223372036854775808" in changes and "1,000,000" in changes
    assert "5000" in changes and "3,650" in changes
    assert "NUL" in changes
    assert f"clauses {CLAUSES_MAX + 1} to {CLAUSES_MAX + 5}" in changes
    assert "“Fine”" not in changes
    if sqlite:
        # -Infinity and NaN made the "minutes" condition: gone; Infinity is the largest
        # finite number now; the attribute criterion held only its NaN condition: gone.
        assert described["priced"].startswith("did “purchase” with amount < 1797693134862315")
        assert described["priced"].endswith(" and did “Open” with title is “Dune”")
        assert "NaN" in changes and "Infinity" in changes
