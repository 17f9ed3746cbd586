"""MainWindow: the journeys of the account on the left, the selected journey's canvas.

The window is given an open studio (anything with ``.state`` and
``.database.url``, see :class:`StudioLike`) and only reads from it for now.
Geometry and the splitter are remembered with QSettings between runs.
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.account import AccountState
from app.ui import theme
from app.ui.bridge import AccountWatcher
from app.ui.canvas.header import CanvasHeader
from app.ui.canvas.scene import JourneyScene
from app.ui.canvas.view import JourneyView
from app.ui.journeys_panel import JourneysPanel
from app.ui.status import AudienceMeter, DatabaseLabel

log = logging.getLogger(__name__)

APP_TITLE = "Journey Studio"
DEFAULT_SIZE = (1440, 900)
PANEL_WIDTH = 256

SETTINGS_GEOMETRY = "mainWindow/geometry"
SETTINGS_STATE = "mainWindow/state"
SETTINGS_SPLITTER = "mainWindow/splitter"


class DatabaseLike(Protocol):
    @property
    def url(self) -> object: ...


class StudioLike(Protocol):
    """What the window needs of :class:`app.studio.Studio` (so tests can hand in a stand-in)."""

    @property
    def state(self) -> AccountState: ...

    @property
    def database(self) -> DatabaseLike: ...


class MainWindow(QMainWindow):
    """Journeys list | canvas header + canvas, a menu bar and a status bar."""

    def __init__(self, studio: StudioLike, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        state = studio.state
        self.setObjectName("mainWindow")
        self.watcher = AccountWatcher(state, self)
        self.watcher.accountChanged.connect(self._update_title)
        self._update_title()
        self.panel = JourneysPanel(self.watcher)
        self.scene = JourneyScene(state, self)
        self.view = JourneyView(self.scene)
        self.header = CanvasHeader(self.scene, self.view)

        canvas = QWidget()
        canvas.setObjectName("canvasArea")
        canvas_layout = QVBoxLayout(canvas)
        canvas_layout.setContentsMargins(0, 0, 0, 0)
        canvas_layout.setSpacing(0)
        canvas_layout.addWidget(self.header)
        canvas_layout.addWidget(self.view, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.splitter.addWidget(self.panel)
        self.splitter.addWidget(canvas)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.panel.setMinimumWidth(220)
        self.setCentralWidget(self.splitter)

        self.meter = AudienceMeter(self.watcher)
        self.database_label = DatabaseLabel(str(studio.database.url))
        status = self.statusBar()
        status.setSizeGripEnabled(False)
        status.addWidget(self.database_label)
        status.addPermanentWidget(self.meter)

        self._build_menus()
        self.panel.journeySelected.connect(self.show_journey)
        self._restore_settings()
        self.panel.select_first()

    # ------------------------------------------------------------------ journeys

    def show_journey(self, journey_id: str) -> None:
        """Put a journey on the canvas (an unknown or empty id clears it)."""
        state = self.studio.state
        graph = state.journey(journey_id) if journey_id and state.has_journey(journey_id) else None
        self.scene.set_graph(graph)

    def _update_title(self) -> None:
        self.setWindowTitle(f"{APP_TITLE} — {self.studio.state.account.name}")

    # ------------------------------------------------------------------ theme

    def refresh_theme(self) -> None:
        """Repaint what is painted by hand after :func:`theme.apply_theme`."""
        self.scene.refresh_all()
        self.view.resetCachedContent()
        self.view.viewport().update()
        self.panel.list.viewport().update()

    def on_color_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        """Follow the system between light and dark while running."""
        application = QApplication.instance()
        if isinstance(application, QApplication):
            theme.apply_theme(application, theme.theme_for_scheme(scheme))
            self.refresh_theme()

    # ------------------------------------------------------------------ menus

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        if self.quit_action.shortcut().isEmpty():
            self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)

        view_menu = self.menuBar().addMenu("&View")
        self.fit_action = self._action("&Fit to view", "Ctrl+0", self.view.fit_to_view)
        self.actual_size_action = self._action("&Actual size", "Ctrl+1", self.view.reset_zoom)
        self.zoom_in_action = self._action("Zoom &in", "Ctrl++", self.view.zoom_in)
        self.zoom_in_action.setShortcuts([QKeySequence("Ctrl++"), QKeySequence("Ctrl+=")])
        self.zoom_out_action = self._action("Zoom &out", "Ctrl+-", self.view.zoom_out)
        for action in (self.fit_action, self.actual_size_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        for action in (self.zoom_in_action, self.zoom_out_action):
            view_menu.addAction(action)

    def _action(self, text: str, shortcut: str, slot: object) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    # ------------------------------------------------------------------ settings

    def _restore_settings(self) -> None:
        settings = QSettings()
        geometry = settings.value(SETTINGS_GEOMETRY)
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            pass
        else:
            self.resize(*DEFAULT_SIZE)
        window_state = settings.value(SETTINGS_STATE)
        if isinstance(window_state, QByteArray):
            self.restoreState(window_state)
        splitter = settings.value(SETTINGS_SPLITTER)
        if not (isinstance(splitter, QByteArray) and self.splitter.restoreState(splitter)):
            self.splitter.setSizes([PANEL_WIDTH, DEFAULT_SIZE[0] - PANEL_WIDTH])

    def save_settings(self) -> None:
        settings = QSettings()
        settings.setValue(SETTINGS_GEOMETRY, self.saveGeometry())
        settings.setValue(SETTINGS_STATE, self.saveState())
        settings.setValue(SETTINGS_SPLITTER, self.splitter.saveState())
        settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember the layout and stop listening to the domain."""
        self.save_settings()
        self.scene.close()
        self.watcher.close()
        log.debug("Main window closed")
        super().closeEvent(event)
