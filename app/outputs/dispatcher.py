"""The dispatcher: sends each output's outbox to its partner, durably, in order, once.

For every output with something to send (active, tracked, not faulted) it
takes the output's lease, then, chunk by chunk (removes first, then adds, by
user): reads the next rows of the outbox, looks the users up, and has the
partner's connector send them. The chunk's idempotency key is a digest of its
content, so a chunk sent again (after a retry, a crash or a lost lease) carries
the key it had and a receiver that de-duplicates applies it once.

- Delivered: one transaction moves the chunk's users to the delivered state
  (see :mod:`app.store.outbox`) and logs the attempt.
- RetryAfter: logged, then tried again after the partner's Retry-After or an
  exponential backoff with jitter (tenacity), up to :attr:`RetryPolicy.attempts`.
- Fault, or retries exhausted: the output is faulted (forwarding to it pauses
  until someone resumes it) and the attempt logged with the reason.

A crash between a request and its commit leaves the chunk in the outbox: the
next dispatcher sends it again with the same key. Nothing is lost, and nothing
is applied twice by a receiver that honours the key.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_result,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from app.core.errors import StudioError
from app.core.partners import SECRETS, PartnerSettings, checked_settings
from app.outputs.base import Connector, Delivered, Delivery, Fault, Outcome, RetryAfter
from app.outputs.registry import connector
from app.store import deliveries, outbox
from app.store.database import Database
from app.store.deliveries import DeliveryRecord
from app.store.delivery_tables import ADD, REMOVE

log = logging.getLogger(__name__)

CHUNK_SIZE = 10_000
"""Users read from the outbox and handed to a connector at once: the largest request any
partner takes (webhook and Facebook: 10,000), so memory stays flat in the audience's size."""

LEASE_SECONDS = 120.0
"""How long a claim on an output lasts without renewal: longer than any one request takes
(it is renewed between chunks), short enough that a crashed dispatcher's outputs are soon
taken up."""

RENEW_AFTER = 0.25
"""The lease is renewed before a chunk once this share of it has run, not before every
chunk: a renewal is a write transaction (a sync to disk), and a large initial sync of
10,000-user chunks would pay one per chunk for nothing. A chunk so starts with at least
three quarters of the lease left."""

SecretOf = Callable[[str], "str | None"]
"""Resolves a connection's ``secret_ref`` to the secret (None: no secret); raises with a
plain message when it can't."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing delivery is tried again."""

    attempts: int = 6
    initial_seconds: float = 1.0
    max_seconds: float = 120.0
    jitter_seconds: float = 1.0
    longest_retry_after: float = 900.0
    """A partner asking for a longer pause than this is taken at this (then tried again)."""


@dataclass
class DispatchReport:
    """What one dispatch did, for the log line and the caller."""

    adds: int = 0
    deletes: int = 0
    requests: int = 0
    retries: int = 0
    faulted: dict[str, str] = field(default_factory=dict)
    busy: list[str] = field(default_factory=list)
    """Outputs another dispatcher holds (left to it)."""

    @property
    def delivered(self) -> int:
        return self.adds + self.deletes


class Dispatcher:
    """Sends the outboxes of one database; one owner id per dispatcher (for its leases)."""

    def __init__(
        self,
        database: Database,
        secret_of: SecretOf,
        *,
        policy: RetryPolicy | None = None,
        chunk_size: int = CHUNK_SIZE,
        lease_seconds: float = LEASE_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        cancelled: Callable[[], bool] = lambda: False,
        on_attempt: Callable[[DeliveryRecord], None] | None = None,
    ) -> None:
        self.database = database
        self.secret_of = secret_of
        self.policy = policy or RetryPolicy()
        self.chunk_size = chunk_size
        self.lease_seconds = lease_seconds
        self.owner = uuid.uuid4().hex
        self._sleep = sleep
        self.cancelled = cancelled
        self.on_attempt = on_attempt

    def dispatch(self, output_ids: list[str] | None = None) -> DispatchReport:
        """Send everything pending (of ``output_ids``, or of every output)."""
        report = DispatchReport()
        with self.database.engine.begin() as connection:
            outbox.forget_removed_outputs(connection)
            found = outbox.targets(connection, output_ids)
        for target in found:
            if self.cancelled():
                break
            self._send_output(target, report)
        return report

    # ------------------------------------------------------------------ one output

    def _send_output(self, target: outbox.Target, report: DispatchReport) -> None:
        with self.database.engine.begin() as connection:
            claimed = outbox.claim(connection, target.output_id, self.owner, self.lease_seconds)
        if not claimed:
            report.busy.append(target.output_id)
            return
        try:
            self._send_chunks(target, report)
        finally:
            with self.database.engine.begin() as connection:
                outbox.release(connection, target.output_id, self.owner)

    def _send_chunks(self, target: outbox.Target, report: DispatchReport) -> None:
        try:
            settings = checked_settings(target.partner, target.settings)
            secret = self.secret_of(target.secret_ref) if target.secret_ref else None
            needed = SECRETS.get(target.partner)
            if secret is None and needed is not None and needed.required:
                raise LookupError(f"No {needed.label.lower()} is set: add it in Account settings.")
            partner = connector(target.partner)
        except (StudioError, LookupError, OSError, ImportError) as refused:
            self._fault(target, str(refused), report)
            return
        remote_state = dict(target.remote_state)
        claimed_at = time.monotonic()  # _send_output has just taken the lease
        while not self.cancelled():
            if time.monotonic() - claimed_at >= self.lease_seconds * RENEW_AFTER:
                with self.database.engine.begin() as connection:
                    if not outbox.claim(connection, target.output_id, self.owner,
                                        self.lease_seconds):
                        return
                claimed_at = time.monotonic()
            with paused_cyclic_gc():
                outcome = self._send_chunk(target, partner, settings, secret, remote_state,
                                           report)
            if outcome is None:
                return
            if isinstance(outcome, Delivered):
                if outcome.remote_state is not None:
                    remote_state = dict(outcome.remote_state)
                continue
            reason = outcome.reason
            if isinstance(outcome, RetryAfter):
                reason = f"Gave up after {self.policy.attempts} attempts: {outcome.reason}"
            self._fault(target, reason, report)
            return

    def _send_chunk(
        self,
        target: outbox.Target,
        partner: Connector,
        settings: PartnerSettings,
        secret: str | None,
        remote_state: dict[str, Any],
        report: DispatchReport,
    ) -> Outcome | None:
        """Read the output's next chunk and send it; None: nothing (more) to send to it.

        One call per chunk, so that all the chunk made is freed when it returns: the
        caller pauses the cycle collector around it (see :func:`paused_cyclic_gc`).
        """
        with self.database.snapshot() as connection:
            if not outbox.still_sendable(connection, target.output_id, self.owner):
                return None
            chunk = outbox.next_chunk(connection, target, self.chunk_size)
            generation = outbox.last_delivered(connection, target.output_id)
        if not chunk:
            return None
        delivery = self._delivery(target, settings, secret, chunk, generation, remote_state)
        outcome = self._send_with_retries(partner.send, delivery, chunk, target, report)
        if isinstance(outcome, Delivered):
            report.adds += len(delivery.adds)
            report.deletes += len(delivery.deletes)
        return outcome

    def _delivery(
        self,
        target: outbox.Target,
        settings: PartnerSettings,
        secret: str | None,
        chunk: outbox.Chunk,
        generation: datetime | None,
        remote_state: dict[str, Any],
    ) -> Delivery:
        return Delivery(
            output_id=target.output_id,
            audience_id=target.audience_id,
            audience_name=target.audience_name,
            connection_id=target.connection_id,
            connection_name=target.connection_name,
            settings=settings,
            secret=secret,
            adds=chunk.add_profiles,
            deletes=chunk.delete_profiles,
            idempotency_key=idempotency_key(target.output_id, generation, chunk),
            sent_at=datetime.now(UTC),
            remote_state=remote_state,
        )

    def _send_with_retries(
        self,
        send: Callable[[Delivery], Outcome],
        delivery: Delivery,
        chunk: outbox.Chunk,
        target: outbox.Target,
        report: DispatchReport,
    ) -> Outcome:
        """Send ``delivery`` until it is delivered, refused, or the policy gives up.

        Each attempt is logged; a delivered one in the transaction that records it.
        """

        def attempt() -> Outcome:
            started = datetime.now(UTC)
            clock = time.perf_counter()
            try:
                outcome = send(delivery)
            except Exception as failure:  # a connector bug must not lose the chunk
                log.exception("The %s connector failed", target.partner)
                outcome = RetryAfter(f"the connector failed: {type(failure).__name__}")
            latency = (time.perf_counter() - clock) * 1000
            report.requests += getattr(outcome, "requests", 1)
            self._log(target, delivery, chunk, outcome, started, latency)
            if isinstance(outcome, RetryAfter):
                report.retries += 1
                # The wait may outlast the lease: take it again before sending more.
                with self.database.engine.begin() as connection:
                    if not outbox.claim(connection, target.output_id, self.owner,
                                        self.lease_seconds + self._wait_hint(outcome)):
                        return Fault("another dispatcher took over this output")
            return outcome

        policy = self.policy
        backoff = wait_exponential_jitter(
            multiplier=policy.initial_seconds, max=policy.max_seconds,
            jitter=policy.jitter_seconds,
        )

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome.result() if state.outcome else None
            if isinstance(outcome, RetryAfter) and outcome.seconds is not None:
                return min(max(outcome.seconds, 0.0), policy.longest_retry_after)
            return float(backoff(state))

        retrying = Retrying(
            sleep=self._patient_sleep,
            stop=stop_after_attempt(policy.attempts) | _Cancelled(self.cancelled),
            wait=wait,
            retry=retry_if_result(lambda outcome: isinstance(outcome, RetryAfter)),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )
        outcome: Outcome = retrying(attempt)
        return outcome

    def _wait_hint(self, outcome: RetryAfter) -> float:
        return min(outcome.seconds or self.policy.max_seconds, self.policy.longest_retry_after)

    def _patient_sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` in short steps, so a cancel is noticed within a fraction of one.

        The cycle collector runs meanwhile: a backoff can last minutes, and the
        collector is the whole process's (the window's too), not only this chunk's.
        """
        left = seconds
        with resumed_cyclic_gc():
            while left > 0 and not self.cancelled():
                step = min(left, 0.25)
                self._sleep(step)
                left -= step

    def _log(
        self,
        target: outbox.Target,
        delivery: Delivery,
        chunk: outbox.Chunk,
        outcome: Outcome,
        started: datetime,
        latency_ms: float,
    ) -> None:
        entry = DeliveryRecord(
            id=0,
            output_id=target.output_id,
            journey_id=target.journey_id,
            connection_id=target.connection_id,
            started_at=started,
            adds=len(delivery.adds),
            deletes=len(delivery.deletes),
            outcome=(
                "delivered" if isinstance(outcome, Delivered)
                else "retry" if isinstance(outcome, RetryAfter) else "faulted"
            ),
            http_status=outcome.status,
            error=None if isinstance(outcome, Delivered) else outcome.reason,
            latency_ms=latency_ms,
            idempotency_key=delivery.idempotency_key,
        )
        with self.database.engine.begin() as connection:
            if isinstance(outcome, Delivered):
                outbox.record_delivered(connection, target, chunk, outcome.remote_state)
            deliveries.record(connection, entry)
        log.info(
            "%s → %s (%s): %d adds, %d deletes, %s%s in %.0f ms",
            target.audience_name, target.connection_name, target.output_id[:8],
            entry.adds, entry.deletes, entry.outcome,
            f" ({entry.error})" if entry.error else "", latency_ms,
        )
        if self.on_attempt is not None:
            self.on_attempt(entry)

    def _fault(self, target: outbox.Target, reason: str, report: DispatchReport) -> None:
        with self.database.engine.begin() as connection:
            outbox.fault(connection, target.output_id, reason)
        report.faulted[target.output_id] = reason
        log.warning("Forwarding to %s paused: %s", target.connection_name, reason)


class _Cancelled(stop_base):
    """Stop retrying once the run is cancelled (the chunk stays in the outbox)."""

    def __init__(self, cancelled: Callable[[], bool]) -> None:
        self.cancelled = cancelled

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.cancelled()


def idempotency_key(output_id: str, generation: datetime | None, chunk: outbox.Chunk) -> str:
    """A digest of the output, its last acknowledged delivery and the chunk's rows.

    The same chunk sent again before any delivery of the output was recorded (a
    retry, a crash before the commit) gets the same key; once a delivery is
    recorded, later chunks get new keys even with the same rows (a user removed
    and then added again must reach the partner twice).
    """
    digest = hashlib.blake2b(output_id.encode(), digest_size=16)
    digest.update(b"|" + (generation.isoformat() if generation else "-").encode() + b"|")
    # "<action>:<user>;" for each row, in order, formatted in one operation per action.
    for action, numbers in ((REMOVE, chunk.deletes), (ADD, chunk.adds)):
        digest.update((b"%d:%%d;" % action) * len(numbers) % tuple(numbers))
    return digest.hexdigest()


_pause_lock = threading.Lock()
_pauses = 0
"""How many callers are inside :func:`paused_cyclic_gc` now (forwarding threads)."""
_enabled_before_pauses = True


@contextmanager
def paused_cyclic_gc() -> Iterator[None]:
    """Pause Python's cycle collector while a chunk's objects are made and sent.

    A chunk makes tens of thousands of small objects (rows, profiles, the request's
    dicts), none of them in a cycle, so reference counting frees them all; but their
    number sets off collections that walk every object of the process, which nearly
    halved throughput (the forward benchmark). Collection resumes at once after.

    Resume it only once the chunk's objects are freed (wrap a call that returns,
    not a block whose variables outlive it): the collector counts allocations net
    of frees, and resuming while they are alive sets off a collection that walks
    every one of them (some 6% of a large sync's CPU time).

    The collector is the whole process's: pauses are counted, so with several
    forwarding threads it runs again when the last one leaves, and it is left as it
    was found (on, unless the program had turned it off).
    """
    _enter_pause()
    try:
        yield
    finally:
        _leave_pause()


@contextmanager
def resumed_cyclic_gc() -> Iterator[None]:
    """Step out of :func:`paused_cyclic_gc` during a wait (a backoff can last minutes):
    the collector runs again unless another thread is inside a pause."""
    _leave_pause()
    try:
        yield
    finally:
        _enter_pause()


def _enter_pause() -> None:
    global _pauses, _enabled_before_pauses
    with _pause_lock:
        if _pauses == 0:
            _enabled_before_pauses = gc.isenabled()
            gc.disable()
        _pauses += 1


def _leave_pause() -> None:
    global _pauses
    with _pause_lock:
        _pauses -= 1
        if _pauses == 0 and _enabled_before_pauses:
            gc.enable()
