"""Random edit sequences over a small account: every rule holds after every step.

A hypothesis state machine drives an AccountState (limit 5, two journeys at first,
two connections, two workspaces with inputs, one of which has events) with random
core commands, including refused ones, plus undo and redo from its own stacks.
After every step it checks the invariants of DESIGN.md section 1 against
recounts written here independently of the graph,
and that a mirror kept only from change events (what the Qt scene does) matches
the graph. At the end everything is undone and the account must be exactly as
it started.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from app.core.account import AccountState, journey_name_key
from app.core.commands import (
    AddInput,
    AddMilestone,
    AddOutput,
    AddWorkspace,
    Command,
    CreateJourney,
    DeleteJourney,
    Macro,
    MoveMilestone,
    MoveNodes,
    RemoveInput,
    RemoveMilestone,
    RemoveOutput,
    RemoveWorkspace,
    RenameInput,
    RenameJourney,
    RenameMilestone,
    RenameWorkspace,
    SetActiveAudienceLimit,
    SetCriteria,
    SetJourneyInputs,
    SetOutputActive,
    remove_milestone_with_outputs,
)
from app.core.criteria import AudienceDefinition, Clause, DeviceCriterion, IdentityCriterion
from app.core.errors import JourneyRuleError
from app.core.events import (
    DomainEvent,
    JourneyAdded,
    JourneyRemoved,
    NodeAdded,
    NodeChanged,
    NodeRemoved,
    OutputToggled,
    StatusChanged,
)
from app.core.graph import JourneyGraph, reason
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

LIMIT = 5
CONNECTIONS = ("conn-a", "conn-b")
DEFINITIONS = (
    AudienceDefinition(),
    AudienceDefinition(clauses=(Clause(item=IdentityCriterion(identity_type="email")),)),
    AudienceDefinition(clauses=(Clause(item=DeviceCriterion(platforms=("iOS",))),)),
)
NAME_KINDS = ("fresh",) * 4 + ("spaced", "duplicate", "duplicate", "blank")

Snapshot = tuple[tuple[Account, tuple[JourneyDocument, ...]],
                 tuple[tuple[Workspace, ...], tuple[Input, ...]]]
WITH_EVENTS = "in-app-ios"
"""The input the store says has events (it can never be removed)."""
Node = tuple[str, str]  # (kind, id)


def recount_active(document: JourneyDocument) -> set[str]:
    """Active audiences, from scratch: every milestone on the way up from an active output."""
    parent_of = {m.id: m.parent_id for m in document.milestones}
    active: set[str] = set()
    for output in document.outputs:
        if output.active:
            current: str | None = output.milestone_id
            while current is not None:
                active.add(current)
                current = parent_of[current]
    return active


def nodes_of(graph: JourneyGraph) -> set[Node]:
    return {("milestone", m.id) for m in graph.milestones_in_order()} | {
        ("output", o.id) for o in graph.outputs()
    }


class JourneyEditing(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = AccountState(
            Account(id="acct", active_audience_limit=LIMIT),
            connections=[Connection(id=c, name=f"Partner {c[-1].upper()}") for c in CONNECTIONS],
            workspaces=[Workspace(id="ws-app", name="App"), Workspace(id="ws-site", name="Site")],
            inputs=[Input(id=WITH_EVENTS, workspace_id="ws-app", name="iOS", platform="iOS"),
                    Input(id="in-app-web", workspace_id="ws-app", name="Web", platform="Web"),
                    Input(id="in-site-web", workspace_id="ws-site", name="Web", platform="Web")],
        )
        self.state.set_event_counts({WITH_EVENTS: 12})
        self.mirror: dict[str, set[Node]] = {}
        self.mirror_active: dict[str, frozenset[str]] = {}
        self.event_count = 0
        self.state.subscribe(self._on_account_event)
        for journey_id, name in (("j1", "Onboarding"), ("j2", "Win-back")):
            self.state.add_journey(JourneyDocument(journey=Journey(id=journey_id, name=name)))
        self.initial = self._snap()
        self.done: list[tuple[Command, Snapshot, Snapshot]] = []
        self.undone: list[tuple[Command, Snapshot, Snapshot]] = []
        self.serial = 0

    # ------------------------------------------------------------------ the event mirror

    def _follow(self, graph: JourneyGraph) -> None:
        """Start mirroring a journey as the scene does when it opens one."""
        self.mirror[graph.id] = nodes_of(graph)
        self.mirror_active[graph.id] = graph.active_milestone_ids()
        graph.subscribe(self._on_graph_event)

    def _on_account_event(self, event: DomainEvent) -> None:
        self.event_count += 1
        if isinstance(event, JourneyAdded):
            assert event.journey_id not in self.mirror
            self._follow(self.state.journey(event.journey_id))
        elif isinstance(event, JourneyRemoved):
            assert self.mirror.pop(event.journey_id) == set(), "removed with nodes left"
            del self.mirror_active[event.journey_id]

    def _on_graph_event(self, event: DomainEvent) -> None:
        self.event_count += 1
        nodes = self.mirror[event.journey_id]
        if isinstance(event, NodeAdded):
            assert (event.kind, event.node_id) not in nodes
            nodes.add((event.kind, event.node_id))
        elif isinstance(event, NodeRemoved):
            nodes.remove((event.kind, event.node_id))
        elif isinstance(event, NodeChanged):
            assert (event.kind, event.node_id) in nodes
        elif isinstance(event, OutputToggled):
            assert ("output", event.output_id) in nodes
        elif isinstance(event, StatusChanged):
            self.mirror_active[event.journey_id] = event.active_milestone_ids

    # ------------------------------------------------------------------ helpers

    def _snap(self) -> Snapshot:
        return self.state.snapshot(), self.state.setup()

    def _new_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def _graphs(self) -> list[JourneyGraph]:
        return list(self.state.journeys())

    def _milestones(self) -> list[tuple[str, str]]:
        return [(g.id, m.id) for g in self._graphs() for m in g.milestones_in_order()]

    def _outputs(self) -> list[tuple[str, str]]:
        return [(g.id, o.id) for g in self._graphs() for o in g.outputs()]

    def _name(self, data: st.DataObject, taken: list[str]) -> str:
        kind = data.draw(st.sampled_from(NAME_KINDS), label="name kind")
        if kind == "duplicate" and taken:
            name = data.draw(st.sampled_from(taken), label="duplicate of")
            return data.draw(st.sampled_from([name, name.upper(), f"  {name.lower()} "]))
        if kind == "blank":
            return "   "
        if kind == "spaced":
            return f"  Audience   {self._new_id('n')} "
        return f"Audience {self._new_id('n')}"

    def _attempt(self, command: Command, can: Callable[[], str | None] | None) -> None:
        """Do ``command``; a refusal must change nothing and match the ``can_…`` twin."""
        before = self._snap()
        events_before = self.event_count
        predicted = can() if can is not None else None
        try:
            command.do(self.state)
        except JourneyRuleError as refusal:
            assert self._snap() == before, f"refused {command} changed the account"
            if not isinstance(command, Macro):  # a macro emits, then reverts
                assert self.event_count == events_before, f"refused {command} emitted events"
            if can is not None:
                assert predicted == str(refusal)
            return
        if can is not None:
            assert predicted is None, predicted
        self.done.append((command, before, self._snap()))
        self.undone.clear()

    # ------------------------------------------------------------------ milestone rules

    @precondition(lambda self: any(self._graphs()))
    @rule(data=st.data())
    def add_milestone(self, data: st.DataObject) -> None:
        graph = data.draw(st.sampled_from(self._graphs()), label="journey")
        parents = [None, *(m.id for m in graph.milestones_in_order())]
        remaining = data.draw(st.sampled_from([False, False, True]), label="remaining")
        # Remaining users mostly without criteria (as the palette adds it), sometimes with.
        definitions = (DEFINITIONS[0],) * 3 + DEFINITIONS[1:2] if remaining else DEFINITIONS
        milestone = Milestone(
            id=self._new_id("m"),
            name=self._name(data, [m.name for m in graph.milestones_in_order()]),
            parent_id=data.draw(st.sampled_from(parents), label="parent"),
            remaining=remaining,
            definition=data.draw(st.sampled_from(definitions), label="definition"),
        )
        index = data.draw(st.none() | st.integers(0, 4), label="index")
        self._attempt(
            AddMilestone(graph.id, milestone, index),
            lambda: graph.can_add_milestone(milestone, index),
        )

    @precondition(lambda self: bool(self._milestones()))
    @rule(data=st.data(), with_outputs=st.booleans())
    def remove_milestone(self, data: st.DataObject, with_outputs: bool) -> None:
        leaves = [(g.id, m) for g in self._graphs() for m in g.leaf_ids()]
        choices = leaves if data.draw(st.booleans(), label="a leaf") else self._milestones()
        journey_id, milestone_id = data.draw(st.sampled_from(choices), label="milestone")
        graph = self.state.journey(journey_id)
        if with_outputs:
            self._attempt(remove_milestone_with_outputs(self.state, journey_id, milestone_id), None)
        else:
            self._attempt(
                RemoveMilestone(journey_id, milestone_id),
                lambda: graph.can_remove_milestone(milestone_id),
            )

    @precondition(lambda self: bool(self._milestones()))
    @rule(data=st.data())
    def rename_milestone(self, data: st.DataObject) -> None:
        journey_id, milestone_id = data.draw(st.sampled_from(self._milestones()))
        graph = self.state.journey(journey_id)
        name = self._name(data, [m.name for m in graph.milestones_in_order()])
        self._attempt(
            RenameMilestone(journey_id, milestone_id, name),
            lambda: graph.can_rename_milestone(milestone_id, name),
        )

    @precondition(lambda self: bool(self._milestones()))
    @rule(data=st.data())
    def move_milestone(self, data: st.DataObject) -> None:
        journey_id, milestone_id = data.draw(st.sampled_from(self._milestones()))
        graph = self.state.journey(journey_id)
        # Any parent, including the milestone itself and its own descendants.
        parent = data.draw(
            st.sampled_from([None, *(m.id for m in graph.milestones_in_order())]), label="parent"
        )
        if data.draw(st.booleans(), label="reorder"):
            parent = graph.milestone(milestone_id).parent_id
        index = data.draw(st.none() | st.integers(0, 4), label="index")
        self._attempt(
            MoveMilestone(journey_id, milestone_id, parent, index),
            lambda: graph.can_move_milestone(milestone_id, parent, index),
        )

    @precondition(lambda self: any(g.active_milestone_ids() for g in self._graphs()))
    @rule(data=st.data(), index=st.none() | st.integers(0, 3))
    def move_connected_milestone(self, data: st.DataObject, index: int | None) -> None:
        """Move an actively connected milestone, mostly under a branch that is not active."""
        graph = data.draw(st.sampled_from([g for g in self._graphs() if g.active_milestone_ids()]))
        milestone_id = data.draw(st.sampled_from(sorted(graph.active_milestone_ids())))
        inactive = [m.id for m in graph.milestones_in_order() if not graph.is_active(m.id)]
        parent = data.draw(st.sampled_from([None, *inactive]), label="parent")
        self._attempt(
            MoveMilestone(graph.id, milestone_id, parent, index),
            lambda: graph.can_move_milestone(milestone_id, parent, index),
        )

    @precondition(lambda self: bool(self._milestones()))
    @rule(data=st.data(), definition=st.sampled_from(DEFINITIONS))
    def set_criteria(self, data: st.DataObject, definition: AudienceDefinition) -> None:
        journey_id, milestone_id = data.draw(st.sampled_from(self._milestones()))
        graph = self.state.journey(journey_id)
        self._attempt(
            SetCriteria(journey_id, milestone_id, definition),
            lambda: graph.can_set_definition(milestone_id, definition),
        )

    # ------------------------------------------------------------------ output rules

    @precondition(lambda self: bool(self._milestones()))
    @rule(
        data=st.data(),
        connection=st.sampled_from([*CONNECTIONS, *CONNECTIONS, "conn-gone"]),
        active=st.booleans(),
    )
    def add_output(self, data: st.DataObject, connection: str, active: bool) -> None:
        journey_id, milestone_id = data.draw(st.sampled_from(self._milestones()))
        graph = self.state.journey(journey_id)
        output = Output(
            id=self._new_id("o"), milestone_id=milestone_id, connection_id=connection, active=active
        )
        self._attempt(AddOutput(journey_id, output), lambda: graph.can_add_output(output))

    @precondition(lambda self: bool(self._outputs()))
    @rule(data=st.data())
    def remove_output(self, data: st.DataObject) -> None:
        journey_id, output_id = data.draw(st.sampled_from(self._outputs()))
        self._attempt(RemoveOutput(journey_id, output_id), lambda: None)

    @precondition(lambda self: bool(self._outputs()))
    @rule(data=st.data())
    def toggle_output(self, data: st.DataObject) -> None:
        journey_id, output_id = data.draw(st.sampled_from(self._outputs()))
        graph = self.state.journey(journey_id)
        active = not graph.output(output_id).active
        self._attempt(
            SetOutputActive(journey_id, output_id, active),
            lambda: graph.can_set_output_active(output_id, active),
        )

    @precondition(lambda self: bool(self._milestones()))
    @rule(data=st.data(), x=st.integers(-500, 500), y=st.integers(-500, 500))
    def move_nodes(self, data: st.DataObject, x: int, y: int) -> None:
        graph = data.draw(st.sampled_from([g for g in self._graphs() if g.milestone_count]))
        nodes = sorted(nodes_of(graph))
        chosen = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=3, unique=True))
        positions = {node: (float(x + i), float(y - i)) for i, node in enumerate(chosen)}
        self._attempt(MoveNodes(graph.id, positions), lambda: None)

    @precondition(lambda self: bool(self._milestones()))
    @rule(data=st.data())
    def add_and_connect(self, data: st.DataObject) -> None:
        """A macro: a new milestone and an active output on it (the limit may stop it)."""
        journey_id, parent = data.draw(st.sampled_from(self._milestones()))
        milestone = Milestone(
            id=self._new_id("m"), name=f"Audience {self._new_id('n')}", parent_id=parent
        )
        self._attempt(
            Macro(
                "Add and connect",
                [
                    AddMilestone(journey_id, milestone),
                    AddOutput(
                        journey_id,
                        Output(
                            id=self._new_id("o"),
                            milestone_id=milestone.id,
                            connection_id=CONNECTIONS[0],
                        ),
                    ),
                ],
            ),
            None,
        )

    # ------------------------------------------------------------------ journey and account rules

    @precondition(lambda self: any(self._graphs()))
    @rule(data=st.data())
    def rename_journey(self, data: st.DataObject) -> None:
        graph = data.draw(st.sampled_from(self._graphs()))
        name = self._name(data, [g.name for g in self._graphs()])
        self._attempt(
            RenameJourney(graph.id, name), lambda: self.state.can_rename_journey(graph.id, name)
        )

    @rule(data=st.data(), with_content=st.booleans(), index=st.none() | st.integers(0, 3))
    def create_journey(self, data: st.DataObject, with_content: bool, index: int | None) -> None:
        journey = Journey(
            id=self._new_id("j"), name=self._name(data, [g.name for g in self._graphs()])
        )
        milestones: tuple[Milestone, ...] = ()
        outputs: tuple[Output, ...] = ()
        if with_content:  # a duplicated or imported journey, with two active audiences
            top, below = self._new_id("m"), self._new_id("m")
            milestones = (
                Milestone(id=top, name="Top"),
                Milestone(id=below, name="Below", parent_id=top),
            )
            outputs = (
                Output(id=self._new_id("o"), milestone_id=below, connection_id=CONNECTIONS[1]),
            )
        document = JourneyDocument(journey=journey, milestones=milestones, outputs=outputs)
        self._attempt(CreateJourney(document, index), lambda: self.state.can_add_journey(document))

    @precondition(lambda self: any(self._graphs()))
    @rule(data=st.data())
    def delete_journey(self, data: st.DataObject) -> None:
        graph = data.draw(st.sampled_from(self._graphs()))
        self._attempt(DeleteJourney(graph.id), lambda: self.state.can_remove_journey(graph.id))

    @rule(limit=st.integers(0, LIMIT + 2))
    def set_limit(self, limit: int) -> None:
        self._attempt(
            SetActiveAudienceLimit(limit), lambda: reason(lambda: self.state.check_set_limit(limit))
        )

    # ------------------------------------------------------------------ workspaces and inputs

    def _setup_name(self, data: st.DataObject, taken: list[str]) -> str:
        kind = data.draw(st.sampled_from(("fresh", "fresh", "duplicate", "blank")))
        if kind == "duplicate" and taken:
            name = data.draw(st.sampled_from(taken), label="duplicate of")
            return data.draw(st.sampled_from([name.upper(), f" {name.lower()}  "]))
        return "  " if kind == "blank" else f"Feed {self._new_id('f')}"

    @rule(data=st.data(), index=st.none() | st.integers(0, 3))
    def add_workspace(self, data: st.DataObject, index: int | None) -> None:
        name = self._setup_name(data, [w.name for w in self.state.workspaces.values()])
        self._attempt(AddWorkspace(Workspace(id=self._new_id("ws"), name="-").model_copy(
            update={"name": name}), index), lambda: self.state.can_add_workspace(name))

    @precondition(lambda self: bool(self.state.workspaces))
    @rule(data=st.data())
    def rename_workspace(self, data: st.DataObject) -> None:
        workspace = data.draw(st.sampled_from(list(self.state.workspaces)))
        name = self._setup_name(data, [w.name for w in self.state.workspaces.values()])
        self._attempt(RenameWorkspace(workspace, name),
                      lambda: self.state.can_rename_workspace(workspace, name))

    @precondition(lambda self: bool(self.state.workspaces))
    @rule(data=st.data())
    def remove_workspace(self, data: st.DataObject) -> None:
        workspace = data.draw(st.sampled_from(list(self.state.workspaces)))
        self._attempt(RemoveWorkspace(workspace),
                      lambda: self.state.can_remove_workspace(workspace))

    @precondition(lambda self: bool(self.state.workspaces))
    @rule(data=st.data(), platform=st.sampled_from(["iOS", "web", None]),
          index=st.none() | st.integers(0, 3))
    def add_input(self, data: st.DataObject, platform: str | None, index: int | None) -> None:
        workspace = data.draw(st.sampled_from(list(self.state.workspaces)))
        name = self._setup_name(data, [i.name for i in self.state.inputs_of(workspace)])
        kind = "partner" if platform is None and data.draw(st.booleans()) else "platform"
        self._attempt(
            AddInput(Input(id=self._new_id("in"), workspace_id=workspace, name="-",
                           kind=kind).model_copy(update={"name": name, "platform": platform}),
                     index),
            lambda: self.state.can_add_input(workspace, name, platform, kind))

    @precondition(lambda self: bool(self.state.inputs))
    @rule(data=st.data())
    def rename_input(self, data: st.DataObject) -> None:
        input_id = data.draw(st.sampled_from(list(self.state.inputs)))
        taken = [i.name for i in self.state.inputs_of(self.state.input(input_id).workspace_id)]
        name = self._setup_name(data, taken)
        self._attempt(RenameInput(input_id, name),
                      lambda: self.state.can_rename_input(input_id, name))

    @precondition(lambda self: bool(self.state.inputs))
    @rule(data=st.data())
    def remove_input(self, data: st.DataObject) -> None:
        input_id = data.draw(st.sampled_from(list(self.state.inputs)))
        self._attempt(RemoveInput(input_id), lambda: self.state.can_remove_input(input_id))

    @precondition(lambda self: any(self._graphs()))
    @rule(data=st.data())
    def set_journey_inputs(self, data: st.DataObject) -> None:
        graph = data.draw(st.sampled_from(self._graphs()), label="journey")
        chosen = data.draw(st.lists(st.sampled_from([*self.state.inputs, "in-gone"]),
                                    max_size=3), label="inputs")
        self._attempt(SetJourneyInputs(graph.id, tuple(chosen)),
                      lambda: self.state.can_set_journey_inputs(graph.id, chosen))

    # ------------------------------------------------------------------ undo and redo

    @precondition(lambda self: bool(self.done))
    @rule()
    def undo(self) -> None:
        command, before, after = self.done.pop()
        assert self._snap() == after
        command.undo(self.state)
        assert self._snap() == before
        self.undone.append((command, before, after))

    @precondition(lambda self: bool(self.undone))
    @rule()
    def redo(self) -> None:
        command, before, after = self.undone.pop()
        assert self._snap() == before
        command.redo(self.state)
        assert self._snap() == after
        self.done.append((command, before, after))

    # ------------------------------------------------------------------ invariants

    @invariant()
    def every_journey_is_a_tree_with_valid_splits(self) -> None:
        for graph in self._graphs():
            assert graph.is_tree()
            for parent in [None, *(m.id for m in graph.milestones_in_order())]:
                children = graph.children(parent)
                remaining = [i for i, child in enumerate(children) if child.remaining]
                assert len(remaining) <= 1, "two Remaining users in one split"
                if remaining:
                    assert remaining == [len(children) - 1], "Remaining users is not last"
                    assert len(children) >= 2, "Remaining users is alone"
                    assert children[-1].definition.is_empty, "Remaining users has criteria"
                assert all(child.parent_id == parent for child in children)

    @invariant()
    def status_matches_an_independent_recount_within_the_limit(self) -> None:
        total = 0
        for graph in self._graphs():
            expected = recount_active(graph.document())
            assert graph.active_milestone_ids() == expected
            total += len(expected)
        assert self.state.active_audience_count() == total
        assert total <= self.state.limit

    @invariant()
    def names_stay_unique(self) -> None:
        journey_names = [g.name.casefold() for g in self._graphs()]
        assert len(journey_names) == len(set(journey_names))
        for graph in self._graphs():
            names = [" ".join(m.name.split()).casefold() for m in graph.milestones_in_order()]
            assert len(names) == len(set(names)), names
            assert all(name.strip() for name in names)

    @invariant()
    def workspaces_and_inputs_keep_their_rules(self) -> None:
        state = self.state
        keys = [journey_name_key(w.name) for w in state.workspaces.values()]
        assert len(keys) == len(set(keys)) and all(keys)
        for workspace in state.workspaces:
            own = [journey_name_key(i.name) for i in state.inputs_of(workspace)]
            assert len(own) == len(set(own)) and all(own)
        assert all(i.workspace_id in state.workspaces for i in state.inputs.values())
        # Grouped by workspace in workspace order, as the store reads them back.
        order = [i.workspace_id for i in state.inputs.values()]
        assert order == sorted(order, key=list(state.workspaces).index)
        assert WITH_EVENTS in state.inputs, "an input with events was removed"
        for graph in self._graphs():
            assert set(graph.journey.input_ids) <= set(state.inputs)

    @invariant()
    def the_event_mirror_matches_the_graphs(self) -> None:
        graphs = {g.id: g for g in self._graphs()}
        assert set(self.mirror) == set(graphs)
        for journey_id, graph in graphs.items():
            assert self.mirror[journey_id] == nodes_of(graph)
            assert self.mirror_active[journey_id] == graph.active_milestone_ids()

    @invariant()
    def documents_reload_to_the_same_journey(self) -> None:
        for graph in self._graphs():
            document = graph.document()
            assert JourneyGraph.from_document(document).document() == document

    def teardown(self) -> None:
        while self.done:
            command, before, _after = self.done.pop()
            command.undo(self.state)
            assert self._snap() == before
        assert self._snap() == self.initial


# One bug at a time: shrinking several distinct failures at once can take minutes.
JourneyEditing.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, report_multiple_bugs=False
)
TestJourneyEditing = JourneyEditing.TestCase
