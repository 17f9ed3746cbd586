"""What each canvas node shows, computed from the domain on demand.

Canvas items keep only their id; when they paint they ask the scene for a
card built here from the live :class:`~app.core.graph.JourneyGraph` and
:class:`~app.core.account.AccountState`. A card is a throw-away immutable value
(strings and flags), so there is no second copy of the journey to keep in
sync, and tests can read exactly what an item draws through ``item.texts()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.account import AccountState
from app.core.criteria import describe
from app.core.graph import JourneyGraph
from app.core.models import PARTNER_LABELS
from app.ui.glyphs import platform_key

REMAINING_SUMMARY = "Everyone not in the other paths"
TOP_EVERYONE_SUMMARY = "Everyone in the journey"
"""What a first milestone without criteria holds (its parent is the journey start)."""


def status_text(active: bool) -> str:
    return "Active" if active else "Inactive"


@dataclass(frozen=True)
class MilestoneCard:
    caption: str
    """Small caps line: "MILESTONE", or the place in a split ("SPLIT · 2 OF 2")."""
    name: str
    summary: str
    """One line of criteria (``criteria.describe``), or what Remaining users catches."""
    active: bool
    remaining: bool

    @property
    def status(self) -> str:
        return status_text(self.active)

    def texts(self) -> tuple[str, ...]:
        return (self.caption, self.name, self.summary, self.status)

    def tooltip(self) -> str:
        return f"{self.name}\n{self.summary}\n{self.status} audience"


@dataclass(frozen=True)
class OutputCard:
    connection_name: str
    partner: str
    partner_label: str
    active: bool

    @property
    def status(self) -> str:
        return status_text(self.active)

    @property
    def detail(self) -> str:
        """The second line: the partner, unless the connection is already named after it."""
        same = self.partner_label.casefold() == self.connection_name.casefold()
        return "" if same else self.partner_label

    def texts(self) -> tuple[str, ...]:
        return tuple(t for t in (self.connection_name, self.detail, self.status) if t)

    def tooltip(self) -> str:
        return f"{self.connection_name} ({self.partner_label})\n{self.status} output"


@dataclass(frozen=True)
class InputCard:
    name: str
    workspace: str
    platform_key: str

    def texts(self) -> tuple[str, ...]:
        return (self.name, self.workspace)

    def tooltip(self) -> str:
        return f"{self.name} — {self.workspace}"


def milestone_card(graph: JourneyGraph, milestone_id: str) -> MilestoneCard:
    milestone = graph.milestone(milestone_id)
    siblings = graph.children(milestone.parent_id)
    if len(siblings) > 1:
        caption = f"SPLIT · {graph.child_index(milestone_id) + 1} OF {len(siblings)}"
    else:
        caption = "MILESTONE"
    if milestone.remaining:
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
    )


def output_card(graph: JourneyGraph, state: AccountState, output_id: str) -> OutputCard:
    output = graph.output(output_id)
    connection = state.connections.get(output.connection_id)
    if connection is None:
        return OutputCard("Missing connection", "", "Set it up again in Connections",
                          output.active)
    return OutputCard(
        connection_name=connection.name,
        partner=connection.partner,
        partner_label=PARTNER_LABELS.get(connection.partner, connection.partner),
        active=output.active,
    )


def input_card(state: AccountState, input_id: str) -> InputCard:
    record = state.inputs[input_id]
    workspace = state.workspaces.get(record.workspace_id)
    return InputCard(
        name=record.name,
        workspace=workspace.name if workspace else "",
        platform_key=platform_key(record.platform, record.kind),
    )
