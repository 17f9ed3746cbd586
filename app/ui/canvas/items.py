"""The painted items of the journey canvas: inputs, the start, milestones, outputs, edges.

Items hold their id and nothing of the domain: at paint time they ask their
:class:`~app.ui.canvas.scene.JourneyScene` for a card (see :mod:`cards`). Node
items are cached as device pixmaps (their soft shadows are not free to
draw), so the scene must call ``update()`` on an item whenever its card may
have changed; a missed call would show stale pixels, which the UI tests
check for. Sizes follow :mod:`app.core.layout`, whose coordinates are the
top-left corners of the cards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.core.layout import NODE_HEIGHT, NODE_WIDTH, OUTPUT_HEIGHT
from app.ui import glyphs, theme
from app.ui.canvas.cards import InputCard, MilestoneCard, OutputCard
from app.ui.theme import Theme

if TYPE_CHECKING:
    from app.ui.canvas.scene import JourneyScene

SHADOW_MARGIN = 10.0
"""Room around a card for its shadow (part of the bounding rect)."""

MILESTONE_SIZE = QSizeF(NODE_WIDTH, NODE_HEIGHT)
OUTPUT_SIZE = QSizeF(NODE_WIDTH, OUTPUT_HEIGHT)
"""As wide as a milestone: the automatic layout indents outputs by 24, so they stand out
24 to the right of their milestone, into the column gap (which stays 72 wide)."""
INPUT_SIZE = QSizeF(184.0, NODE_HEIGHT * 0.6)
START_SIZE = QSizeF(132.0, 36.0)

Z_EDGE = -1.0
Z_NODE = 1.0


def _elided(painter: QPainter, text: str, width: float) -> str:
    return QFontMetricsF(painter.font()).elidedText(text, Qt.TextElideMode.ElideRight, width)


def _draw_text(painter: QPainter, rect: QRectF, text: str, color: QColor, font: QFont,
               align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> None:
    """One line of text, elided to ``rect`` and vertically centred in it."""
    painter.setFont(font)
    painter.setPen(color)
    painter.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter,
                     _elided(painter, text, rect.width()))


def wrap_lines(text: str, font: QFont, width: float, max_lines: int) -> list[str]:
    """``text`` broken at spaces into at most ``max_lines`` lines of ``width``; the last
    line is elided. A word longer than a line is elided rather than split."""
    metrics = QFontMetricsF(font)
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < max_lines - 1:
        line = words.pop(0)
        while words and metrics.horizontalAdvance(f"{line} {words[0]}") <= width:
            line = f"{line} {words.pop(0)}"
        lines.append(metrics.elidedText(line, Qt.TextElideMode.ElideRight, width))
    if words:
        lines.append(metrics.elidedText(" ".join(words), Qt.TextElideMode.ElideRight, width))
    return lines


def chip_font(height: float) -> QFont:
    """Chip text: legible even in the small chips of outputs (never under 10 px)."""
    return theme.font(max(10.0, height * 0.55), QFont.Weight.DemiBold)


def chip_width(text: str, height: float) -> float:
    """The width of a status chip, so callers can leave room for it."""
    return QFontMetricsF(chip_font(height)).horizontalAdvance(text) + height * 1.25 + 2


def draw_chip(painter: QPainter, right: float, top: float, height: float, text: str,
              active: bool, palette: Theme) -> QRectF:
    """A status pill ending at ``right``: filled dot + "Active", or hollow dot + "Inactive"."""
    width = chip_width(text, height)
    rect = QRectF(right - width, top, width, height)
    background = palette.color("success_soft" if active else "neutral_soft")
    foreground = palette.color("success_text" if active else "neutral_text")
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(background)
    painter.drawRoundedRect(rect, height / 2, height / 2)
    dot_color = palette.color("success") if active else foreground
    glyphs.dot(painter, QPointF(rect.left() + height * 0.5, rect.center().y()), height * 0.16,
               dot_color, hollow=not active)
    text_rect = rect.adjusted(height * 0.8, 0, -height * 0.35, 0)
    _draw_text(painter, text_rect, text, foreground, chip_font(height))
    painter.restore()
    return rect


def draw_shadow(painter: QPainter, rect: QRectF, radius: float, palette: Theme) -> None:
    """A soft drop shadow: stacked translucent rounded rects, offset downwards."""
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    layers = 5
    for index in range(layers, 0, -1):
        spread = index * 1.4
        color = palette.color("shadow", max(1, round(palette.shadow_alpha / (2 * index))))
        painter.setBrush(color)
        painter.drawRoundedRect(rect.adjusted(-spread, -spread + 2.0, spread, spread + 2.0),
                                radius + spread, radius + spread)
    painter.restore()


class NodeItem(QGraphicsItem):
    """A card on the canvas: knows its id and size; the scene knows the rest."""

    SIZE = MILESTONE_SIZE
    RADIUS = 10.0
    KIND = "node"

    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id
        self._hovered = False
        self.setZValue(Z_NODE)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    # geometry ------------------------------------------------------------------

    def body(self) -> QRectF:
        """The card itself in item coordinates (the bounding rect adds the shadow)."""
        return QRectF(QPointF(0, 0), self.SIZE)

    def boundingRect(self) -> QRectF:
        m = SHADOW_MARGIN
        return self.body().adjusted(-m, -m, m, m + 3)

    def scene_body(self) -> QRectF:
        return self.mapRectToScene(self.body())

    def left_port(self) -> QPointF:
        body = self.scene_body()
        return QPointF(body.left(), body.center().y())

    def right_port(self) -> QPointF:
        body = self.scene_body()
        return QPointF(body.right(), body.center().y())

    def journey_scene(self) -> JourneyScene:
        return cast("JourneyScene", self.scene())

    # text ----------------------------------------------------------------------

    def texts(self) -> tuple[str, ...]:
        """Every string this item draws (before eliding), for tests and accessibility."""
        return ()

    def tooltip(self) -> str:
        return ""

    # hover ---------------------------------------------------------------------

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hovered = True
        self.setToolTip(self.tooltip())
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hovered = False
        self.update()
        super().hoverLeaveEvent(event)

    # painting ------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if self.scene() is None:
            return
        palette = theme.current()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.paint_card(painter, palette)

    def paint_card(self, painter: QPainter, palette: Theme) -> None:
        raise NotImplementedError

    def card_frame(self, painter: QPainter, palette: Theme, *, dashed: bool = False,
                   fill: str = "surface", shadow: bool = True) -> None:
        """Shadow, fill and border of the card; the border turns accent on hover."""
        body = self.body()
        if shadow:
            draw_shadow(painter, body, self.RADIUS, palette)
        border = palette.color("accent" if self._hovered else "border_strong"
                               if dashed else "border")
        pen = QPen(border, 1.2 if dashed else 1.0)
        if dashed:
            pen.setDashPattern([4.0, 3.0])
        painter.setPen(pen)
        painter.setBrush(palette.color(fill))
        painter.drawRoundedRect(body.adjusted(0.5, 0.5, -0.5, -0.5), self.RADIUS, self.RADIUS)


class MilestoneItem(NodeItem):
    """A milestone: caption, name, one line of criteria and the derived status chip."""

    SIZE = MILESTONE_SIZE
    KIND = "milestone"
    PAD = 14.0

    def card(self) -> MilestoneCard:
        return self.journey_scene().milestone_card(self.node_id)

    def texts(self) -> tuple[str, ...]:
        return self.card().texts()

    def tooltip(self) -> str:
        return self.card().tooltip()

    def paint_card(self, painter: QPainter, palette: Theme) -> None:
        card = self.card()
        body = self.body()
        pad = self.PAD
        if card.remaining:
            self.card_frame(painter, palette, dashed=True, fill="surface_remaining",
                            shadow=False)
        else:
            self.card_frame(painter, palette)
        if card.active and not card.remaining:
            self._accent_bar(painter, palette)
        chip = draw_chip(painter, body.right() - pad + 2, 11.0, 20.0, card.status, card.active,
                         palette)
        _draw_text(painter, QRectF(pad, 11.0, chip.left() - pad - 8, 20.0), card.caption,
                   palette.color("text_subtle"), theme.font(10.5, QFont.Weight.DemiBold))
        width = body.width() - 2 * pad
        _draw_text(painter, QRectF(pad, 35.0, width, 21.0), card.name,
                   palette.color("text"), theme.font(15, QFont.Weight.DemiBold))
        # Criteria read best whole: up to two lines, the second elided.
        summary_font = theme.font(12)
        painter.setFont(summary_font)
        painter.setPen(palette.color("text_muted"))
        for index, line in enumerate(wrap_lines(card.summary, summary_font, width, 2)):
            painter.drawText(QRectF(pad, 58.0 + index * 15.5, width, 15.5),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, line)

    def _accent_bar(self, painter: QPainter, palette: Theme) -> None:
        """A green stripe down the left edge: active audiences read at a glance."""
        clip = QPainterPath()
        clip.addRoundedRect(self.body(), self.RADIUS, self.RADIUS)
        painter.save()
        painter.setClipPath(clip)
        painter.fillRect(QRectF(0, 0, 3.5, self.SIZE.height()), palette.color("success"))
        painter.restore()


class OutputItem(NodeItem):
    """An output: partner mark, connection name, partner and the Active/Inactive badge."""

    SIZE = OUTPUT_SIZE
    RADIUS = 9.0
    KIND = "output"

    def card(self) -> OutputCard:
        return self.journey_scene().output_card(self.node_id)

    def texts(self) -> tuple[str, ...]:
        return self.card().texts()

    def tooltip(self) -> str:
        return self.card().tooltip()

    def paint_card(self, painter: QPainter, palette: Theme) -> None:
        """Name on top at full width (names are long); status chip and partner below."""
        card = self.card()
        body = self.body()
        self.card_frame(painter, palette)
        tint_hex, letter = theme.PARTNER_TINTS.get(card.partner, ("#64748B", "•"))
        tint = QColor(tint_hex) if card.active else palette.color("neutral_text")
        tile = QRectF(8, (body.height() - 28) / 2, 28, 28)
        glyphs.tile(painter, tile, tint, 7)
        glyphs.monogram(painter, tile, letter, tint)
        left = tile.right() + 9
        width = body.width() - left - 10
        _draw_text(painter, QRectF(left, 4, width, 17), card.connection_name,
                   palette.color("text"), theme.font(12, QFont.Weight.DemiBold))
        chip_right = left + chip_width(card.status, 17.0)
        draw_chip(painter, chip_right, 22.0, 17.0, card.status, card.active, palette)
        if card.detail:
            _draw_text(painter, QRectF(chip_right + 7, 22, body.right() - chip_right - 17, 17),
                       card.detail, palette.color("text_subtle"), theme.font(11.5))


class InputItem(NodeItem):
    """A data input of the journey: platform glyph, platform name, workspace name."""

    SIZE = INPUT_SIZE
    KIND = "input"

    def card(self) -> InputCard:
        return self.journey_scene().input_card(self.node_id)

    def texts(self) -> tuple[str, ...]:
        return self.card().texts()

    def tooltip(self) -> str:
        return self.card().tooltip()

    def paint_card(self, painter: QPainter, palette: Theme) -> None:
        card = self.card()
        body = self.body()
        self.card_frame(painter, palette)
        tint = QColor(theme.PLATFORM_TINTS.get(card.platform_key, theme.PLATFORM_TINTS["other"]))
        tile = QRectF(12, (body.height() - 32) / 2, 32, 32)
        glyphs.tile(painter, tile, tint)
        glyphs.platform(painter, tile.adjusted(6, 6, -6, -6), card.platform_key, tint)
        left = tile.right() + 11
        width = body.width() - left - 12
        _draw_text(painter, QRectF(left, 10, width, 20), card.name, palette.color("text"),
                   theme.font(13.5, QFont.Weight.DemiBold))
        _draw_text(painter, QRectF(left, 29, width, 18), card.workspace,
                   palette.color("text_muted"), theme.font(11.5))


class StartItem(NodeItem):
    """The "Journey start" pill that inputs flow into and top milestones hang from."""

    SIZE = START_SIZE
    RADIUS = START_SIZE.height() / 2
    KIND = "start"
    TEXT = "Journey start"

    def __init__(self) -> None:
        super().__init__("__start__")

    def texts(self) -> tuple[str, ...]:
        return (self.TEXT,)

    def tooltip(self) -> str:
        return "Everyone with an event through one of the journey's inputs"

    def paint_card(self, painter: QPainter, palette: Theme) -> None:
        body = self.body()
        draw_shadow(painter, body, self.RADIUS, palette)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.color("accent_hover" if self._hovered else "accent"))
        painter.drawRoundedRect(body, self.RADIUS, self.RADIUS)
        on_accent = palette.color("accent_text")
        badge = QRectF(6, 6, body.height() - 12, body.height() - 12)
        painter.setBrush(palette.color("accent_text", 46))
        painter.drawEllipse(badge)
        glyphs.play(painter, badge.adjusted(7, 7, -6, -7), on_accent)
        _draw_text(painter, QRectF(badge.right() + 8, 0, body.width() - badge.right() - 14,
                                   body.height()),
                   self.TEXT, on_accent, theme.font(13, QFont.Weight.DemiBold))


class PlaceholderItem(NodeItem):
    """A dashed empty card where the first milestone will go, while a journey has none.

    It stands in the first milestone's automatic place, so the start pill and the
    inputs line up with it and fitting the view frames the journey as it will look.
    """

    SIZE = MILESTONE_SIZE
    KIND = "placeholder"
    TITLE = "No milestones yet"
    DETAIL = "Its audiences will appear here"

    def __init__(self) -> None:
        super().__init__("__placeholder__")
        self.setAcceptHoverEvents(False)

    def texts(self) -> tuple[str, ...]:
        return (self.TITLE, self.DETAIL)

    def paint_card(self, painter: QPainter, palette: Theme) -> None:
        body = self.body()
        pen = QPen(palette.color("border_strong"), 1.3)
        pen.setDashPattern([4.0, 3.0])
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(body.adjusted(0.5, 0.5, -0.5, -0.5), self.RADIUS, self.RADIUS)
        _draw_text(painter, QRectF(0, 28, body.width(), 20), self.TITLE,
                   palette.color("text_muted"), theme.font(13.5, QFont.Weight.DemiBold),
                   Qt.AlignmentFlag.AlignHCenter)
        _draw_text(painter, QRectF(12, 50, body.width() - 24, 18), self.DETAIL,
                   palette.color("text_subtle"), theme.font(11.5),
                   Qt.AlignmentFlag.AlignHCenter)


class EdgeItem(QGraphicsItem):
    """A curved connector with an arrowhead; green when it leads into an active node.

    It keeps its key (source and target node keys) and its route geometry, which
    the scene sets from the nodes' ports whenever they move.
    """

    ARROW = 7.0

    def __init__(self, key: tuple[str, str]) -> None:
        super().__init__()
        self.key = key
        self._path = QPainterPath()
        self._arrow = QPainterPath()
        self.setZValue(Z_EDGE)
        self.setAcceptHoverEvents(False)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_route(self, start: QPointF, end: QPointF, *, elbow: bool = False) -> None:
        """Route from ``start`` to ``end``: an S-curve, or an elbow (down, then right)."""
        self.prepareGeometryChange()
        arrow = self.ARROW * (0.8 if elbow else 1.0)
        tip = QPointF(end)
        base = QPointF(end.x() - arrow, end.y())
        path = QPainterPath(start)
        if elbow:
            radius = max(0.0, min(8.0, base.x() - start.x(), base.y() - start.y()))
            path.lineTo(start.x(), base.y() - radius)
            path.quadTo(QPointF(start.x(), base.y()), QPointF(start.x() + radius, base.y()))
            path.lineTo(base)
        else:
            bend = max(36.0, abs(base.x() - start.x()) * 0.5)
            path.cubicTo(QPointF(start.x() + bend, start.y()),
                         QPointF(base.x() - bend, base.y()), base)
        self._path = path
        head = QPainterPath(tip)
        head.lineTo(base.x(), base.y() - arrow * 0.55)
        head.lineTo(base.x() + arrow * 0.12, base.y())
        head.lineTo(base.x(), base.y() + arrow * 0.55)
        head.closeSubpath()
        self._arrow = head
        self.update()

    def path(self) -> QPainterPath:
        return QPainterPath(self._path)

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().united(self._arrow.boundingRect()).adjusted(
            -3, -3, 3, 3
        )

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        scene = cast("JourneyScene | None", self.scene())
        if scene is None:
            return
        palette = theme.current()
        active = scene.edge_active(self.key)
        color = palette.color("edge_active" if active else "edge")
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(color, 1.8 if active else 1.5)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawPath(self._arrow)
