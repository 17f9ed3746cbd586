"""Status-bar widgets: the account's active-audience meter and the database label.

The meter is how a marketer sees the account-wide limit of DESIGN.md section 1
coming before an edit is refused: it turns to the warning colour from 80 %
of the limit on. It listens to the :class:`~app.ui.bridge.AccountWatcher`, so
any status change in any journey updates it.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QWidget

from app.core.account import AccountState
from app.ui.bridge import AccountWatcher

WARNING_RATIO = 0.8


def meter_level(count: int, limit: int) -> str:
    """``"ok"`` or ``"warning"`` (at or above 80 % of the limit; a zero limit warns)."""
    if limit <= 0:
        return "warning"
    return "warning" if count >= WARNING_RATIO * limit else "ok"


class AudienceMeter(QWidget):
    """ "Active audiences 3 / 25" with a slim bar; styled by its ``level`` property."""

    def __init__(self, watcher: AccountWatcher, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("audienceMeter")
        self._watcher = watcher
        self.caption = QLabel("Active audiences")
        self.caption.setObjectName("meterCaption")
        self.value = QLabel()
        self.value.setObjectName("meterValue")
        self.bar = QProgressBar()
        self.bar.setObjectName("meterBar")
        self.bar.setTextVisible(False)
        self.bar.setFixedSize(96, 6)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 14, 0)
        layout.setSpacing(8)
        layout.addWidget(self.caption)
        layout.addWidget(self.bar)
        layout.addWidget(self.value)
        watcher.statusChanged.connect(self.refresh)
        self.refresh()

    @property
    def level(self) -> str:
        return str(self.property("level"))

    def text(self) -> str:
        """What the meter says, e.g. ``Active audiences 3 / 25``."""
        return f"{self.caption.text()} {self.value.text()}"

    def refresh(self) -> None:
        """Re-read the count and the limit from the account."""
        state: AccountState = self._watcher.state
        count = state.active_audience_count()
        limit = state.limit
        self.value.setText(f"{count} / {limit}")
        self.bar.setRange(0, max(limit, 1))
        self.bar.setValue(min(count, max(limit, 1)))
        level = meter_level(count, limit)
        self.setToolTip(
            f"{count} of the account's {limit} active audiences are in use. An audience is "
            f"active while it, or a milestone after it, sends to an active output."
        )
        if self.property("level") != level:
            self.setProperty("level", level)
            # Dynamic-property selectors in the style sheet apply only after a re-polish.
            for widget in (self, self.caption, self.value, self.bar):
                widget.style().unpolish(widget)
                widget.style().polish(widget)


_PASSWORD = re.compile(r"(://[^:/@]+:)[^@]+@")


def database_label(url: str) -> tuple[str, str]:
    """(short label, full tooltip) for a database URL, without any password.

    A SQLite file shows as its file name; a server URL shows as driver and host.
    """
    safe = _PASSWORD.sub(r"\1***@", url)
    if safe.startswith("sqlite"):
        path = safe.split(":///", 1)[1] if ":///" in safe else ""
        if not path or path == ":memory:":
            return "SQLite · in memory", safe
        return f"SQLite · {Path(path).name}", safe
    scheme, _, rest = safe.partition("://")
    host = rest.rsplit("@", 1)[-1].split("/", 1)[0]
    engine = scheme.split("+", 1)[0]
    engine = {"postgresql": "PostgreSQL", "mysql": "MySQL", "duckdb": "DuckDB"}.get(
        engine, engine
    )
    return (f"{engine} · {host}" if host else engine), safe


class DatabaseLabel(QLabel):
    """Where this window's data lives: a short label, the full URL as tooltip."""

    def __init__(self, url: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("databaseLabel")
        short, full = database_label(url)
        self.setText(short)
        self.setToolTip(full)
