"""Benchmark: reading the data catalogue at 1M and 10M events, and what keeping it costs imports.

    python -m tests.benchmarks.catalogue                         # 1M and 10M events
    python -m tests.benchmarks.catalogue --sizes 1000000 --import-events 100000
    python -m tests.benchmarks.catalogue --db 10000000=DIR       # reuse an evaluate --db DIR

The event stores are those of ``tests.benchmarks.evaluate`` (generated once per
size and kept in ``--keep DIR``, or an existing ``--db``, which is copied first:
opening it migrates it). For each size it prints how long opening the store took
(the migration counts the events already stored, once), how long reading the
whole catalogue takes (what the builder does when it opens; best of five), and
the same read as a ``GROUP BY`` over the events would take.

Then the import cost: the same demo mParticle file is imported into two new
databases, with the catalogue kept up to date (as shipped) and without (its
triggers dropped and the writer's refresh skipped), alternately, three times
each; the ratio of the best rates is the cost. The machine's load average is
printed with it: other work on the machine slows imports.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READS = 5


def _store_for(size: int, folder: Path, given: Path | None) -> Path:
    """The events.db of ``size`` events: a copy of ``given``, or generated once in ``folder``."""
    target = folder / f"events-{size}"
    target.mkdir(parents=True, exist_ok=True)
    db = target / "events.db"
    if db.exists():
        return db
    if given is not None:
        started = time.perf_counter()
        shutil.copyfile(given / "events.db", db)
        print(f"copied {given / 'events.db'} in {time.perf_counter() - started:.1f} s",
              flush=True)
        return db
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tests.benchmarks.evaluate", "--generate-only",
                    "--no-duckdb", "--events", str(size), "--users", str(max(1, size // 10)),
                    "--db", str(target)], check=True)
    print(f"generated {size:,} events in {time.perf_counter() - started:.1f} s", flush=True)
    return db


def read_benchmark(size: int, db: Path) -> None:
    from app.store import Database
    from app.store.catalogue import sightings

    started = time.perf_counter()
    database = Database(f"sqlite:///{db}")
    opened = time.perf_counter() - started
    try:
        engine = database.engine
        started = time.perf_counter()
        sightings(engine)  # brings it up to date if the store was filled some other way
        caught_up = time.perf_counter() - started
        times = []
        for _ in range(READS):
            started = time.perf_counter()
            rows = sightings(engine)
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        with engine.connect() as connection:
            connection.exec_driver_sql(
                "SELECT input_no, type_code, event_name, count(*), max(ts_ms) FROM events "
                "GROUP BY 1, 2, 3").all()
        names_only = time.perf_counter() - started
    finally:
        database.dispose()
    print(f"\n{size:,} events: opening the store took {opened:.1f} s (a store made before "
          "the catalogue is counted once, here)")
    print(f"  first read, counting events stored without the writer (the generator's): "
          f"{caught_up:.1f} s")
    print(f"  read the whole catalogue ({len(rows):,} rows): best {min(times) * 1000:.1f} ms, "
          f"worst {max(times) * 1000:.1f} ms of {READS}")
    print(f"  for comparison, event names alone by GROUP BY over the events: {names_only:.1f} s",
          flush=True)


def _import_once(file: Path, folder: Path, keep_catalogue: bool) -> float:
    """Events per second of one import of ``file`` into a new database."""
    from app.ingest.demo_account import demo_account
    from app.ingest.importer import import_files
    from app.store import AccountRepository, Database, catalogue, event_writer

    db = folder / f"import-{'with' if keep_catalogue else 'without'}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    database = Database(f"sqlite:///{db}")
    original = event_writer.refresh_catalogue
    try:
        with database.transaction() as session:
            AccountRepository(session).create(demo_account().account_data())
        if not keep_catalogue:
            with database.engine.begin() as connection:
                catalogue.drop_triggers(connection)
            event_writer.refresh_catalogue = lambda connection: 0  # type: ignore[assignment]
        started = time.perf_counter()
        summary = import_files(database, [file], format="mparticle",
                               input_id="in-streaming-ios")
        seconds = time.perf_counter() - started
    finally:
        event_writer.refresh_catalogue = original
        database.dispose()
    return summary.events_imported / seconds


def import_benchmark(events: int, folder: Path) -> None:
    from tests.benchmarks.ingest import generate

    file = folder / f"batches-{events}.jsonl"
    if not file.exists():
        generate(file, events)
    load = os.getloadavg()
    rates: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(3):
        for keep in (False, True):
            rates[keep].append(_import_once(file, folder, keep))
    with_it, without = max(rates[True]), max(rates[False])
    after = os.getloadavg()
    print(f"\nimport of {events:,} demo events (best of 3 each, alternating):")
    print(f"  without the catalogue: {without:,.0f} events/s  "
          f"(runs: {', '.join(f'{r:,.0f}' for r in rates[False])})")
    print(f"  with the catalogue:    {with_it:,.0f} events/s  "
          f"(runs: {', '.join(f'{r:,.0f}' for r in rates[True])})")
    print(f"  ratio with/without: {with_it / without:.2f} "
          f"(keeping the catalogue costs {100 * (1 - with_it / without):.0f}% of the rate)")
    print(f"  load average (1, 5, 15 min) before {' '.join(f'{x:.2f}' for x in load)}, "
          f"after {' '.join(f'{x:.2f}' for x in after)} on {os.cpu_count()} CPUs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.catalogue")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--db", action="append", default=[], metavar="SIZE=DIR",
                        help="use (a copy of) an existing evaluate benchmark store for SIZE")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the stores and files here (default: a temporary folder)")
    parser.add_argument("--import-events", type=int, default=200_000)
    args = parser.parse_args(argv)
    given = {int(size): Path(path) for size, path in (d.split("=", 1) for d in args.db)}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="catalogue-bench-") as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            read_benchmark(size, _store_for(size, folder, given.get(size)))
        if args.import_events:
            import_benchmark(args.import_events, folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
