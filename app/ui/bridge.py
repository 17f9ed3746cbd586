"""AccountWatcher: turns the domain's change events into Qt signals for the panels.

Core objects emit plain callbacks (:mod:`app.core.events`) and know nothing of
Qt. Panels that summarise the whole account (the journeys list, the
active-audience meter) need to hear about every journey, including journeys
added later, so one watcher subscribes to the account and to each journey
graph and re-emits what happened as signals. It keeps the unsubscribe calls it
was given, so :meth:`close` leaves no listener behind in core.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.core.account import AccountState
from app.core.events import (
    AccountChanged,
    DomainEvent,
    JourneyAdded,
    JourneyChanged,
    JourneyRemoved,
    NodeAdded,
    NodeRemoved,
    StatusChanged,
)


class AccountWatcher(QObject):
    """Re-emits account and journey events as Qt signals (on the GUI thread)."""

    journeysChanged = Signal()
    """A journey was added or removed: lists must be rebuilt."""
    journeyChanged = Signal(str)
    """A journey's name, inputs, node counts or status changed (its id)."""
    statusChanged = Signal()
    """The number of active audiences or the account limit may have changed."""
    accountChanged = Signal()
    """Account settings (name, limit, connections) changed."""
    stateReplaced = Signal()
    """The whole account state was read again (after a conflict): everything is new."""

    def __init__(self, state: AccountState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._unsubscribe_account: Callable[[], None] | None = state.subscribe(
            self._on_account_event
        )
        self._unsubscribe_graph: dict[str, Callable[[], None]] = {}
        self._sync_graph_subscriptions()

    @property
    def state(self) -> AccountState:
        return self._state

    def rebind(self, state: AccountState) -> None:
        """Watch another state (the studio reloaded) and tell everyone to re-read."""
        self.close()
        self._state = state
        self._unsubscribe_account = state.subscribe(self._on_account_event)
        self._sync_graph_subscriptions()
        self.stateReplaced.emit()
        self.journeysChanged.emit()
        self.accountChanged.emit()
        self.statusChanged.emit()

    def close(self) -> None:
        """Stop listening to core; safe to call twice."""
        if self._unsubscribe_account is not None:
            self._unsubscribe_account()
            self._unsubscribe_account = None
        for unsubscribe in self._unsubscribe_graph.values():
            unsubscribe()
        self._unsubscribe_graph.clear()

    # ------------------------------------------------------------------ internals

    def _sync_graph_subscriptions(self) -> None:
        present = {graph.id: graph for graph in self._state.journeys()}
        for journey_id in set(self._unsubscribe_graph) - set(present):
            self._unsubscribe_graph.pop(journey_id)()
        for journey_id, graph in present.items():
            if journey_id not in self._unsubscribe_graph:
                self._unsubscribe_graph[journey_id] = graph.subscribe(self._on_graph_event)

    def _on_account_event(self, event: DomainEvent) -> None:
        if isinstance(event, JourneyAdded | JourneyRemoved):
            self._sync_graph_subscriptions()
            self.journeysChanged.emit()
            self.statusChanged.emit()
        elif isinstance(event, AccountChanged):
            self.accountChanged.emit()
            self.statusChanged.emit()

    def _on_graph_event(self, event: DomainEvent) -> None:
        if isinstance(event, StatusChanged):
            self.journeyChanged.emit(event.journey_id)
            self.statusChanged.emit()
        elif isinstance(event, JourneyChanged | NodeAdded | NodeRemoved):
            self.journeyChanged.emit(event.journey_id)
