"""End to end through the command line: a journey with a webhook and a file-drop output.

A new database with the demo data; two connections added with ``journeys
connection add``; a journey imported from a file; two outputs added with
``journeys output add``; ``journeys run --once``. The webhook's receiver (a real
HTTP server on 127.0.0.1 that de-duplicates by Idempotency-Key) and the drop
folder (read manifest by manifest) are then turned back into audiences, which
must equal the engine's stored members. More events are imported and the run
repeated: equal again. Then the webhook output is deactivated, the data
changes, it is activated again: the receiver's audience equals the members.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from app.cli import main
from app.studio import Studio
from tests.partner import member_ids

JOURNEY = "Trial watchers"
AUDIENCE = f"{JOURNEY}/Watched content"


class Receiver:
    """A webhook receiver: applies each idempotency key once, keeps each audience."""

    def __init__(self) -> None:
        self.audiences: dict[str, set[str]] = {}
        self.keys: set[str] = set()

    def __call__(self, request: Request) -> Response:
        key = request.headers["Idempotency-Key"]
        if key not in self.keys:
            self.keys.add(key)
            for profile in orjson.loads(request.get_data())["user_profiles"]:
                for change in profile["audiences"]:
                    held = self.audiences.setdefault(change["audience_name"], set())
                    if change["action"] == "add":
                        held.add(profile["mpid"])
                    else:
                        held.discard(profile["mpid"])
        return Response("{}", status=202, content_type="application/json")


def folder_audience(folder: Path) -> set[str]:
    """The audience as a reader of the drop folder rebuilds it, manifest by manifest."""
    held: set[str] = set()
    manifests = [json.loads(p.read_text()) for p in folder.glob("*.manifest.json")]
    for manifest in sorted(manifests, key=lambda m: m["created_at"]):
        for item in manifest["files"]:
            with (folder / item["name"]).open(newline="") as rows:
                for row in csv.DictReader(rows):
                    if row["action"] == "add":
                        held.add(row["user_id"])
                    else:
                        held.discard(row["user_id"])
    return held


def members(db: str, milestone_name: str) -> set[str]:
    """The engine's stored members of the journey's milestone, as partners know them."""
    studio = Studio.open(db)
    try:
        graph = studio.state.journey_by_name(JOURNEY)
        milestone = next(m for m in graph.milestones_in_order() if m.name == milestone_name)
        return member_ids(studio.database, milestone.id)
    finally:
        studio.close()


def journeys(db: str, *args: str) -> int:
    return main(["--db", db, *args])


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "journeys.db")


def test_webhook_and_file_drop_receive_the_engines_audience_run_after_run(
    db: str, tmp_path: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = Receiver()
    httpserver.expect_request("/audiences", method="POST").respond_with_handler(receiver)
    drop = tmp_path / "drop"
    drop.mkdir()
    # The demo's own active outputs point at partners this machine doesn't have.
    assert journeys(db, "account", "show") == 0
    for demo_output in ("California promo/All app and web users/Facebook Custom Audiences",
                        "California promo/In California/Facebook Custom Audiences",
                        "Trial to paid/Signed up for trial/CRM webhook"):
        assert journeys(db, "output", "deactivate", demo_output) == 0
    assert journeys(db, "connection", "add", "--name", "Hook", "--partner", "webhook",
                    "--set", f"url={httpserver.url_for('/audiences')}") == 0
    assert journeys(db, "connection", "add", "--name", "Drop", "--partner", "file_drop",
                    "--set", f"folder={drop}") == 0
    capsys.readouterr()
    assert journeys(db, "journey", "export", "Trial to paid") == 0
    exported: dict[str, Any] = json.loads(capsys.readouterr().out)
    exported["journey"]["name"] = JOURNEY
    source = tmp_path / "journey.json"
    source.write_text(json.dumps(exported))
    assert journeys(db, "journey", "import", str(source)) == 0
    assert journeys(db, "output", "add", AUDIENCE, "Hook") == 0
    assert journeys(db, "output", "add", AUDIENCE, "Drop") == 0

    capsys.readouterr()
    assert journeys(db, "run", "--once") == 0
    printed = capsys.readouterr().out
    assert "Watched content → Hook" in printed and "delivered" in printed
    expected = members(db, "Watched content")
    assert expected, "the audience has members"
    assert receiver.audiences["Watched content"] == expected
    assert folder_audience(drop) == expected

    # More events arrive: the audience changes, and both partners follow.
    assert journeys(db, "demo", "--users", "300", "--seed", "11") == 0
    assert journeys(db, "run", "--once") == 0
    grown = members(db, "Watched content")
    assert grown != expected, "the new events changed the audience"
    assert receiver.audiences["Watched content"] == grown
    assert folder_audience(drop) == grown

    # Inactive: nothing sent while the data changes; active again: the difference.
    hook = f"{AUDIENCE}/Hook"
    assert journeys(db, "output", "deactivate", hook) == 0
    assert journeys(db, "demo", "--users", "300", "--seed", "12") == 0
    assert journeys(db, "run", "--once") == 0
    latest = members(db, "Watched content")
    assert latest != grown
    assert receiver.audiences["Watched content"] == grown, "nothing while inactive"
    assert folder_audience(drop) == latest
    assert journeys(db, "output", "activate", hook) == 0
    assert journeys(db, "run", "--once") == 0
    assert receiver.audiences["Watched content"] == latest
