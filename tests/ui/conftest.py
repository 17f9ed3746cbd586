"""Fixtures for the widget tests: the demo account in memory, isolated QSettings, themes.

The window only needs ``studio.state`` and ``studio.database.url``, so most
tests hand it a :class:`~tests.ui.demo.DemoStudio` built from ``demo_account()``
and never touch a database. Tests of edits and background work use ``stored_studio``
(a real Studio on a temporary SQLite file) and ``editor`` (the window on it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.studio import Studio
from app.ui import theme
from app.ui.main_window import MainWindow
from tests.database_templates import NewDatabase
from tests.partner import FakePartner

from .demo import DemoStudio

TRIAL = "jr-trial-to-paid"


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, qapp: QApplication) -> Iterator[Path]:
    """QSettings go to a temporary INI folder, never to the developer's real settings."""
    QCoreApplication.setOrganizationName("Journey Studio Tests")
    QCoreApplication.setApplicationName("Journey Studio Tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    yield tmp_path


def _light(qapp: QApplication) -> None:
    # Applying a style sheet re-polishes every widget alive, so only when needed.
    if theme.current() is not theme.LIGHT or not qapp.styleSheet():
        theme.apply_theme(qapp, theme.LIGHT)


@pytest.fixture(autouse=True)
def light_theme(qapp: QApplication) -> Iterator[None]:
    """Every test starts in the light theme, whatever the previous test did."""
    # Windows closed by earlier tests were only scheduled for deletion: delete them now,
    # so they do not pile up (and slow every later re-polish down).
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    _light(qapp)
    yield
    _light(qapp)


@pytest.fixture(autouse=True)
def partner(monkeypatch: pytest.MonkeyPatch) -> FakePartner:
    """Every partner is this stand-in: a window forwards in the background on its own, and
    a test never reaches the demo's webhook address or a real service."""
    from app.outputs import dispatcher

    stand_in = FakePartner()
    monkeypatch.setattr(dispatcher, "connector", lambda kind: stand_in)
    return stand_in


@pytest.fixture
def studio() -> DemoStudio:
    return DemoStudio()


@pytest.fixture
def window(qtbot: QtBot, studio: DemoStudio) -> MainWindow:
    """The main window on the demo account, shown at a fixed size."""
    main_window = MainWindow(studio)
    qtbot.addWidget(main_window)
    main_window.resize(1320, 820)
    main_window.show()
    qtbot.waitExposed(main_window)
    return main_window


@pytest.fixture
def canvas(window: MainWindow) -> MainWindow:
    """The demo window showing "Trial to paid" at 100 %, centred."""
    assert window.panel.select(TRIAL)
    window.view.reset_zoom()
    window.view.centerOn(window.scene.journey_rect().center())
    return window


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "journeys.db"


@pytest.fixture
def stored_studio(db_path: Path, new_database: NewDatabase) -> Iterator[Studio]:
    """A real Studio on a new SQLite file (``db_path``): the demo account with generated
    customers."""
    url = new_database("sqlite", "demo")
    assert url.endswith(str(db_path))
    opened = Studio.open(url)
    yield opened
    opened.close()


@pytest.fixture
def editor(qtbot: QtBot, stored_studio: Studio) -> Iterator[MainWindow]:
    """The main window on ``stored_studio``, showing "Trial to paid" at 100%, centred."""
    window = MainWindow(stored_studio)
    qtbot.addWidget(window)
    window.resize(1500, 900)
    window.show()
    qtbot.waitExposed(window)
    assert window.panel.select(TRIAL)
    window.view.reset_zoom()
    window.view.centerOn(window.scene.journey_rect().center())
    yield window
    window.close()


def pytest_configure(config: pytest.Config) -> None:
    # Registered here (not in pyproject.toml) because only tests/ui uses it; --strict-markers
    # needs every marker declared.
    config.addinivalue_line(
        "markers",
        "screenshot: writes PNGs of the window to tests/_artifacts for a human to look at "
        "(runs in the normal suite)",
    )
