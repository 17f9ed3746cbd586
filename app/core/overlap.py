"""Duplicate targeting across journeys: which active audiences share users.

A user in two active audiences may get both audiences' messages. The store
counts, over the stored memberships, how many users each pair of active
audiences shares (:mod:`app.store.overlap`); this module names the audiences,
ranks the pairs and words the warnings, so the Overlap view and
``journeys overlap`` say the same. Counts are of the latest evaluation of each
journey, so a journey never evaluated counts no one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.core.account import AccountState
from app.core.graph import JourneyGraph

PAIRS_SHOWN = 20
"""How many pairs a report lists, most shared users first."""


@dataclass(frozen=True)
class ActiveAudience:
    """An active audience: its milestone, journey, and where its active outputs send it."""

    audience_id: str
    name: str
    journey_id: str
    journey: str
    connections: tuple[tuple[str, str], ...] = ()
    """(connection id, connection name) of its active outputs, in output order."""
    path: tuple[str, ...] = ()
    """The ids of the milestones above it in its journey (its parent first)."""


@dataclass(frozen=True)
class OverlapPair:
    """Two active audiences and the users they share."""

    first: ActiveAudience
    second: ActiveAudience
    shared: int
    first_size: int
    second_size: int

    @property
    def percent_of_smaller(self) -> float:
        """The shared users as a percentage of the smaller audience (0 when it is empty)."""
        smaller = min(self.first_size, self.second_size)
        return 100.0 * self.shared / smaller if smaller else 0.0

    @property
    def same_connections(self) -> tuple[str, ...]:
        """The names of the connections both audiences are sent to (active outputs)."""
        theirs = dict(self.second.connections)
        return tuple(name for cid, name in self.first.connections if cid in theirs)

    @property
    def on_one_path(self) -> bool:
        """One audience is above the other in the same journey (the later one's users
        are all in the earlier one unless the journey's users leave earlier milestones)."""
        return (self.first.journey_id == self.second.journey_id
                and (self.first.audience_id in self.second.path
                     or self.second.audience_id in self.first.path))

    def warning(self) -> str | None:
        """What to tell the marketer when both audiences are sent to one connection."""
        if not self.shared or not self.same_connections:
            return None
        users = "1 user" if self.shared == 1 else f"{self.shared:,} users"
        text = (f"“{self.first.name}” and “{self.second.name}” both go to "
                f"{_and(self.same_connections)} and share {users}: they will receive both.")
        if self.on_one_path:
            text += (f" Turn on “users leave earlier milestones” for “{self.first.journey}” "
                     f"to send each user the later one only.")
        return text


@dataclass(frozen=True)
class OverlapReport:
    """What the Overlap view shows."""

    audiences: int
    """How many active audiences were compared."""
    in_several: int
    """Users who are in two or more active audiences."""
    pairs: tuple[OverlapPair, ...]
    """The pairs sharing users, most shared first (at most :data:`PAIRS_SHOWN`)."""
    warnings: tuple[str, ...]
    """One per overlapping pair sent to the same connection, most shared first (all)."""

    @property
    def summary(self) -> str:
        if not self.audiences:
            return "No audience is active: nothing is sent, so nothing is sent twice."
        users = "1 user is" if self.in_several == 1 else f"{self.in_several:,} users are"
        audiences = "1 active audience" if self.audiences == 1 else (
            f"{self.audiences} active audiences")
        return f"{users} in more than one of the {audiences}."


def active_audiences(state: AccountState) -> list[ActiveAudience]:
    """Every active audience of the account, journey by journey, each in tree order (so a
    pair names the earlier milestone of a path first)."""
    found: list[ActiveAudience] = []
    for graph in state.journeys():
        active = graph.active_milestone_ids()
        found.extend(_audience(state, graph, m.id)
                     for m in graph.milestones_in_order() if m.id in active)
    return found


def _audience(state: AccountState, graph: JourneyGraph, milestone_id: str) -> ActiveAudience:
    milestone = graph.milestone(milestone_id)
    connections = tuple(dict.fromkeys(
        (o.connection_id, state.connection_name(o.connection_id))
        for o in graph.outputs_of(milestone_id) if o.active
    ))
    path = tuple(m.id for m in reversed(graph.path_to(milestone_id)[:-1]))
    return ActiveAudience(milestone_id, milestone.name, graph.id, graph.name,
                          connections, path)


def overlap_report(
    audiences: Iterable[ActiveAudience],
    sizes: Mapping[str, int],
    shared: Mapping[tuple[str, str], int],
    in_several: int,
    limit: int = PAIRS_SHOWN,
) -> OverlapReport:
    """Rank the pairs the store counted: ``shared[(a, b)]`` users in both a and b."""
    listed = list(audiences)
    by_id = {a.audience_id: a for a in listed}
    pairs = []
    for (a, b), count in shared.items():
        if count <= 0 or a not in by_id or b not in by_id or a == b:
            continue
        first, second = sorted((by_id[a], by_id[b]), key=lambda x: listed.index(x))
        pairs.append(OverlapPair(first, second, count, sizes.get(first.audience_id, 0),
                                 sizes.get(second.audience_id, 0)))
    pairs.sort(key=lambda p: (-p.shared, -p.percent_of_smaller, p.first.name.casefold(),
                              p.second.name.casefold()))
    warnings = tuple(w for p in pairs if (w := p.warning()) is not None)
    return OverlapReport(len(listed), in_several, tuple(pairs[:limit]), warnings)


def _and(names: tuple[str, ...]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]
