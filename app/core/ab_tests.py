"""A/B tests on a milestone: assignment of users to arms, the rules, and the statistics.

A test on milestone M splits M's users into up to :data:`MAX_VARIANTS` variants
and a Control (the remainder). Each arm is a child milestone of M carrying a
:class:`~app.core.models.Variant` (test id, label, bucket range), so outputs,
cards, persistence and evaluation are those of any milestone; an arm's name is
``"<M> - <label>"``, which is what a partner receives as the audience name.

**Assignment.** A user's bucket is ``SHA-256("<test id>:<external user id>")``
read as a big-endian integer, modulo :data:`~app.core.models.BASIS_POINTS`
(10,000; one bucket is 0.01 %). SHA-256 and the external id (not the database's
own user number, which differs between databases) make it the same in every
process, on every machine and in every evaluation; the test id in the key makes
two tests on the same users independent of each other.

**Fixed once saved.** The arms' ranges are stored on the arms, never re-derived.
Changing the split of a running test is refused: remove the test and add a new
one, which gets a new test id. Re-splitting in place would move users who were
already treated from one arm to another and mix two splits in one result; a new
id starts a clean experiment whose numbers mean one thing.

**Conversion.** An arm's conversion is the share of its members who are also
members of at least one *next milestone* of M: a child of M that is neither an
arm of the test nor M's Remaining users (which holds those who reached no next
milestone). The users of the arm who reached the next step, as of the last
evaluation.

**Significance.** Each variant is compared with the Control by a two-sided,
pooled two-proportion z-test; the users still needed per arm are those for 80 %
power at α = 0.05 to detect the difference observed (Fleiss' formula, without
continuity correction). Pure math (``math.erfc``), no statistics package.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.core.errors import JourneyRuleError
from app.core.graph import JourneyGraph, reason
from app.core.models import BASIS_POINTS, NAME_MAX_LENGTH, Milestone, Variant, new_id

MAX_VARIANTS = 5
CONTROL = "Control"
ALPHA = 0.05
POWER = 0.80


class ABTestError(JourneyRuleError):
    """An A/B test the rules refuse: too many variants, bad percentages, clashing names."""


# ---------------------------------------------------------------- assignment


def bucket(test_id: str, external_user_id: str) -> int:
    """The user's bucket in the test, 0 to 9,999: the same everywhere, always."""
    digest = hashlib.sha256(f"{test_id}:{external_user_id}".encode()).digest()
    return int.from_bytes(digest, "big") % BASIS_POINTS


def arm_of(variants: Sequence[Variant], test_id: str, external_user_id: str) -> Variant | None:
    """The arm whose range holds the user's bucket (None only if ranges leave a gap)."""
    b = bucket(test_id, external_user_id)
    for variant in variants:
        if variant.test_id == test_id and variant.start <= b < variant.end:
            return variant
    return None


def to_basis_points(percent: float) -> int:
    """A percentage as typed (two decimals at most count) in basis points."""
    return round(percent * 100)


# ---------------------------------------------------------------- rules


def arms_of(milestones: Sequence[Milestone]) -> list[Milestone]:
    """The test arms among ``milestones`` (a tested milestone's children)."""
    return [m for m in milestones if m.variant is not None]


def check_testable(graph: JourneyGraph, milestone_id: str) -> None:
    """Refuse a test on an arm of a test, or a second test on a tested milestone."""
    tested = graph.milestone(milestone_id)
    if tested.variant is not None:
        raise ABTestError(f"“{tested.name}” is an arm of a test; test its parent instead.")
    if arms_of(graph.children(milestone_id)):
        raise ABTestError(
            f"“{tested.name}” already has an A/B test. A test's split is fixed once saved: "
            f"remove it and add a new one to change it."
        )


def can_test(graph: JourneyGraph, milestone_id: str) -> str | None:
    """Why a test can't be added on ``milestone_id``, or None."""
    return reason(lambda: check_testable(graph, milestone_id))


def check_split(variants: Sequence[tuple[str, float]]) -> None:
    """Refuse a split the rules forbid, with a sentence for the marketer."""
    if not variants:
        raise ABTestError("An A/B test needs at least one variant besides the Control.")
    if len(variants) > MAX_VARIANTS:
        raise ABTestError(
            f"An A/B test has at most {MAX_VARIANTS} variants besides the Control; "
            f"this one has {len(variants)}."
        )
    seen: set[str] = {CONTROL.casefold()}
    for label, percent in variants:
        name = label.strip()
        if not name:
            raise ABTestError("Every variant needs a name.")
        if name.casefold() in seen:
            raise ABTestError(
                f"Two arms of the test are called “{name}”: each variant needs its own name "
                f"(and “{CONTROL}” is the remainder's)."
            )
        seen.add(name.casefold())
        if to_basis_points(percent) <= 0:
            raise ABTestError(f"“{name}” needs a share above 0 %.")
    total = sum(to_basis_points(p) for _, p in variants)
    if total >= BASIS_POINTS:
        raise ABTestError(
            f"The variants take {total / 100:g} % of the users, which leaves nothing for the "
            f"Control: keep their total below 100 %."
        )


def control_percent(variants: Sequence[tuple[str, float]]) -> float:
    """What the Control gets: 100 % minus the variants' shares (may be ≤ 0 when invalid)."""
    return (BASIS_POINTS - sum(to_basis_points(p) for _, p in variants)) / 100


def arm_name(audience: str, label: str) -> str:
    """``"<audience> - <label>"``, the audience's name shortened if the whole is too long."""
    suffix = f" - {label.strip()}"
    room = NAME_MAX_LENGTH - len(suffix)
    head = audience if len(audience) <= room else audience[: max(1, room - 1)].rstrip() + "…"
    return head + suffix


def arm_milestones(
    tested: Milestone,
    variants: Sequence[tuple[str, float]],
    *,
    test_id: str | None = None,
    positions: Sequence[tuple[float, float]] | None = None,
    x_step: float = 268.0,
) -> list[Milestone]:
    """The arm milestones of a new test on ``tested``: the variants in order, then Control.

    Ranges are laid end to end from bucket 0; the Control takes the rest. Cards are
    placed at ``positions`` (top-left corners, one per arm), by default in a row under
    the tested milestone.
    """
    check_split(variants)
    test_id = test_id or new_id()
    arms: list[tuple[str, int, int, bool]] = []
    start = 0
    for label, percent in variants:
        end = start + to_basis_points(percent)
        arms.append((label.strip(), start, end, False))
        start = end
    arms.append((CONTROL, start, BASIS_POINTS, True))
    if positions is None:
        positions = [(tested.x + i * x_step, tested.y + 150.0) for i in range(len(arms))]
    if len(positions) != len(arms):
        raise ValueError(f"{len(arms)} arms need {len(arms)} positions, not {len(positions)}")
    return [
        Milestone(
            name=arm_name(tested.name, label),
            parent_id=tested.id,
            variant=Variant(test_id=test_id, label=label, start=s, end=e, control=control),
            x=x,
            y=y,
        )
        for (label, s, e, control), (x, y) in zip(arms, positions, strict=True)
    ]


# ---------------------------------------------------------------- statistics


Z_ALPHA = 1.959963984540054
"""The standard normal quantile at 1 - α/2 for α = 0.05."""
Z_POWER = 0.8416212335729143
"""The standard normal quantile at 0.80 (80 % power)."""


def normal_cdf(z: float) -> float:
    """Φ(z), the standard normal distribution function."""
    return 0.5 * math.erfc(-z / math.sqrt(2))


@dataclass(frozen=True)
class ZTest:
    """A two-sided pooled two-proportion z-test of ``a`` against ``b``."""

    z: float
    p_value: float


def two_proportion_z_test(
    converted_a: int, size_a: int, converted_b: int, size_b: int
) -> ZTest | None:
    """The z statistic and two-sided p-value of ``a``'s rate minus ``b``'s; None when undefined.

    Pooled standard error ``sqrt(p̂(1-p̂)(1/n_a + 1/n_b))`` with ``p̂`` the rate of
    both arms together; undefined when an arm is empty or everyone (or no one)
    converted, since then there is no spread to test against.
    """
    if size_a <= 0 or size_b <= 0:
        return None
    pooled = (converted_a + converted_b) / (size_a + size_b)
    spread = pooled * (1 - pooled) * (1 / size_a + 1 / size_b)
    if spread <= 0:
        return None
    z = (converted_a / size_a - converted_b / size_b) / math.sqrt(spread)
    return ZTest(z, math.erfc(abs(z) / math.sqrt(2)))


def sample_size_per_arm(rate_a: float, rate_b: float) -> int | None:
    """Users per arm for 80 % power at α = 0.05 (two-sided) to tell ``rate_a`` from ``rate_b``.

    Fleiss' formula without continuity correction:
    ``n = (z_{1-α/2}·sqrt(2·p̄·q̄) + z_{power}·sqrt(p_a·q_a + p_b·q_b))² / (p_a - p_b)²``,
    rounded up. None when the rates are equal (no sample size detects no difference).
    """
    difference = rate_a - rate_b
    if difference == 0:
        return None
    mean = (rate_a + rate_b) / 2
    root = Z_ALPHA * math.sqrt(2 * mean * (1 - mean)) + Z_POWER * math.sqrt(
        rate_a * (1 - rate_a) + rate_b * (1 - rate_b)
    )
    return math.ceil(root * root / (difference * difference))


@dataclass(frozen=True)
class ArmResult:
    """One arm after an evaluation: its size and how many of it reached the next milestone."""

    milestone_id: str
    label: str
    percent: float
    control: bool
    size: int
    converted: int | None
    """None when the tested milestone has no next milestone to convert to."""

    @property
    def rate(self) -> float | None:
        if self.converted is None or self.size == 0:
            return None
        return self.converted / self.size


@dataclass(frozen=True)
class Comparison:
    """A variant against the Control, with the sentence that says what it means."""

    variant: ArmResult
    control: ArmResult
    test: ZTest | None
    needed_per_arm: int | None
    """Users per arm for 80 % power, or None when undefined (equal rates, no data)."""

    @property
    def significant(self) -> bool:
        return self.test is not None and self.test.p_value < ALPHA

    @property
    def more_per_arm(self) -> int | None:
        """How many more users each arm needs (the smaller arm counts), or None."""
        if self.needed_per_arm is None:
            return None
        return max(0, self.needed_per_arm - min(self.variant.size, self.control.size))

    @property
    def sentence(self) -> str:
        return describe(self)


def compare(variant: ArmResult, control: ArmResult) -> Comparison:
    if variant.converted is None or control.converted is None:
        return Comparison(variant, control, None, None)
    test = two_proportion_z_test(variant.converted, variant.size, control.converted, control.size)
    needed = None
    if variant.rate is not None and control.rate is not None:
        needed = sample_size_per_arm(variant.rate, control.rate)
    return Comparison(variant, control, test, needed)


def about(count: int) -> str:
    """A count rounded to two significant figures, with thousands separators: 4,100."""
    if count < 100:
        return f"{count:,}"
    digits = len(str(count)) - 2
    return f"{round(count, -digits):,}"


def percent_text(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def describe(comparison: Comparison) -> str:
    """The result in plain words, e.g. "Variant B converts 12.4% vs Control 10.1%; this
    difference is not yet significant; about 4,100 more users per arm needed"."""
    variant, control = comparison.variant, comparison.control
    if variant.converted is None:
        return (
            f"{variant.label}: add a milestone after the tested one to measure conversion."
        )
    if variant.rate is None or control.rate is None:
        empty = variant if variant.rate is None else control
        return f"{variant.label}: no result yet, “{empty.label}” has no users."
    head = (
        f"{variant.label} converts {percent_text(variant.rate)} vs "
        f"{control.label} {percent_text(control.rate)}"
    )
    if comparison.test is None or comparison.needed_per_arm is None:
        return f"{head}; no difference to test yet."
    p = comparison.test.p_value
    if comparison.significant:
        shown = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
        return f"{head}; this difference is significant ({shown})."
    more = comparison.more_per_arm or 0
    if more == 0:
        return (
            f"{head}; this difference is not significant (p = {p:.2f}) with enough users "
            f"to have seen it."
        )
    return (
        f"{head}; this difference is not yet significant (p = {p:.2f}); "
        f"about {about(more)} more users per arm needed."
    )
