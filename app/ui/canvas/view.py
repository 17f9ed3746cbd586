"""JourneyView: the canvas viewport — dotted grid, zoom around the cursor, pan, fit.

Dragging the background draws a rubber band that selects (as in design tools);
panning is the middle button, or the left button while Space is held; the wheel
and a trackpad pinch zoom around the cursor; arrow keys nudge the selection,
Delete removes it, Escape deselects (the window does the edits). Until the
person zooms or pans, the view keeps the journey fitted when it is resized
("auto-fit"); another journey is always shown fitted.
The first look does not zoom out below 75 % (text must stay readable); the
explicit "Fit to view" does, down to 25 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QFont,
    QKeyEvent,
    QMouseEvent,
    QNativeGestureEvent,
    QPainter,
    QPen,
    QResizeEvent,
    QShowEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsView, QScrollBar, QWidget

from app.ui import theme
from app.ui.canvas.scene import JourneyScene

MIN_ZOOM = 0.25
MAX_ZOOM = 3.0
FIT_MAX_ZOOM = 1.0
"""Fitting never enlarges beyond 100 %: a two-node journey should not fill the screen."""
AUTO_FIT_MIN_ZOOM = 0.75
"""Automatic fitting (first look, window resized) stops here so card text stays readable;
a journey wider than that is shown from its inputs on and can be panned. The explicit
"Fit to view" goes down to :data:`MIN_ZOOM`."""
FIT_MARGIN = 48.0
REVEAL_MARGIN = 24
"""Room kept between a node brought into view and the viewport's edge (pixels)."""
GRID_STEP = 24.0
ZOOM_STEP = 1.2


def clamp_zoom(value: float) -> float:
    return max(MIN_ZOOM, min(MAX_ZOOM, value))


def _clearing_shift(shown: QRect, area: QRect, viewport: QRect) -> tuple[int, int]:
    """The shortest move of the canvas (dx, dy in pixels, as :meth:`JourneyView.pan_by`)
    that takes ``shown`` off ``area`` while keeping it inside ``viewport``; (0, 0) when
    there is none."""
    moves = [(0, area.top() - shown.bottom() - 1), (area.left() - shown.right() - 1, 0),
             (0, area.bottom() + 1 - shown.top()), (area.right() + 1 - shown.left(), 0)]
    fitting = [(dx, dy) for dx, dy in moves if viewport.contains(shown.translated(dx, dy))]
    return min(fitting, key=lambda move: abs(move[0]) + abs(move[1]), default=(0, 0))


class JourneyView(QGraphicsView):
    """Shows a :class:`JourneyScene`; zoom is a uniform scale kept in [0.25, 3]."""

    zoomChanged = Signal(float)
    viewportChanged = Signal()
    """The visible part of the scene moved or resized (the minimap follows)."""

    def __init__(self, scene: JourneyScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self._scene = scene
        self._fit_floor: float | None = AUTO_FIT_MIN_ZOOM
        """While set, the view re-fits on resize with this lowest zoom; None once the
        person zoomed or panned."""
        self.setObjectName("journeyView")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().grabGesture(Qt.GestureType.PinchGesture)
        self._space_held = False
        self._pan_from: QPointF | None = None
        self.on_delete: Callable[[], None] | None = None
        """Called for the Delete and Backspace keys (the window removes the selection)."""
        self.on_nudge: Callable[[float, float], None] | None = None
        """Called for the arrow keys with (dx, dy) in canvas units (Shift: 10x)."""
        scene.graphChanged.connect(self._on_graph_changed)
        scene.revealRequested.connect(self.reveal)
        self.horizontalScrollBar().valueChanged.connect(self.viewportChanged)
        self.verticalScrollBar().valueChanged.connect(self.viewportChanged)
        self.zoomChanged.connect(self.viewportChanged)

    @property
    def journey_scene(self) -> JourneyScene:
        return self._scene

    def center_on_scene(self, point: QPointF) -> None:
        """Centre the view on a scene point (the minimap's jump); stops auto-fit."""
        self._fit_floor = None
        self.centerOn(point)
        self.viewportChanged.emit()

    def reveal(self, rect: QRectF) -> None:
        """Scroll (as little as needed) so the scene ``rect`` is in sight, with a margin,
        and not under a widget floating over the canvas (the minimap)."""
        self.ensureVisible(rect, REVEAL_MARGIN, REVEAL_MARGIN)
        viewport = self.viewport().rect()
        shown = self.mapFromScene(rect).boundingRect().adjusted(
            -REVEAL_MARGIN, -REVEAL_MARGIN, REVEAL_MARGIN, REVEAL_MARGIN)
        for area in self._overlays():
            if area.intersects(shown):
                dx, dy = _clearing_shift(shown, area, viewport)
                self.pan_by(dx, dy)
                return

    def _overlays(self) -> list[QRect]:
        """Where widgets float over the canvas, in viewport coordinates."""
        viewport = self.viewport()
        return [child.geometry().translated(-viewport.pos())
                for child in self.findChildren(QWidget,
                                               options=Qt.FindChildOption.FindDirectChildrenOnly)
                if child is not viewport and child.isVisible()
                and not child.findChildren(QScrollBar)]

    # ------------------------------------------------------------------ zoom

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, value: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``value`` (clamped), keeping the scene point under ``anchor`` in place.

        ``anchor`` is in viewport coordinates; None means the viewport centre.
        """
        value = clamp_zoom(value)
        if math.isclose(value, self.zoom):
            return
        if anchor is None:
            anchor = QPointF(self.viewport().rect().center())
        before = self.mapToScene(anchor.toPoint())
        self.setTransform(QTransform.fromScale(value, value))
        after = self.mapToScene(anchor.toPoint())
        centre = self.mapToScene(self.viewport().rect().center())
        self.centerOn(centre + (before - after))
        self.zoomChanged.emit(self.zoom)

    def zoom_in(self) -> None:
        self._fit_floor = None
        self.set_zoom(self.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self._fit_floor = None
        self.set_zoom(self.zoom / ZOOM_STEP)

    def reset_zoom(self) -> None:
        """100 %, centred on the journey."""
        self._fit_floor = None
        self.setTransform(QTransform())
        self.centerOn(self._scene.journey_rect().center())
        self.zoomChanged.emit(self.zoom)

    def fit_to_view(self) -> None:
        """Show the whole journey (at most at 100 %) and resume auto-fit."""
        self._fit(MIN_ZOOM)

    def _fit(self, min_zoom: float) -> None:
        """Fit the journey, not below ``min_zoom``; if it still does not fit, show its
        left (where it starts) and keep it vertically centred."""
        self._fit_floor = min_zoom
        rect = self._scene.journey_rect()
        if rect.isNull():
            self.setTransform(QTransform())
            self.zoomChanged.emit(self.zoom)
            return
        rect = rect.adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN)
        viewport = self.viewport().rect()
        scale = min(viewport.width() / rect.width(), viewport.height() / rect.height())
        scale = max(min_zoom, min(FIT_MAX_ZOOM, scale))
        self.setTransform(QTransform.fromScale(scale, scale))
        centre = rect.center()
        visible_width = viewport.width() / scale
        if visible_width < rect.width():
            centre.setX(rect.left() + visible_width / 2)
        self.centerOn(centre)
        self.zoomChanged.emit(self.zoom)

    # ------------------------------------------------------------------ events

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Wheel (or pinch-like trackpad scroll) zooms around the cursor."""
        delta = event.angleDelta().y() or event.pixelDelta().y()
        if not delta:
            event.ignore()
            return
        self._fit_floor = None
        self.set_zoom(self.zoom * math.pow(1.0015, delta), event.position())
        event.accept()

    def viewportEvent(self, event: QEvent) -> bool:
        """A trackpad pinch (native zoom gesture) zooms around the fingers."""
        if isinstance(event, QNativeGestureEvent) and \
                event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
            self._fit_floor = None
            self.set_zoom(self.zoom * (1.0 + event.value()), event.position())
            return True
        return super().viewportEvent(event)

    @property
    def panning(self) -> bool:
        return self._pan_from is not None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
                button == Qt.MouseButton.LeftButton and self._space_held):
            self._fit_floor = None
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if button == Qt.MouseButton.LeftButton:
            self._fit_floor = None
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.pan_by(delta.x(), delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self._update_cursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the canvas with the pointer by (dx, dy) viewport pixels."""
        horizontal = self.horizontalScrollBar()
        vertical = self.verticalScrollBar()
        horizontal.setValue(horizontal.value() - round(dx))
        vertical.setValue(vertical.value() - round(dy))
        self.viewport().update()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self._update_cursor()
            event.accept()
            return
        steps = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1),
                 Qt.Key.Key_Down: (0, 1)}
        if event.key() in steps and self.on_nudge and self._scene.selectedItems():
            size = 10.0 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1.0
            dx, dy = steps[Qt.Key(event.key())]
            self.on_nudge(dx * size, dy * size)
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape:
            self._scene.dismiss_hint()
            self._scene.clearSelection()
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.on_delete:
            self.on_delete()
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self._update_cursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def _update_cursor(self) -> None:
        if self._space_held:
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.viewport().unsetCursor()

    def auto_fit(self) -> None:
        """Fit as for a first look: whole journey if it stays readable, else its start."""
        self._fit(AUTO_FIT_MIN_ZOOM)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit_floor is not None:
            self._fit(self._fit_floor)
        self.viewportChanged.emit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._fit_floor is not None:
            self._fit(self._fit_floor)

    def _on_graph_changed(self) -> None:
        self.auto_fit()

    # ------------------------------------------------------------------ painting

    def drawBackground(self, painter: QPainter, exposed: QRectF | QRect) -> None:
        """The canvas colour with a dot grid that thins out when zoomed far out."""
        rect = QRectF(exposed)
        palette = theme.current()
        painter.fillRect(rect, palette.color("canvas"))
        step = GRID_STEP
        while step * self.zoom < 14:
            step *= 2
        pen = QPen(palette.color("grid_dot"), max(1.6, 2.0 * self.zoom) / self.zoom)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        points: list[QPointF] = []
        y = top
        while y <= rect.bottom():
            x = left
            while x <= rect.right():
                points.append(QPointF(x, y))
                x += step
            y += step
        painter.drawPoints(points)

    def drawForeground(self, painter: QPainter, exposed: QRectF | QRect) -> None:
        """An empty state in the middle of the viewport when no journey is shown.

        (A journey without milestones shows a placeholder card on the scene instead.)
        """
        if self._scene.graph is not None:
            return
        if any(True for _ in self._scene.state.journeys()):
            title = "No journey selected"
            detail = "Pick a journey on the left to see it here."
        else:
            title = "No journeys yet"
            detail = "This account has no journeys to show."
        palette = theme.current()
        painter.save()
        painter.resetTransform()
        area = QRectF(self.viewport().rect())
        top = area.center().y() - 24
        painter.setPen(palette.color("text_muted"))
        painter.setFont(theme.font(15, QFont.Weight.DemiBold))
        painter.drawText(QRectF(area.left(), top, area.width(), 24),
                         Qt.AlignmentFlag.AlignCenter, title)
        painter.setPen(palette.color("text_subtle"))
        painter.setFont(theme.font(12.5))
        painter.drawText(QRectF(area.left(), top + 26, area.width(), 20),
                         Qt.AlignmentFlag.AlignCenter, detail)
        painter.restore()
