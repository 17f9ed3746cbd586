"""The last value seen for each key, forgotten all at once past a limit.

mParticle repeats a user's whole profile in every batch, so an import remembers
each user's last profile fingerprint at three places: the parser (the last one
it found valid), the parsing process (the last one it staged) and the writer
(the last one it stored). Each memory must stay bounded on a file of any size;
forgetting is always safe (the profile is only checked, staged or stored again).
This module imports nothing heavy: a parsing process loads it.
"""

from __future__ import annotations

from collections.abc import Hashable


class LastValues:
    """``key`` → the last value remembered for it; all are forgotten at ``limit`` keys."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._values: dict[Hashable, object] = {}

    def is_last(self, key: Hashable, value: object) -> bool:
        """Whether ``value`` is the one remembered for ``key``."""
        return self._values.get(key) == value

    def remember(self, key: Hashable, value: object) -> None:
        values = self._values
        if len(values) >= self._limit:
            values.clear()
        values[key] = value

    def changed(self, key: Hashable, value: object) -> bool:
        """Whether ``value`` is not the one remembered for ``key``; it is from now on."""
        if self._values.get(key) == value:
            return False
        self.remember(key, value)
        return True

    def forget(self, key: Hashable) -> None:
        self._values.pop(key, None)

    def clear(self) -> None:
        self._values.clear()
