"""The style sheet is whole: Qt parses all of it, so its last rules apply too."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QFrame, QLabel
from pytestqt.qtbot import QtBot

from app.ui import theme


@pytest.mark.parametrize("palette", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
def test_qt_parses_the_whole_style_sheet(qapp: QApplication, qtbot: QtBot, qtlog: Any,
                                         palette: theme.Theme) -> None:
    """A rule left open (a missing "}") makes Qt drop the rules after it, silently but
    for one warning: the sections after it then have no effect."""
    theme.apply_theme(qapp, palette)
    label = QLabel("polished")
    qtbot.addWidget(label)
    label.show()
    QCoreApplication.processEvents()
    warnings = [r.message for r in qtlog.records]
    assert not [m for m in warnings if "Could not parse" in m]
    # A rule after the sections where that happened applies: the settings' form rule.
    rule = QFrame()
    qtbot.addWidget(rule)
    rule.setObjectName("formRule")
    rule.resize(120, 1)
    rule.show()
    image = rule.grab().toImage()
    assert image.pixelColor(60, 0).name().lower() == palette.border.lower()
