"""JourneyScene: mirrors one JourneyGraph as canvas items, live, and reads gestures.

The graph is the single source of truth. The scene subscribes to its change
events and keeps id -> item maps (``milestone_items``, ``output_items``,
``input_items``, ``edge_items``) in step: it adds and removes items, moves
them to the positions on the model, reroutes edges and repaints what a change
touched. It never changes the graph itself: a gesture (a drag released, a
palette entry dropped) becomes one core command handed to :attr:`editor`
(the window's undo stack), and the graph's events then move the items. If the
editor refuses, the items go back to where the model says they are.
:meth:`set_graph` swaps journeys and unsubscribes from the previous one, so a
scene leaves no listener behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from PySide6.QtCore import QObject, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import (
    QGraphicsScene,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneDragDropEvent,
    QGraphicsSceneMouseEvent,
)

from app.core.account import AccountState
from app.core.commands import Command, Macro, MoveNodes, reorder_milestone
from app.core.events import (
    DomainEvent,
    JourneyChanged,
    NodeAdded,
    NodeChanged,
    NodeRemoved,
    OutputToggled,
    StatusChanged,
)
from app.core.graph import JourneyGraph
from app.core.layout import Layout, auto_layout, input_positions
from app.ui.canvas import cards
from app.ui.canvas.edits import ARM_DROP, NodeKey, Placement, plan_drop
from app.ui.canvas.items import (
    MILESTONE_SIZE,
    EdgeItem,
    HintItem,
    InputItem,
    MilestoneItem,
    NodeItem,
    OutputItem,
    PlaceholderItem,
    StartItem,
)
from app.ui.palette import entry_from_mime

log = logging.getLogger(__name__)

NOT_FORWARDED = cards.Forwarding()
"""An output forwarding has not seen yet (new, or never active): nothing sent."""

EdgeKey = tuple[str, str]
"""(source node key, target node key); node keys are ``"<kind>:<id>"`` or ``"start"``."""

START_KEY = "start"
RAIL_INSET = 10.0
"""How far right of a milestone's left edge the rail runs that its outputs hang from."""
PLACEHOLDER_KEY = "placeholder"
START_GAP = 52.0
"""Horizontal room between the start pill and the first milestones."""
INPUT_GAP = 56.0
"""Horizontal room between the inputs and the start pill."""
SCENE_MARGIN = 1600.0
"""Free canvas around the journey, so it can be panned and zoomed around the cursor."""


def node_key(kind: str, node_id: str) -> str:
    return f"{kind}:{node_id}"


class JourneyScene(QGraphicsScene):
    """The read-only canvas of one journey (or of none)."""

    graphChanged = Signal()
    """Another journey is shown, or the shown journey's record (name, inputs) changed."""
    contentChanged = Signal()
    """Nodes were added, removed or changed: counts and extents may differ."""
    milestoneActivated = Signal(str)
    """A milestone was double-clicked: edit it (its id)."""
    handleClicked = Signal(str, str)
    """A milestone's handle was clicked: (milestone id, "extend" | "split" | "output")."""
    outputBadgeClicked = Signal(str)
    """An output's Active/Inactive badge was clicked (its id)."""
    placeholderClicked = Signal()
    """The empty journey's placeholder card was clicked: add the first milestone."""
    contextMenuRequested = Signal(str, str, QPoint, QPointF)
    """(kind "milestone" | "output" | "", id, screen position, scene position)."""
    figuresChanged = Signal()
    forwardingChanged = Signal()
    """New forwarding states of outputs (faults, what was sent): read :meth:`forwarding`."""
    """Audience sizes arrived, or started or stopped being recalculated."""
    revealRequested = Signal(QRectF)
    """A node was just created here: the views scroll this scene rect into sight."""

    def __init__(self, state: AccountState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._graph: JourneyGraph | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.milestone_items: dict[str, MilestoneItem] = {}
        self.output_items: dict[str, OutputItem] = {}
        self.input_items: dict[str, InputItem] = {}
        self.edge_items: dict[EdgeKey, EdgeItem] = {}
        self._edges_of: dict[str, list[EdgeKey]] = {}
        self.start_item: StartItem | None = None
        self.placeholder_item: PlaceholderItem | None = None
        self.editor: Callable[[Command], bool] | None = None
        """Runs a core command as one undo step; True when it was done."""
        self.drop_hint: HintItem | None = None
        self._drop_target: NodeItem | None = None
        self._drag_start: dict[NodeKey, QPointF] = {}
        self._followers: dict[str, str] = {}
        """Outputs carried along by a dragged milestone: output id -> milestone id."""
        self._placing = False
        self._figures: dict[str, cards.AudienceFigures] = {}
        self._population: cards.AudienceFigures | None = None
        self._calculating = False
        self._forwarding: dict[str, cards.Forwarding] = {}
        """Output id -> how forwarding to it stands, for every journey (ids are unique)."""
        self._forwarding_known = False
        self.selectionChanged.connect(self.dismiss_hint)

    def set_state(self, state: AccountState) -> None:
        """Mirror another account state (after a reload); shows no journey until told."""
        self.set_graph(None)
        self._state = state

    # ------------------------------------------------------------------ journey

    @property
    def graph(self) -> JourneyGraph | None:
        return self._graph

    @property
    def state(self) -> AccountState:
        return self._state

    def set_graph(self, graph: JourneyGraph | None) -> None:
        """Show ``graph`` (None: nothing), dropping the previous journey's items and listener."""
        if graph is self._graph:
            return
        self._detach()
        self._clear()
        self._graph = graph
        self._figures = {}
        self._population = None
        self._calculating = False
        if graph is not None:
            self._unsubscribe = graph.subscribe(self._on_event)
            self._build()
            log.debug("Canvas shows “%s”", graph.name)
        self.graphChanged.emit()
        self.contentChanged.emit()

    def close(self) -> None:
        """Stop mirroring (before the scene goes away)."""
        self.set_graph(None)

    def refresh_all(self) -> None:
        """Repaint every item, e.g. after a theme change (items cache their pixels)."""
        for item in self.items():
            item.update()
        self.update()

    # ------------------------------------------------------------------ cards (for items)

    def milestone_card(self, milestone_id: str) -> cards.MilestoneCard:
        return cards.milestone_card(self._require_graph(), milestone_id,
                                    self._figures.get(milestone_id), self._calculating)

    # ------------------------------------------------------------------ audience figures

    @property
    def calculating(self) -> bool:
        """Whether the shown journey's figures are being recalculated."""
        return self._calculating

    @property
    def population(self) -> cards.AudienceFigures | None:
        """The shown journey's population after the latest evaluation."""
        return self._population

    def figures(self, milestone_id: str) -> cards.AudienceFigures | None:
        return self._figures.get(milestone_id)

    def set_figures(self, journey_id: str, population: cards.AudienceFigures | None,
                    milestones: Mapping[str, cards.AudienceFigures]) -> None:
        """The latest evaluation of ``journey_id`` (ignored unless it is shown)."""
        if self._graph is None or self._graph.id != journey_id:
            return
        self._population = population
        self._figures = dict(milestones)
        self._repaint_milestones()
        self.figuresChanged.emit()

    def set_calculating(self, journey_id: str, calculating: bool) -> None:
        """Show or hide the calculating indicator of ``journey_id`` (if it is shown)."""
        if self._graph is None or self._graph.id != journey_id:
            return
        if calculating == self._calculating:
            return
        self._calculating = calculating
        self._repaint_milestones()
        self.figuresChanged.emit()

    def _repaint_milestones(self) -> None:
        for milestone_item in self.milestone_items.values():
            milestone_item.update()
        self.refresh_funnel_labels()
        self._refit()

    def refresh_funnel_labels(self) -> None:
        """Have the edges' conversion and drop-off badges read the figures again."""
        for edge in self.edge_items.values():
            if edge.label is not None:
                edge.label.refresh()

    def output_card(self, output_id: str) -> cards.OutputCard:
        return cards.output_card(self._require_graph(), self._state, output_id,
                                 self.forwarding(output_id))

    # ------------------------------------------------------------------ forwarding

    def forwarding(self, output_id: str) -> cards.Forwarding | None:
        """How forwarding to an output stands after the latest run; None until forwarding
        was first read (a window that does not forward never knows)."""
        if not self._forwarding_known:
            return None
        return self._forwarding.get(output_id, NOT_FORWARDED)

    def set_forwarding(self, states: Mapping[str, cards.Forwarding]) -> None:
        """Take the forwarding state of every output (after a forwarding run): the cards
        of those on show are repainted where it changed."""
        changed = {o for o in set(states) | set(self._forwarding)
                   if states.get(o) != self._forwarding.get(o)}
        self._forwarding = dict(states)
        if not self._forwarding_known:
            self._forwarding_known = True
            changed = set(self.output_items)
        if not changed:
            return
        for output_id in changed & set(self.output_items):
            self.output_items[output_id].update()
        self._refit()
        self.forwardingChanged.emit()

    def input_card(self, input_id: str) -> cards.InputCard:
        return cards.input_card(self._state, input_id)

    def edge_active(self, key: EdgeKey) -> bool:
        """Whether the edge leads into an active node (drawn in the active colour)."""
        graph = self._graph
        if graph is None:
            return False
        target = key[1]
        if target == START_KEY:
            return bool(graph.active_milestone_ids())
        kind, _, node_id = target.partition(":")
        if kind == "milestone":
            return graph.has_milestone(node_id) and graph.is_active(node_id)
        if kind == "output":
            return graph.has_output(node_id) and graph.output(node_id).active
        return False

    def node_item(self, key: str) -> NodeItem | None:
        """The item of a node key (see :func:`node_key`)."""
        if key == START_KEY:
            return self.start_item
        if key == PLACEHOLDER_KEY:
            return self.placeholder_item
        kind, _, node_id = key.partition(":")
        maps: dict[str, dict[str, MilestoneItem] | dict[str, OutputItem] | dict[str, InputItem]]
        maps = {"milestone": self.milestone_items, "output": self.output_items,
                "input": self.input_items}
        return maps.get(kind, {}).get(node_id)

    def journey_rect(self) -> QRectF:
        """The bounding rectangle of all nodes (without shadows), for fitting the view."""
        rect = QRectF()
        for item in self._node_items():
            rect = rect.united(item.scene_body())
        return rect

    # ------------------------------------------------------------------ editing helpers

    def node_moved(self, item: NodeItem) -> None:
        """An item moved (a drag in progress): reroute just the edges that touch it."""
        if self._placing:
            return
        key = node_key(item.KIND, item.node_id)
        keys = [key]
        if isinstance(item, OutputItem) and self.graph is not None \
                and self.graph.has_output(item.node_id):
            # An A/B test's arm edges start on the rail its milestone's outputs hang from.
            keys.append(node_key("milestone", self.graph.output(item.node_id).milestone_id))
        for end in keys:
            for edge_key in self._edges_of.get(end, ()):
                self._route_edge(edge_key)

    def selected_keys(self) -> list[NodeKey]:
        """The selected milestones and outputs, as (kind, id)."""
        keys: list[NodeKey] = []
        for item in self.selectedItems():
            if isinstance(item, MilestoneItem):
                keys.append(("milestone", item.node_id))
            elif isinstance(item, OutputItem):
                keys.append(("output", item.node_id))
        return keys

    def select_node(self, kind: str, node_id: str) -> None:
        """Select exactly one node (after it was created, for instance)."""
        item = self.node_item(node_key(kind, node_id))
        self.clearSelection()
        if item is not None:
            item.setSelected(True)

    def show_new_node(self, kind: str, node_id: str) -> None:
        """A node the person just created: select it and have the views bring it, with
        the handles that continue from it, into sight (new nodes often land past the
        edge of the viewport)."""
        self.select_node(kind, node_id)
        item = self.node_item(node_key(kind, node_id))
        if item is None:
            return
        extent = item.scene_body()
        if isinstance(item, MilestoneItem):
            for handle in item.handles.values():
                extent = extent.united(handle.mapRectToScene(handle.boundingRect()))
        self.revealRequested.emit(extent)

    def placement(self) -> Placement:
        """Where every node is drawn now, for placing new nodes beside them."""
        # Every card but the placeholder, which a first milestone takes the place of.
        occupied = tuple(i.scene_body() for i in self._node_items()
                         if i is not self.placeholder_item)
        return Placement(
            milestones={k: QPointF(v.pos()) for k, v in self.milestone_items.items()},
            outputs={k: QPointF(v.pos()) for k, v in self.output_items.items()},
            occupied=occupied,
            widths=self.card_widths(),
        )

    def submit(self, command: Command) -> bool:
        """Hand a command to the editor; without one (a read-only scene) nothing happens."""
        if self.editor is None:
            return False
        return self.editor(command)

    # callbacks from items -------------------------------------------------------

    def milestone_activated(self, milestone_id: str) -> None:
        self.milestoneActivated.emit(milestone_id)

    def handle_clicked(self, milestone_id: str, role: str) -> None:
        self.handleClicked.emit(milestone_id, role)

    def placeholder_clicked(self) -> None:
        self.placeholderClicked.emit()

    def output_badge_clicked(self, output_id: str) -> None:
        self.outputBadgeClicked.emit(output_id)

    def context_menu_requested(self, kind: str, node_id: str, screen: QPoint,
                               at: QPointF) -> None:
        self.contextMenuRequested.emit(kind, node_id, screen, at)

    # ------------------------------------------------------------------ mouse: moving

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self.dismiss_hint()
        super().mousePressEvent(event)
        self._drag_start = {}
        self._followers = {}
        if event.button() != Qt.MouseButton.LeftButton or self._graph is None:
            return
        for item in self.selectedItems():
            if isinstance(item, MilestoneItem):
                self._drag_start[("milestone", item.node_id)] = QPointF(item.pos())
            elif isinstance(item, OutputItem):
                self._drag_start[("output", item.node_id)] = QPointF(item.pos())
        # A milestone's outputs hang under it: they travel with it (same undo step).
        for kind, node_id in list(self._drag_start):
            if kind != "milestone" or not self._graph.has_milestone(node_id):
                continue
            for output in self._graph.outputs_of(node_id):
                follower = self.output_items.get(output.id)
                if follower is not None and ("output", output.id) not in self._drag_start:
                    self._drag_start[("output", output.id)] = QPointF(follower.pos())
                    self._followers[output.id] = node_id

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseMoveEvent(event)
        for output_id, milestone_id in self._followers.items():
            leader = self.milestone_items.get(milestone_id)
            follower = self.output_items.get(output_id)
            if leader is None or follower is None:
                continue
            delta = leader.pos() - self._drag_start[("milestone", milestone_id)]
            follower.setPos(self._drag_start[("output", output_id)] + delta)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        start, self._drag_start = self._drag_start, {}
        self._followers = {}
        if event.button() != Qt.MouseButton.LeftButton or not start or self._graph is None:
            return
        moved: dict[NodeKey, tuple[float, float]] = {}
        for key, before in start.items():
            item = self.node_item(node_key(*key))
            if item is not None and item.pos() != before:
                moved[key] = (round(item.pos().x(), 1), round(item.pos().y(), 1))
        if not moved:
            return
        command = self._move_command(moved)
        if not self.submit(command):
            self._sync_structure()  # refused (or read-only): back to the model's places

    def _move_command(self, moved: dict[NodeKey, tuple[float, float]]) -> Command:
        """One MoveNodes; when a single milestone changes its vertical place among its
        split's siblings, the split is reordered in the same undo step."""
        graph = self._require_graph()
        move = MoveNodes(graph.id, moved)
        milestones = [node_id for kind, node_id in moved if kind == "milestone"]
        if len(milestones) != 1:
            return move
        milestone = graph.milestone(milestones[0])
        siblings = graph.children(milestone.parent_id)
        if len(siblings) < 2:
            return move
        by_height = sorted(siblings, key=lambda m: self.milestone_items[m.id].pos().y())
        index = [m.id for m in by_height].index(milestone.id)
        if index == graph.child_index(milestone.id):
            return move
        reorder = reorder_milestone(graph.id, milestone.id, index, milestone.parent_id)
        return Macro(reorder.text, [move, reorder], named_by=reorder)

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        super().contextMenuEvent(event)
        if not event.isAccepted() and self._graph is not None:
            self.clearSelection()
            self.contextMenuRequested.emit("", "", event.screenPos(), event.scenePos())
            event.accept()

    # ------------------------------------------------------------------ palette drops

    def dragEnterEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        if self._graph is not None and entry_from_mime(event.mimeData()) is not None:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self._show_drop_plan(event)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        if self._graph is None or entry_from_mime(event.mimeData()) is None:
            event.ignore()
            return
        self._show_drop_plan(event)
        # Accepted even where refused, so the hint keeps following the cursor; a refused
        # drop does nothing but say why.
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()

    def dragLeaveEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        self._clear_drop_feedback()
        event.accept()

    def dropEvent(self, event: QGraphicsSceneDragDropEvent) -> None:
        entry = entry_from_mime(event.mimeData())
        graph = self._graph
        if graph is None or entry is None:
            self._clear_drop_feedback()
            event.ignore()
            return
        target = self._milestone_at(event.scenePos())
        plan = plan_drop(graph, self.placement(), entry,
                         target.node_id if target is not None else None,
                         self._drop_corner(event.scenePos()))
        self._clear_drop_feedback()
        if plan.command is None:
            self._show_hint(plan.message, True, event.scenePos())
            event.setDropAction(Qt.DropAction.IgnoreAction)
            event.accept()
            return
        if self.submit(plan.command):
            new = getattr(plan.command, "milestone", None) or getattr(plan.command, "output", None)
            if new is not None:
                self.show_new_node("milestone" if hasattr(plan.command, "milestone")
                                   else "output", new.id)
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()

    def _drop_corner(self, at: QPointF) -> QPointF:
        """The top-left corner for a card dropped with the cursor at its middle-left
        (onto the empty journey's placeholder: exactly in its place)."""
        placeholder = self.placeholder_item
        if placeholder is not None and placeholder.scene_body().contains(at):
            return QPointF(placeholder.pos())
        return QPointF(at.x() - 24.0, at.y() - MILESTONE_SIZE.height() / 2)

    def _milestone_at(self, at: QPointF) -> MilestoneItem | None:
        for item in self.items(at):
            candidate = item
            while candidate is not None and not isinstance(candidate, MilestoneItem):
                candidate = candidate.parentItem()
            if isinstance(candidate, MilestoneItem) and candidate.scene_body().adjusted(
                    -4, -4, 4, 4).contains(at):
                return candidate
        return None

    def _show_drop_plan(self, event: QGraphicsSceneDragDropEvent) -> object:
        entry = entry_from_mime(event.mimeData())
        graph = self._graph
        if entry is None or graph is None:
            return None
        target = self._milestone_at(event.scenePos())
        plan = plan_drop(graph, self.placement(), entry,
                         target.node_id if target is not None else None,
                         self._drop_corner(event.scenePos()))
        highlighted: NodeItem | None = target
        placeholder = self.placeholder_item
        if target is None and placeholder is not None and \
                placeholder.scene_body().contains(event.scenePos()):
            highlighted = placeholder
        if self._drop_target is not None and self._drop_target is not highlighted:
            self._drop_target.set_drop_state(None)
        self._drop_target = highlighted
        if highlighted is not None:
            highlighted.set_drop_state("refuse" if plan.refused else "accept")
        self._show_hint(plan.message, plan.refused, event.scenePos())
        return plan

    def _show_hint(self, text: str, refused: bool, at: QPointF) -> None:
        if self.drop_hint is None:
            self.drop_hint = HintItem()
            self.addItem(self.drop_hint)
        self.drop_hint.set_hint(text, refused)
        self.drop_hint.setPos(at + QPointF(16.0, 18.0))
        self.drop_hint.setVisible(True)

    def dismiss_hint(self) -> None:
        """Take away a refused drop's hint. It explains the drop just made, so the next
        click, Esc, selection change or edit (undo and redo too) ends it."""
        if self.drop_hint is not None:
            self.drop_hint.setVisible(False)

    def _clear_drop_feedback(self) -> None:
        if self._drop_target is not None:
            self._drop_target.set_drop_state(None)
            self._drop_target = None
        if self.drop_hint is not None:
            self.drop_hint.setVisible(False)

    # ------------------------------------------------------------------ events

    def _on_event(self, event: DomainEvent) -> None:
        graph = self._graph
        if graph is None or event.journey_id != graph.id:
            return
        self.dismiss_hint()
        if isinstance(event, NodeAdded):
            self._add_node(event.kind, event.node_id)
            self._sync_structure()
        elif isinstance(event, NodeRemoved):
            self._remove_node(event.kind, event.node_id)
            self._sync_structure()
        elif isinstance(event, NodeChanged):
            # Name, criteria, parent, split order or position: captions of siblings
            # (“SPLIT · 1 OF 2”) and edges may change with it, so refresh them all.
            self._sync_structure()
            for milestone_item in self.milestone_items.values():
                milestone_item.update()
            if event.kind == "output" and event.node_id in self.output_items:
                self.output_items[event.node_id].update()
        elif isinstance(event, OutputToggled):
            if event.output_id in self.output_items:
                self.output_items[event.output_id].update()
            self._refit()
            self._repaint_edges()
        elif isinstance(event, StatusChanged):
            self._repaint_milestones()
            self._repaint_edges()
        elif isinstance(event, JourneyChanged):
            self._sync_inputs()
            self._sync_structure()
            self.graphChanged.emit()
            return
        self.contentChanged.emit()

    # ------------------------------------------------------------------ building

    def _require_graph(self) -> JourneyGraph:
        if self._graph is None:
            raise RuntimeError("the canvas shows no journey")
        return self._graph

    def _detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _clear(self) -> None:
        for item in list(self.items()):
            if item.parentItem() is None:
                self.removeItem(item)
        self.milestone_items.clear()
        self.output_items.clear()
        self.input_items.clear()
        self.edge_items.clear()
        self._edges_of.clear()
        self.start_item = None
        self.placeholder_item = None
        self.drop_hint = None
        self._drop_target = None

    def _build(self) -> None:
        graph = self._require_graph()
        self.start_item = StartItem()
        self.addItem(self.start_item)
        for milestone in graph.milestones_in_order():
            self._add_node("milestone", milestone.id)
        for output in graph.outputs():
            self._add_node("output", output.id)
        self._sync_inputs()
        self._sync_structure()

    def _add_node(self, kind: str, node_id: str) -> None:
        item: MilestoneItem | OutputItem
        if kind == "milestone":
            if node_id in self.milestone_items:
                return
            item = self.milestone_items[node_id] = MilestoneItem(node_id)
        else:
            if node_id in self.output_items:
                return
            item = self.output_items[node_id] = OutputItem(node_id)
        self.addItem(item)

    def _remove_node(self, kind: str, node_id: str) -> None:
        items: dict[str, MilestoneItem] | dict[str, OutputItem]
        items = self.milestone_items if kind == "milestone" else self.output_items
        item = items.pop(node_id, None)
        if item is not None:
            self.removeItem(item)

    def _sync_inputs(self) -> None:
        """One input item per selected input that the account still has."""
        graph = self._require_graph()
        wanted = [i for i in graph.journey.input_ids if i in self._state.inputs]
        for input_id in set(self.input_items) - set(wanted):
            self.removeItem(self.input_items.pop(input_id))
        for input_id in wanted:
            if input_id not in self.input_items:
                item = self.input_items[input_id] = InputItem(input_id)
                self.addItem(item)
            else:
                self.input_items[input_id].update()

    def _sync_structure(self) -> None:
        """Positions from the model, then the edge set and the routes, then the scene rect."""
        self._sync_placeholder()
        self._place_nodes()
        self._sync_edges()
        self._route_edges()
        rect = self.journey_rect()
        self.setSceneRect(rect.adjusted(-SCENE_MARGIN, -SCENE_MARGIN,
                                        SCENE_MARGIN, SCENE_MARGIN))

    def _sync_placeholder(self) -> None:
        """Show the empty-journey placeholder exactly while there is no milestone."""
        empty = not self.milestone_items
        if empty and self.placeholder_item is None:
            self.placeholder_item = PlaceholderItem()
            self.placeholder_item.setPos(0.0, 0.0)  # the first milestone's automatic place
            self.addItem(self.placeholder_item)
        elif not empty and self.placeholder_item is not None:
            self.removeItem(self.placeholder_item)
            self.placeholder_item = None

    # ------------------------------------------------------------------ placement

    def _fit_texts(self) -> bool:
        """Every card as wide as its text asks (inputs share the widest input's width, so
        their column stays straight); True when some card changed its width."""
        changed = False
        for item in (*self.milestone_items.values(), *self.output_items.values()):
            changed = item.fit_text() or changed
        inputs = list(self.input_items.values())
        if inputs:
            column = max(min(i.MAX_WIDTH, max(i.SIZE.width(), i.text_width())) for i in inputs)
            for item in inputs:
                changed = item.fit_text(column) or changed
        if self.start_item is not None:
            changed = self.start_item.fit_text() or changed
        return changed

    def _refit(self) -> None:
        """After a text changed (a name, a size, a status): cards that grew or shrank
        move their edges and the nodes placed beside them."""
        if self._graph is not None and self._fit_texts():
            self._sync_structure()

    def card_widths(self) -> dict[str, float]:
        """The drawn width of every milestone and output card, by id (for the layout)."""
        return {node_id: item.size().width()
                for node_id, item in (*self.milestone_items.items(), *self.output_items.items())}

    def _place_nodes(self) -> None:
        self._fit_texts()
        self._placing = True
        try:
            self._place_all()
        finally:
            self._placing = False

    def _place_all(self) -> None:
        graph = self._require_graph()
        auto: Layout | None = None

        def fallback() -> Layout:
            nonlocal auto
            if auto is None:
                auto = auto_layout(graph, self.card_widths())
            return auto

        # A node at exactly (0, 0) was never placed (the first top-level milestone is at
        # (0, 0) in the automatic layout too), so it takes its automatic position.
        for milestone_id, milestone_item in self.milestone_items.items():
            milestone = graph.milestone(milestone_id)
            x, y = milestone.x, milestone.y
            if (x, y) == (0.0, 0.0):
                x, y = fallback().milestones.get(milestone_id, (0.0, 0.0))
            milestone_item.setPos(x, y)
        for output_id, output_item in self.output_items.items():
            output = graph.output(output_id)
            x, y = output.x, output.y
            if (x, y) == (0.0, 0.0):
                x, y = fallback().outputs.get(output_id, (0.0, 0.0))
            output_item.setPos(x, y)
        self._place_start_and_inputs()

    def _place_start_and_inputs(self) -> None:
        """The start pill left of the top milestones, centred on them; inputs left of it."""
        if self.start_item is None:
            return
        graph = self._require_graph()
        tops = [self.milestone_items[m.id].scene_body() for m in graph.children(None)
                if m.id in self.milestone_items]
        if not tops and self.placeholder_item is not None:
            tops = [self.placeholder_item.scene_body()]
        if tops:
            left = min(r.left() for r in tops)
            middle = (tops[0].center().y() + tops[-1].center().y()) / 2
        else:
            left, middle = 0.0, MILESTONE_SIZE.height() / 2
        start = self.start_item.size()
        start_x = left - START_GAP - start.width()
        self.start_item.setPos(start_x, middle - start.height() / 2)
        # The layout's spacing, centred on the start pill (it may go above y = 0).
        inputs = list(self.input_items.values())
        slots = [y for _, y in input_positions(len(inputs), 0.0)]
        if not slots:
            return
        column = max(item.size().width() for item in inputs)
        height = slots[-1] - slots[0] + inputs[0].size().height()
        top = middle - height / 2
        x = start_x - INPUT_GAP - column
        for item, y in zip(inputs, slots, strict=True):
            item.setPos(x, top + (y - slots[0]))

    # ------------------------------------------------------------------ edges

    def _wanted_edges(self) -> list[EdgeKey]:
        graph = self._require_graph()
        edges: list[EdgeKey] = [(node_key("input", i), START_KEY) for i in self.input_items]
        for milestone in graph.milestones_in_order():
            parent = (START_KEY if milestone.parent_id is None
                      else node_key("milestone", milestone.parent_id))
            edges.append((parent, node_key("milestone", milestone.id)))
            for output in graph.outputs_of(milestone.id):
                edges.append((node_key("milestone", milestone.id), node_key("output", output.id)))
        if self.placeholder_item is not None:
            edges.append((START_KEY, PLACEHOLDER_KEY))
        return edges

    def _sync_edges(self) -> None:
        wanted = self._wanted_edges()
        for key in set(self.edge_items) - set(wanted):
            self.removeItem(self.edge_items.pop(key))
        for key in wanted:
            if key not in self.edge_items:
                edge = self.edge_items[key] = EdgeItem(key)
                self.addItem(edge)
                if edge.label is not None:
                    edge.label.refresh()
        self._edges_of = {}
        for key in self.edge_items:
            for end in key:
                self._edges_of.setdefault(end, []).append(key)

    def _route_edges(self) -> None:
        for key in self.edge_items:
            self._route_edge(key)

    def _route_edge(self, key: EdgeKey) -> None:
        edge = self.edge_items.get(key)
        source = self.node_item(key[0])
        target = self.node_item(key[1])
        if edge is None or source is None or target is None:
            return
        if isinstance(target, OutputItem) and isinstance(source, MilestoneItem):
            self._route_output_edge(edge, source, target)
        elif isinstance(target, MilestoneItem) and isinstance(source, MilestoneItem) \
                and self._hangs_below(source, target):
            self._route_arm_edge(edge, source, target)
        else:
            edge.set_route(source.right_port(), target.left_port())

    def _hanging_outputs(self, milestone_id: str) -> list[OutputItem]:
        graph = self._require_graph()
        return [self.output_items[o.id] for o in graph.outputs_of(milestone_id)
                if o.id in self.output_items]

    def _hangs_below(self, source: MilestoneItem, target: MilestoneItem) -> bool:
        """An A/B test's arm under its tested card and the outputs hanging from it (where
        :func:`~app.ui.canvas.edits.arm_spots` puts it)."""
        graph = self._require_graph()
        if not graph.has_milestone(target.node_id) \
                or graph.milestone(target.node_id).variant is None:
            return False
        bottom = max([source.scene_body().bottom(),
                      *(o.scene_body().bottom() for o in self._hanging_outputs(source.node_id))])
        return target.scene_body().top() >= bottom + ARM_DROP / 2

    def _route_arm_edge(self, edge: EdgeItem, source: MilestoneItem,
                        target: MilestoneItem) -> None:
        """Down from the tested card into the top of an arm hanging below it: from its
        outputs' rail when outputs hang there (so the edge passes left of them), else
        from the middle of its bottom."""
        above = source.scene_body()
        below = target.scene_body()
        start_x = above.left() + RAIL_INSET if self._hanging_outputs(source.node_id) \
            else above.center().x()
        edge.set_drop_route(QPointF(start_x, above.bottom()),
                            QPointF(below.center().x(), below.top()), fan=ARM_DROP - 16.0)

    @staticmethod
    def _route_output_edge(edge: EdgeItem, source: MilestoneItem, target: OutputItem) -> None:
        """A rail down from the milestone into outputs hanging below it; a curve otherwise."""
        above = source.scene_body()
        below = target.scene_body()
        rail_x = above.left() + RAIL_INSET
        if below.top() >= above.bottom() and rail_x < below.left() - 6.0:
            edge.set_route(QPointF(rail_x, above.bottom()), target.left_port(), elbow=True)
        else:
            edge.set_route(source.right_port(), target.left_port())

    def _repaint_edges(self) -> None:
        for edge in self.edge_items.values():
            edge.update()

    def _node_items(self) -> list[NodeItem]:
        nodes: list[NodeItem] = [*self.milestone_items.values(), *self.output_items.values(),
                                 *self.input_items.values()]
        for extra in (self.start_item, self.placeholder_item):
            if extra is not None:
                nodes.append(extra)
        return nodes

