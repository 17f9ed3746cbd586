"""No duplicate targeting in the window: the journey's exclusive option and the overlap view.

On a real Studio over a fresh SQLite file with the demo customers, so evaluations run
for real on the worker thread. Sizes expected after the option are read back from
the stored memberships and follow from the first evaluation's: "Signed up for trial"
keeps those who did not go on to watch (295 − 140), "Watched content" keeps no one
(its split with Remaining users takes everyone), "Saved content for later" keeps
those who did not convert (82 − 45).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from app.engine.evaluation import EvaluationResult, stored_members
from app.studio import Studio
from app.ui.canvas.cards import MilestoneCard
from app.ui.main_window import MainWindow
from app.ui.overlap_view import OverlapDialog

from .conftest import TRIAL

WAIT_MS = 20_000


@pytest.fixture
def evaluated(qtbot: QtBot, stored_studio: Studio) -> Iterator[MainWindow]:
    """The window on "Trial to paid", its first evaluation in, nothing selected."""
    window = MainWindow(stored_studio)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS,
                          check_params_cb=lambda r: r.journey_id == TRIAL):
        window.resize(1400, 860)
        window.show()
        qtbot.waitExposed(window)
        assert window.panel.select(TRIAL)
    window.scene.clearSelection()
    yield window
    window.close()


def card_of(window: MainWindow, milestone_id: str) -> MilestoneCard:
    return window.scene.milestone_items[milestone_id].card()


def sizes(window: MainWindow) -> dict[str, str]:
    return {mid: card_of(window, mid).size_text
            for mid in ("ms-signed-up", "ms-watched", "ms-saved", "ms-converted",
                        "ms-not-saved")}


def test_ticking_the_option_drops_earlier_milestones_to_those_who_did_not_move_on(
    qtbot: QtBot, evaluated: MainWindow, stored_studio: Studio, tmp_path: Path
) -> None:
    window = evaluated
    before = sizes(window)
    assert before == {"ms-signed-up": "295 users", "ms-watched": "140 users",
                      "ms-saved": "82 users", "ms-converted": "45 users",
                      "ms-not-saved": "58 users"}
    box = window.inspector.exclusive_box
    assert box is not None and not box.isChecked()
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS) as blocker:
        # On the tick box itself, at the left of the label.
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    result: EvaluationResult = blocker.args[0]
    assert stored_studio.state.journey(TRIAL).journey.exclusive
    assert sizes(window) == {"ms-signed-up": "155 users", "ms-watched": "0 users",
                             "ms-saved": "37 users", "ms-converted": "45 users",
                             "ms-not-saved": "58 users"}
    assert result.milestone("ms-signed-up").size == len(
        stored_members(stored_studio.database, "ms-signed-up")) == 155
    assert card_of(window, "ms-signed-up").change_text == "+0 / \u2212140"
    # The rebuilt inspector shows the option on, and the History names the step.
    assert window.inspector.exclusive_box is not None
    assert window.inspector.exclusive_box.isChecked()
    assert window.undo_stack.undoText() == (
        "Make users leave earlier milestones of “Trial to paid”")
    window.grab().save(str(tmp_path / "exclusive.png"))
    # Undo: the option goes, and the milestones get their users back.
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS):
        window.undo()
    assert not stored_studio.state.journey(TRIAL).journey.exclusive
    assert sizes(window) == before
    assert window.inspector.exclusive_box is not None
    assert not window.inspector.exclusive_box.isChecked()


def test_the_overlap_view_lists_the_pairs_and_warns_about_a_shared_partner(
    qtbot: QtBot, evaluated: MainWindow, stored_studio: Studio, tmp_path: Path
) -> None:
    window = evaluated
    with qtbot.waitSignal(window.evaluations.finished, timeout=WAIT_MS):
        assert window.panel.select("jr-california-promo")
    window.overlap_action.trigger()
    dialog = window.active_dialog
    assert isinstance(dialog, OverlapDialog)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=WAIT_MS)
    expected = stored_studio.overlap()
    assert dialog.report == expected
    assert dialog.summary.text() == expected.summary
    rows = [[dialog.table.topLevelItem(r).text(c) for c in range(5)]
            for r in range(dialog.table.topLevelItemCount())]
    assert rows == [[p.first.name, p.second.name, f"{p.shared:,}",
                     f"{p.percent_of_smaller:.1f}%",
                     p.first.journey if p.first.journey_id == p.second.journey_id
                     else f"{p.first.journey} / {p.second.journey}"] for p in expected.pairs]
    california = len(stored_members(stored_studio.database, "ms-california"))
    assert rows[1][:4] == ["All app and web users", "In California", f"{california:,}",
                           "100.0%"]
    assert [label.text() for label in dialog.warning_labels] == list(expected.warnings)
    assert dialog.warning_labels[0].text().startswith(
        f"“All app and web users” and “In California” both go to Facebook Custom Audiences "
        f"and share {california:,} users: they will receive both.")
    qtbot.waitUntil(dialog.warning_labels[0].isVisible, timeout=WAIT_MS)
    dialog.grab().save(str(tmp_path / "overlap.png"))
    dialog.reject()
