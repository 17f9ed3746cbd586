"""The application service: opening a database, applying edits, persisting them."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core import errors
from app.core.commands import (
    AddMilestone,
    AddOutput,
    CreateJourney,
    DeleteJourney,
    Macro,
    MoveNodes,
    RemoveMilestone,
    RenameJourney,
    SetActiveAudienceLimit,
    SetOutputActive,
)
from app.core.models import Journey, JourneyDocument, Milestone, Output
from app.studio import Studio, database_url


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "journeys.db"


def _reopened(db_path: Path) -> Studio:
    return Studio.open(str(db_path))


def _stored(db_path: Path) -> tuple[object, ...]:
    studio = _reopened(db_path)
    try:
        return studio.state.snapshot()
    finally:
        studio.close()


def test_a_new_database_gets_the_demo_account(db_path: Path) -> None:
    studio = Studio.open(str(db_path))
    try:
        state = studio.state
        assert sorted(g.name for g in state.journeys()) == ["California promo", "Trial to paid"]
        assert sorted(w.name for w in state.workspaces.values()) == [
            "Marketing Site",
            "Streaming App",
        ]
        streaming = next(w for w in state.workspaces.values() if w.name == "Streaming App")
        assert [i.name for i in state.inputs_of(streaming.id)] == ["iOS", "Android", "Web"]
        trial = state.journey_by_name("Trial to paid")
        assert [m.name for m in trial.milestones_in_order()] == [
            "Signed up for trial",
            "Watched content",
            "Saved content for later",
            "Converted to paid",
            "Remaining users",
        ]
        # One active CRM output on the first milestone, two Facebook outputs in California.
        assert state.active_audience_count() == 3
        assert state.limit == 25
    finally:
        studio.close()


def test_reopening_does_not_seed_twice(db_path: Path) -> None:
    Studio.open(str(db_path)).close()
    studio = Studio.open(str(db_path))
    try:
        assert sum(1 for _ in studio.state.journeys()) == 2
    finally:
        studio.close()


def test_an_empty_account_when_not_seeding(db_path: Path) -> None:
    studio = Studio.open(str(db_path), seed_demo=False)
    try:
        assert list(studio.state.journeys()) == []
        assert studio.state.limit == 25
    finally:
        studio.close()


def test_an_edit_is_stored_and_its_undo_too(db_path: Path) -> None:
    studio = Studio.open(str(db_path))
    journey = studio.state.journey_by_name("Trial to paid")
    milestone = Milestone(name="Renewed", parent_id="ms-converted", x=1200.5, y=40.25)
    command = AddMilestone(journey.id, milestone)
    studio.execute(command)

    reopened = _reopened(db_path)
    stored = reopened.state.journey(journey.id).milestone(milestone.id)
    assert (stored.name, stored.parent_id, stored.x, stored.y) == (
        "Renewed", "ms-converted", 1200.5, 40.25,
    )
    reopened.close()

    studio.undo(command)
    studio.close()
    assert not _reopened_has_milestone(db_path, journey.id, milestone.id)


def _reopened_has_milestone(db_path: Path, journey_id: str, milestone_id: str) -> bool:
    studio = _reopened(db_path)
    try:
        return studio.state.journey(journey_id).has_milestone(milestone_id)
    finally:
        studio.close()


def test_a_refused_edit_changes_nothing_in_memory_or_stored(db_path: Path) -> None:
    studio = Studio.open(str(db_path))
    before = studio.state.snapshot()
    trial = studio.state.journey_by_name("Trial to paid")
    with pytest.raises(errors.MilestoneHasChildrenError, match="Signed up for trial"):
        studio.execute(RemoveMilestone(trial.id, "ms-signed-up"))
    assert studio.state.snapshot() == before
    studio.close()
    assert _stored(db_path) == before


def test_the_limit_is_enforced_and_stored(db_path: Path) -> None:
    studio = Studio.open(str(db_path))
    studio.execute(SetActiveAudienceLimit(3))
    trial = studio.state.journey_by_name("Trial to paid")
    with pytest.raises(errors.ActiveAudienceLimitError, match="4 active audiences"):
        studio.execute(AddOutput(trial.id, Output(milestone_id="ms-watched",
                                                  connection_id="cn-facebook")))
    studio.close()
    reopened = _reopened(db_path)
    assert reopened.state.limit == 3
    assert reopened.state.active_audience_count() == 3
    reopened.close()


def test_a_whole_session_undone_restores_the_stored_rows(db_path: Path) -> None:
    studio = Studio.open(str(db_path))
    start = studio.state.snapshot()
    trial = studio.state.journey_by_name("Trial to paid")
    new_journey = Journey(name="Win back", input_ids=("in-streaming-web",))
    commands = [
        AddMilestone(trial.id, Milestone(id="ms-a", name="Came back", parent_id="ms-converted")),
        SetOutputActive(trial.id, "out-not-saved-braze", True),
        MoveNodes(trial.id, {("milestone", "ms-a"): (10.0, 20.0)}),
        RenameJourney(trial.id, "Trial to paid (Q4)"),
        CreateJourney(JourneyDocument(journey=new_journey)),
        Macro("Build win back", [
            AddMilestone(new_journey.id, Milestone(id="ms-lapsed", name="Lapsed")),
            AddOutput(new_journey.id, Output(id="out-lapsed", milestone_id="ms-lapsed",
                                             connection_id="cn-crm")),
        ]),
    ]
    for command in commands:
        studio.execute(command)
    after = studio.state.snapshot()
    assert _stored(db_path) == after
    for command in reversed(commands):
        studio.undo(command)
    assert studio.state.snapshot() == start
    assert _stored(db_path) == start
    for command in commands:
        studio.redo(command)
    assert _stored(db_path) == after
    studio.close()


def test_deleting_an_empty_journey_removes_it_and_undo_brings_it_back(db_path: Path) -> None:
    studio = Studio.open(str(db_path))
    journey = Journey(name="Scratch")
    studio.execute(CreateJourney(JourneyDocument(journey=journey)))
    delete = DeleteJourney(journey.id)
    studio.execute(delete)
    assert "Scratch" not in _journey_names(db_path)
    studio.undo(delete)
    assert "Scratch" in _journey_names(db_path)
    studio.close()


def _journey_names(db_path: Path) -> list[str]:
    studio = _reopened(db_path)
    try:
        return [g.name for g in studio.state.journeys()]
    finally:
        studio.close()


def test_two_windows_on_one_database_never_overwrite_each_other(db_path: Path) -> None:
    first = Studio.open(str(db_path))
    second = Studio.open(str(db_path))
    trial_id = first.state.journey_by_name("Trial to paid").id
    first.execute(RenameJourney(trial_id, "Trial to paid — first"))
    second_before = second.state.snapshot()
    with pytest.raises(errors.ConflictError, match=r"another window|someone else"):
        second.execute(RenameJourney(trial_id, "Trial to paid — second"))
    # The refused save left the second window as it was and the stored rows as the first's.
    assert second.state.snapshot() == second_before
    assert _stored(db_path) == first.state.snapshot()
    second.reload()
    assert second.state.journey(trial_id).name == "Trial to paid — first"
    second.execute(RenameJourney(trial_id, "Trial to paid — second"))
    assert _stored(db_path) == second.state.snapshot()
    first.close()
    second.close()


def test_database_url_accepts_paths_and_urls(tmp_path: Path) -> None:
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"
    assert database_url(None).startswith("sqlite:///")
    assert database_url(None).endswith("journeys.db")


def test_an_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(errors.StudioError, match=r"127\.0\.0\.1"):
        Studio.open("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_the_demo_database_has_customers_behind_its_journeys(db_path: Path) -> None:
    from sqlalchemy import func, select

    from app.store.event_tables import EventRow, UserRow

    studio = Studio.open(str(db_path))
    try:
        with studio.database.transaction() as session:
            users = session.scalar(select(func.count()).select_from(UserRow))
            signups = session.scalar(
                select(func.count(func.distinct(EventRow.user_id))).where(
                    EventRow.event_name == "Sign up for trial"
                )
            )
        assert users is not None and users >= 100
        assert signups is not None and 0 < signups < users
    finally:
        studio.close()


def test_evaluating_stores_sizes_and_a_deleted_journey_leaves_no_audience(db_path: Path) -> None:
    from app.engine.evaluation import stored_members

    studio = Studio.open(str(db_path))
    try:
        trial = studio.state.journey_by_name("Trial to paid")
        result = studio.evaluate(trial.document())
        sizes = {m.name: m.size for m in result.milestones}
        assert 0 < sizes["Converted to paid"] <= sizes["Saved content for later"]
        assert sizes["Saved content for later"] + sizes["Remaining users"] == sizes[
            "Watched content"
        ]
        scratch = Journey(name="Scratch", input_ids=("in-streaming-web",))
        studio.execute(CreateJourney(JourneyDocument(journey=scratch)))
        population = studio.evaluate(studio.state.journey(scratch.id).document()).population
        assert population.size > 0
        assert len(stored_members(studio.database, scratch.id)) == population.size
        studio.execute(DeleteJourney(scratch.id))
        assert stored_members(studio.database, scratch.id) == set()
    finally:
        studio.close()


def test_estimating_a_new_milestone_counts_it_and_each_criterion(db_path: Path) -> None:
    from app.core.criteria import AudienceDefinition, Clause, EventCriterion, LocationCriterion

    studio = Studio.open(str(db_path))
    try:
        trial = studio.state.journey_by_name("Trial to paid")
        evaluated = studio.evaluate(trial.document())
        converted = evaluated.milestone("ms-converted").size
        preview = Milestone(name="Paid, outside California", parent_id="ms-converted",
                            definition=AudienceDefinition(clauses=(
                                Clause(item=EventCriterion(event_name="Watch content")),
                                Clause(join="exclude", item=LocationCriterion(
                                    field="region", operator="equals", value="CA")),
                            )))
        before = studio.state.snapshot()
        estimate = studio.estimate(trial.document(), preview)
        assert not estimate.audience.approximate and estimate.sample_every == 1
        watched, californians = (c.size for c in estimate.criteria)
        # Everyone who converted watched content; the exclusion takes the Californians away.
        assert watched == converted
        assert estimate.audience.size == converted - (californians or 0)
        assert studio.state.snapshot() == before  # a preview changes nothing
    finally:
        studio.close()
