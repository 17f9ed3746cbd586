"""Colours, fonts and the style sheet: every visual constant of the interface in one place.

Two palettes (light and dark) with the same token names. Widgets are styled by
``resources/style.qss``, a template whose ``${token}`` placeholders are filled
from the active palette, so the panels and the painted canvas can never drift
apart in colour. Painted code (canvas items, list delegates) asks
:func:`current` for the palette at paint time, which is why a theme switch
only needs a repaint, not a rebuild.
"""

from __future__ import annotations

import logging
import string
from dataclasses import dataclass, fields
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

import app

log = logging.getLogger(__name__)

RESOURCES_DIR = Path(app.__file__).resolve().parent.parent / "resources"
"""``resources/`` beside the ``app`` package (an editable install keeps it there)."""

STYLE_SHEET = RESOURCES_DIR / "style.qss"

FONTS_DIR = RESOURCES_DIR / "fonts"
"""The shipped UI font: Inter (SIL Open Font License, ``LICENSE.txt`` beside it), in the
weights the theme uses, as WOFF2 files that Qt loads directly."""

UI_FONT_FAMILY = "Inter"
"""The family of the shipped font: the app, its tests and its screenshots look the same
on every machine, whatever fonts it has installed."""


@dataclass(frozen=True)
class Theme:
    """A palette: hex colours by role. Both themes define every role."""

    name: str
    is_dark: bool
    # chrome
    window: str
    panel: str
    panel_hover: str
    text: str
    text_muted: str
    text_subtle: str
    border: str
    border_strong: str
    accent: str
    accent_hover: str
    accent_text: str
    accent_soft: str
    # canvas
    canvas: str
    grid_dot: str
    surface: str
    surface_remaining: str
    edge: str
    edge_active: str
    shadow: str
    shadow_alpha: int
    # status
    success: str
    success_soft: str
    success_text: str
    neutral_soft: str
    neutral_text: str
    warning: str
    warning_soft: str
    warning_text: str
    danger: str
    danger_soft: str
    danger_border: str

    def color(self, role: str, alpha: int | None = None) -> QColor:
        """The colour of ``role`` (a field name), optionally with ``alpha`` 0–255."""
        value = QColor(getattr(self, role))
        if alpha is not None:
            value.setAlpha(alpha)
        return value

    def tokens(self) -> dict[str, str]:
        """Every colour role by name, for the style-sheet template."""
        return {
            f.name: str(getattr(self, f.name))
            for f in fields(self)
            if isinstance(getattr(self, f.name), str)
        }


LIGHT = Theme(
    name="light",
    is_dark=False,
    window="#F7F8FA",
    panel="#FFFFFF",
    panel_hover="#F2F3F6",
    text="#16191F",
    text_muted="#5B6270",
    text_subtle="#8A909C",
    border="#E4E6EB",
    border_strong="#CDD1D8",
    accent="#5A55E0",
    accent_hover="#4A45CC",
    accent_text="#FFFFFF",
    accent_soft="#EEEDFD",
    canvas="#F3F4F7",
    grid_dot="#CFD3DA",
    surface="#FFFFFF",
    surface_remaining="#FAFAFB",
    edge="#B3B9C4",
    edge_active="#4CA875",
    shadow="#101828",
    shadow_alpha=22,
    success="#1E9E57",
    success_soft="#E4F6EB",
    success_text="#12773F",
    neutral_soft="#EFF1F4",
    neutral_text="#636B78",
    warning="#D97A00",
    warning_soft="#FFF3DF",
    warning_text="#A65A00",
    danger="#D6453D",
    danger_soft="#FDECEA",
    danger_border="#F5C6C2",
)

DARK = Theme(
    name="dark",
    is_dark=True,
    window="#15161A",
    panel="#1C1E23",
    panel_hover="#26292F",
    text="#ECEEF2",
    text_muted="#A3A9B5",
    text_subtle="#737A87",
    border="#2C2F36",
    border_strong="#3E434C",
    accent="#7C78F2",
    accent_hover="#918EF5",
    accent_text="#FFFFFF",
    accent_soft="#2A2950",
    canvas="#121316",
    grid_dot="#2B2E35",
    surface="#22252B",
    surface_remaining="#1D1F24",
    edge="#4B505B",
    edge_active="#3FAF73",
    shadow="#000000",
    shadow_alpha=70,
    success="#3DCB7E",
    success_soft="#183A29",
    success_text="#5DDB95",
    neutral_soft="#2C2F36",
    neutral_text="#A3A9B5",
    warning="#F2A33A",
    warning_soft="#3A2B14",
    warning_text="#F5B55E",
    danger="#F0645C",
    danger_soft="#3A1D1C",
    danger_border="#5C2A28",
)

_current: Theme = LIGHT


def current() -> Theme:
    """The palette in use; painted items read it at paint time."""
    return _current


def theme_for_scheme(scheme: Qt.ColorScheme) -> Theme:
    """Dark for a dark system scheme, light otherwise (also when the system won't say)."""
    return DARK if scheme == Qt.ColorScheme.Dark else LIGHT


def system_theme() -> Theme:
    """The palette matching the system colour scheme right now."""
    return theme_for_scheme(QGuiApplication.styleHints().colorScheme())


# ---------------------------------------------------------------------------- fonts


_family: str | None = None


def load_shipped_fonts() -> list[str]:
    """Register the WOFF2 files of :data:`FONTS_DIR` with Qt; the families they hold.

    A missing or unreadable file is logged and skipped: the app then draws with the
    system's font, measuring its text all the same.
    """
    families: list[str] = []
    for path in sorted(FONTS_DIR.glob("*.woff2")):
        font_id = QFontDatabase.addApplicationFont(str(path))
        if font_id < 0:
            log.warning("Could not load the font %s", path)
            continue
        families.extend(QFontDatabase.applicationFontFamilies(font_id))
    return families


def ui_family() -> str:
    """The shipped :data:`UI_FONT_FAMILY`, loaded on first use (the system font if it
    could not be loaded).

    Looked up once: painted items ask for fonts on every paint.
    """
    global _family
    if _family is None:
        loaded = load_shipped_fonts()
        _family = (UI_FONT_FAMILY if UI_FONT_FAMILY in loaded
                   else QGuiApplication.font().family())
        if _family != UI_FONT_FAMILY:
            log.warning("The UI font %s is missing from %s; using %s", UI_FONT_FAMILY,
                        FONTS_DIR, _family)
    return _family


def use_family(family: str | None) -> None:
    """Draw with ``family`` instead of the shipped font (None: the shipped font again).

    For checking that measured text holds in another font; call :func:`apply_theme`
    afterwards so widgets pick it up too.
    """
    global _family
    _family = family


def font(pixel_size: float, weight: QFont.Weight = QFont.Weight.Normal) -> QFont:
    """A UI font at a size in pixels (scene units on the canvas, so text zooms with it)."""
    result = QFont(ui_family())
    result.setPixelSize(max(1, round(pixel_size)))
    result.setWeight(weight)
    result.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    return result


# ---------------------------------------------------------------------------- applying


def palette_for(theme: Theme) -> QPalette:
    """A QPalette from the theme, so unstyled widgets (menus, dialogs) match the panels."""
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: theme.window,
        QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.panel,
        QPalette.ColorRole.AlternateBase: theme.panel_hover,
        QPalette.ColorRole.Text: theme.text,
        QPalette.ColorRole.Button: theme.panel,
        QPalette.ColorRole.ButtonText: theme.text,
        QPalette.ColorRole.Highlight: theme.accent,
        QPalette.ColorRole.HighlightedText: theme.accent_text,
        QPalette.ColorRole.ToolTipBase: theme.panel,
        QPalette.ColorRole.ToolTipText: theme.text,
        QPalette.ColorRole.PlaceholderText: theme.text_subtle,
        QPalette.ColorRole.Mid: theme.border_strong,
        QPalette.ColorRole.Midlight: theme.border,
        QPalette.ColorRole.Light: theme.panel,
        QPalette.ColorRole.Dark: theme.border_strong,
        QPalette.ColorRole.Link: theme.accent,
    }
    for role, value in roles.items():
        pal.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(theme.text_subtle))
    return pal


def style_sheet(theme: Theme) -> str:
    """``resources/style.qss`` with the theme's colours filled in ('' if it is missing)."""
    try:
        template = STYLE_SHEET.read_text(encoding="utf-8")
    except OSError as problem:
        log.warning("No style sheet at %s (%s); using the plain style", STYLE_SHEET, problem)
        return ""
    return string.Template(template).substitute(
        theme.tokens(), font_family=ui_family(),
        icons_dir=(RESOURCES_DIR / "icons").as_posix(),
    )


def apply_theme(application: QApplication, theme: Theme) -> None:
    """Make ``theme`` the app's palette, font and style sheet.

    Painted items are not repainted here: their owner calls ``update()`` (see
    ``MainWindow.refresh_theme``) because cached items would keep old colours.
    """
    global _current
    _current = theme
    application.setStyle("Fusion")
    application.setPalette(palette_for(theme))
    application.setFont(font(13))
    application.setStyleSheet(style_sheet(theme))
    log.debug("Applied the %s theme", theme.name)


# ---------------------------------------------------------------------------- brand tints

#: Tile colours of input platforms (keys are :func:`app.ui.canvas.cards.platform_key`
#: values). Tiles draw the tint faintly behind an icon in the full tint.
PLATFORM_TINTS: dict[str, str] = {
    "ios": "#3B82F6",
    "android": "#22A45D",
    "web": "#8B5CF6",
    "partner": "#E8890C",
    "other": "#64748B",
}

#: Tile colours of partners (keys are ``Connection.partner`` values); their icons are
#: :data:`app.ui.icons.PARTNER_ICONS`.
PARTNER_TINTS: dict[str, str] = {
    "facebook_custom_audiences": "#1877F2",
    "google_ads": "#EA4335",
    "braze": "#7C3AED",
    "webhook": "#0EA5E9",
    "file_drop": "#64748B",
    "salesforce_marketing_cloud": "#00A1E0",
    "mailchimp": "#D4A106",
}
OTHER_PARTNER_TINT = "#64748B"


def brand_tint(hex_color: str, palette: Theme | None = None) -> QColor:
    """A platform or partner tint as icons draw it: a little lighter on dark backgrounds,
    where the saturated brand colours would sink."""
    color = QColor(hex_color)
    return color.lighter(135) if (palette or current()).is_dark else color


def tile_alpha(theme: Theme) -> int:
    """How strongly a brand tint fills its tile: dark backgrounds need more."""
    return 52 if theme.is_dark else 30
