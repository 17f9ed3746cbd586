"""The words and sizes of event data, in one place: what an event can be and how long its text.

Importers check incoming values against these (app/ingest), the event store sizes
its columns with them (app/store/event_tables.py), and the criteria language accepts
the same types and at most the same lengths (app/core/criteria.py). Each is written
here once, so a change lands everywhere at once and a value an importer accepts is
always one the database stores (PostgreSQL refuses an over-long value, and the whole
chunk with it, where SQLite keeps it).

Migrations keep frozen copies of the sizes and codes they were written with: a
change here needs a migration of its own.

Plain constants only: a parsing process loads this, and importing it costs nothing.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

EventType = Literal[
    "custom_event",
    "screen_view",
    "commerce_event",
    "session_start",
    "session_end",
    "first_run",
    "uninstall",
]
"""The types of event. In this order they are stored as numbers 1, 2, 3, … (see
``EVENT_TYPE_CODES`` in app/store/incoming.py): add new types at the end, never reorder."""
EVENT_TYPES: Final[tuple[EventType, ...]] = get_args(EventType)

CommerceAction = Literal[
    "add_to_cart",
    "remove_from_cart",
    "add_to_wishlist",
    "remove_from_wishlist",
    "checkout",
    "checkout_option",
    "click",
    "view_detail",
    "purchase",
    "refund",
]
"""The product actions of a commerce event (mParticle's names)."""
COMMERCE_ACTIONS: Final[tuple[CommerceAction, ...]] = get_args(CommerceAction)

PLATFORM_SPELLINGS: Final[dict[str, str]] = {
    "ios": "iOS", "android": "Android", "web": "Web", "tvos": "tvOS", "roku": "Roku",
    "xbox": "Xbox", "alexa": "Alexa", "smarttv": "SmartTV",
}
"""Known platforms, by their name folded to lower case, as they are stored: inputs spell
them variously (``web``, ``IOS``), and one spelling keeps device criteria simple.
Platforms not named here are stored as sent."""

IDENTITY_TYPES: Final[tuple[str, ...]] = (
    "customer_id", "email", "mobile_number", "anonymous_id", "other", "facebook", "google",
    "microsoft", "twitter", "yahoo",
)
"""Identity types as importers store them: mParticle's ``user_identities`` names, and
Segment's anonymousId as ``anonymous_id``. The list an identity criterion offers first;
identities are open-ended, so other types are stored as sent and a criterion may name
any of them."""

LocationField = Literal["country", "region", "city", "postal_code"]
"""The location of an event, field by field (columns of ``events``, ``user_places.field``)."""
LOCATION_FIELDS: Final[tuple[LocationField, ...]] = get_args(LocationField)

# ------------------------------------------------------------------------- text sizes
# In characters: the width of the column that stores the value and the longest an
# importer or a criterion accepts.

SHORT_TEXT: Final = 64
"""Short codes and labels: custom event types, countries, regions, identity types."""
TEXT_VALUE_LENGTH: Final = 1024
"""A value: of a user attribute (each item of a list), of an identity (an email …)."""
EXTERNAL_ID_LENGTH: Final = 255
"""A user's id as the data named it (MPID, Segment userId, a derived ``email:…`` id)."""
BATCH_KEY_LENGTH: Final = 255
"""The key a batch is imported once by (mParticle ``source_request_id``, ``seg:…``)."""
MESSAGE_ID_LENGTH: Final = 255
"""An event's own de-duplication key (``source_message_id``, a CSV ``message_id``)."""
EVENT_NAME_LENGTH: Final = 255
"""An event's name, a screen's name."""
ATTRIBUTE_NAME_LENGTH: Final = 255
"""The name of a user or event attribute."""
CUSTOM_EVENT_TYPE_LENGTH: Final = SHORT_TEXT
COMMERCE_ACTION_LENGTH: Final = 32
PLATFORM_LENGTH: Final = 32
IDENTITY_TYPE_LENGTH: Final = SHORT_TEXT
IDENTITY_VALUE_LENGTH: Final = TEXT_VALUE_LENGTH
ENVIRONMENT_LENGTH: Final = SHORT_TEXT
"""mParticle's ``environment`` (checked, not stored)."""
COUNTRY_LENGTH: Final = SHORT_TEXT
REGION_LENGTH: Final = SHORT_TEXT
CITY_LENGTH: Final = 128
POSTAL_CODE_LENGTH: Final = 32
PLACE_LENGTH: Final = max(COUNTRY_LENGTH, REGION_LENGTH, CITY_LENGTH, POSTAL_CODE_LENGTH)
"""Any one field of a location (``user_places.value`` holds each of them)."""
WORD_LENGTH: Final = 16
"""A word of this vocabulary stored as text: an attribute's value type, a location field."""
