"""The partner chooser (a milestone's output handle) when the account is at its limit.

Opened the way a marketer does (click the milestone, click its output handle) on
the demo account with the active-audience limit lowered to what is active now,
so every partner is refused for the same reason.
"""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QAbstractButton, QDialog, QDialogButtonBox, QLabel, QWidget
from pytestqt.qtbot import QtBot

from app.core.models import Output
from app.ui.dialogs import ConnectionDialog
from app.ui.main_window import MainWindow

from .conftest import TRIAL
from .test_editing import body_point, click, milestone


def open_chooser(window: MainWindow, milestone_id: str) -> ConnectionDialog:
    item = milestone(window, milestone_id)
    click(window, body_point(item))
    click(window, item.handles["output"].scenePos())
    dialog = window.active_dialog
    assert isinstance(dialog, ConnectionDialog)
    return dialog


def shown_texts(dialog: QDialog) -> list[str]:
    """Every text the dialog shows: its labels and its buttons (not tooltips)."""
    texts = [w.text() for w in dialog.findChildren(QLabel) if w.isVisible()]
    texts += [w.text() for w in dialog.findChildren(QAbstractButton) if w.isVisible()]
    return texts


def visible_leaves(dialog: QDialog) -> list[QWidget]:
    """The visible widgets that draw something of their own (labels, buttons)."""
    return [w for w in dialog.findChildren(QWidget)
            if w.isVisible() and isinstance(w, QLabel | QAbstractButton)]


def in_dialog(dialog: QDialog, widget: QWidget) -> QRect:
    return QRect(widget.mapTo(dialog, widget.rect().topLeft()), widget.size())


def test_at_the_limit_the_chooser_says_why_once_and_shows_every_label_whole(
    qtbot: QtBot, canvas: MainWindow
) -> None:
    state = canvas.studio.state
    state.set_limit(state.active_audience_count())
    dialog = open_chooser(canvas, "ms-converted")
    qtbot.waitExposed(dialog)
    graph = state.journey(TRIAL)
    problem = graph.can_add_output(Output(milestone_id="ms-converted",
                                          connection_id="cn-braze"))
    assert problem is not None and "against the account limit of 3" in problem
    # The reason is the same for every partner: stated once, not under each of them.
    assert sum(text.count(problem) for text in shown_texts(dialog)) == 1
    assert [name for name, button in dialog.choices.items() if button.isEnabled()] == []
    assert not dialog.ok_button.isEnabled()
    assert graph.outputs_of("ms-converted") == []
    leaves = visible_leaves(dialog)
    for widget in leaves:
        box = in_dialog(dialog, widget)
        assert dialog.rect().contains(box), f"{widget.objectName() or widget} is cut off"
        if isinstance(widget, QLabel) and widget.text() and not widget.pixmap():
            metrics = QFontMetrics(widget.font())
            if widget.wordWrap():
                assert widget.height() >= widget.heightForWidth(widget.width()), widget.text()
            else:
                assert widget.contentsRect().width() >= metrics.horizontalAdvance(
                    widget.text()), widget.text()
        elif isinstance(widget, QAbstractButton):
            assert widget.width() >= widget.sizeHint().width(), widget.text()
            assert widget.height() >= widget.sizeHint().height(), widget.text()
    for index, first in enumerate(leaves):
        for second in leaves[index + 1:]:
            if first.isAncestorOf(second) or second.isAncestorOf(first):
                continue
            assert not in_dialog(dialog, first).intersects(in_dialog(dialog, second)), (
                f"“{getattr(first, 'text', str)()}” overlaps “{getattr(second, 'text', str)()}”")
    cancel = dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    for button in (dialog.ok_button, cancel):
        assert dialog.rect().contains(in_dialog(dialog, button))
    # Sized to its contents: no tall empty band above the buttons either.
    assert dialog.height() <= dialog.sizeHint().height() + 40


def test_a_partner_already_used_says_so_on_its_own_row(qtbot: QtBot,
                                                        canvas: MainWindow) -> None:
    dialog = open_chooser(canvas, "ms-signed-up")
    qtbot.waitExposed(dialog)
    assert not dialog.choices["cn-crm"].isEnabled()
    texts = shown_texts(dialog)
    assert sum("already sent to CRM webhook" in text for text in texts) == 1
    assert dialog.ok_button.isEnabled()

