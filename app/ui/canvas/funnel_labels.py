"""The funnel on the canvas: a small badge on every milestone edge.

Each edge into a milestone (from the journey start or from its parent milestone)
carries a :class:`FunnelLabelItem`: a rounded badge with the step conversion on top
("62%") and the drop-off below it ("−38"), from the latest evaluation
(:mod:`app.core.funnel` does the arithmetic). The badge is a child of the edge, so
it moves, hides and goes away with it; the edge tells it when its route changed
(:meth:`FunnelLabelItem.follow`) and the scene when new sizes arrived
(:meth:`FunnelLabelItem.refresh`).

Where it sits: in the free stretch of the edge between the source's handle column
(+, send and split sit right of a milestone card) and the arrowhead, so it never
hides a handle; on the curve itself, so it reads as belonging to that edge. Two
short lines keep it narrow enough for the columns of the automatic layout.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.core import funnel
from app.ui import theme

if TYPE_CHECKING:
    from app.ui.canvas.scene import JourneyScene

START_KEY = "start"
HANDLE_CLEARANCE = 34.0
"""Room right of a milestone card kept free for its handles (see ``handle_position``)."""
START_CLEARANCE = 3.0
"""Room kept right of the journey start's pill."""
ARROW_CLEARANCE = 3.0
"""Room kept before the arrowhead's base."""
PAD_X = 7.0
PAD_Y = 3.0
LINE_GAP = 0.0
RADIUS = 8.0
TOP_PX = 10.5
BOTTOM_PX = 9.5
MIN_DETAIL = 0.4
"""Below this zoom the badges are not drawn: their text would be specks of noise."""
CALCULATING_OPACITY = 0.45
"""The last figures stay readable while new ones are calculated, but look provisional."""


def is_funnel_edge(key: tuple[str, str]) -> bool:
    """Whether an edge (source key, target key) is a funnel step: it leads into a
    milestone from the journey start or from another milestone."""
    source, target = key
    return target.startswith("milestone:") and (source == START_KEY
                                                or source.startswith("milestone:"))


class FunnelLabelItem(QGraphicsItem):
    """The conversion and drop-off badge of one milestone edge (a child of the edge)."""

    def __init__(self, edge: QGraphicsItem, key: tuple[str, str]) -> None:
        super().__init__(edge)
        self.key = key
        self._path = QPainterPath()
        self._step: tuple[int, int] | None = None
        """(size, parent size) shown; None: no figures, nothing drawn."""
        self._rect = QRectF()
        self._on_path = False
        self._downward = False
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)

    # ------------------------------------------------------------------ data

    @property
    def milestone_id(self) -> str:
        return self.key[1].partition(":")[2]

    @property
    def parent_id(self) -> str | None:
        return None if self.key[0] == START_KEY else self.key[0].partition(":")[2]

    def step(self) -> tuple[int, int] | None:
        """(size, parent size) from the scene's latest figures; None without them."""
        scene = cast("JourneyScene | None", self.scene())
        if scene is None:
            return None
        child = scene.figures(self.milestone_id)
        parent_id = self.parent_id
        parent = scene.population if parent_id is None else scene.figures(parent_id)
        if child is None or parent is None:
            return None
        return child.size, parent.size

    def lines(self) -> tuple[str, str] | None:
        """The two lines drawn (conversion, drop-off), or None when nothing is shown."""
        if self._step is None:
            return None
        size, parent_size = self._step
        return (funnel.short_percent_text(funnel.conversion(size, parent_size)),
                f"{funnel.MINUS}{funnel.dropped(size, parent_size):,}")

    def text(self) -> str:
        """The badge as one line ("62% · −38"); empty when nothing is shown."""
        if self._step is None:
            return ""
        return funnel.edge_text(*self._step)

    @property
    def on_path(self) -> bool:
        """Whether the badge is on the path the Funnel panel shows (drawn in the accent)."""
        return self._on_path

    def set_on_path(self, on_path: bool) -> None:
        if on_path != self._on_path:
            self._on_path = on_path
            self.update()

    def refresh(self) -> None:
        """Read the figures again (new evaluation, or calculating started or stopped)."""
        self._step = self.step()
        scene = cast("JourneyScene | None", self.scene())
        self.setOpacity(CALCULATING_OPACITY if scene is not None and scene.calculating
                        else 1.0)
        self._relayout()
        self.setToolTip(self._tooltip())

    def _tooltip(self) -> str:
        if self._step is None:
            return ""
        size, parent_size = self._step
        share = funnel.conversion(size, parent_size)
        if share is None:
            return "Nobody reached the step before this one."
        lost = funnel.dropped(size, parent_size)
        return (f"{funnel.percent_text(share)} of {parent_size:,} went on to this "
                f"milestone ({size:,}); {lost:,} dropped off "
                f"({funnel.percent_text(funnel.drop_off(size, parent_size))}).")

    # ------------------------------------------------------------------ geometry

    def follow(self, path: QPainterPath, *, downward: bool = False) -> None:
        """The edge was routed along ``path`` (ending at the arrowhead's base); a
        ``downward`` one ends going down into the top of its card."""
        self._path = QPainterPath(path)
        self._downward = downward
        self._relayout()

    def _free_stretch(self) -> tuple[float, float]:
        """The x range of the edge a badge may cover: past the source's handles (a
        milestone's) or its pill (the start's), and before the arrowhead."""
        start = self._path.pointAtPercent(0.0)
        end = self._path.pointAtPercent(1.0)
        left = start.x() + (START_CLEARANCE if self.parent_id is None else HANDLE_CLEARANCE)
        return left, end.x() - ARROW_CLEARANCE

    def _anchor_on(self, width: float) -> QPointF:
        """The badge's centre: on the path, in the middle of its free stretch and wholly
        inside it when it fits. Edges that run backwards use the path's middle."""
        path = self._path
        left, right = self._free_stretch()
        if right - left < 1.0 or path.pointAtPercent(1.0).x() <= path.pointAtPercent(0.0).x():
            return path.pointAtPercent(0.5)
        target_x = (left + right) / 2
        if right - left > width:
            target_x = min(max(target_x, left + width / 2), right - width / 2)
        return _point_where(path, lambda point: point.x(), target_x)  # curves run rightwards

    def _anchor_above_end(self, height: float) -> QPointF:
        """The badge's centre on a downward edge: just above the arrowhead, where the edge
        runs down into its own card (each arm's badge sits over its arm)."""
        path = self._path
        target_y = path.pointAtPercent(1.0).y() - ARROW_CLEARANCE - height / 2
        return _point_where(path, lambda point: point.y(), target_y)  # it only goes down

    def _relayout(self) -> None:
        lines = self.lines()
        self.prepareGeometryChange()
        if lines is None or self._path.isEmpty():
            self._rect = QRectF()
            return
        top = QFontMetricsF(theme.font(TOP_PX, QFont.Weight.DemiBold))
        bottom = QFontMetricsF(theme.font(BOTTOM_PX, QFont.Weight.Medium))
        width = max(top.horizontalAdvance(lines[0]), bottom.horizontalAdvance(lines[1]))
        height = top.height() + LINE_GAP + bottom.height()
        w = math.ceil(width + 2 * PAD_X)
        h = math.ceil(height + 2 * PAD_Y)
        anchor = self._anchor_above_end(h) if self._downward else self._anchor_on(w)
        self._rect = QRectF(round(anchor.x() - w / 2), round(anchor.y() - h / 2), w, h)

    def badge_rect(self) -> QRectF:
        """The badge's rectangle in scene coordinates (empty when nothing is shown)."""
        return self.mapRectToScene(self._rect)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1) if not self._rect.isEmpty() else QRectF()

    # ------------------------------------------------------------------ painting

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        lines = self.lines()
        if lines is None or self._rect.isEmpty():
            return
        if option.levelOfDetailFromTransform(painter.worldTransform()) < MIN_DETAIL:
            return
        palette = theme.current()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        border, fill, text = (("accent", "accent_soft", "accent") if self._on_path
                              else ("border_strong", "surface", "text"))
        painter.setPen(QPen(palette.color(border), 1.0))
        painter.setBrush(palette.color(fill))
        painter.drawRoundedRect(self._rect, RADIUS, RADIUS)
        inner = self._rect.adjusted(PAD_X, PAD_Y, -PAD_X, -PAD_Y)
        top_font = theme.font(TOP_PX, QFont.Weight.DemiBold)
        top_height = QFontMetricsF(top_font).height()
        painter.setFont(top_font)
        painter.setPen(palette.color(text))
        painter.drawText(QRectF(inner.left(), inner.top(), inner.width(), top_height),
                         Qt.AlignmentFlag.AlignCenter, lines[0])
        painter.setFont(theme.font(BOTTOM_PX, QFont.Weight.Medium))
        size, parent_size = self._step or (0, 0)
        lost = funnel.dropped(size, parent_size) > 0
        painter.setPen(palette.color("text_muted" if lost else "text_subtle"))
        painter.drawText(QRectF(inner.left(), inner.top() + top_height + LINE_GAP,
                                inner.width(), inner.height() - top_height - LINE_GAP),
                         Qt.AlignmentFlag.AlignCenter, lines[1])


def _point_where(path: QPainterPath, coordinate: Callable[[QPointF], float],
                 target: float) -> QPointF:
    """The point of ``path`` whose ``coordinate`` is ``target``, for a path along which
    that coordinate only grows: bisection on the path's percentage."""
    low, high = 0.0, 1.0
    for _ in range(24):
        mid = (low + high) / 2
        if coordinate(path.pointAtPercent(mid)) < target:
            low = mid
        else:
            high = mid
    return path.pointAtPercent((low + high) / 2)
