"""The Activity panel: recent evaluations and deliveries, newest first (DESIGN.md section 1).

How a marketer verifies that the data flow behaves: every evaluation (of the
shown journey, and of every journey a forwarding run evaluated) and every
delivery attempt to a partner, with its time (local), what was sent where, the
adds and deletes, the outcome as a coloured badge, the HTTP status or the
error, and the latency. Two combo boxes filter by output and by outcome.

The panel holds plain values only: the delivery log comes with each forwarding
snapshot (read off the GUI thread, see :mod:`app.ui.forwarding`), evaluations
as the runners report them. Names come from the window (``Namer``), so a
renamed milestone reads as it is called now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui import theme
from app.ui.forwarding import utc

MAX_EVALUATIONS = 200
"""Evaluations kept in the panel (the delivery log is the store's)."""

ALL = ""
EVALUATED = "evaluated"
OUTCOMES: tuple[tuple[str, str], ...] = (
    (ALL, "All outcomes"),
    ("delivered", "Delivered"),
    ("retry", "Retried"),
    ("faulted", "Faulted"),
    (EVALUATED, "Evaluations"),
)
BADGES: dict[str, tuple[str, str, str]] = {
    "delivered": ("Delivered", "success_soft", "success_text"),
    "retry": ("Retried", "warning_soft", "warning_text"),
    "faulted": ("Faulted", "danger_soft", "danger"),
    EVALUATED: ("Evaluated", "accent_soft", "accent"),
}
"""Outcome -> (badge text, background role, text role)."""

COLUMNS = ("Time", "Audience → connection", "Change", "Outcome", "Latency", "Detail")
OUTCOME_COLUMN = 3
LATENCY_COLUMN = 4
DETAIL_COLUMN = 5
OUTCOME_ROLE = Qt.ItemDataRole.UserRole + 1


class DeliveryLike(Protocol):
    """What the panel reads of ``app.studio.DeliveryRecord``."""

    @property
    def id(self) -> int: ...

    @property
    def output_id(self) -> str: ...

    @property
    def started_at(self) -> datetime: ...

    @property
    def adds(self) -> int: ...

    @property
    def deletes(self) -> int: ...

    @property
    def outcome(self) -> str: ...

    @property
    def http_status(self) -> int | None: ...

    @property
    def error(self) -> str | None: ...

    @property
    def latency_ms(self) -> float: ...


class Namer(Protocol):
    """How the window names things for the panel."""

    def output_route(self, output_id: str) -> str:
        """``Signed up for trial → CRM webhook``."""
        ...

    def journey_title(self, journey_id: str) -> str: ...

    def output_routes(self) -> list[tuple[str, str]]:
        """(output id, route) of every output of the account, in journey order."""
        ...


@dataclass(frozen=True)
class Row:
    """One line of the panel, as plain values."""

    at: datetime
    what: str
    change: str
    outcome: str
    detail: str
    latency: str
    output_id: str | None
    """None for an evaluation."""
    order: int = 0
    """Ties at the same time: later first."""

    def texts(self) -> tuple[str, ...]:
        label = BADGES.get(self.outcome, (self.outcome, "", ""))[0]
        return (local_time_text(self.at), self.what, self.change, label, self.latency,
                self.detail)


def local_time_text(moment: datetime) -> str:
    """``14:32:05`` (local), with the day when it is not today."""
    local = utc(moment).astimezone()
    today = datetime.now(local.tzinfo).date()
    return f"{local:%H:%M:%S}" if local.date() == today else f"{local.day} {local:%b %H:%M:%S}"


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def change_text(adds: int, deletes: int) -> str:
    return f"+{adds:,} / \u2212{deletes:,}"


def delivery_row(record: DeliveryLike, namer: Namer) -> Row:
    detail = f"HTTP {record.http_status}" if record.http_status is not None else ""
    if record.error:
        detail = f"{detail} · {record.error}" if detail else record.error
    return Row(record.started_at, namer.output_route(record.output_id),
               change_text(record.adds, record.deletes), record.outcome, detail,
               f"{record.latency_ms:,.0f} ms", record.output_id, record.id)


def evaluation_row(result: Any, namer: Namer, order: int) -> Row:
    """A row for an ``EvaluationResult``: the journey, the change summed over its
    audiences, how many audiences and people."""
    milestones: Sequence[Any] = tuple(result.milestones)
    added = sum(m.added for m in milestones)
    removed = sum(m.removed for m in milestones)
    audiences = len(milestones)
    people = result.population.size
    detail = (f"{audiences} {'audience' if audiences == 1 else 'audiences'} · "
              f"{people:,} {'person' if people == 1 else 'people'}")
    return Row(result.evaluated_at, f"“{namer.journey_title(result.journey_id)}” evaluated",
               change_text(added, removed), EVALUATED, detail, "", None, order)


class BadgeDelegate(QStyledItemDelegate):
    """Paints the outcome column as a small coloured pill."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        outcome = index.data(OUTCOME_ROLE)
        if outcome not in BADGES:
            super().paint(painter, option, index)
            return
        palette = theme.current()
        text, background, foreground = BADGES[outcome]
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, palette.color("accent_soft"))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = badge_font()
        metrics = QFontMetricsF(font)
        height = 18.0
        width = metrics.horizontalAdvance(text) + 16.0
        rect = QRectF(option.rect.left() + 6.0, option.rect.center().y() - height / 2 + 0.5,
                      width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.color(background))
        painter.drawRoundedRect(rect, height / 2, height / 2)
        painter.setPen(palette.color(foreground))
        painter.setFont(font)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), 96), max(hint.height(), 26))


def badge_font() -> QFont:
    return theme.font(10.5, QFont.Weight.DemiBold)


class ActivityPanel(QWidget):
    """Recent evaluations and deliveries, newest first, filtered by output and outcome."""

    def __init__(self, namer: Namer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activityPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._namer = namer
        self._deliveries: tuple[DeliveryLike, ...] = ()
        self._evaluations: list[Any] = []
        self._seen_evaluations: set[str] = set()
        self._counter = 0

        title = QLabel("Activity")
        title.setObjectName("activityTitle")
        self.summary = QLabel("")
        self.summary.setObjectName("activitySummary")
        self.output_filter = QComboBox()
        self.output_filter.setObjectName("activityOutputFilter")
        self.output_filter.setAccessibleName("Show the activity of")
        self.output_filter.setMinimumContentsLength(22)
        self.output_filter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.outcome_filter = QComboBox()
        self.outcome_filter.setObjectName("activityOutcomeFilter")
        self.outcome_filter.setAccessibleName("Show outcomes")
        for key, label in OUTCOMES:
            self.outcome_filter.addItem(label, key)
        self.refresh_outputs()
        self.output_filter.currentIndexChanged.connect(self.rebuild)
        self.outcome_filter.currentIndexChanged.connect(self.rebuild)

        self.table = QTreeWidget()
        self.table.setObjectName("activityTable")
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setAlternatingRowColors(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setItemDelegateForColumn(OUTCOME_COLUMN, BadgeDelegate(self.table))
        self.table.headerItem().setTextAlignment(
            LATENCY_COLUMN, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header = self.table.header()
        header.setStretchLastSection(True)
        for column, width in enumerate((92, 300, 110, 104, 84)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.empty = QLabel("Nothing yet. Evaluations and deliveries to partners appear here "
                            "as they happen.")
        self.empty.setObjectName("activityEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)

        bar = QHBoxLayout()
        bar.setContentsMargins(14, 10, 14, 8)
        bar.setSpacing(8)
        bar.addWidget(title)
        bar.addWidget(self.summary)
        bar.addStretch(1)
        bar.addWidget(self.output_filter)
        bar.addWidget(self.outcome_filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty, 1)
        self.rebuild()

    # ------------------------------------------------------------------ input

    def set_deliveries(self, records: Iterable[DeliveryLike]) -> None:
        """The latest delivery log (newest first), from a forwarding snapshot."""
        self._deliveries = tuple(records)
        self.refresh_outputs()
        self.rebuild()

    def add_evaluations(self, results: Iterable[Any]) -> None:
        """Evaluations just done (each once, however many times it is reported)."""
        added = False
        for result in results:
            key = str(getattr(result, "evaluation_id", id(result)))
            if key in self._seen_evaluations:
                continue
            self._seen_evaluations.add(key)
            self._counter += 1
            self._evaluations.append((self._counter, result))
            added = True
        if not added:
            return
        del self._evaluations[:-MAX_EVALUATIONS]
        self.rebuild()

    def refresh_outputs(self) -> None:
        """The output filter's choices: every output of the account (kept selected)."""
        current = self.output_filter.currentData()
        choices = self._namer.output_routes()
        known = {o for o, _ in choices}
        choices += [(r.output_id, self._namer.output_route(r.output_id))
                    for r in self._deliveries if r.output_id not in known]
        wanted = [(ALL, "All outputs"), *dict(choices).items()]
        present = [(self.output_filter.itemData(i), self.output_filter.itemText(i))
                   for i in range(self.output_filter.count())]
        if present == wanted:
            return
        self.output_filter.blockSignals(True)
        self.output_filter.clear()
        for key, label in wanted:
            self.output_filter.addItem(label, key)
        index = self.output_filter.findData(current if current is not None else ALL)
        self.output_filter.setCurrentIndex(max(index, 0))
        self.output_filter.blockSignals(False)

    # ------------------------------------------------------------------ filters

    def set_output_filter(self, output_id: str) -> None:
        self.output_filter.setCurrentIndex(max(self.output_filter.findData(output_id), 0))

    def set_outcome_filter(self, outcome: str) -> None:
        self.outcome_filter.setCurrentIndex(max(self.outcome_filter.findData(outcome), 0))

    def rows(self) -> list[Row]:
        """What the panel lists under its filters, newest first."""
        output = self.output_filter.currentData() or ALL
        outcome = self.outcome_filter.currentData() or ALL
        rows: list[Row] = []
        if outcome in (ALL, EVALUATED) and output == ALL:
            rows += [evaluation_row(r, self._namer, n) for n, r in self._evaluations]
        if outcome != EVALUATED:
            rows += [delivery_row(d, self._namer) for d in self._deliveries
                     if (output == ALL or d.output_id == output)
                     and (outcome == ALL or d.outcome == outcome)]
        rows.sort(key=lambda r: (utc(r.at), r.output_id is not None, r.order), reverse=True)
        return rows

    def rebuild(self) -> None:
        rows = self.rows()
        self.table.clear()
        items = []
        for row in rows:
            item = QTreeWidgetItem(list(row.texts()))
            item.setData(OUTCOME_COLUMN, OUTCOME_ROLE, row.outcome)
            item.setToolTip(1, row.what)
            item.setToolTip(DETAIL_COLUMN, row.detail)
            item.setTextAlignment(LATENCY_COLUMN,
                                  Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if row.outcome == "faulted":
                item.setForeground(DETAIL_COLUMN, theme.current().color("danger"))
            items.append(item)
        self.table.addTopLevelItems(items)
        self.table.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        delivered = sum(1 for d in self._deliveries if d.outcome == "delivered")
        faulted = sum(1 for d in self._deliveries if d.outcome == "faulted")
        parts = [plural(len(self._evaluations), "evaluation"),
                 plural(delivered, "delivery", "deliveries")]
        if faulted:
            parts.append(f"{faulted} faulted")
        self.summary.setText(" · ".join(parts))


def routes_of(graphs: Iterable[Any], connection_name: Callable[[str], str]
              ) -> list[tuple[str, str]]:
    """(output id, "Audience → Connection") for every output of ``graphs``."""
    return [(o.id, f"{g.milestone(o.milestone_id).name} → {connection_name(o.connection_id)}")
            for g in graphs for o in g.outputs()]
