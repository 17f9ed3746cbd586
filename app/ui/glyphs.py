"""Small vector glyphs painted with QPainter (platforms, partners, journeys, start).

Painted rather than loaded from image files so they take the theme's colours,
stay sharp at every canvas zoom and need no resource lookup at paint time.
Every function draws inside ``rect`` and leaves the painter as it found it.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen

from app.ui import theme


def _pen(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def tile(painter: QPainter, rect: QRectF, tint: QColor, radius: float = 8.0) -> None:
    """The faintly tinted rounded square that glyphs sit on."""
    fill = QColor(tint)
    fill.setAlpha(theme.tile_alpha(theme.current()))
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(fill)
    painter.drawRoundedRect(rect, radius, radius)
    painter.restore()


def platform_key(platform: str | None, kind: str) -> str:
    """The :data:`theme.PLATFORM_TINTS` key of an input."""
    if kind == "partner":
        return "partner"
    key = (platform or "").strip().lower()
    return key if key in ("ios", "android", "web") else "other"


def platform(painter: QPainter, rect: QRectF, key: str, color: QColor) -> None:
    """A glyph for an input platform key: phone, robot, globe, feed or stack."""
    painter.save()
    painter.setBrush(Qt.BrushStyle.NoBrush)
    s = min(rect.width(), rect.height())
    c = rect.center()
    painter.setPen(_pen(color, max(1.2, s * 0.09)))
    if key == "ios":
        body = QRectF(0, 0, s * 0.5, s * 0.8)
        body.moveCenter(c)
        painter.drawRoundedRect(body, s * 0.1, s * 0.1)
        notch_y = body.top() + s * 0.12
        painter.drawLine(QPointF(c.x() - s * 0.08, notch_y), QPointF(c.x() + s * 0.08, notch_y))
    elif key == "android":
        head = QRectF(c.x() - s * 0.34, c.y() - s * 0.22, s * 0.68, s * 0.64)
        path = QPainterPath()
        path.moveTo(head.left(), c.y() + s * 0.16)
        path.arcTo(head, 180, -180)
        path.closeSubpath()
        painter.drawPath(path)
        painter.drawLine(QPointF(c.x() - s * 0.2, c.y() - s * 0.18),
                         QPointF(c.x() - s * 0.3, c.y() - s * 0.34))
        painter.drawLine(QPointF(c.x() + s * 0.2, c.y() - s * 0.18),
                         QPointF(c.x() + s * 0.3, c.y() - s * 0.34))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        r = s * 0.05
        painter.drawEllipse(QPointF(c.x() - s * 0.13, c.y() + s * 0.0), r, r)
        painter.drawEllipse(QPointF(c.x() + s * 0.13, c.y() + s * 0.0), r, r)
    elif key == "web":
        r = s * 0.36
        painter.drawEllipse(c, r, r)
        painter.drawEllipse(c, r * 0.45, r)
        painter.drawLine(QPointF(c.x() - r, c.y()), QPointF(c.x() + r, c.y()))
    elif key == "partner":
        # Two arrows flowing in: a feed from another system.
        for dy in (-0.14, 0.14):
            y = c.y() + s * dy
            painter.drawLine(QPointF(c.x() - s * 0.32, y), QPointF(c.x() + s * 0.28, y))
            painter.drawLine(QPointF(c.x() + s * 0.28, y),
                             QPointF(c.x() + s * 0.14, y - s * 0.12))
    else:
        for dy in (-0.2, 0.0, 0.2):
            layer = QRectF(0, 0, s * 0.66, s * 0.2)
            layer.moveCenter(QPointF(c.x(), c.y() + s * dy))
            painter.drawRoundedRect(layer, s * 0.06, s * 0.06)
    painter.restore()


def monogram(painter: QPainter, rect: QRectF, text: str, color: QColor) -> None:
    """A partner's letter mark, bold and centred."""
    painter.save()
    size = rect.height() * (0.5 if len(text) > 1 else 0.62)
    painter.setFont(theme.font(size, QFont.Weight.Bold))
    painter.setPen(color)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


def journey(painter: QPainter, rect: QRectF, color: QColor) -> None:
    """A start dot branching into two steps: the journey mark of the journeys list."""
    painter.save()
    s = min(rect.width(), rect.height())
    c = rect.center()
    start = QPointF(c.x() - s * 0.3, c.y())
    ends = (QPointF(c.x() + s * 0.2, c.y() - s * 0.25), QPointF(c.x() + s * 0.2, c.y() + s * 0.25))
    painter.setPen(_pen(color, max(1.2, s * 0.09)))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    fork = c.x() - s * 0.08
    for end in ends:
        path = QPainterPath(start)
        path.lineTo(fork, start.y())
        path.quadTo(QPointF(fork + s * 0.1, start.y()), QPointF(fork + s * 0.1,
                    start.y() + (end.y() - start.y()) * 0.6))
        path.quadTo(QPointF(fork + s * 0.1, end.y()), end)
        painter.drawPath(path)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawEllipse(start, s * 0.12, s * 0.12)
    box = s * 0.22
    for end in ends:
        painter.drawRoundedRect(QRectF(end.x(), end.y() - box / 2, box, box), box * 0.3, box * 0.3)
    painter.restore()


def play(painter: QPainter, rect: QRectF, color: QColor) -> None:
    """A rounded play triangle: where the journey starts."""
    painter.save()
    s = min(rect.width(), rect.height())
    c = rect.center()
    path = QPainterPath(QPointF(c.x() - s * 0.22, c.y() - s * 0.3))
    path.lineTo(QPointF(c.x() + s * 0.32, c.y()))
    path.lineTo(QPointF(c.x() - s * 0.22, c.y() + s * 0.3))
    path.closeSubpath()
    painter.setPen(_pen(color, s * 0.08))
    painter.setBrush(color)
    painter.drawPath(path)
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


def milestone(painter: QPainter, rect: QRectF, color: QColor) -> None:
    """A card with a funnel line: a milestone (an audience) of the palette."""
    painter.save()
    s = min(rect.width(), rect.height())
    c = rect.center()
    painter.setPen(_pen(color, max(1.2, s * 0.1)))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    card = QRectF(0, 0, s * 0.9, s * 0.7)
    card.moveCenter(c)
    painter.drawRoundedRect(card, s * 0.14, s * 0.14)
    painter.drawLine(QPointF(card.left() + s * 0.18, c.y() - s * 0.08),
                     QPointF(card.right() - s * 0.18, c.y() - s * 0.08))
    painter.drawLine(QPointF(card.left() + s * 0.18, c.y() + s * 0.12),
                     QPointF(c.x() + s * 0.05, c.y() + s * 0.12))
    painter.restore()


def remaining(painter: QPainter, rect: QRectF, color: QColor) -> None:
    """A dashed card: the catch-all "Remaining users" of a split."""
    painter.save()
    s = min(rect.width(), rect.height())
    pen = _pen(color, max(1.2, s * 0.1))
    pen.setDashPattern([2.0, 1.6])
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    card = QRectF(0, 0, s * 0.9, s * 0.7)
    card.moveCenter(rect.center())
    painter.drawRoundedRect(card, s * 0.14, s * 0.14)
    painter.restore()


def person(painter: QPainter, rect: QRectF, color: QColor) -> None:
    """A head and shoulders: an audience size."""
    painter.save()
    s = min(rect.width(), rect.height())
    c = rect.center()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawEllipse(QPointF(c.x(), c.y() - s * 0.2), s * 0.2, s * 0.2)
    shoulders = QPainterPath(QPointF(c.x() - s * 0.4, c.y() + s * 0.42))
    shoulders.cubicTo(QPointF(c.x() - s * 0.4, c.y() + s * 0.02),
                      QPointF(c.x() + s * 0.4, c.y() + s * 0.02),
                      QPointF(c.x() + s * 0.4, c.y() + s * 0.42))
    shoulders.closeSubpath()
    painter.drawPath(shoulders)
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
