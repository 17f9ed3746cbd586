"""The domain: models, the criteria language, JourneyGraph and its rules, edit commands.

Pure Python: imports no Qt and no SQLAlchemy (a test checks).
"""

from app.core.account import AccountState
from app.core.errors import ConflictError, JourneyRuleError, StudioError
from app.core.graph import START, JourneyGraph

__all__ = [
    "START",
    "AccountState",
    "ConflictError",
    "JourneyGraph",
    "JourneyRuleError",
    "StudioError",
]
