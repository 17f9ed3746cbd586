"""``journey-studio``: start the desktop application.

:func:`build_window` does everything but run the event loop (parse the
arguments, create the QApplication, apply the theme, open the database,
create the window), so a test can drive the real start-up without blocking.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import cast

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from app.core.errors import StudioError
from app.ui import theme
from app.ui.main_window import APP_TITLE, MainWindow

log = logging.getLogger(__name__)

ORGANIZATION = "Journey Studio"
STARTUP_TIMING = "JOURNEY_STUDIO_STARTUP_TIMING"
"""Opt-in start-up marks for tests/benchmarks/startup.py: set to ``1`` and the app prints
``startup-timing paint <time.time()>`` to stderr once the canvas has first been painted,
then ``startup-timing sizes <time.time()>`` once the first audience sizes have been
painted; set to ``exit`` and it also quits after the second mark."""
APP_ICON = theme.RESOURCES_DIR / "icons" / "journey-studio.svg"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="journey-studio", description="Draw and run customer journeys."
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="database URL or SQLite file path (default: the database in your user data "
             "folder)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser.parse_args(list(argv) if argv is not None else None)


def application() -> QApplication:
    """The QApplication (created once), named so QSettings has a place to live."""
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APP_TITLE)
    QGuiApplication.setApplicationDisplayName(APP_TITLE)
    existing = QApplication.instance()
    if existing is not None:
        return cast(QApplication, existing)
    created = QApplication([sys.argv[0] if sys.argv else "journey-studio"])
    if APP_ICON.exists():
        created.setWindowIcon(QIcon(str(APP_ICON)))
    return created


def build_window(argv: Sequence[str] | None = None) -> MainWindow:
    """Parse ``argv``, open the database and return the (not yet shown) main window.

    Raises :class:`StudioError` when the database cannot be opened.
    """
    args = parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        if not args.verbose:
            # Alembic narrates every plugin and migration step at INFO on each start.
            logging.getLogger("alembic").setLevel(logging.WARNING)
    qt_app = application()
    theme.apply_theme(qt_app, theme.system_theme())
    # Imported here: the application service pulls in the database layer, which the
    # widgets themselves never need.
    from app.studio import Studio

    studio = Studio.open(args.db)
    window = MainWindow(studio)
    QGuiApplication.styleHints().colorSchemeChanged.connect(window.on_color_scheme_changed)
    qt_app.aboutToQuit.connect(studio.close)
    log.info("Journey Studio started on %s", studio.database.url)
    return window


def main(argv: Sequence[str] | None = None) -> int:
    """Run the application; returns the process exit code."""
    try:
        window = build_window(argv if argv is not None else sys.argv[1:])
    except StudioError as problem:
        log.error("Could not open the database: %s", problem)
        QMessageBox.critical(None, APP_TITLE, str(problem))
        return 1
    timing = os.environ.get(STARTUP_TIMING, "")
    if timing:
        StartupMarks(window, quit_after_sizes=timing == "exit")
    window.show()
    return QApplication.exec()


class StartupMarks(QObject):
    """Prints when the canvas was first painted, and first painted with sizes (opt-in).

    Wall-clock times (``time.time()``), so the launching process can subtract its own
    launch time. Each mark is taken when the event loop is next free after the canvas
    viewport's paint event, so the paint itself is included.
    """

    def __init__(self, window: MainWindow, *, quit_after_sizes: bool) -> None:
        super().__init__(window)
        self._quit_after_sizes = quit_after_sizes
        self._marks: list[str] = []
        self._sizes_arrived = False
        self._viewport = window.view.viewport()
        self._viewport.installEventFilter(self)
        window.evaluations.figuresChanged.connect(self._on_figures)

    def _on_figures(self, _journey_id: str) -> None:
        self._sizes_arrived = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            if not self._marks:
                self._mark("paint")
            elif self._sizes_arrived and len(self._marks) == 1:
                self._mark("sizes")
        return False

    def _mark(self, name: str) -> None:
        self._marks.append(name)
        QTimer.singleShot(0, lambda: self._print(name))

    def _print(self, name: str) -> None:
        print(f"startup-timing {name} {time.time():.6f}", file=sys.stderr, flush=True)
        if name == "sizes":
            self._viewport.removeEventFilter(self)
            if self._quit_after_sizes:
                QApplication.quit()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
