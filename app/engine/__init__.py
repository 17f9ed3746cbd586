"""The audience engine: criteria compiled to SQL, journey evaluation, memberships, estimates.

    from app.engine import evaluate_journey, estimate
    result = evaluate_journey(database, graph, as_of)     # stores memberships, returns sizes
    preview = estimate(database, graph, milestone_id, edited_definition)

- :mod:`app.engine.compiler`: an audience definition -> a SQLAlchemy select of user
  ids (set algebra; the semantics decisions are written down there).
- :mod:`app.engine.evaluation`: a whole journey at an explicit ``as_of``;
  memberships, adds and drops, size history, all set work in the database.
- :mod:`app.engine.estimates`: counts for previews, exact or sampled.
- :mod:`app.engine.jsonfield`: typed reads of event attributes per backend.
- :mod:`app.engine.duckdb`: the engine's tables on DuckDB (no Alembic there).

Every function takes a :class:`~app.store.database.Database` or a SQLAlchemy
``Engine`` (DuckDB). Imports no Qt.
"""

from app.engine.estimates import AudienceEstimate, Estimate, estimate
from app.engine.evaluation import (
    AudienceResult,
    EvaluationResult,
    evaluate_journey,
    forget_audiences,
    latest_changes,
    size_history,
    stored_members,
)

__all__ = [
    "AudienceEstimate",
    "AudienceResult",
    "Estimate",
    "EvaluationResult",
    "estimate",
    "evaluate_journey",
    "forget_audiences",
    "latest_changes",
    "size_history",
    "stored_members",
]
