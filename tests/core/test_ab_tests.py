"""A/B tests: stable assignment, the split's rules, the statistics, the undoable commands."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from app.core import errors
from app.core.ab_tests import (
    ABTestError,
    ArmResult,
    about,
    arm_milestones,
    arm_of,
    bucket,
    compare,
    control_percent,
    normal_cdf,
    sample_size_per_arm,
    two_proportion_z_test,
)
from app.core.account import AccountState
from app.core.commands import add_ab_test, remove_ab_test
from app.core.criteria import AudienceDefinition, Clause, DeviceCriterion
from app.core.models import Account, Journey, JourneyDocument, Milestone

USERS = [f"user-{n}" for n in range(100_000)]


def test_a_bucket_is_the_same_in_another_process() -> None:
    ids = ["alice", "bob", "42", "mpid-9007199254740993", "ünïcode"]
    here = [bucket("test-1", u) for u in ids]
    script = (
        "from app.core.ab_tests import bucket;"
        f"print([bucket('test-1', u) for u in {ids!r}])"
    )
    # A fresh interpreter with another hash seed: Python's hash() would differ, SHA-256 not.
    there = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    ).stdout.strip()
    assert there == repr(here)
    # And a fixed value, so a change of the hash (which would reassign every running
    # test's users) fails here rather than in production.
    assert bucket("test-1", "alice") == int.from_bytes(
        __import__("hashlib").sha256(b"test-1:alice").digest(), "big"
    ) % 10_000


def test_the_split_of_100000_users_is_within_one_point_of_the_configured_one() -> None:
    tested = Milestone(id="m", name="Signed up")
    arms = arm_milestones(tested, [("Variant A", 20), ("Variant B", 30.5)], test_id="t-1")
    counts = Counter(arm_of([a.variant for a in arms if a.variant], "t-1", u) for u in USERS)
    shares = {v.label: counts[v] / len(USERS) * 100 for v in counts if v is not None}
    assert None not in counts  # everyone lands in exactly one arm
    assert shares["Variant A"] == pytest.approx(20, abs=1)
    assert shares["Variant B"] == pytest.approx(30.5, abs=1)
    assert shares["Control"] == pytest.approx(49.5, abs=1)


def test_two_tests_on_the_same_users_are_independent() -> None:
    first = [bucket("t-1", u) < 5_000 for u in USERS[:20_000]]
    second = [bucket("t-2", u) < 5_000 for u in USERS[:20_000]]
    both = sum(a and b for a, b in zip(first, second, strict=True)) / 20_000
    assert both == pytest.approx(0.25, abs=0.01)


def test_the_control_is_the_remainder_and_the_ranges_tile_all_buckets() -> None:
    arms = arm_milestones(Milestone(id="m", name="Signed up"), [("A", 12.5), ("B", 7.25)])
    ranges = [(a.variant.start, a.variant.end) for a in arms if a.variant]
    assert ranges == [(0, 1250), (1250, 1975), (1975, 10_000)]
    assert [a.name for a in arms] == ["Signed up - A", "Signed up - B", "Signed up - Control"]
    assert arms[-1].variant is not None and arms[-1].variant.control
    assert control_percent([("A", 12.5), ("B", 7.25)]) == 80.25


@pytest.mark.parametrize(
    ("variants", "says"),
    [
        ([], "at least one variant"),
        ([(f"V{n}", 5) for n in range(6)], "at most 5 variants"),
        ([("A", 0)], "above 0 %"),
        ([("A", 60), ("B", 40)], "leaves nothing for the Control"),
        ([("A", 10), ("a", 10)], "Two arms of the test are called"),
        ([("Control", 10)], "Two arms of the test are called"),
        ([("  ", 10)], "needs a name"),
    ],
)
def test_the_rules_refuse_a_bad_split(variants: list[tuple[str, float]], says: str) -> None:
    with pytest.raises(ABTestError, match=says):
        arm_milestones(Milestone(id="m", name="Signed up"), variants)


# ---------------------------------------------------------------- statistics


def test_the_normal_distribution_matches_the_table() -> None:
    assert normal_cdf(1.96) == pytest.approx(0.9750021, abs=1e-7)
    assert normal_cdf(1.0) == pytest.approx(0.8413447, abs=1e-7)
    assert normal_cdf(-1.6448536) == pytest.approx(0.05, abs=1e-7)


def test_the_z_test_matches_a_reference_computation() -> None:
    # R: prop.test(c(120, 100), c(1000, 1000), correct = FALSE)
    #    X-squared = 2.0429, p-value = 0.1529 (X-squared is z squared).
    result = two_proportion_z_test(120, 1000, 100, 1000)
    assert result is not None
    assert result.z**2 == pytest.approx(2.0429, abs=1e-4)
    assert result.p_value == pytest.approx(0.1529, abs=1e-4)
    # The 2x2 table's chi-square, N(ad - bc)² / (r1·r2·c1·c2), equals z² (a textbook identity):
    a, b, c, d = 45, 155, 25, 175
    chi_square = 400 * (a * d - b * c) ** 2 / (200 * 200 * (a + c) * (b + d))
    strong = two_proportion_z_test(45, 200, 25, 200)
    assert strong is not None
    assert strong.z**2 == pytest.approx(chi_square, rel=1e-12)
    assert strong.p_value == pytest.approx(1 - 2 * (normal_cdf(abs(strong.z)) - 0.5))
    assert two_proportion_z_test(0, 100, 0, 100) is None
    assert two_proportion_z_test(1, 0, 1, 10) is None


def test_the_sample_size_matches_fleiss_table() -> None:
    # Fleiss (1981), no continuity correction, α = 0.05 two-sided, power 0.80:
    # 5 % vs 10 % needs 435 per group; 10 % vs 20 % needs 199.
    assert sample_size_per_arm(0.10, 0.05) == 435
    assert sample_size_per_arm(0.20, 0.10) == 199
    assert sample_size_per_arm(0.1, 0.1) is None


def test_the_result_is_said_in_plain_words() -> None:
    control = ArmResult("c", "Control", 50, True, 1000, 101)
    variant = ArmResult("b", "Variant B", 50, False, 1000, 124)
    comparison = compare(variant, control)
    assert comparison.needed_per_arm == 2962
    assert comparison.sentence == (
        "Variant B converts 12.4% vs Control 10.1%; this difference is not yet significant "
        "(p = 0.10); about 2,000 more users per arm needed."
    )
    big = compare(
        ArmResult("b", "Variant B", 50, False, 10_000, 1240),
        ArmResult("c", "Control", 50, True, 10_000, 1010),
    )
    assert big.significant
    assert big.sentence == (
        "Variant B converts 12.4% vs Control 10.1%; this difference is significant (p < 0.001)."
    )
    no_next = compare(ArmResult("b", "B", 50, False, 10, None), control)
    assert "add a milestone after" in no_next.sentence
    assert about(4_137) == "4,100" and about(87) == "87" and about(12_345) == "12,000"


# ---------------------------------------------------------------- commands


ON_IOS = AudienceDefinition(clauses=(Clause(item=DeviceCriterion(platforms=("iOS",))),))


@pytest.fixture
def state() -> AccountState:
    """j1: Signed up -> [Watched, Rest (Remaining users)]."""
    state = AccountState(Account(id="acct"))
    state.add_journey(JourneyDocument(
        journey=Journey(id="j1", name="Onboarding"),
        milestones=(
            Milestone(id="s", name="Signed up"),
            Milestone(id="w", name="Watched", parent_id="s", definition=ON_IOS),
            Milestone(id="r", name="Rest", parent_id="s", remaining=True),
        ),
    ))
    return state


def test_adding_a_test_is_one_undoable_step(state: AccountState) -> None:
    before = state.journey("j1").document()
    command = add_ab_test(state, "j1", "s", [("Variant A", 25), ("Variant B", 25)])
    command.do(state)
    graph = state.journey("j1")
    names = [m.name for m in graph.children("s")]
    assert names == [
        "Watched", "Rest", "Signed up - Variant A", "Signed up - Variant B",
        "Signed up - Control",
    ]
    assert command.text == "Add an A/B test on “Signed up”"
    after = graph.document()
    command.undo(state)
    assert state.journey("j1").document() == before
    command.redo(state)
    assert state.journey("j1").document() == after
    # An ordinary milestone added later still goes before Remaining users and the arms.
    graph.add_milestone(Milestone(id="n", name="New", parent_id="s"))
    assert [m.id for m in graph.children("s")][:3] == ["w", "n", "r"]


def test_a_test_is_fixed_once_saved(state: AccountState) -> None:
    add_ab_test(state, "j1", "s", [("A", 50)]).do(state)
    graph = state.journey("j1")
    with pytest.raises(ABTestError, match="already has an A/B test"):
        add_ab_test(state, "j1", "s", [("A", 30)])
    arm = graph.children("s")[-1]
    with pytest.raises(errors.JourneyRuleError, match="no criteria of its own"):
        graph.set_definition(arm.id, ON_IOS)
    with pytest.raises(errors.JourneyRuleError, match="stays there"):
        graph.move_milestone(arm.id, None)


def test_removing_a_test_is_one_undoable_step(state: AccountState) -> None:
    add_ab_test(state, "j1", "s", [("A", 50)], test_id="t").do(state)
    with_test = state.journey("j1").document()
    removal = remove_ab_test(state, "j1", "s")
    removal.do(state)
    assert [m.id for m in state.journey("j1").children("s")] == ["w", "r"]
    removal.undo(state)
    assert state.journey("j1").document() == with_test
    with pytest.raises(ABTestError, match="no A/B test"):
        remove_ab_test(state, "j1", "w")


def test_a_variant_can_be_stopped_but_the_control_stays_while_variants_do(
    state: AccountState,
) -> None:
    """Removing one variant leaves the others' ranges (nobody moves arm); the Control goes
    only with the test, or last."""
    add_ab_test(state, "j1", "s", [("A", 10), ("B", 20)], test_id="t").do(state)
    graph = state.journey("j1")
    a, b, control = (m for m in graph.children("s") if m.variant is not None)
    with pytest.raises(errors.JourneyRuleError, match="Control of an A/B test"):
        graph.remove_milestone(control.id)
    graph.remove_milestone(a.id)
    assert graph.milestone(b.id).variant == b.variant
    assert graph.milestone(control.id).variant == control.variant
