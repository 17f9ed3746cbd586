"""Themes: both palettes are complete and the style sheet template fills in."""

from __future__ import annotations

from dataclasses import fields

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.ui import theme
from app.ui.status import database_label, meter_level


def test_both_palettes_define_valid_colours() -> None:
    for palette in (theme.LIGHT, theme.DARK):
        for role, value in palette.tokens().items():
            if role == "name":
                continue
            assert palette.color(role).isValid(), (palette.name, role, value)
    assert [f.name for f in fields(theme.LIGHT)] == [f.name for f in fields(theme.DARK)]


@pytest.mark.parametrize("palette", [theme.LIGHT, theme.DARK])
def test_style_sheet_has_every_placeholder_filled(qapp: QApplication,
                                                  palette: theme.Theme) -> None:
    sheet = theme.style_sheet(palette)
    assert "#journeysPanel" in sheet
    assert "${" not in sheet
    assert palette.panel in sheet


def test_system_scheme_picks_the_palette() -> None:
    assert theme.theme_for_scheme(Qt.ColorScheme.Dark) is theme.DARK
    assert theme.theme_for_scheme(Qt.ColorScheme.Light) is theme.LIGHT
    assert theme.theme_for_scheme(Qt.ColorScheme.Unknown) is theme.LIGHT


def test_apply_theme_sets_palette_and_current(qapp: QApplication) -> None:
    theme.apply_theme(qapp, theme.DARK)
    assert theme.current() is theme.DARK
    assert qapp.palette().window().color().name().upper() == theme.DARK.window.upper()


@pytest.mark.parametrize(("count", "limit", "level"), [
    (0, 25, "ok"), (19, 25, "ok"), (20, 25, "warning"), (25, 25, "warning"), (0, 0, "warning"),
])
def test_meter_level(count: int, limit: int, level: str) -> None:
    assert meter_level(count, limit) == level


@pytest.mark.parametrize(("url", "label"), [
    ("sqlite:////home/a/data/journeys.db", "SQLite · journeys.db"),
    ("sqlite://", "SQLite · in memory"),
    ("postgresql+psycopg://ann:s3cret@db.example.com:5432/journeys",
     "PostgreSQL · db.example.com:5432"),
])
def test_database_label_hides_passwords(url: str, label: str) -> None:
    short, full = database_label(url)
    assert short == label
    assert "s3cret" not in full


def test_style_sheet_parses_so_widgets_are_styled(qapp: QApplication) -> None:
    """Qt drops a whole style sheet it cannot parse (one unclosed rule unstyles every
    widget of the app): a styled row must get its border radius and background."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler
    from PySide6.QtWidgets import QLabel

    messages: list[str] = []
    previous = qInstallMessageHandler(
        lambda kind, _context, text: messages.append(text)
        if kind == QtMsgType.QtWarningMsg else None)
    try:
        label = QLabel("styled")
        label.setStyleSheet(theme.style_sheet(theme.LIGHT))
        label.ensurePolished()
    finally:
        qInstallMessageHandler(previous)
    assert not [m for m in messages if "style" in m.casefold()], messages
