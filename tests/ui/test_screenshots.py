"""Screenshots of the main window on the demo account, light and dark.

They run with the normal suite and write ``tests/_artifacts/main-window-*.png``
(git-ignored) for a person to look at; the reviewed copies live in
``resources/screenshots/``. The assertions only check that real pixels of the
right theme were drawn, not the design.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui import theme
from app.ui.main_window import MainWindow

from .demo import DemoStudio

SIZE = (1920, 1080)


def _shoot(qtbot: QtBot, window: MainWindow, path: Path) -> QImage:
    qtbot.wait(20)  # let queued layout and paint events settle
    pixmap = window.grab()
    assert pixmap.save(str(path)), f"could not write {path}"
    return pixmap.toImage()


def _canvas_pixel(window: MainWindow, image: QImage) -> QColor:
    """A pixel of empty canvas: near the bottom-right corner of the view."""
    corner = window.view.mapTo(window, QPoint(window.view.width() - 6,
                                              window.view.height() - 6))
    ratio = image.devicePixelRatio()
    return image.pixelColor(round(corner.x() * ratio), round(corner.y() * ratio))


@pytest.mark.screenshot
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_main_window_screenshot(
    qtbot: QtBot, qapp: QApplication, artifacts_dir: Path, scheme: str
) -> None:
    window = MainWindow(DemoStudio())
    qtbot.addWidget(window)
    window.resize(*SIZE)
    window.show()
    qtbot.waitExposed(window)
    if scheme == "dark":
        # The path a running app takes when the system turns dark.
        window.on_color_scheme_changed(Qt.ColorScheme.Dark)
    expected = theme.DARK if scheme == "dark" else theme.LIGHT
    assert theme.current() is expected
    # The audience sizes (fixed demo figures) arrive from the background evaluation.
    qtbot.waitUntil(lambda: window.scene.population is not None
                    and not window.scene.calculating, timeout=5000)
    # A selected milestone: its handles (+, split, output) and the inspector show.
    window.scene.select_node("milestone", "ms-watched")
    assert window.inspector.shown == ("milestone", "ms-watched")
    assert "6,905 users" in window.scene.milestone_items["ms-watched"].texts()

    image = _shoot(qtbot, window, artifacts_dir / f"main-window-{scheme}.png")

    assert (image.width(), image.height()) == (
        round(SIZE[0] * image.devicePixelRatio()), round(SIZE[1] * image.devicePixelRatio())
    )
    assert _canvas_pixel(window, image) == QColor(expected.canvas)
    # Every node of the journey is at least partly inside the viewport.
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert all(visible.intersects(item.scene_body())
               for item in window.scene.milestone_items.values())
