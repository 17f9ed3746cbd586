"""The domain: models, the criteria language, JourneyGraph and its rules, edit commands.

Pure Python: imports no Qt and no SQLAlchemy (a test checks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.lazy import lazy_exports

if TYPE_CHECKING:
    from app.core.account import AccountState
    from app.core.errors import ConflictError, JourneyRuleError, StudioError
    from app.core.graph import START, JourneyGraph

# Loaded on first use (PEP 562): importing app.core.errors alone stays light.
_WHERE: dict[str, str | None] = {
    "AccountState": "app.core.account", "ConflictError": "app.core.errors",
    "JourneyRuleError": "app.core.errors", "StudioError": "app.core.errors",
    "START": "app.core.graph", "JourneyGraph": "app.core.graph",
}
__getattr__ = lazy_exports(__name__, _WHERE)


__all__ = [
    "START",
    "AccountState",
    "ConflictError",
    "JourneyGraph",
    "JourneyRuleError",
    "StudioError",
]
