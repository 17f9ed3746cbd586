"""Forwarding in the window: what was sent and faults on the output cards and in the
inspector, Resume, the background runs (DESIGN.md sections 1 and 6).

The window runs forwarding on its own (``window.forwarding``); tests start a run
with ``run_now`` and wait for its ``finished`` signal. The partner is the
in-process stand-in of ``tests/ui/partner.py``, told how to answer.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.commands import SetCriteria
from app.core.criteria import AudienceDefinition, Clause, EventCriterion, TimeWindow
from app.studio import Studio
from app.ui import theme
from app.ui.canvas.cards import OutputCard
from app.ui.forwarding import ForwardingSnapshot
from app.ui.main_window import MainWindow
from tests.partner import FakePartner, Fault, RetryAfter

WAIT_MS = 20_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "_artifacts"
SIGNED_UP = "ms-signed-up"
CRM = "out-trial-crm"
REFUSED = "the partner refused the credentials (HTTP 401)"


def narrower(milestone_id: str, days: int) -> SetCriteria:
    """The demo's first milestone, over fewer days: fewer members."""
    criterion = EventCriterion(
        event_type="custom_event", event_name="Sign up for trial",
        window=TimeWindow(kind="within_last_days", days=days),
    )
    return SetCriteria("jr-trial-to-paid", milestone_id,
                       AudienceDefinition(clauses=(Clause(item=criterion),)))


def forward(qtbot: QtBot, window: MainWindow) -> ForwardingSnapshot:
    """Run forwarding now and wait for its result on the GUI thread."""
    runner = window.forwarding
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=WAIT_MS)
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS) as blocker:
        runner.run_now()
    snapshot = blocker.args[0]
    assert isinstance(snapshot, ForwardingSnapshot)
    return snapshot


def card(window: MainWindow, output_id: str) -> OutputCard:
    return window.scene.output_items[output_id].card()


def select_output(qtbot: QtBot, window: MainWindow, output_id: str) -> None:
    """Click the output card (its name, away from the Active badge)."""
    item = window.scene.output_items[output_id]
    window.view.centerOn(item)
    point = window.view.mapFromScene(item.mapToScene(item.body().center().x(), 10))
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, point)
    qtbot.waitUntil(lambda: window.inspector.shown == ("output", output_id), timeout=WAIT_MS)


def test_a_run_sends_the_audience_and_the_card_says_how_many(
    qtbot: QtBot, editor: MainWindow, partner: FakePartner
) -> None:
    # The window reads how forwarding stands as it opens.
    qtbot.waitUntil(lambda: card(editor, CRM).sending_text == "Not sent yet", timeout=WAIT_MS)
    forward(qtbot, editor)
    held = len(partner.audiences[SIGNED_UP])
    assert held > 0, "the demo's first milestone has members"
    shown = card(editor, CRM)
    assert shown.sending_text == f"Sent {held:,}"
    assert f"Sent {held:,}" in " ".join(editor.scene.output_items[CRM].texts())
    select_output(qtbot, editor, CRM)
    assert editor.inspector.sending_label is not None
    assert editor.inspector.sending_label.text() == f"Sent {held:,}"


def test_a_fault_shows_on_the_card_and_in_the_inspector_and_resume_delivers(
    qtbot: QtBot, editor: MainWindow, stored_studio: Studio, partner: FakePartner
) -> None:
    partner.always = Fault(REFUSED, status=401)
    snapshot = forward(qtbot, editor)
    assert CRM in snapshot.faulted
    faulted = card(editor, CRM)
    assert faulted.status == "Faulted"
    assert f"Faulted: {REFUSED}" in editor.scene.output_items[CRM].tooltip()
    select_output(qtbot, editor, CRM)
    inspector = editor.inspector
    assert inspector.fault_label is not None and inspector.resume_button is not None
    assert inspector.fault_label.text() == f"Faulted: {REFUSED}"
    label = inspector.fault_label
    qtbot.waitUntil(label.isVisible, timeout=WAIT_MS)

    partner.always = None  # the credentials were fixed
    button = inspector.resume_button
    qtbot.waitUntil(button.isVisible, timeout=WAIT_MS)
    with qtbot.waitSignal(editor.forwarding.finished, timeout=WAIT_MS):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton,
                         pos=QPoint(8, 8))
    held = len(partner.audiences[SIGNED_UP])
    assert held > 0
    assert not card(editor, CRM).faulted
    assert card(editor, CRM).sending_text == f"Sent {held:,}"
    assert not stored_studio.output_forwarding()[CRM].faulted
    assert inspector.shown == ("output", CRM) and inspector.fault_label is None
    assert inspector.sending_label is not None
    assert inspector.sending_label.text() == f"Sent {held:,}"


def test_the_context_menu_of_a_faulted_output_offers_resume(
    qtbot: QtBot, editor: MainWindow, partner: FakePartner
) -> None:
    menu = editor.context_menu("output", CRM)
    assert menu is not None
    assert "Resume forwarding" not in [a.text() for a in menu.actions()]
    partner.always = Fault(REFUSED, status=401)
    forward(qtbot, editor)
    menu = editor.context_menu("output", CRM)
    assert menu is not None
    resume = next(a for a in menu.actions() if a.text() == "Resume forwarding")
    partner.always = None
    with qtbot.waitSignal(editor.forwarding.finished, timeout=WAIT_MS):
        resume.trigger()
    assert not card(editor, CRM).faulted
    assert partner.audiences[SIGNED_UP]


def test_the_status_bar_says_forwarding_then_what_was_sent(
    qtbot: QtBot, editor: MainWindow, partner: FakePartner
) -> None:
    status = editor.forwarding_status
    runner = editor.forwarding
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=WAIT_MS)
    seen: list[str] = []
    runner.started.connect(lambda: seen.append(status.text()))
    forward(qtbot, editor)
    assert seen == ["Forwarding…"]
    held = len(partner.audiences[SIGNED_UP])
    assert status.text().startswith(f"Sent {held:,} to CRM webhook")
    partner.always = Fault(REFUSED, status=401)
    editor.run(narrower(SIGNED_UP, 7))  # something new to send
    forward(qtbot, editor)
    assert status.text() == f"Forwarding to CRM webhook paused: {REFUSED}"
    assert status.label.property("level") == "error"


def test_an_edit_that_changes_an_audience_forwards_soon_and_a_rename_does_not(
    qtbot: QtBot, editor: MainWindow, partner: FakePartner
) -> None:
    runner = editor.forwarding
    forward(qtbot, editor)
    editor.rename_milestone(SIGNED_UP, "Trial sign-ups")
    assert not runner.is_scheduled()
    held = set(partner.audiences[SIGNED_UP])
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS):
        editor.run(narrower(SIGNED_UP, 7))
        assert runner.is_scheduled()
    assert partner.audiences[SIGNED_UP] < held, "the narrower audience reached the partner"


def test_the_interval_is_a_setting_kept_between_windows(
    qtbot: QtBot, editor: MainWindow, stored_studio: Studio
) -> None:
    choice = editor.forwarding_status.interval
    assert choice.value() == 15 and editor.forwarding.interval_ms == 15 * 60_000
    assert choice.currentText() == "15 min"
    qtbot.keyClick(choice, Qt.Key.Key_Up)  # the previous choice, as a keyboard user picks
    qtbot.keyClick(choice, Qt.Key.Key_Up)
    assert choice.currentText() == "5 min"
    assert editor.forwarding.interval_ms == 5 * 60_000
    editor.close()
    again = MainWindow(stored_studio)
    qtbot.addWidget(again)
    assert again.forwarding_status.interval.value() == 5
    assert again.forwarding.interval_ms == 5 * 60_000
    again.close()


def test_closing_the_window_during_a_run_does_not_hang(
    qtbot: QtBot, editor: MainWindow, partner: FakePartner
) -> None:
    runner = editor.forwarding
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=WAIT_MS)
    partner.sending.clear()
    partner.always = RetryAfter("the partner is busy", seconds=60)
    runner.run_now()
    qtbot.waitUntil(partner.sending.is_set, timeout=WAIT_MS)
    assert runner.is_running()
    began = time.monotonic()
    editor.close()
    assert time.monotonic() - began < 2.0
    assert runner.pool.activeThreadCount() == 0, "the run stopped, not left behind"


def activity_rows(window: MainWindow) -> list[tuple[str, ...]]:
    """The Activity panel's rows as shown (column texts), top to bottom."""
    table = window.activity.table
    return [tuple(table.topLevelItem(i).text(c) for c in range(table.columnCount()))
            for i in range(table.topLevelItemCount())]


def test_the_activity_panel_lists_deliveries_and_filters_them_by_outcome(
    qtbot: QtBot, editor: MainWindow, partner: FakePartner
) -> None:
    qtbot.keyClick(editor, Qt.Key.Key_A,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert editor.activity_dock.isVisible()
    forward(qtbot, editor)
    held = len(partner.audiences[SIGNED_UP])
    route = "Signed up for trial → CRM webhook"
    delivered = [r for r in activity_rows(editor) if r[1] == route]
    assert delivered and delivered[0][2:4] == (f"+{held:,} / −0", "Delivered")
    assert delivered[0][5] == "HTTP 200"
    assert any(r[3] == "Evaluated" and r[1] == "“Trial to paid” evaluated"
               for r in activity_rows(editor))

    partner.always = Fault(REFUSED, status=401)
    editor.run(narrower(SIGNED_UP, 7))
    forward(qtbot, editor)
    rows = activity_rows(editor)
    newest_delivery = next(r for r in rows if r[1] == route)
    assert newest_delivery[3] == "Faulted", "newest first"
    assert newest_delivery[5] == f"HTTP 401 · {REFUSED}"

    editor.activity.set_outcome_filter("faulted")
    rows = activity_rows(editor)
    assert rows and {r[3] for r in rows} == {"Faulted"}
    editor.activity.set_outcome_filter("delivered")
    assert {r[3] for r in activity_rows(editor)} == {"Delivered"}
    editor.activity.set_outcome_filter("")
    editor.activity.set_output_filter(CRM)
    assert {r[1] for r in activity_rows(editor)} == {route}
    assert len(activity_rows(editor)) == 2


def test_the_activity_panels_visibility_is_kept(
    qtbot: QtBot, editor: MainWindow, stored_studio: Studio
) -> None:
    assert not editor.activity_dock.isVisible()
    editor.activity_action.trigger()
    assert editor.activity_dock.isVisible()
    editor.close()
    again = MainWindow(stored_studio)
    qtbot.addWidget(again)
    again.show()
    assert again.activity_dock.isVisible() and again.activity_action.isChecked()
    again.activity_action.trigger()
    again.close()
    third = MainWindow(stored_studio)
    qtbot.addWidget(third)
    third.show()
    assert not third.activity_dock.isVisible()
    third.close()


@pytest.mark.screenshot
@pytest.mark.parametrize("palette", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
def test_screenshot_of_a_faulted_output_and_the_activity_panel(
    qtbot: QtBot, qapp: QApplication, editor: MainWindow, partner: FakePartner,
    palette: theme.Theme,
) -> None:
    theme.apply_theme(qapp, palette)
    editor.refresh_theme()
    editor.activity_action.trigger()
    forward(qtbot, editor)
    partner.always = Fault(REFUSED, status=401)
    editor.run(narrower(SIGNED_UP, 7))
    forward(qtbot, editor)
    select_output(qtbot, editor, CRM)
    assert card(editor, CRM).faulted
    qtbot.waitUntil(lambda: editor.inspector.resume_button is not None
                    and editor.inspector.resume_button.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not editor.evaluations.is_running()
                    and not editor.scene.calculating, timeout=WAIT_MS)
    qtbot.wait(50)
    ARTIFACTS.mkdir(exist_ok=True)
    for name, widget in (("window", editor), ("activity", editor.activity_dock)):
        path = ARTIFACTS / f"forwarding-{name}-{palette.name}.png"
        assert widget.grab().save(str(path))


def test_a_window_that_does_not_forward_shows_no_sending_state(
    qtbot: QtBot, canvas: MainWindow
) -> None:
    """The demo stand-in studio cannot forward: cards show the partner, as before."""
    assert not canvas.forwarding.enabled
    assert not canvas.forwarding_status.isVisible()
    select_output(qtbot, canvas, CRM)
    assert canvas.inspector.sending_label is None and canvas.inspector.fault_label is None
    assert card(canvas, CRM).detail == "Webhook"
