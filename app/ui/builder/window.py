"""The time window of an event or commerce criterion: the last N days, before, on or
after a date, or between two dates, with calendar pickers."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QWidget

from app.core.criteria import WINDOW_DAYS_MAX, TimeWindow
from app.ui.builder import fields as f


class WindowFields(QWidget):
    """``in the last [30] days`` / ``before [date]`` / ``between [date] and [date]``."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = f.combo(f.WINDOW_KINDS, "Time window")
        self.days = QSpinBox()
        self.days.setAccessibleName("Days")
        self.days.setRange(1, WINDOW_DAYS_MAX)
        self.days.setValue(30)
        self.days.setSuffix(" days")
        self.days.setMinimumWidth(96)
        self.days.lineEdit().setTextMargins(6, 0, 0, 0)
        self.start = f.date_field("Date")
        self.and_label = QLabel("and")
        self.and_label.setObjectName("rowWord")
        self.end = f.date_field("End date")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        for widget in (self.kind, self.days, self.start, self.and_label, self.end):
            row.addWidget(widget)
        self.kind.currentIndexChanged.connect(self._reshape)
        self.kind.currentIndexChanged.connect(self.changed)
        self.days.valueChanged.connect(self.changed)
        self.start.dateChanged.connect(self.changed)
        self.end.dateChanged.connect(self.changed)
        self._loaded_days: int | None = None
        self._reshape()

    def _reshape(self) -> None:
        kind = self.kind.currentData()
        self.days.setVisible(kind == "within_last_days")
        self.start.setVisible(kind != "within_last_days")
        f.set_visible(kind == "between", self.and_label, self.end)

    def time_window(self) -> TimeWindow:
        kind = self.kind.currentData()
        if kind == "within_last_days":
            return TimeWindow(kind=kind, days=self.days.value())
        end = f.day_of(self.end) if kind == "between" else None
        # A dated window ignores its days; a loaded one keeps them, so opening and
        # accepting the editor changes nothing.
        return TimeWindow(kind=kind, days=self._loaded_days, start=f.day_of(self.start),
                          end=end)

    def load(self, window: TimeWindow) -> None:
        f.select(self.kind, window.kind)
        self._loaded_days = window.days if window.kind != "within_last_days" else None
        if window.days is not None:
            self.days.setValue(window.days)
        f.show_day(self.start, window.start)
        f.show_day(self.end, window.end)
        self._reshape()
