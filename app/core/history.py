"""A milestone's size history: the points every stored evaluation left, and what they say.

The store keeps one point per audience per stored evaluation (its size, and how many
users joined and left compared with the evaluation before). This module turns a list
of those points into what the marketer reads beside the chart: the adds and drops of
the last 24 hours and the volatility. Pure functions over plain values, so the GUI,
the command line and the tests get the same numbers.

**Volatility** (DESIGN.md section 1: "(adds + drops) / size over a period") is the
churn of the last :data:`VOLATILITY_DAYS` days: every user who joined or left at the
evaluations of that period, as a share of the audience's average size at those
evaluations. 10% means one user in ten of a typical day's audience came or went; 0%
is a steady audience. The audience's very first evaluation is not counted as change:
it fills the audience, nobody "joined" a list that did not exist yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

RECENT = timedelta(hours=24)
"""The window of "the last 24 hours' adds and drops"."""
VOLATILITY_DAYS = 7
"""The period volatility is measured over, in days."""

VOLATILITY_EXPLAINED = (
    f"Volatility: the users who joined or left over the last {VOLATILITY_DAYS} days, "
    "as a share of the audience's average size. 0% is a steady audience; 50% means "
    "half as many users as it usually holds came or went. The first evaluation, "
    "which fills the audience, is not counted."
)
"""What volatility means, in the marketer's words (the GUI's tooltip, the CLI's help)."""


@dataclass(frozen=True)
class SizePoint:
    """One stored evaluation of an audience."""

    as_of: datetime
    """The moment the evaluation counted the audience at (aware UTC)."""
    size: int
    added: int
    """Users who joined since the evaluation before."""
    removed: int
    """Users who left since the evaluation before."""


@dataclass(frozen=True)
class Change:
    """Users who joined and left over a window, and at how many evaluations."""

    added: int
    removed: int
    evaluations: int


@dataclass(frozen=True)
class SizeSummary:
    """What the numbers beside the chart say about a history."""

    evaluations: int
    latest: SizePoint | None
    """The newest point (None before the first evaluation)."""
    last_24_hours: Change
    volatility: float | None
    """A fraction (0.1 is 10%), or None when there is nothing to measure it on: no
    evaluation in the period besides the first, or an audience that was empty throughout."""


def in_window(points: Sequence[SizePoint], now: datetime, span: timedelta) -> list[SizePoint]:
    """The points counted at a time in ``(now - span, now]``: a point exactly ``span`` old
    belongs to the window before, so back-to-back windows never count one twice."""
    start = now - span
    return [p for p in points if start < p.as_of <= now]


def change_within(points: Sequence[SizePoint], now: datetime,
                  span: timedelta = RECENT) -> Change:
    """Users who joined and left at the evaluations of the last ``span`` before ``now``."""
    window = in_window(points, now, span)
    return Change(sum(p.added for p in window), sum(p.removed for p in window), len(window))


def volatility(points: Sequence[SizePoint], now: datetime,
               days: int = VOLATILITY_DAYS) -> float | None:
    """The churn of the last ``days`` days (see the module's docstring), or None.

    ``points`` is the audience's whole history, oldest first: the first of it is the
    evaluation that filled the audience, and its adds are not change.
    """
    first = points[0] if points else None
    window = in_window(points, now, timedelta(days=days))
    changes = [p for p in window if p is not first]
    if not changes:
        return None
    average = sum(p.size for p in window) / len(window)
    if average == 0:
        return None
    return sum(p.added + p.removed for p in changes) / average


def summarize(points: Sequence[SizePoint], now: datetime) -> SizeSummary:
    """The evaluations, the latest point, the last 24 hours' change and the volatility."""
    return SizeSummary(
        evaluations=len(points),
        latest=points[-1] if points else None,
        last_24_hours=change_within(points, now),
        volatility=volatility(points, now),
    )


def percent(value: float | None) -> str:
    """Volatility as shown: "12.5%", "0%", or "—" when there is none."""
    if value is None:
        return "—"
    shown = f"{value * 100:.1f}".removesuffix(".0")
    return f"{shown}%"
