"""JourneyRepository: round trips, diff-based saves that keep row identity, and conflicts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    event,
    func,
    insert,
    select,
    text,
    update,
)

from app.core.criteria import (
    AudienceDefinition,
    Clause,
    EventCriterion,
)
from app.core.errors import ConflictError, DataError
from app.core.graph import JourneyGraph
from app.core.models import Journey, JourneyDocument, Milestone, Output
from app.store import AccountData, Database, JourneyRepository, StoredJourney
from app.store.schema import JourneyInputRow, JourneyRow, MilestoneRow, OutputRow

MakeJourney = Callable[[str], JourneyDocument]
StoreAccount = Callable[[Database, AccountData], None]


# ---------------------------------------------------------------------- helpers


def save(db: Database, document: JourneyDocument, version: int | None) -> int:
    with db.transaction() as session:
        return JourneyRepository(session).save(document, version)


def get(db: Database, journey_id: str) -> StoredJourney | None:
    with db.transaction() as session:
        return JourneyRepository(session).get(journey_id)


def stored(db: Database, journey_id: str) -> StoredJourney:
    found = get(db, journey_id)
    assert found is not None
    return found


def edit(document: JourneyDocument, change: Callable[[JourneyGraph], object]) -> JourneyDocument:
    """Apply a change through the domain's own graph, as the application does."""
    graph = JourneyGraph.from_document(document)
    change(graph)
    return graph.document()


def by_name(document: JourneyDocument, name: str) -> Milestone:
    return next(m for m in document.milestones if m.name == name)


def count(db: Database, row_type: type, **where: str) -> int:
    with db.transaction() as session:
        query = select(func.count()).select_from(row_type)
        for column, value in where.items():
            query = query.where(getattr(row_type, column) == value)
        return int(session.scalar(query) or 0)


@pytest.fixture
def written(db: Database) -> Iterator[list[tuple[str, str]]]:
    """(verb, table) of every INSERT/UPDATE/DELETE the database runs during the test."""
    seen: list[tuple[str, str]] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        words = statement.replace('"', "").split()
        verb = words[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):
            table = words[2] if verb in ("INSERT", "DELETE") else words[1]
            seen.append((verb, table))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


# ---------------------------------------------------------------------- round trips


def test_every_field_round_trips_through_close_and_reopen(
    db_url: str,
    account_data: AccountData,
    journey_document: JourneyDocument,
    store_account_into: StoreAccount,
) -> None:
    with Database(db_url) as first:
        store_account_into(first, account_data)
        assert save(first, journey_document, None) == 1
    with Database(db_url) as second:
        loaded = stored(second, journey_document.journey.id)
        with second.transaction() as session:
            listed = JourneyRepository(session).list()
    assert loaded.document == journey_document
    assert loaded.version == 1
    assert listed == [loaded]
    # Spot checks that the comparison above covers what matters, field by field.
    paid = by_name(loaded.document, "Paid")
    assert paid.definition == by_name(journey_document, "Paid").definition
    assert {c.item.kind for c in paid.definition.clauses} >= {
        "event",
        "group",
        "device",
        "location",
        "audience",
    }
    dates = [
        c.item
        for c in paid.definition.clauses[2].item.clauses
        if c.item.kind == "user_attribute" and c.item.condition.type == "date"
    ]
    assert dates and all(isinstance(v, datetime) for v in dates[0].condition.value)
    assert (paid.x, paid.y) == (430.0000001, -80.5)
    assert [m.name for m in loaded.document.milestones] == [
        "Signed up",
        "Started trial",
        "Paid",
        "Browsed pricing",
        "Remaining users",
    ]
    assert by_name(loaded.document, "Remaining users").remaining
    assert [o.active for o in loaded.document.outputs] == [True, False, True]
    assert loaded.document.journey.input_ids == journey_document.journey.input_ids
    # The loaded document is what the domain needs to rebuild the same graph.
    assert JourneyGraph.from_document(loaded.document).document() == journey_document


def test_timestamps_are_utc_and_created_at_survives_saves(
    seeded_db: Database, journey_document: JourneyDocument
) -> None:
    before = datetime.now(UTC)
    save(seeded_db, journey_document, None)
    first = stored(seeded_db, journey_document.journey.id)
    save(seeded_db, journey_document, first.version)
    second = stored(seeded_db, journey_document.journey.id)
    assert first.created_at.tzinfo is not None and first.created_at.utcoffset().total_seconds() == 0
    assert before <= first.created_at <= first.updated_at <= second.updated_at
    assert second.created_at == first.created_at


def test_list_orders_by_name_ignoring_case(seeded_db: Database, make_journey: MakeJourney) -> None:
    for name in ("beta launch", "Alpha", "Charlie", "alpine"):
        save(seeded_db, make_journey(name), None)
    with seeded_db.transaction() as session:
        names = [j.name for j in JourneyRepository(session).list()]
    assert names == sorted(names, key=str.casefold)
    assert len(names) == 4


def test_get_of_an_unknown_journey_is_none(seeded_db: Database) -> None:
    assert get(seeded_db, "nope") is None


def test_each_save_returns_the_next_version(
    seeded_db: Database, journey_document: JourneyDocument
) -> None:
    version = save(seeded_db, journey_document, None)
    for _ in range(3):
        version = save(seeded_db, journey_document, version)
    assert version == 4
    assert stored(seeded_db, journey_document.journey.id).version == version


def test_the_exclusive_option_is_stored_when_created_and_when_switched(
    seeded_db: Database, journey_document: JourneyDocument
) -> None:
    """"Users leave earlier milestones" is kept with the journey: created on, switched
    off, switched on again, each read back as saved."""
    on = journey_document.model_copy(
        update={"journey": journey_document.journey.model_copy(update={"exclusive": True})})
    version = save(seeded_db, on, None)
    assert stored(seeded_db, on.journey.id).document.journey.exclusive
    version = save(seeded_db, journey_document, version)
    assert not stored(seeded_db, on.journey.id).document.journey.exclusive
    save(seeded_db, on, version)
    assert stored(seeded_db, on.journey.id).document == on


def test_journey_inputs_keep_their_order_when_changed(
    seeded_db: Database, account_data: AccountData, journey_document: JourneyDocument
) -> None:
    save(seeded_db, journey_document, None)
    inputs = [i.id for i in account_data.inputs]
    reordered = (inputs[1], inputs[3], inputs[2])
    changed = journey_document.model_copy(
        update={"journey": journey_document.journey.model_copy(update={"input_ids": reordered})}
    )
    save(seeded_db, changed, 1)
    assert stored(seeded_db, changed.journey.id).document.journey.input_ids == reordered
    assert count(seeded_db, JourneyInputRow, journey_id=changed.journey.id) == 3


# ---------------------------------------------------------------------- diff-based save


def _probe_every_row(db: Database, document: JourneyDocument) -> Table:
    """A table referencing every milestone and output row, as memberships will.

    Its foreign keys cascade, so a row deleted and re-inserted under the same id
    would silently take its probe with it: surviving probes prove kept rows.
    """
    metadata = MetaData()
    Table("milestones", metadata, autoload_with=db.engine)
    Table("outputs", metadata, autoload_with=db.engine)
    probe = Table(
        "probe",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("milestone_id", String(64), ForeignKey("milestones.id", ondelete="CASCADE")),
        Column("output_id", String(64), ForeignKey("outputs.id", ondelete="CASCADE")),
    )
    probe.create(db.engine)
    with db.engine.begin() as connection:
        for m in document.milestones:
            connection.execute(insert(probe).values(milestone_id=m.id))
        for o in document.outputs:
            connection.execute(insert(probe).values(output_id=o.id))
    return probe


def _probed(db: Database, probe: Table) -> set[str]:
    with db.engine.connect() as connection:
        rows = connection.execute(select(probe.c.milestone_id, probe.c.output_id)).all()
    return {m or o for m, o in rows}


def test_edits_update_rows_in_place(
    seeded_db: Database, account_data: AccountData, journey_document: JourneyDocument
) -> None:
    save(seeded_db, journey_document, None)
    probe = _probe_every_row(seeded_db, journey_document)
    trial = by_name(journey_document, "Started trial")
    browsed = by_name(journey_document, "Browsed pricing")
    paid = by_name(journey_document, "Paid")
    first_output = journey_document.outputs[0]
    new_definition = AudienceDefinition(
        clauses=(Clause(item=EventCriterion(event_name="Upgraded")),)
    )

    def change(graph: JourneyGraph) -> None:
        graph.rename_milestone(trial.id, "Trial started")
        graph.move_milestone(paid.id, browsed.id)  # a new parent
        graph.move_milestone(browsed.id, browsed.parent_id, 0)  # split reordered
        graph.set_definition(browsed.id, new_definition)
        graph.set_milestone_position(trial.id, -1.5, 2.25)
        graph.set_output_active(first_output.id, False)
        graph.set_output_position(first_output.id, 99.5, 100.25)

    edited = edit(journey_document, change)
    save(seeded_db, edited, 1)

    assert stored(seeded_db, edited.journey.id).document == edited
    assert _probed(seeded_db, probe) == {m.id for m in edited.milestones} | {
        o.id for o in edited.outputs
    }
    with seeded_db.transaction() as session:
        row = session.get(MilestoneRow, paid.id)
        assert row is not None and row.parent_id == browsed.id
        siblings = session.execute(
            select(MilestoneRow.name, MilestoneRow.sibling_index)
            .where(MilestoneRow.parent_id == trial.parent_id)
            .order_by(MilestoneRow.sibling_index)
        ).all()
    assert [name for name, _ in siblings] == [
        m.name for m in edited.milestones if m.parent_id == trial.parent_id
    ]
    assert siblings[0][0] == "Browsed pricing"


def test_saving_an_unchanged_journey_writes_only_the_version(
    seeded_db: Database, journey_document: JourneyDocument, written: list[tuple[str, str]]
) -> None:
    save(seeded_db, journey_document, None)
    written.clear()
    save(seeded_db, journey_document, 1)
    assert written == [("UPDATE", "journeys")]


def test_renaming_one_milestone_updates_exactly_that_row(
    seeded_db: Database, journey_document: JourneyDocument, written: list[tuple[str, str]]
) -> None:
    save(seeded_db, journey_document, None)
    signed = by_name(journey_document, "Signed up")
    edited = edit(journey_document, lambda g: g.rename_milestone(signed.id, "Registered"))
    written.clear()
    save(seeded_db, edited, 1)
    assert sorted(written) == [("UPDATE", "journeys"), ("UPDATE", "milestones")]
    assert by_name(stored(seeded_db, edited.journey.id).document, "Registered").id == signed.id


def test_removed_outputs_and_milestones_are_deleted(
    seeded_db: Database, journey_document: JourneyDocument
) -> None:
    save(seeded_db, journey_document, None)
    probe = _probe_every_row(seeded_db, journey_document)
    paid = by_name(journey_document, "Paid")

    def change(graph: JourneyGraph) -> None:
        for output in graph.outputs_of(paid.id):
            graph.remove_output(output.id)
        graph.remove_milestone(paid.id)

    edited = edit(journey_document, change)
    save(seeded_db, edited, 1)
    assert stored(seeded_db, edited.journey.id).document == edited
    assert count(seeded_db, MilestoneRow, id=paid.id) == 0
    assert count(seeded_db, OutputRow, milestone_id=paid.id) == 0
    assert count(seeded_db, OutputRow, journey_id=edited.journey.id) == len(edited.outputs)
    assert _probed(seeded_db, probe) == {m.id for m in edited.milestones} | {
        o.id for o in edited.outputs
    }


def test_a_whole_branch_can_go_in_one_save_children_first(
    seeded_db: Database, journey_document: JourneyDocument
) -> None:
    save(seeded_db, journey_document, None)
    trial = by_name(journey_document, "Started trial")
    paid = by_name(journey_document, "Paid")
    gone = {trial.id, paid.id}
    pruned = journey_document.model_copy(
        update={
            "milestones": tuple(m for m in journey_document.milestones if m.id not in gone),
            "outputs": tuple(o for o in journey_document.outputs if o.milestone_id not in gone),
        }
    )
    save(seeded_db, pruned, 1)
    assert stored(seeded_db, pruned.journey.id).document == pruned
    assert count(seeded_db, MilestoneRow, journey_id=pruned.journey.id) == len(pruned.milestones)


def test_moving_under_a_new_milestone_while_deleting_the_old_parent(
    seeded_db: Database, account_data: AccountData, journey_document: JourneyDocument
) -> None:
    save(seeded_db, journey_document, None)
    probe = _probe_every_row(seeded_db, journey_document)
    signed = by_name(journey_document, "Signed up")
    trial = by_name(journey_document, "Started trial")
    paid = by_name(journey_document, "Paid")
    engaged = Milestone(name="Engaged", parent_id=signed.id, x=5.0, y=6.0)
    converted = Milestone(name="Converted", parent_id=engaged.id)

    def change(graph: JourneyGraph) -> None:
        graph.add_milestone(engaged, 0)
        graph.add_milestone(converted)
        graph.move_milestone(paid.id, converted.id)  # under a milestone that is new
        graph.remove_milestone(trial.id)  # its old parent goes in the same save
        graph.add_output(
            Output(milestone_id=converted.id, connection_id=account_data.connections[1].id)
        )

    edited = edit(journey_document, change)
    save(seeded_db, edited, 1)
    assert stored(seeded_db, edited.journey.id).document == edited
    assert count(seeded_db, MilestoneRow, id=trial.id) == 0
    assert paid.id in _probed(seeded_db, probe)


# ---------------------------------------------------------------------- conflicts


def test_two_windows_the_stale_save_is_refused_and_nothing_is_overwritten(
    db_url: str,
    account_data: AccountData,
    journey_document: JourneyDocument,
    store_account_into: StoreAccount,
) -> None:
    with Database(db_url) as setup:
        store_account_into(setup, account_data)
        save(setup, journey_document, None)
    signed = by_name(journey_document, "Signed up")
    with Database(db_url) as window_a, Database(db_url) as window_b:
        opened_a = stored(window_a, journey_document.journey.id)
        opened_b = stored(window_b, journey_document.journey.id)
        theirs = edit(opened_a.document, lambda g: g.rename_milestone(signed.id, "Joined"))
        mine = edit(opened_b.document, lambda g: g.rename_milestone(signed.id, "Enrolled"))
        assert save(window_a, theirs, opened_a.version) == 2

        with pytest.raises(ConflictError) as refused:
            save(window_b, mine, opened_b.version)

        message = str(refused.value)
        assert "“Trial to paid”" in message
        assert "version 2, yours is 1" in message
        assert "Nothing was overwritten" in message
        assert stored(window_b, journey_document.journey.id).document == theirs
        assert stored(window_a, journey_document.journey.id).version == 2


def test_saving_a_journey_deleted_elsewhere_is_refused(
    db_url: str,
    account_data: AccountData,
    journey_document: JourneyDocument,
    store_account_into: StoreAccount,
) -> None:
    with Database(db_url) as window_a, Database(db_url) as window_b:
        store_account_into(window_a, account_data)
        save(window_a, journey_document, None)
        with window_a.transaction() as session:
            JourneyRepository(session).delete(journey_document.journey.id, 1)
        with pytest.raises(ConflictError, match="deleted in another window") as refused:
            save(window_b, journey_document, 1)
        assert "Nothing was saved" in str(refused.value)
        assert get(window_b, journey_document.journey.id) is None
        with pytest.raises(ConflictError, match="deleted"), window_b.transaction() as session:
            JourneyRepository(session).delete(journey_document.journey.id, 1)


def test_deleting_a_journey_changed_elsewhere_is_refused(
    db_url: str,
    account_data: AccountData,
    journey_document: JourneyDocument,
    store_account_into: StoreAccount,
) -> None:
    with Database(db_url) as window_a, Database(db_url) as window_b:
        store_account_into(window_a, account_data)
        save(window_a, journey_document, None)
        theirs = edit(
            journey_document,
            lambda g: g.rename_milestone(by_name(journey_document, "Paid").id, "Customer"),
        )
        save(window_a, theirs, 1)
        with pytest.raises(ConflictError) as refused, window_b.transaction() as session:
            JourneyRepository(session).delete(journey_document.journey.id, 1)
        assert "version 2, yours is 1" in str(refused.value)
        assert "Nothing was deleted" in str(refused.value)
        assert stored(window_b, journey_document.journey.id).document == theirs


def test_concurrent_saves_from_the_same_version_only_one_wins(
    db_url: str,
    account_data: AccountData,
    journey_document: JourneyDocument,
    store_account_into: StoreAccount,
) -> None:
    """B's save waits for A's open transaction, then sees A's version: atomic on each backend."""
    with Database(db_url) as window_a, Database(db_url) as window_b:
        store_account_into(window_a, account_data)
        save(window_a, journey_document, None)
        signed = by_name(journey_document, "Signed up")
        theirs = edit(journey_document, lambda g: g.rename_milestone(signed.id, "Joined"))
        mine = edit(journey_document, lambda g: g.rename_milestone(signed.id, "Enrolled"))
        outcome: list[BaseException | int] = []

        def save_b() -> None:
            try:
                outcome.append(save(window_b, mine, 1))
            except BaseException as exc:  # handed back to the test thread
                outcome.append(exc)

        with window_a.transaction() as session:
            JourneyRepository(session).save(theirs, 1)
            thread = threading.Thread(target=save_b)
            thread.start()
            thread.join(timeout=0.5)
            assert thread.is_alive(), f"B did not wait for A's transaction: {outcome}"
        thread.join(timeout=15)
        assert not thread.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], ConflictError), outcome
        assert stored(window_a, journey_document.journey.id).document == theirs


def test_creating_a_journey_whose_id_exists_is_a_conflict(
    seeded_db: Database, journey_document: JourneyDocument
) -> None:
    save(seeded_db, journey_document, None)
    renamed = journey_document.model_copy(
        update={"journey": journey_document.journey.model_copy(update={"name": "Other"})}
    )
    with pytest.raises(ConflictError, match="already saved"):
        save(seeded_db, renamed, None)
    assert stored(seeded_db, journey_document.journey.id).document == journey_document


def named(document: JourneyDocument, name: str) -> JourneyDocument:
    """``document`` under another name (same ids)."""
    journey = document.journey.model_copy(update={"name": name})
    return document.model_copy(update={"journey": journey})


def empty_journey(name: str) -> JourneyDocument:
    return JourneyDocument(journey=Journey(name=name))


@pytest.mark.parametrize(
    ("first", "second"), [("Same", "same"), ("Win back", "  WIN   back "), ("Straße", "STRASSE")]
)
def test_a_name_that_differs_only_in_capitals_or_spaces_is_a_conflict(
    seeded_db: Database, first: str, second: str
) -> None:
    """Another window's copy of the account did not have the first journey yet: the store
    refuses the second one, which that window's own check let through."""
    save(seeded_db, empty_journey(first), None)
    with pytest.raises(ConflictError, match=f"There is already a journey called “{second}”"):
        save(seeded_db, empty_journey(second), None)
    with seeded_db.transaction() as session:
        assert [j.name for j in JourneyRepository(session).list()] == [first]


def test_renaming_onto_a_name_taken_elsewhere_is_a_conflict(
    seeded_db: Database, journey_document: JourneyDocument
) -> None:
    save(seeded_db, journey_document, None)
    save(seeded_db, empty_journey("Win back"), None)
    with pytest.raises(ConflictError, match="reload the journey list"):
        save(seeded_db, named(journey_document, "win back"), 1)
    assert stored(seeded_db, journey_document.journey.id).document == journey_document
    assert stored(seeded_db, journey_document.journey.id).version == 1
    # Its own name in other capitals is no clash.
    assert save(seeded_db, named(journey_document, "TRIAL TO PAID"), 1) == 2


def test_concurrent_creations_of_one_name_only_one_wins(
    db_url: str, account_data: AccountData, store_account_into: StoreAccount
) -> None:
    """B's “same” waits for A's open transaction holding “Same”, then is refused."""
    with Database(db_url) as window_a, Database(db_url) as window_b:
        store_account_into(window_a, account_data)
        outcome: list[BaseException | int] = []

        def save_b() -> None:
            try:
                outcome.append(save(window_b, empty_journey("same"), None))
            except BaseException as exc:  # handed back to the test thread
                outcome.append(exc)

        with window_a.transaction() as session:
            JourneyRepository(session).save(empty_journey("Same"), None)
            thread = threading.Thread(target=save_b)
            thread.start()
            thread.join(timeout=0.5)
            assert thread.is_alive(), f"B did not wait for A's transaction: {outcome}"
        thread.join(timeout=15)
        assert not thread.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], ConflictError), outcome
        with window_a.transaction() as session:
            assert [j.name for j in JourneyRepository(session).list()] == ["Same"]


# ---------------------------------------------------------------------- deleting


def test_delete_removes_the_journey_and_all_its_rows(
    seeded_db: Database, journey_document: JourneyDocument, make_journey: MakeJourney
) -> None:
    other = make_journey("Win back")
    save(seeded_db, journey_document, None)
    save(seeded_db, other, None)
    journey_id = journey_document.journey.id
    with seeded_db.transaction() as session:
        JourneyRepository(session).delete(journey_id, 1)
    assert get(seeded_db, journey_id) is None
    for row_type in (MilestoneRow, OutputRow, JourneyInputRow):
        assert count(seeded_db, row_type, journey_id=journey_id) == 0
    assert stored(seeded_db, other.journey.id).document == other


# ---------------------------------------------------------------------- refusals


def test_invalid_stored_criteria_is_a_data_error_naming_the_milestone(
    seeded_db: Database, journey_document: JourneyDocument
) -> None:
    save(seeded_db, journey_document, None)
    paid = by_name(journey_document, "Paid")
    with seeded_db.transaction() as session:
        session.execute(
            update(MilestoneRow)
            .where(MilestoneRow.id == paid.id)
            .values(definition={"clauses": [{"join": "and", "item": {"kind": "telepathy"}}]})
        )
    with pytest.raises(DataError) as refused:
        get(seeded_db, journey_document.journey.id)
    assert "“Paid”" in str(refused.value) and "“Trial to paid”" in str(refused.value)
    with pytest.raises(DataError, match="“Paid”"), seeded_db.transaction() as session:
        JourneyRepository(session).list()


def test_criteria_that_are_not_json_at_all_name_the_milestone(
    sqlite_db: Database,
    account_data: AccountData,
    journey_document: JourneyDocument,
    store_account_into: StoreAccount,
) -> None:
    """SQLite stores any text in a JSON column (PostgreSQL refuses it on write)."""
    store_account_into(sqlite_db, account_data)
    save(sqlite_db, journey_document, None)
    paid = by_name(journey_document, "Paid")
    with sqlite_db.engine.begin() as connection:
        connection.execute(
            text("UPDATE milestones SET definition = :bad WHERE id = :id"),
            {"bad": "{clauses: oops", "id": paid.id},
        )
    with pytest.raises(DataError, match=r"“Paid”.*not valid JSON"):
        get(sqlite_db, journey_document.journey.id)


def test_a_journey_needs_the_account_first(db: Database, journey_document: JourneyDocument) -> None:
    with pytest.raises(DataError, match="before the account"):
        save(db, journey_document, None)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(JourneyRow)) == 0


def test_references_the_database_lacks_are_refused(
    seeded_db: Database, journey_document: JourneyDocument
) -> None:
    journey = journey_document.journey
    unknown_input = journey_document.model_copy(
        update={"journey": journey.model_copy(update={"input_ids": ("nope",)})}
    )
    # The window knew the input: another one removed it since, so reloading is the way out.
    with pytest.raises(ConflictError, match=r"inputs are not in this database any more .*reload"):
        save(seeded_db, unknown_input, None)
    unknown_connection = journey_document.model_copy(
        update={
            "outputs": (journey_document.outputs[0].model_copy(update={"connection_id": "nope"}),)
        }
    )
    with pytest.raises(ConflictError, match="connections"):
        save(seeded_db, unknown_connection, None)
    assert get(seeded_db, journey.id) is None


def test_a_broken_tree_is_refused_before_anything_is_written(
    seeded_db: Database, journey_document: JourneyDocument
) -> None:
    orphan = Milestone(name="Orphan", parent_id="missing")
    broken = journey_document.model_copy(
        update={"milestones": (*journey_document.milestones, orphan)}
    )
    with pytest.raises(DataError, match="Orphan"):
        save(seeded_db, broken, None)
    assert get(seeded_db, journey_document.journey.id) is None


def test_milestone_ids_belong_to_one_journey(
    seeded_db: Database, journey_document: JourneyDocument
) -> None:
    save(seeded_db, journey_document, None)
    copy = journey_document.model_copy(update={"journey": Journey(name="Copy"), "outputs": ()})
    with pytest.raises(DataError, match="another journey"):
        save(seeded_db, copy, None)
    assert count(seeded_db, JourneyRow) == 1


def test_repository_works_on_a_callers_session(
    seeded_db: Database, journey_document: JourneyDocument, make_journey: MakeJourney
) -> None:
    """Several repository calls share one transaction; a failure rolls all of them back."""
    second = make_journey("Second")
    with pytest.raises(ConflictError), seeded_db.transaction() as session:
        repo = JourneyRepository(session)
        repo.save(journey_document, None)
        repo.save(second, None)
        assert {j.id for j in repo.list()} == {journey_document.journey.id, second.journey.id}
        repo.save(second, 7)
    with seeded_db.transaction() as session:
        assert JourneyRepository(session).list() == []


def test_reads_after_writes_in_one_transaction_see_the_writes(
    seeded_db: Database, journey_document: JourneyDocument
) -> None:
    paid = by_name(journey_document, "Paid")
    edited = edit(journey_document, lambda g: g.rename_milestone(paid.id, "Customer"))
    with seeded_db.transaction() as session:
        repo = JourneyRepository(session)
        repo.save(journey_document, None)
        first = repo.get(journey_document.journey.id)
        assert first is not None and first.version == 1
        assert repo.save(edited, first.version) == 2
        second = repo.get(edited.journey.id)
        assert second is not None and (second.version, second.document) == (2, edited)
        repo.delete(edited.journey.id, 2)
        assert repo.get(edited.journey.id) is None and repo.list() == []
