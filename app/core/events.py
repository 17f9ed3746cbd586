"""Change events emitted by the domain, so views can mirror it without owning state.

The Qt scene subscribes to a :class:`JourneyGraph` and updates its id -> item
maps from these values; nothing in core knows who listens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

NodeKind = Literal["milestone", "output"]


@dataclass(frozen=True)
class DomainEvent:
    journey_id: str


@dataclass(frozen=True)
class NodeAdded(DomainEvent):
    kind: NodeKind
    node_id: str


@dataclass(frozen=True)
class NodeRemoved(DomainEvent):
    kind: NodeKind
    node_id: str


@dataclass(frozen=True)
class NodeChanged(DomainEvent):
    """A node's name, criteria, parent, sibling order or position changed."""

    kind: NodeKind
    node_id: str


@dataclass(frozen=True)
class OutputToggled(DomainEvent):
    output_id: str
    active: bool


@dataclass(frozen=True)
class StatusChanged(DomainEvent):
    """The derived set of active audiences of this journey changed."""

    active_milestone_ids: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class JourneyChanged(DomainEvent):
    """The journey record itself (name, inputs) changed."""


@dataclass(frozen=True)
class JourneyAdded(DomainEvent):
    pass


@dataclass(frozen=True)
class JourneyRemoved(DomainEvent):
    pass


@dataclass(frozen=True)
class AccountChanged(DomainEvent):
    """Account settings (such as the limit) changed; ``journey_id`` is empty."""


Listener = Callable[[DomainEvent], None]


class EventSource:
    """Keeps listeners and tells them about events, in subscription order."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Start telling ``listener``; returns the call that stops it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def emit(self, event: DomainEvent) -> None:
        for listener in list(self._listeners):
            listener(event)
