"""Forwarding through Studio to a real webhook receiver on 127.0.0.1 that misbehaves.

The dispatcher, the webhook connector and the receiver talk real HTTP: a 500
then success, a 429 with Retry-After, a 401 that faults the output until it is
resumed. What the marketer sees is checked: what the receiver got (and under
which key), the delivery log, the output's state.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import update
from werkzeug import Request, Response

from app.outputs.dispatcher import RetryPolicy
from app.store.schema import ConnectionRow
from app.studio import Studio
from tests.database_templates import NewDatabase
from tests.partner import member_ids

TRIAL = "jr-trial-to-paid"
SIGNED_UP = "ms-signed-up"
CRM = "out-trial-crm"
QUICK = RetryPolicy(attempts=4, initial_seconds=0.0, max_seconds=0.0, jitter_seconds=0.0)


class ScriptedReceiver:
    """Answers with the statuses given first, then 202; keeps what it accepted."""

    def __init__(self, *answers: tuple[int, dict[str, str]]) -> None:
        self.answers = list(answers)
        self.keys: list[str] = []
        self.members: set[str] = set()

    def __call__(self, request: Request) -> Response:
        self.keys.append(request.headers["Idempotency-Key"])
        if self.answers:
            status, headers = self.answers.pop(0)
            return Response("{}", status=status, headers=headers)
        for profile in orjson.loads(request.get_data())["user_profiles"]:
            if profile["audiences"][0]["action"] == "add":
                self.members.add(profile["mpid"])
            else:
                self.members.discard(profile["mpid"])
        return Response("{}", status=202)


@pytest.fixture
def studio(new_database: NewDatabase, httpserver: HTTPServer) -> Iterator[Studio]:
    opened = Studio.open(new_database("sqlite", "demo"))
    with opened.database.engine.begin() as connection:
        connection.execute(
            update(ConnectionRow.__table__)
            .where(ConnectionRow.__table__.c.id == "cn-crm")
            .values(settings={"url": httpserver.url_for("/audiences")})
        )
    opened.evaluate(opened.state.journey(TRIAL).document())
    try:
        yield opened
    finally:
        opened.close()


def serve(httpserver: HTTPServer, receiver: ScriptedReceiver) -> None:
    httpserver.expect_request("/audiences", method="POST").respond_with_handler(receiver)


def test_a_500_then_success_is_delivered_once_under_one_key(
    studio: Studio, httpserver: HTTPServer
) -> None:
    receiver = ScriptedReceiver((500, {}))
    serve(httpserver, receiver)
    report = studio.forward([CRM], policy=QUICK, sleep=lambda _s: None)
    assert report.faulted == {}
    assert receiver.members == member_ids(studio.database, SIGNED_UP)
    assert len(receiver.keys) == 2 and receiver.keys[0] == receiver.keys[1]
    log = list(reversed(studio.deliveries([CRM])))
    assert [(d.outcome, d.http_status) for d in log] == [("retry", 500), ("delivered", 202)]


def test_a_429_waits_as_long_as_the_partner_asks(
    studio: Studio, httpserver: HTTPServer
) -> None:
    receiver = ScriptedReceiver((429, {"Retry-After": "3"}))
    serve(httpserver, receiver)
    waited: list[float] = []
    studio.forward([CRM], policy=QUICK, sleep=waited.append)
    assert sum(waited) == pytest.approx(3.0)
    assert receiver.members == member_ids(studio.database, SIGNED_UP)


def test_a_401_faults_the_output_and_resume_delivers_what_was_pending(
    studio: Studio, httpserver: HTTPServer
) -> None:
    receiver = ScriptedReceiver((401, {}))
    serve(httpserver, receiver)
    report = studio.forward([CRM], policy=QUICK, sleep=lambda _s: None)
    assert CRM in report.faulted and "HTTP 401" in report.faulted[CRM]
    state = studio.output_forwarding(TRIAL)[CRM]
    assert state.faulted and state.pending_adds == len(member_ids(studio.database, SIGNED_UP))
    assert len(receiver.keys) == 1, "a refusal is not retried"
    studio.forward([CRM], policy=QUICK, sleep=lambda _s: None)
    assert len(receiver.keys) == 1, "paused until resumed"
    assert studio.resume_output(CRM)
    studio.forward([CRM], policy=QUICK, sleep=lambda _s: None)
    assert receiver.members == member_ids(studio.database, SIGNED_UP)
    assert studio.output_forwarding(TRIAL)[CRM].pending_adds == 0
