"""One piece of background work: a ``QRunnable`` with a signals object and a cancel flag.

Every background job of the interface (evaluations, size previews) is a
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

from PySide6.QtCore import QObject, QRunnable, Signal

log = logging.getLogger(__name__)


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
