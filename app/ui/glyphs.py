"""Small painted shapes that are not icons: icon tiles, status dots, progress dots.

Icons (platforms, partners, steps, actions) are SVG files drawn by
:mod:`app.ui.icons`; what is here is geometry that follows its container (a tile's
radius, a dot's size in a chip). Every function leaves the painter as it found it.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from app.ui import theme


def _pen(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def tile(painter: QPainter, rect: QRectF, tint: QColor, radius: float = 8.0) -> None:
    """The faintly tinted rounded square that icons sit on."""
    fill = QColor(tint)
    fill.setAlpha(theme.tile_alpha(theme.current()))
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(fill)
    painter.drawRoundedRect(rect, radius, radius)
    painter.restore()


def dot(painter: QPainter, center: QPointF, radius: float, color: QColor,
        hollow: bool = False) -> None:
    """A status dot; hollow for "inactive" so state is not told by colour alone."""
    painter.save()
    if hollow:
        painter.setPen(_pen(color, max(1.0, radius * 0.5)))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(center, radius * 0.8, radius * 0.8)
    else:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawEllipse(center, radius, radius)
    painter.restore()


def dots(painter: QPainter, rect: QRectF, color: QColor) -> None:
    """Three dots fading left to right: work in progress."""
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    radius = min(rect.height() * 0.16, rect.width() / 10)
    step = rect.width() / 3
    for index, alpha in enumerate((255, 170, 90)):
        tint = QColor(color)
        tint.setAlpha(round(tint.alpha() * alpha / 255))
        painter.setBrush(tint)
        painter.drawEllipse(QPointF(rect.left() + step * (index + 0.5), rect.center().y()),
                            radius, radius)
    painter.restore()
