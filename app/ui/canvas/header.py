"""The bar above the canvas: which journey is shown, what it holds, and the zoom controls.

The journey's name comes first: when the bar is narrow (a small window, wide
side panels) the buttons that have a menu item and a shortcut give way to it,
one group at a time (see :meth:`CanvasHeader.fit_title`), before the name is
shortened with "…".
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QAction, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import icons
from app.ui.canvas.cards import people_text
from app.ui.canvas.scene import JourneyScene
from app.ui.canvas.view import JourneyView
from app.ui.widgets import ElidedLabel


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _divider() -> QWidget:
    """A short vertical rule between groups of buttons."""
    divider = QWidget()
    divider.setObjectName("toolDivider")
    divider.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
    divider.setFixedSize(1, 16)
    return divider


ICON_SIZE = QSize(18, 18)
"""Every icon of the header's buttons: one size, so one stroke weight."""


class CanvasHeader(QWidget):
    """Journey name, a counts line, a "Saved" tag, edit tools and zoom − 100 % + fit."""

    def __init__(self, scene: JourneyScene, view: JourneyView,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvasHeader")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._scene = scene
        self._view = view

        self.title = ElidedLabel()
        self.title.setObjectName("canvasTitle")
        # As wide as the name (down to "…"), so the "Saved" tag sits right after it.
        self.title.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        self.subtitle = ElidedLabel()
        self.subtitle.setObjectName("canvasSubtitle")
        self.mode = QLabel("Saved")
        self.mode.setObjectName("modeTag")
        self.mode.setFixedHeight(19)  # the style sheet rounds it into a pill: radius 9
        self.mode.setToolTip("Every edit is saved to the database as you make it.")
        self._title_row = title_row = QHBoxLayout()
        title_row.setSpacing(8)
        title_row.addWidget(self.title)
        title_row.addWidget(self.mode, 0, Qt.AlignmentFlag.AlignVCenter)
        title_row.addStretch(1)
        self._titles = titles = QVBoxLayout()
        titles.setSpacing(1)
        titles.addLayout(title_row)
        titles.addWidget(self.subtitle)
        self.tools = QHBoxLayout()
        self.tools.setSpacing(4)
        self.tool_buttons: list[QToolButton] = []
        self._tool_groups: list[list[QWidget]] = [[]]
        """The window's buttons in groups (a divider starts a group), first to last."""
        self._fitted_for: tuple[bool, str] | None = None

        self.zoom_out_button = self._tool_button("zoom-out", "Zoom out", "Zoom out (Ctrl+−)",
                                                 view.zoom_out)
        self.zoom_label = QToolButton()
        self.zoom_label.setObjectName("zoomLabel")
        self.zoom_label.setToolTip("Actual size (Ctrl+1)")
        self.zoom_label.clicked.connect(view.reset_zoom)
        self.zoom_in_button = self._tool_button("zoom-in", "Zoom in", "Zoom in (Ctrl++)",
                                                view.zoom_in)
        self.fit_button = self._tool_button("fit", "Fit to view", "Fit to view (Ctrl+0)",
                                            view.fit_to_view)
        self.zoom_group = zoom = QWidget()
        zoom.setObjectName("zoomGroup")
        zoom.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._zoom_layout = zoom_layout = QHBoxLayout(zoom)
        zoom_layout.setContentsMargins(3, 3, 3, 3)
        zoom_layout.setSpacing(2)
        for widget in (self.zoom_out_button, self.zoom_label, self.zoom_in_button):
            zoom_layout.addWidget(widget)
        zoom_layout.addWidget(_divider(), 0, Qt.AlignmentFlag.AlignVCenter)
        zoom_layout.addWidget(self.fit_button)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(20, 10, 16, 10)
        layout.setSpacing(10)
        layout.addLayout(titles, 1)
        layout.addSpacing(6)
        layout.addLayout(self.tools)
        layout.addSpacing(6)
        layout.addWidget(zoom)

        scene.graphChanged.connect(self.refresh)
        scene.contentChanged.connect(self.refresh)
        scene.figuresChanged.connect(self.refresh)
        view.zoomChanged.connect(self._show_zoom)
        self.refresh()
        self._show_zoom(view.zoom)

    def add_tools(self, actions: Sequence[QAction | None]) -> list[QToolButton]:
        """Buttons for window actions (None: a gap between groups)."""
        buttons: list[QToolButton] = []
        for action in actions:
            if action is None:
                gap = QWidget()  # the rule with its room, so that it hides with its group
                gap_layout = QHBoxLayout(gap)
                gap_layout.setContentsMargins(4, 0, 4, 0)
                gap_layout.addWidget(_divider(), 0, Qt.AlignmentFlag.AlignVCenter)
                self.tools.addWidget(gap)
                self._tool_groups.append([gap])
                continue
            button = QToolButton()
            button.setObjectName("headerTool")
            button.setDefaultAction(action)
            button.setAutoRaise(True)
            button.setIconSize(ICON_SIZE)
            button.setAccessibleName(action.iconText())
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.tools.addWidget(button)
            self._tool_groups[-1].append(button)
            buttons.append(button)
        self.tool_buttons.extend(buttons)
        self.fit_title()
        return buttons

    # ------------------------------------------------------------------ room for the title

    def _yielding_groups(self) -> list[list[QWidget]]:
        """What gives way to the journey's name, first to last: the "Saved" tag (every
        edit is saved anyway), zoom − and + (Ctrl+wheel, the menu), then the window's
        buttons from the last group to the first (all in the menus, with shortcuts).
        The zoom percentage and "fit" stay: they are how one finds one's way back."""
        return [[self.mode], [self.zoom_out_button, self.zoom_in_button],
                *reversed([group for group in self._tool_groups if group])]

    def _wanted(self, widget: QWidget) -> bool:
        return widget is not self.mode or self._scene.graph is not None

    def _needed_width(self) -> int:
        """The width the bar needs to show the whole name with what is visible now."""
        for layout in (self._title_row, self._titles, self.tools, self._zoom_layout,
                       self.layout()):
            layout.invalidate()
        self.zoom_group.updateGeometry()
        return self.layout().sizeHint().width()

    def fit_title(self) -> None:
        """Show every button the width allows once the whole name is shown."""
        groups = self._yielding_groups()
        for group in groups:
            for widget in group:
                widget.setVisible(self._wanted(widget))
        for group in groups:
            if self._needed_width() <= self.width():
                break
            for widget in group:
                widget.setVisible(False)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_title()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.fit_title()

    def set_saved(self, saved: bool) -> None:
        self.mode.setText("Saved" if saved else "Saving…")
        self.mode.setProperty("saving", not saved)
        self.mode.style().unpolish(self.mode)
        self.mode.style().polish(self.mode)

    def _tool_button(self, icon: str, text: str, tip: str, slot: object) -> QToolButton:
        button = QToolButton()
        button.setObjectName("zoomButton")
        button.setIcon(icons.icon(icon, "text", disabled="text_subtle"))
        button.setIconSize(ICON_SIZE)
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(text)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    def refresh(self) -> None:
        """Re-read the shown journey's name and counts."""
        graph = self._scene.graph
        for widget in (self.mode, self.zoom_group, self.fit_button):
            widget.setEnabled(graph is not None)
        self.title.setText("No journey" if graph is None else graph.name)
        shown = (graph is not None, self.title.text())
        if shown != self._fitted_for:  # a new name needs new room; counts do not
            self._fitted_for = shown
            self.fit_title()
        if graph is None:
            self.subtitle.setText("")
            return
        outputs = sum(1 for _ in graph.outputs())
        parts = [
            _plural(len(self._scene.input_items), "input"),
            _plural(graph.milestone_count, "milestone"),
            _plural(outputs, "output"),
        ]
        population = self._scene.population
        if population is not None:
            parts.append(f"{people_text(population.size)} in this journey")
        self.subtitle.setText(" · ".join(parts))

    def _show_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{round(zoom * 100)}%")
