"""One's own account through the application service: workspaces, inputs, a journey's inputs.

Every edit is stored as it is done and undone (a reload reads what memory holds);
a refused edit, in memory or by the store because another window changed the
account meanwhile, changes nothing in either. Each test runs on SQLite and, when
a server is available, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from app.core import errors
from app.core.commands import (
    AddInput,
    AddWorkspace,
    Command,
    CreateJourney,
    Macro,
    RemoveInput,
    RemoveWorkspace,
    RenameInput,
    RenameWorkspace,
    SetJourneyInputs,
)
from app.core.models import Input, Journey, JourneyDocument, Milestone, Workspace
from app.store.event_tables import ImportedBatchRow, InputNumberRow
from app.store.schema import InputRow, WorkspaceRow
from app.studio import Studio

APP = Workspace(id="ws-app", name="Streaming App")
IOS = Input(id="in-ios", workspace_id="ws-app", name="iOS", platform="iOS")
WEB = Input(id="in-web", workspace_id="ws-app", name="Web", platform="Web")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def studio(db_url: str) -> Iterator[Studio]:
    """An empty account: no workspaces, inputs, connections or journeys."""
    opened = Studio.open(db_url, seed_demo=False)
    yield opened
    opened.close()


def stored(url: str) -> tuple[Any, ...]:
    """Everything a reload reads: the account with its journeys, workspaces and inputs."""
    other = Studio.open(url, seed_demo=False)
    try:
        return other.state.snapshot(), other.state.setup()
    finally:
        other.close()


def in_memory(studio: Studio) -> tuple[Any, ...]:
    return studio.state.snapshot(), studio.state.setup()


def count(url: str, column: Any) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count(column))).scalar_one())
    finally:
        engine.dispose()


def import_csv(studio: Studio, tmp_path: Path, input_id: str, users: int = 3) -> None:
    path = tmp_path / f"{input_id}.csv"
    path.write_text("user_id,timestamp,event_name\n" + "".join(
        f"u{n},2026-10-27T08:00:00Z,Watch content\n" for n in range(users)))
    summary = studio.import_files([path], "csv", input_id)
    assert summary.events_imported == users


def set_up(studio: Studio) -> None:
    for command in (AddWorkspace(APP), AddInput(IOS), AddInput(WEB)):
        studio.execute(command)


def test_the_empty_start_has_the_account_and_nothing_else(studio: Studio, db_url: str) -> None:
    state = studio.state
    assert (state.workspaces, state.inputs, state.connections, list(state.journeys())) == (
        {}, {}, {}, [])
    assert state.limit == 25
    assert Studio.needs_setup(db_url) is False


def test_needs_setup_is_true_only_before_the_account_exists(tmp_path: Path) -> None:
    path = str(tmp_path / "new.db")
    assert Studio.needs_setup(path) is True
    assert Studio.needs_setup(path) is True  # asking stores nothing
    assert not (tmp_path / "new.db").exists()  # not even the file: a closed welcome leaves none
    Studio.open(path, seed_demo=False).close()
    assert Studio.needs_setup(path) is False


def test_every_edit_and_its_undo_are_stored_in_order(studio: Studio, db_url: str) -> None:
    set_up(studio)
    steps: list[Command] = [
        AddWorkspace(Workspace(id="ws-site", name="Marketing Site")),
        AddWorkspace(Workspace(id="ws-first", name="Kiosks"), 0),
        AddInput(Input(id="in-and", workspace_id="ws-app", name="Android", platform="android")),
        AddInput(Input(id="in-feed", workspace_id="ws-app", name="Braze feed", kind="partner"),
                 0),
        RenameWorkspace("ws-site", "Website"),
        RenameInput("in-web", "Browser"),
        RemoveInput("in-ios"),
        RemoveWorkspace("ws-first"),
        CreateJourney(JourneyDocument(journey=Journey(id="j", name="Viewers",
                                                      input_ids=("in-web",)))),
        SetJourneyInputs("j", ("in-and", "in-web")),
    ]
    states = [in_memory(studio)]
    for command in steps:
        studio.execute(command)
        states.append(in_memory(studio))
        assert stored(db_url) == states[-1], command.text
    assert [i.name for i in studio.state.inputs.values()] == ["Braze feed", "Browser",
                                                                "Android"]
    for command, before in zip(reversed(steps), reversed(states[:-1]), strict=True):
        studio.undo(command)
        assert in_memory(studio) == before
        assert stored(db_url) == before, f"undo {command.text}"
    for command, after in zip(steps, states[1:], strict=True):
        studio.redo(command)
        assert stored(db_url) == after == in_memory(studio), f"redo {command.text}"


def test_a_refused_edit_changes_nothing_in_memory_or_stored(studio: Studio, db_url: str) -> None:
    set_up(studio)
    studio.execute(CreateJourney(JourneyDocument(journey=Journey(
        id="j", name="Viewers", input_ids=("in-ios",)))))
    before = stored(db_url)
    for command, error, fragment in (
        (RemoveWorkspace("ws-app"), errors.WorkspaceNotEmptyError, "still has 2 inputs"),
        (RemoveInput("in-ios"), errors.InputInUseError, "the journey “Viewers” reads it"),
        (AddInput(Input(id="x", workspace_id="ws-app", name="IOS", platform="iOS")),
         errors.DuplicateNameError, "already has an input called “iOS”"),
        (SetJourneyInputs("j", ()), errors.NoInputsError, "Pick at least one input"),
    ):
        with pytest.raises(error, match=fragment):
            studio.execute(command)
        assert in_memory(studio) == before == stored(db_url)


def test_an_input_events_came_through_stays_and_the_refusal_counts_them(
    studio: Studio, db_url: str, tmp_path: Path
) -> None:
    set_up(studio)
    assert studio.event_count_by_input() == {}
    assert studio.state.can_remove_input("in-web") is None
    import_csv(studio, tmp_path, "in-web", users=3)
    # The import happened after the counts were read: the removal reads them again.
    before = stored(db_url)
    with pytest.raises(errors.InputInUseError) as refusal:
        studio.execute(RemoveInput("in-web"))
    assert str(refusal.value) == (
        "The input “Streaming App/Web” can't be removed: 3 events have arrived through it. "
        "Stored events are kept, so an input that has received events stays; rename it if "
        "it is no longer used.")
    assert in_memory(studio) == before == stored(db_url)
    assert studio.event_count_by_input() == {"in-web": 3}
    assert studio.inputs_with_events() == {"in-web"}
    assert studio.state.can_remove_input("in-web") == str(refusal.value)
    studio.execute(RemoveInput("in-ios"))  # no events: removed
    assert stored(db_url) == in_memory(studio)


def test_removing_an_input_takes_what_only_remembered_it(
    studio: Studio, db_url: str, tmp_path: Path
) -> None:
    """A batch of user attributes only (no events) leaves a mark of the input behind."""
    set_up(studio)
    path = tmp_path / "profiles.json"
    path.write_text('{"mpid": 7, "source_request_id": "req-1", '
                    '"user_attributes": {"plan": "gold"}}\n')
    summary = studio.import_files([path], "mparticle", "in-ios")
    assert (summary.events_imported, summary.records_rejected) == (0, 0)
    assert count(db_url, ImportedBatchRow.input_id) == 1
    studio.execute(RemoveInput("in-ios"))
    assert (count(db_url, ImportedBatchRow.input_id), count(db_url, InputNumberRow.number),
            count(db_url, InputRow.id)) == (0, 0, 1)


def test_another_window_importing_meanwhile_keeps_the_input(
    db_url: str, tmp_path: Path
) -> None:
    first = Studio.open(db_url, seed_demo=False)
    try:
        set_up(first)
        first.event_count_by_input()
        second = Studio.open(db_url, seed_demo=False)
        try:
            import_csv(second, tmp_path, "in-web", users=2)
        finally:
            second.close()
        # The first window's counts say none; the store, asked in the save, says 2.
        first.state.set_event_counts({})
        before = in_memory(first)
        removal = RemoveInput("in-web")
        first.event_count_by_input = lambda input_ids=None: {}  # type: ignore[method-assign]
        with pytest.raises(errors.ConflictError) as refusal:
            first.execute(removal)
        assert str(refusal.value) == (
            "Not saved: the account was changed in another window or by someone else since "
            "you opened it. The input “Streaming App/Web” can't be removed: 2 events have "
            "arrived through it. Stored events are kept, so an input that has received "
            "events stays; rename it if it is no longer used.")
        assert in_memory(first) == before == stored(db_url)
    finally:
        first.close()


def test_stale_windows_are_refused_by_what_is_stored(db_url: str) -> None:
    first = Studio.open(db_url, seed_demo=False)
    set_up(first)
    first.execute(AddWorkspace(Workspace(id="ws-kiosk", name="Kiosks")))
    second = Studio.open(db_url, seed_demo=False)
    try:
        # The first window moves on; the second still sees the account as it was.
        first.execute(CreateJourney(JourneyDocument(journey=Journey(
            id="j", name="Viewers", input_ids=("in-ios",)))))
        first.execute(AddInput(Input(id="in-tv", workspace_id="ws-app", name="TV",
                                     platform="tvOS")))
        first.execute(AddInput(Input(id="in-tab", workspace_id="ws-kiosk", name="Tablet",
                                     platform="iPadOS")))
        first.execute(AddWorkspace(Workspace(id="ws-site", name="Marketing Site")))
        after_first = stored(db_url)
        for command, fragment in (
            (RemoveInput("in-ios"), "the journey “Viewers” reads it"),
            (RemoveWorkspace("ws-kiosk"), "it still has the input “Tablet”"),
            (AddInput(Input(id="in-tv2", workspace_id="ws-app", name="tv", platform="tvOS")),
             "“Streaming App” already has an input called “TV”"),
            (RenameInput("in-web", "TV"), "“Streaming App” already has an input called “TV”"),
            (AddWorkspace(Workspace(id="ws-site2", name="marketing site")),
             "There is already a workspace called “Marketing Site”"),
            (RenameWorkspace("ws-kiosk", "Marketing  SITE"),
             "There is already a workspace called “Marketing Site”"),
        ):
            before = in_memory(second)
            with pytest.raises(errors.ConflictError) as refusal:
                second.execute(command)
            message = str(refusal.value)
            assert message.startswith(
                "Not saved: the account was changed in another window or by someone else "
                "since you opened it. "), message
            assert fragment in message
            assert in_memory(second) == before
            assert stored(db_url) == after_first
    finally:
        second.close()
        first.close()


def test_a_journey_cannot_be_given_an_input_removed_in_another_window(db_url: str) -> None:
    first = Studio.open(db_url, seed_demo=False)
    set_up(first)
    first.execute(CreateJourney(JourneyDocument(journey=Journey(
        id="j", name="Viewers", input_ids=("in-ios",)))))
    second = Studio.open(db_url, seed_demo=False)
    try:
        first.execute(RemoveInput("in-web"))
        after_first = stored(db_url)
        with pytest.raises(errors.ConflictError, match="reload"):
            second.execute(SetJourneyInputs("j", ("in-ios", "in-web")))
        assert second.state.journey("j").journey.input_ids == ("in-ios",)
        assert stored(db_url) == after_first
    finally:
        second.close()
        first.close()


def test_adding_an_input_to_a_workspace_removed_elsewhere_is_a_conflict(db_url: str) -> None:
    first = Studio.open(db_url, seed_demo=False)
    first.execute(AddWorkspace(APP))
    second = Studio.open(db_url, seed_demo=False)
    try:
        first.execute(RemoveWorkspace("ws-app"))
        with pytest.raises(errors.ConflictError,
                           match="The workspace “Streaming App” was removed there"):
            second.execute(AddInput(IOS))
        assert second.state.inputs == {}
        assert count(db_url, WorkspaceRow.id) == 0
    finally:
        second.close()
        first.close()


def test_a_macro_that_sets_up_and_uses_an_input_is_one_stored_step(
    studio: Studio, db_url: str
) -> None:
    set_up(studio)
    document = JourneyDocument(journey=Journey(id="j", name="Viewers", input_ids=("in-ios",)),
                               milestones=(Milestone(id="m", name="Everyone"),))
    studio.execute(CreateJourney(document))
    before = stored(db_url)
    step = Macro("Move the journey to a new input", [
        AddWorkspace(Workspace(id="ws-tv", name="TV App")),
        AddInput(Input(id="in-tv", workspace_id="ws-tv", name="tvOS", platform="tvOS")),
        SetJourneyInputs("j", ("in-tv",)),
        RemoveInput("in-ios"),
    ])
    studio.execute(step)
    assert stored(db_url) == in_memory(studio)
    assert studio.state.journey("j").journey.input_ids == ("in-tv",)
    studio.undo(step)
    assert stored(db_url) == in_memory(studio) == before


def test_renaming_what_another_window_removed_does_not_bring_it_back(db_url: str) -> None:
    first = Studio.open(db_url, seed_demo=False)
    set_up(first)
    first.execute(AddWorkspace(Workspace(id="ws-kiosk", name="Kiosks")))
    second = Studio.open(db_url, seed_demo=False)
    try:
        first.execute(RemoveInput("in-web"))
        first.execute(RemoveWorkspace("ws-kiosk"))
        after_first = stored(db_url)
        for command, fragment in (
            (RenameInput("in-web", "Browser"),
             "The input “Streaming App/Browser” was removed there."),
            (RenameWorkspace("ws-kiosk", "Tablets"), "The workspace “Tablets” was removed there."),
        ):
            before = in_memory(second)
            with pytest.raises(errors.ConflictError, match=fragment):
                second.execute(command)
            assert in_memory(second) == before
            assert stored(db_url) == after_first
    finally:
        second.close()
        first.close()
