"""``journey-studio``: start the desktop application.

:func:`start` does everything but run the event loop (parse the arguments,
create the QApplication, apply the theme, open the database, create the window,
or on a new database the welcome dialog), so a test can drive the real start-up
without blocking; :func:`build_window` is the same without asking.
"""

from __future__ import annotations

# Before PySide6, on purpose: once imported, PySide6 reads the source of every module
# imported after it (looking for its opt-in ``from __feature__ import …`` switches). For
# the application service, the domain model and the libraries behind them (SQLAlchemy,
# pydantic, networkx: some 500 modules) that was a quarter of a second of CPU per start.
from app.studio import Studio, database_url, sqlite_file

# isort: split

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import cast

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.core.errors import StudioError
from app.ui import theme
from app.ui.first_start import WelcomeDialog, start_setup
from app.ui.main_window import APP_TITLE, MainWindow
from app.ui.status import database_label

log = logging.getLogger(__name__)

ORGANIZATION = "Journey Studio"
STARTUP_TIMING = "JOURNEY_STUDIO_STARTUP_TIMING"
"""Opt-in start-up marks for tests/benchmarks/startup.py: set to ``1`` and the app prints
``startup-timing paint <time.time()> <time.process_time()>`` to stderr once the canvas
has first been painted, then the same with ``sizes`` once the first audience sizes have
been painted; set to ``exit`` and it also quits after the second mark."""
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
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--demo", dest="demo", action="store_true", default=None,
                       help="a new database starts with the demo account (without asking)")
    start.add_argument("--no-demo", dest="demo", action="store_false",
                       help="a new database starts empty, to set up your own workspaces "
                            "and inputs (without asking)")
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


def _configure(args: argparse.Namespace) -> QApplication:
    """Logging, the QApplication and its theme: what every start does first."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        if not args.verbose:
            # When it migrates a database, Alembic narrates every step at INFO.
            logging.getLogger("alembic").setLevel(logging.WARNING)
    qt_app = application()
    theme.apply_theme(qt_app, theme.system_theme())
    return qt_app


def _window(qt_app: QApplication, url: str | None, *, seed_demo: bool) -> MainWindow:
    studio = Studio.open(url, seed_demo=seed_demo)
    window = MainWindow(studio)
    QGuiApplication.styleHints().colorSchemeChanged.connect(window.on_color_scheme_changed)
    qt_app.aboutToQuit.connect(studio.close)
    log.info("Journey Studio started on %s", studio.database.url)
    return window


def build_window(argv: Sequence[str] | None = None) -> MainWindow:
    """Parse ``argv``, open the database and return the (not yet shown) main window.

    A new database gets the demo account unless ``--no-demo`` says otherwise (only
    :func:`start` asks). Raises :class:`StudioError` when the database cannot be opened.
    """
    args = parse_args(argv)
    qt_app = _configure(args)
    return _window(qt_app, args.db, seed_demo=args.demo is not False)


def start(argv: Sequence[str] | None = None) -> MainWindow | WelcomeDialog:
    """What the application shows first: the window, or, on a new database, the welcome
    dialog that asks for demo data or an empty start and then opens the window (its
    ``window_opened``); starting empty goes on with the guided set-up.

    Nothing is created before the choice, so closing the welcome dialog leaves no
    database behind. Raises :class:`StudioError` when the database cannot be opened.
    """
    args = parse_args(argv)
    qt_app = _configure(args)
    url = database_url(args.db)
    if args.demo is not None or not Studio.needs_setup(url):
        return _window(qt_app, url, seed_demo=args.demo is not False)
    file = sqlite_file(url)
    welcome = WelcomeDialog(str(file) if file else database_label(url)[0])

    def chosen(demo: bool) -> None:
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            window = _window(qt_app, url, seed_demo=demo)
        except StudioError as problem:
            log.error("Could not create the database: %s", problem)
            QMessageBox.critical(welcome, APP_TITLE, str(problem))
            welcome.reject()
            return
        finally:
            QApplication.restoreOverrideCursor()
        welcome.window_opened = window
        show_window(window)
        welcome.accept()
        if not demo:
            welcome.assistant = start_setup(window)

    welcome.chosen.connect(chosen)
    return welcome


def show_window(window: MainWindow) -> None:
    """Show the main window; its first evaluation starts once the canvas is painted."""
    viewport = window.view.viewport()
    # The first sizes need not wait out the debounce meant for bursts of edits, nor
    # compete with the first paint: the first evaluation starts once the canvas is shown.
    AfterPaint(viewport, window.evaluations.run_now)
    timing = os.environ.get(STARTUP_TIMING, "")
    if timing:
        print_startup_marks(window, quit_after_sizes=timing == "exit")
    window.show()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the application; returns the process exit code."""
    try:
        first = start(argv if argv is not None else sys.argv[1:])
    except StudioError as problem:
        log.error("Could not open the database: %s", problem)
        QMessageBox.critical(None, APP_TITLE, str(problem))
        return 1
    if isinstance(first, MainWindow):
        show_window(first)
    else:
        first.show()
    return QApplication.exec()


class AfterPaint(QObject):
    """Calls ``callback`` once, when the event loop is next free after ``widget``'s next
    paint event (so the paint itself, and its flush to the screen, come first)."""

    def __init__(self, widget: QWidget, callback: Callable[[], object]) -> None:
        super().__init__(widget)
        self._callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._callback)
        return False


def print_startup_marks(window: MainWindow, *, quit_after_sizes: bool) -> None:
    """The opt-in :data:`STARTUP_TIMING` marks: wall-clock time (``time.time()``, so the
    process that launched the app can subtract its own launch time) and the CPU time the
    process has used (all threads; less sensitive than the wall clock to other work on
    the machine)."""
    viewport = window.view.viewport()
    runner = window.evaluations

    def mark(name: str) -> None:
        print(f"startup-timing {name} {time.time():.6f} {time.process_time():.6f}",
              file=sys.stderr, flush=True)

    def sizes_arrived(_journey_id: str) -> None:
        runner.figuresChanged.disconnect(sizes_arrived)
        AfterPaint(viewport, sizes_shown)
        # The cards that changed may all lie outside the view: paint it all the same.
        viewport.update()

    def sizes_shown() -> None:
        mark("sizes")
        if quit_after_sizes:
            QApplication.quit()

    AfterPaint(viewport, lambda: mark("paint"))
    runner.figuresChanged.connect(sizes_arrived)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
