"""An A/B test made with real clicks and typing: the arms' cards, sizes and the results."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainterPath
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDoubleSpinBox, QLineEdit
from pytestqt.qtbot import QtBot

from app.core.ab_tests import arms_of
from app.studio import Studio
from app.ui.ab_test_dialog import ABTestDialog
from app.ui.canvas.items import NodeItem
from app.ui.canvas.scene import node_key
from app.ui.main_window import MainWindow

from .test_canvas_ux import menu_action, right_click

SIGNED_UP = "ms-signed-up"
WAIT_MS = 20_000


def type_into(qtbot: QtBot, field: QLineEdit | QDoubleSpinBox, text: str) -> None:
    """Click into the field, select what it holds and type over it, as a person does."""
    qtbot.mouseClick(field, Qt.MouseButton.LeftButton)
    QTest.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(field, text)


def test_an_ab_test_made_in_the_dialog_shows_arms_with_the_engines_sizes(
    qtbot: QtBot, editor: MainWindow, stored_studio: Studio, tmp_path: Path
) -> None:
    card = editor.scene.milestone_items[SIGNED_UP]
    menu = right_click(editor, card.scene_body().center())
    action = menu_action(menu, "Add A/B test…")
    QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    qtbot.waitUntil(lambda: isinstance(editor.active_dialog, ABTestDialog))
    dialog = editor.active_dialog
    assert isinstance(dialog, ABTestDialog)
    qtbot.waitExposed(dialog)

    type_into(qtbot, dialog.names[0], "Short trial")
    type_into(qtbot, dialog.shares[0], "30")
    assert dialog.control_label.text() == "Control: 70 % (the rest)"
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    type_into(qtbot, dialog.shares[1], "80")
    # Too much: refused in place with core's words, OK disabled, the Control shown as 0.
    assert not dialog.ok_button.isEnabled()
    assert "leaves nothing for the Control" in dialog.error.text()
    type_into(qtbot, dialog.shares[1], "20")
    assert dialog.control_label.text() == "Control: 50 % (the rest)"
    assert dialog.ok_button.isEnabled()
    dialog.grab().save(str(tmp_path / "ab-dialog.png"))

    runner = editor.evaluations
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    graph = editor.scene.graph
    assert graph is not None
    arms = arms_of(graph.children(SIGNED_UP))
    assert [a.name for a in arms] == [
        "Signed up for trial - Short trial", "Signed up for trial - Variant B",
        "Signed up for trial - Control",
    ]
    # The cards: the share in the caption, the engine's size.
    sizes = [result.milestone(a.id).size for a in arms]
    assert sum(sizes) == result.milestone(SIGNED_UP).size
    for arm, size in zip(arms, sizes, strict=True):
        shown = editor.scene.milestone_items[arm.id].card()
        assert shown.size_text == f"{size:,} users"
    captions = [editor.scene.milestone_items[a.id].card().caption for a in arms]
    assert captions == ["A/B TEST · 30 %", "A/B TEST · 20 %", "A/B TEST · CONTROL · 50 %"]
    assert editor.undo_stack.undoText() == "Add an A/B test on “Signed up for trial”"

    # The tested milestone's inspector says each variant's result in plain words.
    editor.scene.clearSelection()
    card.setSelected(True)
    results = editor.inspector.ab_label
    assert results is not None and results.objectName() == "abTestResults"
    comparisons = stored_studio.ab_test_results(graph.id, SIGNED_UP)
    assert [c.variant.size for c in comparisons] == sizes[:2]
    # Read in the background: they arrive shortly.
    qtbot.waitUntil(lambda: results.text() == "\n\n".join(c.sentence for c in comparisons),
                    timeout=WAIT_MS)
    assert "Short trial converts" in results.text()
    editor.grab().save(str(tmp_path / "ab-window.png"))

    # Undo takes the whole test away; redo brings the same arms back.
    editor.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is editor)
    QTest.keyClick(editor.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert arms_of(graph.children(SIGNED_UP)) == []
    assert all(a.id not in editor.scene.milestone_items for a in arms)
    QTest.keyClick(editor.view, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert arms_of(graph.children(SIGNED_UP)) == arms
    # Removing it from the tested milestone's context menu (no outputs on the arms yet).
    menu = right_click(editor, card.scene_body().center())
    action = menu_action(menu, "Remove A/B test")
    QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    qtbot.waitUntil(lambda: arms_of(graph.children(SIGNED_UP)) == [])
    assert editor.undo_stack.undoText() == "Remove the A/B test on “Signed up for trial”"


def card_rects(window: MainWindow) -> dict[str, QRectF]:
    """Every card drawn on the canvas by node id: milestones, outputs, the start, inputs."""
    scene = window.scene
    items: list[tuple[str, NodeItem]] = [
        *scene.milestone_items.items(), *scene.output_items.items(),
        *scene.input_items.items()]
    if scene.start_item is not None:
        items.append(("start", scene.start_item))
    return {key: item.scene_body() for key, item in items}


def crossed_cards(path: QPainterPath, rects: dict[str, QRectF]) -> set[str]:
    """The cards a drawn edge runs through (a point inside, 2 px in from the border)."""
    inside = {key: rect.adjusted(2, 2, -2, -2) for key, rect in rects.items()}
    return {key for step in range(401) for key, rect in inside.items()
            if rect.contains(path.pointAtPercent(step / 400))}


def test_the_arms_hang_under_the_tested_card_and_their_edges_cross_no_card(
    qtbot: QtBot, canvas: MainWindow, artifacts_dir: Path
) -> None:
    card = canvas.scene.milestone_items[SIGNED_UP]
    menu = right_click(canvas, card.scene_body().center())
    action = menu_action(menu, "Add A/B test…")
    QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    qtbot.waitUntil(lambda: isinstance(canvas.active_dialog, ABTestDialog))
    dialog = canvas.active_dialog
    assert isinstance(dialog, ABTestDialog)
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)  # three arms in all
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    graph = canvas.scene.graph
    assert graph is not None
    arms = [a.id for a in arms_of(graph.children(SIGNED_UP))]
    assert len(arms) == 3
    qtbot.waitUntil(lambda: all(a in canvas.scene.milestone_items for a in arms))
    qtbot.wait(20)  # the inspector shows its new labels on the next turn of the loop
    canvas.grab().save(str(artifacts_dir / "ab-test-arms.png"))

    rects = card_rects(canvas)
    tested = rects[SIGNED_UP]
    row = [rects[a] for a in arms]
    for rect in row:
        assert rect.top() >= tested.bottom()
    # Spread around the tested card's centre.
    assert min(r.left() for r in row) < tested.center().x() < max(r.right() for r in row)
    for arm, rect in zip(arms, row, strict=True):
        overlapped = {k for k, r in rects.items() if k != arm and r.intersects(rect)}
        assert not overlapped, f"an arm's card overlaps {overlapped}"
        edge = canvas.scene.edge_items[(node_key("milestone", SIGNED_UP),
                                         node_key("milestone", arm))]
        others = {k: r for k, r in rects.items() if k not in (SIGNED_UP, arm)}
        assert not crossed_cards(edge.path(), others), "an arm's edge crosses a card"
