"""A minimap in the corner of the canvas for journeys larger than the viewport.

It shows the whole journey in miniature (cards as boxes, active ones green)
with the visible area as a frame; a click or drag there moves the view. The
miniature is drawn once per change of the journey (debounced while editing),
not on every paint, so it costs nothing while panning a 300-milestone journey.

Its size follows the canvas (a fraction of the view's width, between a floor
that keeps it legible and its full size), so on a small window it stays in
its corner. A button on it collapses it into a small square that brings it
back; the window's View menu does the same and remembers the choice.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QToolButton, QWidget

from app.ui import icons, theme
from app.ui.canvas.scene import JourneyScene
from app.ui.canvas.view import JourneyView

SIZE = QSize(216, 136)
"""The full size, on a canvas wide enough for it."""
SHARE = 0.22
"""At most this share of the canvas's width and height (a corner, not a quarter)."""
MIN_WIDTH = 104
"""Narrower, the cards become specks: the floor, whatever the canvas."""
COLLAPSED = QSize(30, 30)
"""The square left in the corner when collapsed: just the button to expand it."""
MARGIN = 14
BUTTON = 22
"""The collapse / expand button's side; it sits in the top-right corner."""


def fitted_size(canvas: QSize) -> QSize:
    """The minimap's size for a canvas (viewport) of ``canvas``: ``SIZE``'s proportions,
    at most ``SHARE`` of either side of the canvas, never under ``MIN_WIDTH`` wide."""
    aspect = SIZE.height() / SIZE.width()
    width = min(SIZE.width(), SHARE * canvas.width(), SHARE * canvas.height() / aspect)
    width = max(MIN_WIDTH, round(width))
    return QSize(width, round(width * aspect))


class Minimap(QWidget):
    """Overlay on a :class:`JourneyView`; visible while the journey does not fit."""

    collapsedChanged = Signal(bool)
    """The person collapsed (True) or expanded the minimap."""

    def __init__(self, view: JourneyView) -> None:
        super().__init__(view)
        self.setObjectName("minimap")
        self._view = view
        self._scene: JourneyScene = view.journey_scene
        self._image: QImage | None = None
        self._source = QRectF()
        self.collapsed = False
        self.setFixedSize(SIZE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Minimap: click or drag to move around the journey")
        self.toggle_button = QToolButton(self)
        self.toggle_button.setObjectName("minimapToggle")
        self.toggle_button.setAutoRaise(True)
        self.toggle_button.setFixedSize(BUTTON, BUTTON)
        self.toggle_button.setIconSize(QSize(14, 14))
        self.toggle_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toggle_button.clicked.connect(lambda: self.set_collapsed(not self.collapsed))
        self._show_toggle()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(120)
        self._timer.timeout.connect(self.rebuild)
        self._scene.contentChanged.connect(self._timer.start)
        self._scene.graphChanged.connect(self.rebuild)
        view.viewportChanged.connect(self.sync)
        self.hide()

    def set_collapsed(self, collapsed: bool) -> None:
        """Fold the minimap into its corner button (True), or open it again."""
        if collapsed == self.collapsed:
            return
        self.collapsed = collapsed
        self._show_toggle()
        self.sync()
        self.collapsedChanged.emit(collapsed)

    def _show_toggle(self) -> None:
        shortcut = "Ctrl+M"
        if self.collapsed:
            self.toggle_button.setIcon(icons.icon("minimap", "text_muted", active="text"))
            tip = f"Show the minimap ({shortcut})"
        else:
            self.toggle_button.setIcon(icons.icon("collapse", "text_muted", active="text"))
            tip = f"Hide the minimap ({shortcut})"
        self.toggle_button.setToolTip(tip)
        self.toggle_button.setAccessibleName(tip.split(" (")[0])

    def schedule_rebuild(self) -> None:
        """Re-render soon (after the items repainted in the new state)."""
        self._timer.start()

    def rebuild(self) -> None:
        """Render the journey in miniature (after it changed)."""
        rect = self._scene.journey_rect()
        if rect.isNull():
            self._image = None
            self.sync()
            return
        self._source = rect.adjusted(-40, -40, 40, 40)
        self._render()
        self.sync()

    def _render(self) -> None:
        """Draw the miniature for the current size."""
        ratio = self.devicePixelRatioF()
        image = QImage(self.size() * ratio, QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._draw_schematic(painter)
        painter.end()
        self._image = image

    def _draw_schematic(self, painter: QPainter) -> None:
        """Cards as filled boxes and edges as lines: readable at this size, and it never
        touches the items' screen caches (rendering the scene here would)."""
        palette = theme.current()
        scene = self._scene
        graph = scene.graph
        pen = QPen(palette.color("edge"), 1.0)
        painter.setPen(pen)
        for edge in scene.edge_items.values():
            source = scene.node_item(edge.key[0])
            target = scene.node_item(edge.key[1])
            if source is not None and target is not None:
                painter.drawLine(self._to_map(source.right_port()),
                                 self._to_map(target.left_port()))
        painter.setPen(Qt.PenStyle.NoPen)
        for key, items, role in (
            ("input", scene.input_items, "border_strong"),
            ("milestone", scene.milestone_items, "border_strong"),
            ("output", scene.output_items, "border_strong"),
        ):
            for node_id, item in items.items():
                color = "success" if graph is not None and self._active(key, node_id) else role
                body = item.scene_body()
                painter.setBrush(palette.color(color))
                painter.drawRoundedRect(QRectF(self._to_map(body.topLeft()),
                                               self._to_map(body.bottomRight())), 1.5, 1.5)
        if scene.start_item is not None:
            painter.setBrush(palette.color("accent"))
            body = scene.start_item.scene_body()
            painter.drawRoundedRect(QRectF(self._to_map(body.topLeft()),
                                           self._to_map(body.bottomRight())), 2, 2)

    def _active(self, kind: str, node_id: str) -> bool:
        graph = self._scene.graph
        if graph is None:
            return False
        if kind == "milestone":
            return graph.has_milestone(node_id) and graph.is_active(node_id)
        if kind == "output":
            return graph.has_output(node_id) and graph.output(node_id).active
        return False

    def _target(self) -> QRectF:
        """Where the journey is drawn inside the minimap (aspect kept, centred)."""
        area = QRectF(self.rect()).adjusted(8, 8, -8, -8)
        if self._source.isEmpty():
            return area
        scale = min(area.width() / self._source.width(), area.height() / self._source.height())
        width, height = self._source.width() * scale, self._source.height() * scale
        return QRectF(area.center().x() - width / 2, area.center().y() - height / 2,
                      width, height)

    def _to_map(self, point: QPointF) -> QPointF:
        target = self._target()
        sx = target.width() / self._source.width()
        sy = target.height() / self._source.height()
        return QPointF(target.left() + (point.x() - self._source.left()) * sx,
                       target.top() + (point.y() - self._source.top()) * sy)

    def _to_scene(self, point: QPointF) -> QPointF:
        target = self._target()
        sx = self._source.width() / target.width()
        sy = self._source.height() / target.height()
        return QPointF(self._source.left() + (point.x() - target.left()) * sx,
                       self._source.top() + (point.y() - target.top()) * sy)

    def visible_rect(self) -> QRectF:
        return self._view.mapToScene(self._view.viewport().rect()).boundingRect()

    def sync(self) -> None:
        """Show while the journey is larger than what the view shows (collapsed: only the
        button to expand it), sized to the canvas, in its bottom-right corner."""
        try:
            journey = self._scene.journey_rect()
        except RuntimeError:  # the window is being torn down: its items are gone
            return
        size = COLLAPSED if self.collapsed else fitted_size(self._view.viewport().size())
        if size != self.size():
            self.setFixedSize(size)
            if not self.collapsed and self._image is not None:
                self._render()  # the miniature is drawn for one size
        if self.collapsed:
            self.toggle_button.move((size.width() - BUTTON) // 2,
                                    (size.height() - BUTTON) // 2)
        else:
            self.toggle_button.move(size.width() - BUTTON - 4, 4)
        parent = self.parentWidget()
        if parent is not None:
            self.move(parent.width() - self.width() - MARGIN,
                      parent.height() - self.height() - MARGIN)
        wanted = (self._image is not None and not journey.isNull()
                  and not self.visible_rect().contains(journey))
        self.setVisible(wanted)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        palette = theme.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        frame = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QPen(palette.color("border_strong"), 1.0))
        painter.setBrush(palette.color("panel", 235))
        painter.drawRoundedRect(frame, 8 if self.collapsed else 10,
                                8 if self.collapsed else 10)
        if self._image is not None and not self.collapsed:
            painter.drawImage(QPointF(0, 0), self._image)
            seen = self.visible_rect()
            top_left = self._to_map(seen.topLeft())
            bottom_right = self._to_map(seen.bottomRight())
            window = QRectF(top_left, bottom_right).intersected(frame.adjusted(2, 2, -2, -2))
            painter.setPen(QPen(palette.color("accent"), 1.5))
            painter.setBrush(palette.color("accent", 28))
            painter.drawRoundedRect(window, 3, 3)
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._jump(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._jump(event.position())

    def _jump(self, at: QPointF) -> None:
        if self._image is None or self.collapsed:
            return
        self._view.center_on_scene(self._to_scene(at))
