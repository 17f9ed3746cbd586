"""The bulk-write side of the event store: the only code that writes the event tables.

Importers hand over *records* (one mParticle batch, one Segment call, one CSV
row) already validated and normalised; :meth:`EventWriter.write` stores a chunk
of them in one transaction, so a chunk is committed whole or not at all and a
record is never half stored.

Speed matters (millions of events per import), so the writer works with
SQLAlchemy Core on one connection: ``executemany`` inserts of plain dicts with
bound parameters, a cache from external user id to surrogate id so users are
looked up once per import rather than once per event, and caches of the
identities and attributes last written so unchanged values are not rewritten.
JSON values arrive already serialised (orjson) and go into the JSON columns as
text through a write-only view of the tables, which also stores SQL NULL (not
the JSON text ``null``) where an event has no attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from typing import Any
from typing import cast as cast_type

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Double,
    Insert,
    Integer,
    MetaData,
    RootTransaction,
    String,
    Table,
    Text,
    TypeDecorator,
    and_,
    bindparam,
    case,
    cast,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import UpdateBase

from app.core.errors import StudioError
from app.store.catalogue import add_counted, catalogued_up_to, refresh_catalogue
from app.store.chunk_summaries import (
    INPUT_COLUMNS,
    PLACE_COLUMNS,
    PLATFORM_COLUMNS,
    ChunkSummaries,
    events_after,
    upsert_statements,
)
from app.store.database import Database
from app.store.event_numbers import STORED_EVENT_COLUMNS, InputNumbers
from app.store.event_staging import PART_SCHEMA, EventStaging
from app.store.event_summaries import (
    advance_mark,
    newest_event_id,
    refresh_summaries,
    summarised_up_to,
)
from app.store.event_tables import (
    EventRow,
    ImportedBatchRow,
    UserIdentityRow,
    UserRow,
)
from app.store.incoming import ATTRIBUTE_VALUE_FIELDS, IncomingRecord, UserRef
from app.store.last_values import LastValues
from app.store.multirow import MultiRowInsert, values_groups
from app.store.profile_staging import ProfileStaging
from app.store.schema import InputRow
from app.store.sqlite_binding import bind_none_directly
from app.store.staged_events import StagedPart, catalogue_counts_of_events

#: Values per ``IN (…)`` list: far below every backend's bound-parameter limit.
IN_LIST_SIZE = 500

#: Entries kept in each cache before it is cleared (bounds memory on huge imports:
#: the caches, not the file, decide how much memory an import takes). With 100,000
#: (and 200,000 remembered profiles) 6M events peaked at 327 MB for both processes,
#: over the 300 MB budget; with 50,000 and 100,000, at 268 MB, no slower.
CACHE_LIMIT = 50_000
#: Identities and attribute values remembered as stored (skips rewriting unchanged ones).
VALUE_CACHE_LIMIT = 20_000
#: Users whose last stored profile fingerprint is remembered (about 100 bytes each;
#: see CACHE_LIMIT); past it the memory starts over (a forgotten user's profile is
#: stored again: correct, only slower).
PROFILE_LIMIT = 100_000

#: SQLite page cache during an import (KiB, negative per SQLite's convention): the
#: events indexes are updated at random places, and a larger cache keeps more of them
#: in memory. 16 MiB: 32 MiB cost 20 MB more at the import's peak for no measurable
#: gain once the pages are 16 KiB (see app/store/database.py).
SQLITE_IMPORT_CACHE_KIB = 16_384
#: Staged events moved into the table before the commit once there are this many: a
#: sorted run this long already touches few index pages per event, and the move (a
#: long call that lets a pipeline's parser run) comes twice per default chunk, short
#: enough for the parts queued meanwhile (see app/ingest/importer.py). Per 1M events
#: (200,000-event chunks): 50,000 took ~0.4 s more, 200,000 left the parser waiting;
#: half the default chunk measured best (75,000 was slower).
MOVE_AFTER_EVENTS = 125_000
#: Staged events moved while the writer waits for the next part (see
#: :meth:`EventWriter.while_waiting`).
MOVE_WHILE_WAITING_EVENTS = 50_000
#: WAL pages between checkpoints during an import (default 1,000): index pages that
#: every chunk touches are copied back to the database file once, not after each chunk.
SQLITE_IMPORT_CHECKPOINT_PAGES = 20_000


_users = cast_type(Table, UserRow.__table__)
_identities = cast_type(Table, UserIdentityRow.__table__)
_batches = cast_type(Table, ImportedBatchRow.__table__)
_inputs = cast_type(Table, InputRow.__table__)

class _SerialisedJSON(TypeDecorator[str]):
    """JSON text bound as text and cast to JSON in SQL (PostgreSQL types its parameters)."""

    impl = Text
    cache_ok = True

    def bind_expression(self, bindvalue: Any) -> Any:
        return cast(bindvalue, JSON)


def _views(json_type: Any) -> tuple[Table, Table]:
    """Write-only views of ``events`` and ``user_attributes`` with JSON columns as text.

    Values serialised once by orjson are stored as they are, and ``None`` stays
    SQL NULL (SQLAlchemy's JSON type would store the JSON text ``null``).
    """
    view = MetaData()
    events = Table(
        "events", view,
        Column("id", BigInteger, primary_key=True),
        Column("user_id", BigInteger), Column("input_no", Integer), Column("ts_ms", BigInteger),
        Column("type_code", Integer), Column("event_name", String),
        Column("custom_event_type", String), Column("commerce_action", String),
        Column("amount", Double), Column("attributes", json_type), Column("country", String),
        Column("region", String), Column("city", String), Column("postal_code", String),
        Column("platform", String), Column("message_id", String),
    )
    attributes = Table(
        "user_attributes", view,
        Column("user_id", BigInteger, primary_key=True),
        Column("name", String, primary_key=True),
        Column("value_type", String), Column("text_value", String),
        Column("number_value", Double), Column("bool_value", Boolean),
        Column("date_ms", BigInteger), Column("list_value", json_type),
    )
    return events, attributes


_SQLITE_VIEWS = _views(Text)  # SQLite stores JSON as text anyway
# imported_at arrives already in SQLite's text form (see EventWriter._batch_stamp).
_SQLITE_BATCHES = Table("imported_batches", MetaData(), Column("input_id", String),
                        Column("batch_key", String), Column("imported_at", String))
_TYPED_VIEWS = _views(_SerialisedJSON)
_events_read = cast_type(Table, EventRow.__table__)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one chunk did: records and events stored or skipped as already stored."""

    records_imported: int = 0
    records_duplicated: int = 0
    events_imported: int = 0
    events_duplicated: int = 0
    users_created: int = 0

    def __add__(self, other: WriteResult) -> WriteResult:
        """Both results together (the parts of one chunk)."""
        return WriteResult(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


class UnknownInputError(StudioError):
    """The import names an input that is not in the account."""


class EventWriter:
    """Writes chunks of records on one connection; use as a context manager.

    On SQLite the connection runs with ``synchronous=NORMAL`` (safe with WAL: a
    crash of the program loses nothing committed; only a power cut can lose the
    last transactions), a larger page cache and less frequent WAL checkpoints
    while the writer is open; all three are restored on close. Foreign keys stay
    enforced and every chunk is a real transaction: nothing unsafe is deferred.
    """

    def __init__(self, database: Database, *,
                 others_may_run: Callable[[], AbstractContextManager[None]] = nullcontext
                 ) -> None:
        """``others_may_run`` wraps the writer's long database calls (moving a part's
        events in, committing): a pipeline lets its parsing thread run meanwhile."""
        self._connection: Connection = database.engine.connect()
        self._others_may_run = others_may_run
        self._staging: EventStaging | None = None
        self._profile_staging: ProfileStaging | None = None
        self._dialect = self._connection.dialect.name
        self._restore: list[tuple[str, Any]] = []
        self._user_ids: dict[str, int] = {}
        self._lookup_keys: set[str] = set()
        """The keys of ``_user_ids`` that are identities (see :func:`_lookup_key`)."""
        self._seen: dict[int, tuple[int | None, int | None]] = {}
        self._identity_cache: dict[tuple[int, str], str] = {}
        self._attribute_cache: dict[tuple[int, str], tuple[Any, ...] | None] = {}
        self._profiles = LastValues(PROFILE_LIMIT)
        self._transaction: RootTransaction | None = None
        self._span: dict[int, tuple[int, int]] = {}
        self._chunk_messages: dict[str, set[str]] = {}
        self._summaries = ChunkSummaries()
        self._counted: list[list[tuple[Any, ...]]] = []
        """The data catalogue's counts of the chunk's staged parts (counted as parsed)."""
        self._counted_events = 0
        self._count_by_reading = False
        """The chunk has events whose catalogue counts are read back from the table."""
        self._summary_upserts = upsert_statements(self._dialect)
        self._compiled: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {}
        self._multirow: dict[str, MultiRowInsert] = {}
        self._claims: dict[int, tuple[Insert, str, list[str] | None]] = {}
        self._events_w, self._attributes_w = (
            _SQLITE_VIEWS if self._dialect == "sqlite" else _TYPED_VIEWS)
        self._attribute_upsert = _upsert_statement(
            self._dialect, self._attributes_w, ATTRIBUTE_COLUMNS[:2], ATTRIBUTE_COLUMNS[2:])
        self._identity_upsert = _upsert_statement(
            self._dialect, _identities, IDENTITY_COLUMNS[:2], IDENTITY_COLUMNS[2:])
        self._input_numbers = InputNumbers(self._connection)
        self._insert_events = insert(self._events_w).values(
            {c: bindparam(c) for c in STORED_EVENT_COLUMNS})
        batches = _SQLITE_BATCHES if self._dialect == "sqlite" else _batches
        self._insert_batches = insert(batches).values(
            {c: bindparam(c) for c in ("input_id", "batch_key", "imported_at")})
        if self._dialect == "sqlite":
            self._tune_sqlite()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Restore the connection's settings and give it back to the pool."""
        try:
            self._roll_back()
            if self._connection.in_transaction():
                self._connection.rollback()
            for pragma, value in self._restore:
                self._set_pragma(pragma, value)
            if self._profile_staging is not None:
                self._profile_staging.drop()
            if self._staging is not None:
                self._staging.drop()
            self._connection.commit()
        finally:
            self._connection.close()

    def _tune_sqlite(self) -> None:
        for pragma, value in (("synchronous", 1), ("cache_size", -SQLITE_IMPORT_CACHE_KIB),
                              ("wal_autocheckpoint", SQLITE_IMPORT_CHECKPOINT_PAGES)):
            previous = self._connection.exec_driver_sql(f"PRAGMA {pragma}").scalar()
            self._restore.append((pragma, previous))
            self._set_pragma(pragma, value)
        bind_none_directly()
        self._staging = EventStaging(self._connection, STORED_EVENT_COLUMNS)
        self._profile_staging = ProfileStaging(self._connection, PART_SCHEMA)
        self._connection.commit()

    def _set_pragma(self, pragma: str, value: Any) -> None:
        # Pragmas take no bound parameters; names and values here are constants of
        # this module or integers SQLite itself reported, never input.
        self._connection.exec_driver_sql(f"PRAGMA {pragma}={int(value):d}")

    # ------------------------------------------------------------------ reading

    def input_platform(self, input_id: str) -> str | None:
        """The platform of ``input_id`` (None for partner feeds); raises if unknown."""
        row = self._connection.execute(
            select(_inputs.c.platform).where(_inputs.c.id == input_id)
        ).first()
        self._connection.commit()
        if row is None:
            raise UnknownInputError(f"There is no input with id “{input_id}” in this account.")
        return cast_type("str | None", row[0])

    # ------------------------------------------------------------------ writing

    def write(self, input_id: str, records: Sequence[IncomingRecord]) -> WriteResult:
        """Store ``records`` through ``input_id`` in one transaction.

        Records whose key is already stored for the input (or repeated in the
        chunk) are skipped as duplicates; so are events whose ``message_id`` is.
        Raises (and stores nothing of the chunk) on a database error.
        """
        result = self.write_part(input_id, records)
        self.commit()
        return result

    def write_part(self, input_id: str, records: Sequence[IncomingRecord] | StagedPart
                   ) -> WriteResult:
        """Store ``records`` as part of the open chunk (opening one); :meth:`commit` ends it.

        A chunk's parts are one transaction: a commit makes them all durable at
        once, an error (raised here or by :meth:`commit`) or :meth:`close` rolls
        them all back. Writing a chunk in parts lets an importer hold a few
        thousand records in memory while each commit covers many more events: a
        commit writes every index page the chunk touched, so fewer, larger
        commits write each page fewer times.

        A :class:`~app.store.staged_events.StagedPart` (SQLite only: see
        :attr:`takes_staged_parts`) brings its events already staged.
        """
        try:
            if self._transaction is None:
                self._transaction = self._connection.begin()
            if isinstance(records, StagedPart):
                return self._write_staged(input_id, records)
            return self._write(input_id, records)
        except BaseException:
            self._roll_back()
            raise

    def commit(self) -> None:
        """Finish the open chunk: users' first/last-seen times, summaries and the data
        catalogue (app/store/catalogue.py), then the commit."""
        if self._transaction is None:
            return
        try:
            self._move_staged()
            self._write_seen(self._span)
            self._fold_summaries()
            self._fold_catalogue()
            with self._others_may_run():
                self._transaction.commit()
        except BaseException:
            self._roll_back()
            raise
        self._end_chunk()

    def while_waiting(self) -> None:
        """Work ahead while no part is waiting (the parser is behind the writer).

        Moves the staged events into the table once there are
        :data:`MOVE_WHILE_WAITING_EVENTS`: the move would come anyway (at
        :data:`MOVE_AFTER_EVENTS` or the commit), and made now it no longer
        waits for the last part of the import, when nothing else runs.
        """
        try:
            self._move_staged(at_least=MOVE_WHILE_WAITING_EVENTS)
        except BaseException:
            self._roll_back()
            raise

    def _move_staged(self, *, at_least: int = 0) -> None:
        """Move the staged events into ``events`` (SQLite) if at least ``at_least`` wait."""
        staging = self._staging
        if staging is not None and staging.staged >= at_least:
            staging.move(self._others_may_run)

    def _end_chunk(self) -> None:
        if self._staging is not None:
            self._staging.staged = 0  # moved, or rolled back with the transaction
        self._transaction = None
        self._span = {}
        self._chunk_messages.clear()
        self._summaries.clear()
        self._counted.clear()
        self._counted_events = 0
        self._count_by_reading = False

    def _roll_back(self) -> None:
        """Undo the open chunk and forget what the caches learnt (they may name its rows)."""
        if self._transaction is not None:
            self._transaction.rollback()  # also ends one a failed statement deactivated
        self._summaries.forget()
        self._end_chunk()
        for cache in (self._user_ids, self._lookup_keys, self._seen, self._identity_cache,
                      self._attribute_cache, self._profiles):
            cache.clear()
        self._input_numbers.forget()

    def _write(self, input_id: str, records: Sequence[IncomingRecord]) -> WriteResult:
        fresh = self._new_records(input_id, records)
        duplicated_records = len(records) - len(fresh)
        events_duplicated = self._drop_stored_messages(input_id, fresh)
        users_created = self._resolve_users(fresh)
        user_of = [self._user_id(r.user) for r in fresh]

        event_rows: list[tuple[Any, ...]] = []
        for record, user_id in zip(fresh, user_of, strict=True):
            events = record.events
            if events:
                event_rows.extend([(user_id, *event) for event in events])
                times = [event.ts_ms for event in events]
                self._widen_span(user_id, min(times), max(times))

        stored_rows = self._input_numbers.stored_rows(event_rows)
        if self._staging is not None:
            # Moved into events in time order at the commit (or once many are staged).
            self._staging.stage(stored_rows)
            self._move_staged(at_least=MOVE_AFTER_EVENTS)
        else:
            # In time order the rows reach the two (name|type, time, user) indexes at
            # a few advancing places instead of all over them: fewer pages are touched
            # (and written at the commit), and the ones touched are warm.
            stored_rows.sort(key=_BY_TIME)
            self._execute_rows("insert events", self._insert_events, STORED_EVENT_COLUMNS,
                               stored_rows)
        self._summaries.add(event_rows)
        if event_rows:
            self._counted.append(catalogue_counts_of_events(event_rows))
            self._counted_events += len(event_rows)
        self._write_profiles(fresh, user_of)
        return WriteResult(
            records_imported=len(fresh),
            records_duplicated=duplicated_records,
            events_imported=len(event_rows),
            events_duplicated=events_duplicated,
            users_created=users_created,
        )

    def _write_staged(self, input_id: str, part: StagedPart) -> WriteResult:
        """:meth:`_write` for a part whose events and profiles come staged (SQLite only)."""
        assert self._staging is not None and self._profile_staging is not None, \
            "staged parts are for SQLite"
        self._staging.load_part(part.database)
        fresh = self._fresh_staged(input_id, part.keys)
        external_ids = part.external_ids
        self._bound_user_cache()
        users_created = self._ensure_users({external_ids[i] for i in fresh})
        user_ids = self._user_ids
        facts, fingerprints, profiled = part.facts, part.fingerprints, part.profiled
        numbers = part.numbers  # a record's number in the part's tables
        with_events: list[tuple[int, int]] = []
        chosen: list[tuple[int, int]] = []
        unstaged: list[tuple[int, str, int]] = []
        summaries = self._summaries
        for index in fresh:
            external_id = external_ids[index]
            user_id = user_ids[external_id]
            known = facts[index]
            if known is not None:
                count, first_ms, last_ms = known
                with_events.append((numbers[index], user_id))
                self._widen_span(user_id, first_ms, last_ms)
                summaries.count_staged(count)
            fingerprint = fingerprints[index]
            if fingerprint is not None:
                if not self._profiles.changed(user_id, fingerprint):
                    continue
                if index not in profiled:
                    unstaged.append((user_id, external_id, fingerprint))
                    continue
            if index in profiled:
                chosen.append((numbers[index], user_id))
        events = self._staging.stage_part(with_events)
        if len(fresh) == len(part):  # every event of the part is stored: its counts hold
            self._counted.append(part.catalogue)
            self._counted_events += events
        elif events:
            self._count_by_reading = True
        self._staging.fold_summaries()
        self._move_staged(at_least=MOVE_AFTER_EVENTS)
        self._store_staged_profiles(part, set(fresh), chosen, unstaged)
        return WriteResult(
            records_imported=len(fresh),
            records_duplicated=len(part) - len(fresh),
            events_imported=events,
            users_created=users_created,
        )

    def _store_staged_profiles(self, part: StagedPart, fresh: set[int],
                               chosen: list[tuple[int, int]],
                               unstaged: list[tuple[int, str, int]]) -> None:
        """Store a staged part's profiles: ``chosen`` (record number, user) staged, ``unstaged``
        (user, external id, fingerprint) not; ``fresh`` holds the indexes of new records.

        An unstaged profile was staged with an earlier record of the user: stored
        then, or kept aside if that record was a duplicate (see
        app/store/profile_staging.py). So first the duplicates' profiles are kept,
        then the kept ones are stored where needed, then the part's own: a
        record without rows always comes before its user's next staged change.
        """
        assert self._profile_staging is not None
        staging = self._profile_staging
        latest: dict[str, tuple[int, str, int]] = {}
        for index in sorted(part.profiled - fresh):
            fingerprint = part.fingerprints[index]
            if fingerprint is not None:  # a profile without one is never looked for again
                external_id = part.external_ids[index]
                latest[external_id] = (part.numbers[index], external_id, fingerprint)
        staging.keep(list(latest.values()))
        stored = any([staging.store_kept(*unstaged_profile) for unstaged_profile in unstaged])
        staging.store(chosen)
        if stored or chosen:
            self._forget_profile_values()

    def _forget_profile_values(self) -> None:
        """Profiles were stored in SQL: what the Python caches remember may be stale.

        The cached identities and attribute values no longer say what is stored,
        and an identity may now name another user than the one looked up by it.
        """
        self._identity_cache.clear()
        self._attribute_cache.clear()
        for key in self._lookup_keys:
            self._user_ids.pop(key, None)
        self._lookup_keys.clear()

    @property
    def takes_staged_parts(self) -> bool:
        """Whether :meth:`write_part` takes a :class:`~app.store.staged_events.StagedPart`."""
        return self._staging is not None

    def _widen_span(self, user_id: int, low: int, high: int) -> None:
        """Note that the chunk has events of ``user_id`` from ``low`` to ``high``."""
        widest = self._span.get(user_id)
        self._span[user_id] = (low, high) if widest is None else (
            min(low, widest[0]), max(high, widest[1]))

    def _write_profiles(self, fresh: list[IncomingRecord], user_of: list[int]) -> None:
        """Store the identities and attributes of ``fresh`` records, once per change."""
        identities: dict[tuple[int, str], str] = {}
        attributes: dict[tuple[int, str], dict[str, Any] | None] = {}
        for record, user_id in zip(fresh, user_of, strict=True):
            # Every mParticle batch repeats the user's profile: store it once a change.
            fingerprint = record.profile
            if fingerprint is not None and not self._profiles.changed(user_id, fingerprint):
                continue
            for kind, value in record.identities.items():
                identities[(user_id, kind)] = value
                # The identity may now belong to this user: look it up afresh next time.
                self._user_ids.pop(_lookup_key((kind, value)), None)
            for name, row in record.attributes.items():
                attributes[(user_id, name)] = row
        self._write_identities(identities)
        self._write_attributes(attributes)

    def _fold_summaries(self) -> None:
        """Bring the per-user summaries up to date with the chunk, before it commits.

        When the events beyond the summaries' mark are exactly this chunk's, the
        rows gathered while writing are folded in and the mark moves past them
        (what :func:`refresh_summaries` would do, without reading the events
        back); otherwise (someone added events without refreshing) the refresh
        does it all.
        """
        summaries = self._summaries
        if summaries.events == 0:
            return
        mark = summarised_up_to(self._connection)
        if events_after(self._connection, mark) != summaries.events:
            refresh_summaries(self._connection)
            return
        for name, statement, columns, rows in zip(
            ("user_inputs", "user_platforms", "user_places"), self._summary_upserts,
            (INPUT_COLUMNS, PLATFORM_COLUMNS, PLACE_COLUMNS), summaries.rows(), strict=True,
        ):
            self._execute_rows(f"upsert {name}", statement, columns, rows)
        advance_mark(self._connection, newest_event_id(self._connection))

    def _fold_catalogue(self) -> None:
        """Bring the data catalogue up to date with the chunk, before it commits.

        The chunk's events are counted as they come: a staged part whose every
        record is new brings the counts the parsing process made
        (app/store/staged_events.py), other parts are counted here from their
        rows. The counts are added when the events beyond the catalogue's mark
        are exactly the chunk's. Otherwise (a staged part had duplicates left
        out, events were added some other way) they are read back from the
        events (``refresh_catalogue``).
        """
        connection = self._connection
        if self._count_by_reading or not self._counted:
            refresh_catalogue(connection)
            return
        if events_after(connection, catalogued_up_to(connection)) != self._counted_events:
            refresh_catalogue(connection)
            return
        add_counted(connection, chain.from_iterable(self._counted), newest_event_id(connection))

    def _batch_stamp(self) -> Any:
        """The import time for ``imported_batches``, in the form the driver takes.

        On SQLite that is the text SQLAlchemy's DATETIME stores (UTC, no offset).
        """
        now = datetime.now(UTC)
        return now.strftime("%Y-%m-%d %H:%M:%S.%f") if self._dialect == "sqlite" else now

    # ------------------------------------------------------------------ de-duplication

    def _new_records(
        self, input_id: str, records: Sequence[IncomingRecord]
    ) -> list[IncomingRecord]:
        """The records whose key is neither stored for the input nor repeated in the chunk."""
        return [records[i] for i in self._fresh_positions(input_id, [r.key for r in records])]

    def _fresh_positions(self, input_id: str, keys: Sequence[str | None]) -> list[int]:
        """The positions of the records whose key is new (see :meth:`_new_records`).

        On SQLite and PostgreSQL the keys are claimed at once: one multi-row
        ``INSERT … ON CONFLICT DO NOTHING RETURNING batch_key`` per part both stores
        the new keys and names them (the transaction makes the claim whole with the
        records' rows). Other backends look the keys up, then insert the new ones.
        """
        distinct = sorted({key for key in keys if key is not None})
        new: set[str] = set()
        if self._dialect in ("sqlite", "postgresql"):
            if distinct:
                stamp = self._batch_stamp()
                for part in _few_sized_parts(distinct):
                    new.update(self._claim(input_id, part, stamp))
            return _first_of_new(keys, new)
        new.update(distinct)
        column = _batches.c.batch_key
        for part in _parts(distinct):
            new.difference_update(self._connection.execute(
                select(column).where(_batches.c.input_id == input_id, column.in_(part))
            ).scalars())
        fresh = _first_of_new(keys, new)
        stamp = self._batch_stamp()
        self._execute_many("insert batches", self._insert_batches, [
            {"input_id": input_id, "batch_key": keys[i], "imported_at": stamp}
            for i in fresh if keys[i] is not None])
        return fresh

    def _fresh_staged(self, input_id: str, keys: list[str | None]) -> list[int]:
        """:meth:`_fresh_positions` for a staged part: its keys are claimed from its database.

        Binding the keys was the parsing process's work. Usually every key is new
        (a first import): then the count says so and no key is read back.
        """
        assert self._staging is not None
        claimed, before = self._staging.claim_keys(input_id, self._batch_stamp())
        new = {key for key in keys if key is not None}
        if claimed != len(new):
            new = self._staging.keys_claimed_after(before)
        return _first_of_new(keys, new)

    def _claim(self, input_id: str, keys: list[str], stamp: Any) -> list[str]:
        """Insert ``keys`` into ``imported_batches`` unless stored; returns the ones inserted.

        One statement per number of keys, built once per writer (parts come in a
        handful of sizes, see :func:`_few_sized_parts`), with bound parameters only.
        """
        size = len(keys)
        compiled = self._claims.get(size)
        if compiled is None:
            sqlite_dialect = self._dialect == "sqlite"
            batches = _SQLITE_BATCHES if sqlite_dialect else _batches
            module = sqlite if sqlite_dialect else postgresql
            statement = module.insert(batches).values([
                {"input_id": bindparam("input_id"), "batch_key": bindparam(f"k{i}"),
                 "imported_at": bindparam("stamp")} for i in range(size)
            ]).on_conflict_do_nothing(index_elements=["input_id", "batch_key"]).returning(
                batches.c.batch_key)
            sql = statement.compile(dialect=self._connection.dialect)
            order = sql.positiontup if sqlite_dialect else None
            compiled = self._claims[size] = (statement, str(sql), order)
        statement, text, order = compiled
        values: dict[str, Any] = {f"k{i}": key for i, key in enumerate(keys)}
        values["input_id"], values["stamp"] = input_id, stamp
        if order is not None:
            # SQLite: run as compiled, with positional parameters, on the driver's own
            # connection (same transaction): SQLAlchemy's row processing would cost
            # more than the claim itself.
            driver = self._connection.connection.driver_connection
            assert driver is not None
            rows = driver.execute(text, tuple(values[name] for name in order)).fetchall()
            return [row[0] for row in rows]
        return list(self._connection.execute(statement, values).scalars())

    def _drop_stored_messages(self, input_id: str, records: list[IncomingRecord]) -> int:
        """Remove events whose ``message_id`` the input already has; returns how many."""
        ids = {e.message_id for r in records for e in r.events if e.message_id is not None}
        if not ids:
            return 0
        # Events of the open chunk may not be in the table yet (see EventStaging).
        chunk_ids = self._chunk_messages.setdefault(input_id, set())
        input_no = self._input_numbers.number_of(input_id)
        stored: set[str] = ids & chunk_ids
        column = _events_read.c.message_id
        for part in _parts(sorted(ids - stored)):
            stored.update(self._connection.execute(
                select(column).where(_events_read.c.input_no == input_no, column.in_(part))
            ).scalars())
        dropped = 0
        for record in records:
            kept = []
            for event in record.events:
                message_id = event.message_id
                if message_id is not None:
                    if message_id in stored:
                        dropped += 1
                        continue
                    stored.add(message_id)
                    chunk_ids.add(message_id)
                kept.append(event)
            record.events = kept
        return dropped

    # ------------------------------------------------------------------ users

    def _user_id(self, user: UserRef) -> int:
        if user.lookup is not None:
            found = self._user_ids.get(_lookup_key(user.lookup))
            if found is not None:
                return found
        return self._user_ids[user.external_id]

    def _resolve_users(self, records: list[IncomingRecord]) -> int:
        """Put the surrogate id of every record's user in the cache; returns users created.

        A record that names its user only by an identity (``UserRef.lookup``) goes to
        the user an *earlier* record tied that identity to: earlier in this chunk, or
        already stored. Otherwise it gets a user of its own, named by the identity.
        Being order-aware, the outcome does not depend on where chunks are cut.
        """
        self._bound_user_cache()
        tied: dict[tuple[str, str], str] = {}
        to_find: dict[tuple[str, str], str] = {}  # identity → the record's own user name
        # Ties matter only to records named by an identity (none, in most files).
        by_identity = any(record.user.lookup is not None for record in records)
        for record in records if by_identity else ():
            user = record.user
            if user.lookup is not None and user.lookup in tied:
                record.user = user = UserRef(tied[user.lookup])
            if user.lookup is None:
                for pair in record.identities.items():
                    tied[pair] = user.external_id
            elif _lookup_key(user.lookup) not in self._user_ids:
                to_find[user.lookup] = user.external_id
        for pair, candidates in self._find_by_identity(set(to_find)).items():
            # Prefer a known user over the placeholder named after the identity itself
            # (made when the identity was first seen alone).
            named = [c for c in candidates if c[1] != to_find[pair]]
            key = _lookup_key(pair)
            self._user_ids[key] = (named or candidates)[0][0]
            self._lookup_keys.add(key)
        return self._ensure_users({
            r.user.external_id for r in records
            if r.user.lookup is None or _lookup_key(r.user.lookup) not in self._user_ids
        })

    def _bound_user_cache(self) -> None:
        """Start the user cache over once it holds :data:`CACHE_LIMIT` users (before a part)."""
        if len(self._user_ids) > CACHE_LIMIT:
            self._user_ids.clear()
            self._lookup_keys.clear()
            self._seen.clear()

    def _ensure_users(self, external_ids: set[str]) -> int:
        """Put the ids of the users named ``external_ids`` in the cache, creating the missing.

        Returns how many users were created.
        """
        wanted = external_ids - self._user_ids.keys()
        if not wanted:
            return 0
        self._load_users(wanted)
        missing = sorted(wanted - self._user_ids.keys())
        if not missing:
            return 0
        if self._dialect == "sqlite":
            # On the driver's connection (same transaction), many rows a statement, the
            # new ids coming back with the insert: SQLAlchemy's handling of each row and
            # a second lookup cost more than the insert itself.
            driver = self._connection.connection.driver_connection
            assert driver is not None
            for part in _few_sized_parts(missing):  # a few statement sizes, each prepared once
                created = driver.execute(
                    f"INSERT INTO users (external_id) VALUES {values_groups(1, len(part))} "
                    "ON CONFLICT (external_id) DO NOTHING RETURNING id, external_id", part)
                for user_id, external_id in created:
                    self._user_ids[external_id] = user_id
                    self._seen[user_id] = (None, None)
        else:
            self._connection.execute(
                _insert_ignoring(self._dialect, _users, ("external_id",)),
                [{"external_id": x} for x in missing])
        raced = set(missing) - self._user_ids.keys()  # another writer made them meanwhile
        if raced:
            self._load_users(raced)
        return len(missing)

    def _load_users(self, external_ids: set[str]) -> None:
        column = _users.c.external_id
        for part in _parts(sorted(external_ids)):
            rows = self._connection.execute(
                select(_users.c.id, column, _users.c.first_seen_ms, _users.c.last_seen_ms)
                .where(column.in_(part))
            )
            for user_id, external_id, first, last in rows:
                self._user_ids[external_id] = user_id
                self._seen[user_id] = (first, last)

    def _find_by_identity(
        self, pairs: set[tuple[str, str]]
    ) -> dict[tuple[str, str], list[tuple[int, str]]]:
        """Stored users holding each identity: (user id, external id), oldest user first."""
        found: dict[tuple[str, str], list[tuple[int, str]]] = {}
        by_kind: dict[str, list[str]] = {}
        for kind, value in pairs:
            by_kind.setdefault(kind, []).append(value)
        for kind, values in by_kind.items():
            for part in _parts(sorted(values)):
                rows = self._connection.execute(
                    select(_identities.c.value, _identities.c.user_id, _users.c.external_id)
                    .join(_users, _users.c.id == _identities.c.user_id)
                    .where(_identities.c.identity_type == kind, _identities.c.value.in_(part))
                    .order_by(_identities.c.user_id)
                )
                for value, user_id, external_id in rows:
                    found.setdefault((kind, value), []).append((user_id, external_id))
        return found

    def _write_seen(self, span: dict[int, tuple[int, int]]) -> None:
        """Widen each user's first/last-seen times to cover this chunk's events."""
        changes = []
        for user_id, (low, high) in span.items():
            first, last = self._seen.get(user_id, (None, None))
            new_first = low if first is None or low < first else first
            new_last = high if last is None or high > last else last
            if (new_first, new_last) != (first, last):
                self._seen[user_id] = (new_first, new_last)
                changes.append({"uid": user_id, "first": new_first, "last": new_last})
        # On SQLite through the compiled statement with tuples: a chunk of a stream
        # whose users interleave widens tens of thousands of users, and SQLAlchemy's
        # per-row parameter handling would cost more than the updates.
        self._execute_many("widen seen", _WIDEN_SEEN, changes)

    # ------------------------------------------------------------------ profile data

    def _write_identities(self, identities: dict[tuple[int, str], str]) -> None:
        cache = self._identity_cache
        if len(cache) > VALUE_CACHE_LIMIT:
            cache.clear()
        rows = []
        for key, value in identities.items():
            if cache.get(key) != value:
                cache[key] = value
                rows.append((*key, value))
        self._upsert_rows(_identities, self._identity_upsert, IDENTITY_COLUMNS, rows)

    def _write_attributes(self, attributes: dict[tuple[int, str], dict[str, Any] | None]
                          ) -> None:
        cache = self._attribute_cache
        if len(cache) > VALUE_CACHE_LIMIT:
            cache.clear()
        rows: list[tuple[Any, ...]] = []
        removed = []
        for key, row in attributes.items():
            signature = None if row is None else _attribute_values(row)
            if key in cache and cache[key] == signature:
                continue
            cache[key] = signature
            if signature is None:
                removed.append({"uid": key[0], "attribute": key[1]})
            else:
                rows.append((*key, *signature))
        if removed:
            self._connection.execute(
                delete(self._attributes_w).where(and_(
                    self._attributes_w.c.user_id == bindparam("uid"),
                    self._attributes_w.c.name == bindparam("attribute"),
                )),
                removed,
            )
        self._upsert_rows(self._attributes_w, self._attribute_upsert, ATTRIBUTE_COLUMNS, rows)

    def _upsert_rows(self, table: Table, statement: Insert | None, columns: Sequence[str],
                     rows: list[tuple[Any, ...]]) -> None:
        """Upsert ``rows`` (tuples in ``columns`` order, keyed by the first two columns).

        ``statement`` is the table's prepared upsert, or None on a backend without
        one (then :meth:`_upsert` deletes and inserts).
        """
        if not rows:
            return
        if statement is not None:
            self._execute_rows(f"upsert {table.name}", statement, columns, rows)
        else:
            self._upsert(table, columns[:2], columns[2:],
                         [dict(zip(columns, r, strict=True)) for r in rows])

    def _execute_rows(self, name: str, statement: UpdateBase, columns: Sequence[str],
                      rows: list[tuple[Any, ...]]) -> None:
        """Like :meth:`_execute_many` for rows that are tuples in ``columns`` order.

        On SQLite the statement (a one-row INSERT) runs many rows to a statement
        (see app/store/multirow.py).
        """
        if not rows:
            return
        if self._dialect != "sqlite":
            self._connection.execute(statement, [dict(zip(columns, r, strict=True))
                                                 for r in rows])
            return
        multirow = self._multirow.get(name)
        if multirow is None:
            sql = statement.compile(dialect=self._connection.dialect)
            assert sql.positiontup == list(columns), "statement parameters out of order"
            multirow = self._multirow[name] = MultiRowInsert(str(sql), len(columns))
        multirow.execute(self._connection, rows)

    def _execute_many(self, name: str, statement: UpdateBase, rows: list[dict[str, Any]]
                      ) -> None:
        """Run ``statement`` once per row with one ``executemany``.

        On SQLite the statement is compiled once per writer (it is a SQLAlchemy
        expression with bound parameters only) and run with tuples: building
        parameters through SQLAlchemy row by row costs more than SQLite spends
        storing the row. Other backends take the plain Core path.
        """
        if not rows:
            return
        if self._dialect != "sqlite":
            self._connection.execute(statement, rows)
            return
        compiled = self._compiled.get(name)
        if compiled is None:
            sql = statement.compile(dialect=self._connection.dialect)
            assert sql.positiontup is not None
            compiled = self._compiled[name] = (str(sql), itemgetter(*sql.positiontup))
        text, as_tuple = compiled
        self._connection.exec_driver_sql(text, list(map(as_tuple, rows)))

    def _upsert(
        self,
        table: Table,
        keys: Sequence[str],
        values: Sequence[str],
        rows: list[dict[str, Any]],
    ) -> None:
        """Insert rows, replacing the ``values`` columns of rows whose ``keys`` exist."""
        statement = _upsert_statement(self._dialect, table, keys, values)
        if statement is not None:
            self._execute_many(f"upsert {table.name}", statement, rows)
            return
        # Any other backend: delete what is there, then insert (same transaction).
        condition = and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
        self._connection.execute(
            delete(table).where(condition), [{f"k_{k}": row[k] for k in keys} for row in rows]
        )
        self._connection.execute(insert(table), rows)


_BY_TIME = itemgetter(2)  # ts_ms of a STORED_EVENT_COLUMNS row

# Values come from the writer's cache, which mirrors the stored row; the CASE keeps
# the widening correct even if another writer moved the row meanwhile.
_WIDEN_SEEN = update(_users).where(_users.c.id == bindparam("uid")).values(
    first_seen_ms=case(
        (_users.c.first_seen_ms.is_(None), bindparam("first")),
        (_users.c.first_seen_ms > bindparam("first"), bindparam("first")),
        else_=_users.c.first_seen_ms,
    ),
    last_seen_ms=case(
        (_users.c.last_seen_ms.is_(None), bindparam("last")),
        (_users.c.last_seen_ms < bindparam("last"), bindparam("last")),
        else_=_users.c.last_seen_ms,
    ),
)

ATTRIBUTE_COLUMNS = ("user_id", "name", *ATTRIBUTE_VALUE_FIELDS)
"""The columns of a ``user_attributes`` row as the writer upserts it."""
IDENTITY_COLUMNS = ("user_id", "identity_type", "value")
"""The columns of a ``user_identities`` row as the writer upserts it."""
_attribute_values = itemgetter(*ATTRIBUTE_COLUMNS[2:])  # an IncomingRecord attribute's values


def _upsert_statement(dialect: str, table: Table, keys: Sequence[str], values: Sequence[str]
                      ) -> Insert | None:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET values, on the backends that have it."""
    if dialect not in ("sqlite", "postgresql"):
        return None
    module: Any = sqlite if dialect == "sqlite" else postgresql
    statement = module.insert(table).values({c: bindparam(c) for c in (*keys, *values)})
    result: Insert = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in values})
    return result


def _lookup_key(pair: tuple[str, str]) -> str:
    """The cache key of a user found by identity (cannot clash with an external id)."""
    return f"\x00{pair[0]}\x00{pair[1]}"


def _insert_ignoring(dialect: str, table: Table, keys: Iterable[str]) -> Insert:
    """An INSERT that skips rows whose ``keys`` already exist (another writer raced us)."""
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    return insert(table)


def _first_of_new(keys: Sequence[str | None], new: set[str]) -> list[int]:
    """The positions of the records to store: those without a key, and the first of
    each key in ``new`` (a key repeated in the part is stored once); takes those out of ``new``."""
    fresh: list[int] = []
    for position, key in enumerate(keys):
        if key is not None:
            if key not in new:
                continue
            new.discard(key)
        fresh.append(position)
    return fresh


def _few_sized_parts(values: list[str]) -> Iterator[list[str]]:
    """``values`` in parts of ``IN_LIST_SIZE``, the rest in parts of powers of two.

    Every part size is one of a few (500, 256, 128, … 1), so the multi-row
    statements built for them are few and reused for the whole import.
    """
    start = 0
    while len(values) - start >= IN_LIST_SIZE:
        yield values[start:start + IN_LIST_SIZE]
        start += IN_LIST_SIZE
    size = 1 << (IN_LIST_SIZE.bit_length() - 1)
    while start < len(values):
        if len(values) - start >= size:
            yield values[start:start + size]
            start += size
        size >>= 1


def _parts(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), IN_LIST_SIZE):
        yield values[start:start + IN_LIST_SIZE]
