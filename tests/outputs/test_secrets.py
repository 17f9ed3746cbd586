"""Connections' secrets: in the keyring or the environment, resolved by reference, masked."""

from __future__ import annotations

import pytest

from app.outputs import secrets
from app.outputs.secrets import SERVICE, SecretError
from tests.memory_keyring import MemoryKeyring


def test_a_secret_goes_to_the_keyring_under_the_connection_id(
    memory_keyring: MemoryKeyring,
) -> None:
    ref = secrets.store_secret("cn-1", "whsec_0123456789abcd12")
    assert ref == "keyring:cn-1"
    assert memory_keyring.entries == {(SERVICE, "cn-1"): "whsec_0123456789abcd12"}
    assert secrets.resolve(ref) == "whsec_0123456789abcd12"


def test_a_new_secret_never_overwrites_an_entry_so_undo_finds_the_old_one(
    memory_keyring: MemoryKeyring,
) -> None:
    first = secrets.store_secret("cn-1", "old-secret-value-1")
    second = secrets.store_secret("cn-1", "new-secret-value-2")
    assert second != first and second.startswith("keyring:cn-1.")
    assert secrets.resolve(first) == "old-secret-value-1"
    assert secrets.resolve(second) == "new-secret-value-2"


def test_without_a_keyring_the_message_says_to_use_env(no_keyring: None) -> None:
    with pytest.raises(SecretError, match="refer to it as env:NAME"):
        secrets.store_secret("cn-1", "whatever")
    assert secrets.keyring_problem() is not None


def test_env_references_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_SECRET", "from-the-env")
    assert secrets.resolve("env:CRM_SECRET") == "from-the-env"
    monkeypatch.delenv("CRM_SECRET")
    with pytest.raises(SecretError, match="environment variable CRM_SECRET is not set"):
        secrets.resolve("env:CRM_SECRET")
    assert secrets.resolve("") is None


def test_a_missing_keyring_entry_is_named(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(SecretError, match="no “Journey Studio” entry “cn-gone”"):
        secrets.resolve("keyring:cn-gone")


def test_masked_and_described_never_show_the_secret(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert secrets.masked("whsec_0123456789abcd12") == "••••••cd12"
    assert secrets.masked("short") == "••••••"
    assert secrets.masked(None) == "not set"
    ref = secrets.store_secret("cn-1", "whsec_0123456789abcd12")
    assert secrets.describe(ref) == "keyring (••••••cd12)"
    assert secrets.describe("keyring:cn-gone") == "keyring (missing on this machine)"
    monkeypatch.setenv("CRM_SECRET", "from-the-env")
    assert secrets.describe("env:CRM_SECRET") == "env:CRM_SECRET (set)"
    assert secrets.describe("") == "not set"
