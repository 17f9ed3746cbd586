"""JourneyScene on its own: building, placeholders, positions, detaching, theme repaint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from app.core.account import AccountState
from app.core.criteria import AudienceDefinition, Clause, DeviceCriterion, describe
from app.core.models import Journey, JourneyDocument, Milestone
from app.ui.canvas.items import EdgeItem, PlaceholderItem
from app.ui.canvas.scene import PLACEHOLDER_KEY, START_KEY, JourneyScene, node_key

from .demo import demo_state


@pytest.fixture
def state() -> AccountState:
    return demo_state()


@pytest.fixture
def scene(qapp: QApplication, state: AccountState) -> Iterator[JourneyScene]:
    journey_scene = JourneyScene(state)
    yield journey_scene
    journey_scene.close()


def test_a_journey_without_milestones_shows_a_placeholder_until_one_is_added(
    scene: JourneyScene, state: AccountState
) -> None:
    graph = state.add_journey(JourneyDocument(journey=Journey(
        id="jr-empty", name="Empty", input_ids=("in-marketing-web",))))
    scene.set_graph(graph)
    assert isinstance(scene.placeholder_item, PlaceholderItem)
    assert scene.placeholder_item.texts()[0] == "No milestones yet"
    assert (START_KEY, PLACEHOLDER_KEY) in scene.edge_items
    assert set(scene.input_items) == {"in-marketing-web"}

    graph.add_milestone(Milestone(id="ms-first", name="First"))
    assert scene.placeholder_item is None
    assert (START_KEY, PLACEHOLDER_KEY) not in scene.edge_items
    assert scene.milestone_items["ms-first"].texts()[:4] == (
        "MILESTONE", "First", "Everyone in the journey", "Inactive"
    )
    graph.remove_milestone("ms-first")
    assert scene.placeholder_item is not None


def test_moving_a_node_in_core_moves_its_item_and_reroutes_its_edges(
    scene: JourneyScene, state: AccountState
) -> None:
    graph = state.journey("jr-california-promo")
    scene.set_graph(graph)
    edge: EdgeItem = scene.edge_items[(node_key("milestone", "ms-all-users"),
                                       node_key("milestone", "ms-california"))]
    end_before = edge.path().pointAtPercent(1.0)
    graph.set_milestone_position("ms-california", 700.0, 240.0)
    item = scene.milestone_items["ms-california"]
    assert (item.x(), item.y()) == (700.0, 240.0)
    end_after = edge.path().pointAtPercent(1.0)
    assert end_after.x() > end_before.x() and end_after.y() > end_before.y()


def test_criteria_and_split_changes_redraw_the_cards(
    scene: JourneyScene, state: AccountState
) -> None:
    graph = state.journey("jr-trial-to-paid")
    scene.set_graph(graph)
    assert scene.milestone_items["ms-saved"].texts()[0] == "SPLIT · 1 OF 2"
    assert scene.milestone_items["ms-not-saved"].texts()[2] == "Everyone not in the other paths"
    definition = AudienceDefinition(clauses=(
        Clause(item=DeviceCriterion(platforms=("iOS", "Android"))),))
    graph.set_definition("ms-converted", definition)
    wording = describe(definition)
    assert scene.milestone_items["ms-converted"].texts()[2] == wording[:1].upper() + wording[1:]
    assert "iOS" in wording


def test_set_graph_none_clears_everything_and_unsubscribes(
    scene: JourneyScene, state: AccountState
) -> None:
    graph = state.journey("jr-trial-to-paid")
    scene.set_graph(graph)
    scene.set_graph(graph)  # the same journey again: nothing changes, no second listener
    assert len(graph._listeners) == 1
    assert scene.items()
    scene.set_graph(None)
    assert graph._listeners == []
    assert scene.items() == []
    assert not (scene.milestone_items or scene.output_items or scene.input_items
                or scene.edge_items)
    assert scene.start_item is None


def test_an_input_removed_from_the_journey_leaves_the_canvas(
    scene: JourneyScene, state: AccountState
) -> None:
    graph = state.journey("jr-california-promo")
    scene.set_graph(graph)
    fewer = graph.journey.model_copy(update={"input_ids": ("in-streaming-ios",)})
    graph.replace_journey(fewer)
    assert set(scene.input_items) == {"in-streaming-ios"}
    assert {k for k in scene.edge_items if k[1] == START_KEY} == {
        (node_key("input", "in-streaming-ios"), START_KEY)
    }
