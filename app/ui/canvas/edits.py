"""What a gesture on the canvas means, as core commands (no widgets here).

The canvas turns clicks, drags and drops into intent: "a milestone after this
one", "these nodes are here now", "this partner on that audience". This module
turns intent into :mod:`app.core.commands` values, with positions chosen so a
new node lands in free space next to where it belongs (automatic placement on
creation; positions people set by hand are never touched). Whether an edit is
allowed is always the core's ``can_…`` answer; nothing is re-decided here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRectF

from app.core.account import AccountState
from app.core.commands import (
    AddMilestone,
    AddOutput,
    Command,
    CreateJourney,
    Macro,
    MoveNodes,
    RemoveMilestone,
    RemoveOutput,
    RenameMilestone,
    SetCriteria,
    SetOutputActive,
    add_ab_test,
)
from app.core.criteria import AudienceDefinition
from app.core.events import NodeKind
from app.core.graph import JourneyGraph
from app.core.layout import (
    COLUMN_GAP,
    NODE_HEIGHT,
    NODE_WIDTH,
    OUTPUT_GAP,
    OUTPUT_HEIGHT,
    ROW_GAP,
    auto_layout,
)
from app.core.models import REMAINING_USERS, Journey, JourneyDocument, Milestone, Output, new_id
from app.ui.palette import PaletteEntry

NodeKey = tuple[NodeKind, str]


def unique_name(graph: JourneyGraph, base: str) -> str:
    """``base``, or ``base 2``, ``base 3``… so a new milestone never collides by name."""
    taken = {m.name.casefold() for m in graph.milestones_in_order()}
    if base.casefold() not in taken:
        return base
    number = 2
    while f"{base} {number}".casefold() in taken:
        number += 1
    return f"{base} {number}"


def free_spot(occupied: Iterable[QRectF], x: float, y: float, width: float, height: float,
              step: float) -> tuple[float, float]:
    """The first place at or below (x, y) where a width x height card overlaps nothing."""
    rects = [r.adjusted(-8, -8, 8, 8) for r in occupied]
    candidate = QRectF(x, y, width, height)
    for _ in range(500):
        if not any(candidate.intersects(r) for r in rects):
            break
        candidate.translate(0, step)
    return candidate.x(), candidate.y()


@dataclass(frozen=True)
class Placement:
    """Where nodes are on the canvas now (top-left corners), and what they cover."""

    milestones: Mapping[str, QPointF]
    outputs: Mapping[str, QPointF]
    occupied: tuple[QRectF, ...]
    widths: Mapping[str, float] = field(default_factory=dict)
    """The drawn width of milestone and output cards by id (cards grow with their text)."""

    def width(self, node_id: str) -> float:
        return self.widths.get(node_id, NODE_WIDTH)


def child_spot(graph: JourneyGraph, placed: Placement, parent_id: str | None) -> tuple[float,
                                                                                       float]:
    """A free place for a new milestone under ``parent_id`` (None: a new first step)."""
    if parent_id is None:
        tops = [placed.milestones[m.id] for m in graph.children(None) if m.id in placed.milestones]
        x = min((p.x() for p in tops), default=0.0)
        y = min((p.y() for p in tops), default=0.0)
    else:
        parent = placed.milestones[parent_id]
        x, y = parent.x() + placed.width(parent_id) + COLUMN_GAP, parent.y()
    return free_spot(placed.occupied, x, y, NODE_WIDTH, NODE_HEIGHT, NODE_HEIGHT / 2 + ROW_GAP)


def output_spot(placed: Placement, milestone_id: str) -> tuple[float, float]:
    """A free place for a new output hanging under its milestone."""
    anchor = placed.milestones[milestone_id]
    return free_spot(placed.occupied, anchor.x() + 24.0, anchor.y() + NODE_HEIGHT + OUTPUT_GAP,
                     NODE_WIDTH, OUTPUT_HEIGHT, OUTPUT_HEIGHT + OUTPUT_GAP)


ARM_GAP = COLUMN_GAP / 2
"""The space between two arms of an A/B test, side by side under the tested card."""
ARM_DROP = 2 * ROW_GAP + 8
"""From the bottom of the tested card (and the outputs hanging from it) down to its arms:
room for the edges to fan out and for their funnel badges above the arms."""


def arm_spots(graph: JourneyGraph, placed: Placement, tested_id: str,
              count: int) -> list[tuple[float, float]]:
    """Top-left corners for ``count`` new arm cards of an A/B test on ``tested_id``.

    The arms hang in a row under the tested card (below the outputs hanging from it),
    centred on it, so their edges fan straight down from it. The row and the fan above
    it move down, as a new child does (:func:`free_spot`), until they cover no card.
    """
    tested = placed.milestones[tested_id]
    own = [QRectF(tested.x(), tested.y(), placed.width(tested_id), NODE_HEIGHT)]
    own += [QRectF(placed.outputs[o.id].x(), placed.outputs[o.id].y(), placed.width(o.id),
                   OUTPUT_HEIGHT)
            for o in graph.outputs_of(tested_id) if o.id in placed.outputs]
    others = [r for r in placed.occupied if not any(r.intersects(o) for o in own)]
    row_width = count * NODE_WIDTH + (count - 1) * ARM_GAP
    row_left = own[0].center().x() - row_width / 2
    # The fan starts under the tested card, which may stick out of the row's width.
    fan_left = min(row_left, own[0].left())
    fan_right = max(row_left + row_width, own[0].right())
    hanging_bottom = max(r.bottom() for r in own)
    x, y = free_spot(others, fan_left, hanging_bottom, fan_right - fan_left,
                     ARM_DROP + NODE_HEIGHT, NODE_HEIGHT / 2 + ROW_GAP)
    left, top = x + row_left - fan_left, y + ARM_DROP
    return [(left + i * (NODE_WIDTH + ARM_GAP), top) for i in range(count)]


def ab_test_command(state: AccountState, journey_id: str, placed: Placement,
                    milestone_id: str, variants: Sequence[tuple[str, float]], *,
                    test_id: str | None = None) -> Macro:
    """Add an A/B test on ``milestone_id`` with its arms placed by :func:`arm_spots`."""
    spots = arm_spots(state.journey(journey_id), placed, milestone_id, len(variants) + 1)
    return add_ab_test(state, journey_id, milestone_id, variants, test_id=test_id,
                       positions=spots)


def new_milestone(graph: JourneyGraph, placed: Placement, parent_id: str | None, *,
                  name: str | None = None, remaining: bool = False,
                  definition: AudienceDefinition | None = None,
                  at: QPointF | None = None) -> Milestone:
    """A milestone record ready for :class:`AddMilestone` (not yet added)."""
    if at is not None:
        x, y = free_spot(placed.occupied, at.x(), at.y(), NODE_WIDTH, NODE_HEIGHT,
                         NODE_HEIGHT / 2 + ROW_GAP)
    else:
        x, y = child_spot(graph, placed, parent_id)
    if remaining:
        # Names are unique in a journey; a second catch-all reads better in words.
        taken = {m.name.casefold() for m in graph.milestones_in_order()}
        base = next((b for b in (REMAINING_USERS, "Everyone else", "All the others")
                     if b.casefold() not in taken), REMAINING_USERS)
    else:
        base = "New milestone"
    return Milestone(name=name or unique_name(graph, base), parent_id=parent_id,
                     remaining=remaining, definition=definition or AudienceDefinition(),
                     x=x, y=y)


def new_output(placed: Placement, milestone_id: str, connection_id: str) -> Output:
    x, y = output_spot(placed, milestone_id)
    return Output(milestone_id=milestone_id, connection_id=connection_id, x=x, y=y)


@dataclass(frozen=True)
class DropPlan:
    """What dropping a palette entry here would do: a command, or why not."""

    command: Command | None
    message: str

    @property
    def refused(self) -> bool:
        return self.command is None


def plan_drop(graph: JourneyGraph, placed: Placement, entry: PaletteEntry,
              target_milestone: str | None, at: QPointF) -> DropPlan:
    """The command for dropping ``entry`` on a milestone (or on empty canvas at ``at``)."""
    if entry.kind == "output":
        if target_milestone is None:
            return DropPlan(None, f"Drop {entry.title} onto a milestone: an output belongs "
                                  f"to one audience.")
        output = new_output(placed, target_milestone, entry.connection_id)
        problem = graph.can_add_output(output)
        if problem:
            return DropPlan(None, problem)
        name = graph.milestone(target_milestone).name
        return DropPlan(AddOutput(graph.id, output), f"Send “{name}” to {entry.title}")
    remaining = entry.kind == "remaining"
    if target_milestone is None:
        if remaining:
            return DropPlan(None, f"“{entry.title}” belongs to a split: drop it onto the "
                                  f"milestone whose paths it completes.")
        milestone = new_milestone(graph, placed, None, at=at)
        problem = graph.can_add_milestone(milestone)
        if problem:
            return DropPlan(None, problem)
        return DropPlan(AddMilestone(graph.id, milestone), "Add a new first step here")
    milestone = new_milestone(graph, placed, target_milestone, remaining=remaining)
    problem = graph.can_add_milestone(milestone)
    if problem:
        return DropPlan(None, _as_dragged(problem, milestone, entry))
    parent = graph.milestone(target_milestone).name
    what = f"“{entry.title}”" if remaining else "a milestone"
    return DropPlan(AddMilestone(graph.id, milestone), f"Add {what} after “{parent}”")


def _as_dragged(problem: str, milestone: Milestone, entry: PaletteEntry) -> str:
    """A refusal that names the would-be step as the palette entry dragged.

    The step a refused "Remaining users" drop would have added is called
    "Everyone else" when the journey already has a "Remaining users"; that name
    was never shown to the marketer, who picked up "Remaining users".
    """
    if entry.kind != "remaining" or milestone.name == entry.title:
        return problem
    return problem.replace(f"“{milestone.name}”", f"“{entry.title}”")


def delete_command(graph: JourneyGraph, milestone_ids: Iterable[str],
                   output_ids: Iterable[str]) -> Command | None:
    """One undo step removing the given nodes: outputs first, then milestones last to
    first (the order the rules ask for). Milestones take their own outputs with them."""
    milestones = set(milestone_ids)
    outputs = {o for o in output_ids if graph.has_output(o)}
    for milestone_id in milestones:
        outputs.update(o.id for o in graph.outputs_of(milestone_id))
    steps: list[Command] = [RemoveOutput(graph.id, o.id) for o in graph.outputs()
                            if o.id in outputs]
    order = [m.id for m in graph.milestones_in_order() if m.id in milestones]
    steps.extend(RemoveMilestone(graph.id, m) for m in reversed(order))
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]
    if len(order) == 1:  # a milestone with its outputs: named as the milestone's removal
        return Macro(steps[-1].text, steps, named_by=steps[-1])
    text = f"Remove {len(outputs)} outputs" if not order else f"Remove {len(order)} milestones"
    return Macro(text, steps)


def removal_problem(graph: JourneyGraph, milestone_id: str) -> str | None:
    """Why removing this milestone from the canvas would be refused (None: it would not).

    The canvas removes a milestone with its outputs (:func:`delete_command`), so the
    core's "remove its outputs first" does not stand in the way; every other refusal
    of ``can_remove_milestone`` does, as the core words it.
    """
    problem = graph.can_remove_milestone(milestone_id)
    if problem is None or not graph.outputs_of(milestone_id):
        return problem
    trial = JourneyGraph.from_document(graph.document())
    for output in trial.outputs_of(milestone_id):
        trial.remove_output(output.id)
    return trial.can_remove_milestone(milestone_id)


def edit_milestone_command(graph: JourneyGraph, milestone_id: str, name: str,
                           definition: AudienceDefinition) -> Command | None:
    """Rename and/or new criteria as one step (None when nothing changed)."""
    milestone = graph.milestone(milestone_id)
    steps: list[Command] = []
    if " ".join(name.split()) != milestone.name:
        steps.append(RenameMilestone(graph.id, milestone_id, name))
    if definition != milestone.definition:
        steps.append(SetCriteria(graph.id, milestone_id, definition))
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]
    return Macro(f"Edit milestone “{' '.join(name.split())}”", steps)


def toggle_output_command(graph: JourneyGraph, output_id: str) -> SetOutputActive:
    return SetOutputActive(graph.id, output_id, not graph.output(output_id).active)


def layout_command(graph: JourneyGraph,
                   widths: Mapping[str, float] | None = None) -> Command | None:
    """"Tidy up": every node to its automatic place, one undo step (None: already tidy).

    ``widths``: the drawn card widths by id, so wide cards keep their columns apart."""
    layout = auto_layout(graph, widths)
    positions: dict[NodeKey, tuple[float, float]] = {}
    for milestone_id, spot in layout.milestones.items():
        if graph.position("milestone", milestone_id) != spot:
            positions[("milestone", milestone_id)] = spot
    for output_id, spot in layout.outputs.items():
        if graph.position("output", output_id) != spot:
            positions[("output", output_id)] = spot
    if not positions:
        return None
    return Macro("Tidy up layout", [MoveNodes(graph.id, positions)])


def copy_name(state: AccountState, name: str) -> str:
    taken = {g.name.casefold() for g in state.journeys()}
    candidate = f"{name} copy"
    number = 2
    while candidate.casefold() in taken:
        candidate = f"{name} copy {number}"
        number += 1
    return candidate[:80]


def duplicate_command(state: AccountState, journey_id: str) -> CreateJourney:
    """A copy of a journey under new ids. Its outputs start inactive: a copy must not
    start sending the same audiences to partners twice (nor eat the account's limit)."""
    source = state.journey(journey_id).document()
    ids = {m.id: new_id() for m in source.milestones}
    milestones = tuple(
        m.model_copy(update={"id": ids[m.id],
                             "parent_id": ids[m.parent_id] if m.parent_id else None})
        for m in source.milestones
    )
    outputs = tuple(
        o.model_copy(update={"id": new_id(), "milestone_id": ids[o.milestone_id],
                             "active": False})
        for o in source.outputs
    )
    journey = Journey(name=copy_name(state, source.journey.name),
                      input_ids=source.journey.input_ids)
    document = JourneyDocument(journey=journey, milestones=milestones, outputs=outputs)
    index = [g.id for g in state.journeys()].index(journey_id) + 1
    command = CreateJourney(document, index)
    command.text = f"Duplicate “{source.journey.name}”"
    return command
