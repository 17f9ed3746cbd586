"""Benchmark: from launching the app to the first painted canvas and the first audience sizes.

    python -m tests.benchmarks.startup                   # ~1,000,000 events, 5 launches
    python -m tests.benchmarks.startup --runs 10 --db DIR
    python -m tests.benchmarks.startup --users 2000      # a quick run (~45,000 events)

Prepares once (kept in ``--db DIR``, by default a folder in the system's temporary
folder, and reused by later runs) a SQLite database as a person has it after a while:
the first-run demo account and its journeys, plus ``journeys demo --users N`` (about
21 events per user: 47,000 users give ~1,000,000 events), already migrated and opened
once by the app (so its first evaluation's memberships are stored).

Then launches the real application (``app.ui.main:main``, what ``journey-studio``
runs) ``--runs`` times with ``QT_QPA_PLATFORM=offscreen`` and the opt-in start-up
marks (``JOURNEY_STUDIO_STARTUP_TIMING=exit``, see app/ui/main.py), and prints, per
launch and as median / min / max, the seconds from starting the process to the first
paint of the canvas and to the first audience sizes painted on it, with the CPU time
the app had used by then (all its threads: the figure other work on the machine
changes least). For scale, the same for a bare ``python -c pass``. An untimed launch
first fills the page cache and Python's bytecode cache. Window settings go to a
settings folder inside ``DIR``, not to yours.

Target (issue 13): the canvas painted within 1.5 s of launch on this 2-core machine.
Other work on the machine slows every launch: the load average is printed with the
results.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_PAINT_S = 1.5
DEFAULT_USERS = 47_000
"""Demo users for ~1,000,000 events (the demo generator writes ~21 events per user)."""
LAUNCH = "import sys; from app.ui.main import main; sys.exit(main())"
"""What the ``journey-studio`` script does, from this checkout."""
TIMEOUT_S = 300


def app_environment(folder: Path) -> dict[str, str]:
    """Offscreen, start-up marks on and quitting after the first sizes, settings kept apart.

    With Python's bytecode cache, as an installed app runs: compiling the app's modules
    on every launch would add a few tenths of a second that no user pays.
    """
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment.update({
        "QT_QPA_PLATFORM": "offscreen",
        "JOURNEY_STUDIO_STARTUP_TIMING": "exit",
        "XDG_CONFIG_HOME": str(folder / "settings"),
    })
    return environment


def launch(database: Path, folder: Path) -> dict[str, tuple[float, float]]:
    """Start the app on ``database`` once. For each mark it printed: the seconds from
    launch, and the CPU seconds the app had used by then."""
    started = time.time()
    process = subprocess.run(
        [sys.executable, "-c", LAUNCH, "--db", str(database)], cwd=ROOT,
        env=app_environment(folder), capture_output=True, text=True, timeout=TIMEOUT_S,
        check=False,
    )
    marks = {}
    for line in process.stderr.splitlines():
        words = line.split()
        if len(words) == 4 and words[0] == "startup-timing":
            marks[words[1]] = (float(words[2]) - started, float(words[3]))
    if process.returncode != 0 or set(marks) != {"paint", "sizes"}:
        raise SystemExit(f"the app did not report both marks (exit code "
                         f"{process.returncode}):\n{process.stderr}")
    return marks


def bare_python() -> float:
    """Seconds to start and stop the interpreter alone (what no change here can save)."""
    started = time.time()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.time() - started


def prepare(folder: Path, users: int) -> Path:
    """The database of ``users`` demo users, made once and reused (see the module doc)."""
    database = folder / f"startup-{users}.db"
    if database.exists():
        return database
    partial = folder / f"startup-{users}.partial.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "app.cli", "--db", str(partial), "demo", "--users",
                    str(users)], cwd=ROOT, check=True)
    launch(partial, folder)  # the first evaluation stores every member as an add
    partial.rename(database)
    print(f"prepared {database} ({events(database):,} events) in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return database


def events(database: Path) -> int:
    import sqlite3

    with sqlite3.connect(database) as connection:
        count: int = connection.execute("SELECT count(*) FROM events").fetchone()[0]
    return count


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def summary(name: str, values: list[float]) -> str:
    return (f"{name:<24}{statistics.median(values):8.2f} s   (min {min(values):.2f}, "
            f"max {max(values):.2f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.startup")
    parser.add_argument("--runs", type=int, default=5, help="timed launches (default 5)")
    parser.add_argument("--users", type=int, default=DEFAULT_USERS,
                        help=f"demo users in the database (default {DEFAULT_USERS:,}: "
                             f"~1,000,000 events)")
    parser.add_argument("--db", type=Path, metavar="DIR",
                        default=Path(tempfile.gettempdir()) / "journey-studio-startup-bench",
                        help="where the prepared database is kept and reused")
    args = parser.parse_args(argv)
    args.db.mkdir(parents=True, exist_ok=True)
    database = prepare(args.db, args.users)
    print(f"database: {database} ({events(database):,} events)")
    print(f"load average before: {load()} on {os.cpu_count()} CPUs "
          "(other work on the machine slows every launch)", flush=True)
    launch(database, args.db)  # untimed: fills the page cache and the bytecode cache
    print(f"{'launch':<8}{'painted':>9}{'(CPU)':>8}{'sizes':>9}{'(CPU)':>8}"
          f"{'python -c pass':>17}")
    paints, paints_cpu, sizes, sizes_cpu, bare = [], [], [], [], []
    for run in range(1, args.runs + 1):
        marks = launch(database, args.db)
        bare.append(bare_python())
        paints.append(marks["paint"][0])
        paints_cpu.append(marks["paint"][1])
        sizes.append(marks["sizes"][0])
        sizes_cpu.append(marks["sizes"][1])
        print(f"{run:<8}{paints[-1]:>8.2f}s{paints_cpu[-1]:>7.2f}s{sizes[-1]:>8.2f}s"
              f"{sizes_cpu[-1]:>7.2f}s{bare[-1]:>16.2f}s", flush=True)
    print()
    print(summary("first paint", paints))
    print(summary("  CPU used by then", paints_cpu))
    print(summary("first sizes", sizes))
    print(summary("  CPU used by then", sizes_cpu))
    print(summary("python -c pass", bare))
    paint = statistics.median(paints)
    print(f"target: canvas painted < {TARGET_PAINT_S} s after launch: "
          f"{'met' if paint < TARGET_PAINT_S else 'NOT met'} (median {paint:.2f} s)")
    print(f"load average after: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
