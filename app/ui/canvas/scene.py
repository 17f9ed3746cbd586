"""JourneyScene: mirrors one JourneyGraph as canvas items, live.

The graph is the single source of truth. The scene subscribes to its change
events and keeps id -> item maps (``milestone_items``, ``output_items``,
``input_items``, ``edge_items``) in step: it adds and removes items, moves
them to the positions on the model, reroutes edges and repaints what a change
touched. It never changes the graph. :meth:`set_graph` swaps journeys and
unsubscribes from the previous one, so a scene leaves no listener behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QPointF, QRectF, Signal
from PySide6.QtWidgets import QGraphicsScene

from app.core.account import AccountState
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
from app.ui.canvas.items import (
    INPUT_SIZE,
    MILESTONE_SIZE,
    START_SIZE,
    EdgeItem,
    InputItem,
    MilestoneItem,
    NodeItem,
    OutputItem,
    PlaceholderItem,
    StartItem,
)

log = logging.getLogger(__name__)

EdgeKey = tuple[str, str]
"""(source node key, target node key); node keys are ``"<kind>:<id>"`` or ``"start"``."""

START_KEY = "start"
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

    def __init__(self, state: AccountState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._graph: JourneyGraph | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.milestone_items: dict[str, MilestoneItem] = {}
        self.output_items: dict[str, OutputItem] = {}
        self.input_items: dict[str, InputItem] = {}
        self.edge_items: dict[EdgeKey, EdgeItem] = {}
        self.start_item: StartItem | None = None
        self.placeholder_item: PlaceholderItem | None = None

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
        return cards.milestone_card(self._require_graph(), milestone_id)

    def output_card(self, output_id: str) -> cards.OutputCard:
        return cards.output_card(self._require_graph(), self._state, output_id)

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

    # ------------------------------------------------------------------ events

    def _on_event(self, event: DomainEvent) -> None:
        graph = self._graph
        if graph is None or event.journey_id != graph.id:
            return
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
            self._repaint_edges()
        elif isinstance(event, StatusChanged):
            for milestone_item in self.milestone_items.values():
                milestone_item.update()
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
        self.start_item = None
        self.placeholder_item = None

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

    def _place_nodes(self) -> None:
        graph = self._require_graph()
        auto: Layout | None = None

        def fallback() -> Layout:
            nonlocal auto
            if auto is None:
                auto = auto_layout(graph)
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
        start_x = left - START_GAP - START_SIZE.width()
        self.start_item.setPos(start_x, middle - START_SIZE.height() / 2)
        # The layout's spacing, centred on the start pill (it may go above y = 0).
        inputs = list(self.input_items.values())
        slots = [y for _, y in input_positions(len(inputs), 0.0)]
        if not slots:
            return
        height = slots[-1] - slots[0] + INPUT_SIZE.height()
        top = middle - height / 2
        x = start_x - INPUT_GAP - INPUT_SIZE.width()
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

    def _route_edges(self) -> None:
        for key, edge in self.edge_items.items():
            source = self.node_item(key[0])
            target = self.node_item(key[1])
            if source is None or target is None:
                continue
            if isinstance(target, OutputItem) and isinstance(source, MilestoneItem):
                self._route_output_edge(edge, source, target)
            else:
                edge.set_route(source.right_port(), target.left_port())

    @staticmethod
    def _route_output_edge(edge: EdgeItem, source: MilestoneItem, target: OutputItem) -> None:
        """A rail down from the milestone into outputs hanging below it; a curve otherwise."""
        above = source.scene_body()
        below = target.scene_body()
        rail_x = above.left() + 10.0
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

