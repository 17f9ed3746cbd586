"""Benchmark: evaluate a 6-milestone, 10-criterion journey over a generated event store.

    python -m tests.benchmarks.evaluate --events 10000000            # 1,000,000 users
    python -m tests.benchmarks.evaluate --events 200000 --no-duckdb  # a quick run

Prints, for SQLite: the time of one full evaluation (first run: every member is an
add), of a re-evaluation (steady state), of one plain ``SELECT count(DISTINCT
user_id) FROM events`` pass in the same run, their ratios, the peak memory
(max RSS) of the evaluating process, and how long each run held the write lock
to store its result (the rest of a run only reads, so edits and imports go on:
the longest hold is what they may have to wait); then the same journey on DuckDB (the same
rows, loaded from CSV). Data generation runs in a child process so that its
memory is not counted. ``--db DIR`` keeps the generated files for another run.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, distinct, event, func, insert, select

from app.core.criteria import (
    AmountCondition,
    AudienceDefinition,
    Clause,
    Condition,
    DeviceCriterion,
    EcommerceCriterion,
    EventCriterion,
    IdentityCriterion,
    LocationCriterion,
    TimeWindow,
    UserAttributeCriterion,
)
from app.core.graph import JourneyGraph
from app.core.models import Journey, Milestone
from app.engine.duckdb import create_engine_tables
from app.engine.evaluation import EvaluationResult, evaluate_journey, forget_audiences
from app.store import Database
from app.store.event_summaries import refresh_summaries
from app.store.event_tables import (
    EventRow,
    InputNumberRow,
    UserAttributeRow,
    UserIdentityRow,
    UserRow,
)
from app.store.incoming import EVENT_TYPE_CODES
from app.store.schema import AccountRow, InputRow, WorkspaceRow

AS_OF = datetime(2024, 6, 1, tzinfo=UTC)
AS_OF_MS = int(AS_OF.timestamp() * 1000)
DAY = 86_400_000
INPUTS = (("in-ios", "iOS"), ("in-android", "Android"), ("in-web", "web"))
INPUT_NUMBERS = [{"number": n, "input_id": i} for n, (i, _) in enumerate(INPUTS, start=1)]
"""The ``input_numbers`` rows: events store an input's number (its place in INPUTS + 1)."""
CUSTOM_EVENT = EVENT_TYPE_CODES["custom_event"]
CUSTOM = ["Open App", "Search", "Share", "Newsletter Open", "Like", "Comment", "Play",
          "Pause", "Rate", "Invite"]
SCREENS = ["Home", "Product", "Cart", "Checkout", "Profile", "Settings"]
COUNTRIES = ["US", "CA", "GB", "DE", "FR", "BR", "IN", "JP", "AU", "MX"]
PLANS = ["free", "basic", "gold", "platinum"]
EVENT_COLUMNS = ["id", "user_id", "input_no", "ts_ms", "type_code", "event_name",
                 "custom_event_type", "commerce_action", "amount", "attributes", "country",
                 "region", "city", "postal_code", "platform", "message_id"]
CHUNK = 50_000


# ---------------------------------------------------------------------- data


def generate_events(n: int, users: int, seed: int) -> Iterator[dict[str, Any]]:
    rnd = random.Random(seed)
    for i in range(n):
        input_index = rnd.randrange(3)
        platform = INPUTS[input_index][1]
        r = rnd.random()
        row: dict[str, Any] = {
            "id": i + 1, "user_id": rnd.randint(1, users), "input_no": input_index + 1,
            "ts_ms": AS_OF_MS - rnd.randrange(90 * DAY), "type_code": CUSTOM_EVENT,
            "event_name": None, "custom_event_type": None, "commerce_action": None,
            "amount": None, "attributes": None,
            "country": COUNTRIES[rnd.randrange(10)] if rnd.random() < 0.9 else None,
            "region": None, "city": None, "postal_code": None, "platform": platform,
            "message_id": None,
        }
        if r < 0.05:
            row["type_code"] = EVENT_TYPE_CODES["session_start"]
        elif r < 0.55:
            row["event_name"] = CUSTOM[rnd.randrange(len(CUSTOM))]
        elif r < 0.85:
            row["type_code"] = EVENT_TYPE_CODES["screen_view"]
            screen = SCREENS[rnd.randrange(len(SCREENS))]
            row["event_name"] = screen
            if screen == "Product":
                row["attributes"] = {"category": ["shoes", "shirts", "hats"][rnd.randrange(3)]}
        else:
            row["type_code"] = EVENT_TYPE_CODES["commerce_event"]
            a = rnd.random()
            row["commerce_action"] = ("add_to_cart" if a < 0.6 else
                                      "purchase" if a < 0.9 else "view_detail")
            row["amount"] = round(rnd.uniform(5, 200), 2)
        yield row


def chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def user_rows(users: int, seed: int) -> tuple[list[dict[str, Any]], ...]:
    rnd = random.Random(seed + 1)
    people, identities, attributes = [], [], []
    for user in range(1, users + 1):
        people.append({"id": user, "external_id": f"u{user}", "first_seen_ms": None,
                       "last_seen_ms": None})
        if rnd.random() < 0.6:
            identities.append({"user_id": user, "identity_type": "email",
                               "value": f"u{user}@example.com"})
        attributes.append({"user_id": user, "name": "plan", "value_type": "string",
                           "text_value": PLANS[rnd.randrange(4)], "number_value": None,
                           "bool_value": None, "date_ms": None, "list_value": None})
    return people, identities, attributes


def generate(directory: Path, n: int, users: int, seed: int, duckdb: bool) -> None:
    """Write the SQLite store (and, for DuckDB, CSV copies of the rows) into ``directory``."""
    url = f"sqlite:///{directory / 'events.db'}"
    Database(url).dispose()  # migrated to head: every table and index of the store
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _fast(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    people, identities, attributes = user_rows(users, seed)
    with engine.begin() as connection:
        connection.execute(insert(AccountRow.__table__),
                           [{"id": "acct", "name": "Bench", "active_audience_limit": 25}])
        connection.execute(insert(WorkspaceRow.__table__),
                           [{"id": "ws", "account_id": "acct", "name": "App", "position": 0}])
        connection.execute(insert(InputRow.__table__), [
            {"id": i, "workspace_id": "ws", "name": p, "kind": "platform", "platform": p,
             "position": n} for n, (i, p) in enumerate(INPUTS)
        ])
        connection.execute(insert(InputNumberRow.__table__), INPUT_NUMBERS)
        for table, rows in ((UserRow, people), (UserIdentityRow, identities),
                            (UserAttributeRow, attributes)):
            for start in range(0, len(rows), CHUNK):
                connection.execute(insert(table.__table__), rows[start:start + CHUNK])
    writer = None
    handle = None
    if duckdb:
        handle = (directory / "events.csv").open("w", newline="")
        writer = csv.writer(handle)
        writer.writerow(EVENT_COLUMNS)
        for name, rows in (("users", people), ("identities", identities),
                           ("attributes", attributes)):
            with (directory / f"{name}.csv").open("w", newline="") as out:
                w = csv.DictWriter(out, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
    for batch in chunks(generate_events(n, users, seed)):
        with engine.begin() as connection:
            connection.execute(insert(EventRow.__table__), batch)
        if writer is not None:
            writer.writerows(
                [["" if row[c] is None else json.dumps(row[c]) if c == "attributes" else row[c]
                  for c in EVENT_COLUMNS] for row in batch]
            )
    if handle is not None:
        handle.close()
    with engine.begin() as connection:  # what the event writer does after each chunk
        refresh_summaries(connection)
    engine.dispose()


def load_duckdb(directory: Path) -> Engine:
    import duckdb

    path = directory / "events.duckdb"
    path.unlink(missing_ok=True)
    engine = create_engine(f"duckdb:///{path}")
    create_engine_tables(engine)
    with engine.begin() as connection:
        connection.execute(insert(InputRow.__table__), [
            {"id": i, "workspace_id": "ws", "name": p, "kind": "platform", "platform": p,
             "position": n} for n, (i, p) in enumerate(INPUTS)
        ])
        connection.execute(insert(InputNumberRow.__table__), INPUT_NUMBERS)
    engine.dispose()
    connection = duckdb.connect(str(path))
    try:
        for name, table in (("users", "users"), ("identities", "user_identities"),
                            ("attributes", "user_attributes"), ("events", "events")):
            connection.read_csv(str(directory / f"{name}.csv"), header=True,
                                all_varchar=False).insert_into(table)
    finally:
        connection.close()
    engine = create_engine(f"duckdb:///{path}")
    with engine.begin() as sa_connection:
        refresh_summaries(sa_connection)
    return engine


# ---------------------------------------------------------------------- journey


def define(*items: Any, joins: tuple[str, ...] = ()) -> AudienceDefinition:
    joins = joins or ("and",) * len(items)
    return AudienceDefinition(clauses=tuple(
        Clause(join=j, item=i) for j, i in zip(joins, items, strict=True)  # type: ignore[arg-type]
    ))


def journey(input_ids: tuple[str, ...] = tuple(i for i, _ in INPUTS)) -> JourneyGraph:
    """6 milestones (one of them Remaining users), 11 criteria, reading ``input_ids``."""
    graph = JourneyGraph(Journey(name="Benchmark", input_ids=input_ids))
    active = graph.add_milestone(Milestone(name="Active", definition=define(
        EventCriterion(event_type="session_start", window=TimeWindow(days=30)),
        EventCriterion(event_name="Open App", window=TimeWindow(days=30)),
        joins=("and", "or"),
    )))
    browsed = graph.add_milestone(Milestone(name="Browsed shoes", parent_id=active.id,
                                            definition=define(
        EventCriterion(event_type="screen_view", event_name="Product", count_operator=">=",
                       count=1, window=TimeWindow(days=30),
                       conditions=(Condition(attribute="category", operator="equals",
                                             value="shoes"),)),
        DeviceCriterion(platforms=("iOS", "Android")),
    )))
    graph.add_milestone(Milestone(name="Everyone else", parent_id=active.id, remaining=True))
    carted = graph.add_milestone(Milestone(name="Carted, not bought", parent_id=browsed.id,
                                           definition=define(
        EcommerceCriterion(action="add_to_cart", window=TimeWindow(days=30),
                           amount=(AmountCondition(operator="gt", value=20),)),
        EcommerceCriterion(action="purchase", window=TimeWindow(days=7)),
        joins=("and", "exclude"),
    )))
    valuable = graph.add_milestone(Milestone(name="High value", parent_id=carted.id,
                                             definition=define(
        UserAttributeCriterion(condition=Condition(attribute="plan", operator="in",
                                                   value=["gold", "platinum"])),
        LocationCriterion(field="country", operator="in", value=["US", "CA"]),
        joins=("and", "or"),
    )))
    graph.add_milestone(Milestone(name="Reachable", parent_id=valuable.id, definition=define(
        IdentityCriterion(identity_type="email"),
        EventCriterion(event_name="Newsletter Open", count_operator="=", count=0,
                       window=TimeWindow(days=30)),
        EventCriterion(event_name="Search", count_operator="<", count=3,
                       window=TimeWindow(days=7)),
    )))
    return graph


# ---------------------------------------------------------------------- measuring


def naive_statement() -> Any:
    events = EventRow.__table__
    return select(func.count(distinct(events.c.user_id)))


def naive_pass(engine: Engine) -> float:
    """One plain pass, at its fastest: on SQLite its temporary B-tree of distinct users is
    kept in memory (twice as fast as SQLite's default, a temporary file)."""
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA temp_store=MEMORY")
        started = time.perf_counter()
        connection.execute(naive_statement()).scalar_one()
        seconds = time.perf_counter() - started
        if sqlite:
            connection.exec_driver_sql("PRAGMA temp_store=DEFAULT")
    return seconds


def naive_plan(engine: Engine) -> str:
    """What the plain pass reads, as SQLite plans it (printed, so the ratio can be judged)."""
    if engine.dialect.name != "sqlite":
        return ""
    sql = str(naive_statement().compile(engine))
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
    return "; ".join(str(row[-1]) for row in rows)


WRITE_LOCK_HOLDS: list[float] = []
"""How long each evaluation of this process held the write lock to store its result."""


def timed_evaluation(engine: Engine, graph: JourneyGraph) -> tuple[float, EvaluationResult]:
    started = time.perf_counter()
    result = evaluate_journey(engine, graph, AS_OF)
    WRITE_LOCK_HOLDS.append(result.write_lock_seconds)
    return time.perf_counter() - started, result


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def settle(engine: Engine) -> None:
    """Copy whatever an earlier run left in SQLite's write-ahead log into the database file.

    Otherwise the first write of this run (the first evaluation's commit) would
    pay for checkpointing an earlier run's pages, not only its own.
    """
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").all()


TARGET_RATIO = 0.5
TARGET_PEAK_MB = 500
TARGET_WRITE_LOCK_MS = 100


def report(backend: str, engine: Engine, graph: JourneyGraph, *, targets: bool) -> None:
    """Time the plain pass, a first evaluation and a re-evaluation; print the table.

    ``targets``: the issue's targets apply (SQLite) and are checked in the output.
    """
    settle(engine)
    naive_pass(engine)  # untimed: the timed pass and the evaluations both read warm data
    naive = naive_pass(engine)
    first, result = timed_evaluation(engine, graph)
    again, steady = timed_evaluation(engine, graph)
    peak = peak_mb()
    print(f"\n{backend}")
    print(f"  plain count(DISTINCT user_id) pass: {naive:8.2f} s")
    plan = naive_plan(engine)
    if plan:
        print(f"    (it reads: {plan})")
    print(f"  full evaluation (first run):        {first:8.2f} s   ratio {first / naive:.2f}")
    print(f"  re-evaluation (steady state):       {again:8.2f} s   ratio {again / naive:.2f}")
    print(f"  peak memory so far (max RSS):       {peak:8.0f} MB")
    print(f"  write lock held to store: first run {result.write_lock_seconds * 1000:.0f} ms, "
          f"re-evaluation {steady.write_lock_seconds * 1000:.0f} ms")
    print(f"  population {result.population.size:,}; milestones: " + ", ".join(
        f"{m.name} {m.size:,}" for m in result.milestones))
    if targets:
        hold_ms = steady.write_lock_seconds * 1000
        print(f"  write-lock target < {TARGET_WRITE_LOCK_MS} ms (re-evaluation): "
              f"{'met' if hold_ms < TARGET_WRITE_LOCK_MS else 'NOT met'} ({hold_ms:.0f} ms)")
        ratio = first / naive
        print(f"  ratio target <= {TARGET_RATIO} (full evaluation / plain pass): "
              f"{'met' if ratio <= TARGET_RATIO else 'NOT met'} ({ratio:.2f}); peak memory "
              f"target < {TARGET_PEAK_MB} MB: {'met' if peak < TARGET_PEAK_MB else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.evaluate")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, help="default: events / 10")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", type=Path, help="keep (or reuse) the generated files here")
    parser.add_argument("--no-duckdb", action="store_true", help="SQLite only")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    users = args.users or max(1, args.events // 10)
    directory = args.db or Path(tempfile.mkdtemp(prefix="journeys-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    if args.generate_only:
        generate(directory, args.events, users, args.seed, not args.no_duckdb)
        return 0
    if not (directory / "events.db").exists():
        started = time.perf_counter()
        command = [sys.executable, "-m", "tests.benchmarks.evaluate", "--generate-only",
                   "--events", str(args.events), "--users", str(users), "--seed",
                   str(args.seed), "--db", str(directory)]
        if args.no_duckdb:
            command.append("--no-duckdb")
        subprocess.run(command, check=True)
        print(f"generated {args.events:,} events for {users:,} users in "
              f"{time.perf_counter() - started:.1f} s ({directory})")
    graph = journey()
    database = Database(f"sqlite:///{directory / 'events.db'}")
    try:
        report("SQLite", database.engine, graph, targets=True)
        some = journey(tuple(i for i, _ in INPUTS[:2]))
        seconds, _ = timed_evaluation(database.engine, some)
        print(f"  the same journey on 2 of the 3 inputs (first run): {seconds:.2f} s")
        print(f"  longest write-lock hold (any SQLite run above): "
              f"{max(WRITE_LOCK_HOLDS) * 1000:.0f} ms")
        for evaluated in (graph, some):  # a kept --db must not pile up memberships
            forget_audiences(
                database.engine, [evaluated.id, *(m.id for m in evaluated.milestones_in_order())]
            )
        settle(database.engine)
    finally:
        database.dispose()
    if not args.no_duckdb:
        started = time.perf_counter()
        engine = load_duckdb(directory)
        print(f"\n(DuckDB: loaded the same rows from CSV in {time.perf_counter() - started:.1f} s)")
        try:
            report("DuckDB", engine, graph, targets=False)
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
