"""The domain records of an account, as frozen pydantic models.

Frozen so that an edit replaces a record instead of mutating it: commands keep
the record they replaced and undo puts it back, which makes "undo restores the
graph exactly" a matter of equality. Ids are opaque strings chosen by the
client, so an undone removal comes back under the same id.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.criteria import AudienceDefinition

NAME_MAX_LENGTH = 80
DEFAULT_ACTIVE_AUDIENCE_LIMIT = 25
REMAINING_USERS = "Remaining users"
"""What a split's catch-all milestone is called: its default name, the palette entry that
adds it, and how rules and hints name it (one home, so they all say the same)."""

InputKind = Literal["platform", "partner"]
PartnerKind = Literal["webhook", "file_drop", "facebook_custom_audiences", "braze"]
"""The partners an output can forward to: each has a connector in ``app/outputs``."""

PARTNER_LABELS: dict[str, str] = {
    "webhook": "Webhook",
    "file_drop": "File drop",
    "facebook_custom_audiences": "Facebook Custom Audiences",
    "braze": "Braze",
}


def new_id() -> str:
    """A fresh random id (32 hex digits)."""
    return uuid.uuid4().hex


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=new_id, min_length=1, max_length=64)


class Account(Record):
    name: str = Field(default="My account", min_length=1, max_length=NAME_MAX_LENGTH)
    active_audience_limit: int = Field(default=DEFAULT_ACTIVE_AUDIENCE_LIMIT, ge=0, le=100_000)


class Workspace(Record):
    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)


class Input(Record):
    """A feed of events: a platform of the workspace's app, or a partner feed."""

    workspace_id: str
    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    kind: InputKind = "platform"
    platform: str | None = None


class Connection(Record):
    """An account-level configured partner.

    ``settings`` hold what is not secret (checked per partner by
    :mod:`app.core.partners` when edited); ``secret_ref`` names where the secret
    is kept (``keyring:…`` or ``env:NAME``, see :mod:`app.outputs.secrets`), so
    no secret is ever part of a record, a save, an export or a log line.
    """

    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    partner: PartnerKind = "webhook"
    settings: dict[str, Any] = Field(default_factory=dict)
    secret_ref: str = Field(default="", max_length=255)

    @property
    def partner_label(self) -> str:
        return PARTNER_LABELS.get(self.partner, self.partner)


class Journey(Record):
    """A journey: its name, the inputs it reads, and how its milestones hold users.

    ``exclusive`` is the option "users leave earlier milestones when they reach a
    later one" (no duplicate targeting): a user who is in a milestone and in one of
    its descendants (on the stored tree: children, their children, …) is removed
    from that milestone, so each user is a member of the deepest milestone reached
    on a path only, and an earlier stage's message stops once they moved on. Who
    *reaches* a milestone does not change: its children still pick their users from
    everyone who reached it. Off (the default), a milestone keeps everyone who
    reached it, as ``audience(parent) ∩ criteria`` says.
    """

    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    input_ids: tuple[str, ...] = ()
    exclusive: bool = False

    @field_validator("input_ids")
    @classmethod
    def _unique_inputs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(value))


class Milestone(Record):
    """One audience of a journey: ``audience(parent) ∩ users matching definition``.

    ``parent_id`` None means the journey start. ``remaining`` marks the
    Remaining-users milestone of a split, which has no criteria.
    """

    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    parent_id: str | None = None
    remaining: bool = False
    definition: AudienceDefinition = AudienceDefinition()
    x: float = 0.0
    y: float = 0.0


class Output(Record):
    """One audience forwarded to one connection. Active when created."""

    milestone_id: str
    connection_id: str
    active: bool = True
    x: float = 0.0
    y: float = 0.0


class JourneyDocument(BaseModel):
    """A whole journey as plain data: what is saved, loaded, exported and compared.

    ``milestones`` are in tree order (a parent before its children, siblings
    left to right), so adding them in order rebuilds the same tree.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    journey: Journey
    milestones: tuple[Milestone, ...] = ()
    outputs: tuple[Output, ...] = ()
