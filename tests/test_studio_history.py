"""Size history through the application service: every stored evaluation leaves a point.

Imports between evaluations grow the audience; an evaluation a month later, when the
users' events fall out of the milestone's 30 days, empties it. Runs on SQLite and,
when a server is available, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.core import errors
from app.core.commands import AddInput, AddWorkspace, CreateJourney
from app.core.criteria import AudienceDefinition, Clause, EventCriterion
from app.core.models import Input, Journey, JourneyDocument, Milestone, Workspace
from app.studio import Studio

APP = Workspace(id="ws-app", name="Streaming App")
WEB = Input(id="in-web", workspace_id="ws-app", name="Web", platform="Web")
WATCHED = Milestone(id="ms-watched", name="Watched", definition=AudienceDefinition(
    clauses=(Clause(item=EventCriterion(event_name="Watch content")),)))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def studio(db_url: str) -> Iterator[Studio]:
    opened = Studio.open(db_url, seed_demo=False)
    for command in (AddWorkspace(APP), AddInput(WEB), CreateJourney(JourneyDocument(
            journey=Journey(id="j", name="Viewers", input_ids=("in-web",)),
            milestones=(WATCHED,)))):
        opened.execute(command)
    yield opened
    opened.close()


def import_watchers(studio: Studio, folder: Path, users: range, at: datetime) -> None:
    path = folder / f"watchers-{users.start}.csv"
    path.write_text("user_id,timestamp,event_name\n" + "".join(
        f"u{n},{at:%Y-%m-%dT%H:%M:%SZ},Watch content\n" for n in users))
    assert studio.import_files([path], "csv", "in-web").events_imported == len(users)


def test_each_stored_evaluation_adds_a_point(studio: Studio, tmp_path: Path) -> None:
    assert studio.size_history(WATCHED.id) == []
    now = datetime.now(UTC).replace(microsecond=0)
    document = studio.state.journey("j").document()
    import_watchers(studio, tmp_path, range(3), now - timedelta(hours=2))
    studio.evaluate(document)
    import_watchers(studio, tmp_path, range(3, 5), now - timedelta(hours=1))
    studio.evaluate(document)
    studio.evaluate(document)
    later = now + timedelta(days=31)
    studio.evaluate(document, later, store=True)
    # A what-if that is not stored leaves no point.
    studio.evaluate(document, now + timedelta(days=40))

    points = studio.size_history(WATCHED.id)
    assert [(p.size, p.added, p.removed) for p in points] == [
        (3, 3, 0), (5, 2, 0), (5, 0, 0), (0, 0, 5)]
    assert all(p.as_of.tzinfo is not None for p in points)
    assert points[-1].as_of == later
    assert points[0].as_of <= points[1].as_of <= points[2].as_of < later
    assert now - timedelta(minutes=5) < points[0].as_of


def test_a_milestone_that_does_not_exist_is_refused(studio: Studio) -> None:
    with pytest.raises(errors.NotFoundError):
        studio.size_history("ms-gone")
