"""What each partner's connection needs: its settings (checked) and its secret (named).

One home for these, because several layers need them: the Account settings
window and ``journeys connection`` build their forms and messages from the
fields here, core's connection rules check settings with them, and the
connectors in ``app/outputs`` read the checked values. :class:`Profile`, a user
as partners know them, is here too: the store reads them from the outbox and
the connectors send them.

A connection's secret (a signing secret, an access token, an API key) is not
one of its settings: it lives in the OS keyring or an environment variable and
the connection keeps only a reference (``Connection.secret_ref``). ``SECRETS``
says what each partner calls its secret, and whether it needs one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import repeat
from types import MappingProxyType
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.core import errors


def _http_url(value: str, what: str) -> str:
    """``value`` when it is an http(s) URL with a host; a plain message otherwise."""
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http:// or https:// address, such as "
                         f"https://example.com/…")
    return text


class PartnerSettings(BaseModel):
    """Settings of one partner kind; unknown fields are refused (a typo is not ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class WebhookSettings(PartnerSettings):
    url: str = Field(description="Address")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="Timeout (seconds)")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value, "The address")


class FacebookSettings(PartnerSettings):
    ad_account_id: str = Field(
        min_length=1, max_length=64, pattern=r"^(act_)?[0-9A-Za-z_]+$",
        description="Ad account ID",
    )
    api_version: str = Field(default="v21.0", pattern=r"^v[0-9]+\.[0-9]+$",
                             description="API version")
    base_url: str = Field(default="https://graph.facebook.com", description="API address")

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str) -> str:
        return _http_url(value, "The API address").rstrip("/")


class FileDropSettings(PartnerSettings):
    folder: str = Field(min_length=1, max_length=1000, description="Folder")
    format: Literal["csv", "jsonl"] = Field(default="csv", description="File format")


class BrazeSettings(PartnerSettings):
    rest_endpoint: str = Field(description="REST endpoint")
    attribute: str = Field(default="journey_audiences", min_length=1, max_length=255,
                           pattern=r"^[A-Za-z0-9_]+$", description="Attribute name")
    external_id_from: str = Field(default="customer_id", min_length=1, max_length=64,
                                  description="External ID from identity")

    @field_validator("rest_endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return _http_url(value, "The REST endpoint").rstrip("/")


SETTINGS: dict[str, type[PartnerSettings]] = {
    "webhook": WebhookSettings,
    "file_drop": FileDropSettings,
    "facebook_custom_audiences": FacebookSettings,
    "braze": BrazeSettings,
}
"""The settings model of each partner kind (the keys are ``models.PartnerKind``)."""


@dataclass(frozen=True)
class SecretSpec:
    """What a partner calls its secret, and whether a connection can work without one."""

    label: str
    required: bool


SECRETS: dict[str, SecretSpec | None] = {
    "webhook": SecretSpec("Signing secret", required=False),
    "file_drop": None,
    "facebook_custom_audiences": SecretSpec("Access token", required=True),
    "braze": SecretSpec("API key", required=True),
}
"""Each partner kind's secret; None: it has none."""


def field_label(partner: str, name: str) -> str:
    """The words a form and a message use for one setting (its ``description``)."""
    model = SETTINGS.get(partner)
    info = model.model_fields.get(name) if model else None
    return (info.description if info and info.description else name.replace("_", " ")).strip()


def checked_settings(partner: str, settings: dict[str, Any]) -> PartnerSettings:
    """The settings of a ``partner`` connection, checked; a plain message naming the field.

    Raises :class:`~app.core.errors.InvalidSettingError` for an unknown partner
    kind, a missing or unknown field, or a value of the wrong shape.
    """
    model = SETTINGS.get(partner)
    if model is None:
        known = ", ".join(sorted(SETTINGS))
        raise errors.InvalidSettingError(
            f"“{partner}” is not a partner Journey Studio can send to (it knows {known})."
        )
    try:
        return model.model_validate(settings)
    except ValidationError as invalid:
        problem = invalid.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "settings"
        label = field_label(partner, str(problem["loc"][0])) if problem["loc"] else where
        if problem["type"] == "missing":
            message = f"{label} is required."
        elif problem["type"] == "extra_forbidden":
            message = f"“{where}” is not a setting of this partner."
        else:
            text = str(problem["msg"]).removeprefix("Value error, ")
            message = f"{label}: {text}"
        raise errors.InvalidSettingError(message) from None


KEYRING_PREFIX = "keyring:"
ENV_PREFIX = "env:"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")


def check_secret_ref(partner: str, secret_ref: str) -> str:
    """The reference a ``partner`` connection may keep (trimmed), or a plain refusal.

    Empty (no secret), ``keyring:<entry>`` or ``env:<NAME>``; a partner whose
    secret is required must have one, a partner without a secret must not.
    Only the shape is checked here: whether the entry or variable exists is
    asked when the secret is used (:mod:`app.outputs.secrets`).
    """
    ref = secret_ref.strip()
    spec = SECRETS.get(partner)
    if not ref:
        if spec is not None and spec.required:
            raise errors.InvalidSettingError(
                f"{spec.label} is required: this partner refuses requests without it."
            )
        return ""
    if spec is None:
        raise errors.InvalidSettingError("This partner has no secret; leave it empty.")
    if ref.startswith(ENV_PREFIX):
        name = ref.removeprefix(ENV_PREFIX)
        if not _ENV_NAME.fullmatch(name):
            raise errors.InvalidSettingError(
                f"{spec.label}: “{name}” is not an environment variable name (letters, "
                f"digits and _, not starting with a digit)."
            )
        return ref
    if ref.startswith(KEYRING_PREFIX) and ref.removeprefix(KEYRING_PREFIX).strip():
        return ref
    raise errors.InvalidSettingError(
        f"{spec.label} must be kept in the system keyring or named as an environment "
        f"variable (env:NAME), never written into the settings."
    )


NO_IDENTITIES: Mapping[str, str] = MappingProxyType({})
"""The identities of a user who has none (one shared, read-only mapping)."""


class Profile(NamedTuple):
    """A user as partners know them: the stable id and identities (type -> value).

    A named tuple rather than a dataclass: a large initial sync makes millions of
    them, and a tuple is made several times faster.
    """

    user_id: str
    identities: Mapping[str, str] = NO_IDENTITIES


def profiles(user_ids: Iterable[str], identities: Iterable[Mapping[str, str]]) -> list[Profile]:
    """The profiles of parallel ``user_ids`` and ``identities``, made without a Python
    call per profile (``Profile(...)`` is one, ``map(tuple.__new__, ...)`` runs in C):
    a large initial sync makes a million of them."""
    pairs = zip(user_ids, identities, strict=True)
    made: list[Profile] = list(map(tuple.__new__, repeat(Profile), pairs))
    return made
