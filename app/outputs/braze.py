"""Braze: audience membership as a custom array attribute on each user (``/users/track``).

A user who joins gets the audience's name added to the connection's attribute
(``{"journey_audiences": {"add": ["Lapsed buyers"]}}``); one who leaves has it
removed (``{"remove": [...]}``). Braze applies these to the array in place, so
several audiences share one attribute, and sending the same change twice leaves
the same array: Braze has no idempotency key, and needs none here.

Users are addressed by ``external_id``: the identity the connection names
(``external_id_from``, by default ``customer_id``), else Journey Studio's user id.
Braze takes at most 75 attribute objects a request. A 201 with ``errors`` means
Braze took the request but refused some objects (an invalid id …): the delivery
is done, and those users are counted as skipped. Rate limits (429) are retried
after ``Retry-After``, ``X-RateLimit-Retry-After`` or ``X-RateLimit-Reset``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from app.core.partners import BrazeSettings, PartnerSettings
from app.outputs import http
from app.outputs.base import Delivered, Delivery, Fault, Outcome, Profile, RetryAfter

ATTRIBUTES_PER_REQUEST = 75
PARTNER = "Braze"
TEST_EXTERNAL_ID = "journey-studio-connection-test"


def external_id(profile: Profile, settings: BrazeSettings) -> str:
    return profile.identities.get(settings.external_id_from) or profile.user_id


def attribute_objects(delivery: Delivery, settings: BrazeSettings) -> list[dict[str, Any]]:
    """One attributes object a user: the audience's name added to or removed from the array."""
    name = delivery.audience_name
    objects: list[dict[str, Any]] = []
    for users, verb in ((delivery.adds, "add"), (delivery.deletes, "remove")):
        objects.extend({"external_id": external_id(p, settings), settings.attribute: {verb: [name]}}
                       for p in users)
    return objects


def chunks(objects: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(objects), ATTRIBUTES_PER_REQUEST):
        yield objects[start:start + ATTRIBUTES_PER_REQUEST]


def track(settings: BrazeSettings, api_key: str | None, body: dict[str, Any]) -> http.Answer:
    return http.request("POST", f"{settings.rest_endpoint}/users/track", json=body,
                        headers={"Authorization": f"Bearer {api_key or ''}"})


def braze_outcome(answer: http.Answer, api_key: str | None) -> Outcome:
    """The shared reading, with Braze's own rate-limit headers and its fatal ``message``."""
    result = http.outcome(answer, partner=PARTNER, secret=api_key,
                          timeout=http.DEFAULT_TIMEOUT_SECONDS)
    if (isinstance(result, RetryAfter) and result.status == 429 and result.seconds is None
            and isinstance(answer, httpx.Response)):
        return RetryAfter(result.reason, seconds=_rate_limit_wait(answer.headers),
                          status=result.status)
    return result


def _rate_limit_wait(headers: httpx.Headers) -> float | None:
    """Seconds until Braze lifts a rate limit: its retry-after, or its reset time (epoch)."""
    try:
        if headers.get("x-ratelimit-retry-after"):
            return max(float(headers["x-ratelimit-retry-after"]), 0.0)
        if headers.get("x-ratelimit-reset"):
            return min(max(float(headers["x-ratelimit-reset"]) - time.time(), 0.0),
                       http.MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return None
    return None


def minor_errors(response: httpx.Response) -> int:
    """How many objects Braze refused in a request it otherwise took."""
    try:
        body = response.json()
    except ValueError:
        return 0
    errors = body.get("errors") if isinstance(body, dict) else None
    return len(errors) if isinstance(errors, list) else 0


class BrazeConnector:
    """Adds and removes the audience's name in each user's array attribute."""

    partner = "braze"

    def send(self, delivery: Delivery) -> Outcome:
        settings = delivery.settings
        if not isinstance(settings, BrazeSettings):
            return Fault("The connection’s settings are not Braze’s.")
        status: int | None = None
        requests = skipped = 0
        for batch in chunks(attribute_objects(delivery, settings)):
            answer = track(settings, delivery.secret, {"attributes": list(batch)})
            requests += 1
            result = braze_outcome(answer, delivery.secret)
            if not isinstance(result, Delivered):
                return result
            assert isinstance(answer, httpx.Response)
            skipped += minor_errors(answer)
            status = result.status
        return Delivered(status=status, requests=requests, skipped=skipped)

    def test(self, settings: PartnerSettings, secret: str | None) -> Outcome:
        """Track an attribute-less update of a user that does not exist, changing nothing.

        ``_update_existing_only`` keeps Braze from creating the user, so the request
        shows that the endpoint and the key's ``users.track`` permission work and
        writes nothing.
        """
        if not isinstance(settings, BrazeSettings):
            return Fault("The connection’s settings are not Braze’s.")
        body = {"attributes": [{"external_id": TEST_EXTERNAL_ID,
                                "_update_existing_only": True}]}
        return braze_outcome(track(settings, secret, body), secret)


CONNECTOR = BrazeConnector()
