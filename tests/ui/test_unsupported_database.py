"""A database the app can't keep its data in is refused in a message box, not a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from app.ui import main as ui_main


def test_a_duckdb_url_is_refused_in_a_message_box_naming_the_supported_databases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical",
                        lambda _parent, _title, text: shown.append(text))
    assert ui_main.main(["--db", f"duckdb:///{tmp_path}/events.duckdb"]) == 1
    assert len(shown) == 1
    assert "duckdb" in shown[0] and "SQLite" in shown[0] and "PostgreSQL" in shown[0]
