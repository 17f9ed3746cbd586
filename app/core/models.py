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


BASIS_POINTS = 10_000
"""An A/B test splits its milestone's users into this many buckets (one = 0.01 %)."""


class Variant(BaseModel):
    """A milestone's place in an A/B test on its parent: one arm (or the Control).

    ``start`` and ``end`` are the arm's buckets (``start <= bucket < end`` out of
    :data:`BASIS_POINTS`), fixed when the test is added: they are stored, not
    derived from the siblings' order, so no later edit can move a user to another
    arm of a running test (see :mod:`app.core.ab_tests`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    test_id: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    start: int = Field(ge=0, le=BASIS_POINTS)
    end: int = Field(ge=0, le=BASIS_POINTS)
    control: bool = False

    @property
    def basis_points(self) -> int:
        return self.end - self.start

    @property
    def percent(self) -> float:
        return self.basis_points / 100


class Milestone(Record):
    """One audience of a journey: ``audience(parent) ∩ users matching definition``.

    ``parent_id`` None means the journey start. ``remaining`` marks the
    Remaining-users milestone of a split, which has no criteria. ``variant``
    marks one arm of an A/B test on the parent: no criteria, its members are the
    parent's users whose bucket falls in the arm's range, and it takes no part in
    the parent's split (its siblings ignore it and it ignores them).
    """

    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    parent_id: str | None = None
    remaining: bool = False
    definition: AudienceDefinition = AudienceDefinition()
    x: float = 0.0
    y: float = 0.0
    variant: Variant | None = None

    @property
    def stays_last(self) -> bool:
        """Kept after its ordinary siblings: a Remaining-users milestone or a test arm."""
        return self.remaining or self.variant is not None


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
