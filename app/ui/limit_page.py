"""Account settings › Limit: the account's active-audience limit, and what counts against it.

A marketer comes here from a refusal ("… raise the limit in Account settings") or
from the status bar's meter, so the page answers both questions at once: how many
audiences are active, which ones and why (an output of their own, or a later
milestone's), and what the limit is. The new limit is checked in place with the
core's rule as it is typed, and a limit below the active count shows the core's
sentence and cannot be applied; an applied one is one undoable
:class:`~app.core.commands.SetActiveAudienceLimit`.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.commands import Command, SetActiveAudienceLimit
from app.core.graph import JourneyGraph, reason
from app.ui import icons
from app.ui.bridge import AccountWatcher
from app.ui.settings_page import Refusals, SettingsPage, fit_columns, settings_table
from app.ui.status import meter_level

LIMIT_MAX = 100_000
"""The highest limit the account record takes (``Account.active_audience_limit``)."""


def why_active(graph: JourneyGraph, milestone_id: str, connection_name: Callable[[str], str]
               ) -> str:
    """``Sends to CRM webhook``, or why an audience without an active output of its own is
    active: a milestone after it sends."""
    names = [connection_name(o.connection_id) for o in graph.outputs()
             if o.milestone_id == milestone_id and o.active]
    if names:
        return "Sends to " + ", ".join(names)
    return "A later milestone sends to a partner"


def count_text(count: int, limit: int) -> str:
    """``3 of 25`` as the big figure of the page."""
    return f"{count:,} of {limit:,}"


class LimitPage(SettingsPage):
    """The limit in a spin box with Apply; the active audiences listed below it."""

    def __init__(self, watcher: AccountWatcher, run: Callable[[Command], bool],
                 refusals: Refusals | None = None, parent: QWidget | None = None) -> None:
        super().__init__(
            "Active-audience limit",
            "An audience is active while it, or a milestone after it, sends to an active "
            "output. The account may have at most this many active audiences across all "
            "journeys; an edit that would go over the limit is refused.",
            watcher, run, refusals, parent)
        self.setObjectName("limitPage")
        self.figure = QLabel()
        self.figure.setObjectName("limitFigure")
        self.caption = QLabel("active audiences")
        self.caption.setObjectName("limitCaption")
        self.bar = QProgressBar()
        self.bar.setObjectName("meterBar")
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        self.spin = QSpinBox()
        self.spin.setObjectName("limitField")
        self.spin.setRange(0, LIMIT_MAX)
        self.spin.setGroupSeparatorShown(True)
        self.spin.setAccessibleName("Active-audience limit")
        self.spin.setFixedWidth(110)
        self.spin.setKeyboardTracking(True)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("primaryButton")
        self.error = QLabel()
        self.error.setObjectName("pageRefusal")
        self.error.setWordWrap(True)
        self.error.hide()
        self.table = settings_table(["Active audience", "Journey", "Why it is active"])
        self.table.setIconSize(QSize(14, 14))
        self.table.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.empty = QLabel("No audience is active: none sends to a partner yet.")
        self.empty.setObjectName("dialogNote")
        self.body.addSpacing(4)
        self.body.addWidget(self._summary())
        self.body.addWidget(self.error)
        self.body.addSpacing(6)
        section = QLabel("ACTIVE NOW")
        section.setObjectName("settingsSection")
        self.body.addWidget(section)
        self.body.addWidget(self.table, 1)
        self.body.addWidget(self.empty)
        self.body.addWidget(self.notice)
        self._shown_limit: int | None = None
        self.spin.valueChanged.connect(lambda _v: self.validate())
        self.spin.editingFinished.connect(self._on_enter)
        self.apply_button.clicked.connect(self.apply_limit)
        for signal in (watcher.statusChanged, watcher.accountChanged, watcher.journeyChanged):
            signal.connect(self.refresh)
        self.refresh()

    def _summary(self) -> QFrame:
        """The figure and its bar on the left, the limit field and Apply on the right."""
        panel = QFrame()
        panel.setObjectName("settingsCard")
        figures = QVBoxLayout()
        figures.setSpacing(6)
        line = QHBoxLayout()
        line.setSpacing(8)
        line.addWidget(self.figure, 0, Qt.AlignmentFlag.AlignBaseline)
        line.addWidget(self.caption, 0, Qt.AlignmentFlag.AlignBaseline)
        line.addStretch(1)
        figures.addLayout(line)
        figures.addWidget(self.bar)
        field_label = QLabel("Limit")
        field_label.setObjectName("fieldLabel")
        field_label.setBuddy(self.spin)
        field = QHBoxLayout()
        field.setSpacing(8)
        field.addWidget(field_label)
        field.addWidget(self.spin)
        field.addWidget(self.apply_button)
        layout = QHBoxLayout(panel)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.setSpacing(28)
        layout.addLayout(figures, 1)
        layout.addLayout(field)
        return panel

    # ------------------------------------------------------------------ reading

    def refresh(self) -> None:
        """Re-read the count, the limit and the active audiences (any edit, undo, reload)."""
        state = self.state
        count = state.active_audience_count()
        limit = state.limit
        self.figure.setText(count_text(count, limit))
        self.bar.setRange(0, max(limit, 1))
        self.bar.setValue(min(count, max(limit, 1)))
        level = meter_level(count, limit)
        if self.property("level") != level:
            self.setProperty("level", level)
            for widget in (self, self.figure, self.bar):
                widget.style().unpolish(widget)
                widget.style().polish(widget)
        if limit != self._shown_limit:
            # Only a new limit (applied, undone, read again) replaces what is typed: other
            # edits meanwhile leave the field alone.
            self._shown_limit = limit
            self.spin.blockSignals(True)
            self.spin.setValue(limit)
            self.spin.blockSignals(False)
        self._fill_table()
        self.validate()

    def _fill_table(self) -> None:
        self.table.clear()
        state = self.state
        dot = icons.icon("dot", "success")
        for graph, milestone_id in state.active_audiences():
            item = QTreeWidgetItem([graph.milestone(milestone_id).name, graph.name,
                                    why_active(graph, milestone_id, state.connection_name)])
            item.setIcon(0, dot)
            item.setSizeHint(0, QSize(0, 30))
            item.setData(0, Qt.ItemDataRole.UserRole, milestone_id)
            self.table.addTopLevelItem(item)
        fit_columns(self.table)
        shown = self.table.topLevelItemCount() > 0
        self.table.setVisible(shown)
        self.empty.setVisible(not shown)

    def audiences(self) -> list[tuple[str, str]]:
        """(audience, journey) of each row, as the table shows them."""
        rows = []
        for row in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(row)
            if item is not None:
                rows.append((item.text(0), item.text(1)))
        return rows

    # ------------------------------------------------------------------ the limit

    def problem(self) -> str | None:
        """Why the typed limit can't be applied (the core's sentence), or None."""
        value = self.spin.value()
        return reason(lambda: self.state.check_set_limit(value))

    def validate(self) -> bool:
        problem = self.problem()
        self.error.setText(problem or "")
        self.error.setVisible(bool(problem))
        self.spin.setProperty("error", bool(problem))
        self.spin.style().unpolish(self.spin)
        self.spin.style().polish(self.spin)
        changed = self.spin.value() != self.state.limit
        self.apply_button.setEnabled(changed and problem is None)
        self.apply_button.setToolTip(problem or ("" if changed else "Type a new limit first"))
        return problem is None

    def _on_enter(self) -> None:
        """Enter in the field applies, as a person expects of a one-field form."""
        if self.spin.hasFocus() and self.apply_button.isEnabled():
            self.apply_limit()

    def apply_limit(self) -> None:
        value = self.spin.value()
        if value == self.state.limit or not self.validate():
            return
        self.apply(SetActiveAudienceLimit(value))

    def applied(self, command: Command) -> None:
        self.refresh()
