"""The canvas and its panels as a marketer meets them: new nodes come into view, the
inspector and menus offer only what the rules allow, handles never hide cards, the
status bar speaks local time and the history names what each step changed.

Every test drives the window on the demo account with real mouse events on the
canvas (QTest on the view's viewport) and checks what a person would see.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.ui.canvas.items import MilestoneItem, NodeItem
from app.ui.dialogs import ConnectionDialog, MilestoneDialog
from app.ui.main_window import MainWindow
from app.ui.palette import mime_for

from .conftest import TRIAL

# --------------------------------------------------------------------------- gestures


def at(window: MainWindow, point: QPointF) -> QPoint:
    return window.view.mapFromScene(point)


def click(window: MainWindow, point: QPointF) -> None:
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, at(window, point))


def drop(window: MainWindow, mime: QMimeData, point: QPointF) -> None:
    """A palette drag arriving on the canvas at ``point`` (scene coordinates), dropped."""
    viewport = window.view.viewport()
    position = QPointF(at(window, point))
    copy = Qt.DropAction.CopyAction
    buttons = Qt.MouseButton.LeftButton
    none = Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(viewport, QDragEnterEvent(position.toPoint(), copy, mime, buttons,
                                                     none))
    QApplication.sendEvent(viewport, QDragMoveEvent(position.toPoint(), copy, mime, buttons,
                                                    none))
    QApplication.sendEvent(viewport, QDropEvent(position, copy, mime, buttons, none))


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
