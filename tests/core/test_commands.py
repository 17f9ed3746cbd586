"""Every edit command: do, undo and redo restore the account exactly; macros are atomic."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.core import errors
from app.core.account import AccountState
from app.core.commands import (
    AddMilestone,
    AddOutput,
    Command,
    CreateJourney,
    DeleteJourney,
    Macro,
    MoveMilestone,
    MoveNodes,
    RemoveMilestone,
    RemoveOutput,
    RenameJourney,
    RenameMilestone,
    SetActiveAudienceLimit,
    SetCriteria,
    SetOutputActive,
    remove_milestone_with_outputs,
    reorder_milestone,
)
from app.core.criteria import AudienceDefinition, Clause, DeviceCriterion
from app.core.models import Account, Connection, Journey, JourneyDocument, Milestone, Output

HOOK = "conn-hook"
BRAZE = "conn-braze"
ON_IOS = AudienceDefinition(clauses=(Clause(item=DeviceCriterion(platforms=("iOS",))),))


def ms(mid: str, parent: str | None = None, name: str | None = None, remaining: bool = False):
    return Milestone(id=mid, name=name or mid.upper(), parent_id=parent, remaining=remaining)


def out(oid: str, mid: str, connection: str = HOOK, active: bool = True) -> Output:
    return Output(id=oid, milestone_id=mid, connection_id=connection, active=active)


@pytest.fixture
def state() -> AccountState:
    """Limit 10. j1 "Onboarding": P -> [A, B, R (Remaining)], Q; outputs oa (active, Webhook),
    oa2 (inactive, Braze) on A, oq on Q. j2 "Empty". j3 "Win-back": X."""
    state = AccountState(
        Account(id="acct", active_audience_limit=10),
        connections=[Connection(id=HOOK, name="Webhook HQ"), Connection(id=BRAZE, name="Braze")],
    )
    state.add_journey(
        JourneyDocument(
            journey=Journey(id="j1", name="Onboarding"),
            milestones=(
                ms("p"),
                ms("a", "p", "Signed up"),
                ms("b", "p"),
                ms("r", "p", "Everyone else", remaining=True),
                ms("q"),
            ),
            outputs=(out("oa", "a"), out("oa2", "a", BRAZE, active=False), out("oq", "q")),
        )
    )
    state.add_journey(JourneyDocument(journey=Journey(id="j2", name="Empty")))
    state.add_journey(
        JourneyDocument(journey=Journey(id="j3", name="Win-back"), milestones=(ms("x"),))
    )
    return state


def new_journey() -> JourneyDocument:
    return JourneyDocument(
        journey=Journey(id="j9", name="Imported"),
        milestones=(ms("n1"), ms("n2", "n1"), ms("n3", "n1"), ms("nr", "n1", "Rest", True)),
        outputs=(out("no2", "n2"), out("no3", "n3", BRAZE, active=False)),
    )


# (command factory, its journey_ids, changes_account, its text after do)
CASES: dict[str, tuple[Callable[[AccountState], Command], tuple[str, ...], bool, str]] = {
    "add milestone": (
        lambda s: AddMilestone("j1", ms("c", "p", "Churned")),
        ("j1",),
        False,
        "Add milestone “Churned”",
    ),
    "add milestone at index": (
        lambda s: AddMilestone("j1", ms("c", "p", "Churned"), 0),
        ("j1",),
        False,
        "Add milestone “Churned”",
    ),
    "add remaining users": (
        lambda s: (
            s.journey("j3").add_milestone(ms("x1", "x")),
            AddMilestone("j3", ms("xr", "x", "Rest", remaining=True)),
        )[1],
        ("j3",),
        False,
        "Add milestone “Rest”",
    ),
    "add first child": (
        lambda s: AddMilestone("j1", ms("q1", "q")),
        ("j1",),
        False,
        "Add milestone “Q1”",
    ),
    "remove milestone": (
        lambda s: RemoveMilestone("j1", "b"),
        ("j1",),
        False,
        "Remove milestone “B”",
    ),
    "remove remaining users": (
        lambda s: RemoveMilestone("j1", "r"),
        ("j1",),
        False,
        "Remove milestone “Everyone else”",
    ),
    "rename milestone": (
        lambda s: RenameMilestone("j1", "a", "  Joined  "),
        ("j1",),
        False,
        "Rename milestone “Signed up” to “Joined”",
    ),
    "set criteria": (
        lambda s: SetCriteria("j1", "b", ON_IOS),
        ("j1",),
        False,
        "Edit the criteria of “B”",
    ),
    "move milestone": (
        lambda s: MoveMilestone("j1", "q", "b"),
        ("j1",),
        False,
        "Move milestone “Q”",
    ),
    "move connected milestone": (
        lambda s: MoveMilestone("j1", "a", "q"),
        ("j1",),
        False,
        "Move milestone “Signed up”",
    ),
    "move to the top": (
        lambda s: MoveMilestone("j1", "b", None, 0),
        ("j1",),
        False,
        "Move milestone “B”",
    ),
    "reorder split": (
        lambda s: reorder_milestone("j1", "b", 0, "p"),
        ("j1",),
        False,
        "Reorder “B” in its split",
    ),
    "move nodes": (
        lambda s: MoveNodes("j1", {("milestone", "a"): (120.5, 40), ("output", "oq"): (-3, 7)}),
        ("j1",),
        False,
        "Move 2 nodes",
    ),
    "move a milestone and its output": (
        lambda s: MoveNodes("j1", {("milestone", "a"): (120.5, 40), ("output", "oa"): (1, 2)}),
        ("j1",),
        False,
        "Move milestone “Signed up”",
    ),
    "move one output": (
        lambda s: MoveNodes("j1", {("output", "oa2"): (3, 4)}),
        ("j1",),
        False,
        "Move output “Braze” of “Signed up”",
    ),
    "move one node": (
        lambda s: MoveNodes("j3", {("milestone", "x"): (1, 1)}),
        ("j3",),
        False,
        "Move milestone “X”",
    ),
    "add output": (
        lambda s: AddOutput("j1", out("ob", "b", BRAZE)),
        ("j1",),
        False,
        "Add output “Braze” to “B”",
    ),
    "add inactive output": (
        lambda s: AddOutput("j3", out("ox", "x", active=False)),
        ("j3",),
        False,
        "Add output “Webhook HQ” to “X”",
    ),
    "remove output": (
        lambda s: RemoveOutput("j1", "oa"),
        ("j1",),
        False,
        "Remove output “Webhook HQ” of “Signed up”",
    ),
    "deactivate output": (
        lambda s: SetOutputActive("j1", "oa", False),
        ("j1",),
        False,
        "Deactivate output “Webhook HQ” of “Signed up”",
    ),
    "activate output": (
        lambda s: SetOutputActive("j1", "oa2", True),
        ("j1",),
        False,
        "Activate output “Braze” of “Signed up”",
    ),
    "rename journey": (
        lambda s: RenameJourney("j3", "Win back lapsed"),
        ("j3",),
        False,
        "Rename journey “Win-back” to “Win back lapsed”",
    ),
    "create journey": (
        lambda s: CreateJourney(new_journey()),
        ("j9",),
        False,
        "New journey “Imported”",
    ),
    "create journey first": (
        lambda s: CreateJourney(JourneyDocument(journey=Journey(id="j9", name="New")), 0),
        ("j9",),
        False,
        "New journey “New”",
    ),
    "delete journey": (lambda s: DeleteJourney("j2"), ("j2",), False, "Delete journey “Empty”"),
    "set limit": (
        lambda s: SetActiveAudienceLimit(4),
        (),
        True,
        "Set the active-audience limit to 4",
    ),
    "macro": (
        lambda s: Macro(
            "Add and connect",
            [
                AddMilestone("j3", ms("y", "x")),
                AddOutput("j3", out("oy", "y")),
                SetActiveAudienceLimit(12),
                RenameMilestone("j1", "b", "Bee"),
            ],
        ),
        ("j3", "j1"),
        True,
        "Add and connect",
    ),
    "remove milestone with outputs": (
        lambda s: remove_milestone_with_outputs(s, "j1", "a"),
        ("j1",),
        False,
        "Remove milestone “Signed up”",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_do_undo_redo_restore_the_account_exactly(state, case):
    make, journey_ids, changes_account, text = CASES[case]
    command = make(state)
    before = state.snapshot()
    command.do(state)
    after = state.snapshot()
    assert after != before, "the command changed nothing"
    assert command.text == text
    assert command.journey_ids == journey_ids
    assert command.changes_account is changes_account

    command.undo(state)
    assert state.snapshot() == before
    command.redo(state)
    assert state.snapshot() == after
    command.undo(state)
    assert state.snapshot() == before
    for graph in state.journeys():
        assert graph.is_tree()


def test_undo_restores_the_derived_status_and_the_count(state):
    counts = state.active_audience_count(), state.journey("j1").active_milestone_ids()
    command = remove_milestone_with_outputs(state, "j1", "a")
    command.do(state)
    assert state.journey("j1").active_milestone_ids() == {"q"}
    command.undo(state)
    assert (state.active_audience_count(), state.journey("j1").active_milestone_ids()) == counts
    assert [o.id for o in state.journey("j1").outputs_of("a")] == ["oa", "oa2"]


@pytest.mark.parametrize("removed", ["c1", "c2", "c3", "cr"])
def test_undoing_a_removal_puts_the_milestone_back_at_its_place_in_the_split(state, removed):
    graph = state.journey("j3")
    for milestone in (ms("c1", "x"), ms("c2", "x"), ms("c3", "x"), ms("cr", "x", "Rest", True)):
        graph.add_milestone(milestone)
    order = [m.id for m in graph.children("x")]
    assert order == ["c1", "c2", "c3", "cr"]
    command = RemoveMilestone("j3", removed)
    command.do(state)
    assert [m.id for m in graph.children("x")] == [m for m in order if m != removed]
    command.undo(state)
    assert [m.id for m in graph.children("x")] == order


@pytest.mark.parametrize(("moved", "index"), [("a", 1), ("b", 0), ("a", None)])
def test_undoing_a_reorder_restores_the_split_order(state, moved, index):
    graph = state.journey("j1")
    command = reorder_milestone("j1", moved, index, "p")
    command.do(state)
    assert [m.id for m in graph.children("p")][-1] == "r"
    command.undo(state)
    assert [m.id for m in graph.children("p")] == ["a", "b", "r"]


def test_move_nodes_is_one_command_for_several_nodes(state):
    graph = state.journey("j1")
    positions = {
        ("milestone", "p"): (10.0, 20.0),
        ("milestone", "a"): (30.0, 40.0),
        ("output", "oa"): (50.0, 60.0),
    }
    command = MoveNodes("j1", positions)
    assert command.text == "Move 3 nodes"
    command.do(state)
    for (kind, node_id), where in positions.items():
        assert graph.position(kind, node_id) == where
    command.undo(state)
    for kind, node_id in positions:
        assert graph.position(kind, node_id) == (0.0, 0.0)


def test_move_nodes_naming_a_missing_node_moves_nothing(state):
    before = state.snapshot()
    command = MoveNodes("j1", {("milestone", "a"): (5, 5), ("output", "gone"): (1, 1)})
    with pytest.raises(errors.NotFoundError):
        command.do(state)
    assert state.snapshot() == before


def test_create_and_delete_journey_round_trip_with_the_journey_order(state):
    create = CreateJourney(new_journey(), 1)
    create.do(state)
    assert [g.id for g in state.journeys()] == ["j1", "j9", "j2", "j3"]
    created = state.journey("j9")
    assert created.active_milestone_ids() == {"n1", "n2"}
    assert [m.id for m in created.children("n1")] == ["n2", "n3", "nr"]
    assert state.active_audience_count() == 5

    delete = DeleteJourney("j2")
    delete.do(state)
    assert [g.id for g in state.journeys()] == ["j1", "j9", "j3"]
    delete.undo(state)
    assert [g.id for g in state.journeys()] == ["j1", "j9", "j2", "j3"]
    create.undo(state)
    assert [g.id for g in state.journeys()] == ["j1", "j2", "j3"]
    assert state.active_audience_count() == 3
    create.redo(state)
    assert state.journey("j9").document() == new_journey()


def test_a_refused_command_changes_nothing(state):
    for command in (
        RemoveMilestone("j1", "p"),
        DeleteJourney("j1"),
        AddOutput("j1", out("dup", "a")),
        RenameJourney("j3", "onboarding"),
        SetCriteria("j1", "r", ON_IOS),
        SetActiveAudienceLimit(2),
    ):
        before = state.snapshot()
        with pytest.raises(errors.JourneyRuleError):
            command.do(state)
        assert state.snapshot() == before, command


def test_a_macro_is_all_or_nothing(state):
    before = state.snapshot()
    macro = Macro(
        "Several",
        [
            AddMilestone("j3", ms("y", "x", "Young")),
            RenameMilestone("j1", "b", "Renamed"),
            SetActiveAudienceLimit(20),
            AddOutput("j3", out("oy", "y")),
            AddMilestone("j1", ms("c", "q", "renamed")),  # the name B just took
            AddMilestone("j1", ms("d", "q")),
        ],
    )
    with pytest.raises(errors.DuplicateNameError, match="called “Renamed”"):
        macro.do(state)
    assert state.snapshot() == before
    assert not state.journey("j3").has_milestone("y")


def test_a_macro_stopped_by_the_limit_changes_nothing(state):
    state.set_limit(state.active_audience_count())
    before = state.snapshot()
    macro = Macro(
        "Reconnect",
        [
            SetOutputActive("j1", "oq", False),  # frees Q
            AddOutput("j3", out("ox", "x")),  # takes the freed place
            AddOutput("j1", out("ob", "b")),  # one too many
        ],
    )
    with pytest.raises(errors.ActiveAudienceLimitError, match="the audience “B”"):
        macro.do(state)
    assert state.snapshot() == before


def test_a_macro_whose_undo_is_refused_changes_nothing(state):
    """Undo can be refused when another undo stack used the budget meanwhile."""
    state.set_limit(4)
    macro = remove_milestone_with_outputs(state, "j1", "a")
    macro.do(state)
    done = state.snapshot()
    AddOutput("j3", out("ox", "x")).do(state)  # on another journey's stack: back at 4 of 4
    AddMilestone("j3", ms("y")).do(state)
    AddOutput("j3", out("oy", "y")).do(state)
    used = state.snapshot()
    assert done != used
    with pytest.raises(errors.ActiveAudienceLimitError, match="Signed up"):
        macro.undo(state)
    assert state.snapshot() == used
    RemoveOutput("j3", "oy").do(state)
    RemoveOutput("j3", "ox").do(state)
    macro.undo(state)
    assert [o.id for o in state.journey("j1").outputs_of("a")] == ["oa", "oa2"]


def test_remove_milestone_with_outputs_removes_outputs_first(state):
    graph = state.journey("j1")
    macro = remove_milestone_with_outputs(state, "j1", "a")
    assert [type(c) for c in macro.commands] == [RemoveOutput, RemoveOutput, RemoveMilestone]
    macro.do(state)
    assert not graph.has_milestone("a")
    assert not graph.has_output("oa")
    assert not graph.has_output("oa2")
    assert [m.id for m in graph.children("p")] == ["b", "r"]


def test_remove_milestone_with_outputs_is_refused_whole_when_it_has_children(state):
    graph = state.journey("j1")
    graph.add_milestone(ms("q1", "q", "Quick"))
    before = state.snapshot()
    macro = remove_milestone_with_outputs(state, "j1", "q")
    with pytest.raises(errors.MilestoneHasChildrenError, match="“Quick”"):
        macro.do(state)
    assert state.snapshot() == before
    assert graph.output("oq").active
