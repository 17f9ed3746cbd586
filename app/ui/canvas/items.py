"""The painted items of the journey canvas: inputs, the start, milestones, outputs, edges.

Items hold their id and nothing of the domain: at paint time they ask their
:class:`~app.ui.canvas.scene.JourneyScene` for a card (see :mod:`cards`). Node
items are cached as device pixmaps (their soft shadows are not free to
draw), so the scene must call ``update()`` on an item whenever its card may
have changed; a missed call would show stale pixels, which the UI tests
check for. Sizes follow :mod:`app.core.layout`, whose coordinates are the
top-left corners of the cards.

Text is measured, not assumed: a card is at least its kind's default width and grows
with the text it draws (:meth:`NodeItem.fit_text`) up to a maximum, so nothing is cut in
whatever font the system substitutes; past the maximum a name is elided, with all of it
in the tooltip.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol, cast

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.core.layout import NODE_HEIGHT, NODE_WIDTH, OUTPUT_HEIGHT
from app.ui import glyphs, icons, theme
from app.ui.canvas.cards import InputCard, MilestoneCard, OutputCard
from app.ui.canvas.funnel_labels import FunnelLabelItem, is_funnel_edge
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
"""The default (and smallest) sizes; a card grows wider with its text (``fit_text``)."""

MILESTONE_MAX_WIDTH = NODE_WIDTH + 96.0
OUTPUT_MAX_WIDTH = NODE_WIDTH + 96.0
INPUT_MAX_WIDTH = 280.0
START_MAX_WIDTH = 220.0
"""How wide text may make a card; a longer name is elided (the tooltip has all of it)."""

TEXT_SLACK = 2.0
"""Room beyond a text's measured advance, so rounding never elides a text that fits."""

Z_EDGE = -1.0
Z_NODE = 1.0
Z_RAISED = 5.0
"""A hovered or selected node comes to the front, so its handles sit above neighbours."""
Z_HINT = 100.0

DropState = str | None
"""``"accept"`` or ``"refuse"`` while a palette drag hovers the node, else None."""


def advance(text: str, font: QFont) -> float:
    """How wide ``text`` is drawn in ``font`` (scene units at 100 %)."""
    return QFontMetricsF(font).horizontalAdvance(text) + TEXT_SLACK


def _elided(painter: QPainter, text: str, width: float) -> str:
    return QFontMetricsF(painter.font()).elidedText(text, Qt.TextElideMode.ElideRight, width)


def _draw_text(painter: QPainter, rect: QRectF, text: str, color: QColor, font: QFont,
               align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> str:
    """One line of text, elided to ``rect`` and vertically centred in it; returns what
    was drawn."""
    painter.setFont(font)
    painter.setPen(color)
    shown = _elided(painter, text, rect.width())
    painter.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter, shown)
    return shown


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
              active: bool, palette: Theme, *, faulted: bool = False) -> QRectF:
    """A status pill ending at ``right``: filled dot + "Active", or hollow dot + "Inactive";
    ``faulted``: a red pill with a warning sign ("Faulted"), not told by colour alone."""
    width = chip_width(text, height)
    rect = QRectF(right - width, top, width, height)
    if faulted:
        background, foreground = palette.color("danger_soft"), palette.color("danger")
    else:
        background = palette.color("success_soft" if active else "neutral_soft")
        foreground = palette.color("success_text" if active else "neutral_text")
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(background)
    painter.drawRoundedRect(rect, height / 2, height / 2)
    if faulted:
        side = height * 0.6
        icons.paint_icon(painter, QRectF(rect.left() + height * 0.45 - side / 2,
                                         rect.center().y() - side / 2, side, side),
                         "warning", foreground)
    else:
        dot_color = palette.color("success") if active else foreground
        glyphs.dot(painter, QPointF(rect.left() + height * 0.5, rect.center().y()),
                   height * 0.16, dot_color, hollow=not active)
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


class _Card(Protocol):
    def texts(self) -> tuple[str, ...]: ...

    def tooltip(self) -> str: ...


class NodeItem(QGraphicsItem):
    """A card on the canvas: knows its id and size; the scene knows the rest."""

    SIZE = MILESTONE_SIZE
    MAX_WIDTH = MILESTONE_SIZE.width()
    RADIUS = 10.0
    KIND = "node"

    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id
        self._width = self.SIZE.width()
        self._hovered = False
        self.drop_state: DropState = None
        self._shown: list[tuple[str, str]] | None = None
        self.setZValue(Z_NODE)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_drop_state(self, state: DropState) -> None:
        """Highlight as a drop target (accepted or refused) during a palette drag."""
        if state != self.drop_state:
            self.drop_state = state
            self.update()

    def make_editable(self) -> None:
        """Selectable and movable; position changes are reported to the scene for edges."""
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges, True)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            scene = self.scene()
            if scene is not None:
                cast("JourneyScene", scene).node_moved(self)
        elif change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self._raise_if_focused()
            self.update()
        return super().itemChange(change, value)

    def _raise_if_focused(self) -> None:
        self.setZValue(Z_RAISED if (self._hovered or self.isSelected()) else Z_NODE)

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        scene = self.scene()
        if scene is None or self.KIND not in ("milestone", "output"):
            event.ignore()
            return
        if not self.isSelected():
            scene.clearSelection()
            self.setSelected(True)
        cast("JourneyScene", scene).context_menu_requested(self.KIND, self.node_id,
                                                           event.screenPos(), event.scenePos())
        event.accept()

    # geometry ------------------------------------------------------------------

    def size(self) -> QSizeF:
        """The card's size now: its kind's height, and the width its text asked for."""
        return QSizeF(self._width, self.SIZE.height())

    def body(self) -> QRectF:
        """The card itself in item coordinates (the bounding rect adds the shadow)."""
        return QRectF(QPointF(0, 0), self.size())

    def text_width(self) -> float:
        """The width that draws every text of the card whole (the default: its kind's)."""
        return self.SIZE.width()

    def fit_text(self, at_least: float = 0.0) -> bool:
        """Take the width the text needs (at least ``at_least`` and the kind's default,
        at most :attr:`MAX_WIDTH`); True when the width changed."""
        wanted = max(self.SIZE.width(), at_least, math.ceil(self.text_width()))
        wanted = min(wanted, max(self.MAX_WIDTH, at_least))
        if wanted == self._width:
            return False
        self.prepareGeometryChange()
        self._width = wanted
        self.resized()
        self.update()
        return True

    def resized(self) -> None:
        """Called after the width changed: children that hang on the edges follow."""

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

    def _text(self, painter: QPainter, rect: QRectF, text: str, color: QColor, font: QFont,
              align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> None:
        shown = _draw_text(painter, rect, text, color, font, align)
        if self._shown is not None:
            self._shown.append((text, shown))

    def shown_texts(self) -> list[tuple[str, str]]:
        """(text, as drawn) for every line of text of the card, painted once at 100 %
        off screen: where the two differ, the text was elided to fit."""
        bounds = self.boundingRect()
        image = QImage(bounds.size().toSize(), QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.translate(-bounds.topLeft())
        self._shown = []
        try:
            self.paint_card(painter, theme.current())
            return self._shown
        finally:
            self._shown = None
            painter.end()

    def tooltip(self) -> str:
        return ""

    # hover ---------------------------------------------------------------------

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hovered = True
        self.setToolTip(self.tooltip())
        self._raise_if_focused()
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hovered = False
        self._raise_if_focused()
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
        if self.drop_state is not None:
            ring = palette.color("accent" if self.drop_state == "accept" else "danger", 60)
            painter.setPen(QPen(ring, 6.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(body.adjusted(-2, -2, 2, 2), self.RADIUS + 2,
                                    self.RADIUS + 2)
        emphasis = self.isSelected() or self.drop_state is not None
        if self.drop_state == "refuse":
            border = palette.color("danger")
        elif emphasis or self._hovered:
            border = palette.color("accent")
        else:
            border = palette.color("border_strong" if dashed else "border")
        pen = QPen(border, 2.0 if emphasis else 1.2 if dashed else 1.0)
        if dashed and not emphasis:
            pen.setDashPattern([4.0, 3.0])
        painter.setPen(pen)
        painter.setBrush(palette.color(fill))
        inset = 1.0 if emphasis else 0.5
        painter.drawRoundedRect(body.adjusted(inset, inset, -inset, -inset), self.RADIUS,
                                self.RADIUS)


class CardItem(NodeItem):
    """A node drawn from a card: the plain values the scene keeps for its id."""

    def card(self) -> _Card:
        raise NotImplementedError

    def texts(self) -> tuple[str, ...]:
        return self.card().texts()

    def tooltip(self) -> str:
        return self.card().tooltip()


class MilestoneItem(CardItem):
    """A milestone: caption, name, one line of criteria and the derived status chip."""

    SIZE = MILESTONE_SIZE
    MAX_WIDTH = MILESTONE_MAX_WIDTH
    KIND = "milestone"
    PAD = 14.0
    CHIP_HEIGHT = 19.0

    def __init__(self, node_id: str) -> None:
        super().__init__(node_id)
        self.make_editable()
        self.handles: dict[str, HandleItem] = {}
        for role in HANDLE_ROLES:
            handle = self.handles[role] = HandleItem(role, self)
            handle.setPos(handle_position(role, self.size()))
            handle.setVisible(False)

    def resized(self) -> None:
        for role, handle in self.handles.items():
            handle.setPos(handle_position(role, self.size()))

    def sync_handles(self) -> None:
        """The + / split / output handles show while the card is hovered or selected."""
        visible = self._hovered or self.isSelected()
        for handle in getattr(self, "handles", {}).values():
            handle.setVisible(visible)

    def _raise_if_focused(self) -> None:
        super()._raise_if_focused()
        self.sync_handles()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Double-click edits the milestone (name and criteria)."""
        if event.button() == Qt.MouseButton.LeftButton and self.scene() is not None:
            self.journey_scene().milestone_activated(self.node_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def card(self) -> MilestoneCard:
        return self.journey_scene().milestone_card(self.node_id)

    def text_width(self) -> float:
        """Caption beside the chip, the name, and the figures row: the criteria line is one
        line by design, elided when long."""
        card = self.card()
        caption = (advance(card.caption, self.caption_font())
                   + 8 + chip_width(card.status, self.CHIP_HEIGHT) - 2)
        name = advance(card.name, self.name_font())
        figures = 17.0 + advance(card.size_text, self.size_font(card.figures is not None))
        if card.change_text:
            figures += 10.0 + 19.0 + advance(card.change_text, self.change_font(card))
        return max(caption, name, figures) + 2 * self.PAD

    @staticmethod
    def caption_font() -> QFont:
        return theme.font(10.5, QFont.Weight.DemiBold)

    @staticmethod
    def name_font() -> QFont:
        return theme.font(15, QFont.Weight.DemiBold)

    @staticmethod
    def size_font(known: bool) -> QFont:
        return theme.font(12.5, QFont.Weight.DemiBold if known else QFont.Weight.Normal)

    @staticmethod
    def change_font(card: MilestoneCard) -> QFont:
        changed = card.figures is not None and card.figures.changed and not card.calculating
        return theme.font(11.5, QFont.Weight.DemiBold if changed else QFont.Weight.Normal)

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
        chip = draw_chip(painter, body.right() - pad + 2, 10.0, self.CHIP_HEIGHT, card.status,
                         card.active, palette)
        self._text(painter, QRectF(pad, 10.0, chip.left() - pad - 8, self.CHIP_HEIGHT),
                   card.caption, palette.color("text_subtle"), self.caption_font())
        width = body.width() - 2 * pad
        self._text(painter, QRectF(pad, 30.0, width, 20.0), card.name,
                   palette.color("text"), self.name_font())
        # One line of criteria (the tooltip and the inspector have all of it).
        self._text(painter, QRectF(pad, 50.0, width, 16.0), card.summary,
                   palette.color("text_muted"), theme.font(12))
        self._paint_figures(painter, palette, card, QRectF(pad, 74.0, width, 16.0))

    def _paint_figures(self, painter: QPainter, palette: Theme, card: MilestoneCard,
                       row: QRectF) -> None:
        """The bottom row under a hairline: size on the left, change (or progress) right."""
        painter.save()
        painter.setPen(QPen(palette.color("border"), 1.0))
        rule_y = row.top() - 3.5
        painter.drawLine(QPointF(row.left(), rule_y), QPointF(row.right(), rule_y))
        painter.restore()
        figures = card.figures
        known = figures is not None
        stale = card.calculating or not known
        size_color = palette.color("text_subtle" if stale else "text")
        if known or not card.calculating:
            icons.paint_icon(painter, QRectF(row.left() - 1.0, row.center().y() - 7.0, 14.0,
                                             14.0), "user", palette.color("text_subtle"))
        else:
            glyphs.dots(painter, QRectF(row.left() - 1.0, row.top(), 14.0, row.height()),
                        palette.color("accent"))
        left = row.left() + 17.0
        size_font = self.size_font(known)
        painter.setFont(size_font)
        size_width = QFontMetricsF(size_font).horizontalAdvance(card.size_text)
        right_room = row.right() - left - size_width - 10.0
        self._text(painter, QRectF(left, row.top(), row.right() - left, row.height()),
                   card.size_text, size_color, size_font)
        if figures is None or right_room <= 0:
            return
        if card.calculating:
            font = self.change_font(card)
            text_width = QFontMetricsF(font).horizontalAdvance(card.change_text)
            text_left = row.right() - text_width
            self._text(painter, QRectF(text_left, row.top(), text_width + 1, row.height()),
                       card.change_text, palette.color("text_subtle"), font)
            glyphs.dots(painter, QRectF(text_left - 19.0, row.top(), 14.0, row.height()),
                        palette.color("accent"))
            return
        if not figures.changed:
            self._text(painter, row, card.change_text, palette.color("text_subtle"),
                       self.change_font(card), Qt.AlignmentFlag.AlignRight)
            return
        font = self.change_font(card)
        metrics = QFontMetricsF(font)
        parts = [
            (f"+{figures.added:,}", "success_text" if figures.added else "text_subtle"),
            (" / ", "text_subtle"),
            (f"\u2212{figures.removed:,}", "danger" if figures.removed else "text_subtle"),
        ]
        x = row.right() - sum(metrics.horizontalAdvance(text) for text, _ in parts)
        for text, role in parts:
            advance = metrics.horizontalAdvance(text)
            self._text(painter, QRectF(x, row.top(), advance + 1, row.height()), text,
                       palette.color(role), font)
            x += advance

    def _accent_bar(self, painter: QPainter, palette: Theme) -> None:
        """A green stripe down the left edge: active audiences read at a glance."""
        clip = QPainterPath()
        clip.addRoundedRect(self.body(), self.RADIUS, self.RADIUS)
        painter.save()
        painter.setClipPath(clip)
        painter.fillRect(QRectF(0, 0, 3.5, self.size().height()), palette.color("success"))
        painter.restore()


class OutputItem(CardItem):
    """An output: partner mark, connection name, partner and the Active/Inactive badge."""

    SIZE = OUTPUT_SIZE
    MAX_WIDTH = OUTPUT_MAX_WIDTH
    RADIUS = 9.0
    KIND = "output"
    CHIP_LEFT = 45.0
    CHIP_TOP = 22.0
    CHIP_HEIGHT = 17.0

    def __init__(self, node_id: str) -> None:
        super().__init__(node_id)
        self.make_editable()
        self._press_at: QPointF | None = None

    def badge_rect(self) -> QRectF:
        """Where the Active/Inactive badge is drawn (item coordinates): it toggles on click."""
        status = self.card().status if self.scene() is not None else "Inactive"
        return QRectF(self.CHIP_LEFT, self.CHIP_TOP, chip_width(status, self.CHIP_HEIGHT),
                      self.CHIP_HEIGHT)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._press_at = event.scenePos()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """A click (not a drag) on the badge asks the scene to toggle the output."""
        pressed, self._press_at = self._press_at, None
        super().mouseReleaseEvent(event)
        if (event.button() == Qt.MouseButton.LeftButton and pressed is not None
                and (event.scenePos() - pressed).manhattanLength() < 4
                and self.badge_rect().adjusted(-3, -3, 3, 3).contains(event.pos())
                and self.scene() is not None):
            self.journey_scene().output_badge_clicked(self.node_id)

    def card(self) -> OutputCard:
        return self.journey_scene().output_card(self.node_id)

    def text_width(self) -> float:
        """The name on top; the chip and the partner below it."""
        card = self.card()
        name = self.CHIP_LEFT + advance(card.connection_name, self.name_font()) + 10
        chip_right = self.CHIP_LEFT + chip_width(card.status, self.CHIP_HEIGHT)
        detail = chip_right + 17 + (advance(card.detail, self.detail_font()) if card.detail
                                    else 0.0)
        return max(name, detail)

    @staticmethod
    def name_font() -> QFont:
        return theme.font(12, QFont.Weight.DemiBold)

    @staticmethod
    def detail_font() -> QFont:
        return theme.font(11.5)

    def paint_card(self, painter: QPainter, palette: Theme) -> None:
        """Name on top at full width (names are long); status chip and partner below.
        A faulted output gets a red stripe and border: forwarding to it is paused."""
        card = self.card()
        body = self.body()
        self.card_frame(painter, palette)
        if card.faulted:
            self._fault_frame(painter, palette)
        tint = (theme.brand_tint(theme.PARTNER_TINTS.get(card.partner, theme.OTHER_PARTNER_TINT))
                if card.active else palette.color("neutral_text"))
        tile = QRectF(8, (body.height() - 28) / 2, 28, 28)
        glyphs.tile(painter, tile, tint, 7)
        icons.paint_icon(painter, tile.adjusted(5, 5, -5, -5), icons.partner_icon(card.partner),
                         tint)
        left = self.CHIP_LEFT
        width = body.width() - left - 10
        self._text(painter, QRectF(left, 4, width, 17), card.connection_name,
                   palette.color("text"), self.name_font())
        chip_right = left + chip_width(card.status, self.CHIP_HEIGHT)
        draw_chip(painter, chip_right, self.CHIP_TOP, self.CHIP_HEIGHT, card.status,
                  card.active, palette, faulted=card.faulted)
        if card.detail:
            self._text(painter, QRectF(chip_right + 7, 22, body.right() - chip_right - 17, 17),
                       card.detail, palette.color("text_subtle"), self.detail_font())

    def _fault_frame(self, painter: QPainter, palette: Theme) -> None:
        """A red stripe down the left edge and a red border (unless selected or hovered,
        which keep their accent border)."""
        clip = QPainterPath()
        clip.addRoundedRect(self.body(), self.RADIUS, self.RADIUS)
        painter.save()
        if not (self.isSelected() or self._hovered or self.drop_state is not None):
            painter.setPen(QPen(palette.color("danger_border"), 1.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(self.body().adjusted(0.5, 0.5, -0.5, -0.5), self.RADIUS,
                                    self.RADIUS)
        painter.setClipPath(clip)
        painter.fillRect(QRectF(0, 0, 3.5, self.size().height()), palette.color("danger"))
        painter.restore()


class InputItem(CardItem):
    """A data input of the journey: platform icon, platform name, workspace name."""

    SIZE = INPUT_SIZE
    MAX_WIDTH = INPUT_MAX_WIDTH
    KIND = "input"
    TEXT_LEFT = 55.0
    """The tile (12 + 32) and the gap after it (11)."""

    def card(self) -> InputCard:
        return self.journey_scene().input_card(self.node_id)

    def text_width(self) -> float:
        card = self.card()
        return self.TEXT_LEFT + 12 + max(advance(card.name, self.name_font()),
                                         advance(card.workspace, self.workspace_font()))

    @staticmethod
    def name_font() -> QFont:
        return theme.font(13.5, QFont.Weight.DemiBold)

    @staticmethod
    def workspace_font() -> QFont:
        return theme.font(11.5)


    def paint_card(self, painter: QPainter, palette: Theme) -> None:
        card = self.card()
        body = self.body()
        self.card_frame(painter, palette)
        tint = theme.brand_tint(theme.PLATFORM_TINTS.get(card.platform_key,
                                                         theme.PLATFORM_TINTS["other"]))
        tile = QRectF(12, (body.height() - 32) / 2, 32, 32)
        glyphs.tile(painter, tile, tint)
        icons.paint_icon(painter, tile.adjusted(7, 7, -7, -7),
                         icons.platform_icon(card.platform_key), tint)
        left = self.TEXT_LEFT
        width = body.width() - left - 12
        self._text(painter, QRectF(left, 10, width, 20), card.name, palette.color("text"),
                   self.name_font())
        self._text(painter, QRectF(left, 29, width, 18), card.workspace,
                   palette.color("text_muted"), self.workspace_font())


class StartItem(NodeItem):
    """The "Journey start" pill that inputs flow into and top milestones hang from."""

    SIZE = START_SIZE
    MAX_WIDTH = START_MAX_WIDTH
    RADIUS = START_SIZE.height() / 2
    KIND = "start"
    TEXT = "Journey start"
    TEXT_LEFT = START_SIZE.height() - 6 + 8
    """The round play badge (6 from the edge, as tall as the pill less 12) and a gap."""
    TEXT_RIGHT = 16.0

    def __init__(self) -> None:
        super().__init__("__start__")

    def texts(self) -> tuple[str, ...]:
        return (self.TEXT,)

    def tooltip(self) -> str:
        return "Everyone with an event through one of the journey's inputs"

    def text_width(self) -> float:
        return self.TEXT_LEFT + advance(self.TEXT, self.text_font()) + self.TEXT_RIGHT

    @staticmethod
    def text_font() -> QFont:
        return theme.font(13, QFont.Weight.DemiBold)

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
        icons.paint_icon(painter, badge.adjusted(6, 6, -6, -6), "play", on_accent)
        self._text(painter, QRectF(self.TEXT_LEFT, 0,
                                   body.width() - self.TEXT_LEFT - self.TEXT_RIGHT + TEXT_SLACK,
                                   body.height()),
                   self.TEXT, on_accent, self.text_font())


class PlaceholderItem(NodeItem):
    """A dashed empty card where the first milestone will go, while a journey has none.

    It stands in the first milestone's automatic place, so the start pill and the
    inputs line up with it and fitting the view frames the journey as it will look.
    """

    SIZE = MILESTONE_SIZE
    KIND = "placeholder"
    TITLE = "No milestones yet"
    DETAIL = "Click, or drag a milestone here"

    def __init__(self) -> None:
        super().__init__("__placeholder__")
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Add the first milestone of this journey")

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        event.accept()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """A click on the empty card starts the journey: the first milestone's editor."""
        if self.body().contains(event.pos()) and self.scene() is not None:
            self.journey_scene().placeholder_clicked()
        event.accept()

    def texts(self) -> tuple[str, ...]:
        return (self.TITLE, self.DETAIL)

    def paint_card(self, painter: QPainter, palette: Theme) -> None:
        body = self.body()
        emphasis = self._hovered or self.drop_state == "accept"
        pen = QPen(palette.color("accent" if emphasis else "border_strong"), 1.3)
        pen.setDashPattern([4.0, 3.0])
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(body.adjusted(0.5, 0.5, -0.5, -0.5), self.RADIUS, self.RADIUS)
        self._text(painter, QRectF(0, 28, body.width(), 20), self.TITLE,
                   palette.color("text_muted"), theme.font(13.5, QFont.Weight.DemiBold),
                   Qt.AlignmentFlag.AlignHCenter)
        self._text(painter, QRectF(12, 50, body.width() - 24, 18), self.DETAIL,
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
        self.label = FunnelLabelItem(self, key) if is_funnel_edge(key) else None
        """The conversion and drop-off badge of a milestone edge (the funnel)."""

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
        if self.label is not None:
            self.label.follow(path)
        self.update()

    def set_drop_route(self, start: QPointF, end: QPointF, *, fan: float) -> None:
        """Route straight down from ``start``, then curve over the last ``fan`` pixels into
        ``end`` from above (an A/B test's arm hanging under its tested card)."""
        self.prepareGeometryChange()
        arrow = self.ARROW
        tip = QPointF(end)
        base = QPointF(end.x(), end.y() - arrow)
        joint = QPointF(start.x(), max(start.y(), base.y() - fan))
        bend = (base.y() - joint.y()) * 0.55
        path = QPainterPath(start)
        path.lineTo(joint)
        path.cubicTo(QPointF(joint.x(), joint.y() + bend), QPointF(base.x(), base.y() - bend),
                     base)
        self._path = path
        head = QPainterPath(tip)
        head.lineTo(base.x() - arrow * 0.55, base.y())
        head.lineTo(base.x(), base.y() + arrow * 0.12)
        head.lineTo(base.x() + arrow * 0.55, base.y())
        head.closeSubpath()
        self._arrow = head
        if self.label is not None:
            self.label.follow(path, downward=True)
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


HANDLE_ROLES = ("extend", "output", "split")
HANDLE_RADIUS = 11.0
HANDLE_ICONS = {"extend": "plus", "split": "split", "output": "send"}
HANDLE_TIPS = {
    "extend": "Add a milestone after this one (extend the path)",
    "split": "Add a milestone beside this one (split the audience)",
    "output": "Send this audience to a partner",
}


HANDLE_STEP = 28.0
"""Between the centres of two handles stacked beside a card."""


def handle_position(role: str, size: QSizeF = MILESTONE_SIZE) -> QPointF:
    """Centre of a handle in its milestone's coordinates (a card of ``size``): a column
    right of the card, + and output either side of the edge that leaves its middle, split
    below them.

    Nothing goes under the card: its outputs hang there (see :mod:`app.core.layout`),
    and the split handle used to sit on the first of them.
    """
    w, h = size.width(), size.height()
    if role == "extend":
        return QPointF(w + 18.0, h / 2 - HANDLE_STEP / 2)
    if role == "output":
        return QPointF(w + 18.0, h / 2 + HANDLE_STEP / 2)
    return QPointF(w + 18.0, h / 2 + HANDLE_STEP * 1.5)


class HandleItem(QGraphicsItem):
    """A round button beside a milestone: extend the path, split, or add an output.

    It only tells the scene which milestone and which role was clicked; the window
    opens the right editor.
    """

    def __init__(self, role: str, parent: MilestoneItem) -> None:
        super().__init__(parent)
        self.role = role
        self._hovered = False
        self.setAcceptHoverEvents(True)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setToolTip(HANDLE_TIPS[role])
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def milestone_id(self) -> str:
        parent = self.parentItem()
        return cast(MilestoneItem, parent).node_id

    def boundingRect(self) -> QRectF:
        r = HANDLE_RADIUS + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hovered = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hovered = False
        self.update()
        super().hoverLeaveEvent(event)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        event.accept()  # keep the press from starting a drag of the milestone

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        scene = self.scene()
        if scene is not None and self.boundingRect().contains(event.pos()):
            cast("JourneyScene", scene).handle_clicked(self.milestone_id(), self.role)
        event.accept()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        palette = theme.current()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = HANDLE_RADIUS
        fill = palette.color("accent_hover" if self._hovered else "accent")
        painter.setPen(QPen(palette.color("canvas"), 2.0))
        painter.setBrush(fill)
        painter.drawEllipse(QPointF(0, 0), r, r)
        half = r * 0.64  # a 14 px icon in the 22 px button
        icons.paint_icon(painter, QRectF(-half, -half, 2 * half, 2 * half),
                         HANDLE_ICONS[self.role], palette.color("accent_text"))


class HintItem(QGraphicsItem):
    """A speech bubble at the cursor during a palette drag: why a drop is refused,
    or what it will do. Ignores the zoom so it always reads at 100 %."""

    MAX_WIDTH = 300.0

    def __init__(self) -> None:
        super().__init__()
        self._text = ""
        self._refused = False
        self._lines: list[str] = []
        self.setZValue(Z_HINT)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)

    def text(self) -> str:
        return self._text

    @property
    def refused(self) -> bool:
        return self._refused

    def set_hint(self, text: str, refused: bool) -> None:
        self.prepareGeometryChange()
        self._text = text
        self._refused = refused
        self._lines = wrap_lines(text, theme.font(12), self.MAX_WIDTH - 24, 6)
        self.update()

    def boundingRect(self) -> QRectF:
        metrics = QFontMetricsF(theme.font(12))
        width = max((metrics.horizontalAdvance(line) for line in self._lines), default=0.0)
        return QRectF(0, 0, width + 26, len(self._lines) * 17.0 + 14)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if not self._lines:
            return
        palette = theme.current()
        rect = self.boundingRect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        draw_shadow(painter, rect, 8.0, palette)
        painter.setPen(QPen(palette.color("danger" if self._refused else "accent"), 1.2))
        painter.setBrush(palette.color("surface"))
        painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 8.0, 8.0)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.color("danger" if self._refused else "accent"))
        painter.drawRoundedRect(QRectF(0, 0, 4, rect.height()), 2, 2)
        painter.setFont(theme.font(12))
        painter.setPen(palette.color("text"))
        for index, line in enumerate(self._lines):
            painter.drawText(QRectF(14, 7 + index * 17.0, rect.width() - 20, 17.0),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, line)
