"""Connections through the application service: stored with every edit, secrets elsewhere.

Each test runs on SQLite and, when a server is available, on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from app.core import errors
from app.core.commands import (
    AddConnection,
    AddOutput,
    EditConnection,
    Macro,
    RemoveConnection,
    RemoveOutput,
)
from app.core.models import Connection, Output
from app.core.partners import PartnerSettings, WebhookSettings
from app.outputs import registry
from app.outputs.base import Delivered, Fault, Outcome
from app.store.schema import ConnectionRow
from app.studio import Studio
from tests.memory_keyring import MemoryKeyring

SECRET = "whsec_live_5f2c9a7e1b3d4c12"


@pytest.fixture
def studio(demo_url: str) -> Iterator[Studio]:
    opened = Studio.open(demo_url)
    yield opened
    opened.close()


def reopened(url: str) -> dict[str, Connection]:
    other = Studio.open(url)
    try:
        return dict(other.state.connections)
    finally:
        other.close()


def hook(name: str = "Audit hook", secret_ref: str = "") -> Connection:
    return Connection(id="cn-audit", name=name, partner="webhook",
                      settings={"url": "https://audit.example.com/in"}, secret_ref=secret_ref)


def stored_rows(url: str) -> list[dict[str, object]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(
                select(ConnectionRow.__table__))]
    finally:
        engine.dispose()


def test_add_edit_remove_and_their_undo_are_stored(studio: Studio, demo_url: str) -> None:
    add = AddConnection(hook())
    studio.execute(add)
    assert reopened(demo_url)["cn-audit"] == studio.state.connection("cn-audit")
    edit = EditConnection("cn-audit", name="Audit", settings={
        "url": "https://audit.example.com/v2", "timeout_seconds": 5})
    studio.execute(edit)
    stored = reopened(demo_url)["cn-audit"]
    assert (stored.name, stored.settings) == (
        "Audit", {"url": "https://audit.example.com/v2", "timeout_seconds": 5.0})
    studio.undo(edit)
    assert reopened(demo_url)["cn-audit"].name == "Audit hook"
    remove = RemoveConnection("cn-audit")
    studio.execute(remove)
    assert "cn-audit" not in reopened(demo_url)
    studio.undo(remove)
    assert reopened(demo_url)["cn-audit"] == studio.state.connection("cn-audit")
    studio.undo(add)
    assert "cn-audit" not in reopened(demo_url)


def test_a_new_connection_and_an_output_to_it_are_one_stored_step(
    studio: Studio, demo_url: str
) -> None:
    trial = studio.state.journey_by_name("Trial to paid")
    milestone = next(m for m in trial.milestones_in_order() if m.name == "Watched content")
    output = Output(id="o-audit", milestone_id=milestone.id, connection_id="cn-audit")
    step = Macro("Send to Audit", [AddConnection(hook()), AddOutput(trial.id, output)])
    studio.execute(step)
    again = Studio.open(demo_url)
    try:
        assert again.state.journey(trial.id).output("o-audit").connection_id == "cn-audit"
        assert again.state.can_remove_connection("cn-audit") == (
            "“Audit hook” can't be removed: it is used by 1 output: “Watched content” in "
            "Trial to paid. Remove that output first.")
    finally:
        again.close()


def test_a_removal_is_refused_in_the_store_when_another_window_attached_an_output(
    studio: Studio, demo_url: str
) -> None:
    studio.execute(AddConnection(hook()))
    other = Studio.open(demo_url)
    try:
        trial = other.state.journey_by_name("Trial to paid")
        milestone = next(m for m in trial.milestones_in_order() if m.name == "Watched content")
        other.execute(AddOutput(trial.id, Output(id="o-x", milestone_id=milestone.id,
                                                 connection_id="cn-audit")))
    finally:
        other.close()
    # This window has not seen the output: the rule passes in memory, not in the store.
    assert studio.state.can_remove_connection("cn-audit") is None
    with pytest.raises(errors.ConflictError, match="used by 1 output: “Watched content”"):
        studio.execute(RemoveConnection("cn-audit"))
    assert "cn-audit" in studio.state.connections  # memory equals the store
    assert "cn-audit" in reopened(demo_url)


def test_removing_the_outputs_and_the_connection_in_one_step_is_stored(
    studio: Studio, demo_url: str
) -> None:
    trial = studio.state.journey_by_name("Trial to paid")
    users = studio.state.connection_users("cn-crm")
    assert users
    step = Macro("Remove CRM", [*(RemoveOutput(g.id, o.id) for g, o in users),
                                RemoveConnection("cn-crm")])
    studio.execute(step)
    assert "cn-crm" not in reopened(demo_url)
    studio.undo(step)
    assert "cn-crm" in reopened(demo_url)
    again = Studio.open(demo_url)
    try:
        assert again.state.journey(trial.id).document() == studio.state.journey(
            trial.id).document()
    finally:
        again.close()


def test_a_name_taken_meanwhile_in_another_window_is_a_conflict(
    studio: Studio, demo_url: str
) -> None:
    other = Studio.open(demo_url)
    try:
        other.execute(AddConnection(hook(name="Audit")))
    finally:
        other.close()
    with pytest.raises(errors.ConflictError, match="already a connection called “Audit”"):
        studio.execute(AddConnection(hook(name="AUDIT").model_copy(update={"id": "cn-2"})))
    assert "cn-2" not in studio.state.connections


def test_the_secret_is_in_the_keyring_and_nowhere_in_the_database(
    studio: Studio, demo_url: str, memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    ref = studio.save_secret("cn-audit", SECRET)
    studio.execute(AddConnection(hook(secret_ref=ref)))
    assert memory_keyring.entries == {("Journey Studio", "cn-audit"): SECRET}
    rows = stored_rows(demo_url)
    assert SECRET not in json.dumps(rows, default=str)
    assert next(r for r in rows if r["id"] == "cn-audit")["secret_ref"] == "keyring:cn-audit"
    if demo_url.startswith("sqlite"):
        raw = b"".join(p.read_bytes() for p in Path(demo_url.removeprefix("sqlite:///")).parent
                       .glob("journeys.db*"))
        assert SECRET.encode() not in raw
        assert b"keyring:cn-audit" in raw
    assert SECRET not in caplog.text and SECRET not in capsys.readouterr().out


@dataclass
class FakeConnector:
    """Answers every test with ``outcome`` and remembers what it was given."""

    outcome: Outcome
    partner: str = "webhook"
    calls: list[tuple[PartnerSettings, str | None]] = field(default_factory=list)

    def send(self, delivery: object) -> Outcome:  # pragma: no cover - not used here
        raise AssertionError("a connection test sends nothing")

    def test(self, settings: PartnerSettings, secret: str | None) -> Outcome:
        self.calls.append((settings, secret))
        return self.outcome


def test_test_connection_resolves_the_secret_and_says_what_the_partner_answered(
    studio: Studio, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeConnector(Delivered(status=200))
    monkeypatch.setattr(registry, "connector", lambda partner: fake)
    ref = studio.save_secret("cn-audit", SECRET)
    result = studio.test_connection(hook(secret_ref=ref))
    assert result.ok and result.summary.startswith("Connected: HTTP 200 in ")
    settings, secret = fake.calls[-1]
    assert isinstance(settings, WebhookSettings) and secret == SECRET
    # A secret just typed (not saved yet) is used as it is.
    studio.test_connection(hook(), secret="typed")
    assert fake.calls[-1][1] == "typed"
    fake.outcome = Fault("The webhook refused the signature (HTTP 401).", status=401)
    refused = studio.test_connection(hook(secret_ref=ref))
    assert not refused.ok
    assert refused.summary == "Refused: The webhook refused the signature (HTTP 401)."


def test_test_connection_names_a_missing_secret_or_a_bad_setting(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "connector", lambda partner: FakeConnector(Delivered()))
    monkeypatch.delenv("NOPE_SECRET", raising=False)
    with pytest.raises(errors.StudioError, match="environment variable NOPE_SECRET is not set"):
        studio.test_connection(hook(secret_ref="env:NOPE_SECRET"))
    bad = hook().model_copy(update={"settings": {"url": "audit.example.com"}})
    with pytest.raises(errors.InvalidSettingError, match="Address: "):
        studio.test_connection(bad)
