"""Background evaluation of the shown journey: audience sizes, adds and drops.

:class:`EvaluationRunner` watches the journey on the canvas. When the journey is
shown, and after every edit that can change who is in its audiences (criteria,
parents, split order, Remaining users, inputs, milestones added or removed; not
names, positions or outputs), it asks for an evaluation. Requests are debounced
(:data:`DEBOUNCE_MS`), so a burst of edits costs one run.

Each run is an :class:`EvaluationTask` (a :class:`~app.ui.background.BackgroundTask`,
the house's ``QRunnable``) on the runner's own
``QThreadPool``, limited to one thread so two evaluations never write the same
audience tables at once. The task gets an immutable ``JourneyDocument`` taken
on the GUI thread and calls ``evaluate(document)`` (``Studio.evaluate``, which
uses a connection of its own); it reports through an
:class:`EvaluationSignals` object, whose queued signals bring the immutable
result back to the GUI thread.

Cancellation is cooperative and counted in *generations*: every run gets the
next number, and only the latest generation of a journey may apply its result.
A superseded task that has not started yet sees its cancel flag and does
nothing; one already running finishes, and its result is dropped in
:meth:`EvaluationRunner.apply`.

The runner keeps the latest result per journey as plain values
(:class:`~app.ui.canvas.cards.AudienceFigures` keyed by milestone id, see
:class:`JourneyFigures`); the scene is handed them to draw. Nothing here
imports the database layer: ``evaluate`` is whatever the studio provides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Protocol

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from app.core.events import (
    DomainEvent,
    JourneyChanged,
    NodeAdded,
    NodeChanged,
    NodeRemoved,
)
from app.core.graph import JourneyGraph
from app.core.models import JourneyDocument
from app.ui.background import BackgroundTask, TaskSignals
from app.ui.canvas.cards import AudienceFigures

log = logging.getLogger(__name__)

DEBOUNCE_MS = 300
"""Quiet time after the last change before an evaluation starts."""
SHUTDOWN_WAIT_MS = 10_000
"""How long closing the window waits for a running evaluation to finish."""


class AudienceResultLike(Protocol):
    @property
    def audience_id(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def added(self) -> int: ...

    @property
    def removed(self) -> int: ...


class EvaluationResultLike(Protocol):
    """What the runner reads of :class:`app.engine.evaluation.EvaluationResult`."""

    @property
    def journey_id(self) -> str: ...

    @property
    def evaluated_at(self) -> datetime: ...

    @property
    def population(self) -> AudienceResultLike: ...

    @property
    def milestones(self) -> tuple[Any, ...]: ...


Evaluate = Callable[[JourneyDocument], EvaluationResultLike]


@dataclass(frozen=True)
class JourneyFigures:
    """One journey's latest evaluation as plain values, for the canvas to draw."""

    journey_id: str
    population: AudienceFigures
    milestones: Mapping[str, AudienceFigures] = field(
        default_factory=lambda: MappingProxyType({}))
    """Milestone id -> figures (read-only)."""
    evaluated_at: datetime | None = None

    @classmethod
    def from_result(cls, result: EvaluationResultLike) -> JourneyFigures:
        def figures(audience: AudienceResultLike) -> AudienceFigures:
            return AudienceFigures(audience.size, audience.added, audience.removed)

        return cls(
            journey_id=result.journey_id,
            population=figures(result.population),
            milestones=MappingProxyType({m.audience_id: figures(m)
                                         for m in result.milestones}),
            evaluated_at=result.evaluated_at,
        )

    def milestone(self, milestone_id: str) -> AudienceFigures | None:
        return self.milestones.get(milestone_id)


MilestoneKey = tuple[object, ...]


def milestone_key(graph: JourneyGraph, milestone_id: str) -> MilestoneKey:
    """What decides one milestone's audience besides its ancestors: the parent, the place
    in its split, the Remaining-users flag and the criteria (not the name or position)."""
    milestone = graph.milestone(milestone_id)
    return (milestone.parent_id, graph.child_index(milestone_id), milestone.remaining,
            milestone.definition)


@dataclass(frozen=True)
class MembershipKey:
    """Everything that decides who is in a journey's audiences: its inputs, each
    milestone's :func:`milestone_key`, and whether users leave earlier milestones when
    they reach a later one. Renaming or moving a card changes none of them."""

    input_ids: tuple[str, ...]
    milestones: dict[str, MilestoneKey]
    exclusive: bool = False

    @classmethod
    def of(cls, graph: JourneyGraph) -> MembershipKey:
        return cls(tuple(graph.journey.input_ids),
                   {m.id: milestone_key(graph, m.id) for m in graph.milestones_in_order()},
                   graph.journey.exclusive)

    def same_milestone(self, graph: JourneyGraph, milestone_id: str) -> bool:
        """Cheap check for one changed milestone (a drag changes hundreds at once)."""
        return (graph.has_milestone(milestone_id)
                and self.milestones.get(milestone_id) == milestone_key(graph, milestone_id))


EvaluationSignals = TaskSignals
"""How an evaluation reports back: ``(journey id, generation, …)``."""


class EvaluationTask(BackgroundTask):
    """Evaluate one journey document off the GUI thread."""

    def __init__(self, evaluate: Evaluate, document: JourneyDocument, generation: int) -> None:
        super().__init__(lambda: evaluate(document), document.journey.id, generation,
                         "Evaluating a journey")
        self.evaluate = evaluate
        self.document = document
        self.journey_id = document.journey.id


class EvaluationRunner(QObject):
    """Evaluates the shown journey in the background; keeps the latest figures."""

    calculatingChanged = Signal(str, bool)
    """(journey id, whether its figures are being recalculated)."""
    figuresChanged = Signal(str)
    """New figures for a journey (its id): read :meth:`figures`."""
    finished = Signal(object)
    """A current (not superseded) result was applied: the ``EvaluationResult``."""
    failed = Signal(str)
    """The latest evaluation of the shown journey failed: the error text."""

    def __init__(self, evaluate: Evaluate | None, parent: QObject | None = None,
                 delay_ms: int = DEBOUNCE_MS) -> None:
        super().__init__(parent)
        self._evaluate = evaluate
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._start_queued)
        self._graph: JourneyGraph | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._key: MembershipKey | None = None
        self._queued: set[str] = set()
        self._generation = 0
        self._latest: dict[str, int] = {}
        """Journey id -> the generation whose result may apply."""
        self._tasks: dict[int, EvaluationTask] = {}
        self._done: list[EvaluationTask] = []
        """Reported tasks, released at the next start: a worker may still be returning
        from ``run()`` when its last signal arrives here."""
        self._calculating: set[str] = set()
        self._figures: dict[str, JourneyFigures] = {}
        self._closed = False

    @property
    def enabled(self) -> bool:
        """False when the studio cannot evaluate (then nothing is ever calculating)."""
        return self._evaluate is not None and not self._closed

    @property
    def generation(self) -> int:
        """The number of the latest task started."""
        return self._generation

    # ------------------------------------------------------------------ reading

    def figures(self, journey_id: str) -> JourneyFigures | None:
        """The latest applied evaluation of a journey, if any."""
        return self._figures.get(journey_id)

    def is_calculating(self, journey_id: str) -> bool:
        return journey_id in self._calculating

    def is_running(self) -> bool:
        """Whether any task is queued or running."""
        return bool(self._tasks)

    # ------------------------------------------------------------------ watching

    def watch(self, graph: JourneyGraph | None) -> None:
        """Follow ``graph`` (the journey on the canvas; None: none) and evaluate it now."""
        if graph is self._graph:
            return
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._graph = graph
        self._key = None
        if graph is None or not self.enabled:
            return
        self._unsubscribe = graph.subscribe(self._on_event)
        self._key = MembershipKey.of(graph)
        self.request(graph.id)

    def _on_event(self, event: DomainEvent) -> None:
        graph = self._graph
        if graph is None or event.journey_id != graph.id:
            return
        if isinstance(event, NodeAdded | NodeRemoved | NodeChanged):
            if event.kind != "milestone":
                return  # outputs do not change who is in an audience
            if (isinstance(event, NodeChanged) and self._key is not None
                    and self._key.same_milestone(graph, event.node_id)):
                return  # a move or a rename
        elif not isinstance(event, JourneyChanged):
            return  # output toggles and status changes: the audiences are the same
        key = MembershipKey.of(graph)
        if key == self._key:
            return
        self._key = key
        self.request(graph.id)

    # ------------------------------------------------------------------ running

    def request(self, journey_id: str) -> None:
        """Evaluate ``journey_id`` after :data:`DEBOUNCE_MS` of quiet; its figures count as
        calculating from now on."""
        if not self.enabled:
            return
        self._queued.add(journey_id)
        self._set_calculating(journey_id, True)
        self._timer.start()

    def run_now(self) -> None:
        """Start what is queued without waiting for the debounce (tests, Retry)."""
        self._timer.stop()
        self._start_queued()

    def _start_queued(self) -> None:
        queued, self._queued = self._queued, set()
        graph = self._graph
        for journey_id in sorted(queued):
            if graph is None or graph.id != journey_id:
                # No longer shown: leave its last figures as they were.
                self._latest[journey_id] = self._generation + 1
                self._generation += 1
                self._set_calculating(journey_id, False)
                continue
            self.start(graph.document())

    def start(self, document: JourneyDocument) -> int:
        """Run an evaluation of ``document`` now; supersedes earlier ones of its journey.
        Returns the task's generation."""
        assert self._evaluate is not None
        self._done = [task for task in self._done if not task.returned]
        self._generation += 1
        generation = self._generation
        journey_id = document.journey.id
        for task in self._tasks.values():
            if task.journey_id == journey_id:
                task.cancel()
        self._latest[journey_id] = generation
        task = EvaluationTask(self._evaluate, document, generation)
        task.signals.started.connect(self._on_started)
        task.signals.finished.connect(self.apply)
        task.signals.failed.connect(self.fail)
        task.signals.skipped.connect(self._forget)
        self._tasks[generation] = task
        self._set_calculating(journey_id, True)
        log.debug("Evaluating journey %s (generation %d)", journey_id, generation)
        self.pool.start(task)
        return generation

    def _on_started(self, journey_id: str, generation: int) -> None:
        log.debug("Evaluation %d of %s started", generation, journey_id)

    def _forget(self, _journey_id: str, generation: int) -> None:
        task = self._tasks.pop(generation, None)
        if task is not None:
            self._done.append(task)

    def _is_current(self, journey_id: str, generation: int) -> bool:
        return self._latest.get(journey_id) == generation and journey_id not in self._queued

    def apply(self, journey_id: str, generation: int, result: EvaluationResultLike) -> bool:
        """Take a task's result on the GUI thread; a superseded generation is dropped.
        True when the result was applied."""
        self._forget(journey_id, generation)
        if self._closed or not self._is_current(journey_id, generation):
            log.debug("Dropped the result of superseded evaluation %d of %s",
                      generation, journey_id)
            return False
        self._figures[journey_id] = JourneyFigures.from_result(result)
        self._set_calculating(journey_id, False)
        self.figuresChanged.emit(journey_id)
        self.finished.emit(result)
        return True

    def fail(self, journey_id: str, generation: int, message: str) -> bool:
        """A task failed: report it unless it was superseded. True when reported."""
        self._forget(journey_id, generation)
        if self._closed or not self._is_current(journey_id, generation):
            return False
        log.warning("Could not evaluate journey %s: %s", journey_id, message)
        self._set_calculating(journey_id, False)
        if self._graph is not None and self._graph.id == journey_id:
            self.failed.emit(message)  # a journey no longer shown fails quietly
        return True

    def _set_calculating(self, journey_id: str, calculating: bool) -> None:
        if calculating == (journey_id in self._calculating):
            return
        if calculating:
            self._calculating.add(journey_id)
        else:
            self._calculating.discard(journey_id)
        self.calculatingChanged.emit(journey_id, calculating)

    def shutdown(self) -> None:
        """Stop watching, cancel what has not started and wait for a running task
        (it holds a database connection the studio is about to close)."""
        if self._closed:
            return
        self._timer.stop()
        self.watch(None)
        self._closed = True
        self._queued.clear()
        for task in self._tasks.values():
            task.cancel()
        self.pool.clear()
        if not self.pool.waitForDone(SHUTDOWN_WAIT_MS):
            log.warning("An evaluation was still running when the window closed")
        self._tasks.clear()
        self._done.clear()
        self._calculating.clear()


def evaluator_of(studio: object) -> Evaluate | None:
    """The studio's ``evaluate`` (None when it has none, e.g. a read-only stand-in)."""
    evaluate = getattr(studio, "evaluate", None)
    return evaluate if callable(evaluate) else None
