"""Account settings: one window for what the account is made of, in pages on the left.

* **Limit** (:mod:`app.ui.limit_page`): the active-audience limit and the audiences that
  count against it.
* **Workspaces & inputs** (:mod:`app.ui.workspaces_page`): where events come in.
* **Connections**: the account's partners with how many outputs use each; Add and Edit
  open a :class:`ConnectionEditor` whose fields come from the partner's settings model
  (``app.core.partners``), validated in place with the core's own message, with a
  “Test connection” that runs off the GUI thread. A secret typed in the editor goes
  straight to the OS keyring through the studio; the connection only keeps the
  reference, and the field never shows a stored secret.

Every change is one core command run through the window's undo stack, so it is
undoable and in the History like any edit. The window opens on the page a refusal or
the status bar's meter is about (:func:`page_for`).
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.account import AccountState
from app.core.commands import AddConnection, Command, EditConnection, RemoveConnection
from app.core.errors import StudioError
from app.core.models import PARTNER_LABELS, Connection, new_id
from app.core.partners import ENV_PREFIX, KEYRING_PREFIX, SECRETS, SETTINGS, field_label
from app.ui import icons, theme
from app.ui.background import BackgroundTask
from app.ui.bridge import AccountWatcher
from app.ui.dialogs import _Dialog, _error_label, _show_error
from app.ui.limit_page import LimitPage
from app.ui.settings_page import Refusals, SettingsPage
from app.ui.workspaces_page import WorkspacesPage

log = logging.getLogger(__name__)

ACCOUNT_SETTINGS = "Account settings"
"""The window's name, as menus, messages and banners say it."""

LIMIT_PAGE = "Limit"
WORKSPACES_PAGE = "Workspaces & inputs"
CONNECTIONS_PAGE = "Connections"
PAGES = (LIMIT_PAGE, WORKSPACES_PAGE, CONNECTIONS_PAGE)
"""The pages of the window, in the list on its left."""
PAGE_ICONS = {LIMIT_PAGE: "gauge", WORKSPACES_PAGE: "layers", CONNECTIONS_PAGE: "send"}


def page_for(message: str) -> str:
    """The page a message that mentions Account settings is about: the limit, a workspace
    or input, or else a connection (a missing secret or key of a partner)."""
    text = message.casefold()
    if "limit" in text:
        return LIMIT_PAGE
    if "workspace" in text or "input" in text:
        return WORKSPACES_PAGE
    return CONNECTIONS_PAGE


PENDING_SECRET = KEYRING_PREFIX + "pending"
"""What the rules are asked with while a typed secret is not in the keyring yet."""


class ConnectionStudio(Protocol):
    """What the window needs of :class:`app.studio.Studio` for connections."""

    def save_secret(self, connection_id: str, secret: str) -> str: ...

    def test_connection(self, connection: Connection, secret: str | None = None) -> Any: ...

    def keyring_problem(self) -> str | None: ...


def _partner_icon(partner: str, size: int = 18) -> Any:
    return icons.icon(icons.partner_icon(partner), theme.brand_tint(
        theme.PARTNER_TINTS.get(partner, theme.OTHER_PARTNER_TINT)))


def _users_text(count: int) -> str:
    return "Not used" if count == 0 else f"{count} output{'s' if count != 1 else ''}"


def _secret_text(connection: Connection) -> str:
    """Where the secret is, never what it is."""
    spec = SECRETS.get(connection.partner)
    if spec is None:
        return "—"
    ref = connection.secret_ref
    if ref.startswith(ENV_PREFIX):
        return f"Environment: {ref.removeprefix(ENV_PREFIX)}"
    if ref:
        return "In the keyring"
    return "Missing" if spec.required else "None"


class AccountSettingsDialog(QDialog):
    """Pages on the left, the chosen page on the right; changes go through ``run``."""

    def __init__(self, watcher: AccountWatcher, run: Callable[[Command], bool],
                 studio: object, refusals: Refusals | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accountSettings")
        self.setWindowTitle(ACCOUNT_SETTINGS)
        self.watcher = watcher
        self.pages = QListWidget()
        self.pages.setObjectName("settingsPages")
        self.pages.setIconSize(QSize(18, 18))
        self.stack = QStackedWidget()
        self.limit = LimitPage(watcher, run, refusals, self)
        self.workspaces = WorkspacesPage(watcher, run, studio, refusals, self)
        self.connections = ConnectionsPage(watcher, run, studio, refusals, self)
        self._pages: dict[str, QWidget] = {LIMIT_PAGE: self.limit,
                                           WORKSPACES_PAGE: self.workspaces,
                                           CONNECTIONS_PAGE: self.connections}
        for title in PAGES:
            item = QListWidgetItem(icons.icon(PAGE_ICONS[title], "text_muted"), title)
            item.setFont(theme.font(13, QFont.Weight.Medium))
            item.setSizeHint(QSize(0, 36))
            item.setData(Qt.ItemDataRole.UserRole, title)
            self.pages.addItem(item)
            self.stack.addWidget(self._pages[title])
        self.pages.currentItemChanged.connect(self._on_page_item)
        self.account_name = QLabel()
        self.account_name.setObjectName("settingsSection")
        watcher.accountChanged.connect(self._show_account_name)
        self._show_account_name()
        sidebar = QWidget()
        sidebar.setObjectName("settingsSidebar")
        sidebar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        sidebar.setFixedWidth(212)
        side = QVBoxLayout(sidebar)
        side.setContentsMargins(10, 18, 10, 16)
        side.setSpacing(6)
        self.account_name.setContentsMargins(10, 0, 0, 0)
        side.addWidget(self.account_name)
        side.addWidget(self.pages, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        self.close_button = close.button(QDialogButtonBox.StandardButton.Close)
        right = QVBoxLayout()
        right.setContentsMargins(28, 22, 28, 18)
        right.setSpacing(12)
        right.addWidget(self.stack, 1)
        right.addWidget(close)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(sidebar)
        layout.addLayout(right, 1)
        self.show_page(LIMIT_PAGE)
        self.resize(900, 580)

    def _show_account_name(self) -> None:
        self.account_name.setText(self.watcher.state.account.name.upper())

    def _on_page_item(self, item: QListWidgetItem | None, _previous: object) -> None:
        title = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if isinstance(title, str) and title in self._pages:
            self.stack.setCurrentWidget(self._pages[title])

    def page_item(self, title: str) -> QListWidgetItem:
        """The entry of ``title`` in the list on the left (tests click it)."""
        for row in range(self.pages.count()):
            item = self.pages.item(row)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == title:
                return item
        raise KeyError(title)

    def show_page(self, title: str) -> None:
        """Turn to the page called ``title`` (one of :data:`PAGES`)."""
        self.pages.setCurrentItem(self.page_item(title))

    def current_page(self) -> str:
        """The title of the page shown."""
        shown = self.stack.currentWidget()
        return next(title for title, page in self._pages.items() if page is shown)


class ConnectionsPage(SettingsPage):
    """The account's connections: a table, Add / Edit / Remove, and a line for refusals."""

    def __init__(self, watcher: AccountWatcher, run: Callable[[Command], bool],
                 studio: object, refusals: Refusals | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(
            "Connections",
            "The partners your outputs forward audiences to. Secrets are kept in the system "
            "keyring (or read from an environment variable), never in the database.",
            watcher, run, refusals, parent)
        self.setObjectName("connectionsPage")
        self.studio = studio
        self.editor: ConnectionEditor | None = None
        """The Add / Edit form open now (tests fill and accept it)."""
        self.table = QTreeWidget()
        self.table.setObjectName("connectionTable")
        self.table.setColumnCount(4)
        self.table.setHeaderLabels(["Name", "Partner", "Secret", "Used by"])
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setIconSize(QSize(18, 18))
        header = self.table.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.add_button = QPushButton("Add connection…")
        self.add_button.setObjectName("primaryButton")
        self.edit_button = QPushButton("Edit…")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removeConnection")
        self.body.addWidget(self.table, 1)
        self.body.addWidget(self.notice)
        self.body.addLayout(self.button_row(self.add_button, None, self.edit_button,
                                            self.remove_button))
        self.add_button.clicked.connect(self.add_connection)
        self.edit_button.clicked.connect(self.edit_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.table.itemDoubleClicked.connect(lambda *_: self.edit_selected())
        self.table.currentItemChanged.connect(lambda *_: self._update_buttons())
        for signal in (watcher.accountChanged, watcher.journeysChanged, watcher.statusChanged):
            signal.connect(self.refresh)
        self.refresh()

    # ------------------------------------------------------------------ the table

    def refresh(self) -> None:
        """Rebuild the rows from the account (after any edit, undo or reload)."""
        selected = self.selected_id()
        self.table.clear()
        for connection in self.state.connections.values():
            users = len(self.state.connection_users(connection.id))
            item = QTreeWidgetItem([connection.name, connection.partner_label,
                                    _secret_text(connection), _users_text(users)])
            item.setIcon(0, _partner_icon(connection.partner))
            item.setData(0, Qt.ItemDataRole.UserRole, connection.id)
            item.setSizeHint(0, QSize(0, 34))
            reason = self.state.can_remove_connection(connection.id)
            if reason:
                item.setToolTip(3, reason)
            self.table.addTopLevelItem(item)
            if connection.id == selected:
                self.table.setCurrentItem(item)
        first = self.table.topLevelItem(0)
        if self.table.currentItem() is None and first is not None:
            self.table.setCurrentItem(first)
        self._update_buttons()

    def item_of(self, connection_id: str) -> QTreeWidgetItem | None:
        for row in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(row)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == connection_id:
                return item
        return None

    def selected_id(self) -> str | None:
        item = self.table.currentItem()
        value = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        return value if isinstance(value, str) and value in self.state.connections else None

    def _update_buttons(self) -> None:
        connection_id = self.selected_id()
        self.edit_button.setEnabled(connection_id is not None)
        reason = self.state.can_remove_connection(connection_id) if connection_id else None
        self.remove_button.setEnabled(connection_id is not None and reason is None)
        self.remove_button.setToolTip(reason or "")

    # ------------------------------------------------------------------ changes

    def add_connection(self) -> None:
        self._open(ConnectionEditor(self.state, self.studio, None, self))

    def edit_selected(self) -> None:
        connection_id = self.selected_id()
        if connection_id is not None:
            self._open(ConnectionEditor(self.state, self.studio, connection_id, self))

    def remove_selected(self) -> None:
        connection_id = self.selected_id()
        if connection_id is not None:
            self.apply(RemoveConnection(connection_id))

    def _open(self, editor: ConnectionEditor) -> None:
        self.editor = editor
        editor.save = self.save

        def finished(_result: int) -> None:
            if self.editor is editor:
                self.editor = None
            editor.deleteLater()

        editor.finished.connect(finished)
        editor.open()

    def save(self, editor: ConnectionEditor) -> str | None:
        """Keep a typed secret in the keyring, then run the command: None, or why not."""
        try:
            ref = editor.secret_ref(self._save_secret)
        except StudioError as problem:
            return str(problem)
        if editor.connection_id is None:
            command: Command = AddConnection(editor.connection(ref))
        else:
            values = editor.connection(ref)
            command = EditConnection(values.id, name=values.name, settings=values.settings,
                                     secret_ref=values.secret_ref)
        return self.apply(command)

    def _save_secret(self, connection_id: str, secret: str) -> str:
        saver = getattr(self.studio, "save_secret", None)
        if saver is None:
            raise StudioError("Secrets can't be kept in this window.")
        ref: str = saver(connection_id, secret)
        return ref

    def applied(self, command: Command) -> None:
        self.refresh()
        connection_id = command.connection_ids[0] if command.connection_ids else ""
        item = self.item_of(connection_id)
        if item is not None:
            self.table.setCurrentItem(item)


class ConnectionEditor(_Dialog):
    """A new connection (partner, name, settings, secret) or an existing one's values."""

    tested = Signal(str, bool)
    """A connection test ended: its sentence, and whether it connected."""

    def __init__(self, state: AccountState, studio: object, connection_id: str | None,
                 parent: QWidget | None = None) -> None:
        self.state = state
        self.studio = studio
        self.connection_id = connection_id
        existing = state.connection(connection_id) if connection_id else None
        self.existing = existing
        super().__init__(f"Edit “{existing.name}”" if existing else "New connection", parent)
        self.save: Callable[[ConnectionEditor], str | None] | None = None
        """Set by the page: keeps the secret and runs the command; returns a refusal."""
        self.new_id = new_id()
        self.partner = QComboBox()
        self.partner.setObjectName("partnerField")
        self.partner.setIconSize(QSize(18, 18))
        for partner in SETTINGS:
            self.partner.addItem(_partner_icon(partner), PARTNER_LABELS[partner], partner)
        if existing is not None:
            self.partner.setCurrentIndex(self.partner.findData(existing.partner))
            self.partner.setEnabled(False)  # a connection stays the partner it was made for
        self.name = QLineEdit(existing.name if existing else "")
        self.name.setObjectName("nameField")
        self.name.setPlaceholderText("e.g. CRM webhook")
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setHorizontalSpacing(14)
        self.form.setVerticalSpacing(10)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight
                                    | Qt.AlignmentFlag.AlignVCenter)
        self.fields: dict[str, QLineEdit | QComboBox] = {}
        self.secret = QLineEdit()
        self.secret.setObjectName("secretField")
        self.secret_hint = QLabel()
        self.secret_hint.setObjectName("fieldHint")
        self.secret_hint.setWordWrap(True)
        self.use_env = QCheckBox("Read it from an environment variable instead")
        self.use_env.setObjectName("useEnv")
        self.error = _error_label()
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("testConnection")
        self.test_result = QLabel()
        self.test_result.setObjectName("testResult")
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row = QHBoxLayout()
        test_row.setSpacing(10)
        test_row.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignTop)
        test_row.addWidget(self.test_result, 1)
        rule = QFrame()
        rule.setObjectName("formRule")
        self.body.addWidget(self.form_host)
        self.body.addWidget(self.error)
        self.body.addWidget(rule)
        self.body.addLayout(test_row)
        self.ok_button.setText("Add connection" if existing is None else "Save")
        self.finish_layout()
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._tasks: list[BackgroundTask] = []
        self._generation = 0
        self._touched = existing is not None
        self._build_form()
        self.partner.currentIndexChanged.connect(lambda _i: self._build_form())
        self.name.textChanged.connect(self._on_edit)
        self.secret.textChanged.connect(self._on_edit)
        self.use_env.toggled.connect(self._on_env_toggled)
        self.test_button.clicked.connect(self.test_connection)
        self.resize(560, 0)
        self.name.setFocus()

    # ------------------------------------------------------------------ the form

    @property
    def partner_kind(self) -> str:
        value = self.partner.currentData()
        return str(value)

    def _build_form(self) -> None:
        """The partner's fields, labelled by the model, defaults (or stored values) filled in."""
        while self.form.rowCount():
            self.form.takeRow(0)  # the widgets stay; those of this partner go below
        for child in self.form_host.findChildren(QWidget, options=Qt.FindChildOption
                                                 .FindDirectChildrenOnly):
            if child not in (self.partner, self.name, self.secret, self.use_env,
                             self.secret_hint):
                child.deleteLater()
        self.fields = {}
        partner = self.partner_kind
        values = dict(self.existing.settings) if self.existing else {}
        self.form.addRow(self._label("Partner"), self.partner)
        self.form.addRow(self._label("Name"), self.name)
        for key, info in SETTINGS[partner].model_fields.items():
            widget = self._field_widget(info.annotation, values.get(key, info.default),
                                        info.is_required())
            widget.setObjectName(f"setting_{key}")
            self.fields[key] = widget
            self.form.addRow(self._label(field_label(partner, key)), widget)
        spec = SECRETS.get(partner)
        self.secret.setVisible(spec is not None)
        self.use_env.setVisible(spec is not None)
        self.secret_hint.setVisible(spec is not None)
        if spec is not None:
            label = spec.label + ("" if spec.required else " (optional)")
            self.form.addRow(self._label(label), self.secret)
            self.form.addRow(QWidget(), self.use_env)
            self.form.addRow(QWidget(), self.secret_hint)
            ref = self.existing.secret_ref if self.existing else ""
            no_keyring = self._keyring_problem()
            self.use_env.blockSignals(True)
            self.use_env.setChecked(ref.startswith(ENV_PREFIX) or bool(no_keyring))
            self.use_env.setEnabled(not no_keyring)
            self.use_env.setToolTip(no_keyring or "")
            self.use_env.blockSignals(False)
            self._secret_mode(initial=True)
        self.test_result.clear()
        self.validate()

    @staticmethod
    def _label(text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("fieldLabel")
        return label

    def _field_widget(self, annotation: object, value: object,
                      required: bool) -> QLineEdit | QComboBox:
        choices = typing.get_args(annotation) if typing.get_origin(annotation) is \
            typing.Literal else ()
        if choices:
            combo = QComboBox()
            for choice in choices:
                combo.addItem(str(choice), choice)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.currentIndexChanged.connect(self._on_edit)
            return combo
        line = QLineEdit("" if required and self.existing is None else _as_text(value))
        if required and self.existing is None:
            line.setPlaceholderText("Required")
        line.textChanged.connect(self._on_edit)
        return line

    def _keyring_problem(self) -> str | None:
        """Why secrets can't go to a keyring here; a studio that keeps none says so too."""
        ask = getattr(self.studio, "keyring_problem", None)
        if ask is None:
            return "Secrets can't be kept in this window."
        problem: str | None = ask()
        return problem

    def _on_env_toggled(self, _checked: bool) -> None:
        self.secret.clear()
        self._secret_mode()
        self.validate()

    def _secret_mode(self, initial: bool = False) -> None:
        """A password field for the keyring, a plain one for an environment variable's name."""
        ref = self.existing.secret_ref if self.existing else ""
        if self.use_env.isChecked():
            self.secret.setEchoMode(QLineEdit.EchoMode.Normal)
            self.secret.setPlaceholderText("VARIABLE_NAME")
            if initial and ref.startswith(ENV_PREFIX):
                self.secret.setText(ref.removeprefix(ENV_PREFIX))
            self.secret_hint.setText(
                "The secret is read from this environment variable of the process that "
                "sends (a server, a scheduled journeys run).")
            problem = self._keyring_problem()
            if problem:
                self.secret_hint.setText(
                    "This machine has no system keyring to keep a secret in: name an "
                    "environment variable of the process that sends instead.")
        else:
            self.secret.setEchoMode(QLineEdit.EchoMode.Password)
            stored = ref.startswith(KEYRING_PREFIX)
            self.secret.setPlaceholderText("Saved ••••••  (type to replace)" if stored
                                           else "Paste it here")
            self.secret_hint.setText("Kept in the system keyring; the database only "
                                     "notes where to find it.")

    def _on_edit(self, *_: object) -> None:
        self._touched = True
        self.test_result.clear()
        self.validate()

    # ------------------------------------------------------------------ values

    def settings(self) -> dict[str, object]:
        values: dict[str, object] = {}
        for key, widget in self.fields.items():
            if isinstance(widget, QComboBox):
                values[key] = widget.currentData()
            elif widget.text().strip():
                values[key] = widget.text().strip()
        return values

    def typed_secret(self) -> str | None:
        """A secret typed for the keyring (None: none typed, or an environment variable)."""
        if SECRETS.get(self.partner_kind) is None or self.use_env.isChecked():
            return None
        return self.secret.text() or None

    def _planned_ref(self) -> str:
        """The reference the form will give, before any secret is kept."""
        if SECRETS.get(self.partner_kind) is None:
            return ""
        if self.use_env.isChecked():
            name = self.secret.text().strip()
            return ENV_PREFIX + name if name else ""
        if self.secret.text():
            return PENDING_SECRET
        current = self.existing.secret_ref if self.existing else ""
        return current if current.startswith(KEYRING_PREFIX) else ""

    def secret_ref(self, save_secret: Callable[[str, str], str]) -> str:
        """The reference to store: a typed secret is put in the keyring now."""
        typed = self.typed_secret()
        if typed is not None:
            return save_secret(self.connection_id or self.new_id, typed)
        return self._planned_ref()

    def connection(self, secret_ref: str) -> Connection:
        """The connection the form describes, with ``secret_ref`` (not checked here)."""
        return Connection.model_construct(
            id=self.connection_id or self.new_id, name=self.name.text(),
            partner=self.partner_kind,  # type: ignore[arg-type]  # one of SETTINGS' keys
            settings=self.settings(), secret_ref=secret_ref)

    # ------------------------------------------------------------------ checks

    def problem(self) -> str | None:
        if self.connection_id is None:
            return self.state.can_add_connection(self.name.text(), self.partner_kind,
                                                 self.settings(), self._planned_ref())
        return self.state.can_edit_connection(self.connection_id, self.name.text(),
                                              self.settings(), self._planned_ref())

    def validate(self) -> bool:
        problem = self.problem()
        shown = problem if self._touched else None
        _show_error(self.error, shown)
        self._mark_field(shown)
        ok = problem is None
        self.ok_button.setEnabled(ok)
        settings_problem = self._settings_problem()
        self.test_button.setEnabled(settings_problem is None
                                    and hasattr(self.studio, "test_connection"))
        self.test_button.setToolTip(settings_problem or "")
        return ok

    def _settings_problem(self) -> str | None:
        from app.core.graph import reason
        from app.core.partners import checked_settings

        return reason(lambda: checked_settings(self.partner_kind, self.settings()))

    def _mark_field(self, problem: str | None) -> None:
        """The field the core's message names gets the error frame."""
        partner = self.partner_kind
        for key, widget in self.fields.items():
            label = field_label(partner, key)
            named = bool(problem) and (problem or "").startswith(label)
            widget.setProperty("error", named)
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    def accept(self) -> None:
        if not self.validate():
            return
        problem = self.save(self) if self.save is not None else None
        if problem:
            self._touched = True
            _show_error(self.error, problem)
            return
        super(_Dialog, self).accept()

    # ------------------------------------------------------------------ testing

    def test_connection(self) -> None:
        """One real request with the values as typed, off the GUI thread."""
        tester = getattr(self.studio, "test_connection", None)
        if tester is None:
            return
        connection = self.connection(self._test_ref())
        secret = self.typed_secret()
        self._generation += 1
        self._tasks = [t for t in self._tasks if not t.returned]
        task = BackgroundTask(lambda: tester(connection, secret), "connection-test",
                              self._generation, "Testing a connection")
        task.signals.finished.connect(self._tested)
        task.signals.failed.connect(self._test_failed)
        self._tasks.append(task)
        self.test_button.setEnabled(False)
        self._show_test("Testing…", None)
        self.pool.start(task)

    def _test_ref(self) -> str:
        ref = self._planned_ref()
        return "" if ref == PENDING_SECRET else ref

    def _tested(self, _key: str, generation: int, result: object) -> None:
        if generation != self._generation:
            return
        self.validate()
        ok = bool(getattr(result, "ok", False))
        self._show_test(str(getattr(result, "summary", result)), ok)

    def _test_failed(self, _key: str, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self.validate()
        self._show_test(message, False)

    def _show_test(self, text: str, ok: bool | None) -> None:
        self.test_result.setText(text)
        self.test_result.setProperty("outcome", "" if ok is None else
                                     ("ok" if ok else "failed"))
        self.test_result.style().unpolish(self.test_result)
        self.test_result.style().polish(self.test_result)
        if ok is not None:
            self.tested.emit(text, ok)

    def done(self, result: int) -> None:
        """Closing waits for a running test (it ends at the partner's timeout at worst)."""
        self._generation += 1
        super().done(result)


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
