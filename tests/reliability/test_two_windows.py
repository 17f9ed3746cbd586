"""Two windows on one database: no rule of the account is kept only in memory.

Each :class:`~app.studio.Studio` is one window: its own copy of the account in
memory, saving to a shared database. A window that has not seen the other's
edits must not store what the rules forbid (more active audiences than the
stored limit, two journeys whose names differ only in capitals), nor overwrite
the other's account settings. The refusal is a ConflictError, which the window
shows with its Reload banner and the CLI prints; nothing of it is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Table, delete, update

from app.cli import main
from app.core.account import journey_name_key
from app.core.commands import (
    Command,
    CreateJourney,
    RenameJourney,
    SetActiveAudienceLimit,
    SetOutputActive,
)
from app.core.errors import ConflictError, StudioError
from app.core.models import Account, Connection, Journey, JourneyDocument, Milestone, Output
from app.store import AccountData, AccountRepository, Database
from app.store.schema import AccountRow, JourneyInputRow, JourneyRow, MilestoneRow, OutputRow
from app.studio import Studio

CONNECTIONS = (
    Connection(id="cn-hook", name="Webhook", partner="webhook"),
    Connection(id="cn-braze", name="Braze", partner="braze"),
)


def seed_account(url: str, limit: int) -> None:
    """Store an account with two connections: what journeys need to have outputs."""
    database = Database(url)
    try:
        with database.transaction() as session:
            AccountRepository(session).create(
                AccountData(
                    account=Account(id="acct", name="Acme", active_audience_limit=limit),
                    connections=CONNECTIONS,
                )
            )
    finally:
        database.dispose()


def chain_journey(name: str, depth: int, active_at: int, journey_id: str | None = None
                  ) -> JourneyDocument:
    """A journey of ``depth`` milestones in a line, “Step 1” … “Step N”, with an active
    output on step ``active_at`` and an inactive one on the last step."""
    journey = Journey(name=name) if journey_id is None else Journey(id=journey_id, name=name)
    prefix = journey.id
    milestones = tuple(
        Milestone(id=f"{prefix}-m{n}", name=f"Step {n}",
                  parent_id=f"{prefix}-m{n - 1}" if n > 1 else None)
        for n in range(1, depth + 1)
    )
    outputs = (
        Output(id=f"{prefix}-on", milestone_id=f"{prefix}-m{active_at}", connection_id="cn-hook"),
        Output(id=f"{prefix}-off", milestone_id=f"{prefix}-m{depth}", connection_id="cn-braze",
               active=False),
    )
    return JourneyDocument(journey=journey, milestones=milestones, outputs=outputs)


def stored(url: str) -> tuple[object, ...]:
    """What a window opened now would show."""
    studio = Studio.open(url, seed_demo=False)
    try:
        return studio.state.snapshot()
    finally:
        studio.close()


@pytest.fixture
def windows(db_url: str) -> Iterator[tuple[Studio, Studio]]:
    """Two windows on one database with a journey of five steps, three of them active
    (an active output on step 3, an inactive one on step 5), and a limit of 10."""
    seed_account(db_url, limit=10)
    first = Studio.open(db_url, seed_demo=False)
    first.execute(CreateJourney(chain_journey("Onboarding", 5, 3, journey_id="onb")))
    second = Studio.open(db_url, seed_demo=False)
    yield first, second
    first.close()
    second.close()


def refused(window: Studio, command: Command, *patterns: str) -> None:
    """``command`` is refused with a conflict whose message matches every pattern, and the
    window's memory is as it was."""
    before = window.state.snapshot()
    with pytest.raises(ConflictError) as caught:
        window.execute(command)
    for pattern in patterns:
        assert pattern in str(caught.value)
    assert window.state.snapshot() == before


def test_a_stale_window_cannot_activate_past_a_limit_lowered_elsewhere(
    db_url: str, windows: tuple[Studio, Studio]
) -> None:
    first, second = windows
    first.execute(SetActiveAudienceLimit(3))
    after_first = stored(db_url)

    # The second window still believes the limit is 10: activating the output on step 5
    # (steps 4 and 5 become active, 5 in all) passes its own check, not the stored one.
    refused(second, SetOutputActive("onb", "onb-off", True),
            "“Step 4”, “Step 5”", "5 active audiences", "limit of 3")

    assert stored(db_url) == after_first
    second.reload()
    assert second.state.limit == 3
    assert second.state.active_audience_count() == 3


def test_a_stale_limit_change_does_not_overwrite_a_newer_one(
    db_url: str, windows: tuple[Studio, Studio]
) -> None:
    first, second = windows
    first.execute(SetActiveAudienceLimit(8))

    refused(second, SetActiveAudienceLimit(6), "another window")

    account, _ = stored(db_url)
    assert isinstance(account, Account)
    assert account.active_audience_limit == 8
    second.reload()
    second.execute(SetActiveAudienceLimit(6))
    assert stored(db_url)[0] == second.state.account


def test_a_stale_window_cannot_lower_the_limit_below_what_another_activated(
    db_url: str, windows: tuple[Studio, Studio]
) -> None:
    first, second = windows
    first.execute(SetOutputActive("onb", "onb-off", True))  # 5 active now
    after_first = stored(db_url)

    # The second window counts 3 active audiences, so 4 looks allowed to it.
    refused(second, SetActiveAudienceLimit(4), "5 audiences are active")

    assert stored(db_url) == after_first


def test_two_windows_cannot_both_create_same_and_same(
    db_url: str, windows: tuple[Studio, Studio]
) -> None:
    first, second = windows
    first.execute(CreateJourney(JourneyDocument(journey=Journey(name="Same"))))
    after_first = stored(db_url)

    refused(second, CreateJourney(JourneyDocument(journey=Journey(name="same"))),
            "“same”", "already")

    assert stored(db_url) == after_first
    second.reload()
    assert [g.name for g in second.state.journeys()] == ["Onboarding", "Same"]


def test_a_stale_rename_cannot_take_a_name_created_elsewhere(
    db_url: str, windows: tuple[Studio, Studio]
) -> None:
    first, second = windows
    first.execute(CreateJourney(JourneyDocument(journey=Journey(name="Win back"))))
    after_first = stored(db_url)

    refused(second, RenameJourney("onb", "WIN BACK"), "“WIN BACK”", "already")

    assert stored(db_url) == after_first


# ---------------------------------------------------------------------- interleaved edits

NAMES = ("Same", "same", "SAME ", "Other", "other")
WINDOW = st.integers(0, 1)
PICK = st.integers(0, 7)


def reset_database(url: str, limit: int) -> None:
    """Back to the seeded account with no journeys, between two examples: creating a
    database per example would cost more than the example."""
    database = Database(url)
    try:
        with database.transaction() as session:
            for row_type in (OutputRow, MilestoneRow, JourneyInputRow, JourneyRow):
                session.execute(delete(cast(Table, row_type.__table__)))
            session.execute(
                update(cast(Table, AccountRow.__table__)).values(
                    active_audience_limit=limit, version=1
                )
            )
    finally:
        database.dispose()


class TwoWindows(RuleBasedStateMachine):
    """Two windows (Studios) edit one database in turns, each from its own copy of the
    account, which goes stale as the other saves; a third reads what is stored.

    Invariants: the stored active count never exceeds the stored limit; stored
    journey names differ by more than capitals; an
    acknowledged edit is what a fresh load shows for what it changed; a refused edit
    changed neither the window's memory nor the store.
    """

    url = ""
    """The database, set per backend by the test that runs the machine."""

    def __init__(self) -> None:
        super().__init__()
        reset_database(self.url, limit=4)
        self.windows = [Studio.open(self.url, seed_demo=False) for _ in range(2)]
        self.fresh = Studio.open(self.url, seed_demo=False)
        self.acknowledged = self.refused = 0

    def teardown(self) -> None:
        for studio in (*self.windows, self.fresh):
            studio.close()

    # ------------------------------------------------------------------ edits

    @rule(window=WINDOW, name=st.sampled_from(NAMES), active=st.booleans())
    def create_journey(self, window: int, name: str, active: bool) -> None:
        document = chain_journey(name, depth=3, active_at=2)
        outputs = (document.outputs[0].model_copy(update={"active": active}),
                   document.outputs[1])
        self._edit(window, CreateJourney(document.model_copy(update={"outputs": outputs})))

    @rule(window=WINDOW, pick=PICK, name=st.sampled_from(NAMES))
    def rename_journey(self, window: int, pick: int, name: str) -> None:
        journey_id = self._journey(window, pick)
        if journey_id is not None:
            self._edit(window, RenameJourney(journey_id, name))

    @rule(window=WINDOW, pick=PICK, last=st.booleans(), active=st.booleans())
    def toggle_output(self, window: int, pick: int, last: bool, active: bool) -> None:
        journey_id = self._journey(window, pick)
        if journey_id is not None:
            output_id = f"{journey_id}-{'off' if last else 'on'}"
            self._edit(window, SetOutputActive(journey_id, output_id, active))

    @rule(window=WINDOW, limit=st.integers(0, 7))
    def set_limit(self, window: int, limit: int) -> None:
        self._edit(window, SetActiveAudienceLimit(limit))

    @rule(window=WINDOW)
    def reload(self, window: int) -> None:
        """What the Reload banner does after a conflict."""
        self.windows[window].reload()
        assert self.windows[window].state.snapshot() == self._stored()

    # ------------------------------------------------------------------ invariants

    @invariant()
    def stored_active_count_within_the_stored_limit(self) -> None:
        state = self.fresh.reload()
        assert state.active_audience_count() <= state.limit, (
            f"{state.active_audience_count()} active audiences stored against a limit "
            f"of {state.limit}"
        )

    @invariant()
    def stored_journey_names_differ_by_more_than_capitals(self) -> None:
        names = [g.name for g in self.fresh.reload().journeys()]
        assert len({journey_name_key(n) for n in names}) == len(names), names

    # ------------------------------------------------------------------ helpers

    def _journey(self, window: int, pick: int) -> str | None:
        journeys = sorted(g.id for g in self.windows[window].state.journeys())
        return journeys[pick % len(journeys)] if journeys else None

    def _stored(self) -> tuple[object, ...]:
        return self.fresh.reload().snapshot()

    def _edit(self, window: int, command: Command) -> None:
        studio = self.windows[window]
        memory_before, stored_before = studio.state.snapshot(), self._stored()
        try:
            studio.execute(command)
        except StudioError:
            self.refused += 1
            assert studio.state.snapshot() == memory_before, "a refused edit changed memory"
            assert self._stored() == stored_before, "a refused edit changed the store"
            return
        self.acknowledged += 1
        account, documents = self._stored()
        stored = {d.journey.id: d for d in cast(tuple[JourneyDocument, ...], documents)}
        for journey_id in command.journey_ids:
            assert stored.get(journey_id) == studio.state.journey(journey_id).document()
        if command.changes_account:
            assert account == studio.state.account


def test_two_windows_interleaving_edits_keep_every_rule_in_the_store(db_url: str) -> None:
    seed_account(db_url, limit=4)
    machine = type("TwoWindowsHere", (TwoWindows,), {"url": db_url})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
            report_multiple_bugs=False,
        ),
    )


# ---------------------------------------------------------------------- the command line


def test_the_cli_reports_a_name_saved_meanwhile_by_another_process_clearly(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``journeys journey import --name same`` loads the account, and another process saves
    “Same” before the import saves: a one-line error, exit status 1, nothing stored."""
    seed_account(db_url, limit=10)
    setup = Studio.open(db_url, seed_demo=False)
    setup.execute(CreateJourney(chain_journey("Onboarding", 3, 2)))
    setup.close()
    assert main(["--db", db_url, "journey", "export", "Onboarding"]) == 0
    exported = tmp_path / "onboarding.json"
    exported.write_text(capsys.readouterr().out, "utf-8")
    before = stored(db_url)
    opened = Studio.open

    def open_then_another_process_saves(url: str | None = None, **options: bool) -> Studio:
        studio = opened(url, **options)
        other = opened(url, seed_demo=False)
        other.execute(CreateJourney(JourneyDocument(journey=Journey(name="Same"))))
        other.close()
        return studio

    monkeypatch.setattr(Studio, "open", open_then_another_process_saves)
    code = main(["--db", db_url, "journey", "import", str(exported), "--name", "same"])
    monkeypatch.undo()

    error = capsys.readouterr().err
    assert code == 1
    assert error.startswith("journeys: There is already a journey called “same”")
    assert "Traceback" not in error and len(error.splitlines()) == 1
    account, documents = stored(db_url)
    assert sorted(d.journey.name for d in cast(tuple[JourneyDocument, ...], documents)) == [
        "Onboarding", "Same"]
    assert account == before[0]
