"""What each canvas node shows, computed from the domain on demand.

Canvas items keep only their id; when they paint they ask the scene for a
card built here from the live :class:`~app.core.graph.JourneyGraph` and
:class:`~app.core.account.AccountState`. A card is a throw-away immutable value
(strings and flags), so there is no second copy of the journey to keep in
sync, and tests can read exactly what an item draws through ``item.texts()``.

Audience sizes come from the background evaluation (:mod:`app.ui.evaluation`),
which the scene keeps as plain :class:`AudienceFigures` keyed by milestone id
and passes in when it builds a milestone's card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.core.account import AccountState
from app.core.criteria import describe
from app.core.graph import JourneyGraph
from app.core.models import PARTNER_LABELS

REMAINING_SUMMARY = "Everyone not in the other paths"
TOP_EVERYONE_SUMMARY = "Everyone in the journey"
"""What a first milestone without criteria holds (its parent is the journey start)."""


CALCULATING = "Calculating…"
NOT_CALCULATED = "Size not calculated"
NO_CHANGE = "no change"


def platform_key(platform: str | None, kind: str) -> str:
    """What kind of source an input is: ``ios``, ``android``, ``web``, ``partner`` (a
    partner feed) or ``other``; its icon and tint follow (see :mod:`app.ui.icons`)."""
    if kind == "partner":
        return "partner"
    key = (platform or "").strip().lower()
    return key if key in ("ios", "android", "web") else "other"


def status_text(active: bool) -> str:
    return "Active" if active else "Inactive"


def users_text(count: int) -> str:
    """``1 user``, ``1,234 users``."""
    return f"{count:,} {'user' if count == 1 else 'users'}"


def people_text(count: int) -> str:
    """``1 person``, ``48,210 people``."""
    return f"{count:,} {'person' if count == 1 else 'people'}"


@dataclass(frozen=True)
class AudienceFigures:
    """An audience after the latest evaluation: its size and the change since the one
    before (users who joined, users who left)."""

    size: int
    added: int = 0
    removed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    @property
    def change_text(self) -> str:
        """``+12 / −3`` (a real minus sign), or ``no change``."""
        if not self.changed:
            return NO_CHANGE
        return f"+{self.added:,} / \u2212{self.removed:,}"


@dataclass(frozen=True)
class MilestoneCard:
    caption: str
    """Small caps line: "MILESTONE", or the place in a split ("SPLIT · 2 OF 2")."""
    name: str
    summary: str
    """One line of criteria (``criteria.describe``), or what Remaining users catches."""
    active: bool
    remaining: bool
    figures: AudienceFigures | None = None
    """The latest evaluation's numbers (None: none yet for this milestone)."""
    calculating: bool = False
    """An evaluation of the journey is pending or running: the numbers may change."""

    @property
    def status(self) -> str:
        return status_text(self.active)

    @property
    def size_text(self) -> str:
        """``1,234 users``; before the first result ``Calculating…``."""
        if self.figures is not None:
            return users_text(self.figures.size)
        return CALCULATING if self.calculating else NOT_CALCULATED

    @property
    def change_text(self) -> str:
        """``+12 / −3``, ``no change``; while recalculating ``Calculating…``; else ""."""
        if self.figures is None:
            return ""
        return CALCULATING if self.calculating else self.figures.change_text

    def texts(self) -> tuple[str, ...]:
        base = (self.caption, self.name, self.summary, self.status, self.size_text)
        return (*base, self.change_text) if self.change_text else base

    def tooltip(self) -> str:
        lines = [self.name, self.summary, f"{self.status} audience"]
        if self.figures is not None:
            change = ("No change since the previous evaluation" if not self.figures.changed
                      else f"{self.figures.added:,} joined, {self.figures.removed:,} left "
                           "since the previous evaluation")
            lines.append(f"{users_text(self.figures.size)} · {change}")
        if self.calculating:
            lines.append(CALCULATING)
        return "\n".join(lines)


FAULTED = "Faulted"
NOT_SENT_YET = "Not sent yet"


@dataclass(frozen=True)
class Forwarding:
    """How sending an output's audience to its partner stands, as plain values (from the
    studio's ``OutputForwarding`` after each forwarding run)."""

    fault_reason: str | None = None
    """Why forwarding is paused (None: it is not)."""
    pending_adds: int = 0
    pending_deletes: int = 0
    partner_holds: int = 0
    """How many people the partner holds, as its acknowledged deliveries say."""
    last_delivered_at: datetime | None = None

    @property
    def faulted(self) -> bool:
        return self.fault_reason is not None

    @property
    def pending(self) -> int:
        return self.pending_adds + self.pending_deletes

    @property
    def sent(self) -> bool:
        return self.last_delivered_at is not None or self.partner_holds > 0

    @property
    def summary(self) -> str:
        """``Sent 295 · 3 pending``, ``Sent 295``, ``Not sent yet · 295 pending``."""
        head = f"Sent {self.partner_holds:,}" if self.sent else NOT_SENT_YET
        return f"{head} · {self.pending:,} pending" if self.pending else head

    @property
    def fault_text(self) -> str:
        return f"{FAULTED}: {self.fault_reason}" if self.fault_reason is not None else ""


@dataclass(frozen=True)
class OutputCard:
    connection_name: str
    partner: str
    partner_label: str
    active: bool
    forwarding: Forwarding | None = None
    """The latest forwarding state (None: not known, e.g. before the first read)."""

    @property
    def faulted(self) -> bool:
        return self.forwarding is not None and self.forwarding.faulted

    @property
    def status(self) -> str:
        """``Active`` / ``Inactive``; ``Faulted`` while forwarding to it is paused."""
        return FAULTED if self.faulted else status_text(self.active)

    @property
    def sending_text(self) -> str:
        """``Sent 295 · 3 pending`` or ``Not sent yet`` (active outputs whose forwarding is
        known), else ""."""
        if not self.active or self.forwarding is None:
            return ""
        return self.forwarding.summary

    @property
    def detail(self) -> str:
        """The second line: how sending stands once it is known (the partner's mark is on
        the card, its name in the tooltip and the inspector), else the partner, unless the
        connection is already named after it."""
        if self.sending_text:
            return self.sending_text
        same = self.partner_label.casefold() == self.connection_name.casefold()
        return "" if same else self.partner_label

    def texts(self) -> tuple[str, ...]:
        return tuple(t for t in (self.connection_name, self.detail, self.status) if t)

    def tooltip(self) -> str:
        lines = [f"{self.connection_name} ({self.partner_label})", f"{status_text(self.active)} "
                 "output"]
        if self.forwarding is not None and self.forwarding.faulted:
            lines.append(self.forwarding.fault_text)
            lines.append("Forwarding is paused: right-click › Resume forwarding")
        elif self.sending_text:
            lines.append(self.sending_text)
        return "\n".join(lines)


@dataclass(frozen=True)
class InputCard:
    name: str
    workspace: str
    platform_key: str

    def texts(self) -> tuple[str, ...]:
        return (self.name, self.workspace)

    def tooltip(self) -> str:
        return f"{self.name} — {self.workspace}"


def milestone_card(graph: JourneyGraph, milestone_id: str,
                   figures: AudienceFigures | None = None,
                   calculating: bool = False) -> MilestoneCard:
    milestone = graph.milestone(milestone_id)
    siblings = [m for m in graph.children(milestone.parent_id) if m.variant is None]
    variant = milestone.variant
    if variant is not None:
        caption = f"A/B TEST · {'CONTROL · ' if variant.control else ''}{variant.percent:g} %"
    elif len(siblings) > 1:
        caption = f"SPLIT · {siblings.index(milestone) + 1} OF {len(siblings)}"
    else:
        caption = "MILESTONE"
    if variant is not None:
        parent = graph.milestone(milestone.parent_id) if milestone.parent_id else None
        whose = f"“{parent.name}”" if parent is not None else "the journey"
        summary = (
            f"the rest of {whose} ({variant.percent:g} %), by user id" if variant.control
            else f"{variant.percent:g} % of {whose}, by user id"
        )
    elif milestone.remaining:
        summary = REMAINING_SUMMARY
    elif milestone.parent_id is None and milestone.definition.is_empty:
        summary = TOP_EVERYONE_SUMMARY
    else:
        summary = describe(milestone.definition)
    return MilestoneCard(
        caption=caption,
        name=milestone.name,
        summary=summary[:1].upper() + summary[1:],
        active=graph.is_active(milestone_id),
        remaining=milestone.remaining,
        figures=figures,
        calculating=calculating,
    )


def output_card(graph: JourneyGraph, state: AccountState, output_id: str,
                forwarding: Forwarding | None = None) -> OutputCard:
    output = graph.output(output_id)
    connection = state.connections.get(output.connection_id)
    if connection is None:
        return OutputCard("Missing connection", "", "Set it up again in Connections",
                          output.active, forwarding)
    return OutputCard(
        connection_name=connection.name,
        partner=connection.partner,
        partner_label=PARTNER_LABELS.get(connection.partner, connection.partner),
        active=output.active,
        forwarding=forwarding,
    )


def input_card(state: AccountState, input_id: str) -> InputCard:
    record = state.inputs[input_id]
    workspace = state.workspaces.get(record.workspace_id)
    return InputCard(
        name=record.name,
        workspace=workspace.name if workspace else "",
        platform_key=platform_key(record.platform, record.kind),
    )
