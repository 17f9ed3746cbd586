"""The demo account in memory, and a stand-in for the Studio that serves it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.core.account import AccountState
from app.core.commands import Command
from app.core.models import JourneyDocument, Milestone
from app.engine.estimates import AudienceEstimate, Estimate
from app.engine.evaluation import POPULATION_NAME, AudienceResult, EvaluationResult
from app.ingest.demo_account import demo_account

DEMO_POPULATION = {"jr-trial-to-paid": 48_210, "jr-california-promo": 61_350}
"""Journey id -> the people in it, as a busy product would have them."""
DEMO_FIGURES = {
    "ms-signed-up": (12_480, 312, 41),
    "ms-watched": (6_905, 128, 77),
    "ms-saved": (3_112, 54, 19),
    "ms-converted": (1_204, 23, 0),
    "ms-not-saved": (None, 74, 58),  # Remaining users: the rest of "Watched content"
    "ms-all-users": (61_350, 402, 118),
    "ms-california": (9_874, 0, 0),
}
"""Milestone id -> (size, added, removed) of the demo results; None: the rest of the parent."""
DEMO_EVALUATED_AT = datetime(2026, 11, 28, 12, 4, 31, tzinfo=UTC)


def demo_evaluation(document: JourneyDocument) -> EvaluationResult:
    """Fixed, consistent figures for a journey (no database needed): known demo
    milestones get :data:`DEMO_FIGURES`; others a third of what their parent has left;
    a Remaining-users milestone exactly what its earlier siblings left."""
    journey = document.journey
    people = DEMO_POPULATION.get(journey.id, 10_000)
    sizes: dict[str | None, int] = {None: people}
    taken: dict[str | None, int] = {}
    results: list[AudienceResult] = []
    for milestone in document.milestones:  # tree order: parents first
        parent = milestone.parent_id
        left = sizes[parent] - taken.get(parent, 0)
        size, added, removed = DEMO_FIGURES.get(milestone.id, (None, 0, 0))
        if size is None:
            size = left if milestone.remaining else left // 3
        size = min(size, left)
        taken[parent] = taken.get(parent, 0) + size
        sizes[milestone.id] = size
        results.append(AudienceResult(milestone.id, milestone.name, parent, size, added,
                                      removed))
    return EvaluationResult(
        evaluation_id=f"demo-{journey.id}", journey_id=journey.id, as_of=DEMO_EVALUATED_AT,
        evaluated_at=DEMO_EVALUATED_AT,
        population=AudienceResult(journey.id, POPULATION_NAME, None, people, 0, 0),
        milestones=tuple(results),
    )


DEMO_ESTIMATE = 2_140
"""What every previewed milestone of the demo studio would have."""
DEMO_CRITERION_ESTIMATES = (6_905, 3_112, 1_204)
"""Each criterion's own count, in order (repeating the last for more criteria)."""


def demo_estimate(milestone: Milestone) -> AudienceEstimate:
    """Fixed, exact preview figures: :data:`DEMO_ESTIMATE` for the audience, one of
    :data:`DEMO_CRITERION_ESTIMATES` for each top-level criterion."""
    clauses = () if milestone.remaining else milestone.definition.clauses
    sizes = [DEMO_CRITERION_ESTIMATES[min(i, len(DEMO_CRITERION_ESTIMATES) - 1)]
             for i in range(len(clauses))]
    return AudienceEstimate(Estimate(DEMO_ESTIMATE), tuple(Estimate(s) for s in sizes), 1)


def demo_state() -> AccountState:
    """The demo account with its journeys loaded, as Studio.open would give it."""
    demo = demo_account()
    state = AccountState(demo.account, demo.workspaces, demo.inputs, demo.connections)
    for document in demo.journeys:
        state.load_journey(document)
    return state


@dataclass
class FakeDatabase:
    url: str = "sqlite:////home/marketer/.local/share/Journey Studio/journeys.db"


@dataclass
class DemoStudio:
    """Stands in for app.studio.Studio where only the in-memory state matters."""

    state: AccountState = field(default_factory=demo_state)
    database: FakeDatabase = field(default_factory=FakeDatabase)

    def execute(self, command: Command) -> None:
        """Apply without persisting (nothing to persist to)."""
        command.do(self.state)

    def undo(self, command: Command) -> None:
        command.undo(self.state)

    def redo(self, command: Command) -> None:
        command.redo(self.state)

    def evaluate(self, document: JourneyDocument, as_of: datetime | None = None
                 ) -> EvaluationResult:
        """Fixed demo figures (see :func:`demo_evaluation`); safe on any thread."""
        return demo_evaluation(document)

    def estimate(self, document: JourneyDocument, milestone: Milestone,
                 as_of: datetime | None = None) -> AudienceEstimate:
        """Fixed preview figures (see :func:`demo_estimate`); safe on any thread."""
        return demo_estimate(milestone)

    def reload(self) -> AccountState:
        self.state = demo_state()
        return self.state
