"""Long work never blocks an edit (DESIGN.md section 6).

An evaluation computes in its own read transaction and takes the write lock
only to apply its result, so an edit made while it computes is stored at once.
A write that still meets a busy database (another writer holding the lock)
waits briefly, then fails with a message for the marketer, never the SQL.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from app.core.commands import RenameMilestone
from app.core.errors import StudioError
from app.engine import evaluation
from app.engine.evaluation import stored_members
from app.store import database as store_database
from app.store import memberships
from app.store.database import BUSY_MESSAGE
from app.studio import Studio

TRIAL = "jr-trial-to-paid"
SIGNED_UP = "ms-signed-up"

COMPUTE_SECONDS = 3.0
"""How long the slowed-down evaluation computes: far longer than an edit may wait."""


@pytest.fixture
def url(demo_url: str) -> str:
    return demo_url


@pytest.fixture
def studio(url: str) -> Iterator[Studio]:
    opened = Studio.open(url)
    yield opened
    opened.close()


def stored_name(url: str, milestone_id: str) -> str:
    """The milestone's name as a fresh load from the store has it."""
    fresh = Studio.open(url)
    try:
        return fresh.state.journey(TRIAL).milestone(milestone_id).name
    finally:
        fresh.close()


class SlowCompute:
    """Stands in for ``milestone_query``: the first milestone takes ``COMPUTE_SECONDS``.

    The pause happens while the evaluation builds its sets, before anything of
    the run is stored: what a large database does to a real evaluation.
    """

    def __init__(self, real: Any) -> None:
        self.real = real
        self.computing = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.computing.is_set():
            self.computing.set()
            time.sleep(COMPUTE_SECONDS)
        return self.real(*args, **kwargs)


def test_an_edit_during_a_long_evaluation_is_stored_within_a_second(
    studio: Studio, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SlowCompute(evaluation.milestone_query)
    monkeypatch.setattr(evaluation, "milestone_query", slow)
    document = studio.state.journey(TRIAL).document()
    outcome: dict[str, Any] = {}

    def evaluate() -> None:
        try:
            outcome["result"] = studio.evaluate(document)
        except BaseException as exc:  # reported by the assertions below
            outcome["error"] = exc

    worker = threading.Thread(target=evaluate)
    worker.start()
    try:
        assert slow.computing.wait(30), "the evaluation never reached its compute phase"
        started = time.monotonic()
        studio.execute(RenameMilestone(TRIAL, SIGNED_UP, "Started a trial"))
        took = time.monotonic() - started
    finally:
        worker.join(60)
    assert took < 1.0, f"the edit waited {took:.1f} s for the evaluation"
    assert stored_name(url, SIGNED_UP) == "Started a trial"
    # The evaluation finished and stored its result all the same.
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert len(stored_members(studio.database, SIGNED_UP)) == result.milestone(SIGNED_UP).size


@pytest.fixture
def short_busy_wait(monkeypatch: pytest.MonkeyPatch) -> float:
    """The busy wait cut to half a second, so the test does not wait the full time."""
    monkeypatch.setattr(store_database, "SQLITE_BUSY_TIMEOUT_MS", 500)
    monkeypatch.setattr(store_database, "POSTGRES_LOCK_TIMEOUT_MS", 500)
    return 0.5


@contextmanager
def another_writer(url: str) -> Iterator[None]:
    """Another process in the middle of writing: it holds the lock an edit needs.

    SQLite: a write transaction (BEGIN IMMEDIATE) on its own connection.
    PostgreSQL: a transaction that locked the journey's row for an update.
    """
    if url.startswith("sqlite"):
        other = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            yield
            other.execute("ROLLBACK")
        finally:
            other.close()
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("SELECT id FROM journeys WHERE id = :id FOR UPDATE"), {"id": TRIAL}
            )
            yield
    finally:
        engine.dispose()


def test_a_write_meeting_a_held_write_lock_waits_then_says_the_database_is_busy(
    url: str, short_busy_wait: float
) -> None:
    studio = Studio.open(url)
    try:
        with another_writer(url):
            started = time.monotonic()
            with pytest.raises(StudioError) as refused:
                studio.execute(RenameMilestone(TRIAL, SIGNED_UP, "Started a trial"))
            waited = time.monotonic() - started
        message = str(refused.value)
        assert message == BUSY_MESSAGE
        assert message.startswith("The database is busy (an evaluation or import is writing)")
        for sql in ("UPDATE", "INSERT", "SELECT", "locked", "[SQL", "journeys"):
            assert sql not in message
        assert waited >= short_busy_wait * 0.8, "it gave up without waiting"
        # Nothing changed: in memory, and in the store.
        assert studio.state.journey(TRIAL).milestone(SIGNED_UP).name == "Signed up for trial"
        assert stored_name(url, SIGNED_UP) == "Signed up for trial"
        # Once the other writer is done, the same edit goes through.
        studio.execute(RenameMilestone(TRIAL, SIGNED_UP, "Started a trial"))
        assert stored_name(url, SIGNED_UP) == "Started a trial"
    finally:
        studio.close()


def test_an_evaluation_that_cannot_store_its_result_says_the_database_is_busy(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storing waits longer than an edit does, but not for ever: then the same message."""
    monkeypatch.setattr(memberships, "APPLY_BUSY_TIMEOUT_MS", 300)
    studio = Studio.open(sqlite_url)
    try:
        document = studio.state.journey(TRIAL).document()
        with another_writer(sqlite_url), pytest.raises(StudioError) as refused:
            studio.evaluate(document)
        assert str(refused.value) == BUSY_MESSAGE
        assert stored_members(studio.database, SIGNED_UP) == set()
        # The next run stores its result.
        result = studio.evaluate(document)
        assert len(stored_members(studio.database, SIGNED_UP)) == result.milestone(SIGNED_UP).size
    finally:
        studio.close()


def test_a_run_stored_while_another_computed_is_taken_into_account(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs of one journey: the one that stores last compares with what the first stored.

    Its adds and drops are computed against the memberships it read; when
    another run stored in between, they are computed again under the write
    lock, so the stored members are exactly its sets and its counts add up.
    """
    document = studio.state.journey(TRIAL).document()
    earlier = datetime.now(UTC) - timedelta(days=20)
    real_apply = evaluation._apply
    overtaken: dict[str, Any] = {}

    def apply_after_another_run(connection: Any, plan: Any) -> Any:
        if not overtaken:
            overtaken["run"] = None  # the other run stores at once
            overtaken["run"] = studio.evaluate(document, earlier, store=True)
        return real_apply(connection, plan)

    monkeypatch.setattr(evaluation, "_apply", apply_after_another_run)
    result = studio.evaluate(document)
    other = overtaken["run"]
    sizes = [(a.size, b.size) for a, b in zip(result.milestones, other.milestones, strict=True)]
    assert any(now != then for now, then in sizes), "the two runs should differ"
    for mine, before in zip(
        (result.population, *result.milestones), (other.population, *other.milestones),
        strict=True,
    ):
        assert mine.size == before.size + mine.added - mine.removed, mine.name
        assert len(stored_members(studio.database, mine.audience_id)) == mine.size
    # Nothing left to change: a run at the same time finds the stored sets equal to its own.
    again = studio.evaluate(document, result.as_of)
    assert all(a.added == a.removed == 0 for a in (again.population, *again.milestones))
