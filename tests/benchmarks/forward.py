"""Benchmark: the initial sync of a large audience to a webhook receiver on 127.0.0.1.

    python -m tests.benchmarks.forward                      # 100,000 and 1,000,000 members
    python -m tests.benchmarks.forward --sizes 50000 200000 # a quicker run

For each size: a SQLite database with that many users, all seen through one
input, and a journey whose one milestone (no criteria: everyone) has an active
webhook output. The journey is evaluated (which fills the output's outbox in the
same transaction as the memberships), then a fresh process forwards it to a
receiver in this process, which reads every request and counts its profiles.
Prints, per size: members per second of the forward and its ratio to the target
(200,000/s), the forwarding process's CPU time and members per CPU second, how
far its resident memory rose above what it had before forwarding (sampled every
100 ms: flat in the audience's size means the dispatcher streams the outbox in
chunks rather than loading it), and the load average when the forward ended.

The machine may be shared: members per second is what the forward achieved in
the time it got, members per CPU second what the code costs; read the first
next to the load average, and compare two versions run back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import insert

TARGET_MEMBERS_PER_SECOND = 200_000


class Receiver(BaseHTTPRequestHandler):
    """Counts the profiles of every request.

    It reads each body whole and counts its ``mpid`` keys in C rather than parsing
    the JSON in Python: the receiver shares this machine's two cores with the
    dispatcher being measured, and a real receiver is another machine's work. It
    keeps connections open between requests (HTTP/1.1), as receivers do: the
    HTTP/1.0 default closed each one, so every request opened a connection and
    the server a thread.
    """

    protocol_version = "HTTP/1.1"
    profiles = 0
    requests = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with Receiver.lock:
            Receiver.profiles += body.count(b'"mpid":')
            Receiver.requests += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def prepare(folder: Path, users: int, url: str) -> Path:
    """A database with ``users`` users, a one-milestone journey and a webhook output."""
    from app.core.commands import AddMilestone, AddOutput, CreateJourney
    from app.core.models import Connection, Journey, JourneyDocument, Milestone, Output
    from app.store.event_tables import UserInputRow, UserRow
    from app.store.repositories import AccountRepository
    from app.studio import Studio

    path = folder / f"forward-{users}.db"
    studio = Studio.open(str(path), seed_demo=False)
    try:
        with studio.database.transaction() as session:
            accounts = AccountRepository(session)
            from app.core.models import Input, Workspace

            workspace = Workspace(id="ws-bench", name="Bench")
            accounts.add_workspace(workspace, 0)
            accounts.add_input(Input(id="in-bench", workspace_id=workspace.id, name="App"), 0)
            accounts.save_connection(Connection(
                id="cn-hook", name="Receiver", partner="webhook", settings={"url": url}
            ))
        step = 100_000
        with studio.database.engine.begin() as connection:
            for start in range(1, users + 1, step):
                numbers = range(start, min(start + step, users + 1))
                connection.execute(insert(UserRow.__table__), [
                    {"id": n, "external_id": f"user-{n}", "first_seen_ms": 0,
                     "last_seen_ms": 0} for n in numbers
                ])
                connection.execute(insert(UserInputRow.__table__), [
                    {"user_id": n, "input_id": "in-bench", "first_ms": 0} for n in numbers
                ])
        studio.reload()
        journey = Journey(id="jr-bench", name="Bench", input_ids=("in-bench",))
        studio.execute(CreateJourney(JourneyDocument(journey=journey)))
        studio.execute(AddMilestone("jr-bench", Milestone(id="ms-all", name="Everyone")))
        studio.execute(AddOutput("jr-bench", Output(
            id="out-hook", milestone_id="ms-all", connection_id="cn-hook"
        )))
        started = time.perf_counter()
        result = studio.evaluate(studio.state.journey("jr-bench").document())
        print(f"  evaluated {result.milestones[0].size:,} members in "
              f"{time.perf_counter() - started:.1f} s "
              f"(write lock {result.write_lock_seconds * 1000:.0f} ms)", flush=True)
    finally:
        studio.close()
    return path


def forward_child(path: str) -> None:
    """In a fresh process: forward, print seconds and peak memory before and after.

    What a process pays once, whatever it forwards, comes before the clock starts:
    the modules, and the shared HTTP client (its transport's imports and the
    system's certificate store: some 0.1 s, a tenth of a 200,000-member sync).
    """
    import resource

    from app.outputs import dispatcher, http, webhook  # noqa: F401 (loaded before the baseline)
    from app.studio import Studio

    http.client()
    studio = Studio.open(path)
    before = _current_rss_kb()
    highest = [before]
    done = threading.Event()

    def sample() -> None:  # the resident size while forwarding, every 100 ms
        while not done.wait(0.1):
            highest[0] = max(highest[0], _current_rss_kb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    report = studio.forward()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    load = os.getloadavg()[0]
    done.set()
    sampler.join()
    studio.close()
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "load": load,
                      "delivered": report.delivered,
                      "faulted": report.faulted, "rss_before_kb": before,
                      "rss_after_kb": max(highest[0], _current_rss_kb()),
                      "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def _current_rss_kb() -> int:
    """The process's resident size now (Linux: /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        forward_child(args.child)
        return 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/audiences"
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            print(f"{size:,} members:", flush=True)
            path = prepare(Path(folder), size, url)
            Receiver.profiles = Receiver.requests = 0
            child = subprocess.run(
                [sys.executable, "-m", "tests.benchmarks.forward", "--child", str(path)],
                capture_output=True, text=True, check=True,
            )
            measured = json.loads(child.stdout.strip().splitlines()[-1])
            if measured["faulted"] or Receiver.profiles != size:
                print(f"  FAILED: received {Receiver.profiles:,} of {size:,}; "
                      f"{measured['faulted']}")
                return 1
            rows.append((size, measured, Receiver.requests))
    server.shutdown()
    print()
    print(f"{'members':>10} {'requests':>9} {'seconds':>8} {'members/s':>10} "
          f"{'vs target':>9} {'CPU s':>6} {'members/CPU s':>13} {'RSS +MB':>8} "
          f"{'peak RSS MB':>11} {'load':>5}")
    for size, measured, requests in rows:
        rate = size / measured["seconds"]
        grown = (measured["rss_after_kb"] - measured["rss_before_kb"]) / 1024
        print(f"{size:>10,} {requests:>9} {measured['seconds']:>8.2f} {rate:>10,.0f} "
              f"{rate / TARGET_MEMBERS_PER_SECOND:>8.2f}x {measured['cpu_seconds']:>6.2f} "
              f"{size / measured['cpu_seconds']:>13,.0f} {grown:>8.1f} "
              f"{measured['max_rss_kb'] / 1024:>11.0f} {measured['load']:>5.2f}")
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        growth = [(m["rss_after_kb"] - m["rss_before_kb"]) / 1024 for _, m, _ in (small, large)]
        print(f"\nmemory growth at {large[0]:,} vs {small[0]:,} members: "
              f"{growth[1]:.1f} MB vs {growth[0]:.1f} MB "
              f"(audience {large[0] / small[0]:.0f}x larger)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
