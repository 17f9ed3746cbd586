"""``journeys connection …`` end to end: what it prints, what it stores, its exit codes."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from app.cli import main
from app.outputs import registry
from app.outputs.base import Delivered, Fault, Outcome
from app.studio import Studio
from tests.database_templates import NewDatabase
from tests.memory_keyring import MemoryKeyring

SECRET = "whsec_cli_8c1e55aa0f9d7b34"


@pytest.fixture
def db(new_database: NewDatabase) -> str:
    """The path of a SQLite file holding the demo account."""
    return new_database("sqlite", "demo").removeprefix("sqlite:///")


def run(db: str, *argv: str) -> int:
    return main(["--db", db, "connection", *argv])


def stored(db: str) -> dict[str, object]:
    studio = Studio.open(db)
    try:
        return {c.name: c for c in studio.state.connections.values()}
    finally:
        studio.close()


def test_add_with_a_secret_from_stdin_keeps_it_in_the_keyring_only(
    db: str, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    assert run(db, "add", "--name", "Audit hook", "--partner", "webhook",
               "--set", "url=https://audit.example.com/in", "--set", "timeout_seconds=5",
               "--secret-stdin") == 0
    assert capsys.readouterr().out == "Add connection “Audit hook”.\n"
    connection = stored(db)["Audit hook"]
    ref = connection.secret_ref  # type: ignore[attr-defined]
    assert ref == f"keyring:{connection.id}"  # type: ignore[attr-defined]
    assert list(memory_keyring.entries.values()) == [SECRET]
    assert SECRET.encode() not in Path(db).read_bytes()

    assert run(db, "show", "audit HOOK") == 0
    shown = capsys.readouterr().out
    assert "Signing secret:    keyring (••••••7b34)" in shown
    assert "Timeout (seconds): 5.0" in shown and SECRET not in shown
    assert run(db, "list", "--json") == 0
    listed = capsys.readouterr().out
    assert SECRET not in listed
    audit = next(i for i in json.loads(listed) if i["name"] == "Audit hook")
    assert audit["secret"] == {"label": "Signing secret", "reference": ref,
                               "shown": "keyring (••••••7b34)"}
    # Nothing that exports the account or a journey carries the secret.
    assert main(["--db", db, "account", "show", "--json"]) == 0
    assert main(["--db", db, "journey", "export", "Trial to paid"]) == 0
    assert SECRET not in capsys.readouterr().out


def test_list_shows_partners_masked_secrets_and_how_many_outputs_use_each(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_SECRET", SECRET)
    assert run(db, "add", "--name", "Audit", "--partner", "webhook", "--set",
               "url=https://a.example.com/", "--secret-env", "AUDIT_SECRET") == 0
    capsys.readouterr()
    assert run(db, "list") == 0
    out = capsys.readouterr().out
    rows = {line.split("  ")[0]: line.split() for line in out.splitlines()[2:]}
    assert rows["Audit"][-3:] == ["env:AUDIT_SECRET", "(set)", "0"]
    assert rows["CRM webhook"][-1] == "1"
    assert rows["Facebook Custom Audiences"][-1] == "2"
    assert SECRET not in out


@pytest.mark.parametrize(("argv", "message"), [
    (["add", "--name", "X", "--partner", "webhook", "--set", "url=ftp://x"],
     "journeys: Address: The address must be an http:// or https:// address"),
    (["add", "--name", "X", "--partner", "webhook", "--set", "colour=red", "--set",
      "url=https://a.b/"], "journeys: “colour” is not a setting of this partner."),
    (["add", "--name", "crm WEBHOOK", "--partner", "webhook", "--set", "url=https://a.b/"],
     "journeys: There is already a connection called “CRM webhook”."),
    (["add", "--name", "B", "--partner", "braze", "--set", "rest_endpoint=https://a.b"],
     "journeys: API key is required"),
    (["show", "Nope"], "journeys: There is no connection called “Nope”."),
    (["remove", "CRM webhook"], "journeys: “CRM webhook” can't be removed: it is used by 1 "
     "output: “Signed up for trial” in Trial to paid. Remove that output first."),
    (["edit", "CRM webhook", "--set", "url=nowhere"], "journeys: Address: "),
])
def test_refusals_are_one_line_exit_1_and_store_nothing(
    db: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = stored(db)
    assert run(db, *argv) == 1
    assert capsys.readouterr().err.startswith(message)
    assert stored(db) == before


def test_unknown_partner_and_a_secret_argument_are_usage_errors(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as usage:
        run(db, "add", "--name", "X", "--partner", "smoke_signals")
    assert usage.value.code == 2
    with pytest.raises(SystemExit) as usage:  # no --secret VALUE: it would land in history
        run(db, "add", "--name", "X", "--partner", "webhook", "--secret", "s3cret")
    assert usage.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_without_a_keyring_stdin_is_refused_naming_env(
    db: str, no_keyring: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    assert run(db, "add", "--name", "Audit", "--partner", "webhook", "--set",
               "url=https://a.example.com/", "--secret-stdin") == 1
    assert "env:NAME" in capsys.readouterr().err
    assert "Audit" not in stored(db)


def test_edit_renames_changes_a_setting_unsets_one_and_drops_the_secret(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(db, "edit", "crm webhook", "--name", "CRM", "--set", "timeout_seconds=3",
               "--secret-env", "CRM_SECRET") == 0
    crm = stored(db)["CRM"]
    assert crm.settings["timeout_seconds"] == 3.0  # type: ignore[attr-defined]
    assert crm.secret_ref == "env:CRM_SECRET"  # type: ignore[attr-defined]
    assert run(db, "edit", "CRM", "--unset", "timeout_seconds", "--no-secret") == 0
    crm = stored(db)["CRM"]
    assert crm.settings["timeout_seconds"] == 10.0  # type: ignore[attr-defined]
    assert crm.secret_ref == ""  # type: ignore[attr-defined]
    assert "Edit connection “CRM”." in capsys.readouterr().out


class Answer:
    partner = "webhook"

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.secrets: list[str | None] = []

    def test(self, settings: object, secret: str | None) -> Outcome:
        self.secrets.append(secret)
        return self.outcome

    def send(self, delivery: object) -> Outcome:  # pragma: no cover
        raise AssertionError


def test_test_prints_the_answer_and_fails_with_the_partner(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = Answer(Delivered(status=200))
    monkeypatch.setattr(registry, "connector", lambda partner: answer)
    monkeypatch.setenv("CRM_SECRET", SECRET)
    assert run(db, "edit", "CRM webhook", "--secret-env", "CRM_SECRET") == 0
    capsys.readouterr()
    assert run(db, "test", "CRM webhook") == 0
    assert capsys.readouterr().out.startswith("CRM webhook: Connected: HTTP 200 in ")
    assert answer.secrets == [SECRET]
    answer.outcome = Fault("HTTP 401: the signature was refused", status=401)
    assert run(db, "test", "CRM webhook") == 1
    assert capsys.readouterr().out == (
        "CRM webhook: Refused: HTTP 401: the signature was refused\n")
    monkeypatch.delenv("CRM_SECRET")
    assert run(db, "test", "CRM webhook") == 1
    assert "environment variable CRM_SECRET is not set" in capsys.readouterr().err


def test_remove_an_unused_connection(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "add", "--name", "Drop", "--partner", "file_drop", "--set",
               "folder=/srv/drop") == 0
    assert run(db, "remove", "drop") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Remove connection “Drop”."
    assert "Drop" not in stored(db)


def test_test_against_a_real_webhook_receiver(
    db: str, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("app.outputs.webhook", reason="the webhook connector is not built yet")
    httpserver.expect_request(re.compile(".*")).respond_with_data("", 200)
    assert run(db, "add", "--name", "Local", "--partner", "webhook", "--set",
               f"url={httpserver.url_for('/audiences')}") == 0
    assert run(db, "test", "Local") == 0
    assert "Local: Connected: HTTP 200 in " in capsys.readouterr().out
    assert httpserver.log, "the test made a real request"
    httpserver.clear()
    httpserver.expect_request(re.compile(".*")).respond_with_data("no", 401)
    assert run(db, "test", "Local") == 1
