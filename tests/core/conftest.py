"""Fixtures for the domain tests: a small account, an event recorder, a refusal checker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.core.account import AccountState
from app.core.errors import JourneyRuleError
from app.core.events import DomainEvent, JourneyAdded
from app.core.models import Account, Connection, Journey, JourneyDocument

HOOK = "conn-hook"
BRAZE = "conn-braze"


class EventLog:
    """Every event the account and each of its journeys emit, in order.

    Journeys added later (JourneyAdded) are followed too, as the Qt scene would.
    """

    def __init__(self, state: AccountState) -> None:
        self.state = state
        self.events: list[DomainEvent] = []
        state.subscribe(self._on_account_event)
        for graph in state.journeys():
            graph.subscribe(self._record)

    def _record(self, event: DomainEvent) -> None:
        self.events.append(event)

    def _on_account_event(self, event: DomainEvent) -> None:
        self.events.append(event)
        if isinstance(event, JourneyAdded):
            self.state.journey(event.journey_id).subscribe(self._record)

    def take(self) -> list[DomainEvent]:
        """The events so far, and forget them."""
        taken, self.events = self.events, []
        return taken


def make_state(limit: int = 25, journeys: tuple[tuple[str, str], ...] = ()) -> AccountState:
    state = AccountState(
        Account(id="acct", active_audience_limit=limit),
        connections=[
            Connection(id=HOOK, name="Webhook HQ", partner="webhook"),
            Connection(id=BRAZE, name="Braze prod", partner="braze"),
        ],
    )
    for journey_id, name in journeys:
        state.add_journey(JourneyDocument(journey=Journey(id=journey_id, name=name)))
    return state


@pytest.fixture
def state() -> AccountState:
    """Limit 25, two connections, journeys "Onboarding" (j1) and "Win-back" (j2)."""
    return make_state(journeys=(("j1", "Onboarding"), ("j2", "Win-back")))


@pytest.fixture
def log(state: AccountState) -> EventLog:
    return EventLog(state)


RefusalCheck = Callable[..., JourneyRuleError]


@pytest.fixture
def assert_refused(state: AccountState, log: EventLog) -> RefusalCheck:
    """Run a refused edit and check everything a refusal promises.

    ``assert_refused(edit, can, ErrorClass, *fragments)``: ``can()`` (the ``can_…``
    twin, called before the edit) returns the refusal message; ``edit()`` raises
    exactly ``ErrorClass`` with that message, which contains every fragment; the
    account snapshot is unchanged and no event was emitted.
    """

    def check(
        edit: Callable[[], Any],
        can: Callable[[], str | None] | None,
        error_class: type[JourneyRuleError],
        *fragments: str,
    ) -> JourneyRuleError:
        before = state.snapshot()
        log.take()
        predicted = can() if can is not None else None
        with pytest.raises(error_class) as caught:
            edit()
        error = caught.value
        assert type(error) is error_class
        message = str(error)
        assert error.message == message
        for fragment in fragments:
            assert fragment in message, f"{fragment!r} not in {message!r}"
        if can is not None:
            assert predicted == message
        assert state.snapshot() == before
        assert log.take() == []
        return error

    return check
