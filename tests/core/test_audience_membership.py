"""Audience-membership criteria: which audiences a milestone's criteria may refer to.

A milestone's criteria may use the audience of any milestone of the account that
does not depend on it: one before it, one on another branch, one of another
journey. They may not use the milestone's own audience, nor the audience of a
milestone after it (whose users are picked from its own), nor an audience that is
not there. The rule lives in the core, so every edit path refuses the same way:
the command the canvas uses (SetCriteria), adding a milestone, moving one under
a milestone that refers to it, and creating a whole journey (an import).
"""

from __future__ import annotations

import pytest

from app.core import errors
from app.core.account import AccountState
from app.core.commands import (
    AddMilestone,
    CreateJourney,
    MoveMilestone,
    RemoveMilestone,
    SetCriteria,
)
from app.core.criteria import (
    AudienceDefinition,
    AudienceMembershipCriterion,
    Clause,
    DeviceCriterion,
    Group,
    IdentityCriterion,
)
from app.core.models import Account, Journey, JourneyDocument, Milestone
from tests.core.conftest import EventLog, RefusalCheck

ON_IOS = Clause(item=DeviceCriterion(platforms=("iOS",)))


def member_of(milestone_id: str, member: bool = True) -> AudienceDefinition:
    """Users who are (``member``) or are not in the audience of ``milestone_id``."""
    return AudienceDefinition(clauses=(
        ON_IOS,
        Clause(item=AudienceMembershipCriterion(milestone_id=milestone_id, member=member)),
    ))


def ms(mid: str, parent: str | None = None, definition: AudienceDefinition | None = None
       ) -> Milestone:
    return Milestone(id=mid, name=mid.capitalize(), parent_id=parent,
                     definition=definition or AudienceDefinition())


@pytest.fixture
def state() -> AccountState:
    """j1 "Onboarding": opened -> [trial -> paid, browsed]; j2 "Win-back": lapsed."""
    state = AccountState(Account(id="acct"))
    state.add_journey(JourneyDocument(
        journey=Journey(id="j1", name="Onboarding"),
        milestones=(ms("opened"), ms("trial", "opened"), ms("paid", "trial"),
                    ms("browsed", "opened")),
    ))
    state.add_journey(JourneyDocument(
        journey=Journey(id="j2", name="Win-back"), milestones=(ms("lapsed"),)
    ))
    return state


def set_criteria(state: AccountState, milestone_id: str, definition: AudienceDefinition
                 ) -> SetCriteria:
    command = SetCriteria("j1", milestone_id, definition)
    command.do(state)
    return command


@pytest.mark.parametrize(
    ("milestone_id", "target", "fragments"),
    [
        ("trial", "trial", ("“Trial”", "its own audience")),
        ("trial", "paid", ("“Trial”", "“Paid”", "comes after it")),
        ("opened", "paid", ("“Opened”", "“Paid”", "comes after it")),
        ("trial", "gone", ("“Trial”", "not in this account")),
    ],
    ids=["itself", "its child", "a grandchild", "a missing milestone"],
)
@pytest.mark.parametrize("member", [True, False], ids=["member", "not member"])
def test_the_criteria_command_refuses_a_membership_the_rules_forbid(
    state: AccountState, assert_refused: RefusalCheck, milestone_id: str, target: str,
    fragments: tuple[str, ...], member: bool,
) -> None:
    graph = state.journey("j1")
    definition = member_of(target, member)
    assert_refused(
        lambda: set_criteria(state, milestone_id, definition),
        lambda: graph.can_set_definition(milestone_id, definition),
        errors.AudienceMembershipError,
        *fragments,
    )


def test_a_forbidden_membership_inside_a_group_is_refused_too(
    state: AccountState, assert_refused: RefusalCheck
) -> None:
    nested = AudienceDefinition(clauses=(
        ON_IOS,
        Clause(join="or", item=Group(clauses=(
            Clause(item=IdentityCriterion(identity_type="email")),
            Clause(join="exclude", item=AudienceMembershipCriterion(milestone_id="paid")),
        ))),
    ))
    assert_refused(
        lambda: set_criteria(state, "trial", nested),
        lambda: state.journey("j1").can_set_definition("trial", nested),
        errors.AudienceMembershipError,
        "“Trial”", "“Paid”",
    )


@pytest.mark.parametrize(
    ("milestone_id", "target"),
    [("trial", "browsed"), ("paid", "browsed"), ("browsed", "paid"), ("paid", "opened"),
     ("trial", "lapsed")],
    ids=["a sibling", "a cousin", "a later branch's child", "an ancestor",
         "another journey's milestone"],
)
def test_a_membership_of_an_independent_audience_is_kept_and_undone(
    state: AccountState, log: EventLog, milestone_id: str, target: str
) -> None:
    graph = state.journey("j1")
    before = state.snapshot()
    definition = member_of(target)
    assert graph.can_set_definition(milestone_id, definition) is None
    assert graph.can_use_audience(milestone_id, target) is None
    command = set_criteria(state, milestone_id, definition)
    assert graph.milestone(milestone_id).definition == definition
    command.undo(state)
    assert state.snapshot() == before
    command.redo(state)
    assert graph.milestone(milestone_id).definition == definition


def test_the_can_twin_answers_for_one_audience_as_a_picker_would_ask(state: AccountState) -> None:
    graph = state.journey("j1")
    assert "its own audience" in (graph.can_use_audience("trial", "trial") or "")
    assert "comes after it" in (graph.can_use_audience("opened", "browsed") or "")
    assert "not in this account" in (graph.can_use_audience("opened", "nope") or "")
    assert graph.can_use_audience("browsed", "trial") is None


def test_moving_the_referred_audience_below_the_milestone_is_refused(
    state: AccountState, assert_refused: RefusalCheck
) -> None:
    """Browsed refers to Trial; putting Trial (or its branch) under Browsed would make
    Browsed depend on its own subtree."""
    set_criteria(state, "browsed", member_of("paid"))
    graph = state.journey("j1")
    assert_refused(
        lambda: MoveMilestone("j1", "trial", "browsed").do(state),
        lambda: graph.can_move_milestone("trial", "browsed"),
        errors.AudienceMembershipError,
        "“Browsed”", "“Paid”", "comes after it",
    )
    # Moving it elsewhere is fine.
    MoveMilestone("j1", "trial", None).do(state)
    assert graph.milestone("trial").parent_id is None


def test_adding_a_milestone_that_refers_to_itself_is_refused(
    state: AccountState, assert_refused: RefusalCheck
) -> None:
    graph = state.journey("j1")
    selfish = ms("new", "opened", member_of("new"))
    assert_refused(
        lambda: AddMilestone("j1", selfish).do(state),
        lambda: graph.can_add_milestone(selfish),
        errors.AudienceMembershipError,
        "“New”", "its own audience",
    )
    AddMilestone("j1", ms("new", "opened", member_of("lapsed"))).do(state)
    assert graph.has_milestone("new")


def test_undoing_a_removal_brings_back_criteria_whose_audience_went_first(
    state: AccountState,
) -> None:
    """Removing a milestone is not refused because another refers to it, so undoing the
    removal of the referring one must not be refused for the reference it had."""
    set_criteria(state, "paid", member_of("browsed", member=False))
    RemoveMilestone("j1", "browsed").do(state)
    removal = RemoveMilestone("j1", "paid")
    removal.do(state)
    removal.undo(state)
    assert state.journey("j1").milestone("paid").definition == member_of("browsed", False)


def test_a_whole_journey_may_refer_forward_to_another_branch_but_not_below_itself(
    state: AccountState, assert_refused: RefusalCheck
) -> None:
    """An import creates a journey in one command; its milestones are added in tree order,
    so a reference to a later branch must not count as missing."""
    forward = JourneyDocument(
        journey=Journey(id="j3", name="Forward"),
        milestones=(ms("f1", None, member_of("f2", member=False)), ms("f2"), ms("f3", "f2")),
    )
    assert state.can_add_journey(forward) is None
    CreateJourney(forward).do(state)
    assert state.journey("j3").milestone("f1").definition == member_of("f2", member=False)

    looping = JourneyDocument(
        journey=Journey(id="j4", name="Looping"),
        milestones=(ms("l1", None, member_of("l2")), ms("l2", "l1")),
    )
    assert_refused(
        lambda: CreateJourney(looping).do(state),
        lambda: state.can_add_journey(looping),
        errors.AudienceMembershipError,
        "“L1”", "“L2”", "comes after it",
    )


def test_a_reference_left_dangling_by_a_removal_does_not_block_other_edits(
    state: AccountState,
) -> None:
    """Removing a milestone is not refused because another refers to it; the referring
    milestone can still be edited (the dangling reference matches nobody) and undone."""
    set_criteria(state, "trial", member_of("browsed", member=False))
    RemoveMilestone("j1", "browsed").do(state)
    graph = state.journey("j1")
    changed = AudienceDefinition(clauses=(
        *member_of("browsed", member=False).clauses,
        Clause(item=IdentityCriterion(identity_type="email")),
    ))
    assert graph.can_set_definition("trial", changed) is None
    command = set_criteria(state, "trial", changed)
    command.undo(state)
    assert graph.milestone("trial").definition == member_of("browsed", member=False)
