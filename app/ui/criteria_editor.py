"""The criteria editor's old home: the builder lives in :mod:`app.ui.builder`."""

from app.ui.builder import (
    AttributeEditor,
    AudienceEditor,
    BuilderContext,
    CommerceEditor,
    CriteriaEditor,
    CriterionRow,
    DeviceEditor,
    EventEditor,
    GroupBox,
    IdentityEditor,
    LocationEditor,
)
from app.ui.builder.fields import KINDS, parse_value, refusal_text, value_text

__all__ = [
    "KINDS", "AttributeEditor", "AudienceEditor", "BuilderContext", "CommerceEditor",
    "CriteriaEditor", "CriterionRow", "DeviceEditor", "EventEditor", "GroupBox",
    "IdentityEditor", "LocationEditor", "parse_value", "refusal_text", "value_text",
]
