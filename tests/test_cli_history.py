"""``journeys history MILESTONE``: the size history as text and as JSON, exactly.

Evaluations are stored at chosen times (``evaluate --as-of --store`` does the same)
with imports in between, so every number printed is known in advance: who joined,
who left, the last 24 hours and the volatility of the week.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cli import main
from app.core.commands import AddInput, AddWorkspace, CreateJourney
from app.core.criteria import AudienceDefinition, Clause, EventCriterion, TimeWindow
from app.core.models import Input, Journey, JourneyDocument, Milestone, Workspace
from app.studio import Studio

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
RECENTLY = AudienceDefinition(clauses=(Clause(item=EventCriterion(
    event_name="Watch content", window=TimeWindow(kind="within_last_days", days=2))),))


def milestone(journey: str, name: str) -> Milestone:
    return Milestone(id=f"ms-{journey}", name=name, definition=RECENTLY)


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Two journeys with a milestone "Watched recently" each; the first evaluated three
    times: 3 users, then 2 (+2 −3), then 1 (+1 −2) an hour ago."""
    url = str(tmp_path / "j.db")
    studio = Studio.open(url, seed_demo=False)
    try:
        studio.execute(AddWorkspace(Workspace(id="ws", name="App")))
        studio.execute(AddInput(Input(id="in", workspace_id="ws", name="Web", platform="Web")))
        for journey, name in (("a", "Viewers"), ("b", "Lapsed")):
            studio.execute(CreateJourney(JourneyDocument(
                journey=Journey(id=journey, name=name, input_ids=("in",)),
                milestones=(milestone(journey, "Watched recently"),))))
        document = studio.state.journey("a").document()
        for users, watched, as_of in ((range(3), NOW - 4 * DAY - HOUR, NOW - 3 * DAY),
                                      (range(3, 5), NOW - 2.5 * DAY, NOW - 2 * DAY),
                                      (range(5, 6), NOW - 3 * HOUR, NOW - HOUR)):
            path = tmp_path / f"watch-{users.start}.csv"
            path.write_text("user_id,timestamp,event_name\n" + "".join(
                f"u{n},{watched:%Y-%m-%dT%H:%M:%SZ},Watch content\n" for n in users))
            studio.import_files([path], "csv", "in")
            studio.evaluate(document, as_of, store=True)
    finally:
        studio.close()
    return url


def run(db: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--db", db, "history", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def test_the_history_as_text(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(db, capsys, "ms-a")
    assert code == 0
    first, second, third = (stamp(NOW - 3 * DAY), stamp(NOW - 2 * DAY), stamp(NOW - HOUR))
    assert out == (
        "Watched recently (in “Viewers”): 3 stored evaluations\n"
        "Size now: 1 user\n"
        "Last 24 hours: +1 joined, −2 left (1 evaluation)\n"
        "Volatility (last 7 days): 400%\n"
        "\n"
        "As of (UTC)       Size  Joined  Left\n"
        "----------------  ----  ------  ----\n"
        f"{first}  3     +3      −0\n"
        f"{second}  2     +2      −3\n"
        f"{third}  1     +1      −2\n"
    )


def test_the_history_as_json(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(db, capsys, "watched RECENTLY", "--journey", "Viewers", "--json")
    assert code == 0
    assert json.loads(out) == {
        "journey": "Viewers", "journey_id": "a",
        "milestone": "Watched recently", "milestone_id": "ms-a",
        "evaluations": 3, "size": 1,
        "last_24_hours": {"added": 1, "removed": 2, "evaluations": 1},
        # (2 + 3) + (1 + 2) users came or went over an average size of (3 + 2 + 1) / 3.
        "volatility": 4.0, "volatility_days": 7,
        "history": [
            {"as_of": (NOW - 3 * DAY).isoformat(), "size": 3, "added": 3, "removed": 0},
            {"as_of": (NOW - 2 * DAY).isoformat(), "size": 2, "added": 2, "removed": 3},
            {"as_of": (NOW - HOUR).isoformat(), "size": 1, "added": 1, "removed": 2},
        ],
    }


def test_a_milestone_never_evaluated(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(db, capsys, "Watched recently", "--journey", "Lapsed")
    assert code == 0
    assert out == ("Watched recently (in “Lapsed”): 0 stored evaluations\n"
                   "No evaluations yet: journeys evaluate JOURNEY stores one.\n")
    code, out, _err = run(db, capsys, "ms-b", "--json")
    assert json.loads(out)["history"] == [] and json.loads(out)["volatility"] is None


def test_an_ambiguous_or_unknown_name_is_refused(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(db, capsys, "Watched recently")
    assert (code, out) == (1, "")
    assert err == ("journeys: Several journeys have a milestone called “Watched recently”: "
                   "“Lapsed”, “Viewers”. Name the journey with --journey, or give the "
                   "milestone's id.\n")
    code, out, err = run(db, capsys, "Converted")
    assert (code, err) == (1, "journeys: There is no milestone called “Converted”.\n")
