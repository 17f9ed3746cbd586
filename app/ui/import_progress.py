"""The progress of an import from the app, then its summary (File ▸ Import events…).

:class:`ImportProgressDialog` follows one background import
(:class:`~app.ui.importing.ImportRunner`): a bar by bytes of the files on disk,
records and events imported, events per second, the rejected count and the first
rejections as ``file:line: reason``, and Cancel, which stops between parts and
keeps every committed chunk. The bar and the figures move when a chunk commits;
the elapsed time ticks in between. At the end the dialog turns into the summary
(imported, duplicates skipped, rejected, damaged files) and stays until closed;
an error is a sentence, never a traceback. It is modeless: the marketer goes on
working while it runs, and closing it while it runs asks to cancel.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.account import AccountState
from app.ui import icons
from app.ui.import_words import (
    FORMAT_LABELS,
    duration_text,
    input_label,
    label,
    names_text,
    plural,
    size_text,
)
from app.ui.importing import (
    SHOWN_REJECTIONS,
    ImportProgress,
    ImportReport,
    ImportRequest,
    journeys_reading,
)

TICK_MS = 500
"""How often the elapsed time moves while an import runs (progress comes per chunk)."""


class StatTile(QFrame):
    """A figure over its caption: ``12,345`` / ``records imported``."""

    def __init__(self, caption: str, name: str) -> None:
        super().__init__()
        self.setObjectName("importStat")
        self.setProperty("tone", "")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 9, 12, 9)
        layout.setSpacing(1)
        self.value = label("0", "importStatValue")
        self.value.setAccessibleName(name)
        self.caption = label(caption, "importStatCaption")
        layout.addWidget(self.value)
        layout.addWidget(self.caption)

    def set(self, value: str, caption: str | None = None, tone: str = "") -> None:
        self.value.setText(value)
        if caption is not None:
            self.caption.setText(caption)
        if self.property("tone") != tone:
            self.setProperty("tone", tone)
            for widget in (self, self.value, self.caption):
                widget.style().unpolish(widget)
                widget.style().polish(widget)

    def text(self) -> str:
        return self.value.text()


class ImportProgressDialog(QDialog):
    """One import as it runs, then its summary; stays until closed."""

    cancelRequested = Signal()

    def __init__(self, request: ImportRequest, state: AccountState,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.setObjectName("importProgress")
        self.setWindowTitle("Importing events")
        self.setMinimumWidth(640)
        self.running = True
        self.outcome = "running"
        """``running``, then ``finished``, ``cancelled`` or ``failed``."""
        self.progress: ImportProgress | None = None
        self.rejected_count = 0
        self.report: ImportReport | None = None
        self._started = time.monotonic()
        self._readers = [g.name for g in journeys_reading(state, request.input_id)]
        where = input_label(state, request.input_id) if request.input_id in state.inputs \
            else request.input_id
        self._what = (f"{plural(len(request.paths), 'file')} "
                      f"({size_text(request.total_bytes)}) into {where} · "
                      f"{FORMAT_LABELS.get(request.format, request.format)}")

        body = QVBoxLayout(self)
        body.setContentsMargins(24, 20, 24, 16)
        body.setSpacing(12)
        body.addLayout(self._head())
        self._add_bar(body)
        body.addLayout(self._tiles())
        body.addWidget(self._notice())
        self._add_rejections(body)
        self.after_label = label("", "dialogNote", wrap=True)
        self.after_label.hide()
        body.addWidget(self.after_label)
        body.addWidget(self._buttons())

        self._set_icon("import", "accent")
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._show_running()

    # ------------------------------------------------------------------ parts

    def _head(self) -> QHBoxLayout:
        """The icon in its tile, the heading, what is imported where."""
        head = QHBoxLayout()
        head.setSpacing(12)
        self.icon = QLabel()
        self.icon.setObjectName("importIcon")
        self.icon.setFixedSize(40, 40)
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        head.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        self.heading = label("Importing events", "dialogTitle")
        self.subtitle = label(self._what, "dialogNote", wrap=True)
        titles.addWidget(self.heading)
        titles.addWidget(self.subtitle)
        head.addLayout(titles, 1)
        return head

    def _add_bar(self, body: QVBoxLayout) -> None:
        """The file being read and the share done over the bar; bytes and time under it."""
        above = QHBoxLayout()
        self.file_label = label("Starting…", "importFile")
        self.percent_label = label("0%", "importPercent")
        above.addWidget(self.file_label, 1)
        above.addWidget(self.percent_label)
        body.addLayout(above)
        self.bar = QProgressBar()
        self.bar.setObjectName("importBar")
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)
        self.bar.setProperty("state", "running")
        body.addWidget(self.bar)
        below = QHBoxLayout()
        self.bytes_label = label(f"0 bytes of {size_text(self.request.total_bytes)}",
                                 "fieldHint")
        self.time_label = label("0.0 s", "fieldHint")
        below.addWidget(self.bytes_label, 1)
        below.addWidget(self.time_label)
        body.addLayout(below)

    def _tiles(self) -> QHBoxLayout:
        """Four figures: while running records, events, events per second, rejected; at
        the end records, duplicates skipped, damaged files, rejected."""
        tiles = QHBoxLayout()
        tiles.setSpacing(10)
        self.imported_tile = StatTile("records imported", "Records imported")
        self.second_tile = StatTile("events imported", "Events imported")
        self.third_tile = StatTile("events per second", "Events per second")
        self.rejected_tile = StatTile("rejected", "Rejected")
        for tile in (self.imported_tile, self.second_tile, self.third_tile, self.rejected_tile):
            tiles.addWidget(tile, 1)
        return tiles

    def _notice(self) -> QFrame:
        """Why the import stopped, or which files were damaged (hidden until then)."""
        self.notice = QFrame()
        self.notice.setObjectName("importNotice")
        self.notice.setProperty("level", "error")
        layout = QVBoxLayout(self.notice)
        layout.setContentsMargins(12, 9, 12, 9)
        self.notice_label = label("", "importNoticeText", wrap=True)
        self.notice_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.notice_label)
        self.notice.hide()
        return self.notice

    def _add_rejections(self, body: QVBoxLayout) -> None:
        """The first rejected records, ``file:line: reason`` (shown from the first one)."""
        header = QHBoxLayout()
        self.rejections_title = label("First rejected records", "fieldLabel")
        self.rejections_count = label("", "fieldHint")
        header.addWidget(self.rejections_title, 1)
        header.addWidget(self.rejections_count)
        body.addLayout(header)
        self.rejections = QListWidget()
        self.rejections.setObjectName("rejectionList")
        self.rejections.setMinimumHeight(140)
        self.rejections.setWordWrap(False)
        body.addWidget(self.rejections, 1)
        self._set_rejections_visible(False)

    def _buttons(self) -> QDialogButtonBox:
        """Cancel while it runs; Close once it ended."""
        self.buttons = QDialogButtonBox()
        self.cancel_button = QPushButton("Cancel import")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.request_cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.accept)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button.hide()  # after addButton, which shows it
        return self.buttons

    # ------------------------------------------------------------------ running

    def show_progress(self, progress: ImportProgress) -> None:
        """A chunk was committed."""
        self.progress = progress
        self._show_running()

    def add_rejection(self, count: int, rejection: object | None) -> None:
        """A record was skipped: the count, and the first ones word for word."""
        self.rejected_count = max(self.rejected_count, count)
        if rejection is not None and self.rejections.count() < SHOWN_REJECTIONS:
            self.rejections.addItem(_rejection_text(rejection))
        self._set_rejections_visible(True)
        self._show_rejected()

    def request_cancel(self) -> None:
        """Cancel: stop after the part being stored; committed chunks stay."""
        if not self.running:
            return
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self.file_label.setText("Stopping after the part being stored…")
        self.cancelRequested.emit()

    def _show_running(self) -> None:
        progress = self.progress
        share = progress.share if progress else 0.0
        self.bar.setValue(round(share * 1000))
        self.percent_label.setText(f"{share:.0%}")
        if progress is not None:
            self.bytes_label.setText(f"{size_text(progress.bytes_read)} of "
                                     f"{size_text(progress.total_bytes)}")
            if self.cancel_button.isEnabled():
                self.file_label.setText(f"Reading {Path(progress.file).name}")
            self.imported_tile.set(f"{progress.records_imported:,}")
            self.second_tile.set(f"{progress.events_imported:,}")
            self.third_tile.set(f"{progress.events_per_second:,.0f}")
        elif self.cancel_button.isEnabled():
            first = self.request.paths[0].name if self.request.paths else ""
            self.file_label.setText(f"Reading {first}")
        self._show_rejected()
        self._tick()

    def _show_rejected(self) -> None:
        count = self.rejected_count
        self.rejected_tile.set(f"{count:,}", tone="danger" if count else "")
        shown = self.rejections.count()
        self.rejections_count.setText(
            f"{count:,} in all · the first {shown:,} shown" if count > shown else
            plural(count, "record"))

    def _tick(self) -> None:
        if self.running:
            self.time_label.setText(f"{duration_text(time.monotonic() - self._started)} elapsed")

    def _set_rejections_visible(self, shown: bool) -> None:
        self.rejections_title.setVisible(shown)
        self.rejections_count.setVisible(shown)
        self.rejections.setVisible(shown)
        self.adjustSize()

    def _set_icon(self, name: str, role: str) -> None:
        """The icon in its tile, tinted by ``role`` (the tile's ``tone`` follows it)."""
        self.icon.setPixmap(icons.icon(name, role).pixmap(QSize(22, 22),
                                                          self.devicePixelRatioF()))
        self.icon.setProperty("tone", role)
        self._repolish(self.icon)

    # ------------------------------------------------------------------ the end

    def show_report(self, report: ImportReport) -> None:
        """The import ended (done or cancelled): the summary, until closed."""
        self.report = report
        self.rejected_count = report.records_rejected
        for rejection in report.rejections[self.rejections.count():SHOWN_REJECTIONS]:
            self.rejections.addItem(_rejection_text(rejection))
        cancelled = report.cancelled
        self._end("cancelled" if cancelled else "finished")
        self.heading.setText("Import cancelled" if cancelled else "Import finished")
        self.setWindowTitle(self.heading.text())
        rate = report.events_imported / report.elapsed_s if report.elapsed_s > 0 else 0.0
        self.subtitle.setText(
            f"{self._what}\n{plural(report.events_imported, 'event')} and "
            f"{plural(report.users_created, 'new user')} in {duration_text(report.elapsed_s)}"
            f" · {rate:,.0f} events per second")
        if cancelled:
            self.file_label.setText(
                f"Stopped at {size_text(report.bytes_read)}: every stored chunk is whole; "
                f"import the same files again to add the rest.")
            self.file_label.setWordWrap(True)
            self._set_icon("stop", "warning")
            self.bar.setProperty("state", "cancelled")
        else:
            self.file_label.setText("All files read" if not report.damaged_files
                                    else "Read with damaged files")
            self.bar.setValue(1000)
            self.percent_label.setText("100%")
            self._set_icon("check" if not report.damaged_files else "warning",
                           "success" if not report.damaged_files else "warning")
            self.bar.setProperty("state", "finished" if not report.damaged_files
                                 else "cancelled")
        self._repolish(self.bar)
        self.bytes_label.setText(f"{size_text(report.bytes_read)} of "
                                 f"{size_text(self.request.total_bytes)} read")
        self.imported_tile.set(f"{report.records_imported:,}", "records imported",
                               "success" if report.records_imported else "")
        self.second_tile.set(f"{report.records_duplicated:,}", "duplicates skipped")
        self.third_tile.set(f"{len(report.damaged_files):,}",
                            "damaged file" if len(report.damaged_files) == 1
                            else "damaged files",
                            "warning" if report.damaged_files else "")
        self._show_rejected()
        if report.damaged_files:
            self._show_notice("Not read to the end (the records before the damage are "
                              "stored):\n" + "\n".join(_damaged_text(d)
                                                       for d in report.damaged_files),
                              "warning")
        self._show_after(report.stored_anything)
        self._set_rejections_visible(bool(report.records_rejected))  # and fits the dialog

    def show_failure(self, message: str) -> None:
        """The import stopped on an error: what was committed before it is kept."""
        self._end("failed")
        self.heading.setText("Import stopped")
        self.setWindowTitle(self.heading.text())
        self._set_icon("warning", "danger")
        self.bar.setProperty("state", "failed")
        self._repolish(self.bar)
        kept = self.progress.records_imported if self.progress else 0
        tail = (f" The {plural(kept, 'record')} stored before it are kept; import the same "
                f"files again to add the rest." if kept else " Nothing was stored.")
        self.file_label.setText("Stopped")
        self._show_notice(message + tail, "error")
        self._show_after(kept > 0)
        self.adjustSize()

    def _end(self, outcome: str) -> None:
        self.running = False
        self.outcome = outcome
        self._timer.stop()
        self.time_label.setText("")
        self.cancel_button.hide()
        self.close_button.show()
        self.close_button.setDefault(True)
        self.close_button.setFocus()

    def _show_notice(self, text: str, level: str) -> None:
        self.notice_label.setText(text)
        self.notice.setProperty("level", level)
        self._repolish(self.notice)
        self.notice.show()

    def _show_after(self, stored: bool) -> None:
        """Which journeys recalculate now (the window starts it)."""
        if not stored:
            return
        readers = self._readers
        if readers:
            self.after_label.setText(
                f"Recalculating the audiences of {names_text(readers)}; their partners "
                f"receive the changes right after.")
        else:
            self.after_label.setText("No journey reads this input yet: the events are "
                                     "ready for the next journey that does.")
        self.after_label.show()

    @staticmethod
    def _repolish(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)

    # ------------------------------------------------------------------ closing

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Escape while running asks to cancel (as the button does); it never hides a run."""
        if event.key() == Qt.Key.Key_Escape and self.running:
            self.request_cancel()
            return
        super().keyPressEvent(event)

    def reject(self) -> None:
        if self.running:
            self.request_cancel()
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.running:
            self.request_cancel()
            event.ignore()
            return
        super().closeEvent(event)


def _rejection_text(rejection: object) -> str:
    """``ios.jsonl:12: reason`` (the file's name, not its folder)."""
    file = getattr(rejection, "file", None)
    line = getattr(rejection, "line", None)
    reason = getattr(rejection, "reason", None)
    if file is None or line is None or reason is None:
        return str(rejection)
    return f"{os.path.basename(file)}:{line}: {reason}"


def _damaged_text(damaged: object) -> str:
    file = getattr(damaged, "file", None)
    reason = getattr(damaged, "reason", None)
    if file is None or reason is None:
        return str(damaged)
    return f"{os.path.basename(file)}: {reason}"
