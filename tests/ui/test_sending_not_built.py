"""What the window says about sending is what the app does today.

Outputs are recorded (and active ones count towards the account's active audiences),
but no connector sends anything to a partner yet; the window must not promise that a
partner receives anything.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent
from PySide6.QtWidgets import QApplication, QLabel, QPushButton
from pytestqt.qtbot import QtBot

from app.ui.dialogs import ConnectionDialog
from app.ui.main_window import MainWindow
from app.ui.palette import mime_for


def test_the_send_dialog_says_nothing_is_sent_to_partners_yet(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.scene.select_node("milestone", "ms-watched")
    send = next(button for button in window.inspector.findChildren(QPushButton)
                if button.text() == "Send to a partner…")
    qtbot.mouseClick(send, Qt.MouseButton.LeftButton)
    dialog = window.active_dialog
    assert isinstance(dialog, ConnectionDialog)

    shown = " ".join(label.text() for label in dialog.findChildren(QLabel)
                     if label.isVisibleTo(dialog))
    assert "receives" not in shown
    assert "Sending to partners is not built yet" in shown
    assert "nothing is sent" in shown
    dialog.reject()


def test_a_partner_dragged_over_empty_canvas_promises_no_delivery(window: MainWindow) -> None:
    """The hint says where a partner belongs, not that the partner receives anything."""
    mime = mime_for(window.palette_panel.tile("Braze").entry)
    journey = window.scene.journey_rect()
    empty = window.view.mapFromScene(journey.bottomRight() + QPointF(200, 200))
    viewport = window.view.viewport()
    for event in (QDragEnterEvent, QDragMoveEvent):
        QApplication.sendEvent(viewport, event(empty, Qt.DropAction.CopyAction, mime,
                                               Qt.MouseButton.LeftButton,
                                               Qt.KeyboardModifier.NoModifier))
    hint = window.scene.drop_hint
    assert hint is not None and hint.isVisible() and hint.refused
    assert hint.text().startswith("Drop Braze onto a milestone")
    assert "receives" not in hint.text()
