"""A dispatcher killed with SIGKILL mid-delivery, then started again: nothing lost, nothing twice.

The receiver is a real HTTP server on 127.0.0.1 that de-duplicates by
``Idempotency-Key`` (as the webhook's receivers are asked to) and answers each
request slowly, so the kill lands while requests are in flight. The dispatcher
runs in a child process, sending chunks of 40 users; it is killed after a few
requests, and a second one, started after the first one's lease ran out,
finishes the work.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from app.studio import Studio
from tests.partner import member_ids

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

TRIAL = "jr-trial-to-paid"
SIGNED_UP = "ms-signed-up"
CRM = "out-trial-crm"

CHILD = """
import sys
from app.studio import Studio
from tests.partner import member_ids
studio = Studio.open(sys.argv[1])
studio.forward(["out-trial-crm"], chunk_size=40, lease_seconds=1.5)
studio.close()
"""


class DedupingReceiver:
    """Applies each idempotency key once; records every request it saw."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.members: set[str] = set()
        self.applied: list[str] = []
        self.seen = 0
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        time.sleep(self.delay)
        key = request.headers["Idempotency-Key"]
        body = orjson.loads(request.get_data())
        with self.lock:
            self.seen += 1
            if key not in self.applied:
                self.applied.append(key)
                for profile in body["user_profiles"]:
                    for change in profile["audiences"]:
                        if change["action"] == "add":
                            self.members.add(profile["mpid"])
                        else:
                            self.members.discard(profile["mpid"])
        return Response("{}", status=200, content_type="application/json")


def test_a_killed_dispatcher_loses_nothing_and_a_deduplicating_receiver_applies_each_once(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    pytest.importorskip("app.outputs.webhook")
    receiver = DedupingReceiver(delay=0.15)
    httpserver.expect_request("/audiences", method="POST").respond_with_handler(receiver)
    path = tmp_path / "journeys.db"
    studio = Studio.open(str(path))
    _point_crm_at(studio, httpserver.url_for("/audiences"))
    studio.evaluate(studio.state.journey(TRIAL).document())
    expected = member_ids(studio.database, SIGNED_UP)
    assert len(expected) > 200, "enough members for several chunks of 40"

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    first = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], env=env)
    deadline = time.monotonic() + 60
    while receiver.seen < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert receiver.seen >= 3, "killed while delivering"
    assert receiver.members != expected, "killed before it finished"

    time.sleep(1.6)  # the dead dispatcher's lease runs out
    second = subprocess.run([sys.executable, "-c", CHILD, str(path)], env=env, timeout=120)
    assert second.returncode == 0

    assert receiver.members == expected
    assert len(receiver.applied) == len(set(receiver.applied))
    state = studio.output_forwarding(TRIAL)[CRM]
    assert (state.pending_adds, state.pending_deletes) == (0, 0)
    assert state.partner_holds == len(expected)
    studio.close()


def _point_crm_at(studio: Studio, url: str) -> None:
    """Give the demo's CRM webhook connection the receiver's address, as stored."""
    from sqlalchemy import update

    from app.store.schema import ConnectionRow

    with studio.database.engine.begin() as connection:
        connection.execute(
            update(ConnectionRow.__table__)
            .where(ConnectionRow.__table__.c.id == "cn-crm")
            .values(settings={"url": url})
        )
