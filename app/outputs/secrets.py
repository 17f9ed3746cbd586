"""Connections' secrets: kept in the OS keyring or an environment variable, never in the database.

A connection stores only a reference (``Connection.secret_ref``):

- ``keyring:<entry>``: an entry of the OS keyring (macOS Keychain, Windows
  Credential Locker, the Secret Service on Linux) under the service
  :data:`SERVICE`; the entry's user name is the connection's id;
- ``env:<NAME>``: the environment variable ``NAME`` of the process that sends
  (a server or a scheduled ``journeys run`` without a keyring);
- empty: the connection has no secret.

Entries are never overwritten: the first secret saved for a connection goes
under its id, a later one (a changed token) under the id with a short suffix.
So every reference ever stored still resolves to the secret it was saved with,
and undoing an edit of the secret, or the removal of a connection, brings back
a connection that works as before. The price is that entries outlive their
connection: removing a connection leaves its keyring entries in place (the
removal can be undone), and they can be deleted in the system's keyring tool.

Secrets are never logged, written to the database or an export, nor shown
other than :func:`masked`.
"""

from __future__ import annotations

import os
import secrets as random_tokens

import keyring
import keyring.errors
from keyring.backends import fail

from app.core.errors import StudioError
from app.core.partners import ENV_PREFIX, KEYRING_PREFIX

SERVICE = "Journey Studio"
"""The keyring service every entry of Journey Studio is stored under."""

NO_KEYRING = (
    "There is no system keyring to keep the secret in on this machine. Put the secret "
    "in an environment variable of the process that sends and refer to it as env:NAME "
    "instead (for example: journeys connection add … --secret-env CRM_SECRET)."
)


class SecretError(StudioError):
    """A secret could not be stored or found; the message says what is missing."""


def keyring_problem() -> str | None:
    """Why no secret can go to the keyring here (None: one can)."""
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration is the same as none
        return NO_KEYRING
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return NO_KEYRING
    return None


def store_secret(connection_id: str, secret: str) -> str:
    """Keep ``secret`` for the connection in the OS keyring; return its reference.

    Raises :class:`SecretError` (naming ``env:NAME`` as the way out) when the
    machine has no usable keyring, and for an empty secret.
    """
    if not secret.strip():
        raise SecretError("The secret is empty; type it or paste it again.")
    problem = keyring_problem()
    if problem:
        raise SecretError(problem)
    try:
        entry = _free_entry(connection_id)
        keyring.set_password(SERVICE, entry, secret)
    except keyring.errors.KeyringError as failure:
        raise SecretError(f"The system keyring did not take the secret ({_reason(failure)}). "
                          f"{NO_KEYRING}") from None
    return KEYRING_PREFIX + entry


def _free_entry(connection_id: str) -> str:
    """The connection's id, or the id with a fresh suffix when an entry already has it."""
    if keyring.get_password(SERVICE, connection_id) is None:
        return connection_id
    while True:
        entry = f"{connection_id}.{random_tokens.token_hex(4)}"
        if keyring.get_password(SERVICE, entry) is None:
            return entry


def resolve(secret_ref: str) -> str | None:
    """The secret a reference names; None for no reference.

    Raises :class:`SecretError` naming what is missing: the keyring entry, the
    environment variable, or the keyring itself.
    """
    ref = secret_ref.strip()
    if not ref:
        return None
    if ref.startswith(ENV_PREFIX):
        name = ref.removeprefix(ENV_PREFIX)
        value = os.environ.get(name)
        if not value:
            raise SecretError(
                f"The environment variable {name} is not set (or empty) in this process; "
                f"the connection's secret is expected there."
            )
        return value
    if ref.startswith(KEYRING_PREFIX):
        entry = ref.removeprefix(KEYRING_PREFIX)
        problem = keyring_problem()
        if problem:
            raise SecretError(problem)
        try:
            value = keyring.get_password(SERVICE, entry)
        except keyring.errors.KeyringError as failure:
            raise SecretError(
                f"The system keyring could not be read ({_reason(failure)})."
            ) from None
        if value is None:
            raise SecretError(
                f"The system keyring has no “{SERVICE}” entry “{entry}” on this machine; "
                f"enter the secret again in Account settings, or use env:NAME."
            )
        return value
    raise SecretError("The connection's secret reference is neither keyring: nor env:.")


def masked(secret: str | None) -> str:
    """A secret as it may be shown: its last four characters at most, never the rest.

    Short secrets show nothing of themselves (four of eight characters would
    give half away).
    """
    if not secret:
        return "not set"
    if len(secret) < 12:
        return "••••••"
    return "••••••" + secret[-4:]


def describe(secret_ref: str) -> str:
    """Where a connection's secret is kept and what it looks like, for list and show.

    ``keyring (••••••cd12)``, ``env:CRM_SECRET (set)``, ``not set``, or what is
    missing; it never raises, never shows the secret.
    """
    ref = secret_ref.strip()
    if not ref:
        return "not set"
    try:
        value = resolve(ref)
    except SecretError:
        value = None
    if ref.startswith(ENV_PREFIX):
        return f"{ref} ({'set' if value else 'not set in this process'})"
    if value is None:
        return "keyring (missing on this machine)"
    return f"keyring ({masked(value)})"


def _reason(failure: Exception) -> str:
    """A keyring failure's first line, which names the backend's problem (never a secret)."""
    text = str(failure).strip().splitlines()
    return text[0] if text else type(failure).__name__
