"""The arms of A/B tests: their members (by bucket) and their results (size, conversion).

An arm's members are its parent's members whose bucket (see
:func:`app.core.ab_tests.bucket`) falls in the arm's range. The bucket is a
SHA-256 of the test id and the user's *external* id, which SQLite, PostgreSQL
and DuckDB do not compute alike, so it is computed here in Python from the
parent's (user number, external id) pairs and the arm's numbers are inserted
into the workspace: one read of the parent per test and evaluation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, func, insert, select

from app.core.ab_tests import ArmResult, Comparison, arms_of, bucket, compare
from app.core.graph import JourneyGraph
from app.core.models import Milestone
from app.engine.compiler import members, members_of
from app.engine.workspace import Workspace
from app.store.audience_tables import scratch_key
from app.store.database import Database
from app.store.event_tables import UserRow
from app.store.memberships import engine_of

BATCH = 5_000
"""Rows a statement when an arm's members are put into the workspace."""


@dataclass
class ArmFiller:
    """Fills the arms of one workspace, reading each tested milestone's users once."""

    work: Workspace
    _buckets: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)

    def fill(self, arm: Milestone) -> int:
        """Put the members of ``arm`` into the workspace; how many there are."""
        variant = arm.variant
        assert variant is not None and arm.parent_id is not None, "not an arm of a test"
        key = (variant.test_id, arm.parent_id)
        if key not in self._buckets:
            self._buckets[key] = list(self._read(arm.parent_id, variant.test_id))
        chosen = [user for user, b in self._buckets[key] if variant.start <= b < variant.end]
        return self._insert(arm.id, chosen)

    def _read(self, parent_id: str, test_id: str) -> Iterator[tuple[int, int]]:
        users = UserRow.__table__
        query = select(users.c.id, users.c.external_id).where(
            users.c.id.in_(members_of(parent_id, table=self.work.table))
        )
        for user_id, external_id in self.work.connection.execute(query):
            yield int(user_id), bucket(test_id, str(external_id))

    def _insert(self, audience_id: str, user_ids: list[int]) -> int:
        work = self.work
        work.filled = work.filled | {audience_id}
        key = scratch_key(audience_id)
        for start in range(0, len(user_ids), BATCH):
            work.connection.execute(
                insert(work.table),
                [{"audience_key": key, "user_id": u} for u in user_ids[start : start + BATCH]],
            )
        return len(user_ids)


def next_milestones(graph: JourneyGraph, tested_id: str) -> list[Milestone]:
    """Where an arm's users convert to: the tested milestone's children that have criteria
    of their own, neither arms of the test nor its Remaining users (who are the ones
    that did *not* reach any next milestone)."""
    return [m for m in graph.children(tested_id) if not m.stays_last]


def ab_test_results(
    database: Database | Engine, graph: JourneyGraph, tested_id: str
) -> list[Comparison]:
    """Each variant of the test on ``tested_id`` against its Control, from the stored members.

    An arm's conversion counts its members who are also members of at least one
    next milestone of the tested milestone (:func:`next_milestones`), as of the
    last evaluation; None when the tested milestone has no such child.
    """
    arms = arms_of(graph.children(tested_id))
    if not any(arm.variant is not None and arm.variant.control for arm in arms):
        return []  # no test, or one being added or removed arm by arm
    following = [m.id for m in next_milestones(graph, tested_id)]
    with engine_of(database).connect() as connection:
        results = [_arm_result(connection, arm, following) for arm in arms]
    control = next(r for r in results if r.control)
    return [compare(r, control) for r in results if not r.control]


def _arm_result(connection: Connection, arm: Milestone, following: list[str]) -> ArmResult:
    assert arm.variant is not None
    inside = members_of(arm.id).subquery()
    size = connection.execute(select(func.count()).select_from(inside)).scalar_one()
    converted: int | None = None
    if following:
        reached = members_of(*following, table=members)
        converted = int(connection.execute(
            select(func.count()).select_from(inside).where(inside.c.user_id.in_(reached))
        ).scalar_one())
    return ArmResult(
        arm.id, arm.variant.label, arm.variant.percent, arm.variant.control, int(size), converted
    )
