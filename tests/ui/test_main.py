"""Start-up: ``journey-studio --db FILE`` opens the window on that database."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.ui import main as ui_main


def test_parse_args() -> None:
    assert ui_main.parse_args([]).db is None
    assert ui_main.parse_args(["--db", "x.db"]).db == "x.db"


def test_build_window_opens_the_database_and_lists_the_demo_journeys(
    qtbot: QtBot, tmp_path: Path
) -> None:
    database = tmp_path / "journeys.db"
    window = ui_main.build_window(["--db", str(database)])
    qtbot.addWidget(window)
    try:
        window.show()
        qtbot.waitExposed(window)
        assert QCoreApplication.organizationName() == "Journey Studio"
        assert QCoreApplication.applicationName() == "Journey Studio"
        assert database.exists()
        model = window.panel.model
        names = {model.index(row).data() for row in range(model.rowCount())}
        assert names == {"Trial to paid", "California promo"}
        # The first row is selected and shown.
        assert window.scene.graph is not None
        assert window.scene.graph.id == model.journey_id(0)
        assert window.meter.text() == "Active audiences 3 / 25"
        assert window.database_label.text() == "SQLite · journeys.db"
        assert window.windowTitle() == "Journey Studio — Demo account"
    finally:
        window.close()
        window.studio.close()  # type: ignore[attr-defined]


def test_main_shows_the_error_and_exits_1_when_the_database_cannot_be_opened(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical",
                        lambda _parent, _title, text: shown.append(text))
    assert ui_main.main(["--db", "nosuchdriver://nowhere"]) == 1
    assert len(shown) == 1 and "nosuchdriver" in shown[0]
