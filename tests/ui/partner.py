"""A partner that never leaves the process, for the window's background forwarding.

Every GUI test gets one (``tests/ui/conftest.py``): the demo's outputs point at
real services and at a local webhook address, and a window forwards on its own
a few seconds after it opens and after edits. This stand-in accepts what it is
sent and keeps each audience as a de-duplicating receiver would, or gives the
answers a test queues (a 401, a pause) first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from app.core.partners import PartnerSettings
from app.outputs.base import Delivered, Delivery, Fault, Outcome, RetryAfter

__all__ = ["Delivered", "FakePartner", "Fault", "RetryAfter"]


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
