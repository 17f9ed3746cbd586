"""The ``journeys`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main


def test_journeys_list_shows_the_demo_journeys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", str(tmp_path / "j.db"), "journeys", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["Journey", "Milestones", "Outputs", "Active", "Inputs"]
    rows = {line.split("  ")[0]: line for line in out[2:]}
    assert set(rows) == {"California promo", "Trial to paid"}
    assert rows["Trial to paid"].split()[3:6] == ["5", "2", "1"]
    assert "Streaming App/iOS" in rows["Trial to paid"]


def test_the_help_of_journeys_list_names_what_it_prints(
    capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["journeys", "--help"])
    # The action's line and its wrapped continuation, up to the blank line.
    actions = capsys.readouterr().out.split("\n\n")[1]
    listing = " ".join(actions[actions.index(" list "):].split())
    assert "sizes" not in listing  # it prints no audience sizes: `evaluate` does
    for column in ("milestones", "outputs", "active audiences", "inputs"):
        assert column in listing


def test_journeys_list_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(tmp_path / "j.db"), "journeys", "list", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    california = next(i for i in items if i["name"] == "California promo")
    assert california["milestones"] == 2
    assert california["active_audiences"] == 2
    assert "Marketing Site/Web" in california["inputs"]


def test_account_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(tmp_path / "j.db"), "account", "show"]) == 0
    out = capsys.readouterr().out
    assert "Active audiences:  3 / 25" in out
    assert "Streaming App: iOS, Android, Web" in out
    assert "Marketing Site: Web, Partner feed: Braze (partner feed)" in out
    assert "Facebook Custom Audiences (Facebook Custom Audiences)" in out


def test_account_show_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(tmp_path / "j.db"), "account", "show", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["active_audience_limit"] == 25
    assert info["active_audiences"] == 3
    assert [w["name"] for w in info["workspaces"]] == ["Streaming App", "Marketing Site"]


def test_an_unreachable_database_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "journeys", "list"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("journeys: ")
    assert "Traceback" not in err


def test_the_installed_entry_point_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "--db", str(tmp_path / "j.db"), "journeys", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Trial to paid" in result.stdout


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    """``journeys … | head`` must not end in a traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--db", str(tmp_path / "j.db"), "journey", "schema"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # hang up before it writes, as `head` does once it has enough
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0
    assert "Traceback" not in stderr
