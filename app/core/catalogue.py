"""The data catalogue: what the account's inputs have actually seen, for the builder.

The store counts, per input, the event names, event attributes, user attributes
(with their detected types), identity types, platforms and places it holds
(:class:`Sighting` rows). A :class:`Catalogue` looks at them through one
journey's inputs: it offers what occurs there, most frequent first, as
completions, and explains a name that never occurs there instead of letting a
typo or a wrong input show up as a silent "0 users match".

This module is pure data and wording (no database), so the builder and the
CLI word the same things the same way and tests can build catalogues by hand.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

CatalogueKind = Literal[
    "event", "event_attribute", "user_attribute", "identity_type", "platform", "place"
]
"""What a sighting is of. Its ``scope`` narrows it (see :class:`Sighting`)."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """How often one name or value occurred in one input, and when last.

    ``scope`` depends on ``kind``: for ``event`` the event type (``custom_event``,
    ``screen_view``, ``commerce_event`` …; ``value`` is the event name, or for
    commerce events the product action); for ``event_attribute`` the event name
    the attribute came with; for ``user_attribute`` the detected type
    (``string``, ``number``, ``boolean``, ``date``, ``list``); for ``place`` the
    location field (``country``, ``region``, ``city``, ``postal_code``); empty
    for the other kinds. An event type whose events have no name (session
    start …) is counted under the empty name.

    ``count`` counts events, except for ``user_attribute`` and ``identity_type``,
    where it counts the users seen through the input who hold the attribute or
    identity (``last_seen`` is then None: profile values carry no time). A user
    seen through two inputs counts in both, so over several inputs those counts
    add up each input's users.
    """

    kind: CatalogueKind
    scope: str
    value: str
    input_id: str
    count: int
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class Entry:
    """One completion: a value with its count and last sighting over the journey's inputs."""

    value: str
    count: int
    last_seen: datetime | None
    scope: str = ""


class Catalogue:
    """The sightings of an account, seen through the inputs of one journey.

    ``input_names`` labels inputs in hints (“Marketing Site/Web”: workspace and
    input name); ``journey_inputs`` are the inputs the journey reads.
    """

    def __init__(
        self,
        sightings: Iterable[Sighting],
        journey_inputs: Collection[str],
        input_names: Mapping[str, str],
    ) -> None:
        self._sightings = tuple(sightings)
        self._journey_inputs = frozenset(journey_inputs)
        self._input_names = dict(input_names)

    @property
    def journey_inputs(self) -> frozenset[str]:
        return self._journey_inputs

    def entries(self, kind: CatalogueKind, scope: str | None = None) -> list[Entry]:
        """What the journey's inputs saw of ``kind`` (within ``scope`` unless None),
        most frequent first, then by name."""
        merged: dict[tuple[str, str], tuple[int, datetime | None]] = {}
        for s in self._sightings:
            if s.kind != kind or s.input_id not in self._journey_inputs:
                continue
            if scope is not None and s.scope != scope:
                continue
            key = (s.value, s.scope)
            count, last = merged.get(key, (0, None))
            merged[key] = (count + s.count, _later(last, s.last_seen))
        found = [Entry(value, count, last, scope_of)
                 for (value, scope_of), (count, last) in merged.items()]
        return sorted(found, key=lambda e: (-e.count, e.value.casefold(), e.scope))

    def values(self, kind: CatalogueKind, scope: str | None = None) -> list[str]:
        """The distinct values of :meth:`entries`, in the same order."""
        seen: dict[str, None] = {}
        for entry in self.entries(kind, scope):
            seen.setdefault(entry.value, None)
        return list(seen)

    def hint(self, kind: CatalogueKind, scope: str | None, value: str) -> str | None:
        """Why ``value`` would match nothing here, or None when the journey's inputs saw it.

        “never seen in this journey's inputs; 1,204 times in Marketing Site/Web”, or
        “never seen in any input” when no input of the account has it either.
        """
        elsewhere: dict[str, int] = {}
        for s in self._sightings:
            if s.kind != kind or s.value != value or (scope is not None and s.scope != scope):
                continue
            if s.input_id in self._journey_inputs:
                return None
            elsewhere[s.input_id] = elsewhere.get(s.input_id, 0) + s.count
        if not elsewhere:
            return "never seen in any input"
        ranked = sorted(elsewhere.items(), key=lambda kv: (-kv[1], self._name(kv[0])))
        places = ", ".join(f"{count:,} {_times(count)} in {self._name(input_id)}"
                           for input_id, count in ranked[:3])
        more = f" and {len(ranked) - 3} more inputs" if len(ranked) > 3 else ""
        return f"never seen in this journey's inputs; {places}{more}"

    def _name(self, input_id: str) -> str:
        return self._input_names.get(input_id, input_id)


def _times(count: int) -> str:
    return "time" if count == 1 else "times"


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
