"""The one small interface every partner connector implements (DESIGN.md section 5).

The dispatcher hands a connector a :class:`Delivery`: one output's adds and
deletes (at most a few thousand users, already read from the outbox), who they
are (:class:`Profile`, defined in core: the store makes them), the connection's
checked settings and its secret. The connector turns them into the partner's
requests (batching, hashing and the partner's error codes live there) and
answers with one :class:`Outcome`:

- :class:`Delivered`: every request of the delivery was acknowledged;
- :class:`RetryAfter`: a passing failure (a timeout, 408, 429, 5xx, a refused
  connection); the dispatcher sends the whole delivery again later, with the
  same idempotency keys, so requests the partner already took are not applied
  twice by a receiver that de-duplicates;
- :class:`Fault`: the partner refuses (401/403, a bad setting, an audience that
  does not exist): forwarding to the output pauses until the user resumes it.

Whatever the outcome, a ``remote_state`` that is not None replaces what the
output keeps: a delivery can create something at the partner (Facebook's custom
audience) and then fail, and its retry must find what it created.

Connectors never log or return a secret, and never raise for a partner's
answer: every failure is one of the outcomes, with a reason a marketer can read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from app.core.partners import PartnerSettings, Profile

__all__ = ["Connector", "Delivered", "Delivery", "Fault", "Outcome", "Profile", "RetryAfter"]


@dataclass(frozen=True)
class Delivery:
    """One output's change to send now, and everything needed to send it.

    ``idempotency_key`` identifies this content: the same users with the same
    actions give the same key, so a delivery sent again after a crash or a
    retry carries the key it had. A connector that makes several requests of
    one delivery suffixes it with the request's number (``<key>-<n>``).
    ``remote_state`` is what earlier deliveries of this output asked to keep
    (a Facebook custom audience's id); a connector returns changes to it in
    :attr:`Delivered.remote_state`.
    """

    output_id: str
    audience_id: str
    audience_name: str
    connection_id: str
    connection_name: str
    settings: PartnerSettings
    secret: str | None
    adds: Sequence[Profile]
    deletes: Sequence[Profile]
    idempotency_key: str
    sent_at: datetime
    remote_state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivered:
    """Every request of the delivery was acknowledged."""

    status: int | None = None
    remote_state: Mapping[str, Any] | None = None
    """What to keep for this output's next deliveries (None: keep what there is)."""
    requests: int = 1
    skipped: int = 0
    """Users left out because the partner cannot take them (no usable identity)."""


@dataclass(frozen=True)
class RetryAfter:
    """A passing failure: send the delivery again after ``seconds`` (None: backoff decides)."""

    reason: str
    seconds: float | None = None
    status: int | None = None
    remote_state: Mapping[str, Any] | None = None
    """What the delivery already created at the partner (a Facebook custom
    audience's id): keep it, or the retry creates it a second time."""


@dataclass(frozen=True)
class Fault:
    """The partner refuses: forwarding to the output pauses until it is resumed."""

    reason: str
    status: int | None = None
    remote_state: Mapping[str, Any] | None = None
    """As for :class:`RetryAfter`: what to keep even though the delivery stopped."""


Outcome = Delivered | RetryAfter | Fault


class Connector(Protocol):
    """A partner: how many users one request may carry, how to send, how to test."""

    partner: str
    """The partner kind (``models.PartnerKind``) this connector serves."""

    def send(self, delivery: Delivery) -> Outcome:
        """Send ``delivery`` in as many requests as the partner's limits need."""
        ...

    def test(self, settings: PartnerSettings, secret: str | None) -> Outcome:
        """One real, harmless request that shows the settings and secret work."""
        ...
