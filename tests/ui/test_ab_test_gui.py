"""An A/B test made with real clicks and typing: the arms' cards, sizes and the results."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDoubleSpinBox, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from app.core.ab_tests import arms_of
from app.studio import Studio
from app.ui.ab_test_dialog import ABTestDialog
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
    QApplication.processEvents()
    results = editor.inspector.findChild(QLabel, "abTestResults")
    assert results is not None
    comparisons = stored_studio.ab_test_results(graph.id, SIGNED_UP)
    assert [c.variant.size for c in comparisons] == sizes[:2]
    assert results.text() == "\n\n".join(c.sentence for c in comparisons)
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
