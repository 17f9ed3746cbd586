"""Grab the main window on the demo account in a process of its own, for scaling tests.

``QT_SCALE_FACTOR`` is read once, when the QApplication starts, so a test that wants
the window at 200 % runs this module in a subprocess::

    QT_SCALE_FACTOR=2 QT_QPA_PLATFORM=offscreen \
        python -m tests.ui.scaled_window OUT.png SETTINGS_DIR

It shows the window at 1280×800 logical pixels on the first demo journey (sizes
calculated, "Watched content" selected so its handles show), saves the grab to
``OUT.png`` and prints one line of JSON: the grab's device pixel ratio and size in
device pixels, and the screen's device pixel ratio.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication

LOGICAL_SIZE = (1280, 800)


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not settle in time")
        QCoreApplication.processEvents()
        time.sleep(0.005)


def _settle(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.005)


def main(argv: list[str]) -> int:
    out, settings_dir = argv[0], argv[1]
    application = QApplication([sys.argv[0]])
    # Never the developer's real settings (window geometry would leak in or out).
    QCoreApplication.setOrganizationName("Journey Studio Tests")
    QCoreApplication.setApplicationName("Journey Studio Tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)

    from app.ui import theme
    from app.ui.main_window import MainWindow
    from tests.ui.demo import DemoStudio

    theme.apply_theme(application, theme.LIGHT)
    window = MainWindow(DemoStudio())
    window.resize(*LOGICAL_SIZE)
    window.show()
    _wait_until(lambda: window.isVisible() and window.windowHandle() is not None
                and window.windowHandle().isExposed())
    _wait_until(lambda: window.scene.population is not None and not window.scene.calculating)
    window.scene.select_node("milestone", "ms-watched")
    _settle(0.05)
    pixmap = window.grab()
    if not pixmap.save(out):
        raise OSError(f"could not write {out}")
    screen = window.screen()
    print(json.dumps({
        "ratio": pixmap.devicePixelRatio(),
        "width": pixmap.width(),
        "height": pixmap.height(),
        "logical": [window.width(), window.height()],
        "screen_ratio": screen.devicePixelRatio() if screen is not None else None,
    }))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
