"""One piece of background work: a ``QRunnable`` with a signals object and a cancel flag.

Every background job of the interface (evaluations, size previews, the reads of the
size history and A/B test panels) is a
:class:`BackgroundTask` running a plain callable off the GUI thread. It is
tagged with a *key* (what it is about: a journey id, a dialog) and a
*generation* (a number its owner increments for every task it starts), and
reports through :class:`TaskSignals`, whose queued signals bring the immutable
result back to the GUI thread as ``(key, generation, …)``. The owner keeps the
latest generation per key and drops anything older: that, plus the cancel flag
checked before the work starts, is the house's cooperative cancellation.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

log = logging.getLogger(__name__)

SLOW_MS = 250
"""A read taking longer than this shows its loading state; a quicker one never does, so
a panel does not flash "Loading…" before every result."""
SHUTDOWN_WAIT_MS = 10_000
READ_THREADS = 3


class TaskSignals(QObject):
    """How a task reports back. Emitted on the worker thread, delivered (queued) on the
    GUI thread: ``(key, generation, …)``."""

    started = Signal(str, int)
    finished = Signal(str, int, object)
    """The result: an immutable value."""
    failed = Signal(str, int, str)
    """The error text, written for the person at the screen."""
    skipped = Signal(str, int)
    """Cancelled before it began: nothing ran."""


class BackgroundTask(QRunnable):
    """Run ``work()`` off the GUI thread and report its result (or failure)."""

    def __init__(self, work: Callable[[], object], key: str, generation: int,
                 what: str = "Background work") -> None:
        super().__init__()
        self.setAutoDelete(False)  # the owner holds it until its signals are delivered
        self.work = work
        self.key = key
        self.generation = generation
        self.what = what
        """For the log: what failed."""
        self.signals = TaskSignals()
        self._cancelled = threading.Event()
        self.returned = False
        """Set as the last thing ``run()`` does."""

    def cancel(self) -> None:
        """Ask the task not to start (running work cannot be interrupted)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.returned = True

    def _run(self) -> None:
        key, generation = self.key, self.generation
        if self.cancelled:
            self.signals.skipped.emit(key, generation)
            return
        self.signals.started.emit(key, generation)
        try:
            result = self.work()
        except Exception as problem:  # reported on the GUI thread, never raised into Qt
            log.exception("%s (%s) failed", self.what, key)
            self.signals.failed.emit(key, generation, describe_failure(problem))
            return
        self.signals.finished.emit(key, generation, result)


def describe_failure(problem: BaseException) -> str:
    text = str(problem).strip()
    return text or type(problem).__name__


class BackgroundReads(QObject):
    """Reads for one panel (a milestone's size history, its A/B test results) on a thread
    of their own, so the database is never read on the GUI thread.

    Each :meth:`read` supersedes the ones before it: only the latest result arrives
    (:attr:`loaded`), so a slow read for a milestone no longer selected never
    overwrites the one selected since. :attr:`slow` says the latest read has taken
    :data:`SLOW_MS` already: the moment to show a loading state.
    """

    loaded = Signal(str, object)
    """(key, result) of the latest read."""
    failed = Signal(str, str)
    """(key, error text) of the latest read."""
    slow = Signal(str)
    """The latest read (its key) is still running after :data:`SLOW_MS`."""

    def __init__(self, what: str, parent: QObject | None = None,
                 slow_ms: int = SLOW_MS) -> None:
        super().__init__(parent)
        self.what = what
        self.pool = QThreadPool(self)
        # More than one: a read superseded while it runs (it cannot be interrupted) must
        # not hold up the one for what is selected now.
        self.pool.setMaxThreadCount(READ_THREADS)
        self._slow = QTimer(self)
        self._slow.setSingleShot(True)
        self._slow.setInterval(slow_ms)
        self._slow.timeout.connect(self._on_slow)
        self._generation = 0
        self._key: str | None = None
        """What the latest read is about (None: nothing is being read)."""
        self._tasks: dict[int, BackgroundTask] = {}
        self._done: list[BackgroundTask] = []
        self._again: tuple[str, Callable[[], object]] | None = None
        """A read asked for while the same one was running: started when it returns."""
        self._closed = False

    @property
    def key(self) -> str | None:
        """What the latest read, not yet arrived, is about (None: none is running)."""
        return self._key

    def is_running(self) -> bool:
        return bool(self._tasks)

    def read(self, key: str, work: Callable[[], object]) -> None:
        """Run ``work()`` off the GUI thread; its result arrives unless another read
        starts first."""
        if self._closed:
            return
        self._done = [task for task in self._done if not task.returned]
        if self._key == key and self._generation in self._tasks:
            # One read at a time per thing: a read that hangs (a locked database) then
            # holds one thread, not all of them as the panel asks again and again.
            # Read once more when it returns: what it read may predate the change.
            self._again = (key, work)
            self._slow.start()  # the panel may show a new, empty page: say "slow" again
            return
        self.drop()
        self._generation += 1
        self._key = key
        task = BackgroundTask(work, key, self._generation, self.what)
        task.signals.finished.connect(self._on_finished)
        task.signals.failed.connect(self._on_failed)
        task.signals.skipped.connect(self._forget)
        self._tasks[self._generation] = task
        self._slow.start()
        self.pool.start(task)

    def drop(self) -> None:
        """Nothing read so far may arrive any more (what is shown changed)."""
        self._generation += 1
        self._key = None
        self._again = None
        self._slow.stop()
        for task in self._tasks.values():
            task.cancel()

    def _forget(self, _key: str, generation: int) -> bool:
        """Release a reported task; whether it is the latest read's."""
        task = self._tasks.pop(generation, None)
        if task is not None:
            self._done.append(task)
        current = generation == self._generation and not self._closed
        if current:
            self._key = None
            self._slow.stop()
        return current

    def _on_finished(self, key: str, generation: int, result: object) -> None:
        if self._forget(key, generation):
            self.loaded.emit(key, result)
            self._read_again()
        else:
            log.debug("%s: dropped a superseded result for %s", self.what, key)

    def _on_failed(self, key: str, generation: int, message: str) -> None:
        if self._forget(key, generation):
            self.failed.emit(key, message)
            self._read_again()

    def _read_again(self) -> None:
        again, self._again = self._again, None
        if again is not None and self._key is None:
            self.read(*again)

    def _on_slow(self) -> None:
        if self._key is not None:
            self.slow.emit(self._key)

    def shutdown(self) -> None:
        """Drop what has not started and wait for a running read (it holds a database
        connection); nothing arrives afterwards."""
        if self._closed:
            return
        self._closed = True
        self.drop()
        self.pool.clear()
        if not self.pool.waitForDone(SHUTDOWN_WAIT_MS):
            log.warning("%s was still running when its window closed", self.what)
        self._tasks.clear()
        self._done.clear()
