"""The SVG icons of ``resources/icons/``, tinted to any colour and crisp at any scale.

Every icon is drawn on a 24×24 grid with 1.75 px round strokes in
``currentColor``; :func:`svg_text` puts the wanted colour in its place before
the text is parsed, so one file serves both themes and every state.

* :func:`paint_icon` draws an icon into a rectangle of a painter (canvas cards,
  list rows, palette tiles). On screen it draws a pixmap rendered for the exact
  device size (scene zoom × device pixel ratio), cached per (name, colour, size);
  on a vector device (an SVG export) it draws the vector paths themselves.
* :func:`icon` makes a ``QIcon`` for buttons and actions. Its colour may be a theme
  role (``"text_muted"``), read when the icon is drawn, so icons follow a theme
  switch without being set again.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QIconEngine, QPaintEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app.ui import theme

ICONS_DIR = theme.RESOURCES_DIR / "icons"

#: Input platform keys (see :func:`app.ui.canvas.cards.platform_key`) -> icon names.
PLATFORM_ICONS: dict[str, str] = {
    "ios": "platform-ios",
    "android": "platform-android",
    "web": "platform-web",
    "partner": "platform-partner",
    "other": "platform-other",
}

#: ``Connection.partner`` values -> icon names (unknown partners get ``partner-other``).
PARTNER_ICONS: dict[str, str] = {
    "webhook": "partner-webhook",
    "file_drop": "partner-file-drop",
    "facebook_custom_audiences": "partner-facebook",
    "google_ads": "partner-google-ads",
    "braze": "partner-braze",
    "salesforce_marketing_cloud": "partner-salesforce",
    "mailchimp": "partner-mailchimp",
}

_PIXMAP_CACHE_LIMIT = 512
_pixmaps: dict[tuple[str, int, int, int, float], QPixmap] = {}

Color = QColor | str
"""A colour, or the name of a theme role (``"accent"``) read when the icon is drawn."""


def platform_icon(key: str) -> str:
    return PLATFORM_ICONS.get(key, PLATFORM_ICONS["other"])


def partner_icon(partner: str) -> str:
    return PARTNER_ICONS.get(partner, "partner-other")


def names() -> list[str]:
    """Every icon of the set (``journey-studio``, the app's own mark, included)."""
    return sorted(path.stem for path in ICONS_DIR.glob("*.svg"))


@cache
def _source(name: str) -> str:
    path = ICONS_DIR / f"{name}.svg"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as problem:
        raise KeyError(f"no icon {name!r} in {ICONS_DIR}") from problem


def resolve(color: Color) -> QColor:
    """A colour for ``color``: itself, or the current theme's colour of that role."""
    if isinstance(color, QColor):
        return color
    return QColor(color) if color.startswith("#") else theme.current().color(color)


def svg_text(name: str, color: QColor) -> str:
    """The icon's SVG with ``currentColor`` replaced by ``color`` (alpha is left to the
    painter: see :func:`paint_icon`)."""
    return _source(name).replace("currentColor", color.name(QColor.NameFormat.HexRgb))


@lru_cache(maxsize=256)
def _renderer(name: str, rgb: int) -> QSvgRenderer:
    renderer = QSvgRenderer(QByteArray(svg_text(name, QColor.fromRgb(rgb)).encode("utf-8")))
    if not renderer.isValid():
        raise ValueError(f"icon {name!r} is not valid SVG")
    renderer.setAspectRatioMode(Qt.AspectRatioMode.KeepAspectRatio)
    return renderer


def renderer(name: str, color: Color) -> QSvgRenderer:
    """A (shared, cached) renderer of the icon in ``color``, ignoring its alpha."""
    return _renderer(name, resolve(color).rgb())


def pixmap(name: str, color: Color, size: QSize | int, ratio: float = 1.0) -> QPixmap:
    """The icon at ``size`` device-independent pixels for a device pixel ratio, cached per
    (name, colour, device size)."""
    if isinstance(size, int):
        size = QSize(size, size)
    tint = resolve(color)
    width = max(1, math.ceil(size.width() * ratio - 0.01))
    height = max(1, math.ceil(size.height() * ratio - 0.01))
    key = (name, tint.rgba(), width, height, ratio)
    cached = _pixmaps.get(key)
    if cached is None:
        cached = QPixmap(width, height)
        cached.fill(Qt.GlobalColor.transparent)
        painter = QPainter(cached)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setOpacity(tint.alphaF())
        renderer(name, tint).render(painter, QRectF(0, 0, width, height))
        painter.end()
        cached.setDevicePixelRatio(ratio)
        if len(_pixmaps) >= _PIXMAP_CACHE_LIMIT:
            _pixmaps.clear()
        _pixmaps[key] = cached
    return cached


def _device_scale(painter: QPainter) -> float:
    """How many device pixels one painter unit covers (zoom × device pixel ratio)."""
    transform = painter.combinedTransform()
    scale = math.hypot(transform.m11(), transform.m12())
    device = painter.device()
    ratio = device.devicePixelRatioF() if device is not None else 1.0
    return max(scale * ratio, 0.01)


_RASTER_ENGINES = (QPaintEngine.Type.Raster, QPaintEngine.Type.OpenGL2,
                   QPaintEngine.Type.OpenGL, QPaintEngine.Type.CoreGraphics,
                   QPaintEngine.Type.Windows, QPaintEngine.Type.Direct3D)


def paint_icon(painter: QPainter, rect: QRectF, name: str, color: Color) -> None:
    """Draw an icon into ``rect`` (painter units), centred and square."""
    side = min(rect.width(), rect.height())
    if side <= 0:
        return
    square = QRectF(0, 0, side, side)
    square.moveCenter(rect.center())
    tint = resolve(color)
    engine = painter.paintEngine()
    if engine is None or engine.type() not in _RASTER_ENGINES:
        # A vector device (SVG export, printing): keep the icon a vector.
        painter.save()
        painter.setOpacity(painter.opacity() * tint.alphaF())
        renderer(name, tint).render(painter, square)
        painter.restore()
        return
    scale = _device_scale(painter)
    device_side = max(1, round(side * scale))
    image = pixmap(name, tint, QSize(device_side, device_side))
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    painter.drawPixmap(square, image, QRectF(image.rect()))
    painter.restore()


class _SvgIconEngine(QIconEngine):
    """A ``QIcon`` that renders the tinted SVG at whatever size and scale is asked."""

    def __init__(self, name: str, color: Color, disabled: Color | None,
                 active: Color | None) -> None:
        super().__init__()
        self._name = name
        self._color = color
        self._disabled = disabled
        self._active = active

    def _tint(self, mode: QIcon.Mode) -> QColor:
        if mode == QIcon.Mode.Disabled:
            if self._disabled is not None:
                return resolve(self._disabled)
            faded = QColor(resolve(self._color))
            faded.setAlphaF(faded.alphaF() * 0.4)
            return faded
        if mode == QIcon.Mode.Active and self._active is not None:
            return resolve(self._active)
        return resolve(self._color)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode,
              state: QIcon.State) -> None:
        paint_icon(painter, QRectF(rect), self._name, self._tint(mode))

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State,
                     scale: float) -> QPixmap:
        side = min(size.width(), size.height())
        return pixmap(self._name, self._tint(mode), QSize(side, side), scale)

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:
        side = min(size.width(), size.height())
        return QSize(side, side)

    def clone(self) -> QIconEngine:
        return _SvgIconEngine(self._name, self._color, self._disabled, self._active)

    def key(self) -> str:
        return "journey-studio-svg"

    def isNull(self) -> bool:
        return False


def icon(name: str, color: Color, disabled: Color | None = None,
         active: Color | None = None) -> QIcon:
    """A ``QIcon`` of the icon in ``color``; ``disabled`` (default: ``color`` faded) for
    the disabled state, ``active`` (default: ``color``) under the mouse of an auto-raise
    button. A role name as colour follows the theme."""
    _source(name)  # fail now, not at paint time, on a misspelt name
    return QIcon(_SvgIconEngine(name, color, disabled, active))
