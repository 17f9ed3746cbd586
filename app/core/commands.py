"""Undoable edit commands: every user edit is one of these (or a macro of them).

A command applies itself to an :class:`AccountState` with ``do`` and reverts
with ``undo``, leaving the state exactly as before (records are frozen, and
removals remember their index). A refused ``do`` raises a
:class:`~app.core.errors.JourneyRuleError` and changes nothing, including in a
macro, which reverts the steps it had already done. The same holds for a macro's
``undo``, which can be refused when another undo stack (another journey) has
since used the active-audience budget that the undo would take back.

``journey_ids``, ``connection_ids``, ``workspace_ids``, ``input_ids`` and
``changes_account`` tell the application service what to persist after ``do`` or
``undo``; the Qt layer wraps each command in a
``QUndoCommand``. ``text`` is what the History shows: this module is its one
home. A command that needs the account to name what it changes (an old name, an
output's partner and milestone) says so once ``do`` has run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.core.ab_tests import ABTestError, arm_milestones, arms_of, check_split, check_testable
from app.core.account import AccountState
from app.core.criteria import AudienceDefinition
from app.core.events import NodeKind
from app.core.models import Connection, Input, JourneyDocument, Milestone, Output, Workspace


class Command(ABC):
    """One undoable edit."""

    text: str = "Edit"
    changes_account: bool = False

    @property
    @abstractmethod
    def journey_ids(self) -> tuple[str, ...]:
        """The journeys whose stored rows this command changes."""

    @property
    def connection_ids(self) -> tuple[str, ...]:
        """The connections this command adds, edits or removes (stored as they end up)."""
        return ()

    @property
    def workspace_ids(self) -> tuple[str, ...]:
        """The workspaces this command adds, renames or removes (stored as they end up)."""
        return ()

    @property
    def input_ids(self) -> tuple[str, ...]:
        """The inputs this command adds, renames or removes (stored as they end up)."""
        return ()

    @abstractmethod
    def do(self, state: AccountState) -> None: ...

    @abstractmethod
    def undo(self, state: AccountState) -> None: ...

    def redo(self, state: AccountState) -> None:
        self.do(state)


def output_label(state: AccountState, journey_id: str, output: Output, link: str = "of") -> str:
    """``output “Braze” of “Signed up”``: an output by its partner and its audience."""
    milestone = state.journey(journey_id).milestone(output.milestone_id).name
    return f"output “{state.connection_name(output.connection_id)}” {link} “{milestone}”"


class JourneyCommand(Command, ABC):
    """A command inside one journey."""

    journey_id: str

    @property
    def journey_ids(self) -> tuple[str, ...]:
        return (self.journey_id,)


@dataclass
class AddMilestone(JourneyCommand):
    journey_id: str
    milestone: Milestone
    index: int | None = None

    def __post_init__(self) -> None:
        self.text = f"Add milestone “{self.milestone.name}”"

    def do(self, state: AccountState) -> None:
        state.journey(self.journey_id).add_milestone(self.milestone, self.index)

    def undo(self, state: AccountState) -> None:
        state.journey(self.journey_id).remove_milestone(self.milestone.id)


@dataclass
class RemoveMilestone(JourneyCommand):
    journey_id: str
    milestone_id: str
    _removed: tuple[Milestone, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = "Remove milestone"

    def do(self, state: AccountState) -> None:
        graph = state.journey(self.journey_id)
        self._removed = graph.remove_milestone(self.milestone_id)
        self.text = f"Remove milestone “{self._removed[0].name}”"

    def undo(self, state: AccountState) -> None:
        assert self._removed is not None, "undo before do"
        milestone, index = self._removed
        state.journey(self.journey_id).add_milestone(milestone, index)


@dataclass
class RenameMilestone(JourneyCommand):
    journey_id: str
    milestone_id: str
    name: str
    _old: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = f"Rename milestone to “{self.name}”"

    def do(self, state: AccountState) -> None:
        graph = state.journey(self.journey_id)
        old = graph.milestone(self.milestone_id).name
        graph.rename_milestone(self.milestone_id, self.name)
        self._old = old
        self.text = f"Rename milestone “{old}” to “{graph.milestone(self.milestone_id).name}”"

    def undo(self, state: AccountState) -> None:
        assert self._old is not None, "undo before do"
        state.journey(self.journey_id).rename_milestone(self.milestone_id, self._old)


@dataclass
class SetCriteria(JourneyCommand):
    journey_id: str
    milestone_id: str
    definition: AudienceDefinition
    _old: AudienceDefinition | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = "Edit audience criteria"

    def do(self, state: AccountState) -> None:
        graph = state.journey(self.journey_id)
        milestone = graph.milestone(self.milestone_id)
        old = milestone.definition
        graph.set_definition(self.milestone_id, self.definition)
        self._old = old
        self.text = f"Edit the criteria of “{milestone.name}”"

    def undo(self, state: AccountState) -> None:
        assert self._old is not None, "undo before do"
        state.journey(self.journey_id).set_definition(self.milestone_id, self._old)


@dataclass
class MoveMilestone(JourneyCommand):
    """Put a milestone under another parent, or at another place in its split."""

    journey_id: str
    milestone_id: str
    parent_id: str | None
    index: int | None = None
    reorder: bool = False
    """Only its place among its siblings changes (see :func:`reorder_milestone`)."""
    _old: tuple[str | None, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = "Reorder split" if self.reorder else "Move milestone"

    def do(self, state: AccountState) -> None:
        graph = state.journey(self.journey_id)
        milestone = graph.milestone(self.milestone_id)
        old = (milestone.parent_id, graph.child_index(self.milestone_id))
        graph.move_milestone(self.milestone_id, self.parent_id, self.index)
        self._old = old
        self.text = (f"Reorder “{milestone.name}” in its split" if self.reorder
                     else f"Move milestone “{milestone.name}”")

    def undo(self, state: AccountState) -> None:
        assert self._old is not None, "undo before do"
        parent_id, index = self._old
        state.journey(self.journey_id).move_milestone(self.milestone_id, parent_id, index)


def reorder_milestone(
    journey_id: str, milestone_id: str, index: int, parent_id: str | None
) -> MoveMilestone:
    """Reorder within a split: a move under the same parent."""
    return MoveMilestone(journey_id, milestone_id, parent_id, index, reorder=True)


@dataclass
class MoveNodes(JourneyCommand):
    """Canvas positions of several nodes: one drag, one undo step."""

    journey_id: str
    positions: Mapping[tuple[NodeKind, str], tuple[float, float]]
    _old: dict[tuple[NodeKind, str], tuple[float, float]] = field(
        default_factory=dict, repr=False
    )

    def __post_init__(self) -> None:
        count = len(self.positions)
        self.text = "Move node" if count == 1 else f"Move {count} nodes"

    def do(self, state: AccountState) -> None:
        graph = state.journey(self.journey_id)
        self._old = {key: graph.position(*key) for key in self.positions}
        self._apply(state, self.positions)
        self.text = self._describe(state)

    def _describe(self, state: AccountState) -> str:
        """One milestone (with none, some or all of its outputs, which travel with it) or
        one output by name; several nodes by count."""
        graph = state.journey(self.journey_id)
        milestones = [node_id for kind, node_id in self.positions if kind == "milestone"]
        outputs = [graph.output(node_id) for kind, node_id in self.positions
                   if kind == "output"]
        if len(milestones) == 1 and all(o.milestone_id == milestones[0] for o in outputs):
            return f"Move milestone “{graph.milestone(milestones[0]).name}”"
        if not milestones and len(outputs) == 1:
            return f"Move {output_label(state, self.journey_id, outputs[0])}"
        return f"Move {len(self.positions)} nodes"

    def undo(self, state: AccountState) -> None:
        self._apply(state, self._old)

    def _apply(
        self, state: AccountState, positions: Mapping[tuple[NodeKind, str], tuple[float, float]]
    ) -> None:
        graph = state.journey(self.journey_id)
        for (kind, node_id), (x, y) in positions.items():
            graph.set_position(kind, node_id, x, y)


@dataclass
class AddOutput(JourneyCommand):
    journey_id: str
    output: Output

    def __post_init__(self) -> None:
        self.text = "Add output"

    def do(self, state: AccountState) -> None:
        state.journey(self.journey_id).add_output(self.output)
        self.text = f"Add {output_label(state, self.journey_id, self.output, 'to')}"

    def undo(self, state: AccountState) -> None:
        state.journey(self.journey_id).remove_output(self.output.id)


@dataclass
class RemoveOutput(JourneyCommand):
    journey_id: str
    output_id: str
    _removed: tuple[Output, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = "Remove output"

    def do(self, state: AccountState) -> None:
        output = state.journey(self.journey_id).output(self.output_id)
        label = output_label(state, self.journey_id, output)
        self._removed = state.journey(self.journey_id).remove_output(self.output_id)
        self.text = f"Remove {label}"

    def undo(self, state: AccountState) -> None:
        assert self._removed is not None, "undo before do"
        output, index = self._removed
        state.journey(self.journey_id).add_output(output, index)


@dataclass
class SetOutputActive(JourneyCommand):
    journey_id: str
    output_id: str
    active: bool
    _old: bool | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = "Activate output" if self.active else "Deactivate output"

    def do(self, state: AccountState) -> None:
        graph = state.journey(self.journey_id)
        output = graph.output(self.output_id)
        old = output.active
        graph.set_output_active(self.output_id, self.active)
        self._old = old
        verb = "Activate" if self.active else "Deactivate"
        self.text = f"{verb} {output_label(state, self.journey_id, output)}"

    def undo(self, state: AccountState) -> None:
        assert self._old is not None, "undo before do"
        state.journey(self.journey_id).set_output_active(self.output_id, self._old)


@dataclass
class RenameJourney(JourneyCommand):
    journey_id: str
    name: str
    _old: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = f"Rename journey to “{self.name}”"

    def do(self, state: AccountState) -> None:
        old = state.journey(self.journey_id).name
        state.rename_journey(self.journey_id, self.name)
        self._old = old
        self.text = f"Rename journey “{old}” to “{state.journey(self.journey_id).name}”"

    def undo(self, state: AccountState) -> None:
        assert self._old is not None, "undo before do"
        state.rename_journey(self.journey_id, self._old)


@dataclass
class CreateJourney(JourneyCommand):
    """A new journey; its document may already hold milestones (duplicate, import)."""

    document: JourneyDocument
    index: int | None = None

    def __post_init__(self) -> None:
        self.text = f"New journey “{self.document.journey.name}”"

    @property
    def journey_id(self) -> str:  # type: ignore[override]
        return self.document.journey.id

    def do(self, state: AccountState) -> None:
        state.add_journey(self.document, self.index)

    def undo(self, state: AccountState) -> None:
        graph = state.journey(self.journey_id)
        for milestone in reversed(list(graph.milestones_in_order())):
            for output in graph.outputs_of(milestone.id):
                graph.remove_output(output.id)
            graph.remove_milestone(milestone.id)
        state.remove_journey(self.journey_id)


@dataclass
class DeleteJourney(JourneyCommand):
    journey_id: str
    _removed: tuple[JourneyDocument, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = "Delete journey"

    def do(self, state: AccountState) -> None:
        self._removed = state.remove_journey(self.journey_id)
        self.text = f"Delete journey “{self._removed[0].journey.name}”"

    def undo(self, state: AccountState) -> None:
        assert self._removed is not None, "undo before do"
        document, index = self._removed
        state.add_journey(document, index)


@dataclass
class SetActiveAudienceLimit(Command):
    limit: int
    _old: int | None = field(default=None, repr=False)
    changes_account = True

    def __post_init__(self) -> None:
        self.text = f"Set the active-audience limit to {self.limit}"

    @property
    def journey_ids(self) -> tuple[str, ...]:
        return ()

    def do(self, state: AccountState) -> None:
        old = state.limit
        state.set_limit(self.limit)
        self._old = old

    def undo(self, state: AccountState) -> None:
        assert self._old is not None, "undo before do"
        state.set_limit(self._old)


@dataclass
class SetJourneyInputs(JourneyCommand):
    """Change which inputs a journey reads; its audiences are then evaluated again."""

    journey_id: str
    inputs: tuple[str, ...]
    """The ids of the inputs it is to read, in the order shown."""
    _old: tuple[str, ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.inputs = tuple(dict.fromkeys(self.inputs))
        self.text = "Change the journey's inputs"

    def do(self, state: AccountState) -> None:
        self._old = state.set_journey_inputs(self.journey_id, self.inputs)
        self.text = f"Change the inputs of “{state.journey(self.journey_id).name}”"

    def undo(self, state: AccountState) -> None:
        assert self._old is not None, "undo before do"
        state.set_journey_inputs(self.journey_id, self._old, restore=True)


@dataclass
class SetJourneyExclusive(JourneyCommand):
    """Switch the journey option "users leave earlier milestones when they reach a later
    one" (see :class:`app.core.models.Journey`); its audiences are then evaluated again."""

    journey_id: str
    exclusive: bool
    _old: bool | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = self._describe("the journey")

    def _describe(self, journey: str) -> str:
        if self.exclusive:
            return f"Make users leave earlier milestones of {journey}"
        return f"Keep users in earlier milestones of {journey}"

    def do(self, state: AccountState) -> None:
        self._old = state.set_journey_exclusive(self.journey_id, self.exclusive)
        self.text = self._describe(f"“{state.journey(self.journey_id).name}”")

    def undo(self, state: AccountState) -> None:
        assert self._old is not None, "undo before do"
        state.set_journey_exclusive(self.journey_id, self._old)


class WorkspaceCommand(Command, ABC):
    """A command on one of the account's workspaces (no journey row changes)."""

    workspace_id: str

    @property
    def journey_ids(self) -> tuple[str, ...]:
        return ()

    @property
    def workspace_ids(self) -> tuple[str, ...]:
        return (self.workspace_id,)


@dataclass
class AddWorkspace(WorkspaceCommand):
    workspace: Workspace
    index: int | None = None

    def __post_init__(self) -> None:
        self.text = f"Add workspace “{self.workspace.name}”"

    @property
    def workspace_id(self) -> str:  # type: ignore[override]
        return self.workspace.id

    def do(self, state: AccountState) -> None:
        added = state.add_workspace(self.workspace, self.index)
        self.text = f"Add workspace “{added.name}”"

    def undo(self, state: AccountState) -> None:
        state.remove_workspace(self.workspace_id)


@dataclass
class RenameWorkspace(WorkspaceCommand):
    workspace_id: str
    name: str
    _old: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = f"Rename workspace to “{self.name}”"

    def do(self, state: AccountState) -> None:
        old = state.rename_workspace(self.workspace_id, self.name).name
        self._old = old
        self.text = f"Rename workspace “{old}” to “{state.workspace(self.workspace_id).name}”"

    def undo(self, state: AccountState) -> None:
        assert self._old is not None, "undo before do"
        state.rename_workspace(self.workspace_id, self._old)


@dataclass
class RemoveWorkspace(WorkspaceCommand):
    workspace_id: str
    _removed: tuple[Workspace, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = "Remove workspace"

    def do(self, state: AccountState) -> None:
        self._removed = state.remove_workspace(self.workspace_id)
        self.text = f"Remove workspace “{self._removed[0].name}”"

    def undo(self, state: AccountState) -> None:
        assert self._removed is not None, "undo before do"
        workspace, index = self._removed
        state.add_workspace(workspace, index)


class InputCommand(Command, ABC):
    """A command on one input of a workspace (no journey row changes)."""

    input_id: str

    @property
    def journey_ids(self) -> tuple[str, ...]:
        return ()

    @property
    def input_ids(self) -> tuple[str, ...]:
        return (self.input_id,)


@dataclass
class AddInput(InputCommand):
    """A new input of a workspace: a platform feed (iOS, Web, …) or a partner feed."""

    input: Input
    index: int | None = None

    def __post_init__(self) -> None:
        self.text = f"Add input “{self.input.name}”"

    @property
    def input_id(self) -> str:  # type: ignore[override]
        return self.input.id

    def do(self, state: AccountState) -> None:
        added = state.add_input(self.input, self.index)
        self.text = f"Add input “{state.input_label(added.id)}”"

    def undo(self, state: AccountState) -> None:
        state.remove_input(self.input_id)


@dataclass
class RenameInput(InputCommand):
    input_id: str
    name: str
    _old: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = f"Rename input to “{self.name}”"

    def do(self, state: AccountState) -> None:
        old = state.input_label(self.input_id)
        self._old = state.rename_input(self.input_id, self.name).name
        self.text = f"Rename input “{old}” to “{state.input(self.input_id).name}”"

    def undo(self, state: AccountState) -> None:
        assert self._old is not None, "undo before do"
        state.rename_input(self.input_id, self._old)


@dataclass
class RemoveInput(InputCommand):
    """Remove an input no journey reads and no event came through (see
    :meth:`AccountState.check_remove_input`: the store tells how many events there are)."""

    input_id: str
    _removed: tuple[Input, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = "Remove input"

    def do(self, state: AccountState) -> None:
        label = state.input_label(self.input_id) if self.input_id in state.inputs else ""
        self._removed = state.remove_input(self.input_id)
        self.text = f"Remove input “{label}”"

    def undo(self, state: AccountState) -> None:
        assert self._removed is not None, "undo before do"
        input_, index = self._removed
        state.add_input(input_, index)


class ConnectionCommand(Command, ABC):
    """A command on one of the account's connections (no journey row changes)."""

    connection_id: str

    @property
    def journey_ids(self) -> tuple[str, ...]:
        return ()

    @property
    def connection_ids(self) -> tuple[str, ...]:
        return (self.connection_id,)


@dataclass
class AddConnection(ConnectionCommand):
    """A new connection; its secret is already stored where ``secret_ref`` points."""

    connection: Connection

    def __post_init__(self) -> None:
        self.text = f"Add connection “{self.connection.name}”"

    @property
    def connection_id(self) -> str:  # type: ignore[override]
        return self.connection.id

    def do(self, state: AccountState) -> None:
        added = state.add_connection(self.connection)
        self.text = f"Add connection “{added.name}”"

    def undo(self, state: AccountState) -> None:
        state.remove_connection(self.connection_id)


@dataclass
class EditConnection(ConnectionCommand):
    """New name, settings or secret reference of a connection (None: unchanged)."""

    connection_id: str
    name: str | None = None
    settings: Mapping[str, object] | None = None
    secret_ref: str | None = None
    _old: Connection | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = "Edit connection"

    def edited(self, state: AccountState) -> Connection:
        """The connection as this edit makes it (unchecked: ``do`` checks)."""
        current = state.connection(self.connection_id)
        return current.model_copy(update={
            "name": current.name if self.name is None else self.name,
            "settings": dict(current.settings if self.settings is None else self.settings),
            "secret_ref": current.secret_ref if self.secret_ref is None else self.secret_ref,
        })

    def do(self, state: AccountState) -> None:
        old = state.connection(self.connection_id)
        new = state.replace_connection(self.edited(state))
        self._old = old
        if new.name != old.name:
            self.text = f"Rename connection “{old.name}” to “{new.name}”"
        elif new.secret_ref != old.secret_ref and new.settings == old.settings:
            self.text = f"Change the secret of connection “{new.name}”"
        else:
            self.text = f"Edit connection “{new.name}”"

    def undo(self, state: AccountState) -> None:
        assert self._old is not None, "undo before do"
        state.replace_connection(self._old, restore=True)


@dataclass
class RemoveConnection(ConnectionCommand):
    """Remove an unused connection. Its keyring entry stays: undo brings the secret back."""

    connection_id: str
    _removed: tuple[Connection, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = "Remove connection"

    def do(self, state: AccountState) -> None:
        self._removed = state.remove_connection(self.connection_id)
        self.text = f"Remove connection “{self._removed[0].name}”"

    def undo(self, state: AccountState) -> None:
        assert self._removed is not None, "undo before do"
        connection, index = self._removed
        state.add_connection(connection, index, restore=True)


class Macro(Command):
    """Several commands as one undo step; all or nothing.

    ``named_by``, one of ``commands``, gives the step its name once done (the name the
    command itself would have in the History), so the wording is not repeated here.
    """

    def __init__(self, text: str, commands: Sequence[Command], *,
                 named_by: Command | None = None) -> None:
        self.text = text
        self.commands = list(commands)
        self.named_by = named_by
        self.changes_account = any(c.changes_account for c in self.commands)

    @property
    def journey_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(j for c in self.commands for j in c.journey_ids))

    @property
    def connection_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for command in self.commands
                                   for c in command.connection_ids))

    @property
    def workspace_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w for command in self.commands
                                   for w in command.workspace_ids))

    @property
    def input_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i for command in self.commands for i in command.input_ids))

    def do(self, state: AccountState) -> None:
        done: list[Command] = []
        try:
            for command in self.commands:
                command.do(state)
                done.append(command)
        except Exception:
            for command in reversed(done):
                command.undo(state)
            raise
        if self.named_by is not None:
            self.text = self.named_by.text

    def undo(self, state: AccountState) -> None:
        undone: list[Command] = []
        try:
            for command in reversed(self.commands):
                command.undo(state)
                undone.append(command)
        except Exception:
            for command in reversed(undone):
                command.redo(state)
            raise


def remove_milestone_with_outputs(
    state: AccountState, journey_id: str, milestone_id: str
) -> Macro:
    """Remove a leaf milestone and its outputs in one step (outputs first, as the rule says)."""
    graph = state.journey(journey_id)
    steps: list[Command] = [RemoveOutput(journey_id, o.id) for o in graph.outputs_of(milestone_id)]
    removal = RemoveMilestone(journey_id, milestone_id)
    return Macro(removal.text, [*steps, removal], named_by=removal)


def check_add_ab_test(
    state: AccountState, journey_id: str, milestone_id: str,
    variants: Sequence[tuple[str, float]],
) -> None:
    """Refuse a test the rules forbid: see :func:`app.core.ab_tests.check_split`, and one
    test per milestone, none on an arm or a Remaining-users milestone."""
    check_testable(state.journey(journey_id), milestone_id)
    check_split(variants)


def add_ab_test(
    state: AccountState, journey_id: str, milestone_id: str,
    variants: Sequence[tuple[str, float]], *, test_id: str | None = None,
    positions: Sequence[tuple[float, float]] | None = None,
) -> Macro:
    """Add an A/B test on a milestone: one arm milestone per variant, then the Control.

    ``positions`` are the arms' top-left corners in that order: the canvas places them
    under the tested card, clear of the others (``app.ui.canvas.edits.arm_spots``);
    without them the arms go in a plain row under the tested milestone.
    One undo step; refused as a whole (nothing added) when a rule says no.
    """
    check_add_ab_test(state, journey_id, milestone_id, variants)
    graph = state.journey(journey_id)
    tested = graph.milestone(milestone_id)
    arms = arm_milestones(tested, variants, test_id=test_id, positions=positions)
    *variants_, control = arms
    # The Control first, then each variant before it: undone in reverse, the Control is
    # removed last, as the rule that keeps it while its variants remain asks.
    base = len(graph.children(milestone_id))
    return Macro(
        f"Add an A/B test on “{tested.name}”",
        [AddMilestone(journey_id, control),
         *(AddMilestone(journey_id, arm, base + i) for i, arm in enumerate(variants_))],
    )


def remove_ab_test(state: AccountState, journey_id: str, milestone_id: str) -> Macro:
    """Remove the A/B test on a milestone: its arms, which must have no outputs or children."""
    graph = state.journey(journey_id)
    tested = graph.milestone(milestone_id)
    arms = arms_of(graph.children(milestone_id))
    if not arms:
        raise ABTestError(f"“{tested.name}” has no A/B test to remove.")
    return Macro(
        f"Remove the A/B test on “{tested.name}”",
        # Variants first: the Control goes last (a rule keeps it while variants remain).
        [RemoveMilestone(journey_id, arm.id) for arm in arms],
    )
