"""One's own account from an empty database to sizes on the canvas, all through the app.

A new user starts the app on a new database, chooses "Start empty", sets up a
workspace and an input, creates a journey reading it, imports an mParticle file
from File ▸ Import events…, and adds a milestone in the audience builder. The
cards show sizes without any refresh: the import and the edit evaluate the
journey on their own. Every step is a click or typing (the system's file chooser
is the one stand-in). What the cards show is compared with what a second Studio
reads from the same file, and with what the imported file says by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog
from pytestqt.qtbot import QtBot

from app.core.criteria import AudienceDefinition, Clause, EventCriterion, TimeWindow
from app.engine.evaluation import stored_members
from app.ingest.demo_data import IOS
from app.studio import Studio
from app.ui.builder import CriterionRow, EventEditor
from app.ui.canvas import cards
from app.ui.dialogs import MilestoneDialog, NewJourneyDialog
from app.ui.first_start import SetupAssistant
from app.ui.import_dialog import ImportDialog
from app.ui.main_window import MainWindow

from .test_editing import click as click_canvas
from .test_first_start import click, welcome_on
from .test_import_gui import WAIT_MS, choose_in, demo_file, finish

ARTIFACTS = Path(__file__).resolve().parent.parent / "_artifacts"
EVENT = "Watch content"


@pytest.fixture
def chosen(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files the system's file chooser answers with (the test fills the list)."""
    answer: list[Path] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        staticmethod(lambda *_a, **_k: ([str(p) for p in answer], "")))
    return answer


@pytest.fixture
def windows() -> Iterator[list[MainWindow]]:
    """Windows the start-up opened: closed, with their studio, after the test."""
    opened: list[MainWindow] = []
    yield opened
    for window in opened:
        window.close()
        window.studio.close()  # type: ignore[attr-defined]


def users_with(batches: list[dict[str, Any]], event_name: str | None = None) -> set[int]:
    """The users of the file (with an event called ``event_name``), read from the file."""
    return {b["mpid"] for b in batches
            if event_name is None
            or any(e["data"].get("event_name") == event_name for e in b["events"])}


def activate(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)


def test_from_an_empty_start_to_imported_sizes_on_the_cards_without_a_refresh(
    qtbot: QtBot, tmp_path: Path, windows: list[MainWindow], chosen: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "journeys.db"

    # Start empty: a workspace "Acme" with one iOS input called "App".
    welcome = welcome_on(qtbot, path)
    click(qtbot, welcome.empty_button)
    window = welcome.window_opened
    assert isinstance(window, MainWindow)
    windows.append(window)
    window.resize(1400, 860)
    qtbot.waitExposed(window)
    assistant = welcome.assistant
    assert isinstance(assistant, SetupAssistant)
    qtbot.waitExposed(assistant)
    qtbot.keyClicks(assistant.workspace_name, "Acme")
    click(qtbot, assistant.next_button)
    row = assistant.rows[0]
    assert row.platform.currentText() == "iOS"
    row.name.selectAll()
    qtbot.keyClicks(row.name, "App")
    click(qtbot, assistant.next_button)

    # The New journey dialog follows, reading the new input.
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, NewJourneyDialog))
    dialog = window.active_dialog
    assert isinstance(dialog, NewJourneyDialog)
    state = window.studio.state
    (app_input,) = state.inputs_of(state.workspace_by_name("Acme").id)
    assert (app_input.name, app_input.platform) == ("App", "iOS")
    assert dialog.input_ids() == (app_input.id,)
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.keyClicks(dialog.name, "First journey")
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: window.scene.graph is not None)
    graph = window.scene.graph
    assert graph is not None and graph.name == "First journey"
    assert list(window.scene.input_items) == [app_input.id]
    assert window.scene.input_card(app_input.id).texts() == ("App", "Acme")
    assert window.scene.placeholder_item is not None  # no milestone yet
    # Its first evaluation: nobody yet.
    qtbot.waitUntil(lambda: not window.evaluations.is_calculating(graph.id), timeout=WAIT_MS)
    assert window.header.subtitle.text().endswith(" · 0 people in this journey")

    # From here on nothing asks for the sizes: no Retry, no refresh.
    refreshed: list[bool] = []
    monkeypatch.setattr(window, "reevaluate", lambda: refreshed.append(True))

    # File ▸ Import events… by its shortcut, a demo file of the streaming app's iOS users.
    events_file = tmp_path / "app-events.jsonl"
    batches = demo_file(events_file, 300, seed=23, input_id=IOS)
    everyone, watched = users_with(batches), users_with(batches, EVENT)
    assert len(everyone) > 50 and 0 < len(watched) < len(everyone)
    activate(qtbot, window)
    QTest.keyClick(window.view, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    importing = window.imports.dialog
    assert isinstance(importing, ImportDialog)
    qtbot.waitExposed(importing)
    chosen[:] = [events_file]
    click(qtbot, importing.choose_button)
    choose_in(qtbot, importing.input_box, app_input.id)
    assert importing.format() == "mparticle"
    assert importing.input_hint.text() == ("Read by “First journey”: its audiences are "
                                           "recalculated after the import.")
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS,
                          check_params_cb=lambda r: r.journey_id == graph.id):
        click(qtbot, importing.import_button)
        progress = window.imports.progress
        assert progress is not None
        report = finish(qtbot, window)
    assert not report.cancelled and report.records_rejected == 0
    assert report.records_imported == len(batches)
    assert progress.heading.text() == "Import finished"
    click(qtbot, progress.close_button)
    assert window.imports.progress is None

    # The journey's population is the file's users, shown without a refresh.
    population = f"{cards.people_text(len(everyone))} in this journey"
    assert window.header.subtitle.text().endswith(f" · {population}")
    assert window.inspector.size_label is not None
    assert window.inspector.size_label.text() == population

    # The first milestone, from the placeholder card: a "Watch content" event, typed.
    placeholder = window.scene.placeholder_item
    assert placeholder is not None
    window.view.centerOn(placeholder.scene_body().center())
    click_canvas(window, placeholder.scene_body().center())
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, MilestoneDialog))
    editor = window.active_dialog
    assert isinstance(editor, MilestoneDialog)
    qtbot.waitExposed(editor)
    editor.activateWindow()
    qtbot.keyClicks(editor.name, "Watched")
    qtbot.mouseClick(editor.criteria.add_button, Qt.MouseButton.LeftButton)
    criterion = editor.criteria.rows[0]
    assert isinstance(criterion, CriterionRow)
    event = criterion.editors["event"]
    assert isinstance(event, EventEditor)
    qtbot.keyClicks(event.event_name, EVENT)
    # Within the last 90 days (the file's two months), typed over the 30 offered.
    assert event.when.kind.currentData() == "within_last_days"
    event.when.days.setFocus(Qt.FocusReason.TabFocusReason)
    QTest.keyClick(event.when.days, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(event.when.days, "90")
    assert event.when.days.value() == 90
    assert criterion.error.isHidden(), criterion.error.text()
    # The imported events are in the catalogue: no "never seen" hint on the row.
    editor.criteria.validate()
    assert criterion.hint.isHidden(), criterion.hint.text()
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS,
                          check_params_cb=lambda r: r.journey_id == graph.id):
        click(qtbot, editor.ok_button)
    (milestone,) = graph.milestones_in_order()
    assert milestone.name == "Watched"
    assert milestone.definition == AudienceDefinition(clauses=(Clause(item=EventCriterion(
        event_name=EVENT, window=TimeWindow(kind="within_last_days", days=90))),))

    # The card shows the engine's size, equal to the store's and to the file's own count.
    card = window.scene.milestone_items[milestone.id].card()
    other = Studio.open(str(path))
    try:
        stored = len(stored_members(other.database, milestone.id))
        stored_population = len(stored_members(other.database, graph.id))
        assert [g.name for g in other.state.journeys()] == ["First journey"]
    finally:
        other.close()
    assert stored == len(watched)
    assert stored_population == len(everyone)
    assert card.size_text == cards.users_text(len(watched))
    assert cards.users_text(len(watched)) in window.scene.milestone_items[milestone.id].texts()
    assert window.header.subtitle.text().endswith(f" · {population}")
    assert refreshed == []

    ARTIFACTS.mkdir(exist_ok=True)
    window.view.centerOn(window.scene.journey_rect().center())
    QTest.qWait(100)
    assert window.grab().save(str(ARTIFACTS / "own-account-end-to-end.png"))
