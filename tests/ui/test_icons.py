"""The SVG icon set of resources/icons and its loader (app.ui.icons)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter
from PySide6.QtWidgets import QApplication

from app.core.models import PARTNER_LABELS
from app.ui import icons, theme
from app.ui.canvas.export import export_svg
from app.ui.main_window import MainWindow

SET = [name for name in icons.names()
       if name not in ("journey-studio", "chevron-down", "check-mark", "dash-mark")]
"""The tintable set (the app's own mark and the style sheet's arrow and check-box marks
are fixed colours)."""


def test_the_set_has_every_icon_the_ui_draws() -> None:
    wanted = {
        *icons.PLATFORM_ICONS.values(), *icons.PARTNER_ICONS.values(), "partner-other",
        "milestone", "remaining-users", "journey", "play", "user", "split", "send",
        "plus", "close", "more", "undo", "redo", "fit", "zoom-in", "zoom-out", "export", "tidy",
    }
    assert wanted <= set(SET)
    # Every partner the domain knows has its own mark.
    assert set(PARTNER_LABELS) <= set(icons.PARTNER_ICONS)
    assert set(theme.PARTNER_TINTS) == set(icons.PARTNER_ICONS)


@pytest.mark.parametrize("name", SET)
def test_icons_share_one_grid_and_one_stroke(name: str) -> None:
    """24×24, 1.75 px round strokes, every colour ``currentColor``: one family, tintable."""
    text = (icons.ICONS_DIR / f"{name}.svg").read_text(encoding="utf-8")
    root = ET.fromstring(text)
    assert root.get("viewBox") == "0 0 24 24"
    assert root.get("stroke-width") == "1.75"
    assert root.get("stroke-linecap") == root.get("stroke-linejoin") == "round"
    assert "stroke-width" not in text.split(">", 1)[1], "no icon overrides the stroke"
    colours = set(re.findall(r'(?:fill|stroke)="([^"]+)"', text))
    assert colours <= {"none", "currentColor"}, colours


@pytest.mark.parametrize("name", SET)
def test_every_icon_renders_in_the_colour_asked(qapp: QApplication, name: str) -> None:
    image = icons.pixmap(name, QColor("#E8890C"), 48).toImage()
    assert image.size() == QSize(48, 48)
    painted = [image.pixelColor(x, y) for x in range(48) for y in range(48)
               if image.pixelColor(x, y).alpha() == 255]
    assert painted, f"{name} drew nothing"
    # Opaque pixels are the tint (give or take rounding where a fill meets its stroke).
    assert all(abs(c.red() - 0xE8) <= 2 and abs(c.green() - 0x89) <= 2
               and abs(c.blue() - 0x0C) <= 2 for c in painted)


def test_icon_follows_the_theme_and_is_sharp_at_200_percent(qapp: QApplication) -> None:
    icon = icons.icon("undo", "text", disabled="text_subtle")
    assert isinstance(icon, QIcon) and not icon.isNull()
    sharp = icon.pixmap(QSize(18, 18), 2.0)
    assert sharp.devicePixelRatio() == 2.0
    assert (sharp.width(), sharp.height()) == (36, 36)

    def ink(pixmap_image: QImage) -> QColor:
        return next(pixmap_image.pixelColor(x, y) for x in range(36) for y in range(36)
                    if pixmap_image.pixelColor(x, y).alpha() == 255)

    assert ink(sharp.toImage()) == QColor(theme.LIGHT.text)
    disabled = icon.pixmap(QSize(18, 18), 2.0, QIcon.Mode.Disabled).toImage()
    assert ink(disabled) == QColor(theme.LIGHT.text_subtle)
    theme.apply_theme(qapp, theme.DARK)
    assert ink(icon.pixmap(QSize(18, 18), 2.0).toImage()) == QColor(theme.DARK.text)


def test_paint_icon_draws_for_the_device_pixels(qapp: QApplication) -> None:
    """A painter scaled ×3 (a zoomed canvas) gets an icon rendered at ×3, not stretched."""
    image = QImage(90, 90, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.scale(3, 3)
    icons.paint_icon(painter, QRectF(3, 3, 24, 24), "plus", QColor("#5A55E0"))
    painter.end()
    assert icons.pixmap("plus", QColor("#5A55E0"), 72).toImage() == image.copy(9, 9, 72, 72)


def test_unknown_names_fail_early_and_fall_back_where_data_decides() -> None:
    with pytest.raises(KeyError):
        icons.icon("no-such-icon", "text")
    assert icons.partner_icon("carrier_pigeon") == "partner-other"
    assert icons.platform_icon("tv") == "platform-other"


def test_an_svg_export_keeps_the_icons_vectors(window: MainWindow, tmp_path: Path) -> None:
    """On a vector device icons are drawn as paths, never embedded as bitmaps."""
    out = tmp_path / "journey.svg"
    export_svg(window.scene, out)
    text = out.read_text(encoding="utf-8")
    assert "<image" not in text
    assert text.count("<path") > 20
