"""A non-modal banner above the canvas: refusals, warnings and conflicts.

A refused edit must not interrupt the person with a modal box: the canvas stays
usable and the rule's message (written for the marketer in core) is shown as is.
The banner may carry one action (Undo after a warning, Reload after a conflict).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from app.ui import icons

Level = Literal["error", "warning", "info"]

AUTO_HIDE_MS = {"error": 0, "warning": 14000, "info": 6000}
"""Refusals stay until dismissed or the next edit; warnings and notes fade by themselves."""


class Banner(QWidget):
    """One message with an icon, an optional action button and a close button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.icon = QLabel()
        self.icon.setObjectName("bannerIcon")
        self.icon.setFixedSize(20, 20)
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label = QLabel()
        self.label.setObjectName("bannerText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QPushButton()
        self.action_button.setObjectName("bannerAction")
        self.action_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.close_button = QToolButton()
        self.close_button.setObjectName("bannerClose")
        self.close_button.setIcon(icons.icon("close", "text_muted", active="text"))
        self.close_button.setIconSize(QSize(16, 16))
        self.close_button.setAccessibleName("Dismiss")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        self.action_button.clicked.connect(self._run_action)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 8, 10, 8)
        layout.setSpacing(10)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self._action: Callable[[], None] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.hide()

    @property
    def level(self) -> str:
        return str(self.property("level") or "")

    def text(self) -> str:
        return self.label.text()

    def show_message(self, text: str, level: Level = "error", action_text: str = "",
                     action: Callable[[], None] | None = None) -> None:
        """Show ``text`` (replacing any previous message)."""
        self.label.setText(text)
        self.icon.setText({"error": "!", "warning": "!", "info": "i"}[level])
        self.setProperty("level", level)
        for widget in (self, self.icon, self.label, self.action_button):
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        self._action = action
        self.action_button.setText(action_text)
        self.action_button.setVisible(bool(action_text and action))
        self.show()
        self._timer.stop()
        if AUTO_HIDE_MS[level]:
            self._timer.start(AUTO_HIDE_MS[level])

    def dismiss(self) -> None:
        self._timer.stop()
        self._action = None
        self.hide()

    def _run_action(self) -> None:
        action = self._action
        self.dismiss()
        if action is not None:
            action()
