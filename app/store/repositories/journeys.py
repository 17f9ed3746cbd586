"""JourneyRepository: saved journeys, whole documents in and out, guarded by versions.

Optimistic concurrency: every journey row has a ``version``. A save names the
version it started from; if the row moved on meanwhile (another window, another
person on a shared server), the save is refused with a
:class:`~app.core.errors.ConflictError` and nothing is overwritten.
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Boolean,
    CursorResult,
    Integer,
    Result,
    String,
    Table,
    delete,
    exists,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.account import journey_name_key
from app.core.errors import ConflictError, DataError
from app.core.graph import JourneyGraph
from app.core.models import Journey, JourneyDocument, Output
from app.store.repositories._support import assign, first_line
from app.store.repositories.journey_rows import journey_document, milestone_values, output_values
from app.store.schema import (
    JOURNEY_NAME_INDEX,
    AccountRow,
    Base,
    ConnectionRow,
    InputRow,
    JourneyInputRow,
    JourneyRow,
    MilestoneRow,
    OutputRow,
    UTCDateTime,
)

RowT = TypeVar("RowT", JourneyRow, JourneyInputRow, MilestoneRow, OutputRow)


@dataclass(frozen=True)
class StoredJourney:
    """A saved journey and the version a later save must name to replace it."""

    document: JourneyDocument
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def id(self) -> str:
        return self.document.journey.id

    @property
    def name(self) -> str:
        return self.document.journey.name


class JourneyRepository:
    """Saved journeys: whole documents in, whole documents out, guarded by versions."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # ------------------------------------------------------------------ reading

    def list(self) -> builtins.list[StoredJourney]:
        """Every journey of the account, by name (case-insensitive)."""
        journeys = self._load(None)
        return sorted(journeys, key=lambda j: (j.name.casefold(), j.name, j.id))

    def get(self, journey_id: str) -> StoredJourney | None:
        journeys = self._load(journey_id)
        return journeys[0] if journeys else None

    # ------------------------------------------------------------------ writing

    def save(self, document: JourneyDocument, expected_version: int | None) -> int:
        """Store ``document`` and return its new version.

        ``expected_version`` None creates the journey (its id must be unused);
        otherwise it is the version the document was loaded at, and the save is
        refused with :class:`ConflictError` if the stored version differs.

        The version check is the transaction's first statement and an atomic
        compare-and-set (``UPDATE … WHERE version = :expected``), so two
        concurrent saves can't both win on any backend. Milestones and outputs
        are then synchronised row by row, never deleted and re-inserted, so rows
        that other tables reference keep their identity.
        """
        graph = JourneyGraph.from_document(document)  # refuses a broken tree: DataError
        journey = document.journey
        now = datetime.now(UTC)
        if expected_version is None:
            self._insert_journey(journey, now)
            version = 1
        else:
            self._compare_and_bump(journey.id, expected_version, now, name=journey.name,
                                   exclusive=journey.exclusive)
            version = expected_version + 1
        self._check_references(document)
        try:
            self._sync_inputs(journey)
            self._sync_tree(journey.id, graph, document.outputs)
        except IntegrityError as exc:
            raise DataError(
                f"“{journey.name}” can't be saved: it doesn't fit the stored data "
                f"({first_line(exc)})."
            ) from exc
        return version

    def delete(self, journey_id: str, expected_version: int) -> None:
        """Delete a journey with its milestones and outputs, if nobody changed it since."""
        self._compare_and_bump(journey_id, expected_version, datetime.now(UTC), name=None)
        session = self._session
        session.execute(delete(_table(OutputRow)).where(OutputRow.journey_id == journey_id))
        milestones = session.execute(
            select(MilestoneRow.id, MilestoneRow.parent_id).where(
                MilestoneRow.journey_id == journey_id
            )
        ).all()
        self._delete_milestones({mid: parent for mid, parent in milestones})
        session.execute(
            delete(_table(JourneyInputRow)).where(JourneyInputRow.journey_id == journey_id)
        )
        session.execute(delete(_table(JourneyRow)).where(JourneyRow.id == journey_id))

    # ------------------------------------------------------------------ version guard

    def _insert_journey(self, journey: Journey, now: datetime) -> None:
        """Insert the journey row in one statement that also takes the account id.

        Writing first matters on SQLite: a transaction that reads before it
        writes can be refused outright when another connection wrote meanwhile.
        """
        table = _table(JourneyRow)
        source = (
            select(
                literal(journey.id, String()),
                AccountRow.id,
                literal(journey.name, String()),
                literal(journey_name_key(journey.name), String()),
                literal(1, Integer()),
                literal(now, UTCDateTime()),
                literal(now, UTCDateTime()),
                literal(journey.exclusive, Boolean()),
            )
            .where(~exists().where(JourneyRow.id == journey.id))
            .limit(1)
        )
        columns = ["id", "account_id", "name", "name_key", "version", "created_at", "updated_at",
                   "exclusive"]
        try:
            statement = insert(table).from_select(columns, source)
            # SQLAlchemy only keeps an INSERT's row count when asked to.
            inserted = _rowcount(
                self._session.execute(statement.execution_options(preserve_rowcount=True))
            )
        except IntegrityError as exc:
            if _is_name_clash(exc):
                raise ConflictError(_name_taken_elsewhere(journey.name)) from exc
            raise ConflictError(_created_elsewhere(journey.name)) from exc
        if inserted == 1:
            return
        if self._stored_version(journey.id) is not None:
            raise ConflictError(_created_elsewhere(journey.name))
        raise DataError(f"“{journey.name}” can't be saved before the account is.")

    def _compare_and_bump(
        self, journey_id: str, expected: int, now: datetime, *, name: str | None,
        exclusive: bool | None = None,
    ) -> None:
        """Move the row from ``expected`` to the next version, or raise ConflictError."""
        values: dict[str, Any] = {"version": expected + 1, "updated_at": now}
        if exclusive is not None:
            values["exclusive"] = exclusive
        if name is not None:
            values["name"] = name
            values["name_key"] = journey_name_key(name)
        try:
            bumped = _rowcount(
                self._session.execute(
                    update(_table(JourneyRow))
                    .where(JourneyRow.id == journey_id, JourneyRow.version == expected)
                    .values(**values)
                )
            )
        except IntegrityError as exc:
            if name is not None and _is_name_clash(exc):
                raise ConflictError(_name_taken_elsewhere(name)) from exc
            raise
        if bumped == 1:
            return
        stored = self._session.execute(
            select(JourneyRow.name, JourneyRow.version).where(JourneyRow.id == journey_id)
        ).first()
        saving = name is not None
        if stored is None:
            label = f"“{name}”" if name else "This journey"
            raise ConflictError(
                f"{label} was deleted in another window or by someone else since you opened "
                f"it. Nothing was {'saved' if saving else 'deleted'}; reload the journey list."
            )
        raise ConflictError(
            f"“{name or stored.name}” was changed in another window or by someone else since "
            f"you opened it (version {stored.version}, yours is {expected}). Nothing was "
            f"{'overwritten' if saving else 'deleted'}; reload the journey to see their "
            f"changes."
        )

    def _stored_version(self, journey_id: str) -> int | None:
        return self._session.scalar(select(JourneyRow.version).where(JourneyRow.id == journey_id))

    # ------------------------------------------------------------------ sync

    def _check_references(self, document: JourneyDocument) -> None:
        """Refuse, with a readable message, references the database can't satisfy."""
        journey = document.journey
        checks: tuple[tuple[Any, set[str], str], ...] = (
            (InputRow.id, set(journey.input_ids), "selected inputs are"),
            (ConnectionRow.id, {o.connection_id for o in document.outputs}, "connections are"),
        )
        for column, wanted, noun in checks:
            if not wanted:
                continue
            found = set(self._session.scalars(select(column).where(column.in_(wanted))))
            missing = wanted - found
            if missing:
                # The window knew them: another window or process removed them since.
                raise ConflictError(
                    f"“{journey.name}” can't be saved: {len(missing)} of its {noun} not in "
                    f"this database any more (removed in another window or by someone else). "
                    f"Nothing was saved; reload to see their changes."
                )
        for row_type, ids, noun in (
            (MilestoneRow, {m.id for m in document.milestones}, "milestone"),
            (OutputRow, {o.id for o in document.outputs}, "output"),
        ):
            if ids and self._session.scalar(
                select(row_type.id)
                .where(row_type.id.in_(ids), row_type.journey_id != journey.id)
                .limit(1)
            ):
                raise DataError(
                    f"“{journey.name}” can't be saved: one of its {noun}s has the id of a "
                    f"{noun} in another journey."
                )

    def _sync_inputs(self, journey: Journey) -> None:
        session = self._session
        rows = {
            r.input_id: r
            for r in session.scalars(
                select(JourneyInputRow).where(JourneyInputRow.journey_id == journey.id)
            )
        }
        for gone in rows.keys() - set(journey.input_ids):
            session.delete(rows[gone])
        for position, input_id in enumerate(journey.input_ids):
            row = rows.get(input_id)
            if row is None:
                session.add(
                    JourneyInputRow(journey_id=journey.id, input_id=input_id, position=position)
                )
            else:
                assign(row, {"position": position})
        session.flush()

    def _sync_tree(self, journey_id: str, graph: JourneyGraph, outputs: Sequence[Output]) -> None:
        """Bring milestone and output rows in line with the graph, touching only differences.

        The order keeps every foreign key valid at each step: outputs that are
        gone go first; new milestones are inserted parents first; then existing
        milestones are updated (a new parent now exists); then outputs are
        written; and the milestones that are gone, which nothing points to any
        more, are deleted children first.
        """
        session = self._session
        milestone_rows = {
            r.id: r
            for r in session.scalars(
                select(MilestoneRow).where(MilestoneRow.journey_id == journey_id)
            )
        }
        output_rows = {
            r.id: r
            for r in session.scalars(select(OutputRow).where(OutputRow.journey_id == journey_id))
        }
        wanted_outputs = {o.id for o in outputs}
        for gone in output_rows.keys() - wanted_outputs:
            session.delete(output_rows.pop(gone))
        session.flush()

        ordered = [
            (m, milestone_values(m, graph.child_index(m.id))) for m in graph.milestones_in_order()
        ]
        for milestone, values in ordered:
            if milestone.id not in milestone_rows:
                session.add(MilestoneRow(id=milestone.id, journey_id=journey_id, **values))
                session.flush()  # one at a time: a child's parent must exist first
        for milestone, values in ordered:
            row = milestone_rows.get(milestone.id)
            if row is not None:
                assign(row, values)
        session.flush()

        for position, output in enumerate(outputs):
            values = output_values(output, position)
            output_row = output_rows.get(output.id)
            if output_row is None:
                session.add(OutputRow(id=output.id, journey_id=journey_id, **values))
            else:
                assign(output_row, values)
        session.flush()

        kept = {m.id for m, _ in ordered}
        self._delete_milestones(
            {mid: row.parent_id for mid, row in milestone_rows.items() if mid not in kept}
        )
        for mid in milestone_rows.keys() - kept:
            session.expunge(milestone_rows[mid])

    def _delete_milestones(self, parents: Mapping[str, str | None]) -> None:
        """Delete these milestones (id -> parent id), deepest first, one level a statement.

        Deleting children before parents keeps the parent foreign key valid after
        every statement, whatever the backend checks it.
        """
        levels: dict[int, builtins.list[str]] = defaultdict(list)
        for mid in parents:
            levels[_depth(mid, parents)].append(mid)
        table = _table(MilestoneRow)
        for depth in sorted(levels, reverse=True):
            self._session.execute(delete(table).where(MilestoneRow.id.in_(levels[depth])))

    # ------------------------------------------------------------------ loading

    def _load(self, journey_id: str | None) -> builtins.list[StoredJourney]:
        """Journeys (all, or one) with their inputs, milestones and outputs: four queries."""

        def rows(row_type: type[RowT], column: Any) -> Sequence[RowT]:
            # populate_existing: the version guard and deletes bypass the ORM, so rows
            # already in this session may be stale; always take what the database has.
            condition = column == journey_id if journey_id is not None else true()
            query = select(row_type).where(condition).execution_options(populate_existing=True)
            return self._session.scalars(query).all()

        journey_rows = rows(JourneyRow, JourneyRow.id)
        if not journey_rows:
            return []
        inputs: dict[str, builtins.list[JourneyInputRow]] = defaultdict(list)
        for i in rows(JourneyInputRow, JourneyInputRow.journey_id):
            inputs[i.journey_id].append(i)
        milestones: dict[str, builtins.list[MilestoneRow]] = defaultdict(list)
        for m in rows(MilestoneRow, MilestoneRow.journey_id):
            milestones[m.journey_id].append(m)
        outputs: dict[str, builtins.list[OutputRow]] = defaultdict(list)
        for o in rows(OutputRow, OutputRow.journey_id):
            outputs[o.journey_id].append(o)
        return [
            StoredJourney(
                document=journey_document(row, inputs[row.id], milestones[row.id], outputs[row.id]),
                version=row.version,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
            for row in journey_rows
        ]


def _table(row_type: type[Base]) -> Table:
    """The Core table of a row class: the version guard and bulk deletes bypass the ORM."""
    return cast(Table, row_type.__table__)


def _rowcount(result: Result[Any]) -> int:
    return cast("CursorResult[Any]", result).rowcount


def _depth(milestone_id: str, parents: Mapping[str, str | None]) -> int:
    """How many of ``parents``' own milestones lie above ``milestone_id``."""
    depth, seen = 0, {milestone_id}
    current = parents.get(milestone_id)
    while current is not None and current in parents and current not in seen:
        seen.add(current)
        depth += 1
        current = parents[current]
    return depth


def _created_elsewhere(name: str) -> str:
    return (
        f"“{name}” is already saved (from another window or by someone else), so it can't "
        f"be created again. Nothing was overwritten; reload the journey list."
    )


def _is_name_clash(exc: IntegrityError) -> bool:
    """Whether the unique index on journey names refused the row (both backends name it:
    PostgreSQL the index, SQLite its columns)."""
    text = str(exc.orig)
    return JOURNEY_NAME_INDEX in text or "journeys.name_key" in text


def _name_taken_elsewhere(name: str) -> str:
    return (
        f"There is already a journey called “{name}” (or the same apart from capitals and "
        f"spaces): another window or someone else saved it since you opened the journey "
        f"list. Nothing was saved; reload the journey list to see it."
    )
