"""JourneyGraph: one journey's milestones and outputs, and every rule over them.

The graph is the single source of truth for a journey while it is open. Its
structure lives in a networkx DiGraph (journey start -> milestones -> child
milestones, milestone -> outputs); the records live in dicts keyed by id, and
each parent's children are kept in their left-to-right split order.

Every edit has a ``check_…`` method that raises a :class:`JourneyRuleError`
and changes nothing, and a ``can_…`` twin that returns the refusal message
(or None) for hover feedback. Mutating methods run the check first, so a
refused edit never leaves anything half done. After each edit the graph emits
change events (see :mod:`app.core.events`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol

import networkx as nx

from app.core import errors
from app.core.criteria import AudienceDefinition, audience_references
from app.core.events import (
    EventSource,
    JourneyChanged,
    NodeAdded,
    NodeChanged,
    NodeKind,
    NodeRemoved,
    OutputToggled,
    StatusChanged,
)
from app.core.models import (
    NAME_MAX_LENGTH,
    REMAINING_USERS,
    Journey,
    JourneyDocument,
    Milestone,
    Output,
)

START = "__start__"
"""The graph node of the journey start; the parent of top-level milestones."""


class AccountContext(Protocol):
    """What a journey needs to know about the rest of its account."""

    def check_activation(self, graph: JourneyGraph, active_after: frozenset[str]) -> None:
        """Refuse (raise) if this journey having ``active_after`` exceeds the account limit."""

    def has_connection(self, connection_id: str) -> bool: ...

    def connection_name(self, connection_id: str) -> str: ...

    def milestone_name(self, milestone_id: str) -> str | None:
        """The name of a milestone of any journey of the account, or None if there is none."""


def clean_name(name: str, what: str) -> str:
    """The name as it will be stored (trimmed), or a refusal naming ``what`` it is for."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise errors.InvalidNameError(f"The {what} needs a name.")
    if "\x00" in cleaned:
        # PostgreSQL can't store it (SQLite can): refused alike on both.
        raise errors.InvalidNameError(
            f"The {what} name contains a NUL character (\\x00), which can't be stored."
        )
    if len(cleaned) > NAME_MAX_LENGTH:
        raise errors.InvalidNameError(
            f"The {what} name is {len(cleaned)} characters long; "
            f"keep it to {NAME_MAX_LENGTH}."
        )
    return cleaned


def reason(check: Callable[[], object]) -> str | None:
    """Run a ``check_…`` and return its refusal message, or None when allowed."""
    try:
        check()
    except errors.JourneyRuleError as refusal:
        return str(refusal)
    return None


class JourneyGraph(EventSource):
    """One journey: a tree of milestones under the start, each with its outputs."""

    def __init__(self, journey: Journey, context: AccountContext | None = None) -> None:
        super().__init__()
        self._journey = journey
        self._context = context
        self._g: nx.DiGraph[str] = nx.DiGraph()
        self._g.add_node(START)
        self._milestones: dict[str, Milestone] = {}
        self._outputs: dict[str, Output] = {}
        self._children: dict[str, list[str]] = {START: []}
        self._outputs_of: dict[str, list[str]] = {}
        self._active: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_document(
        cls, document: JourneyDocument, context: AccountContext | None = None
    ) -> JourneyGraph:
        """Rebuild a saved journey. Structure is validated; the limit is not re-checked."""
        graph = cls(document.journey, context)
        for milestone in document.milestones:
            if milestone.id in graph._milestones or milestone.id in graph._outputs:
                raise errors.DataError(f"Milestone id {milestone.id} appears twice.")
            if _key(milestone.parent_id) not in graph._children:
                raise errors.DataError(
                    f"Milestone “{milestone.name}” names a parent that is not before it."
                )
            graph._insert_milestone(milestone, None)
        for output in document.outputs:
            if output.milestone_id not in graph._milestones:
                raise errors.DataError(
                    f"An output names a missing milestone {output.milestone_id}."
                )
            graph._insert_output(output, None)
        for children in graph._children.values():
            problem = graph._split_problem(children, graph._milestones)
            if problem:
                raise errors.DataError(f"Saved journey “{document.journey.name}”: {problem}")
        graph._active = graph._compute_active()
        return graph

    def document(self) -> JourneyDocument:
        """The journey as plain data, milestones in tree order."""
        return JourneyDocument(
            journey=self._journey,
            milestones=tuple(self.milestones_in_order()),
            outputs=tuple(
                self._outputs[oid]
                for mid in self._tree_order_ids()
                for oid in self._outputs_of.get(mid, ())
            ),
        )

    # ------------------------------------------------------------------ reading

    @property
    def id(self) -> str:
        return self._journey.id

    @property
    def journey(self) -> Journey:
        return self._journey

    @property
    def name(self) -> str:
        return self._journey.name

    def milestone(self, milestone_id: str) -> Milestone:
        try:
            return self._milestones[milestone_id]
        except KeyError:
            raise errors.NotFoundError(
                "That milestone is no longer in this journey."
            ) from None

    def output(self, output_id: str) -> Output:
        try:
            return self._outputs[output_id]
        except KeyError:
            raise errors.NotFoundError("That output is no longer in this journey.") from None

    def has_milestone(self, milestone_id: str) -> bool:
        return milestone_id in self._milestones

    def has_output(self, output_id: str) -> bool:
        return output_id in self._outputs

    @property
    def milestone_count(self) -> int:
        return len(self._milestones)

    def milestones_in_order(self) -> Iterator[Milestone]:
        """Milestones parent-first, siblings left to right."""
        for mid in self._tree_order_ids():
            yield self._milestones[mid]

    def outputs(self) -> Iterator[Output]:
        for mid in self._tree_order_ids():
            for oid in self._outputs_of.get(mid, ()):
                yield self._outputs[oid]

    def children(self, parent_id: str | None) -> list[Milestone]:
        """The milestones directly under ``parent_id`` (None: the start), in split order."""
        return [self._milestones[c] for c in self._children.get(_key(parent_id), [])]

    def child_index(self, milestone_id: str) -> int:
        milestone = self.milestone(milestone_id)
        return self._children[_key(milestone.parent_id)].index(milestone_id)

    def outputs_of(self, milestone_id: str) -> list[Output]:
        return [self._outputs[o] for o in self._outputs_of.get(milestone_id, [])]

    def output_index(self, output_id: str) -> int:
        output = self.output(output_id)
        return self._outputs_of[output.milestone_id].index(output_id)

    def path_to(self, milestone_id: str) -> list[Milestone]:
        """The milestones from the top of the journey down to ``milestone_id``."""
        path: list[Milestone] = []
        current: str | None = milestone_id
        while current is not None:
            milestone = self.milestone(current)
            path.append(milestone)
            current = milestone.parent_id
        return path[::-1]

    def subtree_ids(self, milestone_id: str) -> set[str]:
        """``milestone_id`` and every milestone below it."""
        below = nx.descendants(self._g, milestone_id) | {milestone_id}
        return {node for node in below if node in self._milestones}

    def leaf_ids(self) -> list[str]:
        return [m for m in self._tree_order_ids() if not self._children.get(m)]

    def is_tree(self) -> bool:
        """True when the structure is a tree rooted at the start (always, unless broken)."""
        return bool(nx.is_arborescence(self._g)) if len(self._g) > 1 else True

    # ------------------------------------------------------------------ status

    def active_milestone_ids(self) -> frozenset[str]:
        """Audiences that are active: connected to an active output, or above one that is."""
        return self._active

    def is_active(self, milestone_id: str) -> bool:
        return milestone_id in self._active

    def out_of_sync_warning(self, output_id: str, *, removing: bool = False) -> str | None:
        """The warning to show before removing (``removing``) or deactivating an active
        output: the partner keeps its copy of the audience as last sent, which may go out
        of sync (DESIGN.md section 1). None for an inactive output (nothing is sent to it).

        Nothing is sent for an inactive output, and a removed one is sent nothing more;
        reactivating sends the difference between the members and what the partner last
        received, which is why only deactivation mentions it.
        """
        output = self.output(output_id)
        if not output.active:
            return None
        partner = (
            self._context.connection_name(output.connection_id)
            if self._context
            else "The partner"
        )
        audience = self.milestone(output.milestone_id).name
        copy = f"{partner} keeps its copy of “{audience}” as last sent, and it may go out of sync"
        if removing:
            return f"{copy}: nothing more is sent to it."
        return (f"{copy}: nothing is sent while the output is inactive. Activating it again "
                f"sends what changed meanwhile.")

    # ------------------------------------------------------------------ journey record

    def replace_journey(self, journey: Journey) -> None:
        """Swap the journey record (name, inputs). Account rules are checked there."""
        if journey.id != self._journey.id:
            raise errors.DataError("A journey cannot change its id.")
        self._journey = journey
        self.emit(JourneyChanged(self.id))

    # ------------------------------------------------------------------ milestones

    def check_add_milestone(self, milestone: Milestone, index: int | None = None) -> None:
        if milestone.id in self._milestones or milestone.id in self._outputs:
            raise errors.DuplicateNameError("A node with this id is already in the journey.")
        parent = _key(milestone.parent_id)
        if parent not in self._children:
            raise errors.NotFoundError("The milestone to add under is no longer in this journey.")
        self._check_milestone_name(milestone.name, milestone.id)
        milestone = _as_stored(milestone)
        if milestone.remaining and not milestone.definition.is_empty:
            raise errors.RemainingUsersCriteriaError(
                f"“{REMAINING_USERS}” takes everyone its split's other milestones did not; "
                "it has no criteria of its own."
            )
        _check_arm_criteria(milestone, milestone.definition)
        # A new milestone has nothing below it yet. An audience that is not there is let
        # through: undoing a removal brings criteria back as they were, and the audience
        # they refer to may have been removed before.
        for audience_id in audience_references(milestone.definition):
            self._check_audience(milestone.id, milestone.name, audience_id, set(), True)
        after = self._children_with(parent, milestone.id, index, milestone.stays_last)
        problem = self._split_problem(after, {**self._milestones, milestone.id: milestone})
        if problem:
            raise errors.SplitRuleError(problem)

    def can_add_milestone(self, milestone: Milestone, index: int | None = None) -> str | None:
        return reason(lambda: self.check_add_milestone(milestone, index))

    def add_milestone(self, milestone: Milestone, index: int | None = None) -> Milestone:
        """Add ``milestone`` under its parent at ``index`` (default: last, before Remaining).

        Returns the record as stored: its name trimmed, and a parent of START stored as None.
        """
        self.check_add_milestone(milestone, index)
        milestone = _as_stored(milestone)
        self._insert_milestone(milestone, index)
        self.emit(NodeAdded(self.id, "milestone", milestone.id))
        self._refresh_status()
        return milestone

    def add_milestones(self, milestones: Iterable[Milestone]) -> None:
        """Add a whole tree of milestones, parents first (a new journey: import, copy, undo).

        Their criteria go in once every milestone is there, so that one may refer to a
        milestone later in tree order (on another branch), and every reference is
        checked as an edit of the criteria would be, missing audiences included.
        """
        originals = list(milestones)
        added = [
            self.add_milestone(m.model_copy(update={"definition": AudienceDefinition()}))
            for m in originals
        ]
        for milestone, original in zip(added, originals, strict=True):
            if not original.definition.is_empty:
                self.set_definition(milestone.id, original.definition)

    def check_remove_milestone(self, milestone_id: str) -> None:
        milestone = self.milestone(milestone_id)
        children = self._children.get(milestone_id, [])
        if children:
            names = ", ".join(f"“{self._milestones[c].name}”" for c in children)
            raise errors.MilestoneHasChildrenError(
                f"“{milestone.name}” has milestones after it ({names}). Milestones are "
                f"removed last to first: remove those first."
            )
        outputs = self._outputs_of.get(milestone_id, [])
        if outputs:
            raise errors.MilestoneHasOutputsError(
                f"“{milestone.name}” still sends its audience to {len(outputs)} "
                f"output{'s' if len(outputs) != 1 else ''}. Remove its outputs first."
            )
        parent = _key(milestone.parent_id)
        after = [c for c in self._children[parent] if c != milestone_id]
        variant = milestone.variant
        if variant is not None and variant.control and any(
            (v := self._milestones[c].variant) is not None and v.test_id == variant.test_id
            for c in after
        ):
            raise errors.MilestoneHasChildrenError(
                f"“{milestone.name}” is the Control of an A/B test that still has variants: "
                f"remove the whole test (or its variants first)."
            )
        problem = self._split_problem(after, self._milestones)
        if problem:
            raise errors.SplitRuleError(problem)

    def can_remove_milestone(self, milestone_id: str) -> str | None:
        return reason(lambda: self.check_remove_milestone(milestone_id))

    def remove_milestone(self, milestone_id: str) -> tuple[Milestone, int]:
        """Remove a leaf milestone; returns it and its former index (for undo)."""
        self.check_remove_milestone(milestone_id)
        milestone = self._milestones.pop(milestone_id)
        siblings = self._children[_key(milestone.parent_id)]
        index = siblings.index(milestone_id)
        siblings.remove(milestone_id)
        del self._children[milestone_id]
        self._outputs_of.pop(milestone_id, None)
        self._g.remove_node(milestone_id)
        self.emit(NodeRemoved(self.id, "milestone", milestone_id))
        self._refresh_status()
        return milestone, index

    def check_rename_milestone(self, milestone_id: str, name: str) -> None:
        self.milestone(milestone_id)
        self._check_milestone_name(name, milestone_id)

    def can_rename_milestone(self, milestone_id: str, name: str) -> str | None:
        return reason(lambda: self.check_rename_milestone(milestone_id, name))

    def rename_milestone(self, milestone_id: str, name: str) -> Milestone:
        self.check_rename_milestone(milestone_id, name)
        return self._replace_milestone(
            self._milestones[milestone_id].model_copy(
                update={"name": clean_name(name, "milestone")}
            )
        )

    def check_set_definition(self, milestone_id: str, definition: AudienceDefinition) -> None:
        milestone = self.milestone(milestone_id)
        if milestone.remaining and not definition.is_empty:
            raise errors.RemainingUsersCriteriaError(
                f"“{REMAINING_USERS}” takes everyone its split's other milestones did not; "
                "it has no criteria of its own."
            )
        _check_arm_criteria(milestone, definition)
        # A reference the criteria already hold may have lost its audience since (removing
        # a milestone does not ask who refers to it); editing the rest stays possible.
        kept = set(audience_references(milestone.definition))
        below = self.subtree_ids(milestone_id) - {milestone_id}
        for audience_id in audience_references(definition):
            self._check_audience(
                milestone_id, milestone.name, audience_id, below, audience_id in kept
            )

    def check_use_audience(self, milestone_id: str, audience_id: str) -> None:
        """Refuse if the criteria of ``milestone_id`` can't use the audience of ``audience_id``.

        Allowed: any milestone of the account that does not depend on this one (before
        it, on another branch, in another journey). Refused: the milestone itself, a
        milestone after it (whose users are picked from its own), none at all.
        """
        milestone = self.milestone(milestone_id)
        below = self.subtree_ids(milestone_id) - {milestone_id}
        self._check_audience(milestone_id, milestone.name, audience_id, below, False)

    def can_use_audience(self, milestone_id: str, audience_id: str) -> str | None:
        """Why a picker should not offer ``audience_id`` to ``milestone_id``'s criteria, or None."""
        return reason(lambda: self.check_use_audience(milestone_id, audience_id))

    def can_set_definition(
        self, milestone_id: str, definition: AudienceDefinition
    ) -> str | None:
        return reason(lambda: self.check_set_definition(milestone_id, definition))

    def set_definition(self, milestone_id: str, definition: AudienceDefinition) -> Milestone:
        self.check_set_definition(milestone_id, definition)
        return self._replace_milestone(
            self._milestones[milestone_id].model_copy(update={"definition": definition})
        )

    def check_move_milestone(
        self, milestone_id: str, parent_id: str | None, index: int | None = None
    ) -> None:
        milestone = self.milestone(milestone_id)
        parent_id = _parent_id(parent_id)
        new_parent = _key(parent_id)
        if new_parent not in self._children:
            raise errors.NotFoundError("The milestone to move under is no longer in this journey.")
        if new_parent != START and new_parent in self.subtree_ids(milestone_id):
            raise errors.CycleError(
                f"“{milestone.name}” can't go under "
                f"{'itself' if new_parent == milestone_id else 'a milestone that follows it'}: "
                f"a journey's milestones form a tree."
            )
        old_parent = _key(milestone.parent_id)
        if milestone.variant is not None and new_parent != old_parent:
            raise errors.RemainingUsersCriteriaError(
                f"“{milestone.name}” is an arm of an A/B test on the milestone above it and "
                f"stays there; remove the test to end it."
            )
        moved = milestone.model_copy(update={"parent_id": parent_id})
        records = {**self._milestones, milestone_id: moved}
        old_after = [c for c in self._children[old_parent] if c != milestone_id]
        new_after = _insert_at(
            old_after if new_parent == old_parent else self._children[new_parent],
            milestone_id,
            index,
            records,
            moved.stays_last,
        )
        for after in (old_after, new_after) if new_parent != old_parent else (new_after,):
            problem = self._split_problem(after, records)
            if problem:
                raise errors.SplitRuleError(problem)
        if new_parent != old_parent:
            self._check_audiences_above(milestone_id, new_parent)
            parents = {mid: m.parent_id for mid, m in self._milestones.items()}
            parents[milestone_id] = parent_id
            self._check_budget(self._compute_active(parents))

    def can_move_milestone(
        self, milestone_id: str, parent_id: str | None, index: int | None = None
    ) -> str | None:
        return reason(lambda: self.check_move_milestone(milestone_id, parent_id, index))

    def move_milestone(
        self, milestone_id: str, parent_id: str | None, index: int | None = None
    ) -> Milestone:
        """Move a milestone (and everything below it) under ``parent_id`` at ``index``.

        With the same parent this reorders a split.
        """
        self.check_move_milestone(milestone_id, parent_id, index)
        parent_id = _parent_id(parent_id)
        milestone = self._milestones[milestone_id]
        old_parent = _key(milestone.parent_id)
        new_parent = _key(parent_id)
        self._children[old_parent].remove(milestone_id)
        moved = milestone.model_copy(update={"parent_id": parent_id})
        self._milestones[milestone_id] = moved
        self._children[new_parent] = _insert_at(
            self._children[new_parent], milestone_id, index, self._milestones, moved.stays_last
        )
        if new_parent != old_parent:
            self._g.remove_edge(old_parent, milestone_id)
            self._g.add_edge(new_parent, milestone_id)
        self.emit(NodeChanged(self.id, "milestone", milestone_id))
        self._refresh_status()
        return moved

    def set_milestone_position(self, milestone_id: str, x: float, y: float) -> Milestone:
        return self._replace_milestone(
            self.milestone(milestone_id).model_copy(update={"x": float(x), "y": float(y)})
        )

    # ------------------------------------------------------------------ outputs

    def check_add_output(self, output: Output) -> None:
        if output.id in self._outputs or output.id in self._milestones:
            raise errors.DuplicateNameError("A node with this id is already in the journey.")
        milestone = self.milestone(output.milestone_id)
        if self._context is not None and not self._context.has_connection(output.connection_id):
            raise errors.UnknownReferenceError(
                "That connection is not set up in this account (any more). "
                "Choose one from Connections."
            )
        for other in self.outputs_of(output.milestone_id):
            if other.connection_id == output.connection_id:
                raise errors.DuplicateOutputError(
                    f"“{milestone.name}” is already sent to "
                    f"{self._connection_label(output.connection_id)}."
                )
        if output.active:
            self._check_budget(self._compute_active(extra_holders=[output.milestone_id]))

    def can_add_output(self, output: Output) -> str | None:
        return reason(lambda: self.check_add_output(output))

    def add_output(self, output: Output, index: int | None = None) -> Output:
        self.check_add_output(output)
        self._insert_output(output, index)
        self.emit(NodeAdded(self.id, "output", output.id))
        self._refresh_status()
        return output

    def remove_output(self, output_id: str) -> tuple[Output, int]:
        """Remove an output (always allowed); returns it and its index for undo."""
        output = self.output(output_id)
        siblings = self._outputs_of[output.milestone_id]
        index = siblings.index(output_id)
        siblings.remove(output_id)
        del self._outputs[output_id]
        self._g.remove_node(output_id)
        self.emit(NodeRemoved(self.id, "output", output_id))
        self._refresh_status()
        return output, index

    def check_set_output_active(self, output_id: str, active: bool) -> None:
        output = self.output(output_id)
        if active and not output.active:
            self._check_budget(self._compute_active(extra_holders=[output.milestone_id]))

    def can_set_output_active(self, output_id: str, active: bool) -> str | None:
        return reason(lambda: self.check_set_output_active(output_id, active))

    def set_output_active(self, output_id: str, active: bool) -> Output:
        self.check_set_output_active(output_id, active)
        output = self._outputs[output_id]
        if output.active == active:
            return output
        toggled = output.model_copy(update={"active": active})
        self._outputs[output_id] = toggled
        self.emit(OutputToggled(self.id, output_id, active))
        self._refresh_status()
        return toggled

    def set_output_position(self, output_id: str, x: float, y: float) -> Output:
        moved = self.output(output_id).model_copy(update={"x": float(x), "y": float(y)})
        self._outputs[output_id] = moved
        self.emit(NodeChanged(self.id, "output", output_id))
        return moved

    def set_position(self, kind: NodeKind, node_id: str, x: float, y: float) -> None:
        if kind == "milestone":
            self.set_milestone_position(node_id, x, y)
        else:
            self.set_output_position(node_id, x, y)

    def position(self, kind: NodeKind, node_id: str) -> tuple[float, float]:
        record = self.milestone(node_id) if kind == "milestone" else self.output(node_id)
        return record.x, record.y

    # ------------------------------------------------------------------ internals

    def _connection_label(self, connection_id: str) -> str:
        if self._context is not None:
            return self._context.connection_name(connection_id)
        return "that connection"

    def _check_milestone_name(self, name: str, milestone_id: str) -> None:
        cleaned = clean_name(name, "milestone").casefold()
        for other in self._milestones.values():
            if other.id != milestone_id and other.name.casefold() == cleaned:
                raise errors.DuplicateNameError(
                    f"This journey already has a milestone called “{other.name}”. "
                    f"Audiences are known by name, so pick another."
                )

    def _check_audience(
        self, milestone_id: str, name: str, audience_id: str, below: set[str], may_be_gone: bool
    ) -> None:
        """The membership rule for one reference of ``milestone_id``'s criteria.

        ``below`` are the milestones after it; ``may_be_gone`` lets through a reference
        to an audience that is not there (any more).
        """
        if audience_id == milestone_id:
            raise errors.AudienceMembershipError(
                f"The criteria of “{name}” can't use its own audience: they are what decide "
                f"who is in it. Remove that criterion.",
                milestone_id, audience_id,
            )
        if audience_id in below:
            other = self._milestones[audience_id].name
            raise errors.AudienceMembershipError(
                f"The criteria of “{name}” can't use the audience of “{other}”, which comes "
                f"after it in the journey: “{other}” picks its users from those of “{name}”, "
                f"so each would wait on the other. Use a milestone before “{name}” or on "
                f"another branch.",
                milestone_id, audience_id,
            )
        if not may_be_gone and not self._audience_exists(audience_id):
            raise errors.AudienceMembershipError(
                f"The criteria of “{name}” use an audience that is not in this account "
                f"(any more). Pick another milestone, or remove that criterion.",
                milestone_id, audience_id,
            )

    def _audience_exists(self, audience_id: str) -> bool:
        """A milestone of this journey, or of the account (unknowable without one: yes)."""
        if audience_id in self._milestones:
            return True
        return self._context is None or self._context.milestone_name(audience_id) is not None

    def _check_audiences_above(self, milestone_id: str, new_parent: str) -> None:
        """Moving ``milestone_id`` under ``new_parent`` puts its branch below new milestones:
        none of those may refer to an audience of that branch."""
        if new_parent == START:
            return
        branch = self.subtree_ids(milestone_id)
        old_above = {m.id for m in self.path_to(milestone_id)}
        for above in self.path_to(new_parent):
            if above.id in old_above:
                continue
            for audience_id in audience_references(above.definition):
                if audience_id in branch:
                    self._check_audience(above.id, above.name, audience_id, branch, True)

    def _check_budget(self, active_after: frozenset[str]) -> None:
        if self._context is not None and active_after - self._active:
            self._context.check_activation(self, active_after)

    def _compute_active(
        self,
        parents: Mapping[str, str | None] | None = None,
        extra_holders: Iterable[str] = (),
    ) -> frozenset[str]:
        """Active audiences given parent links and the milestones holding active outputs."""
        parent_of = parents if parents is not None else {
            mid: m.parent_id for mid, m in self._milestones.items()
        }
        holders = {o.milestone_id for o in self._outputs.values() if o.active}
        holders.update(extra_holders)
        active: set[str] = set()
        for holder in holders:
            current: str | None = holder
            while current is not None and current not in active:
                active.add(current)
                current = parent_of[current]
        return frozenset(active)

    def names_of(self, milestone_ids: Iterable[str]) -> list[str]:
        """Names in tree order, for messages."""
        wanted = set(milestone_ids)
        return [self._milestones[m].name for m in self._tree_order_ids() if m in wanted]

    def _refresh_status(self) -> None:
        active = self._compute_active()
        if active != self._active:
            self._active = active
            self.emit(StatusChanged(self.id, active))

    def _insert_milestone(self, milestone: Milestone, index: int | None) -> None:
        parent = _key(milestone.parent_id)
        self._milestones[milestone.id] = milestone
        self._children[parent] = _insert_at(
            self._children[parent], milestone.id, index, self._milestones, milestone.stays_last
        )
        self._children[milestone.id] = []
        self._outputs_of[milestone.id] = []
        self._g.add_edge(parent, milestone.id)

    def _insert_output(self, output: Output, index: int | None) -> None:
        siblings = self._outputs_of[output.milestone_id]
        siblings.insert(len(siblings) if index is None else index, output.id)
        self._outputs[output.id] = output
        self._g.add_edge(output.milestone_id, output.id)

    def _replace_milestone(self, milestone: Milestone) -> Milestone:
        self._milestones[milestone.id] = milestone
        self.emit(NodeChanged(self.id, "milestone", milestone.id))
        return milestone

    def _children_with(
        self, parent: str, child_id: str, index: int | None, remaining: bool
    ) -> list[str]:
        return _insert_at(self._children[parent], child_id, index, self._milestones, remaining)

    @staticmethod
    def _split_problem(children: list[str], records: Mapping[str, Milestone]) -> str | None:
        """Why a parent's children list breaks the Remaining-users rules, or None.

        Arms of an A/B test are not part of the split and are left out."""
        children = [c for c in children if records[c].variant is None]
        remaining = [c for c in children if records[c].remaining]
        if not remaining:
            return None
        if len(remaining) > 1:
            return f"A split has at most one “{REMAINING_USERS}” milestone."
        if children[-1] != remaining[0]:
            return (
                f"“{records[remaining[0]].name}” catches everyone the other milestones of "
                f"its split did not take, so it stays last."
            )
        if len(children) == 1:
            return (
                f"“{records[remaining[0]].name}” needs at least one other milestone in its "
                f"split: remove it first, or add a milestone beside it."
            )
        return None

    def _tree_order_ids(self) -> Iterator[str]:
        stack = list(reversed(self._children[START]))
        while stack:
            current = stack.pop()
            yield current
            stack.extend(reversed(self._children[current]))


def _check_arm_criteria(milestone: Milestone, definition: AudienceDefinition) -> None:
    """An arm of an A/B test is chosen by its users' buckets: it has no criteria."""
    if milestone.variant is not None and not definition.is_empty:
        raise errors.RemainingUsersCriteriaError(
            f"“{milestone.name}” is an arm of an A/B test: its users are drawn from the "
            f"milestone above it by the test's split, so it has no criteria of its own."
        )


def _key(parent_id: str | None) -> str:
    return START if parent_id is None else parent_id


def _parent_id(parent_id: str | None) -> str | None:
    """A parent as records keep it: the start is None, whether named None or START."""
    return None if parent_id == START else parent_id


def _as_stored(milestone: Milestone) -> Milestone:
    """A milestone being added as the graph keeps it (its name must already be valid)."""
    return milestone.model_copy(
        update={
            "name": clean_name(milestone.name, "milestone"),
            "parent_id": _parent_id(milestone.parent_id),
        }
    )


def _insert_at(
    children: list[str],
    child_id: str,
    index: int | None,
    records: Mapping[str, Milestone],
    remaining: bool,
) -> list[str]:
    """A copy of ``children`` with ``child_id`` at ``index``.

    ``None`` means "at the end", except that an ordinary milestone goes before the
    siblings that stay last (Remaining users, the arms of an A/B test; ``remaining``
    says the child is one of those). Indexes past the end clamp.
    """
    result = [c for c in children if c != child_id]
    if index is None:
        index = len(result)
        while not remaining and index > 0 and records[result[index - 1]].stays_last:
            index -= 1
    result.insert(max(0, min(index, len(result))), child_id)
    return result
