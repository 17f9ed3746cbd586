"""Account settings › Connections, driven with real clicks and typing on a real SQLite file.

The secret typed into the form must end in the (in-memory) keyring and nowhere in the
database; every change is one step on the window's undo stack.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from app.core.partners import PartnerSettings
from app.outputs import registry
from app.outputs.base import Delivered, Fault, Outcome
from app.studio import Studio
from app.ui.account_settings import AccountSettingsDialog, ConnectionEditor
from app.ui.main_window import MainWindow
from tests.memory_keyring import MemoryKeyring

SECRET = "whsec_gui_0b7d2e4f91a6cc58"
CRM_IN_USE = ("“CRM webhook” can't be removed: it is used by 1 output: “Signed up for trial” "
              "in Trial to paid. Remove that output first.")


class FakeConnector:
    """A partner that answers every connection test with ``outcome``."""

    partner = "webhook"

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.secrets: list[str | None] = []

    def test(self, settings: PartnerSettings, secret: str | None) -> Outcome:
        self.secrets.append(secret)
        return self.outcome

    def send(self, delivery: object) -> Outcome:  # pragma: no cover - not used here
        raise AssertionError("nothing is sent from Account settings")


@pytest.fixture
def partner(monkeypatch: pytest.MonkeyPatch) -> FakeConnector:
    fake = FakeConnector(Delivered(status=200))
    monkeypatch.setattr(registry, "connector", lambda kind: fake)
    return fake


def open_settings(qtbot: QtBot, window: MainWindow) -> AccountSettingsDialog:
    """Ctrl+, in the window, then a click on Connections, as a person opens it."""
    window.activateWindow()
    QTest.keyClick(window.view, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.account_settings is not None)
    dialog = window.account_settings
    assert dialog is not None
    qtbot.waitExposed(dialog)
    rect = dialog.pages.visualItemRect(dialog.page_item("Connections"))
    qtbot.mouseClick(dialog.pages.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert dialog.current_page() == "Connections"
    return dialog


def click(qtbot: QtBot, button: QPushButton) -> None:
    assert button.isEnabled(), button.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def select_row(qtbot: QtBot, dialog: AccountSettingsDialog, name: str) -> None:
    page = dialog.connections
    connection = page.state.connection_by_name(name)
    item = page.item_of(connection.id)
    assert item is not None
    rect = page.table.visualItemRect(item)
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert page.selected_id() == connection.id


def retype(qtbot: QtBot, field: QLineEdit, text: str) -> None:
    field.setFocus()
    field.selectAll()
    QTest.keyClick(field, Qt.Key.Key_Backspace)
    qtbot.keyClicks(field, text)


def editor_of(qtbot: QtBot, dialog: AccountSettingsDialog) -> ConnectionEditor:
    qtbot.waitUntil(lambda: dialog.connections.editor is not None)
    editor = dialog.connections.editor
    assert editor is not None
    editor.activateWindow()
    return editor


def stored_connections(db_path: Path) -> dict[str, object]:
    other = Studio.open(str(db_path))
    try:
        return {c.name: c for c in other.state.connections.values()}
    finally:
        other.close()


def test_add_a_connection_test_it_edit_it_and_undo_the_secret_only_in_the_keyring(
    qtbot: QtBot, editor: MainWindow, db_path: Path, memory_keyring: MemoryKeyring,
    partner: FakeConnector, artifacts_dir: Path,
) -> None:
    dialog = open_settings(qtbot, editor)
    page = dialog.connections
    click(qtbot, page.add_button)
    form = editor_of(qtbot, dialog)
    assert form.partner.currentText() == "Webhook"
    assert not form.ok_button.isEnabled()
    qtbot.keyClicks(form.name, "Audit hook")
    url = form.fields["url"]
    assert isinstance(url, QLineEdit)
    assert form.error.text() == "Address is required."
    qtbot.keyClicks(url, "audit.example.com/in")
    # Validated in place with the core's words, the field named and framed.
    assert form.error.text().startswith("Address: The address must be an http:// or https://")
    assert url.property("error") is True and not form.ok_button.isEnabled()
    retype(qtbot, url, "https://audit.example.com/in")
    assert form.error.isHidden() and url.property("error") is False
    assert form.fields["timeout_seconds"].text() == "10"  # type: ignore[union-attr]
    assert form.secret.echoMode() == QLineEdit.EchoMode.Password
    qtbot.keyClicks(form.secret, SECRET)

    click(qtbot, form.test_button)
    qtbot.waitUntil(lambda: form.test_result.text().startswith("Connected"), timeout=5000)
    assert form.test_result.text().startswith("Connected: HTTP 200 in ")
    assert form.test_result.property("outcome") == "ok"
    assert partner.secrets == [SECRET]  # the secret as typed, not saved yet
    assert memory_keyring.entries == {}
    form.grab().save(str(artifacts_dir / "account-settings-new-connection.png"))

    click(qtbot, form.ok_button)
    qtbot.waitUntil(lambda: page.editor is None)
    added = page.state.connection_by_name("Audit hook")
    assert memory_keyring.entries == {("Journey Studio", added.id): SECRET}
    assert added.secret_ref == f"keyring:{added.id}"
    assert SECRET.encode() not in b"".join(p.read_bytes() for p in db_path.parent.glob(
        "journeys.db*"))
    assert stored_connections(db_path)["Audit hook"] == added
    assert editor.undo_stack.undoText() == "Add connection “Audit hook”"
    item = page.item_of(added.id)
    assert item is not None
    assert [item.text(c) for c in range(4)] == ["Audit hook", "Webhook", "In the keyring",
                                                 "Not used"]
    dialog.grab().save(str(artifacts_dir / "account-settings-connections.png"))

    # Edit: rename it; the stored secret is neither shown nor needed again.
    select_row(qtbot, dialog, "Audit hook")
    click(qtbot, page.edit_button)
    form = editor_of(qtbot, dialog)
    assert form.secret.text() == "" and "Saved" in form.secret.placeholderText()
    retype(qtbot, form.name, "Audit")
    click(qtbot, form.ok_button)
    qtbot.waitUntil(lambda: page.editor is None)
    assert set(stored_connections(db_path)) >= {"Audit"}
    assert page.state.connection(added.id).secret_ref == added.secret_ref
    assert editor.undo_stack.undoText() == "Rename connection “Audit hook” to “Audit”"

    # Ctrl+Z in Account settings undoes it: the list, the History and the file agree.
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    QTest.keyClick(page.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert page.state.connection(added.id).name == "Audit hook"
    item = page.item_of(added.id)
    assert item is not None and item.text(0) == "Audit hook"
    assert "Audit hook" in stored_connections(db_path)
    assert editor.undo_stack.undoText() == "Add connection “Audit hook”"


def test_remove_is_refused_with_the_outputs_named_and_allowed_when_unused(
    qtbot: QtBot, editor: MainWindow, db_path: Path,
) -> None:
    dialog = open_settings(qtbot, editor)
    page = dialog.connections
    select_row(qtbot, dialog, "CRM webhook")
    assert not page.remove_button.isEnabled()
    assert page.remove_button.toolTip() == CRM_IN_USE
    item = page.item_of("cn-crm")
    assert item is not None and item.text(3) == "1 output"

    # Once its output is gone, the same connection can be removed, and undone.
    trial = editor.studio.state.journey_by_name("Trial to paid")
    output = next(o for o in trial.outputs() if o.connection_id == "cn-crm")
    from app.core.commands import RemoveOutput

    assert editor.run(RemoveOutput(trial.id, output.id))
    select_row(qtbot, dialog, "CRM webhook")
    click(qtbot, page.remove_button)
    assert page.item_of("cn-crm") is None
    assert "CRM webhook" not in stored_connections(db_path)
    assert editor.undo_stack.undoText() == "Remove connection “CRM webhook”"
    editor.undo()
    assert page.item_of("cn-crm") is not None
    assert "CRM webhook" in stored_connections(db_path)


def test_a_failed_test_shows_the_partners_reason(
    qtbot: QtBot, editor: MainWindow, memory_keyring: MemoryKeyring, partner: FakeConnector,
) -> None:
    partner.outcome = Fault("The receiver refused the signature (HTTP 401).", status=401)
    dialog = open_settings(qtbot, editor)
    select_row(qtbot, dialog, "CRM webhook")
    click(qtbot, dialog.connections.edit_button)
    form = editor_of(qtbot, dialog)
    click(qtbot, form.test_button)
    qtbot.waitUntil(lambda: form.test_result.property("outcome") == "failed", timeout=5000)
    assert form.test_result.text() == "Refused: The receiver refused the signature (HTTP 401)."


def test_without_a_keyring_the_secret_is_named_as_an_environment_variable(
    qtbot: QtBot, editor: MainWindow, db_path: Path, no_keyring: None,
) -> None:
    dialog = open_settings(qtbot, editor)
    click(qtbot, dialog.connections.add_button)
    form = editor_of(qtbot, dialog)
    assert form.use_env.isChecked() and not form.use_env.isEnabled()
    assert "no system keyring" in form.secret_hint.text()
    assert form.secret.echoMode() == QLineEdit.EchoMode.Normal
    qtbot.keyClicks(form.name, "Server hook")
    qtbot.keyClicks(form.fields["url"], "https://hooks.example.com/")  # type: ignore[arg-type]
    qtbot.keyClicks(form.secret, "HOOK_SECRET")
    click(qtbot, form.ok_button)
    qtbot.waitUntil(lambda: dialog.connections.editor is None)
    stored = stored_connections(db_path)["Server hook"]
    assert stored.secret_ref == "env:HOOK_SECRET"  # type: ignore[attr-defined]
    item = dialog.connections.item_of(stored.id)  # type: ignore[attr-defined]
    assert item is not None and item.text(2) == "Environment: HOOK_SECRET"


def test_a_braze_connection_needs_its_api_key(
    qtbot: QtBot, editor: MainWindow, memory_keyring: MemoryKeyring,
) -> None:
    dialog = open_settings(qtbot, editor)
    click(qtbot, dialog.connections.add_button)
    form = editor_of(qtbot, dialog)
    form.partner.setCurrentIndex(form.partner.findText("Braze"))
    assert [form.form.labelForField(w).text() for w in form.fields.values()] == [  # type: ignore[union-attr]
        "REST endpoint", "Attribute name", "External ID from identity"]
    assert form.fields["attribute"].text() == "journey_audiences"  # type: ignore[union-attr]
    qtbot.keyClicks(form.name, "Braze EU")
    qtbot.keyClicks(form.fields["rest_endpoint"], "https://rest.fra-01.braze.eu")  # type: ignore[arg-type]
    assert form.error.text() == "API key is required: this partner refuses requests without it."
    assert not form.ok_button.isEnabled()
    qtbot.keyClicks(form.secret, "braze-api-key-123456")
    assert form.ok_button.isEnabled()


def test_a_refusal_that_points_to_account_settings_opens_it_from_the_banner(
    qtbot: QtBot, editor: MainWindow,
) -> None:
    from app.core.commands import AddOutput, SetActiveAudienceLimit
    from app.core.models import Output

    assert editor.run(SetActiveAudienceLimit(3))  # the demo has 3 active audiences
    trial = editor.studio.state.journey_by_name("Trial to paid")
    watched = next(m for m in trial.milestones_in_order() if m.name == "Watched content")
    assert not editor.run(AddOutput(trial.id, Output(milestone_id=watched.id,
                                                     connection_id="cn-braze")))
    assert "Account settings" in editor.banner.text()
    assert editor.banner.action_button.text() == "Account settings…"
    qtbot.mouseClick(editor.banner.action_button, Qt.MouseButton.LeftButton)
    assert editor.account_settings is not None and editor.account_settings.isVisible()
    assert editor.account_settings.current_page() == "Limit"  # the page it is about
