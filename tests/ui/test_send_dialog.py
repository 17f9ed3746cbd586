"""What the send dialog promises the marketer is what the app does today.

Outputs are recorded (and count towards the account's active audiences), but no
connector sends anything to a partner yet; the dialog must not say otherwise.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot

from app.ui.dialogs import ConnectionDialog
from app.ui.main_window import MainWindow


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
