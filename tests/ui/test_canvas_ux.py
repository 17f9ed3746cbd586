"""The canvas and its panels as a marketer meets them: new nodes come into view, the
inspector and menus offer only what the rules allow, handles never hide cards, the
status bar speaks local time and the history names what each step changed.

Every test drives the window on the demo account with real mouse events on the
canvas (QTest on the view's viewport) and checks what a person would see.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QPushButton
from pytestqt.qtbot import QtBot

from app.core.models import JourneyDocument
from app.engine.evaluation import EvaluationResult
from app.ui.canvas.items import MilestoneItem, NodeItem
from app.ui.dialogs import ConnectionDialog, MilestoneDialog
from app.ui.main_window import MainWindow
from app.ui.palette import mime_for
from app.ui.status import EvaluatedLabel, evaluated_text
from app.ui.undo import HISTORY_ITEM_PADDING

from .conftest import TRIAL
from .demo import DemoStudio
from .test_editing import at, click, drop

# --------------------------------------------------------------------------- gestures


def body_point(item: NodeItem) -> QPointF:
    """A point on the card away from its badge and handles (the name line)."""
    body = item.scene_body()
    return QPointF(body.left() + 40, body.top() + body.height() * 0.6)


def visible_area(window: MainWindow) -> QRectF:
    """The part of the canvas on screen, in scene coordinates."""
    view = window.view
    return view.mapToScene(view.viewport().rect()).boundingRect()


def with_handles(item: MilestoneItem) -> QRectF:
    """A milestone's card and its + / send / split handles, in scene coordinates."""
    rect = item.scene_body()
    for handle in item.handles.values():
        rect = rect.united(handle.mapRectToScene(handle.boundingRect()))
    return rect


def click_handle(window: MainWindow, item: MilestoneItem, role: str) -> None:
    """Select the card (its handles show), then click one of its handles."""
    click(window, body_point(item))
    assert item.handles[role].isVisible()
    click(window, item.handles[role].scenePos())


def add_milestone_with(window: MainWindow, item: MilestoneItem, role: str,
                       name: str) -> MilestoneItem:
    """The + or split handle of ``item``, the editor filled with ``name`` and accepted."""
    click_handle(window, item, role)
    dialog = window.active_dialog
    assert isinstance(dialog, MilestoneDialog)
    dialog.name.setText(name)
    dialog.accept()
    graph = window.scene.graph
    assert graph is not None
    added = next(m for m in graph.milestones_in_order() if m.name == name)
    return window.scene.milestone_items[added.id]


# --------------------------------------------------------------------------- new nodes in view


def end_of_longest_path(window: MainWindow) -> MilestoneItem:
    """"Trial to paid" with its last milestone panned into view, as a person would."""
    window.panel.select(TRIAL)
    item = window.scene.milestone_items["ms-converted"]
    window.view.center_on_scene(item.scene_body().center())
    return item


def test_milestones_added_with_plus_at_the_end_of_a_path_come_into_view(
    window: MainWindow,
) -> None:
    item = end_of_longest_path(window)
    first_look = visible_area(window)
    for number in range(1, 5):
        item = add_milestone_with(window, item, "extend", f"Renewal {number}")
        assert item.isSelected()
        assert visible_area(window).contains(with_handles(item)), number
    # The path grew well past what was on screen at first: the view followed it.
    assert item.scene_body().left() > first_look.right()


def test_a_new_milestone_is_not_left_under_the_minimap(window: MainWindow) -> None:
    item = end_of_longest_path(window)
    at_the_edge(window, item, QPointF(1000, 1000))  # the bottom-right corner
    assert window.minimap.isVisible()
    added = add_milestone_with(window, item, "extend", "Renewed")
    shown = window.view.mapFromScene(with_handles(added)).boundingRect()
    assert window.view.viewport().rect().contains(shown)
    assert not window.minimap.geometry().intersects(shown)


def at_the_edge(window: MainWindow, item: MilestoneItem, away: QPointF) -> None:
    """Pan so the card and its handles just fit at one edge of the canvas (the one
    ``away`` points to): whatever is added beyond it lands out of sight unless the
    view follows."""
    window.view.center_on_scene(item.scene_body().center() - away)
    window.view.ensureVisible(with_handles(item), 8, 8)
    assert visible_area(window).contains(with_handles(item))


RIGHT = QPointF(2000, 0)
BOTTOM = QPointF(0, 2000)


def test_a_milestone_dropped_from_the_palette_comes_into_view(window: MainWindow) -> None:
    item = end_of_longest_path(window)
    at_the_edge(window, item, RIGHT)
    mime = mime_for(window.palette_panel.tile("Milestone").entry)
    drop(window, mime, item.scene_body().center())
    graph = window.scene.graph
    assert graph is not None
    added = window.scene.milestone_items[graph.children("ms-converted")[0].id]
    assert added.isSelected()
    assert visible_area(window).contains(with_handles(added))


def test_a_split_sibling_comes_into_view(window: MainWindow) -> None:
    item = end_of_longest_path(window)
    at_the_edge(window, item, BOTTOM)
    sibling = add_milestone_with(window, item, "split", "Renewed")
    assert sibling.scene_body().top() > item.scene_body().bottom()
    assert visible_area(window).contains(with_handles(sibling))


def test_an_output_added_with_the_send_handle_comes_into_view(window: MainWindow) -> None:
    item = end_of_longest_path(window)
    at_the_edge(window, item, BOTTOM)
    click_handle(window, item, "output")
    dialog = window.active_dialog
    assert isinstance(dialog, ConnectionDialog)
    dialog.choose("cn-braze")
    dialog.accept()
    graph = window.scene.graph
    assert graph is not None
    output = window.scene.output_items[graph.outputs_of(item.node_id)[-1].id]
    assert output.isSelected()
    assert visible_area(window).contains(output.scene_body())


# --------------------------------------------------------------------------- remove, when allowed


def remove_button(window: MainWindow) -> QPushButton:
    """The inspector's "Remove milestone" button on show."""
    QApplication.processEvents()  # a rebuilt inspector shows its new widgets from the loop
    buttons = [b for b in window.inspector.findChildren(QPushButton)
               if b.text() == "Remove milestone" and b.isVisible()]
    assert len(buttons) == 1
    return buttons[0]


def right_click(window: MainWindow, point: QPointF) -> QMenu:
    """A right-click on the canvas at ``point``: the context menu it opens."""
    viewport = window.view.viewport()
    position = at(window, point)
    # The event a right-click becomes in Qt's window (QTest's mouse events skip that step).
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Reason.Mouse,
                                                       position,
                                                       viewport.mapToGlobal(position)))
    menus = [m for m in window.findChildren(QMenu, "canvasMenu") if m.isVisible()]
    assert len(menus) == 1
    return menus[0]


def menu_action(menu: QMenu, text: str) -> QAction:
    return next(a for a in menu.actions() if a.text() == text)


@pytest.mark.parametrize("milestone_id", ["ms-watched", "ms-signed-up"])
def test_remove_milestone_is_disabled_with_the_reason_when_the_rules_refuse_it(
    window: MainWindow, milestone_id: str
) -> None:
    """A milestone with milestones after it (with or without outputs of its own)."""
    window.panel.select(TRIAL)
    graph = window.scene.graph
    assert graph is not None
    reason = graph.can_remove_milestone(milestone_id)
    assert reason and "removed last to first" in reason
    item = window.scene.milestone_items[milestone_id]
    window.view.center_on_scene(item.scene_body().center())
    click(window, body_point(item))
    assert window.inspector.shown == ("milestone", milestone_id)
    button = remove_button(window)
    assert not button.isEnabled()
    assert button.toolTip() == reason
    menu = right_click(window, body_point(item))
    try:
        assert menu.toolTipsVisible()
        remove = menu_action(menu, "Remove milestone")
        assert not remove.isEnabled()
        assert remove.toolTip() == reason
    finally:
        menu.close()
    assert graph.has_milestone(milestone_id)


def test_remove_milestone_is_offered_for_a_last_milestone_and_removes_it(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.panel.select(TRIAL)
    graph = window.scene.graph
    assert graph is not None
    item = window.scene.milestone_items["ms-converted"]
    window.view.center_on_scene(item.scene_body().center())
    menu = right_click(window, body_point(item))
    try:
        assert menu_action(menu, "Remove milestone").isEnabled()
    finally:
        menu.close()
    assert window.inspector.shown == ("milestone", "ms-converted")
    button = remove_button(window)
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not graph.has_milestone("ms-converted")
    assert "ms-converted" not in window.scene.milestone_items
    assert window.undo_stack.undoText() == "Remove milestone “Converted to paid”"


# --------------------------------------------------------------------------- the split handle


def handle_rect(item: MilestoneItem, role: str) -> QRectF:
    handle = item.handles[role]
    return handle.mapRectToScene(handle.boundingRect())


@pytest.mark.parametrize("milestone_id", ["ms-signed-up", "ms-not-saved"])
def test_the_split_handle_never_covers_an_output_card_and_opens_the_split_editor(
    window: MainWindow, milestone_id: str
) -> None:
    window.panel.select(TRIAL)
    graph = window.scene.graph
    assert graph is not None
    outputs = [window.scene.output_items[o.id] for o in graph.outputs_of(milestone_id)]
    assert outputs  # hanging under the milestone, where the automatic layout puts them
    item = window.scene.milestone_items[milestone_id]
    window.view.center_on_scene(item.scene_body().center())
    click(window, body_point(item))
    assert item.handles["split"].isVisible()
    split = handle_rect(item, "split")
    for output in window.scene.output_items.values():
        assert not split.intersects(output.scene_body()), output.node_id
    # Nor does it sit on its neighbours, the other handles.
    for role in ("extend", "output"):
        assert not split.intersects(handle_rect(item, role))
    click(window, item.handles["split"].scenePos())
    dialog = window.active_dialog
    assert isinstance(dialog, MilestoneDialog)
    assert dialog.windowTitle() == f"New milestone beside “{graph.milestone(milestone_id).name}”"
    dialog.reject()


# --------------------------------------------------------------------------- "Evaluated …"

INDIA = "IST-05:30"
"""A POSIX zone five and a half hours east of UTC (needs no time zone database)."""


@pytest.fixture
def in_india(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time is India's for the test, UTC's own again after."""
    monkeypatch.setenv("TZ", INDIA)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class TodayStudio(DemoStudio):
    """The demo figures, calculated just now."""

    def evaluate(self, document: JourneyDocument, as_of: datetime | None = None
                 ) -> EvaluationResult:
        return replace(super().evaluate(document, as_of), evaluated_at=datetime.now(UTC))


def evaluated_window(qtbot: QtBot, studio: DemoStudio) -> MainWindow:
    """The window on ``studio`` once the first journey's figures are in."""
    window = MainWindow(studio)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.evaluations.finished, timeout=10_000):
        window.resize(1320, 820)
        window.show()
    return window


def test_an_evaluation_of_another_day_shows_its_local_date_and_time(
    qtbot: QtBot, in_india: None
) -> None:
    # The demo figures are from 28 November 2026, 12:04:31 UTC: 17:34 in India.
    window = evaluated_window(qtbot, DemoStudio())
    assert window.evaluated_label.text() == "Evaluated 28 Nov, 17:34"


def test_an_evaluation_of_today_shows_the_local_time_only(qtbot: QtBot, in_india: None) -> None:
    before = datetime.now(timezone(timedelta(hours=5, minutes=30)))
    window = evaluated_window(qtbot, TodayStudio())
    after = datetime.now(timezone(timedelta(hours=5, minutes=30)))
    shown = window.evaluated_label.text()
    assert shown in {f"Evaluated {before:%H:%M}", f"Evaluated {after:%H:%M}"}


def test_an_evaluation_of_another_year_shows_the_year(in_india: None) -> None:
    moment = datetime(2025, 12, 31, 20, 0, tzinfo=UTC)  # 1 January 2026, 01:30 in India
    assert evaluated_text(moment, now=datetime(2026, 12, 2, 9, 0, tzinfo=UTC)) == \
        "Evaluated 1 Jan, 01:30"
    assert evaluated_text(moment, now=datetime(2027, 1, 2, 9, 0, tzinfo=UTC)) == \
        "Evaluated 1 Jan 2026, 01:30"
    assert evaluated_text(moment, now=datetime(2025, 12, 31, 19, 0, tzinfo=UTC)) == \
        "Evaluated 01:30"  # already 1 January in India, an hour later


# --------------------------------------------------------------------------- the history


def history(window: MainWindow) -> list[str]:
    """The rows of the History tab, after its "Opened" row."""
    model = window.undo_view.model()
    return [str(model.index(row, 0).data()) for row in range(1, model.rowCount())]


def drag(window: MainWindow, start: QPointF, end: QPointF) -> None:
    viewport = window.view.viewport()
    a, b = at(window, start), at(window, end)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for step in range(1, 7):
        QTest.mouseMove(viewport, a + (b - a) * step / 6)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def test_history_entries_name_what_each_edit_changed(qtbot: QtBot, window: MainWindow) -> None:
    window.panel.select(TRIAL)
    window.view.reset_zoom()
    scene = window.scene
    # A click on an output's badge.
    output = scene.output_items["out-trial-crm"]
    window.view.center_on_scene(output.scene_body().center())
    click(window, output.mapToScene(output.badge_rect().center()))
    # A new name typed into the inspector.
    watched = scene.milestone_items["ms-watched"]
    window.view.center_on_scene(watched.scene_body().center())
    click(window, body_point(watched))
    field = window.inspector.name_field
    assert field is not None
    field.selectAll()
    qtbot.keyClicks(field, "Watched this week")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    # A milestone dragged down a little (its outputs travel with it).
    converted = scene.milestone_items["ms-converted"]
    window.view.center_on_scene(converted.scene_body().center())
    start = body_point(converted)
    drag(window, start, start + QPointF(0, 40))
    # A partner added with the send handle, then removed with Delete.
    click_handle(window, converted, "output")
    dialog = window.active_dialog
    assert isinstance(dialog, ConnectionDialog)
    dialog.choose("cn-braze")
    dialog.accept()
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    # A milestone added with + and removed with Delete.
    added = add_milestone_with(window, converted, "extend", "Renewed")
    click(window, body_point(added))
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    expected = [
        "Deactivate output “CRM webhook” of “Signed up for trial”",
        "Rename milestone “Watched content” to “Watched this week”",
        "Move milestone “Converted to paid”",
        "Add output “Braze” to “Converted to paid”",
        "Remove output “Braze” of “Converted to paid”",
        "Add milestone “Renewed”",
        "Remove milestone “Renewed”",
    ]
    assert history(window) == expected
    assert [window.undo_stack.text(i) for i in range(window.undo_stack.count())] == expected
    # The History tab shows them whole: long names wrap, none is cut off with "…".
    window.history_dock.raise_()
    QApplication.processEvents()
    view = window.undo_view
    for row, text in enumerate(expected, start=1):
        rect = view.visualRect(view.model().index(row, 0))
        assert view.viewport().rect().contains(rect), text
        room = QRect(0, 0, rect.width() - 2 * HISTORY_ITEM_PADDING, 10_000)
        needed = view.fontMetrics().boundingRect(room, Qt.TextFlag.TextWordWrap, text)
        assert rect.height() >= needed.height(), text
    # Undone steps keep their names, so the history still says what Redo would do.
    window.undo()
    window.undo()
    assert history(window) == expected
    assert window.undo_stack.redoText() == "Add milestone “Renewed”"


def test_at_local_midnight_the_label_adds_the_date(qtbot: QtBot, in_india: None) -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    now = datetime(2026, 12, 2, 23, 50, tzinfo=india)
    label = EvaluatedLabel(clock=lambda: now)
    qtbot.addWidget(label)
    label.show_evaluated(datetime(2026, 12, 2, 18, 0, tzinfo=UTC))  # 23:30 in India
    assert label.text() == "Evaluated 23:30"
    # Due just after midnight, India time: ten minutes from "now".
    assert 600_000 <= label.midnight.remainingTime() <= 603_000
    now = datetime(2026, 12, 3, 0, 0, 2, tzinfo=india)
    label.midnight.timeout.emit()
    assert label.text() == "Evaluated 2 Dec, 23:30"
