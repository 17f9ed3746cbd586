"""The Size history panel and the inspector's A/B test results read the store off the GUI
thread: a slow read says "Reading…" (a quick one never flashes it), and the result of a
read for a milestone no longer selected never replaces the one selected since.

The studio stands in for the real one: its reads record the thread they run on and
wait for the test's gate where it says, so "slow" is whatever the test decides.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.core.commands import add_ab_test, remove_ab_test
from app.core.history import SizePoint
from app.ui.background import BackgroundReads
from app.ui.main_window import MainWindow
from app.ui.size_history import SizeHistoryPanel

from .conftest import TRIAL
from .demo import DemoStudio
from .test_size_history import click_milestone

SIGNED_UP = "ms-signed-up"
WATCHED = "ms-watched"
GATE_S = 10.0
SIZES = {SIGNED_UP: 295, WATCHED: 140}


@dataclass(frozen=True)
class Said:
    """A variant's result as the inspector reads it: only its sentence matters here."""

    sentence: str


@dataclass
class SlowStudio(DemoStudio):
    """The demo account whose panel reads wait at the gate of their milestone, if any."""

    gates: dict[str, threading.Event] = field(default_factory=dict)
    reads: list[tuple[str, bool]] = field(default_factory=list)
    """(milestone id, whether it was read on the GUI thread), as each read begins."""
    returned: list[str] = field(default_factory=list)
    test_round: int = 1
    """Which A/B test the results are of (a test removed and added again is a new one)."""

    def _read(self, milestone_id: str) -> None:
        self.reads.append((milestone_id, threading.current_thread() is threading.main_thread()))
        gate = self.gates.get(milestone_id)
        if gate is not None:
            gate.wait(GATE_S)

    def size_history(self, milestone_id: str) -> list[SizePoint]:
        self._read(milestone_id)
        now = datetime.now(UTC)
        size = SIZES.get(milestone_id, 1)
        self.returned.append(milestone_id)
        return [SizePoint(now - timedelta(days=1), size - 10, size - 10, 0),
                SizePoint(now, size, 12, 2)]

    def ab_test_results(self, journey_id: str, milestone_id: str, *,
                        document: object = None) -> list[Said]:
        self._read(milestone_id)
        self.returned.append(milestone_id)
        round_ = "" if self.test_round == 1 else f" (test {self.test_round})"
        return [Said(f"The test on {milestone_id}{round_} reads well.")]


def open_window(qtbot: QtBot, studio: SlowStudio) -> MainWindow:
    window = MainWindow(studio)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    assert window.panel.select(TRIAL)
    return window


def watch_texts(label: QLabel) -> list[str]:
    """Every text ``label`` is given from now on (what the person sees, in turn)."""
    seen: list[str] = []
    original = label.setText

    def set_text(text: str) -> None:
        seen.append(text)
        original(text)

    label.setText = set_text  # type: ignore[method-assign]
    return seen


def open_size_history(qtbot: QtBot, studio: SlowStudio) -> tuple[MainWindow, SizeHistoryPanel]:
    """The window on ``studio`` with View ▸ Size history open."""
    window = open_window(qtbot, studio)
    window.size_history_action.trigger()
    return window, window.size_history


def off_the_gui_thread(studio: SlowStudio, milestone_id: str) -> Callable[[], bool]:
    return lambda: any(m == milestone_id for m, _ in studio.reads)


def test_the_size_history_is_read_in_the_background_and_a_stale_read_is_dropped(
    qtbot: QtBot
) -> None:
    studio = SlowStudio()
    window, panel = open_size_history(qtbot, studio)
    shown = watch_texts(panel.message)

    # A quick read: the points, with no "Reading…" flashed before them.
    click_milestone(window, SIGNED_UP)
    qtbot.waitUntil(lambda: [p.size for p in panel.points] == [285, 295], timeout=5000)
    assert panel.pages.currentIndex() == 1
    assert not any(text.startswith("Reading") for text in shown)
    assert all(not on_gui for _, on_gui in studio.reads), "read on the GUI thread"

    # A slow one: the GUI goes on, and says it is reading.
    studio.gates[WATCHED] = threading.Event()
    click_milestone(window, WATCHED)
    qtbot.waitUntil(off_the_gui_thread(studio, WATCHED), timeout=5000)
    qtbot.waitUntil(lambda: panel.pages.currentIndex() == 0
                    and panel.message.text() == "Reading the size history…", timeout=5000)
    assert all(not on_gui for _, on_gui in studio.reads), "read on the GUI thread"

    # Another milestone meanwhile: its points show, and the slow read, once back, is dropped.
    click_milestone(window, SIGNED_UP)
    qtbot.waitUntil(lambda: [p.size for p in panel.points] == [285, 295], timeout=5000)
    studio.gates[WATCHED].set()
    qtbot.waitUntil(lambda: WATCHED in studio.returned, timeout=5000)
    qtbot.waitUntil(lambda: not panel.reads.is_running(), timeout=5000)
    qtbot.wait(50)
    assert [p.size for p in panel.points] == [285, 295]
    assert panel.title.text().startswith("Signed up for trial")
    window.close()


def test_the_ab_test_results_are_read_in_the_background_and_a_stale_read_is_dropped(
    qtbot: QtBot
) -> None:
    studio = SlowStudio()
    for tested, label in ((SIGNED_UP, "Short trial"), (WATCHED, "New tour")):
        studio.execute(add_ab_test(studio.state, TRIAL, tested, [(label, 50)]))
    window = open_window(qtbot, studio)

    def results() -> QLabel | None:
        return window.inspector.ab_label  # the one on show (a rebuild's old one may linger)

    def says(milestone_id: str) -> Callable[[], bool]:
        label = results()
        return lambda: label is not None and label.text() == (
            f"The test on {milestone_id} reads well.")

    # Slow: the inspector is built at once and says it is reading.
    studio.gates[SIGNED_UP] = threading.Event()
    click_milestone(window, SIGNED_UP)
    assert window.inspector.shown == ("milestone", SIGNED_UP)
    qtbot.waitUntil(off_the_gui_thread(studio, SIGNED_UP), timeout=5000)
    qtbot.waitUntil(lambda: (label := results()) is not None
                    and label.text() == "Reading the results…", timeout=5000)

    # The other tested milestone meanwhile: its results come, the slow ones never show.
    click_milestone(window, WATCHED)
    qtbot.waitUntil(lambda: says(WATCHED)(), timeout=5000)
    studio.gates[SIGNED_UP].set()
    qtbot.waitUntil(lambda: SIGNED_UP in studio.returned, timeout=5000)
    qtbot.waitUntil(lambda: not window.inspector.ab_reads.is_running(), timeout=5000)
    qtbot.wait(50)
    assert says(WATCHED)()
    assert all(not on_gui for _, on_gui in studio.reads), "read on the GUI thread"

    # Back and forth: results read before show at once, with no "Reading…" in between.
    click_milestone(window, SIGNED_UP)
    qtbot.waitUntil(lambda: says(SIGNED_UP)(), timeout=5000)
    click_milestone(window, WATCHED)
    label = results()
    assert label is not None
    assert label.text() == f"The test on {WATCHED} reads well."
    window.close()


def test_another_milestones_chart_never_stands_under_the_selected_ones_title(
    qtbot: QtBot
) -> None:
    studio = SlowStudio()
    window, panel = open_size_history(qtbot, studio)
    click_milestone(window, SIGNED_UP)
    qtbot.waitUntil(lambda: [p.size for p in panel.points] == [285, 295], timeout=5000)

    studio.gates[WATCHED] = threading.Event()
    click_milestone(window, WATCHED)
    assert panel.title.text().startswith("Watched content")
    assert panel.points == [] and panel.pages.currentIndex() == 0, \
        "Signed up for trial's chart under Watched content's title"
    studio.gates[WATCHED].set()
    qtbot.waitUntil(lambda: [p.size for p in panel.points] == [130, 140], timeout=5000)
    window.close()


def test_a_test_removed_and_added_again_never_shows_the_old_tests_results(
    qtbot: QtBot
) -> None:
    studio = SlowStudio()
    studio.execute(add_ab_test(studio.state, TRIAL, SIGNED_UP, [("Short trial", 50)]))
    window = open_window(qtbot, studio)
    click_milestone(window, SIGNED_UP)
    old = f"The test on {SIGNED_UP} reads well."
    qtbot.waitUntil(lambda: (label := window.inspector.ab_label) is not None
                    and label.text() == old, timeout=5000)

    studio.test_round = 2
    studio.gates[SIGNED_UP] = threading.Event()
    studio.execute(remove_ab_test(studio.state, TRIAL, SIGNED_UP))
    studio.execute(add_ab_test(studio.state, TRIAL, SIGNED_UP, [("Long trial", 30)]))
    click_milestone(window, SIGNED_UP)
    label = window.inspector.ab_label
    assert label is not None
    seen = watch_texts(label)
    qtbot.waitUntil(lambda: label.text() == "Reading the results…", timeout=5000)
    assert old not in [label.text(), *seen]
    studio.gates[SIGNED_UP].set()
    qtbot.waitUntil(
        lambda: label.text() == f"The test on {SIGNED_UP} (test 2) reads well.", timeout=5000)
    window.close()


def test_asking_again_for_a_read_that_hangs_leaves_threads_for_other_reads(
    qtbot: QtBot
) -> None:
    """A panel asks for the same read again and again (every refresh) while the database
    hangs: one thread waits on it, and a read of something else still arrives at once."""
    reads = BackgroundReads("A test read")
    gate = threading.Event()
    started: list[int] = []

    def hanging() -> str:
        started.append(1)
        gate.wait(GATE_S)
        return "late"

    arrived: list[tuple[str, object]] = []
    reads.loaded.connect(lambda key, result: arrived.append((key, result)))
    try:
        for _ in range(5):
            reads.read("slow", hanging)
            qtbot.wait(100)
        reads.read("other", lambda: "at once")
        qtbot.waitUntil(lambda: arrived == [("other", "at once")], timeout=3000)
        assert len(started) == 1
    finally:
        gate.set()
        reads.shutdown()
