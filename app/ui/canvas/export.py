"""Export the canvas as an image: PNG (pixels, at 2x for sharp slides) or SVG (vectors).

Only the journey is exported (its bounding box plus a margin), on the canvas
colour, without selection, hover or drop feedback. Items are pixmap-cached for
the screen, so the cache is switched off while exporting: an SVG then holds
real vector shapes and text, and a PNG is drawn at its own resolution.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem

from app.ui import theme
from app.ui.canvas.scene import JourneyScene

MARGIN = 40.0


def _source(scene: JourneyScene) -> QRectF:
    rect = scene.journey_rect()
    if rect.isNull():
        rect = QRectF(0, 0, 400, 200)
    return rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)


def _render(scene: JourneyScene, painter: QPainter, target: QRectF, source: QRectF) -> None:
    selected = scene.selectedItems()
    for item in selected:
        item.setSelected(False)
    cached = [(i, i.cacheMode()) for i in scene.items()
              if i.cacheMode() != QGraphicsItem.CacheMode.NoCache]
    for item, _mode in cached:
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    hint = scene.drop_hint
    hint_visible = hint is not None and hint.isVisible()
    if hint is not None:
        hint.setVisible(False)
    try:
        painter.fillRect(target, theme.current().color("canvas"))
        scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
    finally:
        for item, mode in cached:
            item.setCacheMode(mode)
        for item in selected:
            item.setSelected(True)
        if hint is not None:
            hint.setVisible(hint_visible)


def export_png(scene: JourneyScene, path: str | Path, scale: float = 2.0) -> QImage:
    """Write the journey as a PNG at ``scale`` pixels per canvas unit; returns the image."""
    source = _source(scene)
    size = QSize(round(source.width() * scale), round(source.height() * scale))
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(theme.current().color("canvas"))
    painter = QPainter(image)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing
                           | QPainter.RenderHint.TextAntialiasing
                           | QPainter.RenderHint.SmoothPixmapTransform)
    _render(scene, painter, QRectF(0, 0, size.width(), size.height()), source)
    painter.end()
    if not image.save(str(path)):  # the format follows the .png suffix
        raise OSError(f"Could not write {path}.")
    return image


def export_svg(scene: JourneyScene, path: str | Path) -> None:
    """Write the journey as an SVG (vector shapes and real text)."""
    source = _source(scene)
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(round(source.width()), round(source.height())))
    generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
    graph = scene.graph
    generator.setTitle(graph.name if graph is not None else "Journey")
    generator.setDescription("Exported from Journey Studio")
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"Could not write {path}.")
    painter.setRenderHints(QPainter.RenderHint.Antialiasing
                           | QPainter.RenderHint.TextAntialiasing)
    _render(scene, painter, QRectF(0, 0, source.width(), source.height()), source)
    painter.end()
    if not Path(path).exists():
        raise OSError(f"Could not write {path}.")
