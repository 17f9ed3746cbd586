"""File ▸ Import events…: the choice, the progress, Cancel, the summary, and what follows.

The window runs on a real Studio over the demo database (``stored_studio``), and
the files are generated demo batches (app/ingest/demo_data.py) with a seed of
their own, so they bring new customers. The system's file chooser is replaced by
one that answers with the test's files; everything else is clicked and typed.
What the dialog shows is compared with what the store holds afterwards, read
independently of the import. A *gate* holds the import after its first chunk
(the worker waits; the GUI goes on), so Cancel and a file vanishing mid-way
happen at a known point.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QComboBox, QFileDialog
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from app.engine.evaluation import stored_members
from app.ingest.demo_data import IOS, MARKETING_WEB, demo_batches
from app.store.event_numbers import named_events
from app.store.event_tables import ImportedBatchRow
from app.studio import Studio
from app.ui import theme
from app.ui.canvas import cards
from app.ui.import_dialog import ImportDialog
from app.ui.import_progress import ImportProgressDialog
from app.ui.importing import ImportProgress, ImportReport
from app.ui.main_window import MainWindow
from tests.partner import FakePartner, member_ids

from .conftest import TRIAL

CALIFORNIA = "jr-california-promo"
EVERYONE = "ms-all-users"
SIGNED_UP = "ms-signed-up"
WAIT_MS = 30_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "_artifacts"


# --------------------------------------------------------------------------- files


def demo_file(path: Path, users: int, *, seed: int, input_id: str) -> list[dict[str, Any]]:
    """Demo batches of one input as mParticle JSON lines; returns them in file order."""
    batches = [b for i, b in demo_batches(users, seed=seed) if i == input_id]
    path.write_bytes(b"".join(orjson.dumps(b) + b"\n" for b in batches))
    return batches


# --------------------------------------------------------------------------- the store


def stored_events(studio: Studio, input_id: str) -> int:
    named = named_events().subquery()
    with studio.database.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(named)
                                      .where(named.c.input_id == input_id)).scalar_one())


def stored_batches(studio: Studio, input_id: str) -> set[str]:
    with studio.database.engine.connect() as connection:
        return set(connection.execute(select(ImportedBatchRow.batch_key)
                                      .where(ImportedBatchRow.input_id == input_id)).scalars())


# --------------------------------------------------------------------------- the window


@pytest.fixture
def window(qtbot: QtBot, stored_studio: Studio) -> Iterator[MainWindow]:
    """The window on the demo database, showing "California promo" with its sizes in."""
    main_window = MainWindow(stored_studio)
    qtbot.addWidget(main_window)
    main_window.resize(1400, 860)
    main_window.show()
    qtbot.waitExposed(main_window)
    with qtbot.waitSignal(main_window.evaluations.finished, timeout=WAIT_MS,
                          check_params_cb=lambda r: r.journey_id == CALIFORNIA):
        assert main_window.panel.select(CALIFORNIA)
    yield main_window
    main_window.close()


@pytest.fixture
def chooser(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files the system's file chooser answers with (the test fills the list)."""
    answer: list[Path] = []

    def choose(*_args: Any, **_kwargs: Any) -> tuple[list[str], str]:
        return [str(p) for p in answer], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(choose))
    return answer


class Gate:
    """Holds the import's worker after its first committed chunk until :meth:`open`."""

    def __init__(self, studio: Studio, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reached = threading.Event()
        self.opened = threading.Event()
        real = studio.import_files

        def gated(*args: Any, progress: Callable[[Any], None] | None = None,
                  **kwargs: Any) -> Any:
            def hold(value: Any) -> None:
                if progress is not None:
                    progress(value)
                if not self.reached.is_set():
                    self.reached.set()
                    assert self.opened.wait(WAIT_MS / 1000), "the test never opened the gate"

            return real(*args, progress=hold, **kwargs)

        monkeypatch.setattr(studio, "import_files", gated)

    def open(self) -> None:
        self.opened.set()


def settle_forwarding(qtbot: QtBot, window: MainWindow) -> None:
    """Let the run the window starts with happen now, so a later run is the import's."""
    runner = window.forwarding
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=WAIT_MS)
    if runner.is_scheduled():
        with qtbot.waitSignal(runner.finished, timeout=WAIT_MS):
            runner.run_now()
    assert not runner.is_scheduled() and not runner.is_running()


def card_size(window: MainWindow, milestone_id: str) -> str:
    """The size a milestone's card shows now."""
    return window.scene.milestone_items[milestone_id].card().size_text


def choose_in(qtbot: QtBot, combo: QComboBox, data: str) -> None:
    """Pick the item holding ``data`` with the arrow keys, as a keyboard user would."""
    target = combo.findData(data)
    assert target >= 0, f"{data} is not offered"
    combo.setFocus()
    while combo.currentIndex() != target:
        key = Qt.Key.Key_Down if combo.currentIndex() < target else Qt.Key.Key_Up
        qtbot.keyClick(combo, key)


def open_dialog(qtbot: QtBot, window: MainWindow, chooser: list[Path], files: list[Path],
                input_id: str) -> ImportDialog:
    """File ▸ Import events…, files chosen with "Choose files…", the input with the keys."""
    window.import_action.trigger()
    dialog = window.imports.dialog
    assert isinstance(dialog, ImportDialog)
    qtbot.waitExposed(dialog)
    chooser[:] = files
    qtbot.mouseClick(dialog.choose_button, Qt.MouseButton.LeftButton)
    choose_in(qtbot, dialog.input_box, input_id)
    return dialog


def start_import(qtbot: QtBot, window: MainWindow, dialog: ImportDialog
                 ) -> ImportProgressDialog:
    assert dialog.import_button.isEnabled()
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    progress = window.imports.progress
    assert isinstance(progress, ImportProgressDialog)
    return progress


def finish(qtbot: QtBot, window: MainWindow) -> ImportReport:
    runner = window.imports.runner
    if not runner.is_running():
        pytest.fail("the import is not running")
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS) as blocker:
        pass
    report = blocker.args[0]
    assert isinstance(report, ImportReport)
    return report


# --------------------------------------------------------------------------- tests


def test_an_import_from_the_app_shows_its_progress_and_stores_what_it_counts(
    qtbot: QtBot, window: MainWindow, stored_studio: Studio, chooser: list[Path],
    tmp_path: Path, partner: FakePartner, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "site-visits.jsonl"
    batches = demo_file(path, 400, seed=11, input_id=MARKETING_WEB)
    events_before = stored_events(stored_studio, MARKETING_WEB)
    size_before = len(stored_members(stored_studio.database, EVERYONE))
    assert card_size(window, EVERYONE) == cards.users_text(size_before)
    evaluated: list[str] = []
    start = window.evaluations.start
    monkeypatch.setattr(window.evaluations, "start",
                        lambda document: evaluated.append(document.journey.id) or
                        start(document))
    asked: list[bool] = []
    """Each time a forwarding run is asked for: whether California promo was still being
    evaluated then."""
    request = window.forwarding.request
    monkeypatch.setattr(window.forwarding, "request", lambda: asked.append(
        window.evaluations.is_calculating(CALIFORNIA)) or request())
    window.imports.runner.chunk_size = 30  # events a chunk: the bar moves several times
    settle_forwarding(qtbot, window)
    seen: list[ImportProgress] = []
    window.imports.runner.progressed.connect(seen.append)

    dialog = open_dialog(qtbot, window, chooser, [path], MARKETING_WEB)
    assert dialog.format() == "mparticle", "preselected from the file"
    assert dialog.format_hint.text() == "Recognised from the files."
    assert dialog.input_hint.text() == ("Read by “California promo”: its audiences are "
                                        "recalculated after the import.")
    assert dialog.files.topLevelItem(0).text(0) == "site-visits.jsonl"
    progress = start_import(qtbot, window, dialog)
    assert progress.heading.text() == "Importing events"
    assert progress.cancel_button.isVisible()
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS,
                          check_params_cb=lambda r: r.journey_id == CALIFORNIA):
        report = finish(qtbot, window)

    # The bar moved by bytes, chunk after chunk, to the end.
    assert len(seen) > 3
    assert [p.bytes_read for p in seen] == sorted(p.bytes_read for p in seen)
    assert seen[-1].bytes_read == seen[-1].total_bytes == path.stat().st_size
    assert progress.bar.value() == progress.bar.maximum()
    assert progress.percent_label.text() == "100%"
    # The summary equals what the store holds, and stays until closed.
    total_events = sum(len(b["events"]) for b in batches)
    assert not report.cancelled
    assert report.records_imported == len(batches)
    assert report.events_imported == total_events
    assert stored_events(stored_studio, MARKETING_WEB) - events_before == total_events
    assert {b["source_request_id"] for b in batches} <= stored_batches(stored_studio,
                                                                       MARKETING_WEB)
    assert progress.heading.text() == "Import finished"
    assert progress.imported_tile.text() == f"{len(batches):,}"
    assert progress.second_tile.caption.text() == "duplicates skipped"
    assert progress.second_tile.text() == "0"
    assert progress.rejected_tile.text() == "0"
    assert progress.third_tile.caption.text() == "damaged files"
    assert f"{total_events:,} events" in progress.subtitle.text()
    assert progress.close_button.isVisible() and not progress.cancel_button.isVisible()
    assert progress.isVisible()
    assert "Recalculating the audiences of “California promo”" in progress.after_label.text()

    # The card follows the engine's evaluation, with no refresh; only the journey reading
    # the input was evaluated again.
    size_after = len(stored_members(stored_studio.database, EVERYONE))
    assert size_after > size_before
    assert card_size(window, EVERYONE) == cards.users_text(size_after)
    assert evaluated == [CALIFORNIA]
    assert TRIAL not in evaluated

    # Then a forwarding run, once the journey's new audiences are stored (a run started
    # sooner would evaluate it a second time, alongside).
    qtbot.waitUntil(lambda: bool(asked), timeout=WAIT_MS)
    assert asked == [False]
    assert window.forwarding.is_scheduled() or window.forwarding.is_running()

    qtbot.mouseClick(progress.close_button, Qt.MouseButton.LeftButton)
    assert window.imports.progress is None


def test_another_journeys_evaluation_after_an_import_leaves_the_status_bar_alone(
    qtbot: QtBot, window: MainWindow, stored_studio: Studio, chooser: list[Path],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The status bar's "Evaluated HH:MM" is the shown journey's: an import through an
    input only another journey reads evaluates that one, in the background."""
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS,
                          check_params_cb=lambda r: r.journey_id == TRIAL):
        assert window.panel.select(TRIAL)
    said: list[object] = []
    monkeypatch.setattr(window.evaluated_label, "show_evaluated", said.append)
    path = tmp_path / "site-visits.jsonl"
    demo_file(path, 50, seed=19, input_id=MARKETING_WEB)
    dialog = open_dialog(qtbot, window, chooser, [path], MARKETING_WEB)
    start_import(qtbot, window, dialog)
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS,
                          check_params_cb=lambda r: r.journey_id == CALIFORNIA):
        finish(qtbot, window)
    assert said == []
    assert window.evaluations.figures(CALIFORNIA) is not None


def test_bad_lines_are_counted_and_the_first_are_listed_with_their_line_numbers(
    qtbot: QtBot, window: MainWindow, stored_studio: Studio, chooser: list[Path],
    tmp_path: Path, partner: FakePartner,
) -> None:
    good = tmp_path / "good.jsonl"
    batches = demo_file(good, 30, seed=12, input_id=IOS)
    lines = good.read_bytes().splitlines()
    broken = dict(batches[3], source_request_id="broken-type")
    broken["events"] = [dict(broken["events"][0], event_type="teleport")]
    bad = [b'{"mpid": 1, "events": [', orjson.dumps(broken), b"[1, 2, 3]"]
    mixed = lines[:2] + bad[:1] + lines[2:5] + bad[1:] + lines[5:]
    path = tmp_path / "mixed.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(mixed) + b"\n"))
    bad_lines = [3, 7, 8]
    events_before = stored_events(stored_studio, IOS)
    settle_forwarding(qtbot, window)
    signed_up_before = member_ids(stored_studio.database, SIGNED_UP)
    assert partner.audiences[SIGNED_UP] == signed_up_before

    dialog = open_dialog(qtbot, window, chooser, [path], IOS)
    assert dialog.format() == "mparticle"
    progress = start_import(qtbot, window, dialog)
    report = finish(qtbot, window)

    assert report.records_rejected == 3
    assert progress.rejected_tile.text() == "3"
    assert progress.rejected_tile.property("tone") == "danger"
    shown = [progress.rejections.item(i).text() for i in range(progress.rejections.count())]
    assert [s.split(": ", 1)[0] for s in shown] == [f"mixed.jsonl.gz:{n}" for n in bad_lines]
    assert all(len(s.split(": ", 1)[1]) > 5 for s in shown), "each says why"
    assert progress.rejections.isVisible()
    assert progress.rejections_count.text() == "3 records"
    assert report.records_imported == len(batches)
    assert progress.imported_tile.text() == f"{len(batches):,}"
    assert stored_events(stored_studio, IOS) - events_before == report.events_imported == sum(
        len(b["events"]) for b in batches)
    # "Trial to paid" reads iOS: it is evaluated again and its CRM webhook receives the new
    # sign-ups, with no edit and no click.
    qtbot.waitUntil(lambda: member_ids(stored_studio.database, SIGNED_UP) > signed_up_before
                    and partner.audiences[SIGNED_UP]
                    == member_ids(stored_studio.database, SIGNED_UP), timeout=WAIT_MS)


def test_cancel_stops_a_large_import_and_keeps_whole_chunks(
    qtbot: QtBot, window: MainWindow, stored_studio: Studio, chooser: list[Path],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "large.jsonl"
    batches = demo_file(path, 1500, seed=13, input_id=IOS)
    events_before = stored_events(stored_studio, IOS)
    keys_before = stored_batches(stored_studio, IOS)
    window.imports.runner.chunk_size = 500
    gate = Gate(stored_studio, monkeypatch)

    dialog = open_dialog(qtbot, window, chooser, [path], IOS)
    progress = start_import(qtbot, window, dialog)
    qtbot.waitUntil(lambda: progress.progress is not None, timeout=WAIT_MS)
    assert 0 < progress.bar.value() < progress.bar.maximum()
    qtbot.mouseClick(progress.cancel_button, Qt.MouseButton.LeftButton)
    assert progress.cancel_button.text() == "Cancelling…"
    assert not progress.cancel_button.isEnabled()
    gate.open()
    report = finish(qtbot, window)

    assert report.cancelled
    assert progress.heading.text() == "Import cancelled"
    assert progress.bar.property("state") == "cancelled"
    assert "every stored chunk is whole" in progress.file_label.text()
    kept = report.records_imported
    assert 0 < kept < len(batches)
    # What stayed is the file's first records, each whole: chunks, not pieces of them.
    new_keys = stored_batches(stored_studio, IOS) - keys_before
    assert new_keys == {b["source_request_id"] for b in batches[:kept]}
    assert stored_events(stored_studio, IOS) - events_before == report.events_imported == sum(
        len(b["events"]) for b in batches[:kept])
    assert progress.imported_tile.text() == f"{kept:,}"
    assert progress.isVisible(), "the summary stays until closed"


def test_missing_or_unusable_files_are_refused_before_anything_starts(
    qtbot: QtBot, window: MainWindow, chooser: list[Path], tmp_path: Path,
) -> None:
    present = tmp_path / "calls.jsonl"
    present.write_text('{"type": "track", "userId": "u1", "event": "Play"}\n')
    folder = tmp_path / "exports"
    folder.mkdir()
    dialog = open_dialog(qtbot, window, chooser, [present, tmp_path / "gone.jsonl", folder],
                         MARKETING_WEB)
    assert dialog.format() == "segment"
    assert dialog.file_error.isVisible()
    assert dialog.file_error.text().splitlines() == [
        "“gone.jsonl” is not there any more: choose it again.",
        "“exports” is a folder: choose the files in it.",
    ]
    assert not dialog.import_button.isEnabled()
    # Remove the two: Import is offered.
    for row in (2, 1):
        dialog.files.setCurrentItem(dialog.files.topLevelItem(row))
        qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert not dialog.file_error.isVisible()
    assert dialog.import_button.isEnabled()
    # The file goes away before Import is clicked: refused, nothing starts.
    present.unlink()
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert dialog.file_error.text() == "“calls.jsonl” is not there any more: choose it again."
    assert not window.imports.runner.is_running() and window.imports.progress is None
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert window.imports.dialog is None


def test_files_dropped_on_the_dialog_are_added_and_their_format_recognised(
    qtbot: QtBot, window: MainWindow, tmp_path: Path,
) -> None:
    rows = tmp_path / "events.csv.gz"
    rows.write_bytes(gzip.compress(b"user_id,timestamp,event_name\nu1,2026-11-02,Play\n"))
    window.import_action.trigger()
    dialog = window.imports.dialog
    assert isinstance(dialog, ImportDialog)
    qtbot.waitExposed(dialog)
    assert dialog.format() is None and not dialog.import_button.isEnabled()
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(rows))])
    where = QPointF(dialog.rect().center())
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(where.toPoint(), actions, data, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(dialog, enter)
    assert enter.isAccepted()
    drop = QDropEvent(where, actions, data, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(dialog, drop)
    assert dialog.paths == [rows]
    assert dialog.files.topLevelItem(0).text(0) == "events.csv.gz"
    assert dialog.format() == "csv"
    assert dialog.format_box.currentText() == "CSV, one event a row"
    assert dialog.import_button.isEnabled()
    # A format picked by hand stays when more files come.
    choose_in(qtbot, dialog.format_box, "segment")
    dialog.add_files([rows.with_name("more.csv")])
    assert dialog.format() == "segment"


def test_a_file_unreadable_mid_way_is_a_message_and_the_chunks_before_it_stay(
    qtbot: QtBot, window: MainWindow, stored_studio: Studio, chooser: list[Path],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    batches = demo_file(first, 60, seed=14, input_id=IOS)
    demo_file(second, 60, seed=15, input_id=IOS)
    window.imports.runner.chunk_size = 200
    gate = Gate(stored_studio, monkeypatch)
    keys_before = stored_batches(stored_studio, IOS)
    evaluated: list[str] = []
    window.evaluations.finished.connect(lambda r: evaluated.append(r.journey_id))

    dialog = open_dialog(qtbot, window, chooser, [first, second], IOS)
    progress = start_import(qtbot, window, dialog)
    qtbot.waitUntil(lambda: progress.progress is not None, timeout=WAIT_MS)
    second.unlink()
    with qtbot.waitSignal(window.imports.runner.failed, timeout=WAIT_MS) as blocker:
        gate.open()
    assert blocker.args[0] == "Can't read second.jsonl: No such file or directory."
    assert progress.heading.text() == "Import stopped"
    assert progress.notice.isVisible()
    text = progress.notice_label.text()
    assert text.startswith("Can't read second.jsonl: No such file or directory. The ")
    assert "Traceback" not in text
    ARTIFACTS.mkdir(exist_ok=True)
    qtbot.wait(50)
    assert progress.grab().save(str(ARTIFACTS / "import-stopped-light.png"))
    # The first file's chunks stay; both journeys read iOS: both are evaluated again.
    assert stored_batches(stored_studio, IOS) - keys_before == {
        b["source_request_id"] for b in batches}
    qtbot.waitUntil(lambda: {CALIFORNIA, TRIAL} <= set(evaluated), timeout=WAIT_MS)


def test_closing_the_window_during_an_import_cancels_it_and_keeps_whole_chunks(
    qtbot: QtBot, window: MainWindow, stored_studio: Studio, chooser: list[Path],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "large.jsonl"
    batches = demo_file(path, 800, seed=18, input_id=IOS)
    keys_before = stored_batches(stored_studio, IOS)
    window.imports.runner.chunk_size = 500
    gate = Gate(stored_studio, monkeypatch)
    dialog = open_dialog(qtbot, window, chooser, [path], IOS)
    progress = start_import(qtbot, window, dialog)
    qtbot.waitUntil(lambda: progress.progress is not None, timeout=WAIT_MS)
    threading.Timer(0.3, gate.open).start()  # the worker goes on while the window closes
    window.close()
    runner = window.imports.runner
    assert runner.pool.activeThreadCount() == 0, "the import stopped, not left behind"
    kept = stored_batches(stored_studio, IOS) - keys_before
    assert kept == {b["source_request_id"] for b in batches[:len(kept)]}
    assert 0 < len(kept) < len(batches)


@pytest.mark.screenshot
@pytest.mark.parametrize("palette", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
def test_screenshots_of_the_import_dialogs(
    qtbot: QtBot, qapp: QApplication, window: MainWindow, stored_studio: Studio,
    chooser: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    palette: theme.Theme,
) -> None:
    theme.apply_theme(qapp, palette)
    window.refresh_theme()
    big = tmp_path / "streaming-ios.jsonl"
    demo_file(big, 1200, seed=16, input_id=IOS)
    lines = big.read_bytes().splitlines()
    lines[40] = b'{"mpid": 5, "events": ['
    lines[97] = b'{"mpid": "x", "events": 3}'
    big.write_bytes(b"\n".join(lines) + b"\n")
    other = tmp_path / "web.jsonl.gz"
    other.write_bytes(gzip.compress(b"".join(orjson.dumps(b) + b"\n" for _, b in
                                             demo_batches(200, seed=17) if _ == IOS)))
    window.imports.runner.chunk_size = 2_000
    gate = Gate(stored_studio, monkeypatch)
    ARTIFACTS.mkdir(exist_ok=True)

    window.import_action.trigger()
    empty = window.imports.dialog
    assert isinstance(empty, ImportDialog)
    qtbot.waitExposed(empty)
    assert empty.grab().save(str(ARTIFACTS / f"import-dialog-empty-{palette.name}.png"))
    qtbot.keyClick(empty, Qt.Key.Key_Escape)
    dialog = open_dialog(qtbot, window, chooser, [big, other], IOS)
    qtbot.wait(50)
    assert dialog.grab().save(str(ARTIFACTS / f"import-dialog-{palette.name}.png"))
    progress = start_import(qtbot, window, dialog)
    qtbot.waitUntil(lambda: progress.progress is not None
                    and progress.rejections.count() == 2, timeout=WAIT_MS)
    qtbot.wait(50)
    assert progress.grab().save(str(ARTIFACTS / f"import-progress-{palette.name}.png"))
    gate.open()
    finish(qtbot, window)
    qtbot.wait(50)
    assert progress.grab().save(str(ARTIFACTS / f"import-summary-{palette.name}.png"))
