"""The README's screenshots come from a real demo database (``make screenshots``).

Runs :func:`app.ui.screenshots.take_screenshots` into a temporary folder (never into
``resources/``) and checks that it drew real pictures of the right size and theme, and
that the window showed the sizes the engine computed for the new demo database, not
figures made up for a test.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from app.ingest import DEMO_USERS
from app.studio import Studio
from app.ui import screenshots, theme

SAMPLE_STEP = 4
"""Every 4th pixel of every 4th row: plenty to tell a canvas from a blank image."""


def _colours(image: QImage) -> Counter[int]:
    """How often each colour occurs in a regular sample of ``image``'s pixels."""
    return Counter(image.pixel(x, y)
                   for y in range(0, image.height(), SAMPLE_STEP)
                   for x in range(0, image.width(), SAMPLE_STEP))


def test_screenshots_show_the_real_demo_database(qapp: QApplication, tmp_path: Path) -> None:
    out = tmp_path / "screenshots"
    shots = screenshots.take_screenshots(out, database_dir=tmp_path / "database")

    assert sorted(path.name for path in out.iterdir()) == [
        "ab-test-light.png", "builder-light.png", "funnel-light.png", "main-window-dark.png",
        "main-window-light.png", "size-history-dark.png", "size-history-light.png"]
    builder = QImage(str(shots.paths["builder"]))
    assert not builder.isNull() and (builder.width(), builder.height()) == screenshots.BUILDER_SIZE
    assert len(_colours(builder)) > 50, "the builder picture is nearly blank"
    themes = {"light": theme.LIGHT, "dark": theme.DARK}
    funnel = QImage(str(shots.paths["funnel"]))
    assert not funnel.isNull() and (funnel.width(), funnel.height()) == screenshots.SIZE
    assert len(_colours(funnel)) > 100, "the funnel picture is nearly blank"
    for scheme, path in shots.paths.items():
        if scheme in ("builder", "funnel", "ab_test") or scheme.startswith("size-history"):
            continue
        image = QImage(str(path))
        assert not image.isNull(), f"{path.name} is not a readable PNG"
        assert (image.width(), image.height()) == screenshots.SIZE
        colours = _colours(image)
        assert len(colours) > 100, f"{path.name} is nearly blank"
        # A large part of the picture is empty canvas, in this theme's colour only.
        total = colours.total()
        for name, palette in themes.items():
            share = colours[QColor(palette.canvas).rgb()] / total
            assert (share > 0.2) if name == scheme else (share < 0.01), (scheme, name, share)

    # Sizes computed from the new database: every demo customer uses the journey's apps,
    # and "Remaining users" holds exactly who the split's other path did not take.
    assert shots.population == DEMO_USERS
    sizes = shots.milestone_sizes
    assert sizes["Signed up for trial"] > sizes["Watched content"] > 0
    assert sizes["Saved content for later"] + sizes["Remaining users"] \
        == sizes["Watched content"]
    # ... and each card showed its own.
    for name, size in sizes.items():
        assert f"{size:,} users" in shots.card_texts[name], (name, shots.card_texts[name])

    # The same evaluation, replayed on the database the pictures were taken of.
    studio = Studio.open(str(tmp_path / "database" / "journeys.db"))
    try:
        graph = studio.state.journey_by_name(screenshots.JOURNEY)
        again = studio.evaluate(graph.document(), shots.as_of)
    finally:
        studio.close()
    assert again.population.size == shots.population
    replayed = {result.name: result.size for result in again.milestones}
    assert {name: replayed[name] for name in sizes} == sizes
    # The A/B test picture's arms: the engine's sizes, tiling the tested milestone, the
    # same when replayed (assignment is fixed by the user ids and the test id).
    arms = shots.ab_test_sizes
    assert len(arms) == 3 and all(size > 0 for size in arms.values())
    assert sum(arms.values()) == sizes[screenshots.AB_TESTED]
    assert {name: replayed[name] for name in arms} == arms

    # The size history: one point per stored day and the window's own evaluation, plotted
    # exactly as the store keeps them, in pictures of the history's size and theme.
    history = Studio.open(str(tmp_path / "database" / "history" / "journeys.db"))
    try:
        graph = history.state.journey_by_name(screenshots.JOURNEY)
        watched = next(m for m in graph.milestones_in_order()
                       if m.name == screenshots.HISTORY_MILESTONE)
        points = history.size_history(watched.id)
    finally:
        history.close()
    assert len(points) == screenshots.HISTORY_DAYS + 1
    assert shots.size_history == tuple(
        (p.as_of.timestamp(), p.size, p.added, p.removed) for p in points)
    assert len({p.size for p in points}) > 3, "a flat history says nothing"
    for scheme, palette in themes.items():
        image = QImage(str(shots.paths[f"size-history-{scheme}"]))
        assert (image.width(), image.height()) == screenshots.HISTORY_SIZE
        colours = _colours(image)
        assert colours[QColor(palette.panel).rgb()] / colours.total() > 0.1, scheme
