"""What the builder knows beyond the definition: the data catalogue and the audiences
an audience-membership criterion may name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from app.core.catalogue import Catalogue
from app.core.graph import JourneyGraph


@dataclass(frozen=True)
class AudienceChoice:
    """An audience a membership criterion can name: ``Journey ▸ Milestone``."""

    milestone_id: str
    label: str


@dataclass(frozen=True)
class BuilderContext:
    """The catalogue of the journey's inputs (None: no completions, no hints) and the
    audiences the edited milestone may use (the core's rule already applied)."""

    catalogue: Catalogue | None = None
    audiences: Sequence[AudienceChoice] = field(default_factory=tuple)

    def values(self, kind: str, scope: str | None = None) -> list[str]:
        """The catalogue's values of ``kind`` (most frequent first), or none."""
        if self.catalogue is None:
            return []
        return self.catalogue.values(kind, scope)  # type: ignore[arg-type]

    def hint(self, kind: str, scope: str | None, value: str) -> str | None:
        if self.catalogue is None or not value:
            return None
        return self.catalogue.hint(kind, scope, value)  # type: ignore[arg-type]

    def detected_type(self, attribute: str) -> str | None:
        """The type the store detected for user attribute ``attribute`` (None: unseen)."""
        if self.catalogue is None:
            return None
        for entry in self.catalogue.entries("user_attribute"):
            if entry.value == attribute:
                return entry.scope
        return None


def audience_choices(graph: JourneyGraph, journeys: Iterable[JourneyGraph],
                     milestone_id: str | None) -> tuple[AudienceChoice, ...]:
    """Every milestone of ``journeys`` (all of the account's) that the criteria of
    ``milestone_id`` may use, by the core's rule (:meth:`JourneyGraph.can_use_audience`):
    not the milestone itself, not one after it. A new milestone (None) has nothing
    after it yet, so it may use any."""
    found: list[AudienceChoice] = []
    seen: set[str] = set()
    for journey in (graph, *journeys):
        if journey.id in seen:
            continue
        seen.add(journey.id)
        for milestone in journey.milestones_in_order():
            if milestone_id is not None and graph.can_use_audience(milestone_id, milestone.id):
                continue
            found.append(AudienceChoice(milestone.id, f"{journey.name} ▸ {milestone.name}"))
    return tuple(found)
