"""Binding ``None`` to SQLite without the sqlite3 module's adapter search.

Before binding a value that is not exactly an int, float or str, Python's
sqlite3 module looks for an adapter: a dictionary miss, then two failed
attribute lookups, about 0.2 µs for every ``None``. Event rows are a third
``None`` and attribute rows more than half, so that search alone cost the import
about a microsecond per event. Registering an adapter for ``None`` (a built-in
that returns ``None``) turns the search into one dictionary hit: the value bound
is the same ``None``, stored as NULL exactly as before.

Adapters are registered for the whole sqlite3 module, not per connection; this
one changes no stored value, only how fast ``None`` gets there.
"""

from __future__ import annotations

import sqlite3
from typing import Any

_EMPTY: dict[Any, Any] = {}
_NONE_STAYS_NONE = _EMPTY.get
"""``_NONE_STAYS_NONE(None) is None``: a C-level callable, so adapting costs one call."""


def bind_none_directly() -> None:
    """Make binding ``None`` a dictionary hit (idempotent)."""
    sqlite3.register_adapter(type(None), _NONE_STAYS_NONE)
