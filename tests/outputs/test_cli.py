"""Forwarding from the command line: ``journeys run``, ``deliveries``, ``output list|resume``.

Through the real entry point (``app.cli.main``) with an in-process partner standing in
for the webhook (the dispatcher's connector is replaced), on SQLite and PostgreSQL. The
demo account's Facebook outputs are made inactive first (they have no access token, so
they would fault), leaving "Signed up for trial → CRM webhook" as the one active output.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.cli.forwarding import Stop, run_every, run_log
from app.core.commands import SetOutputActive
from app.core.errors import StudioError
from app.outputs import dispatcher
from app.outputs.base import Delivery, Fault, Outcome
from app.studio import RunReport, Studio
from tests.outputs.test_forwarding import CRM, FAST, SIGNED_UP, TRIAL
from tests.partner import FakePartner, member_ids

CALIFORNIA = "jr-california-promo"
FACEBOOK_OUTPUTS = ("out-all-facebook", "out-california-facebook")
CRM_LABEL = "Trial to paid/Signed up for trial/CRM webhook"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> FakePartner:
    partner = FakePartner()
    monkeypatch.setattr(dispatcher, "connector", lambda kind: partner)
    return partner


def _prepare(url: str, *, crm_active: bool = True) -> int:
    """The demo account with only the CRM output active; returns its audience's size."""
    studio = Studio.open(url)
    try:
        for output_id in FACEBOOK_OUTPUTS:
            studio.execute(SetOutputActive(CALIFORNIA, output_id, False))
        if not crm_active:
            studio.execute(SetOutputActive(TRIAL, CRM, False))
        return studio.evaluate(studio.state.journey(TRIAL).document(), store=False) \
            .milestone(SIGNED_UP).size
    finally:
        studio.close()


@pytest.fixture
def db(demo_url: str) -> tuple[str, int]:
    return demo_url, _prepare(demo_url)


def cli(url: str, *args: str) -> int:
    return main(["--db", url, *args])


def test_run_once_delivers_and_logs_each_evaluation_and_delivery(
    db: tuple[str, int], receiver: FakePartner, capsys: pytest.CaptureFixture[str]
) -> None:
    url, size = db
    assert cli(url, "run", "--once") == 0
    out = capsys.readouterr().out
    assert f"Trial to paid: evaluated, 5 audiences, Signed up for trial {size} (+{size} −0)" \
        in out
    assert re.search(
        rf"Signed up for trial → CRM webhook: {size} adds, 0 deletes, delivered \(HTTP 200\) "
        r"in \d+ ms", out)
    assert f"Run done: 1 journey evaluated, {size} adds and 0 deletes delivered in 1 request." \
        in out
    assert "California promo" not in out, "a journey without an active output is not evaluated"
    lines = out.splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", line) for line in lines), lines
    studio = Studio.open(url)
    try:
        assert receiver.audiences[SIGNED_UP] == member_ids(studio.database, SIGNED_UP)
    finally:
        studio.close()


def test_a_refusal_exits_1_naming_the_output_and_resume_lets_the_next_run_deliver(
    db: tuple[str, int], receiver: FakePartner, capsys: pytest.CaptureFixture[str]
) -> None:
    url, size = db
    receiver.answers = [Fault("the partner refused the credentials (HTTP 401)", status=401)]
    assert cli(url, "run", "--once") == 1
    out = capsys.readouterr().out
    assert "CRM webhook: " + f"{size} adds, 0 deletes, faulted " \
        "(the partner refused the credentials (HTTP 401))" in out
    assert "1 output faulted." in out
    fault = next(line for line in out.splitlines() if "Faulted:" in line)
    assert "Signed up for trial → CRM webhook (Trial to paid) since " in fault
    assert f"the partner refused the credentials (HTTP 401). Forwarding to it is paused " \
        f"({size} adds, 0 deletes pending)" in fault
    assert fault.endswith(f"journeys output resume '{CRM_LABEL}'")
    assert SIGNED_UP not in receiver.audiences

    # Still paused: the next run sends nothing and says so again.
    assert cli(url, "run", "--once") == 1
    assert "Faulted: Signed up for trial → CRM webhook" in capsys.readouterr().out
    assert receiver.requests == 1

    assert cli(url, "output", "list") == 0
    listed = capsys.readouterr().out
    row = next(line for line in listed.splitlines() if "CRM webhook" in line)
    assert f"+{size} −0" in row
    assert "faulted: the partner refused the credentials (HTTP 401) since " in row

    assert cli(url, "output", "resume", CRM_LABEL.lower()) == 0
    assert capsys.readouterr().out == (
        f"Forwarding to {CRM_LABEL} resumed. {size} adds and 0 deletes are pending; "
        "the next run sends them (journeys run --once).\n"
    )
    assert cli(url, "output", "resume", CRM) == 0
    assert capsys.readouterr().out == f"{CRM_LABEL} is not faulted: nothing to resume.\n"

    assert cli(url, "run", "--once") == 0
    assert f"{size} adds, 0 deletes, delivered (HTTP 200)" in capsys.readouterr().out
    assert len(receiver.audiences[SIGNED_UP]) == size
    assert cli(url, "output", "list", "--json") == 0
    crm = next(i for i in json.loads(capsys.readouterr().out) if i["id"] == CRM)
    assert (crm["state"], crm["pending_adds"], crm["partner_holds"]) == ("active", 0, size)
    assert crm["last_delivered_at"] is not None


def test_the_delivery_log_as_a_table_and_as_json(
    db: tuple[str, int], receiver: FakePartner, capsys: pytest.CaptureFixture[str]
) -> None:
    url, size = db
    receiver.answers = [Fault("the partner refused the credentials (HTTP 401)", status=401)]
    cli(url, "run", "--once")
    cli(url, "output", "resume", CRM)
    cli(url, "run", "--once")
    capsys.readouterr()

    assert cli(url, "deliveries") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Time", "Journey", "Audience", "Connection", "Adds", "Deletes",
                                "Outcome", "Status", "Latency"]
    assert len(lines) == 4, "headers, rule, two attempts"
    newest, oldest = lines[2], lines[3]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  Trial to paid  Signed up for trial  "
                    rf"CRM webhook  +{size}  +0  +delivered  HTTP 200  +\d+ ms$", newest)
    assert "faulted    the partner refused the credentials (HTTP 401)" in oldest

    assert cli(url, "deliveries", "--json", "--output", CRM_LABEL) == 0
    items = json.loads(capsys.readouterr().out)
    assert [i["outcome"] for i in items] == ["delivered", "faulted"]
    assert items[0] | {"started_at": None, "latency_ms": None, "idempotency_key": None,
                       "id": None} == {
        "id": None, "output_id": CRM, "journey_id": TRIAL, "connection_id": "cn-crm",
        "started_at": None, "adds": size, "deletes": 0, "outcome": "delivered",
        "http_status": 200, "error": None, "latency_ms": None, "idempotency_key": None,
        "journey": "Trial to paid", "audience": "Signed up for trial",
        "connection": "CRM webhook",
    }
    assert items[1]["http_status"] == 401

    assert cli(url, "deliveries", "--outcome", "faulted", "--json") == 0
    assert [i["outcome"] for i in json.loads(capsys.readouterr().out)] == ["faulted"]
    assert cli(url, "deliveries", "--journey", "California promo") == 0
    assert capsys.readouterr().out == "No deliveries match.\n"
    assert cli(url, "deliveries", "--limit", "1", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_an_unknown_output_is_refused_listing_the_outputs(
    db: tuple[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = db
    assert cli(url, "output", "resume", "Trial to paid/Signed up/CRM") == 1
    err = capsys.readouterr().err
    assert err.startswith("journeys: There is no output “Trial to paid/Signed up/CRM” "
                          "(write its id or Journey/Milestone/Connection). Outputs: ")
    assert f"{CRM_LABEL} ({CRM})" in err
    assert "California promo/In California/Facebook Custom Audiences" in err
    assert cli(url, "deliveries", "--output", "nothing") == 1
    assert "There is no output “nothing”" in capsys.readouterr().err


@pytest.mark.parametrize(("value", "joined"), [
    ("0m", False), ("abc", False), ("-5m", False), ("-5m", True), ("15", False),
    ("2 h", False), ("5x", True),
])
def test_a_bad_interval_is_a_usage_error_naming_it(
    value: str, joined: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", f"--every={value}"] if joined else ["run", "--every", value])
    assert exit_.value.code == 2
    assert f"argument --every: “{value}” is " in capsys.readouterr().err


def test_every_and_once_are_one_or_the_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--every", "15m", "--once"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_every_runs_then_waits_and_a_stop_while_waiting_ends_the_loop(
    db: tuple[str, int], receiver: FakePartner, capsys: pytest.CaptureFixture[str]
) -> None:
    url, size = db
    stop = Stop()
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        """The first step of the wait after the first run: Ctrl-C arrives."""
        waited.append(seconds)
        stop.set(signal.SIGINT)

    studio = Studio.open(url)
    try:
        with run_log():
            assert run_every(studio, timedelta(minutes=15), stop, policy=FAST, sleep=sleep) == 0
    finally:
        studio.close()
    out = capsys.readouterr().out
    assert "Running every 15m; Ctrl-C or SIGTERM stops." in out
    assert out.count("Run done:") == 1
    assert "Next run at " in out
    assert out.rstrip().endswith("Stopped.")
    assert waited == [0.5], "the wait is taken in short steps, so a stop is noticed soon"
    assert len(receiver.audiences[SIGNED_UP]) == size


def test_a_stop_during_a_delivery_finishes_it_and_releases_the_output(
    db: tuple[str, int], receiver: FakePartner, capsys: pytest.CaptureFixture[str]
) -> None:
    url, size = db
    stop = Stop()
    send = receiver.send

    def send_then_stop(delivery: Delivery) -> Outcome:
        stop.set(signal.SIGTERM)
        return send(delivery)

    receiver.send = send_then_stop  # type: ignore[method-assign]
    studio = Studio.open(url)
    try:
        with run_log():
            assert run_every(studio, timedelta(seconds=30), stop, policy=FAST) == 0
        # The output's lease was released: another run right away can claim it.
        assert not studio.forward([CRM]).busy
    finally:
        studio.close()
    out = capsys.readouterr().out
    assert f"{size} adds, 0 deletes, delivered (HTTP 200)" in out
    assert "Next run at" not in out
    assert out.rstrip().endswith("Stopped.")


def test_a_failed_run_is_logged_and_the_schedule_goes_on(
    db: tuple[str, int], receiver: FakePartner, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, size = db
    stop = Stop()
    studio = Studio.open(url)
    real = studio.run_once
    calls: list[int] = []

    def run_once(**kwargs: Any) -> RunReport:
        calls.append(1)
        if len(calls) == 1:
            raise StudioError("The database is busy: another program is writing to it.")
        report = real(**kwargs)
        stop.set()
        return report

    monkeypatch.setattr(studio, "run_once", run_once)
    try:
        with run_log():
            assert run_every(studio, timedelta(seconds=1), stop, policy=FAST,
                             sleep=lambda _s: None) == 0
    finally:
        studio.close()
    out = capsys.readouterr().out
    assert "Run failed: The database is busy: another program is writing to it. " \
        "Trying again at the next run." in out
    assert f"{size} adds, 0 deletes, delivered (HTTP 200)" in out
    assert len(calls) == 2


def test_sigterm_stops_the_scheduler_process_cleanly(sqlite_url: str) -> None:
    """A real process and a real signal: nothing to send, so no partner is needed."""
    _prepare(sqlite_url, crm_active=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--db", sqlite_url, "run", "--every", "1h"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2], env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        seen = ""
        while "Next run at" not in seen and time.monotonic() < deadline:
            seen += process.stdout.readline()
        assert "Run done: 0 journeys evaluated" in seen
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert time.monotonic() - started < 5, "the hour's wait ends at once"
    assert out.rstrip().endswith("Stopped.")
