"""Benchmark: import mParticle JSON lines into SQLite; events per second and peak memory.

    python -m tests.benchmarks.ingest                      # 1,000,000 events
    python -m tests.benchmarks.ingest --events 200000      # a quick run
    python -m tests.benchmarks.ingest --chunk-size 20000 --keep DIR

Generates demo batches (app/ingest/demo_data.py: sessions, funnel, commerce, full
user profiles in every batch, as mParticle sends them) as one JSON lines file (one
user's batches after another; ``--time-ordered``: sorted by time, users interleaved),
then imports it with ``import_files`` into a new SQLite database in a child
process, so the peak memory (max RSS) printed is the import's alone: that process's
peak plus the peak of the process it parses in (app/ingest/parse_process.py). The same
import of a file a quarter the size runs first: the two peaks side by side show
whether memory depends on the file size (it should not).

Targets (issue 3): at least 100,000 events/s on a 2-core machine, peak memory
under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

TARGET_EVENTS_PER_S = 100_000
TARGET_PEAK_MB = 300
INPUT_ID = "in-streaming-ios"


def generate(
    path: Path, events: int, *, seed: int = 99, time_ordered: bool = False
) -> tuple[int, int]:
    """Write demo batches until ``events`` events; returns (events, batches) written.

    The demo generator writes one user's batches after another. ``time_ordered``
    sorts the batches by their first event's time instead, so users interleave as
    in a live export (the file is sorted in memory: meant for this benchmark only).
    """
    from app.ingest.demo_data import demo_batches

    written = batches = 0
    lines: list[tuple[int, bytes]] = []
    with path.open("wb") as out:
        for _input_id, batch in demo_batches(10**9, seed=seed):
            line = orjson.dumps(batch) + b"\n"
            if time_ordered:
                first = min(e["data"].get("timestamp_unixtime_ms", 0) for e in batch["events"])
                lines.append((first, line))
            else:
                out.write(line)
            written += len(batch["events"])
            batches += 1
            if written >= events:
                break
        lines.sort(key=lambda pair: pair[0])
        out.writelines(line for _first, line in lines)
    return written, batches


def child(db_path: Path, file: Path, chunk_size: int) -> dict[str, Any]:
    """Import ``file`` into a new database; runs in its own process."""
    from app.ingest.demo_account import demo_account
    from app.ingest.importer import import_files
    from app.store import AccountRepository, Database

    database = Database(f"sqlite:///{db_path}")
    with database.transaction() as session:
        AccountRepository(session).create(demo_account().account_data())
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    summary = import_files(database, [file], format="mparticle", input_id=INPUT_ID,
                           chunk_size=chunk_size)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    parser = resource.getrusage(resource.RUSAGE_CHILDREN)  # the parsing process, if any
    database.dispose()
    return {
        "events": summary.events_imported,
        "batches": summary.records_imported,
        "rejected": summary.records_rejected,
        "seconds": seconds,
        "cpu_seconds": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        + parser.ru_utime + parser.ru_stime,
        "parser_mb": parser.ru_maxrss / 1024,
        "baseline_mb": baseline_mb,
        # Both processes' peaks added up: what the import may need at once.
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        + parser.ru_maxrss / 1024,
    }


def run_child(db_path: Path, file: Path, chunk_size: int) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.ingest", "--child", str(db_path), str(file),
         "--chunk-size", str(chunk_size)],
        capture_output=True, text=True, check=False,
    )
    if process.returncode != 0:
        raise SystemExit(f"the import failed:\n{process.stderr}")
    result: dict[str, Any] = json.loads(process.stdout.strip().splitlines()[-1])
    return result


def generate_apart(path: Path, events: int, *, time_ordered: bool) -> tuple[int, int]:
    """:func:`generate` in a process of its own.

    On Linux a child process's peak memory starts from its parent's peak at the
    fork, so the importing child must not be started by a process that held the
    sorted file in memory.
    """
    command = [sys.executable, "-m", "tests.benchmarks.ingest", "--generate", str(path),
               "--events", str(events)]
    if time_ordered:
        command.append("--time-ordered")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    written, batches = json.loads(output.strip().splitlines()[-1])
    return int(written), int(batches)


def main(argv: list[str] | None = None) -> int:
    from app.ingest.importer import DEFAULT_CHUNK_SIZE

    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.ingest")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="work in DIR and keep the files (default: a temporary folder)")
    parser.add_argument("--time-ordered", action="store_true",
                        help="batches sorted by time, users interleaved (as a live export)")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.chunk_size)))
        return 0
    if args.generate:
        print(json.dumps(generate(args.generate, args.events, time_ordered=args.time_ordered)))
        return 0

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs (other work on the machine slows the import)")
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        results = []
        for events in (args.events // 4, args.events):
            file = folder / f"batches-{events}.jsonl"
            started = time.perf_counter()
            written, batches = generate_apart(file, events, time_ordered=args.time_ordered)
            print(f"generated {written:,} events in {batches:,} batches "
                  f"({file.stat().st_size / 1e6:,.0f} MB) in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
            db_path = folder / f"ingest-{events}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
            result = run_child(db_path, file, args.chunk_size)
            results.append(result)
            rate = result["events"] / result["seconds"]
            print(f"imported {result['events']:,} events ({result['rejected']} rejected) in "
                  f"{result['seconds']:.1f} s: {rate:,.0f} events/s; peak memory "
                  f"{result['peak_mb']:,.0f} MB (importing process after start-up "
                  f"{result['baseline_mb']:,.0f} MB, parsing process "
                  f"{result['parser_mb']:,.0f} MB); CPU {result['cpu_seconds']:.1f} s "
                  "over all threads and processes",
                  flush=True)
        small, large = results
        rate = large["events"] / large["seconds"]
        print()
        print(f"events/s:    {rate:,.0f}  (target >= {TARGET_EVENTS_PER_S:,}: "
              f"{'met' if rate >= TARGET_EVENTS_PER_S else 'NOT met'})")
        print(f"peak memory: {large['peak_mb']:,.0f} MB  (target < {TARGET_PEAK_MB} MB: "
              f"{'met' if large['peak_mb'] < TARGET_PEAK_MB else 'NOT met'}); "
              f"a file 1/4 the size peaked at {small['peak_mb']:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
