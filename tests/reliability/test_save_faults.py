"""What is shown is what is stored: a save that fails at any step leaves memory equal to the store.

A save is a row of steps: the SQL statements of its transaction, the commit, then
the work after the commit (forgetting the memberships of a deleted journey). For
each kind of edit, a dry run counts those steps; then the edit is made again with
the N-th step failing, for every N. Whatever failed, the window's copy of the
account must equal a fresh load of the database, only the studio's typed error may
reach the caller, and a following edit neither brings back nor loses anything.
A failure before or at the commit stores nothing and leaves nothing changed; a
failure once the commit is through (reported by the commit itself, or met by the
clean-up after it) leaves the edit done, because it is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.core.commands import (
    AddInput,
    AddMilestone,
    AddOutput,
    AddWorkspace,
    Command,
    CreateJourney,
    DeleteJourney,
    RemoveInput,
    RemoveMilestone,
    RemoveOutput,
    RemoveWorkspace,
    RenameInput,
    RenameJourney,
    RenameMilestone,
    RenameWorkspace,
    SetActiveAudienceLimit,
    SetJourneyInputs,
    SetOutputActive,
)
from app.core.errors import StudioError
from app.core.models import (
    Account,
    Connection,
    Input,
    Journey,
    JourneyDocument,
    Milestone,
    Output,
    Workspace,
)
from app.store import AccountData, AccountRepository, Database
from app.studio import Studio

MAIN = "j-main"
EMPTY = "j-empty"
OTHER = "j-other"


def seed(url: str) -> None:
    """An account with two connections, a journey with a tree and outputs, an empty one
    (which may be deleted) and another (for the unrelated edit that follows each fault)."""
    database = Database(url)
    try:
        with database.transaction() as session:
            AccountRepository(session).create(
                AccountData(
                    account=Account(id="acct", name="Acme", active_audience_limit=5),
                    workspaces=(Workspace(id="ws-app", name="App"),
                                Workspace(id="ws-empty", name="Empty")),
                    inputs=(Input(id="in-ios", workspace_id="ws-app", name="iOS",
                                  platform="iOS"),
                            Input(id="in-web", workspace_id="ws-app", name="Web",
                                  platform="Web")),
                    connections=(
                        Connection(id="cn-hook", name="Webhook", partner="webhook"),
                        Connection(id="cn-braze", name="Braze", partner="braze"),
                    ),
                )
            )
    finally:
        database.dispose()
    studio = Studio.open(url, seed_demo=False)
    try:
        main = JourneyDocument(
            journey=Journey(id=MAIN, name="Onboarding", input_ids=("in-ios",)),
            milestones=(
                Milestone(id="m1", name="Signed up"),
                Milestone(id="m2", name="Activated", parent_id="m1"),
                Milestone(id="m3", name="Paid", parent_id="m2"),
                Milestone(id="m9", name="Idle", parent_id="m1"),
            ),
            outputs=(
                Output(id="o-on", milestone_id="m2", connection_id="cn-hook"),
                Output(id="o-off", milestone_id="m3", connection_id="cn-braze", active=False),
            ),
        )
        for document in (
            main,
            JourneyDocument(journey=Journey(id=EMPTY, name="Empty")),
            JourneyDocument(journey=Journey(id=OTHER, name="Other")),
        ):
            studio.execute(CreateJourney(document))
    finally:
        studio.close()


EDITS: dict[str, Callable[[], Command]] = {
    "add milestone": lambda: AddMilestone(MAIN, Milestone(id="m-new", name="New", parent_id="m3")),
    "rename milestone": lambda: RenameMilestone(MAIN, "m2", "Engaged"),
    "remove milestone": lambda: RemoveMilestone(MAIN, "m9"),
    "add output": lambda: AddOutput(
        MAIN, Output(id="o-new", milestone_id="m1", connection_id="cn-braze")
    ),
    "toggle output": lambda: SetOutputActive(MAIN, "o-off", True),
    "remove output": lambda: RemoveOutput(MAIN, "o-on"),
    "create journey": lambda: CreateJourney(
        JourneyDocument(journey=Journey(id="j-new", name="Fresh"))
    ),
    "rename journey": lambda: RenameJourney(MAIN, "Welcome"),
    "delete journey": lambda: DeleteJourney(EMPTY),
    "set limit": lambda: SetActiveAudienceLimit(3),
    "add workspace": lambda: AddWorkspace(Workspace(id="ws-new", name="New"), 0),
    "rename workspace": lambda: RenameWorkspace("ws-app", "Streaming App"),
    "remove workspace": lambda: RemoveWorkspace("ws-empty"),
    "add input": lambda: AddInput(Input(id="in-tv", workspace_id="ws-app", name="TV",
                                        platform="tvOS"), 0),
    "rename input": lambda: RenameInput("in-web", "Browser"),
    "remove input": lambda: RemoveInput("in-web"),
    "set journey inputs": lambda: SetJourneyInputs(MAIN, ("in-web", "in-ios")),
}


@dataclass
class Steps:
    """Counts the SQL statements and commits on one engine; fails the ``fail_at``-th.

    A commit is two steps: failing before it stores nothing; failing once it is
    through ("committed") is a commit the database carried out but reported as
    failed, as when the connection drops while it answers.
    """

    engine: Engine
    fail_at: int | None = None
    count: int = 0
    log: list[str] | None = None

    def step(self, kind: str) -> None:
        self.count += 1
        if self.log is not None:
            self.log.append(kind)
        if self.count == self.fail_at:
            raise OperationalError(f"injected fault at step {self.count} ({kind})", {},
                                   OSError("disk I/O error"))

    def _statement(self, *_args: Any) -> None:
        self.step("statement")

    def _commit(self, _connection: Any) -> None:
        self.step("commit")

    def _committed(self, session: Session) -> None:
        if session.get_bind() is self.engine:
            self.step("committed")

    @contextmanager
    def watching(self) -> Iterator[None]:
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        event.listen(Session, "after_commit", self._committed)
        try:
            yield
        finally:
            event.remove(self.engine, "before_cursor_execute", self._statement)
            event.remove(self.engine, "commit", self._commit)
            event.remove(Session, "after_commit", self._committed)


def stored(url: str) -> Studio:
    """A fresh load of the database, as another window would open it."""
    return Studio.open(url, seed_demo=False)


def assert_memory_is_store(studio: Studio, url: str, context: str = "") -> None:
    fresh = stored(url)
    try:
        assert studio.state.snapshot() == fresh.state.snapshot(), context
        assert studio.state.setup() == fresh.state.setup(), context
        ids = [g.id for g in fresh.state.journeys()]
        assert [studio.version(j) for j in ids] == [fresh.version(j) for j in ids], context
        assert {g.id for g in studio.state.journeys()} == set(ids), context
    finally:
        fresh.close()


def everything(studio: Studio) -> tuple[Any, ...]:
    """The account and its journeys, workspaces and inputs, as comparable values."""
    return studio.state.snapshot(), studio.state.setup()


def dry_run(studio: Studio, make: Callable[[], Command]) -> tuple[int, int]:
    """How many steps the edit's save takes, and which of them is its commit."""
    steps = Steps(studio.database.engine, log=[])
    command = make()
    with steps.watching():
        studio.execute(command)
    assert steps.log is not None
    commit = steps.log.index("commit") + 1
    studio.undo(command)  # back to where every trial starts
    return steps.count, commit


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_save_failing_at_any_step_leaves_memory_equal_to_the_store(
    db_url: str, edit: str
) -> None:
    seed(db_url)
    make = EDITS[edit]
    studio = stored(db_url)
    try:
        total, commit = dry_run(studio, make)
        assert commit <= total
        for fail_at in range(1, total + 1):
            before = everything(studio)
            command = make()
            steps = Steps(studio.database.engine, fail_at=fail_at)
            with steps.watching():
                if fail_at <= commit:
                    with pytest.raises(StudioError, match="Not saved"):
                        studio.execute(command)
                else:
                    studio.execute(command)  # stored: the cleanup's failure is not the edit's
            context = f"{edit}, step {fail_at} of {total} (commit at {commit})"
            assert_memory_is_store(studio, db_url, context)
            if fail_at <= commit:
                assert everything(studio) == before, context
            else:
                assert everything(studio) != before, context
            follow_up(studio, db_url, command, stored_edit=fail_at > commit)
            if fail_at > commit:
                studio.undo(command)
                assert everything(studio) == before, context
            assert_memory_is_store(studio, db_url)
    finally:
        studio.close()


def follow_up(studio: Studio, url: str, command: Command, *, stored_edit: bool) -> None:
    """An unrelated edit, then one of the journey the failed edit touched, if it is shown:
    neither may bring back what was deleted nor drop what was kept."""
    journeys = {g.id for g in studio.state.journeys()}
    for journey_id in (OTHER, *command.journey_ids):
        if studio.state.has_journey(journey_id):
            name = studio.state.journey(journey_id).name
            studio.execute(RenameJourney(journey_id, f"{name}!"))
            studio.execute(RenameJourney(journey_id, name))
    assert {g.id for g in studio.state.journeys()} == journeys
    assert_memory_is_store(studio, url, "after the following edits")
    if isinstance(command, DeleteJourney):
        assert studio.state.has_journey(EMPTY) is not stored_edit


def forgotten(studio: Studio, journey_id: str) -> bool:
    """Whether nothing of the journey's population is stored any more (its audience key)."""
    from app.store.numbering import keys

    with studio.database.engine.connect() as connection:
        return connection.execute(
            select(keys.c.audience_id).where(keys.c.audience_id == journey_id)
        ).first() is None


def failing_clean_up(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Make the work after a deletion's commit fail, once; returns the ids it was asked."""
    import app.engine.evaluation as evaluation

    real = evaluation.forget_audiences
    asked: list[list[str]] = []

    def forget(database: Any, audience_ids: Any) -> None:
        asked.append(list(audience_ids))
        if len(asked) == 1:
            raise OperationalError("DELETE FROM audience_members", {}, OSError("disk I/O error"))
        real(database, audience_ids)

    monkeypatch.setattr(evaluation, "forget_audiences", forget)
    return asked


def test_a_deletion_whose_clean_up_fails_stays_deleted_and_is_forgotten_after_the_next_save(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db_url)
    studio = stored(db_url)
    try:
        studio.evaluate(studio.state.journey(EMPTY).document())
        assert not forgotten(studio, EMPTY)
        asked = failing_clean_up(monkeypatch)

        studio.execute(DeleteJourney(EMPTY))  # stored: no error for the window to show

        assert not studio.state.has_journey(EMPTY)
        assert not forgotten(studio, EMPTY)  # left behind, harmless: no journey refers to it
        # (A window opened now sweeps it at start-up; this one tries again after a save.)
        assert_memory_is_store(studio, db_url, "after the deletion")
        studio.execute(RenameJourney(OTHER, "Other (renamed)"))
        assert asked == [[EMPTY], [EMPTY]]
        assert forgotten(studio, EMPTY)
        assert not studio.state.has_journey(EMPTY)
        assert_memory_is_store(studio, db_url, "after the next save")
    finally:
        studio.close()


def test_an_undone_deletion_keeps_what_a_failed_clean_up_left(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db_url)
    studio = stored(db_url)
    try:
        studio.evaluate(studio.state.journey(EMPTY).document())
        asked = failing_clean_up(monkeypatch)
        delete = DeleteJourney(EMPTY)
        studio.execute(delete)
        studio.undo(delete)  # the journey is back: its population is its own again

        studio.execute(RenameJourney(OTHER, "Other (renamed)"))

        assert asked == [[EMPTY]]
        assert not forgotten(studio, EMPTY)
        assert studio.state.has_journey(EMPTY)
        assert_memory_is_store(studio, db_url, "after the undo and the next save")
    finally:
        studio.close()
