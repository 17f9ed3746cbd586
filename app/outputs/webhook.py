"""Webhook: audience changes POSTed as JSON in the shape of mParticle's firehose.

A receiver written for mParticle's ``audience_membership_change_request`` reads
ours as it is (DESIGN.md section 4): ``user_profiles[{mpid, user_identities[{type,
encoding, value}], audiences[{audience_id, audience_name, action}]}]``. What
mParticle puts in ``account.account_settings`` we put as the connection's id and
name, so one receiver can serve several connections.

Each request carries ``Idempotency-Key`` (the delivery's key, ``-<n>`` appended
when the delivery takes several requests) and, when the connection has a signing
secret, ``X-Journey-Signature: t=<unix seconds>,sha256=<hex>``: the HMAC-SHA256
of ``"<t>.<body>"``, so a receiver can check both who sent it and that it is
recent (a replayed old request has an old ``t``).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping, Sequence

import orjson

from app.core.partners import PartnerSettings, WebhookSettings
from app.outputs import http
from app.outputs.base import Delivered, Delivery, Fault, Outcome, Profile

PROFILES_PER_REQUEST = 10_000
MESSAGE_TYPE = "audience_membership_change_request"
SIGNATURE_HEADER = "X-Journey-Signature"
PARTNER = "The webhook"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Journey-Signature`` value of ``body`` sent at ``timestamp`` (unix seconds)."""
    signed = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},sha256={digest}"


def audiences(delivery: Delivery, action: str) -> orjson.Fragment:
    """The one audience change every profile of ``action`` carries, encoded once a request."""
    return orjson.Fragment(orjson.dumps([{"audience_id": delivery.audience_id,
                                          "audience_name": delivery.audience_name,
                                          "action": action}]))


def identities_json(identities: Mapping[str, str]) -> list[dict[str, str]]:
    """A profile's ``user_identities``: each identity as sent, in a fixed order."""
    return [{"type": kind, "encoding": "raw", "value": value}
            for kind, value in sorted(identities.items())]


def request_keys(key: str, count: int) -> list[str]:
    """One idempotency key per request: the delivery's own, or ``<key>-<n>`` when split."""
    return [key] if count == 1 else [f"{key}-{n}" for n in range(count)]


Batch = tuple[Sequence[Profile], Sequence[Profile]]
"""The adds and the deletes of one request."""


def batches(delivery: Delivery) -> list[Batch]:
    """The delivery's adds, then its deletes, in requests of at most 10,000 profiles."""
    adds, deletes = delivery.adds, delivery.deletes
    split = len(adds)
    return [
        (adds[start:start + PROFILES_PER_REQUEST],
         deletes[max(start - split, 0):max(start + PROFILES_PER_REQUEST - split, 0)])
        for start in range(0, split + len(deletes), PROFILES_PER_REQUEST)
    ]


def body(delivery: Delivery, key: str, batch: Batch) -> bytes:
    """The exact bytes of one request (the signature covers these bytes)."""
    adds, deletes = batch
    added, deleted = audiences(delivery, "add"), audiences(delivery, "delete")
    return orjson.dumps({
        "type": MESSAGE_TYPE,
        "id": key,
        "timestamp_ms": int(delivery.sent_at.timestamp() * 1000),
        "account": {
            "connection_id": delivery.connection_id,
            "connection_name": delivery.connection_name,
        },
        # One dict per user, made inline: this is the hot loop of a large sync, and a
        # call per user (or identities to sort for users who have none) costs a third.
        "user_profiles": [
            {"mpid": p.user_id,
             "user_identities": identities_json(p.identities) if p.identities else [],
             "audiences": added}
            for p in adds
        ] + [
            {"mpid": p.user_id,
             "user_identities": identities_json(p.identities) if p.identities else [],
             "audiences": deleted}
            for p in deletes
        ],
    })


def headers(key: str, content: bytes, secret: str | None) -> dict[str, str]:
    sent = {"Content-Type": "application/json", "Idempotency-Key": key}
    if secret:
        sent[SIGNATURE_HEADER] = signature(secret, int(time.time()), content)
    return sent


class WebhookConnector:
    """POSTs each delivery in requests of at most 10,000 profiles."""

    partner = "webhook"

    def send(self, delivery: Delivery) -> Outcome:
        settings = delivery.settings
        if not isinstance(settings, WebhookSettings):
            return Fault("The connection’s settings are not a webhook’s.")
        groups = batches(delivery)
        keys = request_keys(delivery.idempotency_key, len(groups))
        status: int | None = None
        for key, batch in zip(keys, groups, strict=True):
            content = body(delivery, key, batch)
            answer = http.request("POST", settings.url, content=content,
                                  headers=headers(key, content, delivery.secret),
                                  timeout=settings.timeout_seconds)
            result = http.outcome(answer, partner=PARTNER, secret=delivery.secret,
                                  timeout=settings.timeout_seconds)
            if not isinstance(result, Delivered):
                return result
            status = result.status
        return Delivered(status=status, requests=len(groups))

    def test(self, settings: PartnerSettings, secret: str | None) -> Outcome:
        """POST a ``{"type": "test"}`` message, signed like a delivery, and read the answer."""
        if not isinstance(settings, WebhookSettings):
            return Fault("The connection’s settings are not a webhook’s.")
        key = f"test-{uuid.uuid4()}"
        content = orjson.dumps({"type": "test", "id": key,
                                "timestamp_ms": int(time.time() * 1000)})
        answer = http.request("POST", settings.url, content=content,
                              headers=headers(key, content, secret),
                              timeout=settings.timeout_seconds)
        return http.outcome(answer, partner=PARTNER, secret=secret,
                            timeout=settings.timeout_seconds)


CONNECTOR = WebhookConnector()
