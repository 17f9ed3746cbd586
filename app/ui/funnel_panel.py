"""The Funnel panel: size, step conversion and drop-off along the selected path.

DESIGN.md section 1 (Analysis): per path, the funnel. The path is the selected
milestone's (or the selected output's milestone's) way down from the journey start;
it stays on show when the selection is cleared, so clicking the empty canvas does not
blank the panel. The figures are the scene's, i.e. the latest evaluation's: the same
numbers as the cards and the edge badges. The arithmetic is :mod:`app.core.funnel`.

The chart is painted by :func:`paint_funnel`, once for the panel and once for
"Export PNG…" onto an image of its own (with the journey's name as a title), so the
exported picture is a clean chart rather than a screenshot of the dock. "Export CSV…"
writes :func:`app.core.funnel.funnel_csv`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QFont,
    QFontMetricsF,
    QHideEvent,
    QImage,
    QPainter,
    QPaintEvent,
    QPen,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.core import funnel
from app.core.funnel import FunnelStep
from app.ui import theme
from app.ui.canvas.items import MilestoneItem, OutputItem
from app.ui.canvas.scene import JourneyScene
from app.ui.theme import Theme

log = logging.getLogger(__name__)

NO_SELECTION = "Select a milestone to see the funnel of its path from the journey start."
NO_FIGURES = "The funnel appears once the journey has been evaluated."
PNG_SCALE = 2.0
"""Device pixels per point in an exported PNG (sharp on high-density screens)."""
PNG_SIZE = QSize(960, 380)
"""The exported chart's least size in points (the title included); wider for long paths
(:func:`png_size`)."""
PNG_COLUMN = 190
"""Points per step in an exported chart, so every column's text fits unshortened."""
COLUMN_MAX = 240.0
"""The widest a step's column gets: a short path stays a chart, not four slabs."""


def step_lines(step: FunnelStep, population: int) -> tuple[str, str, str, str]:
    """What a step's column says under its bar: the size, the step conversion, the
    drop-off in users and percent, and the share of the whole journey."""
    size = f"{step.size:,} users" if step.size != 1 else "1 user"
    if step.parent_size is None:
        return size, "Everyone in the journey", "", ""
    overall = (f"{funnel.percent_text(funnel.overall_conversion(step, population))} "
               "of the journey")
    if step.conversion is None:
        return size, "Nobody reached the step before", "", overall
    converted = f"{funnel.percent_text(step.conversion)} converted"
    lost = f"{funnel.MINUS}{step.dropped:,} dropped ({funnel.percent_text(step.drop_off)})"
    return size, converted, lost, overall


def paint_funnel(painter: QPainter, rect: QRectF, steps: tuple[FunnelStep, ...],
                 palette: Theme) -> None:
    """Draw the funnel in ``rect``: one column per step, left to right as on the canvas,
    a bar scaled to the journey's population, and the figures under it."""
    if not steps:
        return
    population = steps[0].size
    count = len(steps)
    gap = 14.0
    column = min(COLUMN_MAX, (rect.width() - gap * (count - 1)) / count)
    name_font = theme.font(12, QFont.Weight.DemiBold)
    size_font = theme.font(13, QFont.Weight.DemiBold)
    small_font = theme.font(11)
    name_h = QFontMetricsF(name_font).height() + 6
    text_h = (QFontMetricsF(size_font).height() + 3 * QFontMetricsF(small_font).height() + 10)
    bar_top = rect.top() + name_h
    bar_height = max(24.0, rect.height() - name_h - text_h)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    for index, step in enumerate(steps):
        left = rect.left() + index * (column + gap)
        painter.setFont(name_font)
        painter.setPen(palette.color("text"))
        name = QFontMetricsF(name_font).elidedText(step.name, Qt.TextElideMode.ElideRight,
                                                   column)
        painter.drawText(QRectF(left, rect.top(), column, name_h),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, name)
        track = QRectF(left, bar_top, column, bar_height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.color("neutral_soft"))
        painter.drawRoundedRect(track, 6, 6)
        share = step.size / population if population > 0 else 0.0
        filled = track.adjusted(0, track.height() * (1 - min(1.0, share)), 0, 0)
        if filled.height() > 0.5:
            colour = palette.color("accent")
            if step.milestone_id is None:
                colour = palette.color("accent", 150)
            painter.setBrush(colour)
            painter.drawRoundedRect(filled, 6, 6)
        if index > 0 and step.parent_size:
            lost_h = track.height() * (step.dropped / population) if population else 0.0
            ghost = QRectF(left, filled.top() - lost_h, column, lost_h)
            if ghost.height() > 0.5:
                painter.setBrush(palette.color("danger", 40))
                pen = QPen(palette.color("danger", 110), 1.0, Qt.PenStyle.DashLine)
                painter.setPen(pen)
                painter.drawRoundedRect(ghost.adjusted(0.5, 0.5, -0.5, 0), 6, 6)
                painter.setPen(Qt.PenStyle.NoPen)
        size, converted, lost, overall = step_lines(step, population)
        y = bar_top + bar_height + 6
        painter.setFont(size_font)
        painter.setPen(palette.color("text"))
        size_h = QFontMetricsF(size_font).height()
        painter.drawText(QRectF(left, y, column, size_h), Qt.AlignmentFlag.AlignLeft, size)
        y += size_h + 2
        small_h = QFontMetricsF(small_font).height()
        painter.setFont(small_font)
        metrics = QFontMetricsF(small_font)
        painter.setPen(palette.color("text_muted"))
        painter.drawText(QRectF(left, y, column, small_h), Qt.AlignmentFlag.AlignLeft,
                         metrics.elidedText(converted, Qt.TextElideMode.ElideRight, column))
        y += small_h
        painter.setPen(palette.color("danger" if step.dropped else "text_subtle"))
        painter.drawText(QRectF(left, y, column, small_h), Qt.AlignmentFlag.AlignLeft,
                         metrics.elidedText(lost, Qt.TextElideMode.ElideRight, column))
        y += small_h
        painter.setPen(palette.color("text_subtle"))
        painter.drawText(QRectF(left, y, column, small_h), Qt.AlignmentFlag.AlignLeft,
                         metrics.elidedText(overall, Qt.TextElideMode.ElideRight, column))


def png_size(steps: tuple[FunnelStep, ...]) -> QSize:
    """The exported chart's size in points: :data:`PNG_COLUMN` per step at least."""
    return QSize(max(PNG_SIZE.width(), PNG_COLUMN * len(steps) + 48), PNG_SIZE.height())


def funnel_image(steps: tuple[FunnelStep, ...], title: str, palette: Theme,
                 size: QSize | None = None, scale: float = PNG_SCALE) -> QImage:
    """The funnel as a picture of its own: a title and the chart on the panel colour."""
    size = size or png_size(steps)
    image = QImage(round(size.width() * scale), round(size.height() * scale),
                   QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(scale)
    image.fill(palette.color("panel"))
    painter = QPainter(image)
    try:
        margin = 24.0
        title_font = theme.font(16, QFont.Weight.DemiBold)
        title_h = QFontMetricsF(title_font).height()
        painter.setFont(title_font)
        painter.setPen(palette.color("text"))
        painter.drawText(QRectF(margin, margin, size.width() - 2 * margin, title_h),
                         Qt.AlignmentFlag.AlignLeft, title)
        chart = QRectF(margin, margin + title_h + 14, size.width() - 2 * margin,
                       size.height() - 2 * margin - title_h - 14)
        paint_funnel(painter, chart, steps, palette)
    finally:
        painter.end()
    return image


class FunnelChart(QWidget):
    """The painted funnel of :class:`FunnelPanel` (or an explanation when there is none)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("funnelChart")
        self.steps: tuple[FunnelStep, ...] = ()
        self.message = NO_SELECTION
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(720, 220)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = theme.current()
        area = QRectF(self.rect()).adjusted(16, 10, -16, -12)
        if not self.steps:
            painter.setFont(theme.font(12))
            painter.setPen(palette.color("text_subtle"))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.message)
        else:
            paint_funnel(painter, area, self.steps, palette)
        painter.end()


class FunnelPanel(QWidget):
    """Size, conversion and drop-off along the selected milestone's path (View ▸ Funnel)."""

    pathChanged = Signal()
    """Another path (or other figures) is on show: read :attr:`steps`."""

    def __init__(self, scene: JourneyScene, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("funnelPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._scene = scene
        self._milestone_id: str | None = None
        self.steps: tuple[FunnelStep, ...] = ()

        title = QLabel("Funnel")
        title.setObjectName("activityTitle")
        self.summary = QLabel("")
        self.summary.setObjectName("activitySummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.setObjectName("inspectorButton")
        self.csv_button.setToolTip("Save this funnel as a CSV file for a spreadsheet")
        self.png_button = QPushButton("Export PNG…")
        self.png_button.setObjectName("inspectorButton")
        self.png_button.setToolTip("Save this funnel as a chart picture")
        self.csv_button.clicked.connect(lambda: self.export_csv())
        self.png_button.clicked.connect(lambda: self.export_png())
        self.chart = FunnelChart(self)

        bar = QHBoxLayout()
        bar.setContentsMargins(14, 10, 14, 4)
        bar.setSpacing(8)
        bar.addWidget(title)
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.csv_button)
        bar.addWidget(self.png_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.chart, 1)

        scene.selectionChanged.connect(self._follow_selection)
        scene.figuresChanged.connect(self.rebuild)
        scene.contentChanged.connect(self.rebuild)
        scene.graphChanged.connect(self._journey_changed)
        self.rebuild()

    # ------------------------------------------------------------------ the path

    @property
    def milestone_id(self) -> str | None:
        """The milestone whose path is on show (None: none chosen yet)."""
        return self._milestone_id

    def _follow_selection(self) -> None:
        """A selected milestone (or an output, for its milestone) picks the path; an
        empty selection keeps the one on show."""
        try:
            selected = self._scene.selectedItems()
        except RuntimeError:  # the scene is being destroyed with the window
            return
        for item in selected:
            milestone_id = None
            if isinstance(item, MilestoneItem):
                milestone_id = item.node_id
            elif isinstance(item, OutputItem) and self._scene.graph is not None:
                milestone_id = self._scene.graph.output(item.node_id).milestone_id
            if milestone_id is not None:
                self.show_path(milestone_id)
                return

    def _journey_changed(self) -> None:
        self._milestone_id = None
        self.rebuild()

    def show_path(self, milestone_id: str | None) -> None:
        """Show the funnel from the journey start to ``milestone_id``."""
        self._milestone_id = milestone_id
        self.rebuild()

    def rebuild(self) -> None:
        """Recompute the funnel from the scene's latest figures."""
        try:
            graph = self._scene.graph
            population = self._scene.population
        except RuntimeError:  # the scene is being destroyed with the window
            return
        steps: tuple[FunnelStep, ...] | None = None
        if graph is not None and self._milestone_id is not None \
                and not graph.has_milestone(self._milestone_id):
            self._milestone_id = None
        if graph is not None and self._milestone_id is not None and population is not None:
            sizes = {m.id: f.size for m in graph.milestones_in_order()
                     if (f := self._scene.figures(m.id)) is not None}
            steps = funnel.path_funnel(graph, self._milestone_id, population.size, sizes)
        self.steps = steps or ()
        self.chart.steps = self.steps
        self.chart.message = NO_SELECTION if self._milestone_id is None else NO_FIGURES
        self.summary.setText(self._summary())
        self.csv_button.setEnabled(bool(self.steps))
        self.png_button.setEnabled(bool(self.steps))
        self.chart.update()
        self._mark_path()
        self.pathChanged.emit()

    def _mark_path(self) -> None:
        """Draw the badges of the shown path in the accent while the panel is open, so
        the canvas shows which path the chart is about."""
        on_path = {step.milestone_id for step in self.steps} if self.isVisible() else set()
        try:
            for edge in self._scene.edge_items.values():
                if edge.label is not None:
                    edge.label.set_on_path(edge.label.milestone_id in on_path)
        except RuntimeError:  # the scene is being destroyed with the window
            return

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._mark_path()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._mark_path()

    def _summary(self) -> str:
        if not self.steps:
            return ""
        last = self.steps[-1]
        overall = funnel.percent_text(funnel.overall_conversion(last, self.steps[0].size))
        return f"{funnel.JOURNEY_START} → {last.name} · {overall} of the journey reach it"

    def rows(self) -> list[tuple[str, ...]]:
        """Each step's name and the lines drawn under its bar (for tests and reading)."""
        if not self.steps:
            return []
        population = self.steps[0].size
        return [(step.name, *step_lines(step, population)) for step in self.steps]

    # ------------------------------------------------------------------ export

    def _title(self) -> str:
        graph = self._scene.graph
        last = self.steps[-1].name if self.steps else ""
        return f"{graph.name if graph else ''} · funnel to {last}"

    def _ask_path(self, caption: str, suffix: str, filters: str) -> str:
        default = f"{self._title().replace(' · ', ' - ')}.{suffix}"
        path, _ = QFileDialog.getSaveFileName(self, caption, default, filters)
        return path

    def export_csv(self, path: str | None = None) -> Path | None:
        """Write the funnel as CSV (asks where unless ``path`` is given)."""
        if not self.steps:
            return None
        chosen = path or self._ask_path("Export funnel as CSV", "csv", "CSV files (*.csv)")
        if not chosen:
            return None
        target = Path(chosen)
        try:
            target.write_text(funnel.funnel_csv(self.steps), encoding="utf-8", newline="")
        except OSError as error:
            self._failed(target, error)
            return None
        return target

    def export_png(self, path: str | None = None) -> Path | None:
        """Write the funnel as a PNG chart (asks where unless ``path`` is given)."""
        if not self.steps:
            return None
        chosen = path or self._ask_path("Export funnel as PNG", "png", "PNG images (*.png)")
        if not chosen:
            return None
        target = Path(chosen)
        image = funnel_image(self.steps, self._title(), theme.current())
        if not image.save(str(target), "PNG"):
            self._failed(target, OSError("the picture could not be written"))
            return None
        return target

    def _failed(self, target: Path, error: OSError) -> None:
        log.warning("Could not export the funnel to %s: %s", target, error)
        QMessageBox.warning(self, "Export funnel",
                            f"The funnel could not be saved to “{target.name}”: {error}.")

