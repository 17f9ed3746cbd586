"""``journeys evaluate`` and ``journeys journey export / import``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.store import Database

from .data import BASE_MS, DAY, Data, Event, add_rows

IOS = "in-streaming-ios"  # the demo account's Streaming App/iOS input
# The demo account may come with demo events: these users and names are the test's own.
U1, U2, U3 = 900_001, 900_002, 900_003
OPEN = "Test open"


def journey_file(tmp_path: Path, *, bad: bool = False) -> Path:
    purchase: dict[str, Any] = {"kind": "ecommerce", "action": "purchase",
                                "amount": [{"operator": "ge", "value": 10}]}
    if bad:
        purchase["amount"] = [{"operator": "between", "value": [10]}]
    data = {
        "format": "journey-studio.journey",
        "version": 1,
        "criteria_version": 1,
        "journey": {"name": "Buyers", "inputs": [{"workspace": "Streaming App", "name": "iOS"}]},
        "milestones": [
            {"id": "a", "name": "Opened", "parent_id": None,
             "definition": {"clauses": [{"item": {"kind": "event", "event_name": OPEN}}]}},
            {"id": "b", "name": "Bought", "parent_id": "a",
             "definition": {"clauses": [{"item": purchase}]}},
            {"id": "c", "name": "Others", "parent_id": "a", "remaining": True},
            {"id": "d", "name": "Not bought", "parent_id": "c",
             "definition": {"clauses": [{"item": {"kind": "audience", "milestone_id": "b",
                                                  "member": False}}]}},
        ],
    }
    path = tmp_path / ("bad.json" if bad else "buyers.json")
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    path = str(tmp_path / "j.db")
    assert main(["--db", path, "journeys", "list"]) == 0  # creates the demo account
    return path


def add_events(db_path: str, events: list[Event], first_id: int, users: list[int]) -> None:
    database = Database(f"sqlite:///{db_path}")
    try:
        with database.engine.begin() as connection:
            add_rows(connection, Data(users=users, events=events), users=bool(users),
                     first_event_id=first_id)
    finally:
        database.dispose()


def test_import_evaluate_and_re_evaluate(
    db_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", db_path, "journey", "import", str(journey_file(tmp_path))]) == 0
    assert "Imported “Buyers” with 4 milestones." in capsys.readouterr().out
    add_events(db_path, [
        Event(U1, BASE_MS, event_name=OPEN, input_id=IOS),
        Event(U2, BASE_MS, event_name=OPEN, input_id=IOS),
        Event(U2, BASE_MS + 1, event_type="commerce_event", commerce_action="purchase",
              amount=12.0, input_id=IOS),
        Event(U3, BASE_MS, event_name=OPEN, input_id="in-streaming-web"),
    ], 10_000_000, [U1, U2, U3])
    as_of = ["--as-of", "2024-01-05T00:00:00Z", "--store"]  # the next run compares with it
    assert main(["--db", db_path, "evaluate", "Buyers", *as_of, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["as_of"] == "2024-01-05T00:00:00+00:00"
    population = report["population"]["size"]
    assert population >= 2
    rows = {m["name"]: (m["parent"], m["size"], m["added"], m["removed"])
            for m in report["milestones"]}
    assert rows == {
        "Opened": (None, 2, 2, 0),
        "Bought": ("Opened", 1, 1, 0),
        "Others": ("Opened", 1, 1, 0),
        "Not bought": ("Others", 1, 1, 0),
    }
    # User 1 buys too: moves from Others to Bought.
    add_events(db_path, [Event(U1, BASE_MS + DAY, event_type="commerce_event",
                               commerce_action="Purchase", amount=50.0, input_id=IOS)],
               10_000_010, [])
    assert main(["--db", db_path, "evaluate", "Buyers", *as_of]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        f"Buyers as of 2024-01-05 00:00:00 UTC: {population} users in the journey (+0 −0)"
    )
    assert out[1].split() == ["Milestone", "Parent", "Size", "Added", "Removed"]
    table = {line.split("  ")[0]: line.split()[-3:] for line in out[3:]}
    assert table == {
        "Opened": ["2", "0", "0"],
        "Bought": ["2", "1", "0"],
        "Others": ["0", "0", "1"],
        "Not bought": ["0", "0", "1"],
    }


def test_export_then_import_round_trips(
    db_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", db_path, "journey", "import", str(journey_file(tmp_path))]) == 0
    capsys.readouterr()
    assert main(["--db", db_path, "journey", "export", "Buyers"]) == 0
    exported = json.loads(capsys.readouterr().out)
    path = tmp_path / "exported.json"
    path.write_text(json.dumps(exported))
    assert main(["--db", db_path, "journey", "import", str(path), "--name", "Copy"]) == 0
    capsys.readouterr()
    assert main(["--db", db_path, "journey", "export", "Copy"]) == 0
    copy = json.loads(capsys.readouterr().out)
    assert copy["journey"]["name"] == "Copy"
    assert copy["journey"]["inputs"] == exported["journey"]["inputs"]
    old_ids = [m["id"] for m in exported["milestones"]]
    new_ids = [m["id"] for m in copy["milestones"]]
    assert not set(old_ids) & set(new_ids)
    rename = dict(zip(old_ids, new_ids, strict=True))

    def normalised(milestone: dict[str, Any]) -> str:
        text = json.dumps(milestone, sort_keys=True)
        for old, new in rename.items():
            text = text.replace(old, new)
        return text

    assert [normalised(m) for m in exported["milestones"]] == [
        json.dumps(m, sort_keys=True) for m in copy["milestones"]
    ]
    # The membership criterion now points at the copy's own "Bought".
    criterion = copy["milestones"][3]["definition"]["clauses"][0]["item"]
    assert criterion["milestone_id"] == copy["milestones"][1]["id"]


def test_import_errors_name_the_milestone_criterion_and_field(
    db_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", db_path, "journey", "import", str(journey_file(tmp_path, bad=True))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("journeys: milestone 2 (“Bought”): clause 1 (ecommerce criterion), "
                          "field amount[0]: condition on “amount”: “between” needs exactly two")
    assert main(["--db", db_path, "evaluate", "Nope"]) == 1
    assert "There is no journey called “Nope”" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage_error:  # a bad argument: argparse's usage error
        main(["--db", db_path, "evaluate", "Trial to paid", "--as-of", "soon"])
    assert usage_error.value.code == 2
    assert "“soon” is not an ISO-8601 time" in capsys.readouterr().err


def test_schema_prints_the_criteria_json_schema(
    db_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", db_path, "journey", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "EcommerceCriterion" in schema["$defs"]


def test_the_exclusive_option_travels_with_the_journey_file(
    db_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file with "users leave earlier milestones" on imports a journey with it on, which
    then evaluates so (Opened keeps no one who bought or is in Others), and exports it on;
    a file without the field (written before it existed) imports with it off."""
    source = journey_file(tmp_path)
    data = json.loads(source.read_text())
    data["journey"]["exclusive"] = True
    exclusive = tmp_path / "exclusive.json"
    exclusive.write_text(json.dumps(data))
    assert main(["--db", db_path, "journey", "import", str(exclusive)]) == 0
    assert main(["--db", db_path, "journey", "import", str(source), "--name", "Plain"]) == 0
    add_events(db_path, [
        Event(U1, BASE_MS, event_name=OPEN, input_id=IOS),
        Event(U2, BASE_MS, event_name=OPEN, input_id=IOS),
        Event(U2, BASE_MS + 1, event_type="commerce_event", commerce_action="purchase",
              amount=12.0, input_id=IOS),
    ], 10_000_000, [U1, U2])
    capsys.readouterr()
    for name, exported_flag in (("Buyers", True), ("Plain", False)):
        assert main(["--db", db_path, "journey", "export", name]) == 0
        assert json.loads(capsys.readouterr().out)["journey"]["exclusive"] is exported_flag
    as_of = ["--as-of", "2024-01-05T00:00:00Z", "--json"]
    sizes = {}
    for name in ("Buyers", "Plain"):
        assert main(["--db", db_path, "evaluate", name, *as_of]) == 0
        report = json.loads(capsys.readouterr().out)
        sizes[name] = {m["name"]: m["size"] for m in report["milestones"]}
    assert sizes["Plain"] == {"Opened": 2, "Bought": 1, "Others": 1, "Not bought": 1}
    assert sizes["Buyers"] == {"Opened": 0, "Bought": 1, "Others": 0, "Not bought": 1}


def test_set_exclusive_switches_the_option_and_prints_the_new_sizes(
    db_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the demo's “Trial to paid”: “Watched content” is split by “Saved content for
    later” and Remaining users, so with the option on it keeps no one."""
    assert main(["--db", db_path, "evaluate", "Trial to paid"]) == 0
    capsys.readouterr()
    assert main(["--db", db_path, "journey", "set-exclusive", "Trial to paid", "on"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Make users leave earlier milestones of “Trial to paid”."
    rows = {line.split("  ")[0]: line.split()[-3:] for line in out[4:]}
    assert rows["Watched content"][0] == "0"
    assert main(["--db", db_path, "journey", "set-exclusive", "Trial to paid", "on"]) == 0
    assert capsys.readouterr().out == (
        "“Trial to paid” already has it on: nothing changed.\n")
    assert main(["--db", db_path, "journey", "export", "Trial to paid"]) == 0
    assert json.loads(capsys.readouterr().out)["journey"]["exclusive"] is True
