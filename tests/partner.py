"""A partner that never leaves the process, and the audiences it should hold.

Every GUI test gets one (``tests/ui/conftest.py``): the demo's outputs point at
real services and at a local webhook address, and a window forwards on its own
a few seconds after it opens and after edits. The forwarding tests use it too.
This stand-in accepts what it is sent and keeps each audience as a
de-duplicating receiver would, or gives the answers a test queues (a 401, a
pause) first. :func:`member_ids` is what a partner should hold: the engine's
stored members, by the ids partners know users by.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from app.core.partners import PartnerSettings
from app.engine.evaluation import stored_members
from app.outputs.base import Delivered, Delivery, Fault, Outcome, RetryAfter
from app.store import Database
from app.store.event_tables import UserRow

__all__ = ["Delivered", "FakePartner", "Fault", "RetryAfter", "member_ids"]


@dataclass
class FakePartner:
    """Accepts deliveries (after any queued answers) and keeps the audiences it holds."""

    audiences: dict[str, set[str]] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    requests: int = 0
    answers: list[Outcome] = field(default_factory=list)
    """Outcomes to give before accepting (popped first to last)."""
    always: Outcome | None = None
    """An answer given to every request (a partner that is down)."""
    sending: threading.Event = field(default_factory=threading.Event)
    """Set when a request arrives (a test waits for a run to be under way)."""

    partner = "webhook"

    def send(self, delivery: Delivery) -> Outcome:
        self.requests += 1
        self.sending.set()
        if self.always is not None:
            return self.always
        if self.answers:
            return self.answers.pop(0)
        if delivery.idempotency_key not in self.keys:
            self.keys.add(delivery.idempotency_key)
            held = self.audiences.setdefault(delivery.audience_id, set())
            held.update(p.user_id for p in delivery.adds)
            held.difference_update(p.user_id for p in delivery.deletes)
        return Delivered(status=200)

    def test(self, settings: PartnerSettings, secret: str | None) -> Outcome:
        return Delivered(status=200)


def member_ids(database: Database, audience_id: str) -> set[str]:
    """The engine's stored members of an audience, by the ids partners know them by."""
    numbers = stored_members(database, audience_id)
    users = UserRow.__table__
    with database.engine.connect() as connection:
        rows = connection.execute(
            users.select().where(users.c.id.in_(list(numbers)))
        ).all()
    return {row.external_id for row in rows}
