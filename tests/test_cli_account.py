"""Setting up one's own account from the command line, end to end.

``journeys --no-demo``, ``account set-limit``, ``workspace …``, ``input …`` and
``journey set-inputs``: what each prints, what it stores (read back by opening
the database again), and its exit codes: 0 done, 1 refused by a rule (one line
on stderr, nothing stored), 2 a usage error (argparse).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.studio import Studio

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A new database started empty, as `journeys --no-demo` starts it."""
    return str(tmp_path / "own.db")


def run(db: str, *argv: str) -> int:
    return main(["--db", db, "--no-demo", *argv])


def said(capsys: Capture) -> tuple[str, str]:
    captured = capsys.readouterr()
    return captured.out, captured.err


def stored(db: str) -> dict[str, Any]:
    """What a new window would read: workspaces with their inputs, journeys' inputs, limit."""
    studio = Studio.open(db, seed_demo=False)
    try:
        state = studio.state
        return {
            "workspaces": {w.name: [(i.name, i.kind, i.platform) for i in state.inputs_of(w.id)]
                           for w in state.workspaces.values()},
            "journeys": {g.name: [state.input_label(i) for i in g.journey.input_ids]
                         for g in state.journeys()},
            "limit": state.limit,
        }
    finally:
        studio.close()


def set_up(db: str, capsys: Capture) -> None:
    assert run(db, "workspace", "add", "Streaming App") == 0
    assert run(db, "input", "add", "iOS", "--workspace", "Streaming App", "--platform",
               "ios") == 0
    assert run(db, "input", "add", "Web", "--workspace", "streaming app", "--platform",
               "Web") == 0
    said(capsys)


def import_journey(db: str, tmp_path: Path, name: str, *inputs: tuple[str, str]) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({
        "format": "journey-studio.journey", "version": 1,
        "journey": {"name": name,
                    "inputs": [{"workspace": w, "name": n} for w, n in inputs]},
        "milestones": [{"id": "m", "name": "Watched", "definition": {"clauses": []}}],
    }))
    assert main(["--db", db, "journey", "import", str(path)]) == 0


def import_events(db: str, tmp_path: Path, input_name: str, users: int) -> None:
    path = tmp_path / "events.csv"
    path.write_text("user_id,timestamp,event_name\n" + "".join(
        f"u{n},2026-10-27T08:00:00Z,Watch content\n" for n in range(users)))
    assert main(["--db", db, "import", str(path), "--format", "csv", "--input", input_name,
                 "--quiet"]) == 0


# ---------------------------------------------------------------------- first start


def test_no_demo_starts_with_the_account_and_nothing_else(db: str, capsys: Capture) -> None:
    assert run(db, "account", "show", "--json") == 0
    info = json.loads(said(capsys)[0])
    assert (info["workspaces"], info["connections"], info["journeys"]) == ([], [], 0)
    assert (info["active_audiences"], info["active_audience_limit"]) == (0, 25)
    assert run(db, "workspace", "list") == 0
    assert said(capsys)[0] == "No workspaces yet: add one with `journeys workspace add NAME`.\n"
    assert run(db, "input", "list", "--json") == 0
    assert json.loads(said(capsys)[0]) == []
    assert main(["--db", db, "journeys", "list"]) == 0
    assert said(capsys)[0] == "No journeys yet.\n"


def test_no_demo_leaves_an_existing_database_as_it_is(tmp_path: Path, capsys: Capture) -> None:
    path = str(tmp_path / "demo.db")
    assert main(["--db", path, "workspace", "list", "--json"]) == 0  # the default: demo data
    demo = [w["name"] for w in json.loads(said(capsys)[0])]
    assert demo == ["Streaming App", "Marketing Site"]
    assert run(path, "workspace", "list", "--json") == 0
    assert [w["name"] for w in json.loads(said(capsys)[0])] == demo


# ---------------------------------------------------------------------- workspaces


def test_workspace_add_rename_remove(db: str, capsys: Capture) -> None:
    assert run(db, "workspace", "add", "  Streaming   App ") == 0
    assert said(capsys) == ("Add workspace “Streaming App”.\n", "")
    assert run(db, "workspace", "add", "Kiosks") == 0
    assert run(db, "workspace", "rename", "KIOSKS", "In-store tablets") == 0
    assert said(capsys)[0].splitlines()[-1] == (
        "Rename workspace “Kiosks” to “In-store tablets”.")
    assert stored(db)["workspaces"] == {"Streaming App": [], "In-store tablets": []}
    assert run(db, "workspace", "list", "--json") == 0
    listed = json.loads(said(capsys)[0])
    assert [(w["name"], w["inputs"]) for w in listed] == [
        ("Streaming App", []), ("In-store tablets", [])]
    assert run(db, "workspace", "remove", "in-store tablets") == 0
    assert said(capsys) == ("Remove workspace “In-store tablets”.\n", "")
    assert stored(db)["workspaces"] == {"Streaming App": []}


@pytest.mark.parametrize(("argv", "message"), [
    (("workspace", "add", "streaming APP"),
     "There is already a workspace called “Streaming App”."),
    (("workspace", "add", "   "), "The workspace needs a name."),
    (("workspace", "rename", "Streaming App", "x" * 81),
     "The workspace name is 81 characters long; keep it to 80."),
    (("workspace", "rename", "Nope", "Yes"),
     "There is no workspace called “Nope”. Workspaces: “Streaming App”."),
    (("workspace", "remove", "Streaming App"),
     "The workspace “Streaming App” can't be removed: it still has 2 inputs (“iOS” and "
     "“Web”). Remove its inputs first."),
])
def test_workspace_refusals_say_why_exit_1_and_store_nothing(
    db: str, capsys: Capture, argv: tuple[str, ...], message: str
) -> None:
    set_up(db, capsys)
    before = stored(db)
    assert run(db, *argv) == 1
    assert said(capsys) == ("", f"journeys: {message}\n")
    assert stored(db) == before


# ---------------------------------------------------------------------- inputs


def test_input_add_rename_remove(db: str, capsys: Capture) -> None:
    set_up(db, capsys)
    assert run(db, "input", "add", "Braze feed", "--workspace", "Streaming App",
               "--partner-feed") == 0
    assert said(capsys) == ("Add input “Streaming App/Braze feed”.\n", "")
    assert run(db, "input", "rename", "streaming app/WEB", "Browser") == 0
    assert said(capsys) == ("Rename input “Streaming App/Web” to “Browser”.\n", "")
    assert stored(db)["workspaces"] == {"Streaming App": [
        ("iOS", "platform", "iOS"), ("Browser", "platform", "Web"),
        ("Braze feed", "partner", None)]}
    assert run(db, "input", "remove", "Streaming App/Braze feed") == 0
    assert said(capsys) == ("Remove input “Streaming App/Braze feed”.\n", "")
    assert list(stored(db)["workspaces"]["Streaming App"]) == [
        ("iOS", "platform", "iOS"), ("Browser", "platform", "Web")]


def test_input_list_counts_events_and_names_the_journeys_reading_each(
    db: str, tmp_path: Path, capsys: Capture
) -> None:
    set_up(db, capsys)
    import_events(db, tmp_path, "Streaming App/iOS", users=1204)
    import_journey(db, tmp_path, "Viewers", ("Streaming App", "iOS"), ("Streaming App", "Web"))
    said(capsys)
    assert run(db, "input", "list") == 0
    assert said(capsys)[0].splitlines() == [
        "Workspace      Input  Platform  Events  Journeys",
        "-------------  -----  --------  ------  --------",
        "Streaming App  iOS    iOS       1,204   Viewers",
        "Streaming App  Web    Web       0       Viewers",
    ]
    assert run(db, "input", "list", "--json") == 0
    ios = json.loads(said(capsys)[0])[0]
    assert {k: v for k, v in ios.items() if k != "id"} == {
        "workspace": "Streaming App", "name": "iOS", "kind": "platform", "platform": "iOS",
        "events": 1204, "journeys": ["Viewers"]}


def test_an_input_with_events_or_readers_is_not_removed(
    db: str, tmp_path: Path, capsys: Capture
) -> None:
    set_up(db, capsys)
    import_events(db, tmp_path, "Streaming App/iOS", users=3)
    import_journey(db, tmp_path, "Viewers", ("Streaming App", "Web"))
    import_journey(db, tmp_path, "Everyone", ("Streaming App", "Web"))
    said(capsys)
    before = stored(db)
    assert run(db, "input", "remove", "Streaming App/iOS") == 1
    assert said(capsys) == ("", (
        "journeys: The input “Streaming App/iOS” can't be removed: 3 events have arrived "
        "through it. Stored events are kept, so an input that has received events stays; "
        "rename it if it is no longer used.\n"))
    assert run(db, "input", "remove", "Streaming App/Web") == 1
    assert said(capsys) == ("", (
        "journeys: The input “Streaming App/Web” can't be removed: the journeys “Everyone” "
        "and “Viewers” read it. Take it out of those journeys' inputs first.\n"))
    assert stored(db) == before


@pytest.mark.parametrize(("argv", "message"), [
    (("input", "add", "IOS", "--workspace", "Streaming App", "--platform", "iOS"),
     "“Streaming App” already has an input called “iOS”."),
    (("input", "add", "TV", "--workspace", "Nope", "--platform", "tvOS"),
     "There is no workspace called “Nope”. Workspaces: “Streaming App”."),
    (("input", "add", "TV", "--workspace", "Streaming App", "--platform", " "),
     "Choose the platform the input's events come from (iOS, Android, Web, tvOS, Roku, "
     "Xbox, Alexa, SmartTV, or another)."),
    (("input", "rename", "Streaming App/Web", "ios"),
     "“Streaming App” already has an input called “iOS”."),
    (("input", "remove", "Streaming App/TV"),
     "There is no input “Streaming App/TV”. Inputs: Streaming App/iOS, Streaming App/Web."),
])
def test_input_refusals_say_why_exit_1_and_store_nothing(
    db: str, capsys: Capture, argv: tuple[str, ...], message: str
) -> None:
    set_up(db, capsys)
    before = stored(db)
    assert run(db, *argv) == 1
    assert said(capsys) == ("", f"journeys: {message}\n")
    assert stored(db) == before


@pytest.mark.parametrize(("argv", "complaint"), [
    (("input", "add", "TV", "--workspace", "Streaming App"),
     "one of the arguments --platform --partner-feed is required"),
    (("input", "add", "TV", "--workspace", "Streaming App", "--platform", "tvOS",
      "--partner-feed"), "not allowed with argument"),
    (("input", "add", "TV", "--platform", "tvOS"), "the following arguments are required: "
                                                   "--workspace"),
    (("account", "set-limit", "-1"), "a whole number of 0 or more, not “-1”"),
    (("account", "set-limit", "many"), "a whole number of 0 or more, not “many”"),
    (("journey", "set-inputs", "Viewers"), "the following arguments are required: "
                                           "WORKSPACE/INPUT"),
])
def test_usage_errors_exit_2_before_anything_is_stored(
    db: str, capsys: Capture, argv: tuple[str, ...], complaint: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        run(db, *argv)
    assert exit_.value.code == 2
    assert complaint in said(capsys)[1]
    assert not Path(db).exists()


# ---------------------------------------------------------------------- the limit


def test_set_limit_is_stored(db: str, capsys: Capture) -> None:
    assert run(db, "account", "set-limit", "3") == 0
    assert said(capsys) == ("Set the active-audience limit to 3 (0 active now).\n", "")
    assert stored(db)["limit"] == 3


def test_set_limit_below_the_active_audiences_names_them(
    tmp_path: Path, capsys: Capture
) -> None:
    demo = str(tmp_path / "demo.db")
    assert main(["--db", demo, "account", "set-limit", "3"]) == 0
    said(capsys)
    assert main(["--db", demo, "account", "set-limit", "2"]) == 1
    assert said(capsys) == ("", (
        "journeys: 3 audiences are active now, so the limit can't go below 3: “All app and "
        "web users” and “In California” in California promo; “Signed up for trial” in Trial "
        "to paid. Deactivate outputs first.\n"))
    assert stored(demo)["limit"] == 3


# ---------------------------------------------------------------------- a journey's inputs


def test_set_inputs_changes_what_the_journey_reads_and_evaluates_it_again(
    db: str, tmp_path: Path, capsys: Capture
) -> None:
    set_up(db, capsys)
    import_events(db, tmp_path, "Streaming App/iOS", users=4)
    import_journey(db, tmp_path, "Viewers", ("Streaming App", "Web"))
    said(capsys)
    assert run(db, "journey", "set-inputs", "viewers", "Streaming App/iOS",
               "streaming app/web") == 0
    assert said(capsys) == ((
        "Change the inputs of “Viewers”: Streaming App/iOS, Streaming App/Web.\n"
        "Evaluated again: 4 users in the journey (+4 −0).\n"), "")
    assert stored(db)["journeys"] == {"Viewers": ["Streaming App/iOS", "Streaming App/Web"]}
    assert run(db, "journey", "set-inputs", "Viewers", "Streaming App/Web") == 0
    assert said(capsys)[0].splitlines()[-1] == "Evaluated again: 0 users in the journey (+0 −4)."
    assert run(db, "journey", "set-inputs", "Viewers", "Streaming App/Web") == 0
    assert said(capsys) == (
        "“Viewers” already reads Streaming App/Web: nothing changed.\n", "")


@pytest.mark.parametrize(("argv", "message"), [
    (("journey", "set-inputs", "Viewers", "Streaming App/TV"),
     "There is no input “Streaming App/TV”. Inputs: Streaming App/iOS, Streaming App/Web."),
    (("journey", "set-inputs", "Watchers", "Streaming App/iOS"),
     "There is no journey called “Watchers”. Journeys: “Viewers”."),
])
def test_set_inputs_refusals_exit_1_and_store_nothing(
    db: str, tmp_path: Path, capsys: Capture, argv: tuple[str, ...], message: str
) -> None:
    set_up(db, capsys)
    import_journey(db, tmp_path, "Viewers", ("Streaming App", "Web"))
    said(capsys)
    before = stored(db)
    assert run(db, *argv) == 1
    assert said(capsys) == ("", f"journeys: {message}\n")
    assert stored(db) == before
