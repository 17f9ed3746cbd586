""""Add criterion" in the milestone dialog: readable in every state, and typing goes on.

The dialog is opened from a milestone's + handle in the window. After a click
the button has the focus and is under the mouse (and pressed, while held): in
each state its label must still be drawn, and the new row's first field must
have the keyboard so what the marketer types next lands there.
"""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from app.ui.dialogs import MilestoneDialog
from app.ui.main_window import MainWindow

from .test_editing import body_point, click, milestone


def open_new_milestone(qtbot: QtBot, window: MainWindow) -> MilestoneDialog:
    item = milestone(window, "ms-converted")
    window.view.centerOn(item.scene_body().center())
    click(window, body_point(item))
    click(window, item.handles["extend"].scenePos())
    dialog = window.active_dialog
    assert isinstance(dialog, MilestoneDialog)
    qtbot.waitExposed(dialog)
    dialog.activateWindow()  # offscreen, focus needs the window active
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def luminance(color: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
    return (0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF())
            + 0.0722 * channel(color.blueF()))


def contrast(a: QColor, b: QColor) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def label_pixels(button: QPushButton) -> int:
    """Pixels inside the button's frame that stand out from its background (WCAG
    contrast >= 3): the drawn label and icon. The frame itself is left out."""
    image = button.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    inset = 4
    pixels = [image.pixelColor(x, y) for x in range(inset, image.width() - inset)
              for y in range(inset, image.height() - inset)]
    background = Counter(c.rgb() for c in pixels).most_common(1)[0][0]
    ground = QColor.fromRgb(background)
    return sum(1 for c in pixels if contrast(c, ground) >= 3.0)


def test_add_criterion_stays_readable_and_hands_the_keyboard_to_the_new_row(
    qtbot: QtBot, canvas: MainWindow
) -> None:
    dialog = open_new_milestone(qtbot, canvas)
    button = dialog.criteria.add_button
    at_rest = label_pixels(button)
    assert at_rest > 60  # "Add criterion" and its +, in the accent colour on the panel
    middle = button.rect().center()
    QTest.mouseMove(button, middle)
    QTest.mousePress(button, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     middle)
    assert button.isDown()
    pressed = label_pixels(button)
    QTest.mouseRelease(button, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       middle)
    assert len(dialog.criteria.rows) == 1
    focused_and_hovered = label_pixels(button)
    button.setFocus()  # keyboard focus on the button itself (tabbed to it)
    focused = label_pixels(button)
    for state, count in (("pressed", pressed), ("hovered after the click", focused_and_hovered),
                         ("focused", focused)):
        assert count > at_rest // 2, f"the label is not drawn when {state} ({count} px)"
    # A click on the button again: the second row's first field takes the keyboard.
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(middle))
    row = dialog.criteria.rows[-1]
    field = row.editors["event"].event_name  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: QApplication.focusWidget() is field)
    focus = QApplication.focusWidget()
    assert isinstance(focus, QWidget)
    QTest.keyClicks(focus, "Renew")
    assert field.text() == "Renew"
    assert not button.isDefault()  # Enter still means OK, not "add another criterion"
