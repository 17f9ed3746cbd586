"""The data catalogue's counts: what each input has seen, kept up to date with the data.

The builder opens with completions for event names, attributes, places … and a
hint for a name the journey's inputs never saw (app/core/catalogue.py). Reading
that from the events each time (a ``GROUP BY`` over every event's JSON
attributes) takes tens of seconds on 10M events, so the counts live in the
``catalogue`` table, one row per (input, kind, scope, value) with its count and
latest time, and are kept up to date incrementally:

- The **event kinds** (event names by type, event attribute keys by event name,
  platforms, places) are counted from the events themselves, like the per-user
  summaries (app/store/event_summaries.py): ``catalogue_state.last_event_id``
  marks how far the counts go, and :func:`refresh_catalogue` folds the events
  beyond it in (three ``GROUP BY`` scans of the new events only). The event
  writer brings them up to date before each chunk commits, so a chunk's events
  and their counts are committed together, and a de-duplicated record or event,
  never stored, is never counted. For a large import the process that parses it
  counts each part's events as it builds the part (app/store/staged_events.py),
  and the writer adds those counts (:func:`add_counted`) instead of reading its
  events back, whenever that comes to the same.
- The **profile kinds** (user attributes by detected type, identity types) count
  users: the users seen through the input (``user_inputs``) who hold the
  attribute or identity, exactly what a criterion over the journey's inputs
  looks at. Profiles are overwritten in place, so there is no mark to count from;
  triggers on ``user_attributes``, ``user_identities`` and ``user_inputs``
  (created by migration 0013) record every change of that join as a +1 or -1 row
  in ``catalogue_changes``, and :func:`refresh_catalogue` adds them up. Each
  (user, input, name) pair is counted when the second of its two rows appears
  and uncounted when the first disappears, so the counts stay exact through
  re-typed attributes and deleted users. Their ``last_ms`` stays NULL: a profile
  value carries no time of its own.

Event attribute keys are capped at :data:`KEYS_PER_EVENT_NAME` per input and
event name, so data whose keys are ids (a new key every event) cannot fill the
table: the first keys met are kept (within one refresh, the most frequent
first), later new keys are not catalogued, and the kept keys' counts stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from app.core.catalogue import CatalogueKind, Sighting
from app.store.event_summaries import PLACE_FIELDS, events, input_numbers, newest_event_id
from app.store.event_tables import (
    CATALOGUE_TEXT_LENGTH,
    CatalogueRow,
    CatalogueStateRow,
    catalogue_changes,
)
from app.store.incoming import EVENT_TYPE_CODES, EVENT_TYPES_BY_CODE

KEYS_PER_EVENT_NAME = 200
"""Event attribute keys catalogued per input and event name (mParticle allows 100 on
one event; a name whose events bring more distinct keys than this has ids for keys)."""

_catalogue = CatalogueRow.__table__
_state = CatalogueStateRow.__table__
assert isinstance(_catalogue, Table) and isinstance(_state, Table)
catalogue: Table = _catalogue
catalogue_state: Table = _state

_COMMERCE = EVENT_TYPE_CODES["commerce_event"]

Key = tuple[str, str, str, str]
"""(input id, kind, scope, value): a catalogue row's key."""


# ---------------------------------------------------------------------- keeping it current


def catalogued_up_to(connection: Connection) -> int:
    """The id of the last event the catalogue's event counts include (0: none)."""
    value = connection.execute(
        select(catalogue_state.c.last_event_id).where(catalogue_state.c.id == 1)
    ).scalar()
    return int(value or 0)


def is_current(connection: Connection) -> bool:
    """Whether :func:`refresh_catalogue` has nothing to do (reads only)."""
    pending = connection.execute(select(catalogue_changes.c.change).limit(1)).first()
    return pending is None and newest_event_id(connection) <= catalogued_up_to(connection)


def refresh_catalogue(connection: Connection) -> int:
    """Fold the events added since the last refresh and the pending profile changes into
    the catalogue; returns the new mark. Cheap when nothing is new (two indexed lookups).

    Call it inside the transaction that added the events (the event writer does,
    unless it counted them itself: see :func:`add_counted`): the counts then
    commit with them.
    """
    _fold_profile_changes(connection)
    done = catalogued_up_to(connection)
    newest = newest_event_id(connection)
    if newest <= done:
        return done
    numbers = {number: input_id for number, input_id in connection.execute(
        select(input_numbers.c.number, input_numbers.c.input_id))}
    counts: dict[Key, list[Any]] = {}
    _count_events(connection, done, newest, numbers, counts)
    _count_platforms_and_places(connection, done, newest, numbers, counts)
    _count_attribute_keys(connection, done, newest, numbers, counts)
    _store_counts(connection, counts, newest)
    return newest


def add_counted(connection: Connection, rows: Iterable[tuple[str, str, str, str, int, int]],
                last_event_id: int) -> None:
    """Add counts made from the events themselves (by the process that parsed them, see
    app/store/staged_events.py) and move the mark to ``last_event_id``.

    Equal to :func:`refresh_catalogue` only when ``rows`` count exactly the events
    between the mark and ``last_event_id``: the writer checks that first.
    """
    _fold_profile_changes(connection)
    counts: dict[Key, list[Any]] = {}
    for input_id, kind, scope, value, count, last in rows:
        if kind != "event_attribute" or (len(value) <= CATALOGUE_TEXT_LENGTH
                                         and len(scope) <= CATALOGUE_TEXT_LENGTH):
            _tally(counts, (input_id, kind, scope, value), count, last)
    _store_counts(connection, counts, last_event_id)


def _store_counts(connection: Connection, counts: dict[Key, list[Any]], newest: int) -> None:
    """Add ``counts`` (event attribute keys within the cap) and mark ``newest`` counted."""
    attributes = {key: value for key, value in counts.items() if key[1] == "event_attribute"}
    kept = {key: value for key, value in counts.items() if key[1] != "event_attribute"}
    kept.update(_within_key_cap(connection, attributes))
    _add(connection, kept)
    _mark(connection, newest)


def _count_events(connection: Connection, done: int, newest: int, numbers: dict[int, str],
                  counts: dict[Key, list[Any]]) -> None:
    """Events by input, type and name (commerce events: by product action)."""
    e = events.c
    rows = connection.execute(
        select(e.input_no, e.type_code, e.event_name, e.commerce_action,
               func.count(), func.max(e.ts_ms))
        .where(e.id > done, e.id <= newest)
        .group_by(e.input_no, e.type_code, e.event_name, e.commerce_action))
    for input_no, code, name, action, count, last in rows:
        event_type = EVENT_TYPES_BY_CODE.get(code, str(code))
        value = (action if code == _COMMERCE else name) or ""
        _tally(counts, (numbers[input_no], "event", event_type, value), count, last)


def _count_platforms_and_places(connection: Connection, done: int, newest: int,
                                numbers: dict[int, str], counts: dict[Key, list[Any]]) -> None:
    """Events by input and platform, and by input and each location field's value."""
    e = events.c
    located = (e.platform, *(e[field] for field in PLACE_FIELDS))
    rows = connection.execute(
        select(e.input_no, *located, func.count(), func.max(e.ts_ms))
        .where(e.id > done, e.id <= newest)
        .group_by(e.input_no, *located))
    for input_no, platform, *places, count, last in rows:
        input_id = numbers[input_no]
        if platform is not None:
            _tally(counts, (input_id, "platform", "", platform), count, last)
        for field, value in zip(PLACE_FIELDS, places, strict=True):
            if value is not None:
                _tally(counts, (input_id, "place", field, value), count, last)


_ATTRIBUTE_KEYS = {
    # The keys of each new event's attributes object (arrays and scalars have none).
    "sqlite": """
        SELECT e.input_no, coalesce(e.event_name, e.commerce_action, ''), j.key,
               count(*), max(e.ts_ms)
        FROM events AS e, json_each(e.attributes) AS j
        WHERE e.id > :done AND e.id <= :newest AND e.attributes IS NOT NULL
          AND typeof(j.key) = 'text'
        GROUP BY 1, 2, 3""",
    "postgresql": """
        SELECT e.input_no, coalesce(e.event_name, e.commerce_action, ''), k.key,
               count(*), max(e.ts_ms)
        FROM events AS e CROSS JOIN LATERAL json_object_keys(
            CASE WHEN json_typeof(e.attributes) = 'object' THEN e.attributes END) AS k(key)
        WHERE e.id > :done AND e.id <= :newest AND e.attributes IS NOT NULL
        GROUP BY 1, 2, 3""",
}


def _count_attribute_keys(connection: Connection, done: int, newest: int,
                          numbers: dict[int, str], counts: dict[Key, list[Any]]) -> None:
    """Events by input, event name and attribute key (keys longer than a name can be skipped)."""
    rows = connection.execute(text(_ATTRIBUTE_KEYS[connection.dialect.name]),
                              {"done": done, "newest": newest})
    for input_no, name, key, count, last in rows:
        if len(key) <= CATALOGUE_TEXT_LENGTH and len(name) <= CATALOGUE_TEXT_LENGTH:
            _tally(counts, (numbers[input_no], "event_attribute", name, key), count, last)


def _within_key_cap(connection: Connection, found: dict[Key, list[Any]]
                    ) -> dict[Key, list[Any]]:
    """``found`` attribute keys without the new ones past :data:`KEYS_PER_EVENT_NAME`.

    Only the (input, event name) pairs that could pass the cap are looked at closely.
    """
    by_name: dict[tuple[str, str], list[Key]] = {}
    for key in found:
        by_name.setdefault((key[0], key[2]), []).append(key)
    c = catalogue.c
    stored = {(input_id, scope): n for input_id, scope, n in connection.execute(
        select(c.input_id, c.scope, func.count()).where(c.kind == "event_attribute")
        .group_by(c.input_id, c.scope))}
    kept: dict[Key, list[Any]] = {}
    for (input_id, scope), keys in by_name.items():
        already = stored.get((input_id, scope), 0)
        if already + len(keys) <= KEYS_PER_EVENT_NAME:
            kept.update((key, found[key]) for key in keys)
            continue
        known = set(connection.execute(
            select(c.value).where(c.input_id == input_id, c.kind == "event_attribute",
                                  c.scope == scope)).scalars())
        room = KEYS_PER_EVENT_NAME - len(known)
        for key in sorted(keys, key=lambda k: (-found[k][0], k[3])):
            if key[3] in known:
                kept[key] = found[key]
            elif room > 0:
                kept[key] = found[key]
                room -= 1
    return kept


def _tally(counts: dict[Key, list[Any]], key: Key, count: int, last: int | None) -> None:
    known = counts.get(key)
    if known is None:
        counts[key] = [int(count), last]
        return
    known[0] += int(count)
    if last is not None and (known[1] is None or last > known[1]):
        known[1] = last


def _upsert(dialect: str) -> Any:
    """INSERT into catalogue adding to the count and keeping the later ``last_ms``."""
    module: Any = sqlite if dialect == "sqlite" else postgresql
    statement = module.insert(catalogue)
    stored, new = catalogue.c, statement.excluded
    later = func.coalesce(func.max(stored.last_ms, new.last_ms), stored.last_ms, new.last_ms) \
        if dialect == "sqlite" else func.greatest(stored.last_ms, new.last_ms)
    return statement.on_conflict_do_update(
        index_elements=["input_id", "kind", "scope", "value"],
        set_={"count": stored.count + new.count, "last_ms": later})


def _add(connection: Connection, counts: dict[Key, list[Any]]) -> None:
    """Add ``counts`` to the stored ones (in key order: concurrent writers lock rows alike)."""
    if not counts:
        return
    rows = [{"input_id": k[0], "kind": k[1], "scope": k[2], "value": k[3],
             "count": v[0], "last_ms": v[1]} for k, v in sorted(counts.items())]
    connection.execute(_upsert(connection.dialect.name), rows)


def _mark(connection: Connection, last_event_id: int) -> None:
    moved = connection.execute(
        update(catalogue_state).where(catalogue_state.c.id == 1)
        .values(last_event_id=last_event_id))
    if moved.rowcount == 0:
        connection.execute(catalogue_state.insert().values(id=1, last_event_id=last_event_id))


_FOLD_CHANGES = {
    # SQLite has one writer at a time: add up, then empty, in the same transaction.
    "sqlite": ("""
        INSERT INTO catalogue (input_id, kind, scope, value, count, last_ms)
        SELECT input_id, kind, scope, value, sum(change), NULL FROM catalogue_changes
        WHERE true GROUP BY input_id, kind, scope, value
        ON CONFLICT (input_id, kind, scope, value) DO UPDATE
        SET count = catalogue.count + excluded.count""",
               "DELETE FROM catalogue_changes"),
    # PostgreSQL: exactly the rows deleted are added, whatever other writers commit meanwhile.
    "postgresql": ("""
        WITH moved AS (DELETE FROM catalogue_changes RETURNING *)
        INSERT INTO catalogue (input_id, kind, scope, value, count, last_ms)
        SELECT input_id, kind, scope, value, sum(change), NULL FROM moved
        GROUP BY input_id, kind, scope, value ORDER BY input_id, kind, scope, value
        ON CONFLICT (input_id, kind, scope, value) DO UPDATE
        SET count = catalogue.count + excluded.count""",),
}


def _fold_profile_changes(connection: Connection) -> None:
    if connection.execute(select(catalogue_changes.c.change).limit(1)).first() is None:
        return
    for statement in _FOLD_CHANGES[connection.dialect.name]:
        connection.execute(text(statement))


# ---------------------------------------------------------------------- reading


def read_sightings(connection: Connection, input_ids: Iterable[str] | None = None
                   ) -> list[Sighting]:
    """The catalogue's rows (of ``input_ids``, or every input) as sightings.

    Reads the table as it is: call :func:`refresh_catalogue` (or
    :func:`sightings`) first when events may have come in some other way than
    through the event writer.
    """
    c = catalogue.c
    query = select(c.kind, c.scope, c.value, c.input_id, c.count, c.last_ms).where(c.count > 0)
    if input_ids is not None:
        query = query.where(c.input_id.in_(sorted(set(input_ids))))
    return [Sighting(kind, scope, value, input_id, int(count), _moment(last))
            for kind, scope, value, input_id, count, last in connection.execute(query)]


def sightings(engine: Engine, input_ids: Iterable[str] | None = None) -> list[Sighting]:
    """Bring the catalogue up to date if it is behind, then read it.

    The event writer keeps it current with every chunk, so usually this only
    reads. When events came in some other way it refreshes, waiting at most
    :data:`REFRESH_LOCK_WAIT_MS` for another writer; past that (an import holds
    the database) the counts as of that writer's last commit are read.
    """
    with engine.connect() as connection:
        current = is_current(connection)
    if not current:
        try:
            with engine.begin() as connection, _short_lock_waits(connection):
                refresh_catalogue(connection)
        except OperationalError:
            pass
    with engine.connect() as connection:
        return read_sightings(connection, input_ids)


REFRESH_LOCK_WAIT_MS = 500
"""How long a reader's refresh waits for another writer's lock (the builder is opening)."""


@contextmanager
def _short_lock_waits(connection: Connection) -> Iterator[None]:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {REFRESH_LOCK_WAIT_MS:d}")
        yield
        return
    if connection.dialect.name != "sqlite":
        yield
        return
    before = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0)
    connection.exec_driver_sql(f"PRAGMA busy_timeout={REFRESH_LOCK_WAIT_MS:d}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={before:d}")


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


# ---------------------------------------------------------------------- triggers

PROFILE_KINDS: Sequence[CatalogueKind] = ("user_attribute", "identity_type")


def _sqlite_triggers() -> list[str]:
    """Row triggers recording each change of (users seen through an input) ⋈ (their profile)."""
    attribute = ("'user_attribute'", "value_type", "name")
    identity = ("'identity_type'", "''", "identity_type")

    def changes(input_id: str, kind_scope_value: tuple[str, str, str], source: str,
                change: int, where: str) -> str:
        kind, scope, value = kind_scope_value
        return (f"INSERT INTO catalogue_changes (input_id, kind, scope, value, change) "
                f"SELECT {input_id}, {kind}, {scope}, {value}, {change} "
                f"FROM {source} WHERE {where};")

    def of(row: str, kind_scope_value: tuple[str, str, str]) -> tuple[str, str, str]:
        kind, scope, value = kind_scope_value
        return kind, (f"{row}.{scope}" if scope != "''" else scope), f"{row}.{value}"

    statements = []
    for event, row, change in (("INSERT", "NEW", 1), ("DELETE", "OLD", -1)):
        statements.append(
            f"CREATE TRIGGER catalogue_user_inputs_{event.lower()} AFTER {event} ON user_inputs "
            f"BEGIN "
            + changes(f"{row}.input_id", attribute, "user_attributes", change,
                      f"user_id = {row}.user_id")
            + changes(f"{row}.input_id", identity, "user_identities", change,
                      f"user_id = {row}.user_id")
            + " END")
        for table, kind_scope_value in (("user_attributes", attribute),
                                        ("user_identities", identity)):
            statements.append(
                f"CREATE TRIGGER catalogue_{table}_{event.lower()} AFTER {event} ON {table} "
                "BEGIN "
                + changes("input_id", of(row, kind_scope_value), "user_inputs", change,
                          f"user_id = {row}.user_id")
                + " END")
    for table, kind_scope_value, columns in (
        ("user_attributes", attribute, ("user_id", "name", "value_type")),
        ("user_identities", identity, ("user_id", "identity_type")),
    ):
        moved = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        statements.append(
            f"CREATE TRIGGER catalogue_{table}_update AFTER UPDATE OF {', '.join(columns)} "
            f"ON {table} WHEN {moved} BEGIN "
            + changes("input_id", of("OLD", kind_scope_value), "user_inputs", -1,
                      "user_id = OLD.user_id")
            + changes("input_id", of("NEW", kind_scope_value), "user_inputs", 1,
                      "user_id = NEW.user_id")
            + " END")
    return statements


def _postgres_triggers() -> list[str]:
    """The same as :func:`_sqlite_triggers` as PL/pgSQL row triggers."""
    statements = []
    attribute = "'user_attribute', a.value_type, a.name"
    identity = "'identity_type', '', i.identity_type"

    def function(name: str, body: str, returns: str = "NULL") -> str:
        return (f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"{body} RETURN {returns}; END $$")

    # PostgreSQL runs AFTER row triggers at the end of the statement, and deleting a
    # user deletes its user_inputs and profile rows in one: after it, neither trigger
    # would find the other table's rows. BEFORE DELETE triggers see them (and must
    # return OLD, or the row is not deleted).
    timing = {"INSERT": ("AFTER", "NULL"), "DELETE": ("BEFORE", "OLD")}

    insert = "INSERT INTO catalogue_changes (input_id, kind, scope, value, change) "
    for event, row, change in (("INSERT", "NEW", 1), ("DELETE", "OLD", -1)):
        name = f"catalogue_user_inputs_{event.lower()}"
        statements.append(function(name, (
            f"{insert} SELECT {row}.input_id, {attribute}, {change} FROM user_attributes AS a "
            f"WHERE a.user_id = {row}.user_id; "
            f"{insert} SELECT {row}.input_id, {identity}, {change} FROM user_identities AS i "
            f"WHERE i.user_id = {row}.user_id;"), timing[event][1]))
        statements.append(f"CREATE TRIGGER {name} {timing[event][0]} {event} ON user_inputs "
                          f"FOR EACH ROW EXECUTE PROCEDURE {name}()")
        for table, values in (("user_attributes", f"{row}.value_type, {row}.name"),
                              ("user_identities", f"'', {row}.identity_type")):
            kind = "'user_attribute'" if table == "user_attributes" else "'identity_type'"
            name = f"catalogue_{table}_{event.lower()}"
            statements.append(function(name, (
                f"{insert} SELECT u.input_id, {kind}, {values}, {change} FROM user_inputs AS u "
                f"WHERE u.user_id = {row}.user_id;"), timing[event][1]))
            statements.append(f"CREATE TRIGGER {name} {timing[event][0]} {event} ON {table} "
                              f"FOR EACH ROW EXECUTE PROCEDURE {name}()")
    for table, kind, columns, scope, value in (
        ("user_attributes", "'user_attribute'", ("user_id", "name", "value_type"),
         "{row}.value_type", "{row}.name"),
        ("user_identities", "'identity_type'", ("user_id", "identity_type"),
         "''", "{row}.identity_type"),
    ):
        name = f"catalogue_{table}_update"
        changed = [
            f"{insert} SELECT u.input_id, {kind}, {scope.format(row=row)}, "
            f"{value.format(row=row)}, {change} FROM user_inputs AS u "
            f"WHERE u.user_id = {row}.user_id;"
            for row, change in (("OLD", -1), ("NEW", 1))]
        statements.append(function(name, " ".join(changed)))
        moved = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        statements.append(f"CREATE TRIGGER {name} AFTER UPDATE OF {', '.join(columns)} "
                          f"ON {table} FOR EACH ROW WHEN ({moved}) "
                          f"EXECUTE PROCEDURE {name}()")
    return statements


TRIGGERS = (
    *(f"catalogue_user_inputs_{e}" for e in ("insert", "delete")),
    *(f"catalogue_{t}_{e}" for t in ("user_attributes", "user_identities")
      for e in ("insert", "delete", "update")),
)
"""The names of the triggers (and, on PostgreSQL, of their functions)."""
_TRIGGER_TABLES = {name: ("user_inputs" if "user_inputs" in name else
                          "user_attributes" if "user_attributes" in name else "user_identities")
                   for name in TRIGGERS}


def create_triggers(connection: Connection) -> None:
    """Create the profile kinds' triggers (migration 0013)."""
    dialect = connection.dialect.name
    statements = (_sqlite_triggers() if dialect == "sqlite" else
                  _postgres_triggers() if dialect == "postgresql" else [])
    for statement in statements:
        connection.exec_driver_sql(statement)


def drop_triggers(connection: Connection) -> None:
    dialect = connection.dialect.name
    for name in TRIGGERS:
        if dialect == "sqlite":
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        elif dialect == "postgresql":
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {_TRIGGER_TABLES[name]}")
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")


def count_profiles(connection: Connection) -> None:
    """Count the profile kinds of the data already stored (the triggers keep them up after).

    For migration 0013, which adds the triggers to a store that may hold data.
    """
    for kind, scope, value, table in (
        ("user_attribute", "p.value_type", "p.name", "user_attributes"),
        ("identity_type", "''", "p.identity_type", "user_identities"),
    ):
        connection.execute(text(
            "INSERT INTO catalogue (input_id, kind, scope, value, count, last_ms) "
            f"SELECT u.input_id, '{kind}', {scope}, {value}, count(*), NULL "
            f"FROM user_inputs AS u JOIN {table} AS p ON p.user_id = u.user_id WHERE true "
            "GROUP BY 1, 3, 4 "
            "ON CONFLICT (input_id, kind, scope, value) DO UPDATE "
            "SET count = catalogue.count + excluded.count"))
