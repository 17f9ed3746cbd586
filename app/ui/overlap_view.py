"""View ▸ Audience overlap: users who are in several active audiences, across journeys.

Shows :meth:`app.studio.Studio.overlap`: how many users are in more than one
active audience, the pairs of audiences sharing the most users (with the share
of the smaller one), and a warning for each overlapping pair sent to the same
connection. The active audiences are read on the GUI thread; the counting runs
in a :class:`~app.ui.background.BackgroundTask`, so a large store never freezes
the window. Refresh counts again (after an evaluation, say).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.overlap import ActiveAudience, OverlapPair, OverlapReport
from app.ui.background import BackgroundTask

COLUMNS = ("Audience A", "Audience B", "Shared users", "% of smaller", "Journeys")
NUMBER_COLUMNS = (2, 3)

Count = Callable[[Sequence[ActiveAudience]], OverlapReport]
"""Counts the overlap of the given audiences (safe off the GUI thread)."""


class OverlapDialog(QDialog):
    """The overlap report, counted in the background when opened and on Refresh."""

    def __init__(self, audiences: Callable[[], Sequence[ActiveAudience]], count: Count,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editorDialog")
        self.setWindowTitle("Audience overlap")
        self._audiences = audiences
        self._count = count
        self._generation = 0
        self._tasks: dict[int, BackgroundTask] = {}
        self.report: OverlapReport | None = None
        body = QVBoxLayout(self)
        body.setContentsMargins(22, 18, 22, 16)
        body.setSpacing(10)
        heading = QLabel("Audience overlap")
        heading.setObjectName("dialogTitle")
        body.addWidget(heading)
        self.summary = QLabel("Counting…")
        self.summary.setObjectName("dialogNote")
        self.summary.setWordWrap(True)
        body.addWidget(self.summary)
        self.table = self._make_table()
        body.addWidget(self.table, 1)
        self.empty = QLabel("")
        self.empty.setObjectName("dialogNote")
        self.empty.setWordWrap(True)
        self.empty.hide()
        body.addWidget(self.empty)
        self.warnings = QVBoxLayout()
        self.warnings.setSpacing(6)
        body.addLayout(self.warnings)
        self.warning_labels: list[QLabel] = []
        note = QLabel("Counts are of each journey's latest evaluation. Parents of a connected "
                      "milestone are active too; in a journey whose users leave earlier "
                      "milestones when they reach a later one, a path shares no users.")
        note.setObjectName("inspectorHint")
        note.setWordWrap(True)
        body.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAutoDefault(False)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        if close is not None:
            close.setDefault(True)
        buttons.addButton(self.refresh_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.refresh_button.clicked.connect(self.refresh)
        buttons.rejected.connect(self.reject)
        body.addWidget(buttons)
        self.resize(900, 540)
        self.refresh()

    def _make_table(self) -> QTreeWidget:
        table = QTreeWidget()
        table.setObjectName("activityTable")
        table.setRootIsDecorated(False)
        table.setUniformRowHeights(True)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setHeaderLabels(list(COLUMNS))
        header = table.header()
        header.setStretchLastSection(True)
        for column, width in enumerate((210, 190, 104, 100)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        head = table.headerItem()
        for column in NUMBER_COLUMNS:
            head.setTextAlignment(column, Qt.AlignmentFlag.AlignRight
                                  | Qt.AlignmentFlag.AlignVCenter)
        return table

    def refresh(self) -> None:
        """Count again in the background; the latest count wins."""
        self._generation += 1
        audiences = tuple(self._audiences())
        task = BackgroundTask(lambda: self._count(audiences), "overlap", self._generation,
                              "Counting the audience overlap")
        task.signals.finished.connect(self._finished)
        task.signals.failed.connect(self._failed)
        self._tasks[self._generation] = task
        self.refresh_button.setEnabled(False)
        self.summary.setText("Counting…")
        QThreadPool.globalInstance().start(task)

    def _finished(self, _key: str, generation: int, report: object) -> None:
        self._tasks.pop(generation, None)
        if generation != self._generation or not isinstance(report, OverlapReport):
            return
        self.refresh_button.setEnabled(True)
        self.show_report(report)

    def _failed(self, _key: str, generation: int, message: str) -> None:
        self._tasks.pop(generation, None)
        if generation != self._generation:
            return
        self.refresh_button.setEnabled(True)
        self.summary.setText(f"The overlap could not be counted: {message}")

    def show_report(self, report: OverlapReport) -> None:
        self.report = report
        self.summary.setText(report.summary)
        self.table.clear()
        for pair in report.pairs:
            self.table.addTopLevelItem(_row(pair))
        self.table.setVisible(bool(report.pairs))
        self.empty.setVisible(not report.pairs)
        self.empty.setText("No two active audiences share a user." if report.audiences > 1
                           else "")
        self.warning_labels = []
        while self.warnings.count():
            item = self.warnings.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        for text in report.warnings:
            self.warnings.addWidget(self._warning(text))

    def _warning(self, text: str) -> QFrame:
        frame = QFrame()
        frame.setObjectName("limitNotice")
        layout = QVBoxLayout(frame)
        layout.setContentsMargins(12, 8, 12, 8)
        label = QLabel(text)
        label.setObjectName("limitNoticeText")
        label.setWordWrap(True)
        layout.addWidget(label)
        self.warning_labels.append(label)
        return frame


def _row(pair: OverlapPair) -> QTreeWidgetItem:
    journeys = (pair.first.journey if pair.first.journey_id == pair.second.journey_id
                else f"{pair.first.journey} / {pair.second.journey}")
    item = QTreeWidgetItem([pair.first.name, pair.second.name, f"{pair.shared:,}",
                            f"{pair.percent_of_smaller:.1f}%", journeys])
    for column in NUMBER_COLUMNS:
        item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if pair.same_connections:
        tip = f"Both go to {', '.join(pair.same_connections)}"
        for column in range(len(COLUMNS)):
            item.setToolTip(column, tip)
    return item
