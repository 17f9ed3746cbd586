"""``journeys evaluate --as-of``: a look at the past leaves the stored memberships alone.

The stored memberships are the journey's current state: outputs send them, and the
next evaluation reports who joined and left since. An evaluation as of another time
is a what-if; it is stored only when asked for with ``--store``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.engine.evaluation import size_history, stored_members
from app.store import Database
from app.studio import Studio

JOURNEY = "Trial to paid"


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "j.db")


def evaluate(db_path: str, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["--db", db_path, "evaluate", JOURNEY, "--json", *args]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def audience_ids(report: dict[str, Any]) -> list[str]:
    return [report["journey_id"], *(m["id"] for m in report["milestones"])]


def memberships(db_path: str, ids: list[str]) -> dict[str, set[int]]:
    database = Database(f"sqlite:///{db_path}")
    try:
        return {audience: stored_members(database, audience) for audience in ids}
    finally:
        database.dispose()


def history_lengths(db_path: str, ids: list[str]) -> dict[str, int]:
    database = Database(f"sqlite:///{db_path}")
    try:
        return {audience: len(size_history(database, audience)) for audience in ids}
    finally:
        database.dispose()


def moves(report: dict[str, Any]) -> list[tuple[int, int]]:
    everyone = [report["population"], *report["milestones"]]
    return [(a["added"], a["removed"]) for a in everyone]


def sizes(report: dict[str, Any]) -> list[int]:
    return [a["size"] for a in (report["population"], *report["milestones"])]


def a_week_ago() -> str:
    return (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_past_evaluation_is_printed_but_not_stored(
    db_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    now = evaluate(db_path, capsys)
    ids = audience_ids(now)
    stored = memberships(db_path, ids)
    runs = history_lengths(db_path, ids)
    assert sum(len(users) for users in stored.values()) > 0

    past = evaluate(db_path, capsys, "--as-of", a_week_ago())
    assert sizes(past) != sizes(now)  # the demo data has a week of history: a real what-if
    assert any(moves(past))  # compared with what is stored
    assert memberships(db_path, ids) == stored
    assert history_lengths(db_path, ids) == runs

    again = evaluate(db_path, capsys)
    assert sizes(again) == sizes(now)
    assert moves(again) == [(0, 0)] * len(ids)  # nobody joined or left since the first run
    assert memberships(db_path, ids) == stored


def test_store_keeps_a_past_evaluation(
    db_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    now = evaluate(db_path, capsys)
    ids = audience_ids(now)
    stored = memberships(db_path, ids)

    past = evaluate(db_path, capsys, "--as-of", a_week_ago(), "--store")
    kept = memberships(db_path, ids)
    assert kept != stored
    assert [len(kept[audience]) for audience in ids] == sizes(past)

    again = evaluate(db_path, capsys)
    assert sizes(again) == sizes(now)
    # Back to now: whoever the stored look back moved, moves back.
    assert moves(again) == [(removed, added) for added, removed in moves(past)]
    assert memberships(db_path, ids) == stored


def test_the_help_says_what_is_stored(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--store" in text
    assert "not stored" in text


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def studio_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'studio.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_the_studio_stores_only_evaluations_of_now(studio_url: str) -> None:
    studio = Studio.open(studio_url)
    try:
        document = studio.state.journey_by_name(JOURNEY).document()
        ids = [document.journey.id, *(m.id for m in document.milestones)]

        def stored() -> dict[str, set[int]]:
            return {audience: stored_members(studio.database, audience) for audience in ids}

        now = studio.evaluate(document)
        current = stored()
        week_ago = now.as_of - timedelta(days=7)
        past = studio.evaluate(document, week_ago)
        assert past.population.size != now.population.size
        assert stored() == current
        kept = studio.evaluate(document, week_ago, store=True)
        assert stored()[document.journey.id] != current[document.journey.id]
        assert len(stored()[document.journey.id]) == kept.population.size
    finally:
        studio.close()
