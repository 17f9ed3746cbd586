"""Status-bar widgets: the account's active-audience meter, the database label and when
the shown journey was evaluated.

The meter is how a marketer sees the account-wide limit of DESIGN.md section 1
coming before an edit is refused: it turns to the warning colour from 80 %
of the limit on. It listens to the :class:`~app.ui.bridge.AccountWatcher`, so
any status change in any journey updates it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QWidget,
)

from app.core.account import AccountState
from app.ui.bridge import AccountWatcher

WARNING_RATIO = 0.8


def meter_level(count: int, limit: int) -> str:
    """``"ok"`` or ``"warning"`` (at or above 80 % of the limit; a zero limit warns)."""
    if limit <= 0:
        return "warning"
    return "warning" if count >= WARNING_RATIO * limit else "ok"


class AudienceMeter(QWidget):
    """ "Active audiences 3 / 25" with a slim bar; styled by its ``level`` property.

    A click opens Account settings on the Limit page: the meter is where a marketer
    notices the limit coming, so it is where they go to change it."""

    clicked = Signal()

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
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAccessibleName("Active audiences: open the limit in Account settings")
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

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """A left click (released over the meter) asks for the limit."""
        if (event.button() == Qt.MouseButton.LeftButton
                and self.rect().contains(event.position().toPoint())):
            self.clicked.emit()
            event.accept()
            return
        super().mouseReleaseEvent(event)

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
            f"active while it, or a milestone after it, sends to an active output.\n"
            f"Click to see them and change the limit in Account settings."
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


def local_time(moment: datetime) -> datetime:
    """A stored moment (UTC; naive means UTC) in this machine's time zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone()


def evaluated_text(moment: datetime, now: datetime | None = None) -> str:
    """``Evaluated 14:32`` today, ``Evaluated 28 Nov, 14:32`` on another day of this
    year, ``Evaluated 28 Nov 2025, 14:32`` before: local time, as the clock on the wall."""
    local = local_time(moment)
    today = local_time(now or datetime.now(UTC)).date()
    clock = f"{local:%H:%M}"
    if local.date() == today:
        return f"Evaluated {clock}"
    day = f"{local.day} {local:%b}"
    if local.year != today.year:
        day = f"{day} {local.year}"
    return f"Evaluated {day}, {clock}"


class EvaluatedLabel(QLabel):
    """When the shown journey's audiences were last calculated, in local time.

    At local midnight "Evaluated 14:32" would start to mean the wrong day, so the label
    says it again then (with the date).
    """

    TIP = "When the shown journey's audiences were last calculated"

    def __init__(self, parent: QWidget | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("databaseLabel")  # the same quiet style
        self.setToolTip(self.TIP)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._moment: datetime | None = None
        self.midnight = QTimer(self)
        """Fires at the next local midnight while a time is shown."""
        self.midnight.setSingleShot(True)
        self.midnight.timeout.connect(self._refresh)

    def show_evaluated(self, moment: datetime) -> None:
        """Show ``moment`` (stored UTC); the tooltip has the full date and seconds."""
        self._moment = moment
        local = local_time(moment)
        self.setToolTip(f"{self.TIP}: {local.day} {local:%B %Y, %H:%M:%S} ({local:%Z})")
        self._refresh()

    def _refresh(self) -> None:
        if self._moment is None:
            return
        now = self._clock()
        self.setText(evaluated_text(self._moment, now))
        local_now = local_time(now)
        # The next midnight on the local calendar (a few seconds after, to be past it).
        tomorrow = (local_now + timedelta(days=1)).replace(hour=0, minute=0, second=2,
                                                           microsecond=0)
        self.midnight.start(max(1000, int((tomorrow - local_now).total_seconds() * 1000)))


FORWARDING = "Forwarding…"


INTERVAL_CHOICES = (5, 10, 15, 30, 60, 120, 240, 720, 1440)
"""Minutes offered between background runs: presets, as a scheduler's settings offer."""


def minutes_label(minutes: int) -> str:
    if minutes % 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} hour" if hours == 1 else f"{hours} hours"


class IntervalChoice(QComboBox):
    """How often the window runs forwarding: one of :data:`INTERVAL_CHOICES` (a value
    stored by an older version that is not among them is offered too)."""

    minutesChanged = Signal(int)

    def __init__(self, minutes: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for choice in sorted({*INTERVAL_CHOICES, minutes}):
            self.addItem(minutes_label(choice), choice)
        self.setCurrentIndex(self.findData(minutes))
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.currentIndexChanged.connect(lambda _i: self.minutesChanged.emit(self.value()))

    def value(self) -> int:
        return int(self.currentData())


class ForwardingStatus(QWidget):
    """How sending to partners goes: "Forwarding…" while a run is on, then what it did
    ("Sent 295 to CRM webhook", "Forwarding to Braze paused: …"), and how often it runs
    (a choice of intervals)."""

    intervalChanged = Signal(int)

    def __init__(self, minutes: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("forwardingStatus")
        self.label = QLabel()
        self.label.setObjectName("forwardingLabel")
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.label.setMinimumWidth(80)
        self.interval = IntervalChoice(minutes)
        self.interval.setObjectName("forwardingInterval")
        self.interval.setAccessibleName("Send to partners every")
        self.interval.setToolTip(
            "While this window is open, journeys with an active output are evaluated and "
            "sent to their partners this often, and soon after each edit.")
        self.interval.minutesChanged.connect(self.intervalChanged)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 0, 6, 0)
        layout.setSpacing(8)
        caption = QLabel("Send to partners every")
        caption.setObjectName("meterCaption")
        caption.setBuddy(self.interval)
        layout.addWidget(self.label, 1)
        layout.addSpacing(8)
        layout.addWidget(caption)
        layout.addWidget(self.interval)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def text(self) -> str:
        return self.label.text()

    def show_running(self) -> None:
        self._show(FORWARDING, "")

    def show_result(self, text: str, level: str = "") -> None:
        """``level``: "" (quiet) or "error" (a fault, in the danger colour)."""
        self._show(text, level)

    def _show(self, text: str, level: str) -> None:
        self.label.setText(text)
        self.label.setToolTip(text)
        if self.label.property("level") != level:
            self.label.setProperty("level", level)
            self.label.style().unpolish(self.label)
            self.label.style().polish(self.label)
