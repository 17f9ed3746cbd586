"""The palette: milestone and partner types to drag onto the canvas.

An entry travels in a ``QMimeData`` of its own type (JSON inside), built by
:func:`mime_for` and read back by :func:`entry_from_mime`; the scene decides on
drop what the entry means where it lands (see :mod:`app.ui.canvas.edits`).
Tests build the mime data with :func:`mime_for`, so they drag exactly what the
palette drags.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QMimeData, QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QDrag, QFont, QMouseEvent, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.core.account import AccountState
from app.core.models import PARTNER_LABELS, REMAINING_USERS
from app.ui import glyphs, icons, theme
from app.ui.bridge import AccountWatcher

MIME_TYPE = "application/x-journey-studio-palette"

EntryKind = Literal["milestone", "remaining", "output"]


@dataclass(frozen=True)
class PaletteEntry:
    kind: EntryKind
    title: str
    detail: str
    connection_id: str = ""
    partner: str = ""


def mime_for(entry: PaletteEntry) -> QMimeData:
    """The drag payload of a palette entry."""
    mime = QMimeData()
    payload = {"kind": entry.kind, "title": entry.title, "detail": entry.detail,
               "connection_id": entry.connection_id, "partner": entry.partner}
    mime.setData(MIME_TYPE, json.dumps(payload).encode("utf-8"))
    mime.setText(entry.title)
    return mime


def entry_from_mime(mime: QMimeData) -> PaletteEntry | None:
    """The palette entry a drag carries, or None for anything else (files, text)."""
    if not mime.hasFormat(MIME_TYPE):
        return None
    try:
        payload = json.loads(bytes(mime.data(MIME_TYPE).data()).decode("utf-8"))
        kind = payload["kind"]
        if kind not in ("milestone", "remaining", "output"):
            return None
        return PaletteEntry(kind, str(payload["title"]), str(payload["detail"]),
                            str(payload.get("connection_id", "")),
                            str(payload.get("partner", "")))
    except (ValueError, KeyError, TypeError):
        return None


def entries(state: AccountState) -> list[PaletteEntry]:
    """Milestone types first, then one entry per configured connection."""
    result = [
        PaletteEntry("milestone", "Milestone", "An audience with criteria"),
        PaletteEntry("remaining", REMAINING_USERS, "Who took none of the paths"),
    ]
    for connection in state.connections.values():
        label = PARTNER_LABELS.get(connection.partner, connection.partner)
        detail = label if label.casefold() != connection.name.casefold() else "Partner"
        result.append(PaletteEntry("output", connection.name, detail,
                                   connection_id=connection.id, partner=connection.partner))
    return result


class PaletteTile(QWidget):
    """One draggable entry: an icon tile, a title and a line of detail."""

    HEIGHT = 48

    def __init__(self, entry: PaletteEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = entry
        self.setObjectName("paletteTile")
        self.setFixedHeight(self.HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setToolTip(self._tip())
        self.setAccessibleName(f"{entry.title} ({entry.detail})")
        self.setMouseTracking(True)
        self._press: QPoint | None = None
        self._hovered = False

    def _tip(self) -> str:
        if self.entry.kind == "output":
            return f"Drag onto a milestone to send its audience to {self.entry.title}."
        if self.entry.kind == "remaining":
            return (f"Drag onto a milestone that already splits: adds “{REMAINING_USERS}”, "
                    "who took none of its paths.")
        return ("Drag onto a milestone to add a step after it, or onto empty canvas for a "
                "new first step.")

    def sizeHint(self) -> QSize:
        return QSize(200, self.HEIGHT)

    def enterEvent(self, event: object) -> None:
        self._hovered = True
        self.update()

    def leaveEvent(self, event: object) -> None:
        self._hovered = False
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is None or not event.buttons() & Qt.MouseButton.LeftButton:
            return
        if (event.position().toPoint() - self._press).manhattanLength() < 6:
            return
        self._press = None
        drag = QDrag(self)
        drag.setMimeData(mime_for(self.entry))
        pixmap = QPixmap(self.size() * self.devicePixelRatioF())
        pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        pixmap.fill(Qt.GlobalColor.transparent)
        self.render(pixmap)
        drag.setPixmap(pixmap)
        drag.setHotSpot(QPoint(24, self.HEIGHT // 2))
        drag.exec(Qt.DropAction.CopyAction)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._press = None

    def paintEvent(self, event: QPaintEvent) -> None:
        palette = theme.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(10, 3, -10, -3)
        painter.setPen(palette.color("accent" if self._hovered else "border"))
        painter.setBrush(palette.color("surface"))
        painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 8, 8)
        tile = QRectF(rect.left() + 8, rect.center().y() - 14, 28, 28)
        entry = self.entry
        if entry.kind == "output":
            tint = theme.brand_tint(theme.PARTNER_TINTS.get(entry.partner,
                                                            theme.OTHER_PARTNER_TINT))
            name = icons.partner_icon(entry.partner)
        else:
            tint = palette.color("accent" if entry.kind == "milestone" else "neutral_text")
            name = "milestone" if entry.kind == "milestone" else "remaining-users"
        glyphs.tile(painter, tile, tint, 7)
        icons.paint_icon(painter, tile.adjusted(5, 5, -5, -5), name, tint)
        left = tile.right() + 10
        width = rect.right() - left - 8
        painter.setFont(theme.font(12.5, QFont.Weight.DemiBold))
        painter.setPen(palette.color("text"))
        metrics = painter.fontMetrics()
        painter.drawText(QRectF(left, rect.top() + 5, width, 18),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(entry.title, Qt.TextElideMode.ElideRight,
                                            int(width)))
        painter.setFont(theme.font(11))
        painter.setPen(palette.color("text_muted"))
        metrics = painter.fontMetrics()
        painter.drawText(QRectF(left, rect.top() + 22, width, 16),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(entry.detail, Qt.TextElideMode.ElideRight,
                                            int(width)))
        painter.end()


class Palette(QWidget):
    """The palette panel: section titles and draggable tiles, rebuilt when connections
    change."""

    def __init__(self, watcher: AccountWatcher, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("palette")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._watcher = watcher
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 10)
        self._layout.setSpacing(2)
        self.tiles: list[PaletteTile] = []
        title = QLabel("Add to canvas")
        title.setObjectName("paletteTitle")
        hint = QLabel("Drag onto a milestone or empty canvas")
        hint.setObjectName("paletteHint")
        outer = QVBoxLayout()
        outer.setSpacing(0)
        outer.addWidget(title)
        outer.addWidget(hint)
        self._layout.addLayout(outer)
        self._fixed = 1
        watcher.accountChanged.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        while self._layout.count() > self._fixed:
            item = self._layout.takeAt(self._fixed)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.tiles = []
        current = ""
        for entry in entries(self._watcher.state):
            section = "Partners" if entry.kind == "output" else "Steps"
            if section != current:
                current = section
                title = QLabel(section.upper())
                title.setObjectName("paletteSection")
                self._layout.addWidget(title)
            tile = PaletteTile(entry)
            self.tiles.append(tile)
            self._layout.addWidget(tile)
        self._layout.addStretch(1)

    def tile(self, title: str) -> PaletteTile:
        """The tile of an entry by title (tests and accessibility)."""
        return next(t for t in self.tiles if t.entry.title == title)
