"""What every page of Account settings shares: a heading, an intro, a refusal line, and
one way to run an edit.

A page never changes the account itself: it hands one core command to ``run`` (the
window's :class:`~app.ui.undo.EditController`), so the change is stored, undoable and
in the History like a canvas edit. A refusal comes back as the controller's signal;
:meth:`SettingsPage.apply` catches it and shows the core's sentence on the page, where
the person is looking, instead of only in the window's banner behind the dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItemIterator,
    QVBoxLayout,
    QWidget,
)

from app.core.account import AccountState
from app.core.commands import Command
from app.ui.bridge import AccountWatcher
from app.ui.dialogs import _error_label, _show_error


class Refusals(Protocol):
    """Where the undo stack says why an edit was refused (``EditController``)."""

    @property
    def refused(self) -> SignalInstance: ...

    @property
    def conflicted(self) -> SignalInstance: ...


def run_refusable(run: Callable[[Command], bool], refusals: Refusals | None,
                  command: Command) -> str | None:
    """Run ``command`` through ``run`` (the window's undo path): None when it was stored,
    else why not, in the words the controller reported."""
    heard: list[str] = []
    listeners = [] if refusals is None else [refusals.refused, refusals.conflicted]
    for signal in listeners:
        signal.connect(heard.append)
    try:
        done = run(command)
    finally:
        for signal in listeners:
            signal.disconnect(heard.append)
    return None if done else (heard[-1] if heard else "Not saved.")


class SettingsPage(QWidget):
    """A page: ``title`` and ``intro`` on top, the page's own widgets, a refusal line."""

    def __init__(self, title: str, intro: str, watcher: AccountWatcher,
                 run: Callable[[Command], bool], refusals: Refusals | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.watcher = watcher
        self.run = run
        self.refusals = refusals
        self.title = QLabel(title)
        self.title.setObjectName("dialogTitle")
        self.intro = QLabel(intro)
        self.intro.setObjectName("dialogNote")
        self.intro.setWordWrap(True)
        self.notice = _error_label()
        """The last refusal of an edit made on this page (hidden when there is none)."""
        self.notice.setObjectName("pageRefusal")
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.body.setSpacing(10)
        self.body.addWidget(self.title)
        self.body.addWidget(self.intro)

    @property
    def state(self) -> AccountState:
        return self.watcher.state

    def button_row(self, *widgets: QWidget | None) -> QHBoxLayout:
        """Buttons in a row; None is the stretch between the left and the right ones."""
        row = QHBoxLayout()
        row.setSpacing(8)
        for widget in widgets:
            if widget is None:
                row.addStretch(1)
            else:
                row.addWidget(widget)
        return row

    def show_refusal(self, message: str | None) -> None:
        _show_error(self.notice, message)

    def apply(self, command: Command) -> str | None:
        """Run ``command`` on the undo stack; the refusal's message when it is refused
        (also shown on the page), None when it was stored."""
        problem = run_refusable(self.run, self.refusals, command)
        self.show_refusal(problem)
        done = problem is None
        if done:
            self.applied(command)
        return problem

    def applied(self, command: Command) -> None:
        """After a stored edit: pages re-read the account and select what it touched."""


CELL_PADDING = 12
"""Room on each side of a cell's text (the style sheet's item padding, which Qt's own
"resize to contents" leaves out, so a column measured by Qt cuts its widest text)."""


def settings_table(headers: list[str]) -> QTreeWidget:
    """A table of a settings page: no root decoration, styled as ``settingsTable``; the
    first column stretches, the others are fitted by :func:`fit_columns`."""
    table = QTreeWidget()
    table.setObjectName("settingsTable")
    table.setColumnCount(len(headers))
    table.setHeaderLabels(headers)
    table.setRootIsDecorated(False)
    table.setUniformRowHeights(True)
    header = table.header()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for column in range(1, len(headers)):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
    return table


def fit_columns(table: QTreeWidget) -> None:
    """Every column but the first as wide as its widest text (header included) plus the
    cell padding, so nothing is cut at the table's right edge."""
    metrics = table.fontMetrics()
    header_metrics = table.header().fontMetrics()
    for column in range(1, table.columnCount()):
        header_item = table.headerItem()
        widest = header_metrics.horizontalAdvance(header_item.text(column)) if header_item \
            else 0
        iterator = QTreeWidgetItemIterator(table)
        while iterator.value() is not None:
            item = iterator.value()
            icon = table.iconSize().width() + 6 if not item.icon(column).isNull() else 0
            widest = max(widest, metrics.horizontalAdvance(item.text(column)) + icon)
            iterator += 1
        table.setColumnWidth(column, widest + 2 * CELL_PADDING)
