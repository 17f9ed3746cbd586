"""Live size previews while a milestone is edited: how many users it would have.

:class:`EstimatePreview` belongs to one milestone editor. The editor calls
:meth:`EstimatePreview.request` with the journey document and the milestone as
it is being edited (whenever the definition is valid) or
:meth:`EstimatePreview.clear` (when it is not). Requests are debounced
(:data:`DEBOUNCE_MS`); a request whose definition equals the one already asked
for costs nothing (a rename does not change who matches).

Each estimate is a :class:`~app.ui.background.BackgroundTask` on the preview's
own one-thread pool calling ``estimate(document, milestone)``
(``Studio.estimate``, safe off the GUI thread). Every request or clear starts a
new *generation*; a task not yet started is cancelled, a running one finishes
and its result is dropped, so what is shown always belongs to what is typed.

The wording of the figures (:func:`audience_sentence`, :func:`criterion_text`)
lives here too, so the dialog and its tests agree on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from app.core.criteria import AudienceDefinition
from app.core.graph import JourneyGraph
from app.core.models import JourneyDocument, Milestone
from app.ui.background import BackgroundTask

log = logging.getLogger(__name__)

DEBOUNCE_MS = 300
"""Quiet time after the last edit before an estimate starts."""
SHUTDOWN_WAIT_MS = 10_000
PREVIEW_KEY = "preview"


class EstimateLike(Protocol):
    """What the preview reads of :class:`app.engine.estimates.Estimate`."""

    @property
    def size(self) -> int | None: ...

    @property
    def approximate(self) -> bool: ...

    @property
    def too_small(self) -> bool: ...

    @property
    def text(self) -> str: ...


class AudienceEstimateLike(Protocol):
    """What the preview reads of :class:`app.engine.estimates.AudienceEstimate`."""

    @property
    def audience(self) -> Any: ...

    @property
    def criteria(self) -> tuple[Any, ...]: ...

    @property
    def sample_every(self) -> int: ...


Estimator = Callable[[JourneyDocument, Milestone], AudienceEstimateLike]


def estimator_of(studio: object) -> Estimator | None:
    """The studio's ``estimate`` (None when it has none: then there is no preview)."""
    estimate = getattr(studio, "estimate", None)
    return estimate if callable(estimate) else None


# ---------------------------------------------------------------------- wording


def _users(size: int) -> str:
    return "user" if size == 1 else "users"


def audience_sentence(estimate: EstimateLike) -> tuple[str, str]:
    """The audience figure and the words after it: ``("1,234", "users match")``,
    ``("≈ 12,000", "users, estimated from a sample")`` or ``("Too few users to
    estimate", "")``. The figure is the estimate's own :attr:`text` when it is a number."""
    if estimate.too_small or estimate.size is None:
        return "Too few users to estimate", "fewer than the sample can measure"
    if estimate.approximate:
        return estimate.text, f"{_users(estimate.size)}, estimated from a sample"
    return estimate.text, f"{_users(estimate.size)} {'matches' if estimate.size == 1 else 'match'}"


def criterion_text(estimate: EstimateLike) -> str:
    """A criterion's own count for its row: ``140 users``, ``≈ 1,200 users``, ``too few``."""
    if estimate.too_small or estimate.size is None:
        return "too few to estimate"
    return f"{estimate.text} {_users(estimate.size)}"


# ---------------------------------------------------------------------- running


@dataclass(frozen=True)
class PreviewRequest:
    """What one estimate is of: immutable values taken on the GUI thread."""

    document: JourneyDocument
    milestone: Milestone
    index: int | None = None
    """Where a new milestone goes in its split (None: last, before Remaining users)."""

    @property
    def key(self) -> tuple[object, ...]:
        """What decides the figures (not the milestone's name)."""
        return (self.document, self.milestone.id, self.milestone.parent_id,
                self.milestone.remaining, self.milestone.definition, self.index)


def placed(request: PreviewRequest) -> JourneyDocument:
    """The document with a new milestone already in its place in the split (criteria
    empty), so that an estimate counts the earlier siblings it comes after."""
    graph = JourneyGraph.from_document(request.document)
    if request.index is None or graph.has_milestone(request.milestone.id):
        return request.document
    graph.add_milestone(request.milestone.model_copy(
        update={"definition": AudienceDefinition()}), request.index)
    return graph.document()


class EstimatePreview(QObject):
    """Estimates one edited milestone in the background; reports only the latest."""

    calculating = Signal()
    """A new estimate was asked for: the shown figures are out of date."""
    estimated = Signal(object)
    """The latest estimate (an immutable ``AudienceEstimate``)."""
    cleared = Signal()
    """Nothing to estimate (the definition is invalid)."""
    failed = Signal(str)
    """The latest estimate failed: the error text."""

    def __init__(self, estimate: Estimator | None, parent: QObject | None = None,
                 delay_ms: int = DEBOUNCE_MS) -> None:
        super().__init__(parent)
        self._estimate = estimate
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._start_pending)
        self._pending: PreviewRequest | None = None
        self._asked: tuple[object, ...] | None = None
        """The key of the latest request (queued, running or shown)."""
        self._generation = 0
        self._tasks: dict[int, BackgroundTask] = {}
        self._done: list[BackgroundTask] = []
        self._closed = False
        self.result: AudienceEstimateLike | None = None
        """The estimate shown now (None: none, or out of date)."""

    @property
    def enabled(self) -> bool:
        return self._estimate is not None and not self._closed

    @property
    def generation(self) -> int:
        return self._generation

    def is_running(self) -> bool:
        return bool(self._tasks)

    def is_pending(self) -> bool:
        return self._pending is not None

    def request(self, request: PreviewRequest) -> bool:
        """Estimate ``request`` after :data:`DEBOUNCE_MS` of quiet. False when nothing
        changed that matters (the same definition was asked for last)."""
        if not self.enabled:
            return False
        if request.key == self._asked:
            if self._pending is not None:
                self._pending = request
            return False
        self._asked = request.key
        self._pending = request
        self._generation += 1  # whatever is running now is stale
        self.result = None
        self._cancel_all()
        self._timer.start()
        self.calculating.emit()
        return True

    def clear(self) -> None:
        """Nothing to estimate: drop what is queued or running."""
        self._timer.stop()
        self._pending = None
        self._asked = None
        self._generation += 1
        self.result = None
        self._cancel_all()
        self.cleared.emit()

    def run_now(self) -> None:
        """Start the queued request without waiting for the debounce (tests)."""
        self._timer.stop()
        self._start_pending()

    def _cancel_all(self) -> None:
        for task in self._tasks.values():
            task.cancel()

    def _start_pending(self) -> None:
        request, self._pending = self._pending, None
        if request is not None and self.enabled:
            self.start(request)

    def start(self, request: PreviewRequest) -> int:
        """Estimate ``request`` now; supersedes earlier ones. Returns the generation."""
        estimate = self._estimate
        assert estimate is not None
        self._done = [task for task in self._done if not task.returned]
        self._cancel_all()
        self._generation += 1
        generation = self._generation
        task = BackgroundTask(lambda: estimate(placed(request), request.milestone),
                              PREVIEW_KEY, generation, "Estimating an audience")
        task.signals.finished.connect(self.apply)
        task.signals.failed.connect(self.fail)
        task.signals.skipped.connect(self._forget)
        self._tasks[generation] = task
        log.debug("Estimating milestone %s (generation %d)", request.milestone.id, generation)
        self.pool.start(task)
        return generation

    def _forget(self, _key: str, generation: int) -> None:
        task = self._tasks.pop(generation, None)
        if task is not None:
            self._done.append(task)

    def _is_current(self, generation: int) -> bool:
        return (not self._closed and generation == self._generation
                and self._pending is None)

    def apply(self, key: str, generation: int, result: AudienceEstimateLike) -> bool:
        """Take a task's result on the GUI thread; a superseded one is dropped."""
        self._forget(key, generation)
        if not self._is_current(generation):
            log.debug("Dropped the superseded estimate %d", generation)
            return False
        self.result = result
        self.estimated.emit(result)
        return True

    def fail(self, key: str, generation: int, message: str) -> bool:
        self._forget(key, generation)
        if not self._is_current(generation):
            return False
        self._asked = None  # the same definition may be tried again
        self.failed.emit(message)
        return True

    def shutdown(self) -> None:
        """Cancel what has not started and wait for a running estimate (it holds a
        database connection)."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        self._pending = None
        self._cancel_all()
        self.pool.clear()
        if not self.pool.waitForDone(SHUTDOWN_WAIT_MS):
            log.warning("An estimate was still running when its editor closed")
        self._tasks.clear()
        self._done.clear()
