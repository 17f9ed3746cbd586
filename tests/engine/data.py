"""Plain test data for the engine: rows as Python values, and a loader for any backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert

from app.store.audience_tables import (
    AudienceDropRow,
    AudienceKeyRow,
    AudienceMemberRow,
    AudienceSizeRow,
)
from app.store.event_numbers import number_input
from app.store.event_summaries import refresh_summaries
from app.store.event_tables import (
    EventRow,
    InputNumberRow,
    SummaryStateRow,
    UserAttributeRow,
    UserIdentityRow,
    UserInputRow,
    UserPlaceRow,
    UserPlatformRow,
    UserRow,
)
from app.store.incoming import EVENT_TYPE_CODES
from app.store.schema import AccountRow, InputRow, WorkspaceRow

WORKSPACE = "ws-test"
INPUTS = ("in-ios", "in-web", "in-partner")

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
DAY = 24 * 60 * 60 * 1000
BASE_MS = int(EPOCH.timestamp() * 1000)
AS_OF = EPOCH + timedelta(days=10)
"""When the tests evaluate: ten days after the first generated event."""
AS_OF_MS = BASE_MS + 10 * DAY


@dataclass
class Event:
    user_id: int
    ts_ms: int
    event_type: str = "custom_event"
    event_name: str | None = None
    input_id: str = INPUTS[0]
    commerce_action: str | None = None
    amount: float | None = None
    attributes: dict[str, Any] | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    postal_code: str | None = None
    platform: str | None = None


@dataclass
class Attribute:
    user_id: int
    name: str
    value_type: str  # string, number, boolean, date (ms), list
    value: Any


@dataclass
class Data:
    users: list[int] = field(default_factory=list)
    identities: list[tuple[int, str, str]] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def attribute_row(attribute: Attribute) -> dict[str, Any]:
    row: dict[str, Any] = {
        "user_id": attribute.user_id,
        "name": attribute.name,
        "value_type": attribute.value_type,
        "text_value": None,
        "number_value": None,
        "bool_value": None,
        "date_ms": None,
        "list_value": None,
    }
    column = {
        "string": "text_value",
        "number": "number_value",
        "boolean": "bool_value",
        "date": "date_ms",
        "list": "list_value",
    }[attribute.value_type]
    row[column] = attribute.value
    return row


def event_row(index: int, event: Event, input_numbers: dict[str, int]) -> dict[str, Any]:
    return {
        "id": index + 1,
        "user_id": event.user_id,
        "input_no": input_numbers[event.input_id],
        "ts_ms": event.ts_ms,
        "type_code": EVENT_TYPE_CODES[event.event_type],
        "event_name": event.event_name,
        "custom_event_type": None,
        "commerce_action": event.commerce_action,
        "amount": event.amount,
        "attributes": event.attributes,
        "country": event.country,
        "region": event.region,
        "city": event.city,
        "postal_code": event.postal_code,
        "platform": event.platform,
        "message_id": None,
    }


def clear(engine: Engine, *, with_inputs: bool) -> None:
    with engine.begin() as connection:
        for model in (
            AudienceMemberRow,
            AudienceDropRow,
            AudienceKeyRow,
            AudienceSizeRow,
            UserInputRow,
            UserPlatformRow,
            UserPlaceRow,
            SummaryStateRow,
            EventRow,
            UserAttributeRow,
            UserIdentityRow,
            UserRow,
            InputNumberRow,
        ):
            connection.execute(delete(model.__table__))
        connection.execute(delete(InputRow.__table__))
        if with_inputs:
            connection.execute(delete(WorkspaceRow.__table__))
            connection.execute(delete(AccountRow.__table__))


def load(engine: Engine, data: Data, *, with_inputs: bool = True) -> None:
    """Replace whatever the engine tables hold with ``data``.

    ``with_inputs`` False: the backend has no account and workspace tables
    (DuckDB), only the inputs.
    """
    clear(engine, with_inputs=with_inputs)
    with engine.begin() as connection:
        if with_inputs:
            connection.execute(
                insert(AccountRow.__table__),
                [{"id": "acct", "name": "A", "active_audience_limit": 25}],
            )
            connection.execute(
                insert(WorkspaceRow.__table__),
                [{"id": WORKSPACE, "account_id": "acct", "name": "W", "position": 0}],
            )
        connection.execute(
            insert(InputRow.__table__),
            [
                {"id": i, "workspace_id": WORKSPACE, "name": i, "kind": "platform",
                 "platform": None, "position": n}
                for n, i in enumerate(INPUTS)
            ],
        )
        add_rows(connection, data, users=True)


def add_rows(connection: Any, data: Data, *, users: bool, first_event_id: int = 0) -> None:
    if users and data.users:
        connection.execute(
            insert(UserRow.__table__),
            [{"id": u, "external_id": f"u{u}", "first_seen_ms": None, "last_seen_ms": None}
             for u in data.users],
        )
    if data.identities:
        connection.execute(
            insert(UserIdentityRow.__table__),
            [{"user_id": u, "identity_type": t, "value": v} for u, t, v in data.identities],
        )
    if data.attributes:
        connection.execute(
            insert(UserAttributeRow.__table__), [attribute_row(a) for a in data.attributes]
        )
    if data.events:
        numbers = {i: number_input(connection, i) for i in {e.input_id for e in data.events}}
        connection.execute(
            insert(EventRow.__table__),
            [event_row(first_event_id + n, e, numbers) for n, e in enumerate(data.events)],
        )
        refresh_summaries(connection)


def add_events(engine: Engine, events: list[Event], first_event_id: int) -> None:
    with engine.begin() as connection:
        add_rows(connection, Data(events=events), users=False, first_event_id=first_event_id)
