"""Forwarding end to end through Studio, with a partner that keeps what it receives.

The partner here is an in-process connector standing in for the webhook
(``tests/partner.py``): it applies each delivery to its copy of the audience,
ignores a key it has seen (as a de-duplicating receiver does), and can be told
to fail. What it holds is
compared with the engine's stored memberships: that is what the marketer
expects the partner to hold after a run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core.commands import RemoveOutput, SetCriteria, SetOutputActive
from app.core.criteria import AudienceDefinition, Clause, EventCriterion, TimeWindow
from app.outputs import dispatcher
from app.outputs.base import Delivery, Fault, Outcome, RetryAfter
from app.outputs.dispatcher import RetryPolicy
from app.studio import Studio
from tests.partner import FakePartner, member_ids

TRIAL = "jr-trial-to-paid"
SIGNED_UP = "ms-signed-up"
CRM = "out-trial-crm"
FAST = RetryPolicy(attempts=3, initial_seconds=0.0, max_seconds=0.0, jitter_seconds=0.0)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> FakePartner:
    partner = FakePartner()
    monkeypatch.setattr(dispatcher, "connector", lambda kind: partner)
    return partner


@pytest.fixture
def studio(demo_url: str) -> Iterator[Studio]:
    opened = Studio.open(demo_url)
    try:
        yield opened
    finally:
        opened.close()


def members_of(studio: Studio, audience_id: str) -> set[str]:
    return member_ids(studio.database, audience_id)


def run(studio: Studio) -> None:
    studio.run_once(policy=FAST, sleep=lambda _s: None)


def narrower(days: int) -> SetCriteria:
    criterion = EventCriterion(
        event_type="custom_event", event_name="Sign up for trial",
        window=TimeWindow(kind="within_last_days", days=days),
    )
    return SetCriteria(TRIAL, SIGNED_UP, AudienceDefinition(clauses=(Clause(item=criterion),)))


def test_a_run_sends_each_active_audience_and_the_partner_holds_its_members(
    studio: Studio, receiver: FakePartner
) -> None:
    run(studio)
    expected = members_of(studio, SIGNED_UP)
    assert expected, "the demo's first milestone has members"
    assert receiver.audiences[SIGNED_UP] == expected
    log = studio.deliveries([CRM])
    assert [d.outcome for d in log] == ["delivered"]
    assert log[0].adds == len(expected) and log[0].deletes == 0
    state = studio.output_forwarding(TRIAL)[CRM]
    assert (state.pending_adds, state.pending_deletes, state.partner_holds) == (
        0, 0, len(expected)
    )
    # Nothing changed: the next run sends nothing.
    requests = receiver.requests
    run(studio)
    assert receiver.requests == requests


def test_after_the_audience_changes_only_the_change_is_sent(
    studio: Studio, receiver: FakePartner
) -> None:
    run(studio)
    before = set(receiver.audiences[SIGNED_UP])
    studio.execute(narrower(7))
    run(studio)
    after = members_of(studio, SIGNED_UP)
    assert after < before, "a shorter window keeps fewer users"
    assert receiver.audiences[SIGNED_UP] == after
    latest = studio.deliveries([CRM])[0]
    assert (latest.adds, latest.deletes) == (0, len(before - after))


def test_an_inactive_output_receives_nothing_and_reactivation_sends_the_difference(
    studio: Studio, receiver: FakePartner
) -> None:
    run(studio)
    studio.execute(SetOutputActive(TRIAL, CRM, False))
    studio.execute(narrower(7))
    requests = receiver.requests
    run(studio)
    assert receiver.requests == requests, "nothing is sent for an inactive output"
    studio.execute(SetOutputActive(TRIAL, CRM, True))
    run(studio)
    assert receiver.audiences[SIGNED_UP] == members_of(studio, SIGNED_UP)


def test_a_removed_output_is_sent_nothing_more(studio: Studio, receiver: FakePartner) -> None:
    run(studio)
    held = set(receiver.audiences[SIGNED_UP])
    studio.execute(RemoveOutput(TRIAL, CRM))
    studio.execute(narrower(7))
    run(studio)
    assert receiver.audiences[SIGNED_UP] == held
    assert CRM not in studio.output_forwarding(TRIAL)


def test_a_refusal_faults_the_output_and_resume_sends_what_is_pending(
    studio: Studio, receiver: FakePartner
) -> None:
    receiver.answers = [Fault("the partner refused the credentials (HTTP 401)", status=401)]
    run(studio)
    state = studio.output_forwarding(TRIAL)[CRM]
    assert state.faulted and "HTTP 401" in (state.fault_reason or "")
    assert SIGNED_UP not in receiver.audiences
    assert state.pending_adds == len(members_of(studio, SIGNED_UP))
    # Paused: runs send nothing until someone resumes.
    requests = receiver.requests
    run(studio)
    assert receiver.requests == requests
    assert studio.resume_output(CRM)
    run(studio)
    assert receiver.audiences[SIGNED_UP] == members_of(studio, SIGNED_UP)
    assert not studio.output_forwarding(TRIAL)[CRM].faulted
    outcomes = [d.outcome for d in reversed(studio.deliveries([CRM]))]
    assert outcomes == ["faulted", "delivered"]


def test_passing_failures_are_retried_with_the_same_key_until_delivered(
    studio: Studio, receiver: FakePartner
) -> None:
    receiver.answers = [RetryAfter("HTTP 500", status=500), RetryAfter("HTTP 429", 7.0, 429)]
    waits: list[float] = []
    studio.run_once(policy=FAST, sleep=waits.append)
    log = list(reversed(studio.deliveries([CRM])))
    assert [d.outcome for d in log] == ["retry", "retry", "delivered"]
    assert len({d.idempotency_key for d in log}) == 1
    assert sum(waits) == pytest.approx(7.0), "429 honours Retry-After"
    assert receiver.audiences[SIGNED_UP] == members_of(studio, SIGNED_UP)


def test_a_chunks_idempotency_key_is_the_digest_earlier_versions_gave_it() -> None:
    """A chunk sent before an update and again after it (a crash, then a newer
    program) must carry the same key, or a de-duplicating receiver applies it twice."""
    from datetime import UTC, datetime

    from app.store.outbox import Chunk

    chunk = Chunk(deletes=(7, 12), adds=(3, 40_000_000_000))
    after = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert dispatcher.idempotency_key("out-crm", None, chunk) == \
        "df0a79ea5c674df5259d31657a7b5c60"
    assert dispatcher.idempotency_key("out-crm", after, chunk) == \
        "5c254796a0b8c31ba5c6372740c0640e"


def test_the_cycle_collector_runs_while_a_retry_waits(
    studio: Studio, receiver: FakePartner
) -> None:
    """Collection is paused while a chunk is made and sent, not through a backoff that
    can last minutes (the window's process shares the collector with forwarding)."""
    import gc

    receiver.answers = [RetryAfter("HTTP 503", 2.0, 503)]
    collecting: list[bool] = []
    studio.run_once(policy=FAST, sleep=lambda _s: collecting.append(gc.isenabled()))
    assert collecting and all(collecting)
    assert gc.isenabled()
    assert receiver.audiences[SIGNED_UP] == members_of(studio, SIGNED_UP)


def test_the_cycle_collector_runs_again_when_the_last_of_two_forwarding_threads_is_done() -> None:
    """Two dispatchers in one process (two windows): one waits out a retry while the other
    sends a chunk. Whatever the order they finish in, collection is on afterwards."""
    import gc

    first, second = dispatcher.paused_cyclic_gc(), dispatcher.paused_cyclic_gc()
    second.__enter__()  # B makes a chunk
    first.__enter__()  # A makes a chunk, then waits to retry it
    waiting = dispatcher.resumed_cyclic_gc()
    waiting.__enter__()
    assert not gc.isenabled(), "B's chunk is still being made"
    second.__exit__(None, None, None)  # B's chunk is sent
    assert gc.isenabled(), "only A is left, and it is waiting"
    waiting.__exit__(None, None, None)  # A sends again
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert gc.isenabled()


def test_retries_exhausted_fault_the_output(studio: Studio, receiver: FakePartner) -> None:
    receiver.answers = [RetryAfter("connection refused")] * FAST.attempts
    run(studio)
    state = studio.output_forwarding(TRIAL)[CRM]
    assert state.fault_reason == "Gave up after 3 attempts: connection refused"
    assert SIGNED_UP not in receiver.audiences


def test_an_output_leased_by_another_dispatcher_is_left_to_it(
    studio: Studio, receiver: FakePartner
) -> None:
    from app.store import outbox

    studio.run_once(policy=FAST, sleep=lambda _s: None)
    studio.execute(narrower(7))
    with studio.database.engine.begin() as connection:
        assert outbox.claim(connection, CRM, "another dispatcher", 60)
    requests = receiver.requests
    report = studio.run_once(policy=FAST, sleep=lambda _s: None)
    assert CRM in report.forwarding.busy
    assert receiver.requests == requests


def test_an_evaluation_stored_while_a_chunk_is_on_its_way_is_taken_into_account(
    studio: Studio, receiver: FakePartner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audience shrinks while the first delivery is in flight: the partner ends exact."""
    from app.studio import RetryPolicy

    real_send = receiver.send
    changed: list[bool] = []

    def send_then_change(delivery: Delivery) -> Outcome:
        outcome = real_send(delivery)
        if not changed:
            changed.append(True)
            studio.execute(narrower(7))
            studio.evaluate(studio.state.journey(TRIAL).document())
        return outcome

    monkeypatch.setattr(receiver, "send", send_then_change)
    studio.evaluate(studio.state.journey(TRIAL).document())
    studio.forward(policy=RetryPolicy(attempts=1), chunk_size=100)
    assert changed
    assert receiver.audiences[SIGNED_UP] == members_of(studio, SIGNED_UP)
    state = studio.output_forwarding(TRIAL)[CRM]
    assert (state.pending_adds, state.pending_deletes) == (0, 0)


def test_a_long_sync_keeps_its_lease_so_no_other_dispatcher_takes_the_output(
    studio: Studio, receiver: FakePartner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease is renewed between chunks once a quarter of it has run (not before every
    chunk): a sync lasting several leases is never taken over, and what the partner holds
    is the audience."""
    import time

    from app.store import outbox

    studio.evaluate(studio.state.journey(TRIAL).document())
    lease = 0.4
    others_claimed: list[bool] = []
    send = receiver.send

    def slow_send(delivery: Delivery) -> Outcome:
        time.sleep(0.08)
        if delivery.audience_id == SIGNED_UP:
            with studio.database.engine.begin() as connection:
                others_claimed.append(outbox.claim(connection, CRM, "another dispatcher", 60))
        return send(delivery)

    monkeypatch.setattr(receiver, "send", slow_send)
    started = time.monotonic()
    report = studio.forward([CRM], chunk_size=20, lease_seconds=lease, policy=FAST,
                            sleep=lambda _s: None)
    assert time.monotonic() - started > 2 * lease  # the sync outlived its first lease
    assert len(others_claimed) >= 10 and not any(others_claimed)
    assert not report.faulted
    assert receiver.audiences[SIGNED_UP] == members_of(studio, SIGNED_UP)
