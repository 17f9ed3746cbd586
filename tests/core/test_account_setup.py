"""Setting up one's own account: workspaces, inputs, a journey's inputs and the limit.

Each command does, undoes and redoes exactly (the account snapshot and its
workspaces and inputs, in order); each rule refuses with a message for the
marketer, which its ``can_…`` twin predicts, and a refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.core import errors
from app.core.account import AccountState
from app.core.commands import (
    AddInput,
    AddWorkspace,
    Command,
    Macro,
    RemoveInput,
    RemoveWorkspace,
    RenameInput,
    RenameWorkspace,
    SetActiveAudienceLimit,
    SetJourneyExclusive,
    SetJourneyInputs,
)
from app.core.events import AccountChanged, DomainEvent, JourneyChanged
from app.core.models import (
    Account,
    Connection,
    Input,
    Journey,
    JourneyDocument,
    Milestone,
    Output,
    Workspace,
)

HOOK = "conn-hook"


def make_state() -> AccountState:
    """Workspaces “Streaming App” (iOS, Web) and “Marketing Site” (Web); “Empty” has none.
    Journey “Trial” reads Streaming App/iOS and has two active audiences; “Lapsed” reads
    both Webs."""
    state = AccountState(
        Account(id="acct", active_audience_limit=10),
        workspaces=[Workspace(id="ws-app", name="Streaming App"),
                    Workspace(id="ws-site", name="Marketing Site"),
                    Workspace(id="ws-empty", name="Empty")],
        inputs=[Input(id="in-ios", workspace_id="ws-app", name="iOS", platform="iOS"),
                Input(id="in-web", workspace_id="ws-app", name="Web", platform="Web"),
                Input(id="in-site", workspace_id="ws-site", name="Web", platform="Web")],
        connections=[Connection(id=HOOK, name="Webhook HQ")],
    )
    state.add_journey(JourneyDocument(
        journey=Journey(id="j1", name="Trial", input_ids=("in-ios",)),
        milestones=(Milestone(id="m1", name="Signed up"),
                    Milestone(id="m2", name="Paid", parent_id="m1")),
        outputs=(Output(id="o2", milestone_id="m2", connection_id=HOOK),),
    ))
    state.add_journey(JourneyDocument(
        journey=Journey(id="j2", name="Lapsed", input_ids=("in-web", "in-site"))))
    return state


@pytest.fixture
def state() -> AccountState:
    return make_state()


def everything(state: AccountState) -> tuple[Any, ...]:
    return state.snapshot(), state.setup()


class Events:
    def __init__(self, state: AccountState) -> None:
        self.seen: list[DomainEvent] = []
        state.subscribe(self.seen.append)
        for graph in state.journeys():
            graph.subscribe(self.seen.append)


# (command factory, its text after do, workspace_ids, input_ids, journey_ids)
CASES: dict[str, tuple[Callable[[], Command], str, tuple[str, ...], tuple[str, ...],
                       tuple[str, ...]]] = {
    "add workspace": (
        lambda: AddWorkspace(Workspace(id="ws-new", name="  Loyalty   App ")),
        "Add workspace “Loyalty App”", ("ws-new",), (), ()),
    "add workspace first": (
        lambda: AddWorkspace(Workspace(id="ws-new", name="Kiosk"), 0),
        "Add workspace “Kiosk”", ("ws-new",), (), ()),
    "rename workspace": (
        lambda: RenameWorkspace("ws-site", "Website"),
        "Rename workspace “Marketing Site” to “Website”", ("ws-site",), (), ()),
    "remove workspace": (
        lambda: RemoveWorkspace("ws-empty"),
        "Remove workspace “Empty”", ("ws-empty",), (), ()),
    "add input": (
        lambda: AddInput(Input(id="in-and", workspace_id="ws-app", name="Android",
                               platform="android")),
        "Add input “Streaming App/Android”", (), ("in-and",), ()),
    "add a partner feed first": (
        lambda: AddInput(Input(id="in-feed", workspace_id="ws-app", name="Braze feed",
                               kind="partner"), 0),
        "Add input “Streaming App/Braze feed”", (), ("in-feed",), ()),
    "rename input": (
        lambda: RenameInput("in-site", "Website"),
        "Rename input “Marketing Site/Web” to “Website”", (), ("in-site",), ()),
    "remove input": (
        lambda: (RemoveInput("in-x")),
        "Remove input “Kiosks/Kiosk”", (), ("in-x",), ()),
    "set journey inputs": (
        lambda: SetJourneyInputs("j1", ("in-web", "in-ios", "in-web")),
        "Change the inputs of “Trial”", (), (), ("j1",)),
    "users leave earlier milestones": (
        lambda: SetJourneyExclusive("j1", True),
        "Make users leave earlier milestones of “Trial”", (), (), ("j1",)),
    "macro": (
        lambda: Macro("Set up", [
            AddWorkspace(Workspace(id="ws-new", name="Kiosk")),
            AddInput(Input(id="in-k", workspace_id="ws-new", name="Tablet", platform="iPadOS")),
            SetJourneyInputs("j2", ("in-k",)),
        ]),
        "Set up", ("ws-new",), ("in-k",), ("j2",)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_command_does_undoes_and_redoes_exactly(state: AccountState, case: str) -> None:
    make, text, workspace_ids, input_ids, journey_ids = CASES[case]
    state.add_workspace(Workspace(id="ws-k", name="Kiosks"))
    state.add_input(Input(id="in-x", workspace_id="ws-k", name="Kiosk", platform="Web"))
    command = make()
    before = everything(state)
    command.do(state)
    after = everything(state)
    assert after != before
    assert command.text == text
    assert (command.workspace_ids, command.input_ids, command.journey_ids) == (
        workspace_ids, input_ids, journey_ids)
    assert command.changes_account is False
    command.undo(state)
    assert everything(state) == before
    command.redo(state)
    assert everything(state) == after
    command.undo(state)
    assert everything(state) == before


def test_what_the_commands_store_is_cleaned_and_in_place(state: AccountState) -> None:
    AddWorkspace(Workspace(id="ws-new", name="  Loyalty   App ")).do(state)
    assert state.workspace("ws-new").name == "Loyalty App"
    AddInput(Input(id="in-and", workspace_id="ws-app", name="Android ",
                   platform=" ANDROID")).do(state)
    # Grouped by workspace, in workspace order: the order the store reads them back in.
    assert [i.id for i in state.inputs.values()] == ["in-ios", "in-web", "in-and", "in-site"]
    assert state.input("in-and") == Input(id="in-and", workspace_id="ws-app", name="Android",
                                          platform="Android")
    assert state.input_label("in-and") == "Streaming App/Android"
    SetJourneyInputs("j2", ("in-and", "in-site", "in-and")).do(state)
    assert state.journey("j2").journey.input_ids == ("in-and", "in-site")


def test_workspace_names_are_unique_ignoring_case_and_spaces(state: AccountState) -> None:
    message = "There is already a workspace called “Marketing Site”."
    assert state.can_add_workspace("marketing   SITE") == message
    assert state.can_rename_workspace("ws-app", " Marketing site") == message
    assert state.can_rename_workspace("ws-site", "MARKETING SITE") is None  # its own name
    assert state.can_add_workspace("  ") == "The workspace needs a name."
    assert state.can_add_workspace("x" * 81) == (
        "The workspace name is 81 characters long; keep it to 80.")
    refused(state, lambda: AddWorkspace(Workspace(id="w9", name="marketing site")).do(state),
            errors.DuplicateNameError, message)
    refused(state, lambda: RenameWorkspace("ws-app", "MARKETING site").do(state),
            errors.DuplicateNameError, message)


def test_input_names_are_unique_within_their_workspace_only(state: AccountState) -> None:
    message = "“Streaming App” already has an input called “iOS”."
    assert state.can_add_input("ws-app", " IOS ", "iOS") == message
    assert state.can_rename_input("in-web", "ios") == message
    assert state.can_add_input("ws-site", "iOS", "iOS") is None  # another workspace
    assert state.can_add_input("ws-gone", "TV", "tvOS") == (
        "That workspace is no longer in this account.")
    refused(state, lambda: AddInput(Input(id="i9", workspace_id="ws-app", name="ios",
                                          platform="iOS")).do(state),
            errors.DuplicateNameError, message)
    refused(state, lambda: RenameInput("in-web", "IOS").do(state),
            errors.DuplicateNameError, message)


def test_an_input_names_its_platform_and_a_partner_feed_none(state: AccountState) -> None:
    assert state.can_add_input("ws-app", "TV", None) == (
        "Choose the platform the input's events come from (iOS, Android, Web, tvOS, Roku, "
        "Xbox, Alexa, SmartTV, or another).")
    assert state.can_add_input("ws-app", "TV", "p" * 33) == (
        "The platform name is 33 characters long; keep it to 32.")
    assert state.can_add_input("ws-app", "Feed", "Web", "partner") == (
        "A partner feed has no platform: its events say where they come from.")
    assert state.can_add_input("ws-app", "Feed", None, "partner") is None
    assert state.can_add_input("ws-app", "Fridge", "Smart fridge") is None


def test_a_workspace_with_inputs_is_not_removed_and_the_refusal_names_them(
    state: AccountState,
) -> None:
    message = ("The workspace “Streaming App” can't be removed: it still has 2 inputs "
               "(“iOS” and “Web”). Remove its inputs first.")
    assert state.can_remove_workspace("ws-app") == message
    refused(state, lambda: RemoveWorkspace("ws-app").do(state),
            errors.WorkspaceNotEmptyError, message)
    assert state.can_remove_workspace("ws-site") == (
        "The workspace “Marketing Site” can't be removed: it still has the input “Web”. "
        "Remove the input first.")
    assert state.can_remove_workspace("ws-empty") is None


def test_an_input_a_journey_reads_is_not_removed_and_the_refusal_names_the_journeys(
    state: AccountState,
) -> None:
    state.add_journey(JourneyDocument(
        journey=Journey(id="j3", name="Anyone on the site", input_ids=("in-site",))))
    message = ("The input “Marketing Site/Web” can't be removed: the journeys "
               "“Anyone on the site” and “Lapsed” read it. Take it out of those journeys' "
               "inputs first.")
    assert state.can_remove_input("in-site") == message
    refused(state, lambda: RemoveInput("in-site").do(state), errors.InputInUseError, message)
    assert state.can_remove_input("in-ios") == (
        "The input “Streaming App/iOS” can't be removed: the journey “Trial” reads it. "
        "Take it out of that journey's inputs first.")


def test_an_input_events_came_through_is_not_removed_and_the_refusal_counts_them(
    state: AccountState,
) -> None:
    state.add_input(Input(id="in-tv", workspace_id="ws-app", name="TV", platform="tvOS"))
    assert state.can_remove_input("in-tv") is None
    state.set_event_counts({"in-tv": 1204, "in-ios": 1, "in-web": 0})
    message = ("The input “Streaming App/TV” can't be removed: 1,204 events have arrived "
               "through it. Stored events are kept, so an input that has received events "
               "stays; rename it if it is no longer used.")
    assert state.can_remove_input("in-tv") == message
    refused(state, lambda: RemoveInput("in-tv").do(state), errors.InputInUseError, message)
    assert state.can_remove_input("in-ios") == (
        "The input “Streaming App/iOS” can't be removed: 1 event has arrived through it and "
        "the journey “Trial” reads it. Stored events are kept, so an input that has "
        "received events stays; rename it if it is no longer used.")


def test_a_journey_reads_at_least_one_input_of_the_account(state: AccountState) -> None:
    assert state.can_set_journey_inputs("j1", ()) == (
        "Pick at least one input: a journey's population is everyone with an event through "
        "its inputs.")
    refused(state, lambda: SetJourneyInputs("j1", ()).do(state), errors.NoInputsError,
            "Pick at least one input")
    refused(state, lambda: SetJourneyInputs("j1", ("in-ios", "in-gone")).do(state),
            errors.UnknownReferenceError, "not in this account")
    refused(state, lambda: SetJourneyInputs("j-gone", ("in-ios",)).do(state),
            errors.NotFoundError, "That journey is no longer in this account.")


def test_changing_a_journeys_inputs_tells_its_listeners(state: AccountState) -> None:
    """Windows evaluate a journey again when it says its record changed (JourneyChanged)."""
    events = Events(state)
    command = SetJourneyInputs("j1", ("in-web",))
    command.do(state)
    assert events.seen == [JourneyChanged("j1")]
    command.undo(state)
    assert events.seen == [JourneyChanged("j1")] * 2
    assert state.journey("j1").journey.input_ids == ("in-ios",)


def test_workspace_and_input_edits_tell_the_account_listeners(state: AccountState) -> None:
    events = Events(state)
    for command in (AddWorkspace(Workspace(id="w", name="W")),
                    AddInput(Input(id="i", workspace_id="w", name="I", platform="Web")),
                    RenameInput("i", "J"), RenameWorkspace("w", "V"), RemoveInput("i"),
                    RemoveWorkspace("w")):
        command.do(state)
    assert events.seen == [AccountChanged("")] * 6


def test_the_limit_is_not_set_below_the_active_audiences_which_are_named(
    state: AccountState,
) -> None:
    message = ("2 audiences are active now, so the limit can't go below 2: “Signed up” and "
               "“Paid” in Trial. Deactivate outputs first.")
    assert state.can_set_limit(1) == message
    error = refused(state, lambda: SetActiveAudienceLimit(1).do(state),
                    errors.LimitBelowActiveError, message)
    assert isinstance(error, errors.LimitBelowActiveError)
    assert error.active == (("Signed up", "Trial"), ("Paid", "Trial"))
    assert state.can_set_limit(2) is None
    state.journey("j1").set_output_active("o2", False)
    assert state.can_set_limit(0) is None


def test_many_active_audiences_are_named_up_to_eight() -> None:
    state = AccountState(Account(id="a"), connections=[Connection(id=HOOK, name="Hook")])
    for number in range(1, 4):
        milestones = tuple(Milestone(id=f"m{number}-{k}", name=f"Step {k}",
                                     parent_id=f"m{number}-{k - 1}" if k else None)
                           for k in range(4))
        state.add_journey(JourneyDocument(
            journey=Journey(id=f"j{number}", name=f"Journey {number}"), milestones=milestones,
            outputs=(Output(id=f"o{number}", milestone_id=f"m{number}-3",
                            connection_id=HOOK),)))
    assert state.can_set_limit(3) == (
        "12 audiences are active now, so the limit can't go below 12: “Step 0”, “Step 1”, "
        "“Step 2” and “Step 3” in Journey 1; “Step 0”, “Step 1”, “Step 2” and “Step 3” in "
        "Journey 2; and 4 more. Deactivate outputs first.")


def refused(state: AccountState, edit: Callable[[], object],
            error_class: type[errors.JourneyRuleError], fragment: str) -> Exception:
    """The edit raises exactly ``error_class`` with ``fragment``; nothing changed, nothing
    was told."""
    before = everything(state)
    events = Events(state)
    with pytest.raises(error_class) as caught:
        edit()
    assert type(caught.value) is error_class
    assert fragment in str(caught.value)
    assert everything(state) == before
    assert events.seen == []
    return caught.value


def test_undo_gives_a_journey_that_read_no_input_back_its_empty_selection(
    state: AccountState,
) -> None:
    """A journey created before there were inputs reads none; setting some is undoable."""
    state.add_journey(JourneyDocument(journey=Journey(id="j3", name="Drafted early")))
    command = SetJourneyInputs("j3", ("in-ios",))
    command.do(state)
    command.undo(state)
    assert state.journey("j3").journey.input_ids == ()
    command.redo(state)
    assert state.journey("j3").journey.input_ids == ("in-ios",)


def test_the_exclusive_option_is_one_undoable_journey_edit(state: AccountState) -> None:
    """Switching "users leave earlier milestones" changes only that field of the journey,
    tells the journey's listeners (windows evaluate it again), and undo switches it back."""
    events = Events(state)
    before = everything(state)
    command = SetJourneyExclusive("j1", True)
    command.do(state)
    assert state.journey("j1").journey.exclusive
    assert state.journey("j1").journey.model_copy(update={"exclusive": False}) == (
        before[0][1][0].journey)
    assert JourneyChanged("j1") in events.seen
    command.undo(state)
    assert everything(state) == before
    off = SetJourneyExclusive("j1", False)
    command.redo(state)
    off.do(state)
    assert off.text == "Keep users in earlier milestones of “Trial”"
    off.undo(state)
    assert state.journey("j1").journey.exclusive
