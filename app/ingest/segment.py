"""Segment spec calls (JSON lines) → records of the event store.

Each line is one call, and one record: ``identify`` (traits become user
attributes, no event), ``track`` (a custom event; Segment's e-commerce spec
events become commerce events), ``page`` and ``screen`` (screen views).
``userId`` names the user; a call with only an ``anonymousId`` goes to the user
an earlier call tied that anonymousId to, if any. ``messageId`` de-duplicates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import orjson

from app.core.vocabulary import (
    BATCH_KEY_LENGTH,
    CITY_LENGTH,
    COUNTRY_LENGTH,
    EVENT_NAME_LENGTH,
    IDENTITY_VALUE_LENGTH,
    MESSAGE_ID_LENGTH,
    POSTAL_CODE_LENGTH,
    REGION_LENGTH,
)
from app.ingest import values as v
from app.ingest.sources import Oversized, SourceFile
from app.ingest.values import RecordError
from app.store.incoming import (
    IncomingEvent,
    IncomingRecord,
    UserRef,
    prefixed,
)

CALL_TYPES = frozenset({"identify", "track", "page", "screen"})

#: Segment's e-commerce spec events and the commerce action each one is.
COMMERCE_EVENTS = {
    "Product Viewed": "view_detail",
    "Product Clicked": "click",
    "Product Added": "add_to_cart",
    "Product Removed": "remove_from_cart",
    "Product Added to Wishlist": "add_to_wishlist",
    "Product Removed from Wishlist": "remove_from_wishlist",
    "Checkout Started": "checkout",
    "Checkout Step Completed": "checkout_option",
    "Order Completed": "purchase",
    "Order Refunded": "refund",
}
_AMOUNT_FIELDS = ("total", "revenue", "value", "price")


def parse_call(
    call: Any, line: int, raw: bytes, *, limits: v.Limits, input_id: str,
    default_platform: str | None,
) -> IncomingRecord:
    """One call as a record; raises :class:`RecordError` naming the first problem."""
    if not isinstance(call, dict):
        raise RecordError(f"a call must be a JSON object, not {v.type_name(call)}")
    kind = call.get("type")
    if kind not in CALL_TYPES:
        if kind is None:
            raise RecordError("type is missing")
        raise RecordError(f"type {str(kind)[:40]!r} is not a supported call "
                          f"(identify, track, page, screen)")
    user_id = call.get("userId")
    anonymous_id = call.get("anonymousId")
    identities: dict[str, str] = {}
    if user_id is not None:
        identities["customer_id"] = v.identifier(user_id, "userId")
    if anonymous_id is not None:
        identities["anonymous_id"] = v.identifier(anonymous_id, "anonymousId")
    if not identities:
        raise RecordError("the call names no user: it has neither userId nor anonymousId")
    if "customer_id" in identities:
        user = UserRef(identities["customer_id"])
    else:
        user = UserRef(prefixed("anonymous:", identities["anonymous_id"]),
                       lookup=("anonymous_id", identities["anonymous_id"]))
    ts_field = next((f for f in ("timestamp", "originalTimestamp", "sentAt", "receivedAt")
                     if call.get(f) is not None), "timestamp")
    ts = v.iso_timestamp_ms(call.get(ts_field), ts_field, limits)
    message_id = v.text(call.get("messageId"), "messageId", MESSAGE_ID_LENGTH)
    key = prefixed("seg:", message_id, BATCH_KEY_LENGTH) if message_id is not None else (
        "sha256:" + hashlib.sha256(raw).hexdigest())
    context = v.json_object(call.get("context"), "context") or {}
    attributes: dict[str, dict[str, Any] | None] = {}
    events: list[IncomingEvent] = []
    if kind == "identify":
        traits = v.json_object(call.get("traits"), "traits") or {}
        attributes = v.user_attributes(_flat(traits), "traits")
        email = traits.get("email")
        if email is not None:
            identities["email"] = v.text(email, "traits.email", IDENTITY_VALUE_LENGTH,
                                         required=True) or ""
    else:
        events.append(_event(call, kind, ts, context, input_id, default_platform, message_id))
    return IncomingRecord(line=line, user=user, key=key, identities=identities,
                          attributes=attributes, events=events)


def _event(
    call: dict[str, Any], kind: str, ts: int, context: dict[str, Any], input_id: str,
    default_platform: str | None, message_id: str | None,
) -> IncomingEvent:
    properties = dict(v.json_object(call.get("properties"), "properties") or {})
    action = amount = None
    if kind == "track":
        event_type = "custom_event"
        name = v.text(call.get("event"), "event", EVENT_NAME_LENGTH, required=True)
        if name in COMMERCE_EVENTS:
            event_type, action = "commerce_event", COMMERCE_EVENTS[name]
            field = next((f for f in _AMOUNT_FIELDS if properties.get(f) is not None), None)
            if field is not None:
                amount = v.number(properties[field], f"properties.{field}")
    else:
        event_type = "screen_view"
        name = v.text(call.get("name"), "name", EVENT_NAME_LENGTH,
                      required=kind == "screen")
        if name is None:
            name = v.text(properties.get("title") or properties.get("path"),
                          "properties.title", EVENT_NAME_LENGTH)
    location = v.json_object(context.get("location"), "context.location") or {}
    os_info = v.json_object(context.get("os"), "context.os") or {}
    platform = v.platform_name(os_info.get("name"), "context.os.name") or default_platform
    return IncomingEvent(
        input_id=input_id,
        ts_ms=ts,
        event_type=event_type,
        event_name=name,
        commerce_action=action,
        amount=amount,
        attributes=v.attributes_json(properties, "properties"),
        country=v.text(location.get("country"), "context.location.country", COUNTRY_LENGTH),
        region=v.text(location.get("region"), "context.location.region", REGION_LENGTH),
        city=v.text(location.get("city"), "context.location.city", CITY_LENGTH),
        postal_code=v.text(location.get("postalCode"), "context.location.postalCode",
                           POSTAL_CODE_LENGTH),
        platform=platform,
        message_id=message_id,
    )


def _flat(traits: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested trait objects (``address``) as dotted names (``address.city``)."""
    flat: dict[str, Any] = {}
    for name, value in traits.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def read_file(
    source: SourceFile, *, limits: v.Limits, input_id: str, default_platform: str | None,
) -> Iterator[IncomingRecord | tuple[int, str]]:
    """Records of a JSON lines file of calls, or (line, reason) for each bad one."""
    for line, raw in source.lines():
        if isinstance(raw, Oversized):
            yield line, f"the call is too large ({raw.size:,} bytes)"
            continue
        if not raw.strip():
            continue
        try:
            call = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield line, v.json_reason(raw, exc)
            continue
        huge = v.integer_beyond_64_bits_in(raw)  # orjson rounded it to a float
        if huge is not None:
            yield line, huge
            continue
        try:
            yield parse_call(call, line, raw, limits=limits, input_id=input_id,
                             default_platform=default_platform)
        except RecordError as exc:
            yield line, str(exc)

