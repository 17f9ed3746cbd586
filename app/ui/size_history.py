"""The Size history panel: the selected milestone's size over its stored evaluations.

Above, the figures a marketer asks first: the size now, who joined and left in the
last 24 hours, the volatility of the week (its tooltip says what it means) and how
many evaluations the chart holds. Below, two charts on one time axis (dates in local
time): the size as a line, and the users who joined (green, up) and left (red, down)
at each evaluation as bars. Hovering a chart shows the nearest evaluation's numbers.

The charts are pyqtgraph's (a kept charting library on Qt: date axes, hover, zoom
with the wheel), coloured from the active theme. The numbers come from
:mod:`app.core.history`, so the panel and ``journeys history`` agree. The points are
read from the store through the studio when the selection changes or an evaluation
of the shown journey finishes, only while the panel is on show, and off the GUI
thread (:class:`~app.ui.background.BackgroundReads`): a read for a milestone no
longer selected is dropped, and "Reading…" shows only when a read is slow.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFont, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.core.history import (
    VOLATILITY_DAYS,
    VOLATILITY_EXPLAINED,
    SizePoint,
    SizeSummary,
    percent,
    summarize,
)
from app.ui import theme
from app.ui.background import BackgroundReads

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
import itertools

import pyqtgraph as pg

if TYPE_CHECKING:
    from app.ui.canvas.scene import JourneyScene

Loader = Callable[[str], list[SizePoint]]
"""The studio's ``size_history``: a milestone id -> its points, oldest first."""

EMPTY_SELECTION = "Select a milestone on the canvas to see its size history."
NO_EVALUATIONS = "No evaluations yet"
LOADING = "Reading the size history…"
NO_EVALUATIONS_HINT = ("Sizes are recorded each time the journey is evaluated: after "
                       "an edit or an import, and on the forwarding schedule.")
BAR_SHARE = 0.6
"""A bar's width as a share of the smallest gap between two evaluations."""
LONE_BAR_S = 3600.0
"""A bar's width (seconds) when there is only one evaluation to measure gaps by."""


class CountAxis(pg.AxisItem):
    """Whole numbers with thousands separators and a true minus sign."""

    def tickStrings(self, values: list[float], scale: float,
                    spacing: float) -> list[str]:
        return [f"{round(v * scale):,}".replace("-", "−") for v in values]


class Figure(QFrame):
    """A caption over a large number (and a small line under it)."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyFigure")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(2)
        self.caption = QLabel(caption)
        self.caption.setObjectName("historyFigureCaption")
        self.value = QLabel("—")
        self.value.setObjectName("historyFigureValue")
        self.value.setTextFormat(Qt.TextFormat.RichText)
        self.detail = QLabel("")
        self.detail.setObjectName("historyFigureDetail")
        for label in (self.caption, self.value, self.detail):
            layout.addWidget(label)

    def show_value(self, value: str, detail: str = "") -> None:
        self.value.setText(value)
        self.detail.setText(detail)


class SizeHistoryPanel(QWidget):
    """The chart of one milestone at a time (see the module's docstring)."""

    def __init__(self, loader: Loader | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sizeHistoryPanel")
        self._loader = loader
        self.milestone_id: str | None = None
        """The milestone shown (None: nothing or something else is selected)."""
        self.points: list[SizePoint] = []
        """What the charts plot, as the store returned it."""
        self.summary: SizeSummary | None = None
        self._scene: JourneyScene | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 10, 12, 8)
        outer.setSpacing(8)
        self.title = QLabel("")
        self.title.setObjectName("historyTitle")
        outer.addWidget(self.title)
        self.pages = QStackedWidget()
        outer.addWidget(self.pages, 1)
        self.message = QLabel(EMPTY_SELECTION)
        self.message.setObjectName("historyEmpty")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.pages.addWidget(self.message)
        self.pages.addWidget(self._build_charts())
        self._plotted_id: str | None = None
        """The milestone whose points the charts show (None: a message is on show)."""
        self.reads = BackgroundReads("Reading a size history", self)
        """The store is read off the GUI thread; only the latest read arrives."""
        self.reads.loaded.connect(self._on_loaded)
        self.reads.failed.connect(self._on_failed)
        self.reads.slow.connect(self._on_slow)
        self.refresh_theme()

    # ------------------------------------------------------------------ building

    def _build_charts(self) -> QWidget:
        page = QWidget()
        layout = QHBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        figures = QGridLayout()
        figures.setSpacing(8)
        self.size_figure = Figure("Size now")
        self.recent_figure = Figure("Last 24 hours")
        self.volatility_figure = Figure(f"Volatility · {VOLATILITY_DAYS} days")
        self.volatility_figure.setToolTip(VOLATILITY_EXPLAINED)
        self.evaluations_figure = Figure("Evaluations")
        for index, figure in enumerate((self.size_figure, self.recent_figure,
                                        self.volatility_figure, self.evaluations_figure)):
            figure.setMinimumWidth(150)
            figures.addWidget(figure, index // 2, index % 2)
        self.legend = QLabel()
        self.legend.setObjectName("historyLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        figures.addWidget(self.legend, 2, 0, 1, 2)
        figures.setRowStretch(3, 1)
        layout.addLayout(figures)

        self.chart = pg.GraphicsLayoutWidget()
        self.chart.setObjectName("historyChart")
        self.chart.ci.setContentsMargins(0, 0, 4, 0)
        self.chart.ci.setSpacing(6)
        self.size_plot = self._plot("Users in the audience")
        self.change_plot = self._plot("Joined and left")
        self.chart.addItem(self.size_plot, row=0, col=0)
        self.chart.addItem(self.change_plot, row=1, col=0)
        self.chart.ci.layout.setRowStretchFactor(0, 3)
        self.chart.ci.layout.setRowStretchFactor(1, 2)
        self.change_plot.setXLink(self.size_plot)
        self.size_plot.getAxis("bottom").setStyle(showValues=False)
        self.size_curve = self.size_plot.plot([], [])
        self.added_bars = pg.BarGraphItem(x=[], height=[], width=1.0)
        self.removed_bars = pg.BarGraphItem(x=[], height=[], width=1.0)
        self.fill_bar = pg.BarGraphItem(x=[], height=[], width=1.0)
        """The first evaluation's "joined", in grey: it filled the audience."""
        self.change_plot.addItem(self.fill_bar)
        self.change_plot.addItem(self.added_bars)
        self.change_plot.addItem(self.removed_bars)
        self.zero_line = pg.InfiniteLine(pos=0, angle=0, movable=False)
        self.change_plot.addItem(self.zero_line)
        self.cursors = [pg.InfiniteLine(angle=90, movable=False) for _ in range(2)]
        for plot, cursor in zip((self.size_plot, self.change_plot), self.cursors, strict=True):
            cursor.hide()
            plot.addItem(cursor, ignoreBounds=True)
        self.chart.scene().sigMouseMoved.connect(self._on_mouse_moved)
        layout.addWidget(self.chart, 1)
        return page

    def _plot(self, title: str) -> pg.PlotItem:
        plot = pg.PlotItem(axisItems={"bottom": pg.DateAxisItem(orientation="bottom"),
                                      "left": CountAxis(orientation="left")})
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=True, y=False)
        plot.showGrid(x=False, y=True, alpha=0.5)
        plot.getAxis("left").setWidth(56)
        plot.getAxis("left").setStyle(maxTickLevel=0)  # one grid line per label
        plot.setTitle(title, justify="left", size="9pt")
        return plot

    # ------------------------------------------------------------------ following

    def follow(self, scene: JourneyScene) -> None:
        """Show the milestone selected on ``scene`` from now on."""
        self._scene = scene
        scene.selectionChanged.connect(self.follow_selection)
        scene.graphChanged.connect(self.follow_selection)
        scene.contentChanged.connect(self.follow_selection)

    def follow_selection(self) -> None:
        """The one selected milestone, when the panel is on show (read when shown)."""
        scene = self._scene
        if scene is None or not self.isVisible():
            return
        try:
            graph = scene.graph
            keys = scene.selected_keys()
        except RuntimeError:  # the scene is being destroyed with the window
            return
        if graph is None or len(keys) != 1 or keys[0][0] != "milestone" \
                or not graph.has_milestone(keys[0][1]):
            if self.milestone_id is not None or not self.points:
                self.show_milestone(None)
            return
        milestone = graph.milestone(keys[0][1])
        if milestone.id != self.milestone_id or self.title.text() != self._title(
                milestone.name, graph.name):
            self.show_milestone(milestone.id, milestone.name, graph.name)

    def on_evaluated(self, result: object) -> None:
        """An evaluation finished: the shown milestone's journey has a new point."""
        scene = self._scene
        graph = scene.graph if scene is not None else None
        if (self.isVisible() and graph is not None and self.milestone_id is not None
                and getattr(result, "journey_id", None) == graph.id):
            self.reload()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.follow_selection()

    # ------------------------------------------------------------------ showing

    def show_milestone(self, milestone_id: str | None, name: str = "",
                       journey: str = "") -> None:
        """Show ``milestone_id``'s history (None: the hint to select one)."""
        self.milestone_id = milestone_id
        if milestone_id is None:
            self.reads.drop()
            self.title.setText("")
            self._show_message(EMPTY_SELECTION)
            return
        self.title.setText(self._title(name, journey))
        if self._plotted_id not in (None, milestone_id):
            # Another milestone's charts must not stand under this one's title while
            # its points are read: a blank page until they arrive ("Reading…" if slow).
            self._show_message("")
        self.reload()

    @staticmethod
    def _title(name: str, journey: str) -> str:
        return f"{name}  ·  {journey}" if journey else name

    def reload(self) -> None:
        """Read the shown milestone's points again (after an evaluation), in the
        background: the charts change when the points arrive."""
        milestone_id, loader = self.milestone_id, self._loader
        if milestone_id is None:
            return
        if loader is None:
            self._show_message("Size history needs a database.")
            return
        self.reads.read(milestone_id, lambda: loader(milestone_id))

    def _on_loaded(self, milestone_id: str, points: list[SizePoint]) -> None:
        if milestone_id != self.milestone_id:
            return  # another milestone was selected meanwhile
        self.set_points(points, datetime.now(UTC))
        self._plotted_id = milestone_id if self.points else None

    def _on_failed(self, milestone_id: str, message: str) -> None:
        if milestone_id == self.milestone_id:
            self._show_message(message)

    def _on_slow(self, milestone_id: str) -> None:
        """A slow read: say so, unless the charts already show this milestone (a reload
        after an evaluation keeps them until the new point arrives)."""
        if milestone_id == self.milestone_id and self._plotted_id != milestone_id:
            self._show_message(LOADING)

    def shutdown(self) -> None:
        """The window closes: wait for a running read (it holds a connection)."""
        self.reads.shutdown()

    def set_points(self, points: Sequence[SizePoint], now: datetime) -> None:
        """Plot ``points`` and sum them up as of ``now``."""
        self.points = list(points)
        self.summary = summarize(self.points, now)
        if not self.points:
            self._show_message(f"<b>{NO_EVALUATIONS}</b><br><br>{NO_EVALUATIONS_HINT}")
            return
        self.pages.setCurrentIndex(1)
        self._show_figures(self.summary)
        self._plot_points()

    def _show_message(self, text: str) -> None:
        self._plotted_id = None
        self.points = []
        self.summary = None
        self.message.setText(text)
        self.pages.setCurrentIndex(0)

    def _show_figures(self, summary: SizeSummary) -> None:
        colours = theme.current()
        latest = summary.latest
        self.size_figure.show_value(
            f"{latest.size:,}" if latest else "—",
            f"as of {_local(latest.as_of)}" if latest else "")
        recent = summary.last_24_hours
        self.recent_figure.show_value(
            f"<span style='color:{colours.success_text}'>+{recent.added:,}</span>"
            f"&nbsp;&nbsp;<span style='color:{colours.danger}'>−{recent.removed:,}</span>",
            f"joined · left, {recent.evaluations} evaluation"
            f"{'' if recent.evaluations == 1 else 's'}")
        self.volatility_figure.show_value(
            percent(summary.volatility),
            "joined or left ÷ average size" if summary.volatility is not None
            else "needs a second evaluation this week")
        self.evaluations_figure.show_value(
            f"{summary.evaluations:,}", f"since {_local(self.points[0].as_of, day_only=True)}")

    def _plot_points(self) -> None:
        xs = [p.as_of.timestamp() for p in self.points]
        sizes = [p.size for p in self.points]
        colours = theme.current()
        self.size_curve.setData(
            xs, sizes, pen=pg.mkPen(colours.accent, width=2),
            symbol="o", symbolSize=6, symbolPen=pg.mkPen(colours.accent, width=1.5),
            symbolBrush=pg.mkBrush(colours.surface))
        gaps = [b - a for a, b in itertools.pairwise(xs) if b > a]
        width = BAR_SHARE * min(gaps) if gaps else LONE_BAR_S
        first, later = self.points[0], self.points[1:]
        bars = {"width": width, "pen": pg.mkPen(None)}
        self.fill_bar.setOpts(x=xs[:1], height=[first.added], **bars,
                              brush=pg.mkBrush(colours.border_strong))
        self.added_bars.setOpts(x=xs[1:], height=[p.added for p in later], **bars,
                                brush=pg.mkBrush(colours.success))
        self.removed_bars.setOpts(x=xs, height=[-p.removed for p in self.points], **bars,
                                  brush=pg.mkBrush(colours.danger))
        pad = width if len(xs) > 1 else 12 * LONE_BAR_S
        self.size_plot.setXRange(min(xs) - pad, max(xs) + pad, padding=0.02)
        top = max(sizes)
        self.size_plot.setYRange(0, top * 1.1 if top else 1, padding=0)
        # Scaled to the changes, not to the first fill (its bar runs off the top).
        scale = later or self.points
        highest = max(max(p.added for p in scale), max(p.removed for p in self.points), 1)
        self.change_plot.setYRange(-highest * 1.15, highest * 1.15, padding=0)

    def plotted(self) -> list[tuple[float, int, int, int]]:
        """(time, size, joined, left) as the charts hold them (what the tests compare)."""
        xs, ys = self.size_curve.getData()
        if xs is None or ys is None:
            return []
        added = [*self.fill_bar.opts["height"], *self.added_bars.opts["height"]]
        removed = self.removed_bars.opts["height"]
        return [(float(x), int(y), int(a), -int(r))
                for x, y, a, r in zip(xs, ys, added, removed, strict=True)]

    # ------------------------------------------------------------------ hover

    def _on_mouse_moved(self, position: QPointF) -> None:
        point = self._nearest(position)
        if point is None:
            for cursor in self.cursors:
                cursor.hide()
            QToolTip.hideText()
            return
        for cursor in self.cursors:
            cursor.setPos(point.as_of.timestamp())
            cursor.show()
        view = self.chart.mapToGlobal(self.chart.mapFromScene(position))
        QToolTip.showText(view, hover_text(point, point is self.points[0]), self.chart)

    def _nearest(self, position: QPointF) -> SizePoint | None:
        """The evaluation nearest the mouse in time, while it is over a plot."""
        if not self.points:
            return None
        for plot in (self.size_plot, self.change_plot):
            if plot.vb.sceneBoundingRect().contains(position):
                x = plot.vb.mapSceneToView(position).x()
                return min(self.points, key=lambda p: abs(p.as_of.timestamp() - x))
        return None

    # ------------------------------------------------------------------ theme

    def refresh_theme(self) -> None:
        """Colour the charts from the active palette (and replot in it)."""
        colours = theme.current()
        self.chart.setBackground(colours.panel)
        tick_font = theme.font(11)
        for plot in (self.size_plot, self.change_plot):
            plot.titleLabel.item.setDefaultTextColor(QColor(colours.text_muted))
            plot.titleLabel.item.setFont(theme.font(12, QFont.Weight.DemiBold))
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(colours.border_strong))
                axis.setTextPen(pg.mkPen(colours.text_muted))
                axis.setTickFont(tick_font)
        self.zero_line.setPen(pg.mkPen(colours.border_strong))
        self.legend.setText(legend_html(colours))
        for cursor in self.cursors:
            cursor.setPen(pg.mkPen(colours.text_subtle, style=Qt.PenStyle.DashLine))
        if self.points:
            self._show_figures(summarize(self.points, datetime.now(UTC)))
            self._plot_points()


def size_history_of(studio: object) -> Loader | None:
    """The studio's ``size_history`` (None when it has none, e.g. a read-only stand-in)."""
    loader = getattr(studio, "size_history", None)
    return loader if callable(loader) else None


def legend_html(colours: theme.Theme) -> str:
    """What the bars' colours mean (the grey one most of all)."""
    def key(colour: str, text: str) -> str:
        return f"<span style='color:{colour}'>■</span>&nbsp;{text}"

    return "&nbsp;&nbsp; ".join((
        key(colours.success, "joined"), key(colours.danger, "left"),
        key(colours.border_strong, "first evaluation (filled the audience)")))


def hover_text(point: SizePoint, first: bool = False) -> str:
    """What hovering an evaluation shows: when, the size, who joined and left."""
    if first:
        return (f"{_local(point.as_of)}\n{point.size:,} users\n"
                "The first evaluation: it filled the audience")
    return (f"{_local(point.as_of)}\n{point.size:,} users\n"
            f"+{point.added:,} joined · −{point.removed:,} left")


def _local(moment: datetime, *, day_only: bool = False) -> str:
    """A time as the window speaks it: local, "3 Dec 2026 14:05"."""
    local = moment.astimezone()
    day = f"{local.day} {local:%b %Y}"
    return day if day_only else f"{day} {local:%H:%M}"
