"""What the window says about sending is what the app does.

An active output's partner receives who joins and leaves its audience after every
forwarding run (DESIGN.md section 1); an inactive one receives nothing, and removing
or deactivating an active output leaves the partner's copy as last sent. The window
must say exactly that: no more (no promise for inactive outputs), no less (no claim
that nothing is sent).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent
from PySide6.QtWidgets import QApplication, QLabel, QPushButton
from pytestqt.qtbot import QtBot

from app.ui.dialogs import ConnectionDialog
from app.ui.main_window import MainWindow
from app.ui.palette import mime_for


def test_the_send_dialog_says_what_the_partner_receives_while_the_output_is_active(
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
    assert "not built" not in shown and "nothing is sent" not in shown
    assert "While the output is active, the partner receives who joins and leaves" in shown
    assert "after every run" in shown
    dialog.reject()


def test_no_text_of_the_window_says_sending_is_not_built() -> None:
    """The sources of the interface and of the warnings it shows."""
    import app.core.graph
    import app.ui

    sources = [Path(app.core.graph.__file__),
               *Path(app.ui.__file__).parent.rglob("*.py")]
    for source in sources:
        text = source.read_text(encoding="utf-8")
        assert "is not built" not in text, source
        assert "Nothing has been sent" not in text, source


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
