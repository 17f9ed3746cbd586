"""The main window on the demo account: journeys list, canvas mirroring, status meter."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from app.core.criteria import describe
from app.core.models import Milestone, Output
from app.ui import theme
from app.ui.canvas.funnel_labels import FunnelLabelItem
from app.ui.canvas.items import HandleItem, MilestoneItem, OutputItem, chip_width
from app.ui.canvas.scene import START_KEY, node_key
from app.ui.journeys_panel import SUMMARY_ROLE
from app.ui.main_window import MainWindow

from .demo import DemoStudio

TRIAL = "jr-trial-to-paid"
CALIFORNIA = "jr-california-promo"
CALIFORNIA_MILESTONES = {"ms-all-users", "ms-california"}
CALIFORNIA_OUTPUTS = {"out-all-facebook", "out-california-facebook"}
TRIAL_MILESTONES = {"ms-signed-up", "ms-watched", "ms-saved", "ms-converted", "ms-not-saved"}


def click_journey(qtbot: QtBot, window: MainWindow, name: str) -> None:
    """A real left click on the row of the journey called ``name``."""
    view = window.panel.list
    model = window.panel.model
    rows = [r for r in range(model.rowCount()) if model.index(r).data() == name]
    assert rows, f"no row called {name!r}"
    centre = view.visualRect(model.index(rows[0])).center()
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, centre)
    qtbot.waitUntil(lambda: window.panel.current_journey_id() == model.journey_id(rows[0]))


def listener_count(window: MainWindow, journey_id: str) -> int:
    return len(window.studio.state.journey(journey_id)._listeners)


def pixel_at(window: MainWindow, item: OutputItem, x: float, y: float) -> QColor:
    """The colour drawn on screen at item coordinates (x, y), via a fresh viewport grab."""
    scene_point = item.mapToScene(QPointF(x, y))
    view_point: QPoint = window.view.mapFromScene(scene_point)
    image: QImage = window.view.viewport().grab().toImage()
    ratio = image.devicePixelRatio()
    return image.pixelColor(round(view_point.x() * ratio), round(view_point.y() * ratio))


def close_to(color: QColor, hex_color: str, tolerance: int = 14) -> bool:
    other = QColor(hex_color)
    return all(abs(a - b) <= tolerance for a, b in zip(
        (color.red(), color.green(), color.blue()),
        (other.red(), other.green(), other.blue()),
        strict=True,
    ))


# --------------------------------------------------------------------------- the list


def test_lists_the_demo_journeys_by_name_with_summaries(window: MainWindow) -> None:
    model = window.panel.model
    names = [model.index(row).data() for row in range(model.rowCount())]
    assert names == ["Trial to paid", "California promo"]
    summaries = [model.index(row).data(SUMMARY_ROLE) for row in range(model.rowCount())]
    assert summaries == ["5 milestones · 1 active", "2 milestones · 2 active"]
    assert window.panel.count.text() == "2"
    assert window.windowTitle() == "Journey Studio — Demo account"


def test_the_first_journey_is_selected_and_shown_at_start(window: MainWindow) -> None:
    assert window.panel.current_journey_id() == TRIAL
    assert window.scene.graph is not None and window.scene.graph.id == TRIAL
    assert set(window.scene.milestone_items) == TRIAL_MILESTONES
    assert window.header.title.text() == "Trial to paid"
    assert window.header.subtitle.text() == "3 inputs · 5 milestones · 2 outputs"


def test_clicking_a_journey_puts_exactly_its_nodes_on_the_canvas(
    qtbot: QtBot, window: MainWindow
) -> None:
    click_journey(qtbot, window, "California promo")
    scene = window.scene
    assert scene.graph is not None and scene.graph.id == CALIFORNIA
    assert set(scene.milestone_items) == CALIFORNIA_MILESTONES
    assert set(scene.output_items) == CALIFORNIA_OUTPUTS
    assert set(scene.input_items) == {
        "in-streaming-ios", "in-streaming-android", "in-streaming-web", "in-marketing-web"
    }
    # What the cards draw.
    assert scene.milestone_items["ms-all-users"].texts()[:4] == (
        "MILESTONE", "All app and web users", "Everyone in the journey", "Active"
    )
    # The criteria line is core's one-line description, capitalised.
    wording = describe(scene.graph.milestone("ms-california").definition)
    assert scene.milestone_items["ms-california"].texts()[:4] == (
        "MILESTONE", "In California", wording[:1].upper() + wording[1:], "Active"
    )
    assert scene.output_items["out-california-facebook"].texts() == (
        "Facebook Custom Audiences", "Active"
    )
    assert scene.input_items["in-marketing-web"].texts() == ("Web", "Marketing Site")
    assert scene.start_item is not None and scene.start_item.texts() == ("Journey start",)
    # Inputs -> start -> milestones -> child, milestone -> its outputs.
    assert set(scene.edge_items) == {
        *((node_key("input", i), START_KEY) for i in scene.input_items),
        (START_KEY, node_key("milestone", "ms-all-users")),
        (node_key("milestone", "ms-all-users"), node_key("milestone", "ms-california")),
        (node_key("milestone", "ms-all-users"), node_key("output", "out-all-facebook")),
        (node_key("milestone", "ms-california"), node_key("output", "out-california-facebook")),
    }
    # Nothing else is on the scene: every item is one of the mapped ones, a +/split/output
    # handle that belongs to one of their milestones, or the funnel badge of one of their
    # milestone edges.
    mapped = {*scene.milestone_items.values(), *scene.output_items.values(),
              *scene.input_items.values(), *scene.edge_items.values(), scene.start_item}
    extra = set(scene.items()) - mapped
    assert extra and all(
        isinstance(item, (HandleItem, FunnelLabelItem)) and item.parentItem() in mapped
        for item in extra
    )
    assert window.header.title.text() == "California promo"


def test_items_sit_at_the_positions_on_the_model(qtbot: QtBot, window: MainWindow) -> None:
    click_journey(qtbot, window, "California promo")
    graph = window.scene.graph
    assert graph is not None
    for milestone in graph.milestones_in_order():
        item = window.scene.milestone_items[milestone.id]
        assert (item.pos().x(), item.pos().y()) == (milestone.x, milestone.y)
    for output in graph.outputs():
        item = window.scene.output_items[output.id]
        assert (item.pos().x(), item.pos().y()) == (output.x, output.y)
    # Inputs stand left of the start pill, which stands left of the first milestone.
    start = window.scene.start_item
    assert start is not None
    assert start.scene_body().right() < window.scene.milestone_items["ms-all-users"].x()
    assert all(i.scene_body().right() < start.x() for i in window.scene.input_items.values())


# --------------------------------------------------------------------------- live mirroring


def test_toggling_an_output_in_core_repaints_the_badge_chip_and_meter(
    qtbot: QtBot, window: MainWindow
) -> None:
    click_journey(qtbot, window, "California promo")
    scene = window.scene
    graph = scene.graph
    assert graph is not None
    output_item = scene.output_items["out-california-facebook"]
    milestone_item: MilestoneItem = scene.milestone_items["ms-california"]
    edge = scene.edge_items[(node_key("milestone", "ms-california"),
                             node_key("output", "out-california-facebook"))]
    # A point inside the status chip of the output, left of its dot.
    chip_x = 45.0 + 2.5
    chip_y = 22.0 + 17.0 / 2
    assert chip_width("Active", 17.0) > 10
    palette = theme.current()
    before = pixel_at(window, output_item, chip_x, chip_y)
    assert close_to(before, palette.success_soft), before.name()
    assert window.meter.text() == "Active audiences 3 / 25"

    graph.set_output_active("out-california-facebook", False)

    assert output_item.texts() == ("Facebook Custom Audiences", "Inactive")
    assert milestone_item.card().status == "Inactive"
    assert scene.milestone_items["ms-all-users"].card().status == "Active"
    assert not scene.edge_active(edge.key)
    # Items cache their pixels: the new colour shows only because the scene listened.
    after = pixel_at(window, output_item, chip_x, chip_y)
    assert close_to(after, palette.neutral_soft), after.name()
    # The meter and the list listen too: no manual refresh.
    assert window.meter.text() == "Active audiences 2 / 25"
    row = window.panel.model.row_of(CALIFORNIA)
    assert window.panel.model.index(row).data(SUMMARY_ROLE) == "2 milestones · 1 active"

    graph.set_output_active("out-california-facebook", True)
    assert output_item.texts()[-1] == "Active"
    assert close_to(pixel_at(window, output_item, chip_x, chip_y), palette.success_soft)
    assert window.meter.text() == "Active audiences 3 / 25"


def test_nodes_added_and_removed_in_core_appear_and_vanish(
    qtbot: QtBot, window: MainWindow
) -> None:
    click_journey(qtbot, window, "California promo")
    scene = window.scene
    graph = scene.graph
    assert graph is not None
    graph.add_milestone(Milestone(id="ms-bought", name="Bought a plan", parent_id="ms-california"))
    graph.add_output(Output(id="out-bought-braze", milestone_id="ms-bought",
                            connection_id="cn-braze", active=False))
    assert set(scene.milestone_items) == CALIFORNIA_MILESTONES | {"ms-bought"}
    assert "out-bought-braze" in scene.output_items
    assert (node_key("milestone", "ms-california"), node_key("milestone", "ms-bought")) \
        in scene.edge_items
    # An unplaced node (at 0, 0) takes its automatic place: right of its parent.
    bought = scene.milestone_items["ms-bought"]
    assert bought.x() > scene.milestone_items["ms-california"].x()
    assert scene.output_items["out-bought-braze"].y() > bought.y()
    assert window.header.subtitle.text() == "4 inputs · 3 milestones · 3 outputs"

    graph.remove_output("out-bought-braze")
    graph.remove_milestone("ms-bought")
    assert set(scene.milestone_items) == CALIFORNIA_MILESTONES
    assert set(scene.output_items) == CALIFORNIA_OUTPUTS
    assert all("ms-bought" not in part for key in scene.edge_items for part in key)


def test_renaming_in_core_updates_card_list_and_header(qtbot: QtBot, window: MainWindow) -> None:
    state = window.studio.state
    state.journey(TRIAL).rename_milestone("ms-watched", "Watched a show")
    state.rename_journey(TRIAL, "Trial to paid (2025)")
    assert window.scene.milestone_items["ms-watched"].texts()[1] == "Watched a show"
    assert window.panel.model.index(0).data() == "Trial to paid (2025)"
    assert window.header.title.text() == "Trial to paid (2025)"


def test_switching_journeys_unsubscribes_and_drops_the_old_items(
    qtbot: QtBot, window: MainWindow
) -> None:
    # At start the canvas and the evaluation runner listen to "Trial to paid"; the
    # watcher listens to both.
    assert listener_count(window, TRIAL) == 3
    assert listener_count(window, CALIFORNIA) == 1
    click_journey(qtbot, window, "California promo")
    assert listener_count(window, TRIAL) == 1
    assert listener_count(window, CALIFORNIA) == 3
    ids = {*window.scene.milestone_items, *window.scene.output_items}
    assert not ids & TRIAL_MILESTONES
    assert not {i for i in ids if i.startswith("out-trial") or i.startswith("out-not-saved")}
    # Edits to the journey no longer shown leave the canvas alone.
    items_before = set(window.scene.items())
    window.studio.state.journey(TRIAL).set_output_active("out-trial-crm", False)
    assert set(window.scene.items()) == items_before
    # Back and forth many times: no listener piles up.
    for _ in range(5):
        click_journey(qtbot, window, "Trial to paid")
        click_journey(qtbot, window, "California promo")
    assert listener_count(window, TRIAL) == 1
    assert listener_count(window, CALIFORNIA) == 3


def test_closing_the_window_leaves_no_listener_in_core(window: MainWindow) -> None:
    state = window.studio.state
    window.close()
    assert listener_count(window, TRIAL) == 0
    assert listener_count(window, CALIFORNIA) == 0
    assert state._listeners == []


# --------------------------------------------------------------------------- status bar


def test_meter_turns_to_warning_from_80_percent_of_the_limit(window: MainWindow) -> None:
    meter = window.meter
    assert meter.level == "ok"
    window.studio.state.set_limit(4)  # 3 of 4 = 75 %
    assert meter.text() == "Active audiences 3 / 4"
    assert meter.level == "ok"
    window.studio.state.set_limit(3)  # 100 %
    assert meter.text() == "Active audiences 3 / 3"
    assert meter.level == "warning"
    meter.value.ensurePolished()
    shown = meter.value.palette().color(meter.value.foregroundRole())
    assert shown == QColor(theme.current().warning_text)


def test_status_bar_names_the_database_without_secrets(window: MainWindow) -> None:
    assert window.database_label.text() == "SQLite · journeys.db"
    assert window.database_label.toolTip().endswith("journeys.db")


# --------------------------------------------------------------------------- window state


def test_geometry_and_splitter_are_restored(qtbot: QtBot, studio: DemoStudio) -> None:
    # Smaller than the offscreen screen (800 x 600): restoreGeometry keeps windows on it.
    first = MainWindow(studio)
    qtbot.addWidget(first)
    first.resize(760, 560)
    first.show()
    qtbot.waitExposed(first)
    first.splitter.setSizes([232, 528])
    panel_width = first.splitter.sizes()[0]
    assert panel_width != 256  # not the default
    first.close()
    second = MainWindow(studio)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    assert (second.size().width(), second.size().height()) == (760, 560)
    assert second.splitter.sizes()[0] == panel_width


def test_menu_has_quit_undo_and_fit_with_shortcuts(window: MainWindow) -> None:
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"
    assert window.fit_action.shortcut().toString() == "Ctrl+0"
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&View"]


def test_an_account_without_journeys_shows_an_empty_canvas(qtbot: QtBot) -> None:
    from app.core.account import AccountState
    from app.core.models import Account

    studio = DemoStudio(state=AccountState(Account(name="Empty account")))
    empty = MainWindow(studio)
    qtbot.addWidget(empty)
    empty.show()
    qtbot.waitExposed(empty)
    assert empty.panel.model.rowCount() == 0
    assert empty.scene.graph is None
    assert empty.header.title.text() == "No journey"
    assert not empty.header.fit_button.isEnabled()
    assert empty.meter.text() == "Active audiences 0 / 25"
    assert empty.windowTitle() == "Journey Studio — Empty account"


def test_switching_to_dark_repaints_the_canvas(qtbot: QtBot, window: MainWindow) -> None:
    output = window.scene.output_items["out-trial-crm"]
    light = pixel_at(window, output, 20.0, 4.0)  # card surface, away from text
    assert close_to(light, theme.LIGHT.surface)
    window.on_color_scheme_changed(Qt.ColorScheme.Dark)
    dark = pixel_at(window, output, 20.0, 4.0)
    assert close_to(dark, theme.DARK.surface), dark.name()


def test_a_long_journey_name_is_elided_not_widening_the_window(window: MainWindow) -> None:
    narrowest = window.minimumSizeHint().width()
    long_name = "Win-back for lapsed subscribers who have not opened the app in ninety days"
    window.studio.state.rename_journey(TRIAL, long_name)
    assert window.header.title.text() == long_name
    assert window.minimumSizeHint().width() == narrowest


def test_no_two_actions_of_the_window_share_a_shortcut(window: MainWindow) -> None:
    """A shortcut given to two actions is ambiguous: Qt runs neither and only logs it, so
    the marketer's key press silently does nothing."""
    from PySide6.QtGui import QAction

    owners: dict[str, list[str]] = {}
    for action in window.findChildren(QAction):
        for sequence in action.shortcuts():
            if not sequence.isEmpty():
                owners.setdefault(sequence.toString(), []).append(action.text())
    shared = {keys: names for keys, names in owners.items() if len(set(names)) > 1}
    assert shared == {}
    assert owners["Ctrl+I"] == ["&Import events…"]
