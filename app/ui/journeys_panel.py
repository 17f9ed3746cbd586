"""The journeys panel: every journey of the account, with a one-line summary each.

A list model over :class:`~app.core.account.AccountState` (rows in the
account's order) that refreshes from the :class:`~app.ui.bridge.AccountWatcher`
signals, a delegate that paints two-line rows, and the panel widget that
reports the selected journey's id. Rows carry journey ids, never records, so
they cannot go stale: the text is read from the state when painted.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    QSize,
    Qt,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import QAction, QFont, QFontMetricsF, QMouseEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.account import AccountState
from app.core.graph import JourneyGraph
from app.ui import glyphs, icons, theme
from app.ui.bridge import AccountWatcher

JOURNEY_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SUMMARY_ROLE = Qt.ItemDataRole.UserRole + 2
ACTIVE_COUNT_ROLE = Qt.ItemDataRole.UserRole + 3

ROW_HEIGHT = 58
MIN_JOURNEY_ROWS = 3
"""The journeys list never shrinks below this many rows: docks and the palette give way."""

ModelIndex = QModelIndex | QPersistentModelIndex


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def journey_summary(graph: JourneyGraph) -> str:
    """The secondary line of a row, e.g. ``5 milestones · 1 active``."""
    return f"{_plural(graph.milestone_count, 'milestone')} · " \
           f"{len(graph.active_milestone_ids())} active"


class JourneyListModel(QAbstractListModel):
    """One row per journey of the account, in the account's order."""

    def __init__(self, watcher: AccountWatcher, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._watcher = watcher
        self._ids: list[str] = [g.id for g in self._state.journeys()]
        watcher.journeysChanged.connect(self.reload)
        watcher.journeyChanged.connect(self._journey_changed)

    @property
    def _state(self) -> AccountState:
        return self._watcher.state

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        journey_id = self._ids[index.row()]
        if not self._state.has_journey(journey_id):
            return None
        graph = self._state.journey(journey_id)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return graph.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{graph.name}\n{journey_summary(graph)}"
        if role == JOURNEY_ID_ROLE:
            return journey_id
        if role == SUMMARY_ROLE:
            return journey_summary(graph)
        if role == ACTIVE_COUNT_ROLE:
            return len(graph.active_milestone_ids())
        return None

    def row_of(self, journey_id: str) -> int:
        """The row of a journey, or -1."""
        try:
            return self._ids.index(journey_id)
        except ValueError:
            return -1

    def journey_id(self, row: int) -> str | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def reload(self) -> None:
        """Rebuild the rows after journeys were added or removed."""
        self.beginResetModel()
        self._ids = [g.id for g in self._state.journeys()]
        self.endResetModel()

    def _journey_changed(self, journey_id: str) -> None:
        row = self.row_of(journey_id)
        if row >= 0:
            index = self.index(row)
            self.dataChanged.emit(index, index)


class JourneyDelegate(QStyledItemDelegate):
    """Paints a row: journey mark, name, summary line and a dot when anything is active."""

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        return QSize(max(option.rect.width(), 200), ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        palette = theme.current()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        row = QRectF(option.rect).adjusted(8, 2, -8, -2)
        if selected or hovered:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color("accent_soft" if selected else "panel_hover"))
            painter.drawRoundedRect(row, 8, 8)
        tile = QRectF(row.left() + 10, row.center().y() - 16, 32, 32)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.color("accent") if selected else palette.color("neutral_soft"))
        painter.drawRoundedRect(tile, 8, 8)
        icons.paint_icon(painter, tile.adjusted(7, 7, -7, -7), "journey",
                         palette.color("accent_text" if selected else "text_muted"))
        active = int(index.data(ACTIVE_COUNT_ROLE) or 0)
        right = row.right() - 12
        if active:
            glyphs.dot(painter, QPointF(right - 4, row.center().y()), 4, palette.color("success"))
            right -= 16
        left = tile.right() + 12
        name_font = theme.font(13.5, QFont.Weight.DemiBold)
        painter.setFont(name_font)
        painter.setPen(palette.color("text"))
        name = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        width = right - left
        painter.drawText(QRectF(left, row.top() + 9, width, 20),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         QFontMetricsF(name_font).elidedText(name, Qt.TextElideMode.ElideRight,
                                                             width))
        detail_font = theme.font(12)
        painter.setFont(detail_font)
        painter.setPen(palette.color("text_muted"))
        detail = str(index.data(SUMMARY_ROLE) or "")
        painter.drawText(QRectF(left, row.top() + 29, width, 18),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         QFontMetricsF(detail_font).elidedText(detail,
                                                               Qt.TextElideMode.ElideRight,
                                                               width))
        painter.restore()


class AccountFooter(QWidget):
    """The bottom of the panel: which account this is and what it is made of. A click
    opens Account settings, where workspaces, inputs and connections are kept."""

    clicked = Signal()

    def __init__(self, watcher: AccountWatcher, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accountFooter")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Account settings: the limit, workspaces and inputs, connections")
        self._watcher = watcher
        self.avatar = QLabel()
        self.avatar.setObjectName("accountAvatar")
        self.avatar.setFixedSize(30, 30)
        self.avatar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name = QLabel()
        self.name.setObjectName("accountName")
        self.detail = QLabel()
        self.detail.setObjectName("accountDetail")
        texts = QVBoxLayout()
        texts.setSpacing(0)
        texts.addWidget(self.name)
        texts.addWidget(self.detail)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        layout.addWidget(self.avatar)
        layout.addLayout(texts, 1)
        watcher.accountChanged.connect(self.refresh)
        self.refresh()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if (event.button() == Qt.MouseButton.LeftButton
                and self.rect().contains(event.position().toPoint())):
            self.clicked.emit()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def refresh(self) -> None:
        state = self._watcher.state
        name = state.account.name
        self.avatar.setText(name[:1].upper())
        self.name.setText(name)
        self.detail.setText(
            f"{_plural(len(state.workspaces), 'workspace')} · "
            f"{_plural(len(state.connections), 'connection')}"
        )


class JourneysPanel(QWidget):
    """The left panel: a header with the journey count and the list of journeys."""

    journeySelected = Signal(str)
    """The person selected a journey (its id); an empty string when none is selected."""
    newRequested = Signal()
    renameRequested = Signal(str)
    duplicateRequested = Signal(str)
    deleteRequested = Signal(str)

    def __init__(self, watcher: AccountWatcher, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("journeysPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.model = JourneyListModel(watcher, self)
        self.title = QLabel("Journeys")
        self.title.setObjectName("panelTitle")
        self.count = QLabel()
        self.count.setObjectName("panelCount")
        self.count.setFixedHeight(19)  # the style sheet rounds it into a pill: radius 9
        self.count.setMinimumWidth(19)
        self.count.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.new_button = QToolButton()
        self.new_button.setObjectName("newJourneyButton")
        self.new_button.setIcon(icons.icon("plus", "accent_text"))
        self.new_button.setIconSize(QSize(16, 16))
        self.new_button.setToolTip("New journey (Ctrl+N)")
        self.new_button.setAccessibleName("New journey")
        self.new_button.clicked.connect(self.newRequested)
        self.more_button = QToolButton()
        self.more_button.setObjectName("journeyMenuButton")
        self.more_button.setIcon(icons.icon("more", "text_muted"))
        self.more_button.setIconSize(QSize(18, 18))
        self.more_button.setAccessibleName("Journey actions")
        self.more_button.setToolTip("Rename, duplicate or delete the selected journey")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.journey_menu = QMenu(self)
        self.rename_action = QAction("Rename…", self)
        self.duplicate_action = QAction("Duplicate", self)
        self.delete_action = QAction("Delete", self)
        self.rename_action.triggered.connect(lambda: self._emit_for(self.renameRequested))
        self.duplicate_action.triggered.connect(
            lambda: self._emit_for(self.duplicateRequested))
        self.delete_action.triggered.connect(lambda: self._emit_for(self.deleteRequested))
        self.journey_menu.addAction(self.rename_action)
        self.journey_menu.addAction(self.duplicate_action)
        self.journey_menu.addSeparator()
        self.journey_menu.addAction(self.delete_action)
        self.more_button.setMenu(self.journey_menu)
        header = QHBoxLayout()
        header.setContentsMargins(18, 14, 12, 8)
        header.setSpacing(6)
        header.addWidget(self.title)
        header.addWidget(self.count)
        header.addStretch(1)
        header.addWidget(self.new_button)
        header.addWidget(self.more_button)

        self.list = QListView()
        self.list.setObjectName("journeyList")
        self.list.setModel(self.model)
        self.list.setItemDelegate(JourneyDelegate(self.list))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setUniformItemSizes(True)
        self.list.setMouseTracking(True)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setAccessibleName("Journeys")
        self.list.setMinimumHeight(MIN_JOURNEY_ROWS * ROW_HEIGHT + 2 * self.list.frameWidth())
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(
            lambda at: self.journey_menu.popup(self.list.viewport().mapToGlobal(at))
            if self.list.indexAt(at).isValid() else None)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.list, 1)
        self.footer = AccountFooter(watcher)
        layout.addWidget(self.footer)

        self.list.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self._kept_id: str | None = None
        self.model.modelAboutToBeReset.connect(self._before_model_reset)
        self.model.modelReset.connect(self._on_model_reset)
        self._update_count()

    def _emit_for(self, signal: SignalInstance) -> None:
        journey_id = self.current_journey_id()
        if journey_id:
            signal.emit(journey_id)

    def add_below(self, widget: QWidget) -> None:
        """Put ``widget`` (the palette) between the list and the account footer."""
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(layout.count() - 1, widget)

    def current_journey_id(self) -> str | None:
        index = self.list.currentIndex()
        return self.model.journey_id(index.row()) if index.isValid() else None

    def select(self, journey_id: str) -> bool:
        """Select a journey by id (as if clicked); False if it is not listed."""
        row = self.model.row_of(journey_id)
        if row < 0:
            return False
        self.list.selectionModel().setCurrentIndex(
            self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        return True

    def select_first(self) -> None:
        first = self.model.journey_id(0)
        if first is not None:
            self.select(first)

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        journey_id = self.model.journey_id(current.row()) if current.isValid() else None
        self.journeySelected.emit(journey_id or "")

    def _before_model_reset(self) -> None:
        self._kept_id = self.current_journey_id()

    def _on_model_reset(self) -> None:
        """Keep the selected journey selected across a reload; else select the first."""
        self._update_count()
        kept, self._kept_id = self._kept_id, None
        if kept is not None and self.select(kept):
            return
        if self.model.rowCount():
            self.select_first()
        else:
            self.journeySelected.emit("")

    def _update_count(self) -> None:
        self.count.setText(str(self.model.rowCount()))
        has = self.model.rowCount() > 0
        for action in (self.rename_action, self.duplicate_action, self.delete_action):
            action.setEnabled(has)
