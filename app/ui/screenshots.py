"""The README's screenshots, taken from a real demo database (``make screenshots``).

    python -m app.ui.screenshots                 # writes resources/screenshots/*.png
    python -m app.ui.screenshots --out DIR       # anywhere else

A new SQLite database is created in a temporary folder the way a first start
creates one (:func:`app.ui.main.build_window` with ``--db``: the demo account
and its generated customers), so the pictures show what a new user sees, with
the sizes the engine computed, not figures made up for a test. The real main
window is shown offscreen at 1280×800 with its remembered settings kept out
of the way, "Trial to paid" is selected in the journey list, and once the
background evaluation has put its sizes on the cards its first milestone is
selected (handles and inspector showing) and the window is saved in the light
theme and again in the dark one (switched the way the running app follows the
system). The builder is pictured too (``builder-light.png``): the editor of
"Converted to paid" on the same database with a group holding a nested group
added, once its live preview has counted the demo customers. The size history
(``size-history-{light,dark}.png``) is pictured on a second new demo database on
which an evaluation was stored for each of the last 13 days (as ``journeys evaluate
--as-of … --store`` stores one) before the window's own, so its chart has real points.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, Qt
from PySide6.QtWidgets import QApplication

from app.ui import theme
from app.ui.main import build_window
from app.ui.main_window import MainWindow

if TYPE_CHECKING:
    from app.core.graph import JourneyGraph
    from app.studio import EvaluationResult

SIZE = (1280, 800)
"""The window's size in the pictures (logical pixels)."""
JOURNEY = "Trial to paid"
"""The demo journey the pictures show (a chain, a split and outputs)."""
SCHEMES = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}
"""File name part -> the system colour scheme the window is switched to."""
DEFAULT_OUT = theme.RESOURCES_DIR / "screenshots"
TIMEOUT_S = 120.0
"""How long creating the database and the first evaluation may take at most."""


@dataclass(frozen=True)
class Screenshots:
    """What was saved, and what the window showed when it was."""

    paths: dict[str, Path]
    """Scheme name ("light", "dark") -> the PNG written."""
    as_of: datetime
    """The moment the shown evaluation counted the audiences at."""
    population: int
    """The people in the journey, as that evaluation counted them."""
    milestone_sizes: dict[str, int]
    """Milestone name -> its size from that evaluation."""
    card_texts: dict[str, tuple[str, ...]]
    """Milestone name -> the texts its card showed."""
    size_history: tuple[tuple[float, int, int, int], ...] = ()
    """What the size history chart plotted: (time, size, joined, left) per evaluation."""
    ab_test_sizes: dict[str, int] = field(default_factory=dict)
    """The A/B test picture's arms: milestone name -> size from the evaluation after it."""


def take_screenshots(out_dir: Path, *, database_dir: Path | None = None,
                     timeout_s: float = TIMEOUT_S) -> Screenshots:
    """Create a demo database, show it and save ``main-window-{light,dark}.png`` and
    ``builder-light.png`` in ``out_dir``.

    The database goes to ``database_dir`` when given (and is kept there), else to a
    temporary folder that is removed afterwards.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="journey-studio-screenshots-") as scratch:
        folder = database_dir if database_dir is not None else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        _isolate_settings(Path(scratch) / "settings")
        window = build_window(["--db", str(folder / "journeys.db")])
        try:
            shots = _shoot(window, out_dir, timeout_s)
        finally:
            _close(window)
        history_db = folder / "history" / "journeys.db"
        history_db.parent.mkdir(parents=True, exist_ok=True)
        plotted = _shoot_size_history(history_db, out_dir, shots.paths, timeout_s)
        return replace(shots, size_history=plotted)


def _close(window: MainWindow) -> None:
    window.close()
    close_studio = getattr(window.studio, "close", None)
    if callable(close_studio):
        close_studio()
    window.deleteLater()


def _isolate_settings(folder: Path) -> None:
    """Keep the person's remembered window layout out of the pictures, and the pictures'
    layout out of their settings: QSettings go to an INI file in ``folder``."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))


def _show_journey(window: MainWindow, size: tuple[int, int]
                  ) -> tuple[JourneyGraph, list[EvaluationResult]]:
    """Show ``window`` at ``size`` on :data:`JOURNEY`; returns its graph and the list its
    evaluations are appended to as they finish."""
    graph = window.studio.state.journey_by_name(JOURNEY)
    applied: list[EvaluationResult] = []
    window.evaluations.finished.connect(
        lambda result: applied.append(result) if result.journey_id == graph.id else None)
    # The pictures show the window as it opens; no partner is sent anything for them.
    window.forwarding.hold()
    window.resize(*size)
    window.show()
    if not window.panel.select(graph.id):
        raise RuntimeError(f"“{JOURNEY}” could not be selected in the journey list.")
    return graph, applied


def _shoot(window: MainWindow, out_dir: Path, timeout_s: float) -> Screenshots:
    graph, applied = _show_journey(window, SIZE)

    def sizes_shown() -> bool:
        scene = window.scene
        return (bool(applied) and scene.graph is graph and scene.population is not None
                and not scene.calculating and not window.evaluations.is_running()
                and not window.forwarding.is_running())

    _wait_until(sizes_shown, timeout_s, f"the sizes of “{JOURNEY}” to be shown")
    result = applied[-1]
    # A selected milestone shows its handles (+, split, send) and fills the inspector.
    window.scene.select_node("milestone", result.milestones[0].audience_id)
    names = {milestone.id: milestone.name for milestone in graph.milestones_in_order()}
    texts = {names[key]: item.texts() for key, item in window.scene.milestone_items.items()}

    paths: dict[str, Path] = {}
    for name, scheme in SCHEMES.items():
        window.on_color_scheme_changed(scheme)
        _settle()
        path = out_dir / f"main-window-{name}.png"
        if not window.grab().save(str(path)):
            raise OSError(f"Could not write {path}")
        paths[name] = path
    window.on_color_scheme_changed(SCHEMES["light"])
    _settle()
    paths["funnel"] = _shoot_funnel(window, graph.id, out_dir / "funnel-light.png")
    paths["builder"] = _shoot_builder(window, graph.id, out_dir / "builder-light.png", timeout_s)
    paths["ab_test"], arms = _shoot_ab_test(window, applied, out_dir / "ab-test-light.png",
                                            timeout_s)
    return Screenshots(paths, result.as_of, result.population.size,
                       {m.name: m.size for m in result.milestones}, texts,
                       ab_test_sizes=arms)


AB_TESTED = "Signed up for trial"
"""The demo milestone the A/B test picture tests."""
AB_VARIANTS = (("7-day trial", 25.0), ("30-day trial", 25.0))
AB_TEST_ID = "readme-trial-length"
"""A fixed test id, so every run of the pictures assigns the demo customers alike."""


def _shoot_ab_test(window: MainWindow, applied: list[EvaluationResult], path: Path,
                   timeout_s: float) -> tuple[Path, dict[str, int]]:
    """Add an A/B test on :data:`AB_TESTED` as the dialog would, wait for its evaluation,
    select the tested milestone (its inspector says the results) and save the window."""
    from app.ui.canvas.edits import ab_test_command

    graph = window.studio.state.journey_by_name(JOURNEY)
    tested = next(m for m in graph.milestones_in_order() if m.name == AB_TESTED)
    before = len(applied)
    window.run(ab_test_command(window.studio.state, graph.id, window.scene.placement(),
                               tested.id, AB_VARIANTS, test_id=AB_TEST_ID))
    _wait_until(lambda: len(applied) > before and not window.evaluations.is_running()
                and not window.scene.calculating, timeout_s, "the A/B test's evaluation")
    result = applied[-1]
    window.scene.select_node("milestone", tested.id)
    # The tested card and its arms, large enough to read: the rectangle they span, centred.
    items = window.scene.milestone_items
    shown = items[tested.id].sceneBoundingRect()
    for arm in graph.children(tested.id):
        if arm.variant is not None:
            shown = shown.united(items[arm.id].sceneBoundingRect())
    window.view.set_zoom(0.64)
    window.view.center_on_scene(shown.center())
    _wait_until(lambda: not window.inspector.ab_reads.is_running(), timeout_s,
                "the A/B test's results")
    if not window.grab().save(str(path)):
        raise OSError(f"Could not write {path}")
    arms = {m.name: result.milestone(m.id).size
            for m in graph.children(tested.id) if m.variant is not None}
    return path, arms


FUNNEL_MILESTONE = "Converted to paid"
"""The demo milestone whose path the funnel picture shows (the journey's longest)."""


FUNNEL_ZOOM = 0.7
"""Zoom of the funnel picture: the whole chain in view with its edge badges readable."""
FUNNEL_DOCK_HEIGHT = 230
HANDLE_ROOM = 40.0
"""Canvas units right of the last card kept in view for its handles."""


def _shoot_funnel(window: MainWindow, journey_id: str, path: Path) -> Path:
    """The canvas with its conversion and drop-off badges and the Funnel panel open on
    the path to :data:`FUNNEL_MILESTONE`; saved to ``path``. The inspector and the
    minimap make room for the canvas meanwhile, and everything is put back afterwards."""
    graph = window.studio.state.journey(journey_id)
    milestone = next(m for m in graph.milestones_in_order() if m.name == FUNNEL_MILESTONE)
    docks = [dock for dock in (window.inspector_dock, window.history_dock)
             if not dock.isHidden()]
    minimap = window.minimap_action.isChecked()
    for dock in docks:
        dock.hide()
    window.minimap_action.setChecked(False)
    window.funnel_dock.show()
    window.resizeDocks([window.funnel_dock], [FUNNEL_DOCK_HEIGHT], Qt.Orientation.Vertical)
    window.scene.select_node("milestone", milestone.id)
    _settle()
    chain = window.scene.journey_rect()
    if window.scene.start_item is not None:  # the inputs' column is left out of the picture
        chain.setLeft(window.scene.start_item.scene_body().left())
    chain.setRight(chain.right() + HANDLE_ROOM)
    window.view.set_zoom(FUNNEL_ZOOM)
    window.view.center_on_scene(chain.center())
    _settle()
    try:
        if not window.funnel.steps:
            raise RuntimeError(f"The funnel of “{FUNNEL_MILESTONE}” is empty.")
        if not window.grab().save(str(path)):
            raise OSError(f"Could not write {path}")
        return path
    finally:
        window.funnel_dock.hide()
        window.minimap_action.setChecked(minimap)
        for dock in docks:
            dock.show()
        window.inspector_dock.raise_()
        _settle()


BUILDER_MILESTONE = "Converted to paid"
"""The demo milestone whose editor the builder picture shows."""
BUILDER_SIZE = (980, 900)


def _shoot_builder(window: MainWindow, journey_id: str, path: Path, timeout_s: float) -> Path:
    """The milestone editor of :data:`BUILDER_MILESTONE` with a nested group added, once
    the live preview has counted it; saved to ``path``."""
    from app.ui.builder import CommerceEditor, CriterionRow, LocationEditor
    from app.ui.dialogs import MilestoneDialog

    graph = window.studio.state.journey(journey_id)
    milestone = next(m for m in graph.milestones_in_order() if m.name == BUILDER_MILESTONE)
    window.edit_milestone(milestone.id)
    dialog = window.active_dialog
    if not isinstance(dialog, MilestoneDialog):
        raise RuntimeError(f"The editor of “{BUILDER_MILESTONE}” did not open.")
    try:
        builder = dialog.criteria
        outer = builder.add_group()
        purchase = outer.items[0]
        assert isinstance(purchase, CriterionRow)
        purchase.kind.setCurrentIndex(purchase.kind.findData("ecommerce"))
        commerce = purchase.editors["ecommerce"]
        assert isinstance(commerce, CommerceEditor)
        amount = commerce.amounts.add_line()
        amount.operator.setCurrentIndex(amount.operator.findData("between"))
        amount.values.text.setText("10")
        amount.values.high.setText("50")
        inner = builder.add_group(outer.inner)
        inner.join.setCurrentIndex(inner.join.findData("or"))
        genre = inner.items[0]
        assert isinstance(genre, CriterionRow)
        genre.kind.setCurrentIndex(genre.kind.findData("user_attribute"))
        fields = genre.editors["user_attribute"].fields  # type: ignore[attr-defined]
        fields.attribute.setText("favorite_genres")
        fields.type.setCurrentIndex(fields.type.findData("list"))
        fields.values.text.setText("Drama")
        country = builder.add_row(into=inner.inner)
        country.kind.setCurrentIndex(country.kind.findData("location"))
        place = country.editors["location"]
        assert isinstance(place, LocationEditor)
        place.value.setText("US")
        dialog.resize(*BUILDER_SIZE)
        _wait_until(lambda: dialog.estimate_figure.property("state") in ("ready", "approximate"),
                    timeout_s, "the builder's preview")
        dialog.name.deselect()
        dialog.ok_button.setFocus()
        _settle()
        if not dialog.grab().save(str(path)):
            raise OSError(f"Could not write {path}")
        return path
    finally:
        dialog.reject()


HISTORY_MILESTONE = "Watched content"
"""The demo milestone whose size history is pictured."""
HISTORY_DAYS = 13
"""Daily evaluations stored before the window opens (its own is the last point)."""
HISTORY_SIZE = (1280, 960)
"""Taller than :data:`SIZE`: the canvas above keeps its room beside the chart."""
HISTORY_DOCK_HEIGHT = 380


def _shoot_size_history(database: Path, out_dir: Path, paths: dict[str, Path],
                        timeout_s: float) -> tuple[tuple[float, int, int, int], ...]:
    """``size-history-{light,dark}.png``: the window with the Size history panel open on
    :data:`HISTORY_MILESTONE`, on a new demo database evaluated once a day for the last
    :data:`HISTORY_DAYS` days (stored evaluations as of those times, as ``journeys
    evaluate --as-of … --store`` makes them) and then by the window itself."""
    from app.studio import Studio

    studio = Studio.open(str(database))
    try:
        document = studio.state.journey_by_name(JOURNEY).document()
        now = datetime.now(UTC)
        for days in range(HISTORY_DAYS, 0, -1):
            studio.evaluate(document, now - timedelta(days=days), store=True)
    finally:
        studio.close()
    window = build_window(["--db", str(database)])
    try:
        graph, applied = _show_journey(window, HISTORY_SIZE)
        _wait_until(lambda: bool(applied) and not window.evaluations.is_running(),
                    timeout_s, f"the evaluation of “{JOURNEY}”")
        milestone = next(m for m in graph.milestones_in_order() if m.name == HISTORY_MILESTONE)
        window.size_history_action.trigger()
        window.resizeDocks([window.size_history_dock], [HISTORY_DOCK_HEIGHT],
                           Qt.Orientation.Vertical)
        window.scene.select_node("milestone", milestone.id)
        _wait_until(lambda: bool(window.size_history.points)
                    and not window.size_history.reads.is_running(),
                    timeout_s, f"the size history of “{HISTORY_MILESTONE}”")
        window.view.fit_to_view()
        _settle()
        plotted = tuple(window.size_history.plotted())
        for name, scheme in SCHEMES.items():
            window.on_color_scheme_changed(scheme)
            _settle()
            path = out_dir / f"size-history-{name}.png"
            if not window.grab().save(str(path)):
                raise OSError(f"Could not write {path}")
            paths[f"size-history-{name}"] = path
        window.on_color_scheme_changed(SCHEMES["light"])
        return plotted
    finally:
        _close(window)


def _wait_until(done: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Run the event loop until ``done()`` (the background evaluation reports through it)."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"Gave up after {timeout_s:.0f} s waiting for {what}.")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)
    _settle()


def _settle() -> None:
    """Let queued layout, polish and paint events run before a picture is taken."""
    for _ in range(5):
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.01)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.ui.screenshots",
        description="Take the README's screenshots of the main window on a new demo database.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"where the PNGs go (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    shots = take_screenshots(args.out)
    for path in shots.paths.values():
        print(f"Wrote {path}")
    print(f"“{JOURNEY}”: {shots.population:,} users in the journey; "
          + ", ".join(f"{name} {size:,}" for name, size in shots.milestone_sizes.items()))
    app = QApplication.instance()
    if app is not None:
        app.quit()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
