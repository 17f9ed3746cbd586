"""“Test connection”: one real, harmless request to a partner, timed, and said in words.

The Account settings window and ``journeys connection test`` show the same
sentence: “Connected: HTTP 200 in 85 ms”, or why it failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.core.errors import InvalidSettingError
from app.core.models import PARTNER_LABELS
from app.core.partners import PartnerSettings
from app.outputs import registry
from app.outputs.base import Delivered, Fault, Outcome, RetryAfter


@dataclass(frozen=True)
class ProbeResult:
    """A connection test's outcome and how long it took."""

    outcome: Outcome
    milliseconds: int

    @property
    def ok(self) -> bool:
        return isinstance(self.outcome, Delivered)

    @property
    def summary(self) -> str:
        """One line for a person: what the partner answered, or why it did not."""
        outcome = self.outcome
        status = f"HTTP {outcome.status} " if outcome.status is not None else ""
        timing = f"in {self.milliseconds} ms"
        if isinstance(outcome, Delivered):
            return f"Connected: {status}{timing}".replace("  ", " ")
        if isinstance(outcome, RetryAfter):
            return f"Not reachable now: {outcome.reason}"
        assert isinstance(outcome, Fault)
        return f"Refused: {outcome.reason}"


def probe(partner: str, settings: PartnerSettings, secret: str | None) -> ProbeResult:
    """Run the partner connector's test with these settings and this secret."""
    try:
        serving = registry.connector(partner)
    except ImportError:
        raise InvalidSettingError(
            f"This copy of Journey Studio can't send to {PARTNER_LABELS.get(partner, partner)} "
            f"yet (its connector is missing)."
        ) from None
    started = time.perf_counter()
    outcome = serving.test(settings, secret)
    return ProbeResult(outcome, round((time.perf_counter() - started) * 1000))
