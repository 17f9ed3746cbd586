"""Facebook Custom Audiences: the Marketing API's users edge of one custom audience per output.

Each output owns one customer-list custom audience in the connection's ad account.
The first delivery creates it (``POST act_<id>/customaudiences``) and hands its id
back in ``remote_state["custom_audience_id"]``; later deliveries add users with
``POST <audience>/users`` and remove them with ``DELETE <audience>/users``.

Users go as multi-key rows: ``payload={"schema": ["EMAIL", "PHONE"], "data":
[[sha256(email), sha256(phone)], …]}``, sent form-encoded like the Graph API's
own SDKs do. Facebook matches on hashes only, so identities are normalised the
way it documents (email trimmed and lower-cased; phone digits only, with the
country code, no leading zeros) before SHA-256; a user with neither is left out
and counted (:attr:`Delivered.skipped`). At most 10,000 rows a request.

The access token goes as the ``access_token`` parameter (in the form body for
POST and DELETE, so it is not part of any URL a proxy logs) and never into a
reason. Facebook's own error codes decide the outcome: an invalid token faults,
rate limits and transient errors are retried, anything else faults with
Facebook's message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import httpx

from app.core.partners import FacebookSettings, PartnerSettings
from app.outputs import http
from app.outputs.base import Delivered, Delivery, Fault, Outcome, Profile, RetryAfter

ROWS_PER_REQUEST = 10_000
SCHEMA = ("EMAIL", "PHONE")
EMAIL_IDENTITIES = ("email",)
PHONE_IDENTITIES = ("mobile_number", "phone", "phone_number")
MIN_PHONE_DIGITS = 7
PARTNER = "Facebook"

INVALID_TOKEN = 190
RATE_LIMITED = frozenset({4, 17, 32, 613, 80003, 80004})
"""Application, user, page and custom rate limits; the ad account's business-use-case limits."""
TRANSIENT = frozenset({1, 2})
PERMISSION = frozenset({10, 200, 294})


def normal_email(value: str) -> str | None:
    """An email as Facebook hashes it (trimmed, lower-case); None when it cannot be one."""
    text = value.strip().lower()
    local, at, domain = text.partition("@")
    return text if at and local and domain else None


def normal_phone(value: str) -> str | None:
    """A phone number as Facebook hashes it: digits only, country code first, no leading zeros.

    ``+44 (0)20 …`` style numbers are the caller's to store correctly: the digits
    are kept as they are. Too few digits for any country: None.
    """
    digits = "".join(ch for ch in value if ch.isdigit()).lstrip("0")
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _first(identities: Mapping[str, str], kinds: Sequence[str],
           normalise: Callable[[str], str | None]) -> str | None:
    """The first of ``kinds`` the user has that normalises to something usable."""
    for kind in kinds:
        value = identities.get(kind)
        normal = normalise(value) if value else None
        if normal:
            return normal
    return None


def row(profile: Profile) -> list[str] | None:
    """The user's hashed ``[EMAIL, PHONE]`` row ("" where unknown); None without either."""
    email = _first(profile.identities, EMAIL_IDENTITIES, normal_email)
    phone = _first(profile.identities, PHONE_IDENTITIES, normal_phone)
    if email is None and phone is None:
        return None
    return [sha256(email) if email else "", sha256(phone) if phone else ""]


def rows(users: Sequence[Profile]) -> tuple[list[list[str]], int]:
    """The rows of ``users`` that Facebook can match, and how many users had none."""
    found = [row(profile) for profile in users]
    kept = [r for r in found if r is not None]
    return kept, len(found) - len(kept)


def chunks(items: list[list[str]]) -> Iterator[list[list[str]]]:
    for start in range(0, len(items), ROWS_PER_REQUEST):
        yield items[start:start + ROWS_PER_REQUEST]


def payload(batch: Sequence[Sequence[str]]) -> str:
    return json.dumps({"schema": list(SCHEMA), "data": batch}, separators=(",", ":"))


def graph_url(settings: FacebookSettings, node: str) -> str:
    return f"{settings.base_url}/{settings.api_version}/{node}"


def ad_account(settings: FacebookSettings) -> str:
    return "act_" + settings.ad_account_id.removeprefix("act_")


def facebook_outcome(answer: http.Answer, token: str | None) -> Outcome:
    """Facebook's reading of an answer: its error codes first, then the HTTP status."""
    if isinstance(answer, httpx.Response) and not answer.is_success:
        error = _graph_error(answer)
        if error is not None:
            return _error_outcome(error, answer, token)
    return http.outcome(answer, partner=PARTNER, secret=token,
                        timeout=http.DEFAULT_TIMEOUT_SECONDS)


def _graph_error(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) and "code" in error else None


def _error_outcome(error: dict[str, Any], response: httpx.Response,
                   token: str | None) -> Outcome:
    code = error.get("code")
    status = response.status_code
    said = http.clean_text(str(error.get("error_user_msg") or error.get("message") or ""), token)
    quoted = f": “{said}”" if said else "."
    if code == INVALID_TOKEN:
        return Fault("Facebook refused the access token (expired, revoked or for another "
                     "app): enter a new one in the connection.", status=status)
    if code in RATE_LIMITED:
        return RetryAfter(f"Facebook is limiting requests (error {code}); it will be sent "
                          "again later.", seconds=_regain_access(response.headers),
                          status=status)
    if code in TRANSIENT or error.get("is_transient") is True:
        return RetryAfter(f"Facebook had a passing problem (error {code}){quoted}",
                          status=status)
    if code in PERMISSION:
        return Fault(f"The access token may not manage this ad account’s audiences "
                     f"(Facebook error {code}){quoted}", status=status)
    return Fault(f"Facebook refused the request (error {code}){quoted}", status=status)


def _regain_access(headers: httpx.Headers) -> float | None:
    """Seconds until Facebook lifts the ad account's rate limit, from its usage header."""
    raw = headers.get("x-business-use-case-usage")
    if not raw:
        return http.retry_after(headers)
    try:
        usage = json.loads(raw)
        minutes = max(
            float(entry.get("estimated_time_to_regain_access", 0))
            for entries in usage.values() for entry in entries
        )
    except (ValueError, TypeError, AttributeError):
        return None
    return minutes * 60 if minutes > 0 else None


class FacebookConnector:
    """Keeps one custom audience per output equal to the output's audience."""

    partner = "facebook_custom_audiences"

    def send(self, delivery: Delivery) -> Outcome:
        settings = delivery.settings
        if not isinstance(settings, FacebookSettings):
            return Fault("The connection’s settings are not Facebook’s.")
        token = delivery.secret or ""
        audience = str(delivery.remote_state.get("custom_audience_id") or "")
        created: dict[str, Any] | None = None
        requests = 0
        if not audience:
            made = self._create_audience(settings, token, delivery)
            requests += 1
            if not isinstance(made, str):
                return made
            audience = made
            created = {**delivery.remote_state, "custom_audience_id": audience}
        adds, skipped_adds = rows(delivery.adds)
        deletes, skipped_deletes = rows(delivery.deletes)
        status: int | None = None
        for method, users in (("POST", adds), ("DELETE", deletes)):
            for batch in chunks(users):
                answer = http.request(method, graph_url(settings, f"{audience}/users"),
                                      data={"payload": payload(batch), "access_token": token})
                requests += 1
                result = facebook_outcome(answer, token)
                if isinstance(result, RetryAfter | Fault):
                    return _keeping(result, created)
                status = result.status
        return Delivered(status=status, remote_state=created, requests=requests,
                         skipped=skipped_adds + skipped_deletes)

    def _create_audience(self, settings: FacebookSettings, token: str,
                         delivery: Delivery) -> str | Outcome:
        """The new custom audience's id, or why Facebook would not create it."""
        url = graph_url(settings, f"{ad_account(settings)}/customaudiences")
        answer = http.request("POST", url, data={
            "name": delivery.audience_name,
            "subtype": "CUSTOM",
            "customer_file_source": "USER_PROVIDED_ONLY",
            "description": "Kept up to date by Journey Studio "
                           f"(connection “{delivery.connection_name}”).",
            "access_token": token,
        })
        result = facebook_outcome(answer, token)
        if not isinstance(result, Delivered):
            return result
        assert isinstance(answer, httpx.Response)
        try:
            made = answer.json().get("id")
        except (ValueError, AttributeError):
            made = None
        if not made:
            return Fault("Facebook created no custom audience (its answer had no id).",
                         status=answer.status_code)
        return str(made)

    def test(self, settings: PartnerSettings, secret: str | None) -> Outcome:
        """Read the ad account's name: shows the token works and can see the account."""
        if not isinstance(settings, FacebookSettings):
            return Fault("The connection’s settings are not Facebook’s.")
        answer = http.request("GET", graph_url(settings, ad_account(settings)),
                              params={"fields": "name", "access_token": secret or ""})
        return facebook_outcome(answer, secret)


def _keeping(result: RetryAfter | Fault, created: dict[str, Any] | None) -> Outcome:
    """``result``, carrying the audience this delivery created, so a retry reuses it."""
    if created is None:
        return result
    if isinstance(result, RetryAfter):
        return RetryAfter(result.reason, result.seconds, result.status, remote_state=created)
    return Fault(result.reason, result.status, remote_state=created)


CONNECTOR = FacebookConnector()
