"""Forwarding in the background while the window is open (DESIGN.md section 1, Orchestration).

:class:`ForwardingRunner` does what ``journeys run`` does on a server: it
evaluates every journey with an active output, as stored, and sends each active
output's pending change to its partner (``Studio.run_once``). It runs every
:func:`interval_minutes` minutes (a QSettings value, 15 by default), after
edits that can change an audience or an output (debounced, :data:`DEBOUNCE_MS`),
and when Resume is clicked on a faulted output.

Each run is a :class:`~app.ui.background.BackgroundTask` (the house's
``QRunnable``) on the runner's own one-thread pool, so two runs never overlap:
a request while one runs is kept and starts when it ends. The task reads, still
off the GUI thread, the forwarding state of every output and the delivery log,
and hands them back in one immutable :class:`ForwardingSnapshot`, which the
window gives to the canvas, the inspector and the Activity panel.

Closing the window cancels a run: the dispatcher notices within a fraction of a
second (between deliveries and during its retry pauses), and the window waits
at most :data:`SHUTDOWN_WAIT_MS` for it. Nothing here imports the database or
the outputs layer: the work is whatever the studio provides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Protocol

from PySide6.QtCore import QObject, QSettings, QThreadPool, QTimer, Signal

from app.core.commands import Command, Macro, MoveNodes, RenameJourney, RenameMilestone
from app.ui.background import BackgroundTask
from app.ui.canvas.cards import Forwarding

log = logging.getLogger(__name__)

SETTINGS_INTERVAL = "forwarding/intervalMinutes"
DEFAULT_INTERVAL_MINUTES = 15
MIN_INTERVAL_MINUTES = 1
MAX_INTERVAL_MINUTES = 24 * 60
DEBOUNCE_MS = 2_000
"""Quiet time after the last edit before a run: a burst of edits costs one run."""
FIRST_RUN_MS = 3_000
"""After the window opens: what piled up while it was closed is sent soon."""
SHUTDOWN_WAIT_MS = 3_000
"""How long closing the window waits for a cancelled run to stop."""
LOG_LIMIT = 200
"""How many delivery attempts a snapshot carries (newest first)."""


class ForwardingLike(Protocol):
    """What the runner reads of ``app.studio.OutputForwarding``."""

    @property
    def fault_reason(self) -> str | None: ...

    @property
    def pending_adds(self) -> int: ...

    @property
    def pending_deletes(self) -> int: ...

    @property
    def partner_holds(self) -> int: ...

    @property
    def last_delivered_at(self) -> datetime | None: ...


class ForwardingStudio(Protocol):
    """The studio's forwarding door (``app.studio.Studio``)."""

    def run_once(self, *, cancelled: Callable[[], bool] | None = None,
                 **options: Any) -> Any: ...

    def output_forwarding(self, journey_id: str | None = None) -> Mapping[str, Any]: ...

    def deliveries(self, output_ids: list[str] | None = None, outcome: str | None = None,
                   limit: int = 200) -> list[Any]: ...

    def resume_output(self, output_id: str) -> bool: ...


@dataclass(frozen=True)
class ForwardingSnapshot:
    """One run's outcome and how forwarding stands after it, as plain values."""

    finished_at: datetime
    started_at: datetime | None = None
    forwarding: Mapping[str, Forwarding] = field(
        default_factory=lambda: MappingProxyType({}))
    """Output id -> its forwarding state (every output forwarding has seen)."""
    deliveries: tuple[Any, ...] = ()
    """The latest delivery attempts (``DeliveryRecord``), newest first."""
    evaluations: tuple[Any, ...] = ()
    """What the run evaluated (``EvaluationResult``), in order; none for a mere read."""
    delivered: int = 0
    """Adds and deletes the partners acknowledged in this run."""
    faulted: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Output id -> reason, for outputs this run faulted."""
    ran: bool = True
    """False for a read of the state only (the window opening)."""
    resumed: tuple[str, ...] = ()


def forwarding_view(state: ForwardingLike) -> Forwarding:
    return Forwarding(state.fault_reason, state.pending_adds, state.pending_deletes,
                      state.partner_holds, state.last_delivered_at)


def forwarder_of(studio: object) -> ForwardingStudio | None:
    """The studio when it can forward (a read-only stand-in cannot)."""
    needed = ("run_once", "output_forwarding", "deliveries", "resume_output")
    return studio if all(callable(getattr(studio, n, None)) for n in needed) else None  # type: ignore[return-value]


def interval_minutes() -> int:
    """The minutes between scheduled runs (QSettings), clamped to a sane range."""
    value: object = QSettings().value(SETTINGS_INTERVAL, DEFAULT_INTERVAL_MINUTES)
    try:
        minutes = int(str(value))
    except ValueError:
        minutes = DEFAULT_INTERVAL_MINUTES
    return max(MIN_INTERVAL_MINUTES, min(MAX_INTERVAL_MINUTES, minutes))


def changes_forwarding(command: Command) -> bool:
    """Whether an edit can change who is in an audience or which outputs receive: all but
    renames and moves on the canvas."""
    if isinstance(command, Macro):
        return any(changes_forwarding(c) for c in command.commands)
    return not isinstance(command, MoveNodes | RenameJourney | RenameMilestone)


class ForwardingRunner(QObject):
    """Runs forwarding in the background, one run at a time; keeps the latest snapshot."""

    started = Signal()
    finished = Signal(object)
    """A :class:`ForwardingSnapshot`, on the GUI thread."""
    failed = Signal(str)
    """A run failed as a whole (the database, not a partner): the error text."""
    runningChanged = Signal(bool)

    def __init__(self, studio: ForwardingStudio | None, parent: QObject | None = None,
                 *, delay_ms: int = DEBOUNCE_MS, run_options: Mapping[str, Any] | None = None
                 ) -> None:
        super().__init__(parent)
        self._studio = studio
        self.run_options: dict[str, Any] = dict(run_options or {})
        """Passed to ``run_once`` (tests: a fast retry policy, no sleeping)."""
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(delay_ms)
        self._debounce.timeout.connect(self.run_now)
        self._schedule = QTimer(self)
        self._schedule.timeout.connect(self.run_now)
        self._task: BackgroundTask | None = None
        self._done: list[BackgroundTask] = []
        self._generation = 0
        self._again = False
        self._resume: list[str] = []
        self._closed = False
        self._held = False
        self.latest: ForwardingSnapshot | None = None

    @property
    def enabled(self) -> bool:
        return self._studio is not None and not self._closed

    def is_running(self) -> bool:
        return self._task is not None

    def is_scheduled(self) -> bool:
        """Whether a run waits for the quiet after an edit (or the first run)."""
        return self._debounce.isActive()

    # ------------------------------------------------------------------ scheduling

    def start(self, first_run_ms: int | None = FIRST_RUN_MS) -> None:
        """Read the state now, run after ``first_run_ms`` (None: not), then on schedule."""
        if not self.enabled:
            return
        self.set_interval(interval_minutes())
        self._start_task(run=False)
        if first_run_ms is not None:
            self._debounce.start(first_run_ms)

    def set_interval(self, minutes: int) -> None:
        """Run every ``minutes`` from now on (and remember it)."""
        minutes = max(MIN_INTERVAL_MINUTES, min(MAX_INTERVAL_MINUTES, int(minutes)))
        QSettings().setValue(SETTINGS_INTERVAL, minutes)
        if self.enabled and not self._held:
            self._schedule.start(minutes * 60_000)

    @property
    def interval_ms(self) -> int:
        return self._schedule.interval()

    def request(self) -> None:
        """Run after :data:`DEBOUNCE_MS` of quiet (an edit that may change an audience)."""
        if self.enabled and not self._held:
            self._debounce.start()

    def hold(self) -> None:
        """Start no more runs on schedule or after edits (a picture of the window must not
        reach partners); reading the state, Resume and :meth:`run_now` still work."""
        self._held = True
        self._debounce.stop()
        self._schedule.stop()

    def resume(self, output_id: str) -> None:
        """Clear an output's fault and send what is pending, now (Resume)."""
        if not self.enabled:
            return
        self._resume.append(output_id)
        self.run_now()

    def run_now(self) -> None:
        """Start a run now; if one is running, start another when it ends."""
        if not self.enabled:
            return
        self._debounce.stop()
        if self._task is not None:
            self._again = True
            return
        self._start_task(run=True)

    # ------------------------------------------------------------------ the task

    def _start_task(self, *, run: bool) -> None:
        studio = self._studio
        assert studio is not None
        self._done = [task for task in self._done if not task.returned]
        self._generation += 1
        resume, self._resume = self._resume, []
        options = dict(self.run_options)
        holder: list[BackgroundTask] = []

        def cancelled() -> bool:
            return bool(holder) and holder[0].cancelled

        def work() -> ForwardingSnapshot:
            return _run(studio, run=run, resume=resume, cancelled=cancelled, options=options)

        task = BackgroundTask(work, "forwarding", self._generation, "Forwarding")
        holder.append(task)
        task.signals.finished.connect(self._on_finished)
        task.signals.failed.connect(self._on_failed)
        task.signals.skipped.connect(self._on_skipped)
        self._task = task
        if run:
            self.started.emit()
        self.runningChanged.emit(True)
        self.pool.start(task)

    def _release(self, generation: int) -> bool:
        """Forget the reporting task; False when it is not the current one (or closed)."""
        task = self._task
        if task is None or task.generation != generation:
            return False
        self._done.append(task)
        self._task = None
        self.runningChanged.emit(False)
        return not self._closed

    def _next(self) -> None:
        if self._again and self.enabled:
            self._again = False
            self._start_task(run=True)

    def _on_finished(self, _key: str, generation: int, snapshot: ForwardingSnapshot) -> None:
        if not self._release(generation):
            return
        self.latest = snapshot
        self.finished.emit(snapshot)
        self._next()

    def _on_failed(self, _key: str, generation: int, message: str) -> None:
        if not self._release(generation):
            return
        log.warning("Forwarding failed: %s", message)
        self.failed.emit(message)
        self._next()

    def _on_skipped(self, _key: str, generation: int) -> None:
        self._release(generation)

    def shutdown(self) -> None:
        """Cancel a run and wait briefly: the studio's connections close next."""
        if self._closed:
            return
        self._closed = True
        self._debounce.stop()
        self._schedule.stop()
        self._again = False
        if self._task is not None:
            self._task.cancel()
        self.pool.clear()
        if not self.pool.waitForDone(SHUTDOWN_WAIT_MS):
            log.warning("A forwarding run was still stopping when the window closed")


def _run(studio: ForwardingStudio, *, run: bool, resume: list[str],
         cancelled: Callable[[], bool], options: Mapping[str, Any]) -> ForwardingSnapshot:
    """The work of one task, off the GUI thread: resume, run, then read the state."""
    started_at = datetime.now(UTC)
    resumed = tuple(o for o in resume if studio.resume_output(o))
    evaluations: tuple[Any, ...] = ()
    delivered = 0
    faulted: dict[str, str] = {}
    if run and not cancelled():
        report = studio.run_once(cancelled=cancelled, **options)
        evaluations = tuple(report.evaluations)
        delivered = int(report.forwarding.delivered)
        faulted = dict(report.forwarding.faulted)
    states = studio.output_forwarding()
    return ForwardingSnapshot(
        finished_at=datetime.now(UTC),
        started_at=started_at,
        forwarding=MappingProxyType({o: forwarding_view(s) for o, s in states.items()}),
        deliveries=tuple(studio.deliveries(limit=LOG_LIMIT)),
        evaluations=evaluations,
        delivered=delivered,
        faulted=MappingProxyType(faulted),
        ran=run,
        resumed=resumed,
    )


def utc(moment: datetime) -> datetime:
    """A stored moment as an aware UTC time (the store may hand back naive UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def sent_in_run(snapshot: ForwardingSnapshot) -> dict[str, int]:
    """Output id -> the adds and deletes its partner acknowledged during this run."""
    if not snapshot.ran or snapshot.started_at is None:
        return {}
    since = utc(snapshot.started_at)
    sent: dict[str, int] = {}
    for record in snapshot.deliveries:
        if record.outcome == "delivered" and utc(record.started_at) >= since:
            sent[record.output_id] = sent.get(record.output_id, 0) + record.adds + record.deletes
    return sent


def run_summary(snapshot: ForwardingSnapshot, name_of: Callable[[str], str]
                ) -> tuple[str, str]:
    """The status bar's line after a run and its level ("error" for a fault, else ""):
    what was sent, then a fault this run met (in the danger colour: it needs the
    marketer); ``name_of`` names an output by its connection."""
    sent = sent_in_run(snapshot)
    parts = [f"{count:,} to {name_of(o)}" for o, count in sent.items()]
    sent_text = ("Sent " + ", ".join(parts[:2])
                 + (f" and {len(parts) - 2} more" if len(parts) > 2 else "")) if parts else ""
    if snapshot.faulted:
        output_id, reason = next(iter(snapshot.faulted.items()))
        more = len(snapshot.faulted) - 1
        tail = f" (and {more} more)" if more else ""
        fault = f"Forwarding to {name_of(output_id)} paused: {reason}{tail}"
        return (f"{sent_text} · {fault}" if sent_text else fault), "error"
    if sent_text:
        return sent_text, ""
    faulted = [o for o, state in snapshot.forwarding.items() if state.faulted]
    if faulted:
        state = snapshot.forwarding[faulted[0]]
        return f"Forwarding to {name_of(faulted[0])} paused: {state.fault_reason}", "error"
    if not snapshot.ran:
        return "", ""
    return f"Partners up to date · {snapshot.finished_at.astimezone():%H:%M}", ""
