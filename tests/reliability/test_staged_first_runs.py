"""A first evaluation copies large new audiences ahead, in short transactions; start-up sweeps.

The thresholds are lowered so the demo's few hundred users take the staged
path, in several chunks. What a user would notice is checked: the stored
members equal an evaluation stored the usual way, nothing named ``staging:``
is left, a run that another run overtook still stores exactly its sets, and
rows nothing can read any more are gone after the next start.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from app.core.commands import DeleteJourney
from app.engine import evaluation
from app.engine.evaluation import latest_changes, stored_members
from app.store import memberships
from app.store.memberships import STAGING_PREFIX, keys, members
from app.studio import Studio

TRIAL = "jr-trial-to-paid"
AUDIENCES = ("jr-trial-to-paid", "ms-signed-up", "ms-watched", "ms-saved", "ms-converted",
             "ms-not-saved")


@pytest.fixture
def studio(db_url: str) -> Iterator[Studio]:
    opened = Studio.open(db_url)
    try:
        yield opened
    finally:
        opened.close()


def staged_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new audience above 20 members is staged, 40 members a transaction."""
    monkeypatch.setattr(memberships, "STAGE_ABOVE", 20)
    monkeypatch.setattr(memberships, "STAGE_CHUNK", 40)


def staging_keys(studio: Studio) -> list[str]:
    with studio.database.engine.connect() as connection:
        return list(connection.execute(
            select(keys.c.audience_id).where(keys.c.audience_id.startswith(STAGING_PREFIX))
        ).scalars())


def test_a_staged_first_run_stores_the_same_members_as_one_stored_at_once(
    studio: Studio, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    document = studio.state.journey(TRIAL).document()
    as_of = datetime.now(UTC)
    usual = Studio.open(str(tmp_path / "usual.db"))
    try:
        expected = usual.evaluate(document, as_of, store=True)
        expected_members = {a: stored_members(usual.database, a) for a in AUDIENCES}
    finally:
        usual.close()
    staged_small(monkeypatch)
    reserved: list[str] = []
    real_key_of = memberships.key_of

    def spy(connection: Any, audience_id: str) -> int:
        if audience_id.startswith(STAGING_PREFIX):
            reserved.append(audience_id)
        return real_key_of(connection, audience_id)

    monkeypatch.setattr(memberships, "key_of", spy)
    result = studio.evaluate(document, as_of, store=True)
    assert len(reserved) >= 3, "the large new audiences were staged"
    assert [m.size for m in result.milestones] == [m.size for m in expected.milestones]
    assert result.population.size > 40 * 3, "staged in several chunks"
    for audience in AUDIENCES:
        assert stored_members(studio.database, audience) == expected_members[audience]
        added, removed = latest_changes(studio.database, audience)
        assert added == expected_members[audience] and removed == set()
    assert staging_keys(studio) == []
    # The next run compares with what was staged, as with any stored run.
    again = studio.evaluate(document, as_of, store=True)
    assert all(a.added == a.removed == 0 for a in (again.population, *again.milestones))


def test_a_staged_run_overtaken_by_another_still_stores_exactly_its_sets(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged_small(monkeypatch)
    document = studio.state.journey(TRIAL).document()
    earlier = datetime.now(UTC) - timedelta(days=20)
    real_apply = memberships.apply
    overtaken: dict[str, Any] = {}

    def apply_after_another_run(connection: Any, *args: Any) -> Any:
        if not overtaken:
            overtaken["run"] = None
            monkeypatch.setattr(evaluation.memberships, "apply", real_apply)
            overtaken["run"] = studio.evaluate(document, earlier, store=True)
        return real_apply(connection, *args)

    monkeypatch.setattr(evaluation.memberships, "apply", apply_after_another_run)
    result = studio.evaluate(document)
    other = overtaken["run"]
    assert other is not None
    for mine, before in zip((result.population, *result.milestones),
                            (other.population, *other.milestones), strict=True):
        assert mine.size == before.size + mine.added - mine.removed, mine.name
        assert len(stored_members(studio.database, mine.audience_id)) == mine.size
    assert staging_keys(studio) == []
    with studio.database.engine.connect() as connection:
        stray = connection.execute(
            select(func.count()).select_from(members)
            .where(members.c.audience_key.not_in(select(keys.c.audience_key)))
        ).scalar_one()
    assert stray == 0, "the overtaken run's staged copy is dropped"


def test_start_up_sweeps_dead_runs_staging_and_deleted_journeys_members(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    studio = Studio.open(db_url)
    try:
        california = studio.state.journey_by_name("California promo")
        studio.evaluate(california.document())
        population = california.id
        # A deleted journey whose clean-up never ran: its members are left behind.
        from app.core.commands import RemoveMilestone, RemoveOutput

        for output in list(california.outputs()):
            studio.execute(RemoveOutput(california.id, output.id))
        for milestone in reversed(list(california.milestones_in_order())):
            studio.execute(RemoveMilestone(california.id, milestone.id))
        monkeypatch.setattr(Studio, "_clean_up", lambda self, deleted: None)
        studio.execute(DeleteJourney(california.id))
        assert stored_members(studio.database, population)
        # A run that died while staging, a day ago; and one staging right now.
        with studio.database.engine.begin() as connection:
            old = f"{STAGING_PREFIX}{int(time.time()) - 86_400}:dead"
            now = f"{STAGING_PREFIX}{int(time.time())}:alive"
            for number, name in ((900_001, old), (900_002, now)):
                connection.execute(insert(keys).values(audience_id=name, audience_key=number))
                connection.execute(insert(members).values(
                    audience_key=number, user_id=1, since_run=1
                ))
    finally:
        studio.close()
    monkeypatch.undo()
    reopened = Studio.open(db_url)
    try:
        assert stored_members(reopened.database, population) == set()
        assert staging_keys(reopened) == [now]
    finally:
        reopened.close()
