"""The audience builder (DESIGN.md section 3): criteria of every kind, nested groups,
indent / outdent / drag, in-place validation, catalogue completions and hints."""

from app.ui.builder.context import AudienceChoice, BuilderContext
from app.ui.builder.editor import CriteriaEditor
from app.ui.builder.kinds import (
    AttributeEditor,
    AudienceEditor,
    CommerceEditor,
    DeviceEditor,
    EventEditor,
    IdentityEditor,
    LocationEditor,
)
from app.ui.builder.rows import ClauseItem, ClauseList, CriterionRow, GroupBox

__all__ = [
    "AttributeEditor", "AudienceChoice", "AudienceEditor", "BuilderContext", "ClauseItem",
    "ClauseList", "CommerceEditor", "CriteriaEditor", "CriterionRow", "DeviceEditor",
    "EventEditor", "GroupBox", "IdentityEditor", "LocationEditor",
]
