"""MainWindow: journeys and palette on the left, the canvas, the inspector on the right.

The window is given an open studio (see :class:`StudioLike`: the state, the
database URL, and ``execute`` / ``undo`` / ``redo`` that apply a command and
persist it). Every edit, whatever started it (a canvas gesture, a dialog, the
inspector, a menu), is one core command run by the :class:`EditController`
on the window's undo stack; a refusal is shown in the banner and changes
nothing. Geometry, the splitter and the docks are remembered with QSettings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QByteArray, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMenu,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.ab_tests import arms_of, can_test
from app.core.account import AccountState
from app.core.catalogue import Catalogue
from app.core.commands import (
    AddMilestone,
    AddOutput,
    Command,
    CreateJourney,
    DeleteJourney,
    MoveNodes,
    RemoveOutput,
    RenameJourney,
    RenameMilestone,
    SetJourneyExclusive,
    SetJourneyInputs,
    remove_ab_test,
)
from app.core.errors import JourneyRuleError
from app.core.events import NodeKind
from app.ui import icons, journey_files, theme
from app.ui.ab_test_dialog import ABTestDialog
from app.ui.account_settings import (
    ACCOUNT_SETTINGS,
    LIMIT_PAGE,
    WORKSPACES_PAGE,
    AccountSettingsDialog,
    page_for,
)
from app.ui.activity import ActivityPanel, routes_of
from app.ui.banner import Banner
from app.ui.bridge import AccountWatcher
from app.ui.canvas import edits
from app.ui.canvas.export import export_png, export_svg
from app.ui.canvas.header import CanvasHeader
from app.ui.canvas.minimap import Minimap
from app.ui.canvas.scene import JourneyScene
from app.ui.canvas.view import JourneyView
from app.ui.dialogs import (
    ConnectionDialog,
    MilestoneDialog,
    NewJourneyDialog,
    RenameJourneyDialog,
)
from app.ui.evaluation import EvaluationRunner, JourneyFigures, evaluator_of
from app.ui.forwarding import (
    ForwardingRunner,
    ForwardingSnapshot,
    changes_forwarding,
    forwarder_of,
    interval_minutes,
    run_summary,
)
from app.ui.funnel_panel import FunnelPanel
from app.ui.import_dialog import ImportFlow
from app.ui.importing import journeys_reading, when_calculated
from app.ui.inspector import Inspector
from app.ui.journey_inputs import JourneyInputsDialog
from app.ui.journeys_panel import JourneysPanel
from app.ui.palette import Palette
from app.ui.preview import estimator_of
from app.ui.size_history import SizeHistoryPanel, size_history_of
from app.ui.status import AudienceMeter, DatabaseLabel, EvaluatedLabel, ForwardingStatus
from app.ui.undo import EditController, HistoryView

log = logging.getLogger(__name__)

APP_TITLE = "Journey Studio"
DEFAULT_SIZE = (1440, 900)
PANEL_WIDTH = 256

SETTINGS_GEOMETRY = "mainWindow/geometry"
SETTINGS_STATE = "mainWindow/state"
SETTINGS_SPLITTER = "mainWindow/splitter"
SETTINGS_MINIMAP = "mainWindow/minimap"
SETTINGS_ACTIVITY = "mainWindow/activity"

EVALUATION_FAILED = "Could not calculate the audience sizes:"


class DatabaseLike(Protocol):
    @property
    def url(self) -> object: ...


class StudioLike(Protocol):
    """What the window needs of :class:`app.studio.Studio` (tests hand in a stand-in)."""

    @property
    def state(self) -> AccountState: ...

    @property
    def database(self) -> DatabaseLike: ...

    def execute(self, command: Command) -> None: ...

    def undo(self, command: Command) -> None: ...

    def redo(self, command: Command) -> None: ...

    def reload(self) -> AccountState: ...


def _scrolling(widget: QWidget, name: str) -> QScrollArea:
    """``widget`` in a frameless vertical scroll area: in a short window it scrolls instead
    of squeezing its rows into each other or pushing a neighbour out of the way."""
    scroll = QScrollArea()
    scroll.setObjectName(name)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(widget)
    return scroll


class MainWindow(QMainWindow):
    """Journeys | canvas | inspector, with menus, an undo history and a status bar."""

    banner: Banner
    layout_action: QAction

    def __init__(self, studio: StudioLike, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        state = studio.state
        self.setObjectName("mainWindow")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        self.account_settings: AccountSettingsDialog | None = None
        """The Account settings window while it is open."""
        self.active_dialog: QDialog | None = None
        """The editor dialog open right now (tests fill and accept it)."""
        self.watcher = AccountWatcher(state, self)
        self.watcher.accountChanged.connect(self._update_title)
        self.watcher.stateReplaced.connect(self._on_state_replaced)
        self._update_title()
        self.controller = EditController(studio, self)
        self.controller.refused.connect(self._on_refused)
        self.controller.conflicted.connect(self._on_conflict)
        self.controller.applied.connect(self._on_applied)
        self.undo_stack = self.controller.stack

        self.panel = JourneysPanel(self.watcher)
        self.palette_panel = Palette(self.watcher)
        palette_scroll = _scrolling(self.palette_panel, "paletteScroll")
        # Low enough that a bottom dock in a short window leaves the journeys list its rows.
        palette_scroll.setMinimumHeight(120)
        palette_scroll.setMaximumHeight(self.palette_panel.sizeHint().height() + 2)
        self.panel.add_below(palette_scroll)
        self.scene = JourneyScene(state, self)
        self.scene.editor = self.run
        self.view = JourneyView(self.scene)
        self.view.on_delete = self.delete_selection
        self.view.on_nudge = self.nudge_selection
        self.minimap = Minimap(self.view)
        self.header = CanvasHeader(self.scene, self.view)
        self.banner = Banner(self.view)
        self.banner.follow(self.undo_stack)
        self.evaluations = EvaluationRunner(evaluator_of(studio), self)
        """Audience sizes of the shown journey, calculated in the background."""
        self.forwarding = ForwardingRunner(forwarder_of(studio), self)
        """Every journey with an active output, evaluated and sent to partners in the
        background: on a schedule, after edits, on Resume."""
        self.imports = ImportFlow(studio, lambda: self.studio.state, self)
        """File ▸ Import events…: one import at a time, in the background."""
        self.imports.stored.connect(self._after_import)

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

        self.inspector = Inspector(self.scene, self)
        self.inspector_dock = self._dock("Inspector", "inspectorDock",
                                         _scrolling(self.inspector, "inspectorScroll"))
        self.undo_view = HistoryView(self.undo_stack)
        self.history_dock = self._dock("History", "historyDock", self.undo_view)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.inspector_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.history_dock)
        self.setTabPosition(Qt.DockWidgetArea.RightDockWidgetArea,
                            QTabWidget.TabPosition.North)
        self.tabifyDockWidget(self.inspector_dock, self.history_dock)
        self.inspector_dock.raise_()
        self.activity = ActivityPanel(self)
        """Recent evaluations and deliveries (View ▸ Activity)."""
        self.activity_dock = self._dock("Activity", "activityDock", self.activity)
        self.activity_dock.setMinimumHeight(160)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.activity_dock)
        self.resizeDocks([self.activity_dock], [240], Qt.Orientation.Vertical)
        self.activity_dock.hide()
        self.funnel = FunnelPanel(self.scene, self)
        """Size, conversion and drop-off along the selected path (View ▸ Funnel)."""
        self.funnel_dock = self._dock("Funnel", "funnelDock", self.funnel)
        self.funnel_dock.setMinimumHeight(160)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.funnel_dock)
        self.funnel_dock.hide()
        self.size_history = SizeHistoryPanel(size_history_of(studio))
        """The selected milestone's size over its evaluations (View ▸ Size history)."""
        self.size_history.follow(self.scene)
        self.size_history_dock = self._dock("Size history", "sizeHistoryDock",
                                            self.size_history)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.size_history_dock)
        self.size_history_dock.hide()

        self.meter = AudienceMeter(self.watcher)
        self.database_label = DatabaseLabel(str(studio.database.url))
        self.evaluated_label = EvaluatedLabel()
        status = self.statusBar()
        status.setSizeGripEnabled(False)
        status.addWidget(self.database_label)
        status.addWidget(self.evaluated_label)
        self.forwarding_status = ForwardingStatus(interval_minutes())
        """What forwarding is doing, and how often it runs."""
        self.forwarding_status.setVisible(self.forwarding.enabled)
        status.addWidget(self.forwarding_status, 1)
        status.addPermanentWidget(self.meter)
        self.meter.clicked.connect(lambda: self.open_account_settings(LIMIT_PAGE))
        self.panel.footer.clicked.connect(lambda: self.open_account_settings(WORKSPACES_PAGE))

        self._build_menus()
        self._set_tool_icons()
        self.header.add_tools([self.undo_action, self.redo_action, None, self.layout_action,
                               self.export_png_action])
        self._connect_canvas()
        self._connect_evaluations()
        self._connect_forwarding()
        self.panel.journeySelected.connect(self.show_journey)
        self.panel.newRequested.connect(self.new_journey)
        self.panel.renameRequested.connect(self.rename_journey)
        self.panel.duplicateRequested.connect(self.duplicate_journey)
        self.panel.deleteRequested.connect(self.delete_journey)
        self.undo_stack.cleanChanged.connect(self.header.set_saved)
        self._restore_settings()
        self.panel.select_first()
        self.forwarding.start()

    def _dock(self, title: str, name: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        dock.setMinimumWidth(280)
        # Tabs (North) name the docks; a title bar above them would say it twice.
        dock.setTitleBarWidget(QWidget())
        return dock

    def _connect_canvas(self) -> None:
        self.scene.milestoneActivated.connect(self.edit_milestone)
        self.scene.handleClicked.connect(self._on_handle)
        self.scene.outputBadgeClicked.connect(self.toggle_output)
        self.scene.contextMenuRequested.connect(self._context_menu)
        self.scene.placeholderClicked.connect(lambda: self.add_after(None))
        self.scene.graphChanged.connect(self._update_canvas_actions)
        self._update_canvas_actions()

    def _connect_evaluations(self) -> None:
        runner = self.evaluations
        runner.calculatingChanged.connect(self.scene.set_calculating)
        runner.figuresChanged.connect(self._show_figures)
        runner.finished.connect(self._on_evaluated)
        runner.failed.connect(self._on_evaluation_failed)

    def _connect_forwarding(self) -> None:
        runner = self.forwarding
        runner.started.connect(self.forwarding_status.show_running)
        runner.finished.connect(self._on_forwarded)
        self.evaluations.finished.connect(lambda result: self.activity.add_evaluations([result]))
        self.evaluations.finished.connect(self.size_history.on_evaluated)
        runner.failed.connect(
            lambda message: self.forwarding_status.show_result(
                f"Could not forward: {message}", "error"))
        self.forwarding_status.intervalChanged.connect(runner.set_interval)
        self.controller.applied.connect(self._after_edit)

    def _after_edit(self, command: Command) -> None:
        """An edit that may change an audience or what an output receives: forward soon."""
        if changes_forwarding(command):
            self.forwarding.request()

    def _on_forwarded(self, snapshot: ForwardingSnapshot) -> None:
        """A run (or the first read) came back: cards, inspector and log follow."""
        self.scene.set_forwarding(snapshot.forwarding)
        self.activity.add_evaluations(snapshot.evaluations)
        self.activity.set_deliveries(snapshot.deliveries)
        self.forwarding_status.show_result(*run_summary(snapshot, self.output_name))

    # names for the Activity panel --------------------------------------------------

    def output_route(self, output_id: str) -> str:
        """``Signed up for trial → CRM webhook``."""
        for graph in self.studio.state.journeys():
            if graph.has_output(output_id):
                output = graph.output(output_id)
                return (f"{graph.milestone(output.milestone_id).name} → "
                        f"{self.studio.state.connection_name(output.connection_id)}")
        return "A removed output"

    def output_routes(self) -> list[tuple[str, str]]:
        return routes_of(self.studio.state.journeys(), self.studio.state.connection_name)

    def journey_title(self, journey_id: str) -> str:
        state = self.studio.state
        return state.journey(journey_id).name if state.has_journey(journey_id) else "A journey"

    def output_name(self, output_id: str) -> str:
        """An output as the marketer knows it: its connection's name."""
        for graph in self.studio.state.journeys():
            if graph.has_output(output_id):
                return self.studio.state.connection_name(graph.output(output_id).connection_id)
        return "a removed output"

    def resume_output(self, output_id: str) -> None:
        """Resume (inspector, context menu): clear the fault and send what is pending."""
        self.forwarding.resume(output_id)

    def _show_figures(self, journey_id: str) -> None:
        figures: JourneyFigures | None = self.evaluations.figures(journey_id)
        if figures is not None:
            self.scene.set_figures(journey_id, figures.population, figures.milestones)

    def _on_evaluated(self, result: object) -> None:
        """The shown journey's evaluation dates the figures in the status bar; another
        journey's (after an import) only updates its own figures."""
        shown = self.scene.graph
        if shown is None or getattr(result, "journey_id", None) != shown.id:
            return
        evaluated_at = getattr(result, "evaluated_at", None)
        if evaluated_at is not None:
            self.evaluated_label.show_evaluated(evaluated_at)
        if self.banner.level == "error" and self.banner.text().startswith(EVALUATION_FAILED):
            self.banner.dismiss()

    def _on_evaluation_failed(self, message: str) -> None:
        self.banner.show_message(f"{EVALUATION_FAILED} {message}", "error", "Retry",
                                 self.reevaluate)

    def reevaluate(self) -> None:
        """Calculate the shown journey's audiences again (the banner's Retry)."""
        graph = self.scene.graph
        if graph is not None:
            self.evaluations.request(graph.id)

    def _update_canvas_actions(self) -> None:
        """Canvas tools only make sense while a journey is shown."""
        shown = self.scene.graph is not None
        for action in (self.layout_action, self.export_png_action, self.export_svg_action,
                       self.select_all_action, self.delete_action, self.journey_inputs_action):
            action.setEnabled(shown)

    # ------------------------------------------------------------------ edits

    def run(self, command: Command) -> bool:
        """Every edit: one undo step through the studio; a refusal shows in the banner."""
        done = self.controller.run(command)
        if done:
            self.controller.mark_saved()  # the banner ends a refusal itself (its follow())
        return done

    def undo(self) -> None:
        self.controller.undo()
        self.controller.mark_saved()

    def redo(self) -> None:
        self.controller.redo()
        self.controller.mark_saved()

    def _on_applied(self, command: Command) -> None:
        """After an undo or redo elsewhere, show the journey the step changed."""
        ids = [j for j in command.journey_ids if self.studio.state.has_journey(j)]
        current = self.panel.current_journey_id()
        if ids and current not in ids:
            self.panel.select(ids[0])

    def _on_refused(self, message: str) -> None:
        """A refusal in the banner; one that points to Account settings offers to open it."""
        if ACCOUNT_SETTINGS in message:
            self.banner.show_message(message, "error", f"{ACCOUNT_SETTINGS}…",
                                     lambda: self.open_account_settings(page_for(message)))
        else:
            self.banner.show_message(message, "error")

    def _show_account_settings(self) -> None:
        self.open_account_settings()

    def open_account_settings(self, page: str | None = None) -> AccountSettingsDialog:
        """The Account settings window (one at a time; raised if it is open already),
        turned to ``page`` when one is named."""
        if self.account_settings is not None:
            if page is not None:
                self.account_settings.show_page(page)
            self.account_settings.raise_()
            self.account_settings.activateWindow()
            return self.account_settings
        dialog = AccountSettingsDialog(self.watcher, self.run, self.studio,
                                       self.controller, self)
        # Modeless, with the window's Undo and Redo (and their shortcuts) working in it:
        # its changes are steps of the same history.
        dialog.addActions([self.undo_action, self.redo_action])
        self.account_settings = dialog

        def finished(_result: int) -> None:
            if self.account_settings is dialog:
                self.account_settings = None
            dialog.deleteLater()

        dialog.finished.connect(finished)
        if page is not None:
            dialog.show_page(page)
        dialog.show()
        return dialog

    def _on_conflict(self, message: str) -> None:
        self.banner.show_message(message, "error", "Reload", self.reload)

    def reload(self) -> None:
        """Read everything again after a conflict; the history refers to old records."""
        current = self.panel.current_journey_id()
        state = self.studio.reload()
        self.controller.clear()
        self.watcher.rebind(state)
        if current and state.has_journey(current):
            self.panel.select(current)
        self.banner.show_message("Reloaded the latest version from the database.", "info")

    def _on_state_replaced(self) -> None:
        self.scene.set_state(self.watcher.state)
        self.show_journey(self.panel.current_journey_id() or "")

    # milestones -----------------------------------------------------------------

    def _open(self, dialog: QDialog, on_accept: Callable[[], None]) -> QDialog:
        """Open a dialog window-modally without blocking; ``on_accept`` runs on OK."""
        self.active_dialog = dialog

        def finished(result: int) -> None:
            if self.active_dialog is dialog:
                self.active_dialog = None
            if result == QDialog.DialogCode.Accepted:
                on_accept()
            dialog.deleteLater()

        dialog.finished.connect(finished)
        dialog.open()
        return dialog

    def catalogue(self, journey_id: str) -> Catalogue | None:
        """The data catalogue of a journey's inputs for the builder's completions and
        hints: the studio's ``catalogue(journey_id)`` when it has one, else None (the
        builder then offers the core's vocabulary only). The one place the window gets it."""
        source = getattr(self.studio, "catalogue", None)
        if not callable(source):
            return None
        found = source(journey_id)
        return found if isinstance(found, Catalogue) else None

    def edit_milestone(self, milestone_id: str) -> None:
        graph = self.scene.graph
        if graph is None or not graph.has_milestone(milestone_id):
            return
        dialog = MilestoneDialog(graph, milestone_id=milestone_id,
                                 estimate=estimator_of(self.studio), state=self.studio.state,
                                 catalogue=self.catalogue(graph.id), parent=self)

        def accepted() -> None:
            name, definition = dialog.values()
            command = edits.edit_milestone_command(graph, milestone_id, name, definition)
            if command is not None:
                self.run(command)

        self._open(dialog, accepted)

    def rename_milestone(self, milestone_id: str, name: str) -> bool:
        graph = self.scene.graph
        if graph is None:
            return False
        return self.run(RenameMilestone(graph.id, milestone_id, name))

    def add_after(self, milestone_id: str | None) -> None:
        """The + handle: a new milestone under ``milestone_id`` (None: a new first step)."""
        graph = self.scene.graph
        if graph is None:
            return
        after = graph.milestone(milestone_id).name if milestone_id else ""
        title = f"New milestone after “{after}”" if after else "New first milestone"
        dialog = MilestoneDialog(graph, parent_id=milestone_id, title=title,
                                 estimate=estimator_of(self.studio), state=self.studio.state,
                                 catalogue=self.catalogue(graph.id), parent=self)

        def accepted() -> None:
            name, definition = dialog.values()
            milestone = edits.new_milestone(graph, self.scene.placement(), milestone_id,
                                            name=name, definition=definition)
            if self.run(AddMilestone(graph.id, milestone)):
                self.scene.show_new_node("milestone", milestone.id)

        self._open(dialog, accepted)

    def add_beside(self, milestone_id: str) -> None:
        """The split handle: a sibling right after ``milestone_id`` in its split."""
        graph = self.scene.graph
        if graph is None:
            return
        sibling = graph.milestone(milestone_id)
        index = graph.child_index(milestone_id) + 1
        dialog = MilestoneDialog(graph, parent_id=sibling.parent_id, index=index,
                                 title=f"New milestone beside “{sibling.name}”",
                                 estimate=estimator_of(self.studio), state=self.studio.state,
                                 catalogue=self.catalogue(graph.id), parent=self)

        def accepted() -> None:
            name, definition = dialog.values()
            milestone = edits.new_milestone(graph, self.scene.placement(), sibling.parent_id,
                                            name=name, definition=definition)
            if self.run(AddMilestone(graph.id, milestone, index)):
                self.scene.show_new_node("milestone", milestone.id)

        self._open(dialog, accepted)

    def add_output(self, milestone_id: str) -> None:
        """The output handle: choose a connection for this audience."""
        graph = self.scene.graph
        if graph is None:
            return
        dialog = ConnectionDialog(graph, self.studio.state, milestone_id, parent=self,
                                  open_limit=lambda: self.open_account_settings(LIMIT_PAGE))

        def accepted() -> None:
            connection_id = dialog.connection_id()
            if connection_id is None:
                return
            output = edits.new_output(self.scene.placement(), milestone_id, connection_id)
            if self.run(AddOutput(graph.id, output)):
                self.scene.show_new_node("output", output.id)

        self._open(dialog, accepted)

    def add_ab_test(self, milestone_id: str) -> None:
        """Ask for the variants and shares, then add the test as one undoable step."""
        graph = self.scene.graph
        if graph is None:
            return
        dialog = ABTestDialog(self.studio.state, graph.id, milestone_id, parent=self)
        self._open(dialog, lambda: self._run_edit(
            lambda: edits.ab_test_command(self.studio.state, graph.id, self.scene.placement(),
                                          milestone_id, dialog.variants())))

    def remove_ab_test(self, milestone_id: str) -> None:
        graph = self.scene.graph
        if graph is not None:
            self._run_edit(lambda: remove_ab_test(self.studio.state, graph.id, milestone_id))

    def _run_edit(self, build: Callable[[], Command]) -> None:
        """Run the command ``build`` makes; a refusal while building goes to the banner."""
        try:
            command = build()
        except JourneyRuleError as refused:
            self.banner.show_message(str(refused), "error")
            return
        self.run(command)

    def ab_test_reader(self, milestone_id: str) -> Callable[[], list[str]] | None:
        """What reads each variant of the test on ``milestone_id`` against Control, in plain
        words (the arms' sizes are on their cards): safe off the GUI thread, as it reads
        a copy of the journey taken now. None when the studio keeps no results."""
        graph = self.scene.graph
        results = getattr(self.studio, "ab_test_results", None)
        if graph is None or results is None or not graph.has_milestone(milestone_id):
            return None
        journey_id, document = graph.id, graph.document()
        return lambda: [c.sentence for c in results(journey_id, milestone_id,
                                                    document=document)]

    def _on_handle(self, milestone_id: str, role: str) -> None:
        {"extend": self.add_after, "split": self.add_beside,
         "output": self.add_output}[role](milestone_id)

    # outputs --------------------------------------------------------------------

    def toggle_output(self, output_id: str) -> None:
        """Badge click: activate or deactivate; deactivating warns about the partner."""
        graph = self.scene.graph
        if graph is None or not graph.has_output(output_id):
            return
        warning = graph.out_of_sync_warning(output_id)
        if self.run(edits.toggle_output_command(graph, output_id)) and warning:
            self.banner.show_for_edit(f"Output deactivated. {warning}", "warning", "Undo",
                                      self.undo)

    # deleting --------------------------------------------------------------------

    def delete_selection(self) -> None:
        """Delete / Backspace: remove the selected nodes in one step, or say why not."""
        graph = self.scene.graph
        if graph is None:
            return
        keys = self.scene.selected_keys()
        milestones = [node_id for kind, node_id in keys if kind == "milestone"]
        outputs = [node_id for kind, node_id in keys if kind == "output"]
        command = edits.delete_command(graph, milestones, outputs)
        if command is None:
            return
        removed_outputs = [c.output_id for c in getattr(command, "commands", [command])
                           if isinstance(c, RemoveOutput)]
        warnings = [w for w in (graph.out_of_sync_warning(o, removing=True)
                                for o in removed_outputs) if w]
        if self.run(command) and warnings:
            self.banner.show_for_edit(f"Removed. {warnings[0]}", "warning", "Undo", self.undo)

    def nudge_selection(self, dx: float, dy: float) -> None:
        """Arrow keys: move the selected nodes a little; each press is one undo step."""
        graph = self.scene.graph
        keys = self.scene.selected_keys()
        if graph is None or not keys:
            return
        positions: dict[tuple[NodeKind, str], tuple[float, float]] = {}
        for kind, node_id in keys:
            item = self.scene.node_item(f"{kind}:{node_id}")
            if item is not None:
                positions[(kind, node_id)] = (item.pos().x() + dx, item.pos().y() + dy)
        self.run(MoveNodes(graph.id, positions))

    # journeys --------------------------------------------------------------------

    def new_journey(self) -> NewJourneyDialog | None:
        """The New journey dialog; an account with no input yet is first led through
        setting up a workspace and its inputs (a journey reads at least one)."""
        if not self.studio.state.inputs:
            from app.ui.first_start import start_setup  # it comes back here when done

            start_setup(self)
            return None
        dialog = NewJourneyDialog(self.studio.state, parent=self)

        def accepted() -> None:
            command = CreateJourney(dialog.document())
            if self.run(command):
                self.panel.select(command.journey_id)

        self._open(dialog, accepted)
        return dialog

    def rename_journey(self, journey_id: str) -> None:
        if not self.studio.state.has_journey(journey_id):
            return
        dialog = RenameJourneyDialog(self.studio.state, journey_id, parent=self)

        def accepted() -> None:
            if dialog.new_name() != self.studio.state.journey(journey_id).name:
                self.run(RenameJourney(journey_id, dialog.new_name()))

        self._open(dialog, accepted)

    def duplicate_journey(self, journey_id: str) -> None:
        if not self.studio.state.has_journey(journey_id):
            return
        command = edits.duplicate_command(self.studio.state, journey_id)
        if self.run(command):
            self.panel.select(command.journey_id)
            if any(True for _ in command.document.outputs):
                self.banner.show_for_edit(
                    "Duplicated. The copy's outputs start inactive, so nothing is sent twice; "
                    "activate them when the copy is ready.", "info")

    def edit_journey_inputs(self, journey_id: str | None = None) -> None:
        """Journey ▸ Inputs…: tick the inputs the journey reads; one undoable step, after
        which its audiences are calculated again."""
        journey_id = journey_id or self.panel.current_journey_id()
        if not journey_id or not self.studio.state.has_journey(journey_id):
            return
        dialog = JourneyInputsDialog(
            self.studio.state, journey_id, parent=self,
            manage=lambda: self.open_account_settings(WORKSPACES_PAGE))

        def accepted() -> None:
            self.run(SetJourneyInputs(journey_id, dialog.input_ids()))

        self._open(dialog, accepted)

    def set_journey_exclusive(self, journey_id: str, exclusive: bool) -> None:
        """The inspector's "users leave earlier milestones" box: one undoable step, after
        which the journey's audiences are calculated again."""
        if self.studio.state.has_journey(journey_id):
            self.run(SetJourneyExclusive(journey_id, exclusive))

    def show_overlap(self) -> QDialog:
        """View ▸ Audience overlap…: users in several active audiences, across journeys."""
        from app.ui.overlap_view import OverlapDialog

        studio = self.studio
        dialog = OverlapDialog(studio.active_audiences, lambda a: studio.overlap(a), self)
        return self._open(dialog, lambda: None)

    def delete_journey(self, journey_id: str) -> None:
        """Delete an empty journey; a journey with milestones is refused with the reason."""
        state = self.studio.state
        if not state.has_journey(journey_id):
            return
        problem = state.can_remove_journey(journey_id)
        if problem:
            self.banner.show_message(problem, "error")
            return
        self.run(DeleteJourney(journey_id))

    # importing -------------------------------------------------------------------

    def import_events(self) -> QDialog | None:
        """File ▸ Import events…: choose files, a format and an input; they import in the
        background with a progress dialog (while an import runs: that dialog)."""
        return self.imports.open()

    def _after_import(self, input_id: str) -> None:
        """Events came in through ``input_id``: every journey reading it is evaluated again
        (not only the one shown), then forwarding runs."""
        readers = journeys_reading(self.studio.state, input_id)
        if self.evaluations.enabled:
            for graph in readers:
                self.evaluations.start(graph.document())
        when_calculated(self.evaluations, [g.id for g in readers], self.forwarding.request)

    # canvas ----------------------------------------------------------------------

    def tidy_layout(self) -> None:
        graph = self.scene.graph
        if graph is None:
            return
        command = edits.layout_command(graph, self.scene.card_widths())
        if command is None:
            self.banner.show_message("The journey is already tidy.", "info")
            return
        self.run(command)

    def export_canvas(self, kind: str = "png", path: str | None = None) -> Path | None:
        """Export the canvas as PNG or SVG (asks where, unless ``path`` is given)."""
        graph = self.scene.graph
        if graph is None:
            return None
        if path is None:
            suffix = "svg" if kind == "svg" else "png"
            filters = "SVG image (*.svg)" if kind == "svg" else "PNG image (*.png)"
            path, _ = QFileDialog.getSaveFileName(self, "Export canvas",
                                                  f"{graph.name}.{suffix}", filters)
            if not path:
                return None
        try:
            if kind == "svg":
                export_svg(self.scene, path)
            else:
                export_png(self.scene, path)
        except OSError as problem:
            self.banner.show_message(str(problem), "error")
            return None
        self.banner.show_message(f"Exported “{graph.name}” to {path}.", "info")
        return Path(path)

    def _context_menu(self, kind: str, node_id: str, screen: QPoint, at: QPointF) -> None:
        menu = self.context_menu(kind, node_id)
        if menu is not None:
            menu.popup(screen)

    def context_menu(self, kind: str, node_id: str) -> QMenu | None:
        """The menu for a milestone, an output, or the empty canvas ("")."""
        graph = self.scene.graph
        if graph is None:
            return None
        menu = QMenu(self)
        menu.setObjectName("canvasMenu")
        if kind == "milestone" and graph.has_milestone(node_id):
            remaining = graph.milestone(node_id).remaining
            menu.addAction("Edit milestone…", lambda: self.edit_milestone(node_id))
            menu.addSeparator()
            menu.addAction("Add milestone after", lambda: self.add_after(node_id))
            menu.addAction("Add milestone beside (split)", lambda: self.add_beside(node_id))
            menu.addAction("Send to a partner…", lambda: self.add_output(node_id))
            if arms_of(graph.children(node_id)):
                menu.addAction("Remove A/B test", lambda: self.remove_ab_test(node_id))
            elif can_test(graph, node_id) is None:
                menu.addAction("Add A/B test…", lambda: self.add_ab_test(node_id))
            menu.addSeparator()
            remove = menu.addAction("Remove milestone", self.delete_selection)
            problem = edits.removal_problem(graph, node_id)
            remove.setEnabled(problem is None)
            remove.setToolTip(problem or "")
            if remaining:
                menu.actions()[0].setText("Rename milestone…")
        elif kind == "output" and graph.has_output(node_id):
            active = graph.output(node_id).active
            forwarding = self.scene.forwarding(node_id)
            if forwarding is not None and forwarding.faulted:
                resume = menu.addAction("Resume forwarding", lambda: self.resume_output(node_id))
                resume.setToolTip(forwarding.fault_text)
                menu.addSeparator()
            menu.addAction("Deactivate output" if active else "Activate output",
                           lambda: self.toggle_output(node_id))
            menu.addSeparator()
            menu.addAction("Remove output", self.delete_selection)
        else:
            menu.addAction("Add first milestone…", lambda: self.add_after(None))
            menu.addAction("Change the journey's inputs…",
                           lambda: self.edit_journey_inputs(graph.id))
            menu.addSeparator()
            menu.addAction(self.layout_action)
            menu.addAction(self.fit_action)
            menu.addAction(self.select_all_action)
        menu.setToolTipsVisible(True)
        return menu

    # ------------------------------------------------------------------ journeys

    def show_journey(self, journey_id: str) -> None:
        """Put a journey on the canvas (an unknown or empty id clears it)."""
        state = self.studio.state
        graph = state.journey(journey_id) if journey_id and state.has_journey(journey_id) else None
        self.scene.set_graph(graph)
        self.evaluations.watch(graph)
        if graph is not None:
            # The last figures while the new ones are calculated (the runner keeps them).
            self._show_figures(graph.id)
            self.scene.set_calculating(graph.id, self.evaluations.is_calculating(graph.id))

    def _update_title(self) -> None:
        self.setWindowTitle(f"{APP_TITLE} — {self.studio.state.account.name}")

    # ------------------------------------------------------------------ theme

    def refresh_theme(self) -> None:
        """Repaint what is painted by hand after :func:`theme.apply_theme`."""
        self.scene.refresh_all()
        self.view.resetCachedContent()
        self.view.viewport().update()
        self.panel.list.viewport().update()
        self.inspector.refresh_figures()  # its green and red are set in rich text
        self.size_history.refresh_theme()
        self.palette_panel.update()
        for tile in self.palette_panel.tiles:
            tile.update()
        self.minimap.schedule_rebuild()

    def on_color_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        """Follow the system between light and dark while running."""
        application = QApplication.instance()
        if isinstance(application, QApplication):
            theme.apply_theme(application, theme.theme_for_scheme(scheme))
            self.refresh_theme()

    # ------------------------------------------------------------------ menus

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_journey_action = self._action("&New journey…", "Ctrl+N", self.new_journey)
        file_menu.addAction(self.new_journey_action)
        self.import_journey_action = QAction("Import &journey…", self)
        self.import_journey_action.triggered.connect(lambda: journey_files.import_journey(self))
        self.export_journey_action = QAction("E&xport journey…", self)
        self.export_journey_action.triggered.connect(lambda: journey_files.export_journey(self))
        file_menu.addAction(self.import_journey_action)
        file_menu.addAction(self.export_journey_action)
        file_menu.addSeparator()
        self.import_action = self._action("&Import events…", "Ctrl+I", self.import_events)
        self.import_action.setEnabled(self.imports.enabled)
        file_menu.addAction(self.import_action)
        file_menu.addSeparator()
        self.export_png_action = self._action("Export as &PNG…", "Ctrl+E",
                                              lambda: self.export_canvas("png"))
        self.export_png_action.setIconText("Export")
        self.export_png_action.setToolTip("Export the canvas as a PNG image (Ctrl+E)")
        self.export_svg_action = self._action("Export as &SVG…", "Ctrl+Shift+E",
                                              lambda: self.export_canvas("svg"))
        file_menu.addAction(self.export_png_action)
        file_menu.addAction(self.export_svg_action)
        file_menu.addSeparator()
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        if self.quit_action.shortcut().isEmpty():
            self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)

        edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = self._action("&Undo", "Ctrl+Z", self.undo)
        self.undo_action.setIconText("Undo")
        self.redo_action = self._action("&Redo", "Ctrl+Shift+Z", self.redo)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.setIconText("Redo")
        self.undo_stack.canUndoChanged.connect(self.undo_action.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_action.setEnabled)
        self.undo_stack.undoTextChanged.connect(
            lambda text: self.undo_action.setToolTip(f"Undo {text} (Ctrl+Z)" if text
                                                     else "Undo (Ctrl+Z)"))
        self.undo_stack.redoTextChanged.connect(
            lambda text: self.redo_action.setToolTip(f"Redo {text} (Ctrl+Shift+Z)" if text
                                                     else "Redo (Ctrl+Shift+Z)"))
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        self.delete_action = QAction("&Delete\tDel", self)
        self.delete_action.triggered.connect(self.delete_selection)
        self.select_all_action = self._action("Select &all", "Ctrl+A", self._select_all)
        edit_menu.addAction(self.delete_action)
        edit_menu.addAction(self.select_all_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.panel.rename_action)
        edit_menu.addAction(self.panel.duplicate_action)
        edit_menu.addAction(self.panel.delete_action)
        self.journey_inputs_action = self._action("Journey &inputs…", "Ctrl+Shift+I",
                                                  lambda: self.edit_journey_inputs())
        edit_menu.addAction(self.journey_inputs_action)
        edit_menu.addSeparator()
        self.account_settings_action = self._action(f"{ACCOUNT_SETTINGS}…", "Ctrl+,",
                                                    self._show_account_settings)
        self.account_settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        edit_menu.addAction(self.account_settings_action)

        view_menu = self.menuBar().addMenu("&View")
        self.fit_action = self._action("&Fit to view", "Ctrl+0", self.view.fit_to_view)
        self.actual_size_action = self._action("&Actual size", "Ctrl+1", self.view.reset_zoom)
        self.zoom_in_action = self._action("Zoom &in", "Ctrl++", self.view.zoom_in)
        self.zoom_in_action.setShortcuts([QKeySequence("Ctrl++"), QKeySequence("Ctrl+=")])
        self.zoom_out_action = self._action("Zoom &out", "Ctrl+-", self.view.zoom_out)
        self.layout_action = self._action("&Tidy up layout", "Ctrl+L", self.tidy_layout)
        self.layout_action.setIconText("Tidy up")
        self.layout_action.setToolTip("Lay the journey out left to right (Ctrl+L)")
        self.minimap_action = QAction("&Minimap", self)
        self.minimap_action.setShortcut(QKeySequence("Ctrl+M"))
        self.minimap_action.setCheckable(True)
        self.minimap_action.setChecked(True)
        self.minimap_action.toggled.connect(lambda shown: self.minimap.set_collapsed(not shown))
        self.minimap.collapsedChanged.connect(
            lambda collapsed: self.minimap_action.setChecked(not collapsed))
        for action in (self.fit_action, self.actual_size_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        for action in (self.zoom_in_action, self.zoom_out_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.layout_action)
        view_menu.addAction(self.minimap_action)
        view_menu.addSeparator()
        view_menu.addAction(self.inspector_dock_action())
        view_menu.addAction(self.history_dock_action())
        self.activity_action = self.activity_dock.toggleViewAction()
        self.activity_action.setText("&Activity")
        self.activity_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.activity_action.setToolTip("Recent evaluations and deliveries to partners "
                                        "(Ctrl+Shift+A)")
        view_menu.addAction(self.activity_action)
        self.funnel_action = self.funnel_dock.toggleViewAction()
        self.funnel_action.setText("F&unnel")
        self.funnel_action.setShortcut(QKeySequence("Ctrl+Shift+F"))
        self.funnel_action.setToolTip("Size, conversion and drop-off along the selected "
                                      "milestone's path (Ctrl+Shift+F)")
        view_menu.addAction(self.funnel_action)
        self.size_history_action = self.size_history_dock.toggleViewAction()
        self.size_history_action.setText("Size &history")
        self.size_history_action.setShortcut(QKeySequence("Ctrl+Shift+H"))
        self.size_history_action.setToolTip("The selected milestone's size, joined and left "
                                            "over its evaluations (Ctrl+Shift+H)")
        view_menu.addAction(self.size_history_action)
        self.overlap_action = QAction("Audience &overlap…", self)
        self.overlap_action.setToolTip("Users in several active audiences, across journeys")
        self.overlap_action.triggered.connect(self.show_overlap)
        view_menu.addAction(self.overlap_action)
        view_menu.addSeparator()
        self.forward_now_action = QAction("&Send to partners now", self)
        self.forward_now_action.triggered.connect(self.forwarding.run_now)
        self.forward_now_action.setEnabled(self.forwarding.enabled)
        view_menu.addAction(self.forward_now_action)

    def _set_tool_icons(self) -> None:
        """Icons of the actions that have header buttons (menus stay text only)."""
        for action, name in ((self.undo_action, "undo"), (self.redo_action, "redo"),
                             (self.layout_action, "tidy"), (self.export_png_action, "export")):
            action.setIcon(icons.icon(name, "text", disabled="text_subtle"))
            action.setIconVisibleInMenu(False)

    def inspector_dock_action(self) -> QAction:
        return self._dock_toggle("inspector_dock")

    def history_dock_action(self) -> QAction:
        return self._dock_toggle("history_dock")

    def _dock_toggle(self, name: str) -> QAction:
        dock = getattr(self, name, None)
        if isinstance(dock, QDockWidget):
            return dock.toggleViewAction()
        return QAction(self)

    def _select_all(self) -> None:
        for item in (*self.scene.milestone_items.values(), *self.scene.output_items.values()):
            item.setSelected(True)

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
        self.minimap_action.setChecked(settings.value(SETTINGS_MINIMAP, True, type=bool))
        self.activity_dock.setVisible(settings.value(SETTINGS_ACTIVITY, False, type=bool))

    def save_settings(self) -> None:
        settings = QSettings()
        settings.setValue(SETTINGS_GEOMETRY, self.saveGeometry())
        settings.setValue(SETTINGS_STATE, self.saveState())
        settings.setValue(SETTINGS_SPLITTER, self.splitter.saveState())
        settings.setValue(SETTINGS_MINIMAP, self.minimap_action.isChecked())
        settings.setValue(SETTINGS_ACTIVITY, not self.activity_dock.isHidden())
        settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember the layout and stop listening to the domain."""
        self.save_settings()
        self.imports.shutdown()
        self.forwarding.shutdown()
        self.evaluations.shutdown()
        self.inspector.shutdown()
        self.size_history.shutdown()
        self.scene.close()
        self.watcher.close()
        log.debug("Main window closed")
        super().closeEvent(event)
