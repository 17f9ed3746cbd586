"""Importing files in the background while the window is open (File ▸ Import events…).

:class:`ImportRunner` runs one import at a time through the studio's one door
(``Studio.import_files``) as a :class:`~app.ui.background.BackgroundTask` (the
house's ``QRunnable``) on a one-thread pool of its own. The worker hears of
each committed chunk and each rejected record; it hands them to the GUI thread
as immutable values through :class:`ImportSignals` (queued): an
:class:`ImportProgress` per chunk, the first :data:`SHOWN_REJECTIONS` rejections
one by one (then only their count, a few times a second), and at the end an
:class:`ImportReport`, or a failure written for the marketer.

Cancelling is cooperative: the importer asks between parts of a chunk, rolls
the open chunk back and keeps what was committed, whole. When an import ends
having stored something (finished, cancelled, or stopped by an unreadable file
after some chunks), :attr:`ImportRunner.stored` names the input, so the window
can evaluate the journeys reading it again and start a forwarding run.
Nothing here imports the ingest or store layers: the work is the studio's.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QThreadPool, Signal

from app.core.account import AccountState
from app.core.errors import StudioError
from app.core.graph import JourneyGraph
from app.ui.background import BackgroundTask, TaskSignals

log = logging.getLogger(__name__)

SHOWN_REJECTIONS = 100
"""Rejections handed to the window one by one; the rest are only counted."""
COUNT_INTERVAL_S = 0.2
"""After those, how often the rejected count is handed on at most."""
SHUTDOWN_WAIT_MS = 10_000
"""How long closing the window waits for a cancelled import to stop (it finishes the
part it is storing and rolls the open chunk back)."""
GUI_CHUNK_SIZE = 100_000
"""Events per transaction for imports from the app. The bar moves when a chunk commits
and Cancel keeps whole chunks only, so the command line's 250,000 would leave the bar
still for a few seconds at a time; 100,000 moves it about every second. Per the
importer's measurements (``DEFAULT_CHUNK_SIZE``) this costs about 0.7 s more in commits
per million events."""


class ImportingStudio(Protocol):
    """The studio's import door (``app.studio.Studio``)."""

    def import_files(self, paths: Sequence[str | Path], format: Any, input_id: str, *,
                     chunk_size: int | None = None,
                     progress: Callable[[Any], None] | None = None,
                     on_reject: Callable[[Any], None] | None = None,
                     cancelled: Callable[[], bool] | None = None) -> Any: ...

    @staticmethod
    def guess_format(path: str | Path) -> Any: ...


def importer_of(studio: object) -> ImportingStudio | None:
    """The studio when it can import (a read-only stand-in cannot)."""
    needed = ("import_files", "guess_format")
    if all(callable(getattr(studio, name, None)) for name in needed):
        return studio  # type: ignore[return-value]
    return None


@dataclass(frozen=True)
class ImportRequest:
    """What the marketer chose: files (imported in order), their format, the input."""

    paths: tuple[Path, ...]
    format: str
    input_id: str

    @property
    def total_bytes(self) -> int:
        """The files' sizes on disk (0 for one that vanished since it was chosen)."""
        total = 0
        for path in self.paths:
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        return total


@dataclass(frozen=True)
class ImportProgress:
    """Where an import stands after a committed chunk."""

    bytes_read: int
    total_bytes: int
    elapsed_s: float
    records: int
    """Records read and settled: imported, duplicated or rejected."""
    records_imported: int
    records_duplicated: int
    events_imported: int
    file: str
    """The file being read (its name as the importer labels it)."""

    @classmethod
    def of(cls, progress: Any) -> ImportProgress:
        """From the importer's ``Progress``."""
        return cls(progress.bytes_read, progress.total_bytes, progress.elapsed_s,
                   progress.records, progress.records_imported, progress.records_duplicated,
                   progress.events_imported, progress.file)

    @property
    def share(self) -> float:
        """How far, 0 to 1, by bytes of the files on disk."""
        if self.total_bytes <= 0:
            return 1.0
        return min(1.0, self.bytes_read / self.total_bytes)

    @property
    def events_per_second(self) -> float:
        return self.events_imported / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True)
class ImportReport:
    """What an import did, as plain values (from the importer's ``ImportSummary``)."""

    records_imported: int
    records_duplicated: int
    records_rejected: int
    events_imported: int
    events_duplicated: int
    users_created: int
    bytes_read: int
    elapsed_s: float
    cancelled: bool
    rejections: tuple[Any, ...]
    """The first rejected records (``Rejection``: ``file:line: reason``)."""
    damaged_files: tuple[Any, ...]
    """Files read only up to damaged data (``FileDamaged``: ``file: reason``)."""

    @classmethod
    def of(cls, summary: Any) -> ImportReport:
        return cls(summary.records_imported, summary.records_duplicated,
                   summary.records_rejected, summary.events_imported,
                   summary.events_duplicated, summary.users_created, summary.bytes_read,
                   summary.elapsed_s, summary.cancelled,
                   tuple(summary.rejections[:SHOWN_REJECTIONS]),
                   tuple(summary.damaged_files))

    @property
    def stored_anything(self) -> bool:
        return self.records_imported > 0


class ImportSignals(TaskSignals):
    """A task's signals plus the import's own: emitted on the worker, delivered (queued) on
    the GUI thread."""

    progressed = Signal(object)
    """An :class:`ImportProgress`."""
    rejected = Signal(int, object)
    """(rejected so far, the rejection; None once only the count is handed on)."""


def failure_text(problem: BaseException) -> str:
    """Why an import stopped, for the marketer (never a traceback)."""
    if isinstance(problem, OSError):
        where = Path(problem.filename).name if problem.filename else "a file"
        why = problem.strerror or str(problem)
        return f"Can't read {where}: {why}."
    if isinstance(problem, StudioError):
        return str(problem)
    first = (str(problem).strip().splitlines() or [type(problem).__name__])[0]
    return f"The database could not store the events ({first})."


class ImportFailed(Exception):
    """The import stopped; the message is :func:`failure_text`'s."""


def journeys_reading(state: AccountState, input_id: str) -> list[JourneyGraph]:
    """The journeys whose population comes through ``input_id``, in the panel's order."""
    return [graph for graph in state.journeys() if input_id in graph.journey.input_ids]


class CalculatingLike(Protocol):
    """What :func:`when_calculated` needs of the window's ``EvaluationRunner``."""

    @property
    def calculatingChanged(self) -> Any: ...  # a Qt signal

    def is_calculating(self, journey_id: str) -> bool: ...


def when_calculated(evaluations: CalculatingLike, journey_ids: Sequence[str],
                    then: Callable[[], None]) -> None:
    """Call ``then`` once none of ``journey_ids`` is being calculated (now, if none is).

    After an import the forwarding run waits for the journeys' new audiences: started
    alongside, it would evaluate them a second time, and the cards would show that
    second evaluation's "no change" instead of who joined.
    """
    pending = {j for j in journey_ids if evaluations.is_calculating(j)}
    if not pending:
        then()
        return

    def changed(journey_id: str, calculating: bool) -> None:
        if not calculating:
            pending.discard(journey_id)
        if not pending:
            evaluations.calculatingChanged.disconnect(changed)
            then()

    evaluations.calculatingChanged.connect(changed)


class ImportRunner(QObject):
    """Runs imports in the background, one at a time."""

    started = Signal(object)
    """An :class:`ImportRequest` began."""
    progressed = Signal(object)
    """An :class:`ImportProgress` after a committed chunk."""
    rejected = Signal(int, object)
    """(rejected so far, the rejection or None) — see :class:`ImportSignals`."""
    finished = Signal(object)
    """An :class:`ImportReport`: done, or cancelled (its ``cancelled`` says)."""
    failed = Signal(str)
    """The import stopped on an error: why, for the marketer. Whole chunks committed
    before it are kept."""
    stored = Signal(str)
    """An import ended having stored something through this input (its id)."""

    def __init__(self, studio: ImportingStudio | None, parent: QObject | None = None,
                 *, chunk_size: int = GUI_CHUNK_SIZE) -> None:
        super().__init__(parent)
        self._studio = studio
        self.chunk_size = chunk_size
        """Events per transaction (tests lower it to see several chunks)."""
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._task: ImportTask | None = None
        self._done: list[ImportTask] = []
        self._request: ImportRequest | None = None
        self._last: ImportProgress | None = None
        self._generation = 0
        self._closed = False

    @property
    def enabled(self) -> bool:
        return self._studio is not None and not self._closed

    def is_running(self) -> bool:
        return self._task is not None

    @property
    def cancelling(self) -> bool:
        return self._task is not None and self._task.cancelled

    @property
    def request(self) -> ImportRequest | None:
        """What is being imported (the last import, once it ended)."""
        return self._request

    def start(self, request: ImportRequest) -> bool:
        """Start importing ``request``; False while another import runs."""
        if not self.enabled or self._task is not None:
            return False
        studio = self._studio
        assert studio is not None
        self._done = [task for task in self._done if not task.returned]
        self._generation += 1
        self._request = request
        self._last = None
        task = ImportTask(studio, request, self.chunk_size, self._generation)
        signals = task.import_signals
        signals.progressed.connect(self._on_progress)
        signals.rejected.connect(self.rejected)
        signals.finished.connect(self._on_finished)
        signals.failed.connect(self._on_failed)
        signals.skipped.connect(lambda _key, generation: self._release(generation))
        self._task = task
        log.info("Importing %d files (%s) through %s", len(request.paths), request.format,
                 request.input_id)
        self.started.emit(request)
        self.pool.start(task)
        return True

    def cancel(self) -> None:
        """Stop after the part being stored; what was committed stays, whole."""
        if self._task is not None:
            self._task.cancel()

    # ------------------------------------------------------------------ results

    def _release(self, generation: int) -> bool:
        task = self._task
        if task is None or task.generation != generation:
            return False
        self._done.append(task)
        self._task = None
        return not self._closed

    def _on_progress(self, progress: ImportProgress) -> None:
        self._last = progress
        self.progressed.emit(progress)

    def _on_finished(self, input_id: str, generation: int, report: ImportReport) -> None:
        if not self._release(generation):
            return
        self.finished.emit(report)
        if report.stored_anything:
            self.stored.emit(input_id)

    def _on_failed(self, input_id: str, generation: int, message: str) -> None:
        if not self._release(generation):
            return
        log.warning("Import stopped: %s", message)
        self.failed.emit(message)
        if self._last is not None and self._last.records_imported > 0:
            self.stored.emit(input_id)  # the chunks before the failure are kept

    def shutdown(self) -> None:
        """Cancel a running import and wait for it: the studio's connections close next."""
        if self._closed:
            return
        self._closed = True
        self.cancel()
        self.pool.clear()
        if not self.pool.waitForDone(SHUTDOWN_WAIT_MS):
            log.warning("An import was still stopping when the window closed")


class ImportTask(BackgroundTask):
    """One import off the GUI thread; :meth:`cancel` also stops it once it runs."""

    def __init__(self, studio: ImportingStudio, request: ImportRequest, chunk_size: int,
                 generation: int) -> None:
        super().__init__(self._work, request.input_id, generation, "Importing")
        self.import_signals = ImportSignals()
        self.signals = self.import_signals
        self.studio = studio
        self.request = request
        self.chunk_size = chunk_size
        self._rejected = 0
        self._counted_at = 0.0

    def _work(self) -> ImportReport:
        request = self.request
        try:
            summary = self.studio.import_files(
                list(request.paths), request.format, request.input_id,
                chunk_size=self.chunk_size, progress=self._on_progress,
                on_reject=self._on_reject, cancelled=lambda: self.cancelled)
        except Exception as problem:
            raise ImportFailed(failure_text(problem)) from problem
        return ImportReport.of(summary)

    def _on_progress(self, progress: Any) -> None:
        self.import_signals.progressed.emit(ImportProgress.of(progress))

    def _on_reject(self, rejection: Any) -> None:
        """The first rejections one by one, then the count a few times a second."""
        self._rejected += 1
        if self._rejected <= SHOWN_REJECTIONS:
            self.import_signals.rejected.emit(self._rejected, rejection)
            return
        now = time.monotonic()
        if now - self._counted_at >= COUNT_INTERVAL_S:
            self._counted_at = now
            self.import_signals.rejected.emit(self._rejected, None)
