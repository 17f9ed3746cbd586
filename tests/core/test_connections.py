"""Connections: adding, editing and removing them obeys the account's rules and undoes exactly."""

from __future__ import annotations

import pytest

from app.core import errors
from app.core.account import AccountState
from app.core.commands import AddConnection, EditConnection, Macro, RemoveConnection
from app.core.models import Account, Connection, Journey, JourneyDocument, Milestone, Output

HOOK = "cn-hook"
BRAZE = "cn-braze"


@pytest.fixture
def state() -> AccountState:
    """Two connections; "Trial to paid" forwards “Signed up” and “Converted” to the webhook."""
    state = AccountState(
        Account(id="acct"),
        connections=[
            Connection(id=HOOK, name="CRM webhook", partner="webhook",
                       settings={"url": "https://crm.example.com/hook"}),
            # Stored before secrets were required: loads, and can be removed and restored.
            Connection(id=BRAZE, name="Braze", partner="braze",
                       settings={"rest_endpoint": "https://rest.iad-01.braze.com"}),
        ],
    )
    state.add_journey(JourneyDocument(
        journey=Journey(id="j1", name="Trial to paid"),
        milestones=(Milestone(id="m1", name="Signed up"),
                    Milestone(id="m2", name="Converted", parent_id="m1")),
        outputs=(Output(id="o1", milestone_id="m1", connection_id=HOOK),
                 Output(id="o2", milestone_id="m2", connection_id=HOOK)),
    ))
    return state


def webhook(name: str = "Audit hook", url: str = "https://audit.example.com/in",
            **extra: object) -> Connection:
    return Connection(id="cn-new", name=name, partner="webhook",
                      settings={"url": url, **extra})


def test_add_connection_cleans_the_name_fills_defaults_and_undoes(state: AccountState) -> None:
    before = dict(state.connections)
    command = AddConnection(webhook(name="  Audit   hook "))
    command.do(state)
    added = state.connection("cn-new")
    assert added.name == "Audit hook"
    assert added.settings == {"url": "https://audit.example.com/in", "timeout_seconds": 10.0}
    assert command.text == "Add connection “Audit hook”"
    assert command.connection_ids == ("cn-new",) and command.journey_ids == ()
    command.undo(state)
    assert state.connections == before
    command.redo(state)
    assert "cn-new" in state.connections


@pytest.mark.parametrize(("name", "message"), [
    ("crm  WEBHOOK", "There is already a connection called “CRM webhook”."),
    ("   ", "The connection needs a name."),
    ("x" * 81, "keep it to 80"),
])
def test_names_are_cleaned_and_unique_ignoring_capitals(
    state: AccountState, name: str, message: str
) -> None:
    assert message in (state.can_add_connection(name, "webhook", {"url": "https://a.b/"}) or "")
    with pytest.raises(errors.JourneyRuleError, match=message[:20]):
        AddConnection(webhook(name=name[:80] if name.strip() else "x").model_copy(
            update={"name": name})).do(state)
    assert "cn-new" not in state.connections


@pytest.mark.parametrize(("partner", "settings", "message"), [
    ("webhook", {}, "Address is required."),
    ("webhook", {"url": "ftp://x"}, "Address: The address must be an http:// or https://"),
    ("webhook", {"url": "https://a.b/", "timeout_seconds": -1}, "Timeout (seconds): "),
    ("webhook", {"url": "https://a.b/", "colour": "red"}, "“colour” is not a setting"),
    ("facebook_custom_audiences", {"ad_account_id": "act 1"}, "Ad account ID: "),
    ("smoke_signals", {}, "“smoke_signals” is not a partner"),
])
def test_settings_are_checked_by_the_partner_model_and_the_message_names_the_field(
    state: AccountState, partner: str, settings: dict[str, object], message: str
) -> None:
    refusal = state.can_add_connection("New", partner, settings, "keyring:x")
    assert refusal is not None and refusal.startswith(message)


def test_a_required_secret_needs_a_reference_and_a_reference_has_a_known_shape(
    state: AccountState,
) -> None:
    braze = {"rest_endpoint": "https://rest.iad-01.braze.com"}
    assert state.can_add_connection("B2", "braze", braze, "") == (
        "API key is required: this partner refuses requests without it.")
    assert state.can_add_connection("B2", "braze", braze, "env:BRAZE_KEY") is None
    assert state.can_add_connection("B2", "braze", braze, "keyring:cn-1") is None
    assert "not an environment variable name" in (
        state.can_add_connection("B2", "braze", braze, "env:1BAD") or "")
    # A secret typed where the reference goes is refused, never stored.
    assert "never written into the settings" in (
        state.can_add_connection("B2", "braze", braze, "sk-live-12345") or "")
    assert state.can_add_connection("Drop", "file_drop", {"folder": "/srv/out"},
                                    "env:X") == "This partner has no secret; leave it empty."
    # The webhook's signing secret is optional.
    assert state.can_add_connection("Hook 2", "webhook", {"url": "https://a.b/"}) is None


def test_edit_connection_renames_changes_settings_and_secret_and_undoes(
    state: AccountState,
) -> None:
    before = state.connection(HOOK)
    rename = EditConnection(HOOK, name="CRM  hook")
    rename.do(state)
    assert state.connection(HOOK).name == "CRM hook"
    assert rename.text == "Rename connection “CRM webhook” to “CRM hook”"
    secret = EditConnection(HOOK, secret_ref="env:CRM_SECRET")
    secret.do(state)
    assert secret.text == "Change the secret of connection “CRM hook”"
    settings = EditConnection(HOOK, settings={"url": "https://crm.example.com/v2",
                                              "timeout_seconds": "30"})
    settings.do(state)
    assert state.connection(HOOK).settings["timeout_seconds"] == 30.0
    assert settings.text == "Edit connection “CRM hook”"
    for command in (settings, secret, rename):
        command.undo(state)
    assert state.connection(HOOK) == before


def test_an_edit_refused_changes_nothing(state: AccountState) -> None:
    before = dict(state.connections)
    with pytest.raises(errors.InvalidSettingError, match="Address: "):
        EditConnection(HOOK, settings={"url": "crm.example.com"}).do(state)
    with pytest.raises(errors.DuplicateNameError):
        EditConnection(HOOK, name="braze").do(state)
    assert state.connections == before
    assert state.can_edit_connection(HOOK, "Braze", {"url": "https://a.b/"}, "") == (
        "There is already a connection called “Braze”.")


def test_removing_a_connection_used_by_outputs_is_refused_naming_them(
    state: AccountState,
) -> None:
    message = ("“CRM webhook” can't be removed: it is used by 2 outputs: “Signed up” in "
               "Trial to paid, “Converted” in Trial to paid. Remove those outputs first.")
    assert state.can_remove_connection(HOOK) == message
    with pytest.raises(errors.ConnectionInUseError) as refused:
        RemoveConnection(HOOK).do(state)
    assert str(refused.value) == message
    assert HOOK in state.connections


def test_remove_connection_and_undo_puts_it_back_in_its_place_as_it_was(
    state: AccountState,
) -> None:
    order = list(state.connections)
    legacy = state.connection(BRAZE)
    command = RemoveConnection(BRAZE)
    command.do(state)
    assert command.text == "Remove connection “Braze”"
    assert BRAZE not in state.connections
    command.undo(state)
    assert list(state.connections) == order
    assert state.connection(BRAZE) == legacy  # restored though it lacks its API key


def test_a_macro_that_removes_the_outputs_then_the_connection_is_one_step(
    state: AccountState,
) -> None:
    from app.core.commands import RemoveOutput

    before = (dict(state.connections), state.journey("j1").document())
    macro = Macro("Remove", [RemoveOutput("j1", "o1"), RemoveOutput("j1", "o2"),
                             RemoveConnection(HOOK)])
    macro.do(state)
    assert macro.connection_ids == (HOOK,) and macro.journey_ids == ("j1",)
    assert HOOK not in state.connections
    macro.undo(state)
    assert (dict(state.connections), state.journey("j1").document()) == before


def test_connection_by_name_or_id(state: AccountState) -> None:
    assert state.connection_by_name("crm WEBHOOK").id == HOOK
    assert state.connection_by_name(BRAZE).name == "Braze"
    with pytest.raises(errors.NotFoundError, match="There is no connection called “Nope”"):
        state.connection_by_name("Nope")
