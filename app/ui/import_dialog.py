"""File ▸ Import events…: choose files, their format and the input, then import them.

:class:`ImportDialog` collects the choice and checks it in place: every file
must exist and be readable before anything starts, the format is preselected
from the first file (``Studio.guess_format``) until the marketer picks one, and
the input is chosen as *workspace ▸ input* from the account, with the journeys
that read it named below. :class:`ImportFlow` ties it to the window: one import
at a time, in the background (:class:`~app.ui.importing.ImportRunner`), followed
in the modeless :class:`~app.ui.import_progress.ImportProgressDialog`, so the
marketer keeps working while it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.account import AccountState
from app.ui import icons
from app.ui.import_progress import ImportProgressDialog
from app.ui.import_words import (
    FORMAT_LABELS,
    file_problem,
    input_label,
    label,
    names_text,
    plural,
    size_text,
)
from app.ui.importing import (
    ImportingStudio,
    ImportRequest,
    ImportRunner,
    importer_of,
    journeys_reading,
)

log = logging.getLogger(__name__)

FILE_FILTERS = ";;".join((
    "Customer data (*.jsonl *.json *.csv *.gz)",
    "JSON lines (*.jsonl *.jsonl.gz)",
    "JSON (*.json *.json.gz)",
    "CSV (*.csv *.csv.gz)",
    "All files (*)",
))
SETTINGS_FOLDER = "import/folder"
SETTINGS_INPUT = "import/input"


# ---------------------------------------------------------------------------- choosing


class ImportDialog(QDialog):
    """Files, format and input of an import; Import stays disabled until they would do."""

    def __init__(self, studio: ImportingStudio, state: AccountState, formats: Sequence[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        self.state = state
        self.paths: list[Path] = []
        self._format_chosen = False
        """The marketer picked a format: files added later don't change it."""
        self._guesses: dict[Path, str | None] = {}
        """What each readable file looks like (``Studio.guess_format``)."""
        self.setObjectName("editorDialog")
        self.setWindowTitle("Import events")
        self.setAcceptDrops(True)
        self.setMinimumWidth(620)

        body = QVBoxLayout(self)
        body.setContentsMargins(22, 18, 22, 16)
        body.setSpacing(10)
        body.addWidget(label("Import events", "dialogTitle"))
        body.addWidget(label(
            "Customer data files: mParticle batches, Segment calls or CSV rows, plain or "
            "gzip-compressed. Records that can't be read are skipped and listed; a file "
            "imported again adds nothing twice.", "dialogNote", wrap=True))

        body.addSpacing(4)
        body.addWidget(label("Files", "fieldLabel"))
        self._add_files_area(body)
        body.addSpacing(4)
        body.addLayout(self._format_and_input(formats))
        body.addStretch(1)
        body.addWidget(self._buttons())
        self._show_files()
        self.validate()

    # ------------------------------------------------------------------ parts

    def _add_files_area(self, body: QVBoxLayout) -> None:
        """A large "Choose files…" target until there are files, then their list with Add
        and Remove, the total size, and what is wrong with any of them."""
        self.files = self._file_list()
        self.choose_button = QPushButton(icons.icon("import", "accent"),
                                         "  Choose files… or drop them here")
        self.choose_button.setObjectName("chooseFiles")
        self.choose_button.setIconSize(QSize(18, 18))
        self.choose_button.setAutoDefault(False)
        self.choose_button.clicked.connect(self.choose_files)
        self.file_stack = QStackedWidget()
        self.file_stack.addWidget(self.choose_button)
        self.file_stack.addWidget(self.files)
        self.file_stack.setFixedHeight(150)
        body.addWidget(self.file_stack)
        self.add_button = QPushButton("Add files…")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self.choose_files)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAutoDefault(False)
        self.remove_button.clicked.connect(self.remove_selected)
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        self.total_label = label("", "fieldHint")
        row.addWidget(self.total_label)
        body.addLayout(row)
        self.file_error = label("", "fieldError", wrap=True)
        self.file_error.hide()
        body.addWidget(self.file_error)

    def _format_and_input(self, formats: Sequence[str]) -> QGridLayout:
        """Format and input side by side, each with its hint under it."""
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(6)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.addWidget(label("Format", "fieldLabel"), 0, 0)
        grid.addWidget(label("Input", "fieldLabel"), 0, 1)
        self.format_box = QComboBox()
        self.format_box.setObjectName("importFormat")
        for key in formats:
            self.format_box.addItem(FORMAT_LABELS.get(key, key), key)
        self.format_box.setPlaceholderText("Choose a format…")
        self.format_box.setCurrentIndex(-1)
        self.format_box.activated.connect(self._on_format_picked)
        grid.addWidget(self.format_box, 1, 0)
        self.input_box = QComboBox()
        self.input_box.setObjectName("importInput")
        self._fill_inputs()
        self.input_box.currentIndexChanged.connect(lambda _i: self.validate())
        grid.addWidget(self.input_box, 1, 1)
        self.format_hint = label("", "fieldHint", wrap=True)
        self.input_hint = label("", "fieldHint", wrap=True)
        grid.addWidget(self.format_hint, 2, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.input_hint, 2, 1, Qt.AlignmentFlag.AlignTop)
        return grid

    def _buttons(self) -> QDialogButtonBox:
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        assert button is not None
        self.import_button: QPushButton = button
        self.import_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        return self.buttons

    @staticmethod
    def _file_list() -> QTreeWidget:
        tree = QTreeWidget()
        tree.setObjectName("importFiles")
        tree.setColumnCount(3)
        tree.setHeaderLabels(["File", "Size", "Folder"])
        tree.setRootIsDecorated(False)
        tree.setUniformRowHeights(True)
        tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        tree.setIconSize(QSize(16, 16))
        tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(0, 230)
        return tree

    def _fill_inputs(self) -> None:
        """Inputs grouped by workspace (in the account's order); the last one used first."""
        state = self.state
        for workspace in state.workspaces.values():
            for item in state.inputs.values():
                if item.workspace_id == workspace.id:
                    self.input_box.addItem(input_label(state, item.id), item.id)
        remembered = QSettings().value(SETTINGS_INPUT, "")
        index = self.input_box.findData(remembered) if remembered else -1
        self.input_box.setCurrentIndex(max(0, index) if self.input_box.count() else -1)
        if not self.input_box.count():
            self.input_box.setPlaceholderText("No inputs yet")
            self.input_box.setEnabled(False)

    # ------------------------------------------------------------------ files

    def choose_files(self) -> None:
        """The system's file chooser, in the folder used last time."""
        folder = str(QSettings().value(SETTINGS_FOLDER, "") or "")
        chosen, _ = QFileDialog.getOpenFileNames(self, "Choose files to import", folder,
                                                 FILE_FILTERS)
        if chosen:
            QSettings().setValue(SETTINGS_FOLDER, str(Path(chosen[0]).parent))
            self.add_files(chosen)

    def add_files(self, paths: Iterable[str | Path]) -> None:
        """Add files (each once, in the order given) and check them."""
        for value in paths:
            path = Path(value).expanduser().absolute()
            if path not in self.paths:
                self.paths.append(path)
        self._show_files()
        self._guess_format()
        self.validate()

    def remove_selected(self) -> None:
        rows = sorted((self.files.indexOfTopLevelItem(item)
                       for item in self.files.selectedItems()), reverse=True)
        if not rows and self.paths:
            rows = [len(self.paths) - 1]
        for row in rows:
            del self.paths[row]
        self._show_files()
        self._guess_format()
        self.validate()

    def _show_files(self) -> None:
        self.files.clear()
        total = 0
        for path in self.paths:
            try:
                size = path.stat().st_size
            except OSError:
                size = None
            total += size or 0
            item = QTreeWidgetItem([path.name, size_text(size) if size is not None else "—",
                                    str(path.parent)])
            item.setIcon(0, icons.icon("file", "text_muted"))
            item.setToolTip(0, str(path))
            item.setToolTip(2, str(path.parent))
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.files.addTopLevelItem(item)
        self.file_stack.setCurrentWidget(self.files if self.paths else self.choose_button)
        self.add_button.setVisible(bool(self.paths))
        self.remove_button.setVisible(bool(self.paths))
        self.total_label.setText(
            f"{plural(len(self.paths), 'file')} · {size_text(total)}" if self.paths else "")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        local = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if local:
            event.acceptProposedAction()
            self.add_files(local)

    # ------------------------------------------------------------------ format

    def _on_format_picked(self, _index: int) -> None:
        self._format_chosen = True
        self.validate()

    def _guess_format(self) -> None:
        """Preselect what the first file looks like, until the marketer picks a format."""
        guesses: dict[Path, str | None] = {}
        for path in self.paths:
            if file_problem(path) is None:
                try:
                    guesses[path] = self.studio.guess_format(path)
                except OSError:
                    guesses[path] = None
        first = next((g for g in guesses.values() if g), None)
        if not self._format_chosen:
            index = self.format_box.findData(first) if first else -1
            self.format_box.setCurrentIndex(index)
        self._guesses = guesses

    def format(self) -> str | None:
        """The chosen format's key (``mparticle``, ``segment``, ``csv``), if any."""
        value = self.format_box.currentData()
        return str(value) if value else None

    def _format_hint(self) -> str:
        guesses = self._guesses
        chosen = self.format()
        if not self.paths:
            return "Picked from the first file when you add one."
        if chosen is None:
            return "The files don't say which format they are in: choose one."
        other = next(((p, g) for p, g in guesses.items() if g and g != chosen), None)
        if other is not None:
            path, guess = other
            return (f"“{path.name}” looks like {FORMAT_LABELS.get(guess, guess)}: every file "
                    f"is read as {FORMAT_LABELS.get(chosen, chosen)}.")
        if not self._format_chosen and any(g == chosen for g in guesses.values()):
            return "Recognised from the files."
        return ""

    # ------------------------------------------------------------------ input

    def input_id(self) -> str | None:
        value = self.input_box.currentData()
        return str(value) if value else None

    def _input_hint(self) -> str:
        input_id = self.input_id()
        if input_id is None:
            return "Add a workspace and its inputs in Account settings first."
        readers = [graph.name for graph in journeys_reading(self.state, input_id)]
        if not readers:
            return "No journey reads this input yet."
        return (f"Read by {names_text(readers)}: "
                f"{'its' if len(readers) == 1 else 'their'} audiences are recalculated "
                f"after the import.")

    # ------------------------------------------------------------------ checking

    def problems(self) -> list[str]:
        """What stands in the way (files first); empty when Import would start."""
        return [p for p in (file_problem(path) for path in self.paths) if p]

    def validate(self) -> bool:
        problems = self.problems()
        self.file_error.setText("\n".join(problems[:3])
                                + (f"\n… and {len(problems) - 3} more" if len(problems) > 3
                                   else ""))
        self.file_error.setVisible(bool(problems))
        self.format_hint.setText(self._format_hint())
        self.input_hint.setText(self._input_hint())
        ok = (bool(self.paths) and not problems and self.format() is not None
              and self.input_id() is not None)
        self.import_button.setEnabled(ok)
        return ok

    def accept(self) -> None:
        """Import only when the files are still there and readable (checked again now)."""
        if self.validate():
            QSettings().setValue(SETTINGS_INPUT, self.input_id())
            super().accept()

    def request(self) -> ImportRequest:
        """What to import, once accepted."""
        format_key, input_id = self.format(), self.input_id()
        assert format_key is not None and input_id is not None
        return ImportRequest(tuple(self.paths), format_key, input_id)


# ---------------------------------------------------------------------------- the flow


class ImportFlow(QObject):
    """File ▸ Import events… for one window: the choice, then the import with its progress."""

    stored = Signal(str)
    """An import stored events through this input (its id): recalculate and forward."""

    def __init__(self, studio: object, state: Callable[[], AccountState],
                 parent: QWidget) -> None:
        super().__init__(parent)
        self._studio = importer_of(studio)
        self._state = state
        self._window = parent
        self.runner = ImportRunner(self._studio, self)
        self.runner.stored.connect(self.stored)
        self.dialog: ImportDialog | None = None
        """The choice dialog while it is open (tests fill and accept it)."""
        self.progress: ImportProgressDialog | None = None
        """The progress dialog of the running (or last, until closed) import."""

    @property
    def enabled(self) -> bool:
        return self.runner.enabled

    def open(self) -> QDialog | None:
        """The choice dialog; while an import runs, its progress instead."""
        if self.progress is not None and self.runner.is_running():
            self._raise(self.progress)
            return self.progress
        if self.dialog is not None:
            self._raise(self.dialog)
            return self.dialog
        if self._studio is None:
            return None
        from app.studio import FORMATS  # loads the importers: only once it is asked for

        dialog = ImportDialog(self._studio, self._state(), FORMATS, self._window)
        self.dialog = dialog

        def finished(result: int) -> None:
            if self.dialog is dialog:
                self.dialog = None
            if result == QDialog.DialogCode.Accepted:
                self.start(dialog.request())
            dialog.deleteLater()

        dialog.finished.connect(finished)
        dialog.open()
        return dialog

    def start(self, request: ImportRequest) -> ImportProgressDialog | None:
        """Import ``request`` in the background, its progress in a modeless dialog."""
        if self.runner.is_running():
            return None
        if self.progress is not None:
            self.progress.close()
        dialog = ImportProgressDialog(request, self._state(), self._window)
        dialog.setModal(False)
        self.progress = dialog
        runner = self.runner
        dialog.cancelRequested.connect(runner.cancel)
        links = ((runner.progressed, dialog.show_progress),
                 (runner.rejected, dialog.add_rejection),
                 (runner.finished, dialog.show_report), (runner.failed, dialog.show_failure))
        for signal, slot in links:
            signal.connect(slot)

        def finished(_result: int) -> None:
            for signal, slot in links:
                signal.disconnect(slot)
            if self.progress is dialog:
                self.progress = None
            dialog.deleteLater()

        dialog.finished.connect(finished)
        if not runner.start(request):
            dialog.show_failure("Another import is running: wait for it to end.")
        dialog.show()
        return dialog

    @staticmethod
    def _raise(dialog: QDialog) -> None:
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def shutdown(self) -> None:
        """The window closes: cancel a running import and wait for it."""
        self.runner.shutdown()
