"""The application service: one facade that the GUI and the command line share.

A :class:`Studio` opens a database, loads the account and its journeys into an
:class:`~app.core.account.AccountState`, and applies edit commands: the
command changes the in-memory state, then everything it touched is written in
one transaction. If writing fails at any step up to the commit (another window
saved first, the server went away), the command is reverted in memory too and a
StudioError says so; work after the commit (forgetting a deleted journey's
memberships) can't undo a stored edit, and what it could not do is tried again
after the next save. So what is shown is what is stored.

Rules that span the account hold between windows and processes too, each of
which checks its edits against its own copy: journeys and the account row are
versioned (a stale save is refused), journey names are unique in the store, and
an edit that activates audiences or sets the limit asks core's limit rule again,
inside its transaction, of the account as stored with the edit applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from app.core import journey_file
from app.core.ab_tests import Comparison
from app.core.account import (
    AccountState,
    check_stored_limit,
    connection_in_use_message,
    input_in_use_message,
    journey_name_key,
    workspace_not_empty_message,
)
from app.core.catalogue import Catalogue
from app.core.commands import Command
from app.core.criteria import AudienceDefinition
from app.core.errors import (
    ConflictError,
    DataError,
    JourneyRuleError,
    NotFoundError,
    StudioError,
)
from app.core.graph import JourneyGraph
from app.core.history import SizePoint
from app.core.models import Account, Connection, Input, JourneyDocument, Milestone, Workspace
from app.lazy import lazy_exports
from app.store.database import Database, busy_as_studio_error, default_database_url
from app.store.repositories import AccountRepository, JourneyRepository

# The audience engine and the importers are imported where they are first used: opening
# the window needs neither, and importing them costs a few tenths of a second (the first
# evaluation then loads the engine on its background thread).
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.core.overlap import ActiveAudience, OverlapReport
    from app.engine.estimates import AudienceEstimate
    from app.engine.evaluation import EvaluationResult
    from app.ingest.chunking import Rejection
    from app.ingest.demo_data import DEMO_INPUTS
    from app.ingest.importer import DEFAULT_CHUNK_SIZE, FORMATS, Format, ImportSummary, Progress
    from app.ingest.values import MIN_TIMESTAMP_MS
    from app.outputs.dispatcher import DispatchReport, RetryPolicy
    from app.outputs.probe import ProbeResult
    from app.store.deliveries import DeliveryRecord
    from app.store.outbox import OutputForwarding

# What the GUI and the command line need to know of the results and the words of the
# work behind this door, loaded on first use (PEP 562) for the reason above.
_WHERE: dict[str, str | None] = {
    "AudienceEstimate": "app.engine.estimates", "EvaluationResult": "app.engine.evaluation",
    "Rejection": "app.ingest.chunking", "DEMO_INPUTS": "app.ingest.demo_data",
    "DEFAULT_CHUNK_SIZE": "app.ingest.importer", "FORMATS": "app.ingest.importer",
    "Format": "app.ingest.importer", "ImportSummary": "app.ingest.importer",
    "Progress": "app.ingest.importer", "MIN_TIMESTAMP_MS": "app.ingest.values",
    "DispatchReport": "app.outputs.dispatcher", "RetryPolicy": "app.outputs.dispatcher",
    "DeliveryRecord": "app.store.deliveries", "OutputForwarding": "app.store.outbox",
    "ProbeResult": "app.outputs.probe",
}
__getattr__ = lazy_exports(__name__, _WHERE)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEMO_INPUTS",
    "FORMATS",
    "MIN_TIMESTAMP_MS",
    "AudienceEstimate",
    "DeliveryRecord",
    "DispatchReport",
    "EvaluationResult",
    "Format",
    "ImportSummary",
    "OutputForwarding",
    "ProbeResult",
    "Progress",
    "Rejection",
    "RetryPolicy",
    "RunReport",
    "Studio",
    "database_url",
]

log = logging.getLogger(__name__)


def database_url(value: str | None) -> str:
    """A SQLAlchemy URL from what a person typed: a URL, a file path, or nothing (default)."""
    if not value:
        return default_database_url()
    if "://" in value:
        return value
    return "sqlite:///" + str(Path(value).expanduser().resolve())


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (None: another engine, or in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


class Studio:
    """An open database with its account in memory."""

    def __init__(
        self,
        database: Database,
        state: AccountState,
        versions: dict[str, int],
        account_version: int = 1,
    ) -> None:
        self.database = database
        self.state = state
        self._versions = versions
        self._account_version = account_version
        self._unforgotten: list[str] = []
        """Deleted journeys whose memberships a failed clean-up left behind."""

    @classmethod
    def open(cls, url: str | None = None, *, seed_demo: bool = True) -> Studio:
        """Open (creating and upgrading if needed) the database at ``url``.

        A database without an account gets the demo account, with a few hundred
        generated customers, when ``seed_demo`` is true; otherwise an empty account:
        the account row with the default limit, and no workspaces, inputs,
        connections or journeys (the user sets those up). A database that has an
        account opens as it is either way; :meth:`needs_setup` tells which it is.
        """
        database = Database(database_url(url))
        try:
            with database.transaction() as session:
                created = AccountRepository(session).load() is None
                if created:
                    _create_account(session, seed_demo)
            if created and seed_demo:
                from app.ingest.demo_data import seed_demo_events

                # After the account commit: the importer writes in its own transactions.
                seed_demo_events(database)
            state, versions, account_version = _load(database)
        except BaseException:
            database.dispose()
            raise
        _sweep_orphans(database)
        log.info("Opened %s with %d journeys", database.url, len(versions))
        return cls(database, state, versions, account_version)

    @staticmethod
    def needs_setup(url: str | None = None) -> bool:
        """Whether the database at ``url`` has no account yet: a first start, where the
        user chooses between the demo account and an empty one (``open(seed_demo=…)``).

        A SQLite file that does not exist yet is new, and is not created by asking (so
        a first start that is abandoned leaves nothing behind); any other database is
        created and upgraded like :meth:`open` does, but no account is stored.
        """
        file = sqlite_file(database_url(url))
        if file is not None and not file.exists():
            return True
        database = Database(database_url(url))
        try:
            with database.transaction() as session:
                return AccountRepository(session).load() is None
        finally:
            database.dispose()

    def close(self) -> None:
        self.database.dispose()

    def reload(self) -> AccountState:
        """Read everything again (after a conflict); listeners must subscribe anew."""
        self.state, self._versions, self._account_version = _load(self.database)
        return self.state

    def event_count_by_input(self, input_ids: Sequence[str] | None = None) -> dict[str, int]:
        """How many events are stored per input (of some inputs, or all; none: left out).

        Also hands the counts to the account in memory, whose rule that an input with
        events stays (``can_remove_input``) goes by them: Account settings calls this
        when it shows the inputs. It counts the stored events (one pass over an index),
        so it is for a settings page, not for every paint. Safe off the GUI thread
        only as ``studio.database``-reading work: the hand-over to the state must then
        happen on the GUI thread (call ``state.set_event_counts`` there).
        """
        from app.store.event_numbers import event_counts

        # Only reads: a connection of its own, never a transaction that commits.
        with busy_as_studio_error(), self.database.engine.connect() as connection:
            counts = event_counts(connection, None if input_ids is None else list(input_ids))
        if input_ids is None:
            self.state.set_event_counts(counts)
        else:
            known = {i: self.state.event_count(i) for i in self.state.inputs}
            known.update({i: counts.get(i, 0) for i in input_ids})
            self.state.set_event_counts(known)
        return counts

    def inputs_with_events(self) -> frozenset[str]:
        """The ids of the inputs events were stored for (see :meth:`event_count_by_input`)."""
        return frozenset(self.event_count_by_input())

    def evaluate(
        self,
        document: JourneyDocument,
        as_of: datetime | None = None,
        *,
        store: bool | None = None,
    ) -> EvaluationResult:
        """Evaluate a journey's audiences at ``as_of`` (default now).

        The stored memberships are the journey's current state, so by default only an
        evaluation of now (``as_of`` None) is stored; one of another time is a what-if,
        returned but not stored unless ``store`` is true.

        Safe off the GUI thread: it works on ``document`` (an immutable copy of the
        journey, taken where the journey lives) over a connection of its own. It only
        reads while it computes, so edits go on meanwhile; storing the result waits
        for another writer, and a :class:`~app.store.database.BusyError` says so when
        the wait runs out.
        """
        from app.engine.evaluation import evaluate_journey

        graph = JourneyGraph.from_document(document)
        keep = as_of is None if store is None else store
        with busy_as_studio_error():
            return evaluate_journey(self.database, graph, as_of, store=keep)

    def estimate(
        self,
        document: JourneyDocument,
        milestone: Milestone,
        as_of: datetime | None = None,
    ) -> AudienceEstimate:
        """How big ``milestone`` would be, and how many of its parent match each criterion.

        For previews while criteria are edited: ``milestone`` may be new (not in
        ``document`` yet) or an edited copy of one that is. Nothing is stored, and
        like :meth:`evaluate` it is safe off the GUI thread.
        """
        from app.engine.estimates import estimate

        graph = JourneyGraph.from_document(document)
        if graph.has_milestone(milestone.id):
            return estimate(self.database, graph, milestone.id, milestone.definition, as_of)
        preview = milestone.model_copy(update={"definition": AudienceDefinition()})
        graph.add_milestone(preview)
        return estimate(self.database, graph, milestone.id, milestone.definition, as_of)

    # ---------------------------------------------------------------- analysis

    def size_history(self, milestone_id: str) -> list[SizePoint]:
        """Every stored evaluation of a milestone's audience, oldest first: its size and
        who joined and left (see :mod:`app.core.history` for what they add up to).

        A small indexed read (one row per stored evaluation), safe off the GUI thread.
        """
        from app.store.memberships import size_history

        if not any(g.has_milestone(milestone_id) for g in self.state.journeys()):
            raise NotFoundError("That milestone no longer exists.")
        with busy_as_studio_error():
            rows = size_history(self.database.engine, milestone_id)
        return [SizePoint(as_of=r["as_of"], size=int(r["size"]), added=int(r["added"]),
                          removed=int(r["removed"])) for r in rows]

    # ---------------------------------------------------------------- duplicate targeting

    def overlap(self, audiences: Sequence[ActiveAudience] | None = None) -> OverlapReport:
        """Which active audiences of the account share users, as last evaluated.

        The pairs ranked and the same-connection warnings worded by
        :mod:`app.core.overlap`, from counts the store makes in the database.
        ``audiences`` (default: :meth:`active_audiences`) are read where the account
        lives; given them, this is safe off the GUI thread.
        """
        from app.core.overlap import overlap_report
        from app.store.overlap import stored_overlap

        if audiences is None:
            audiences = self.active_audiences()
        with busy_as_studio_error():
            counted = stored_overlap(self.database, (a.audience_id for a in audiences))
        return overlap_report(audiences, counted.sizes, counted.shared, counted.in_several)

    def active_audiences(self) -> list[ActiveAudience]:
        """Every active audience with its journey and connections (for :meth:`overlap`)."""
        from app.core.overlap import active_audiences

        return active_audiences(self.state)

    def ab_test_results(self, journey_id: str, milestone_id: str, *,
                        document: JourneyDocument | None = None) -> list[Comparison]:
        """Each variant of the A/B test on ``milestone_id`` against its Control, as of the
        journey's last evaluation (empty when the milestone has no test).

        ``document``: a copy of the journey taken on the GUI thread; with it the call
        never reads the account's state and is safe off the GUI thread.
        """
        from app.engine.ab_tests import ab_test_results

        graph = (JourneyGraph.from_document(document) if document is not None
                 else self.state.journey(journey_id))
        return ab_test_results(self.database, graph, milestone_id)

    # ---------------------------------------------------------------- data catalogue

    def catalogue(self, journey_id: str) -> Catalogue:
        """What the journey's inputs have seen, for the builder's completions and hints.

        Holds the sightings of every input of the account (a name seen only in
        another input gets a hint naming it), labelled "Workspace/Input". Cheap:
        it reads the store's running counts (app/store/catalogue.py), a few
        thousand rows, whatever the number of events; safe off the GUI thread once
        the journey's inputs are read here.
        """
        inputs = self.state.journey(journey_id).journey.input_ids
        return self._catalogue(inputs)

    def account_catalogue(self) -> Catalogue:
        """What any input of the account has seen (every input counts as the journey's)."""
        return self._catalogue(tuple(self.state.inputs))

    def input_labels(self) -> dict[str, str]:
        """Each input's "Workspace/Input" label, as the catalogue's hints name inputs."""
        state = self.state
        return {
            input_id: (f"{state.workspaces[i.workspace_id].name}/{i.name}"
                       if i.workspace_id in state.workspaces else i.name)
            for input_id, i in state.inputs.items()
        }

    def _catalogue(self, journey_inputs: Sequence[str]) -> Catalogue:
        from app.store.catalogue import sightings

        with busy_as_studio_error():
            seen = sightings(self.database.engine)
        return Catalogue(seen, journey_inputs, self.input_labels())

    # ---------------------------------------------------------- journey files

    def journey_file_text(self, journey_id: str) -> str:
        """The journey as the JSON of a journey file (outputs left out: they name this
        account's connections)."""
        return journey_file.to_text(self.state, self.state.journey(journey_id).document())

    def export_journey(self, journey_id: str, path: str | Path) -> None:
        """Write the journey's file; a :class:`DataError` says why it could not be."""
        try:
            Path(path).write_text(self.journey_file_text(journey_id), encoding="utf-8")
        except OSError as error:
            raise DataError(f"Can't write {path}: {error.strerror}.") from None

    @staticmethod
    def read_text(path: str | Path) -> str:
        """A file's text as the journey-file reader takes it."""
        try:
            return journey_file.decode(Path(path).read_bytes())
        except OSError as error:
            raise DataError(f"Can't read {path}: {error.strerror}.") from None

    def read_journey_file(self, path: str | Path, name: str | None = None, *,
                          new_name_on_clash: bool = False) -> journey_file.JourneyImport:
        """The journey a file holds, checked as creating it would be, for ``CreateJourney``.

        Stores nothing: the caller runs the command (the window through its undo
        stack). A name another journey has becomes "name (2)" with
        ``new_name_on_clash``, else it is refused. Raises :class:`DataError` naming
        the milestone and field of the first problem.
        """
        return journey_file.read_journey(self.state, Path(path).name, self.read_text(path),
                                         name, new_name_on_clash=new_name_on_clash)

    # ---------------------------------------------------------------- imports

    def import_files(
        self,
        paths: Sequence[str | Path],
        format: Format,
        input_id: str,
        *,
        chunk_size: int | None = None,
        progress: Callable[[Progress], None] | None = None,
        on_reject: Callable[[Rejection], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> ImportSummary:
        """Import customer data files (in order) through the input ``input_id``.

        Each chunk of ``chunk_size`` events (default ``DEFAULT_CHUNK_SIZE``) is one
        transaction; ``progress`` hears of each, ``on_reject`` of each skipped record as
        it is found, and ``cancelled`` is asked between chunks (true: stop, keeping what
        was stored whole). Raises ``OSError`` for a file that can't be opened and a
        StudioError for an unknown input or a database too busy to take a chunk.
        """
        from app.ingest.importer import DEFAULT_CHUNK_SIZE, import_files

        with busy_as_studio_error():
            return import_files(
                self.database, paths, format=format, input_id=input_id,
                chunk_size=DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
                progress=progress, on_reject=on_reject, cancel=cancelled,
            )

    @staticmethod
    def guess_format(path: str | Path) -> Format | None:
        """The import format a file looks like (its first record, else its name), for the
        import dialog to preselect; None when nothing tells. Raises ``OSError`` for a file
        that can't be opened."""
        from app.ingest.formats import guess_format

        return guess_format(Path(path))

    def seed_demo(self, users: int, *, seed: int = 7) -> ImportSummary:
        """Store ``users`` generated demo customers and their events (the demo account's
        inputs, ``DEMO_INPUTS``, must exist); the same seed again stores nothing new."""
        from app.ingest.demo_data import seed_demo_events

        return seed_demo_events(self.database, users, seed=seed)

    @staticmethod
    def write_demo_files(directory: Path, users: int, *, seed: int = 7) -> dict[str, Path]:
        """Write generated demo customers as mParticle batch files, one per demo input
        (by input id), for an import; no database is needed."""
        from app.ingest.demo_data import write_demo_files

        return write_demo_files(directory, users, seed=seed)

    # ---------------------------------------------------------------- forwarding

    def forward(
        self,
        output_ids: list[str] | None = None,
        *,
        cancelled: Callable[[], bool] | None = None,
        on_attempt: Callable[[DeliveryRecord], None] | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        chunk_size: int | None = None,
        lease_seconds: float | None = None,
    ) -> DispatchReport:
        """Send every active output's pending change to its partner (DESIGN.md section 1).

        Safe off the GUI thread: it reads what is stored, not this window's copy. Two
        dispatchers on one database (another window, ``journeys run``) never send the
        same output at once: each output is claimed under a lease (``lease_seconds``,
        renewed with every chunk; a dispatcher that died frees it when it runs out).
        """
        import time

        from app.outputs.dispatcher import CHUNK_SIZE, LEASE_SECONDS, Dispatcher

        dispatcher = Dispatcher(
            self.database, self.secret_of, policy=policy, sleep=sleep or time.sleep,
            cancelled=cancelled or (lambda: False), on_attempt=on_attempt,
            chunk_size=chunk_size or CHUNK_SIZE, lease_seconds=lease_seconds or LEASE_SECONDS,
        )
        with busy_as_studio_error():
            return dispatcher.dispatch(output_ids)

    def run_once(
        self,
        *,
        cancelled: Callable[[], bool] | None = None,
        on_evaluated: Callable[[EvaluationResult], None] | None = None,
        on_attempt: Callable[[DeliveryRecord], None] | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> RunReport:
        """Evaluate every journey with an active output, as stored, then forward.

        What ``journeys run`` and the window's background worker do on their
        schedule. Journeys are read from the store, not from this window's copy, so
        a run sees what other windows saved and is safe off the GUI thread.
        """
        stop = cancelled or (lambda: False)
        with self.database.transaction() as session:
            stored = [item.document for item in JourneyRepository(session).list()]
        results: list[EvaluationResult] = []
        for document in stored:
            if stop():
                break
            if not any(output.active for output in document.outputs):
                continue
            result = self.evaluate(document)
            results.append(result)
            if on_evaluated is not None:
                on_evaluated(result)
        report = self.forward(cancelled=stop, on_attempt=on_attempt, policy=policy, sleep=sleep)
        return RunReport(tuple(results), report)

    def output_forwarding(self, journey_id: str | None = None) -> dict[str, OutputForwarding]:
        """How forwarding stands for each output (of one journey, or all): fault, pending."""
        from app.store import outbox

        with self.database.engine.connect() as connection:
            return outbox.forwarding(connection, journey_id)

    def deliveries(
        self,
        output_ids: list[str] | None = None,
        outcome: str | None = None,
        limit: int = 200,
    ) -> list[DeliveryRecord]:
        """The delivery log, newest first (of some outputs, one outcome)."""
        from app.store import deliveries

        with self.database.engine.connect() as connection:
            return deliveries.recent(
                connection, output_ids=output_ids, outcome=outcome, limit=limit
            )

    def resume_output(self, output_id: str) -> bool:
        """Clear a faulted output's fault, so the next forward sends what is pending.

        False when the output was not faulted. Not an undoable edit: it changes no
        journey, only whether forwarding to the output goes on.
        """
        from app.store import outbox

        with busy_as_studio_error(), self.database.engine.begin() as connection:
            resumed = outbox.resume(connection, output_id)
        if resumed:
            log.info("Forwarding to output %s resumed", output_id)
        return resumed

    def secret_of(self, secret_ref: str) -> str | None:
        """The secret a connection's ``secret_ref`` names (None: the connection has none)."""
        from app.outputs import secrets

        return secrets.resolve(secret_ref)

    def version(self, journey_id: str) -> int | None:
        return self._versions.get(journey_id)

    # ------------------------------------------------------------------ connections

    def save_secret(self, connection_id: str, secret: str) -> str:
        """Keep a connection's secret in the OS keyring; return the reference to store.

        The secret goes nowhere else; the reference is then put on the connection by
        an AddConnection or EditConnection command (so undo works as for any edit).
        """
        from app.outputs.secrets import store_secret

        return store_secret(connection_id, secret)

    @staticmethod
    def keyring_problem() -> str | None:
        """Why this machine can't keep secrets in a keyring (None: it can): use env:NAME."""
        from app.outputs.secrets import keyring_problem

        return keyring_problem()

    @staticmethod
    def describe_secret(secret_ref: str) -> str:
        """Where a connection's secret is and what it looks like, masked (for lists)."""
        from app.outputs.secrets import describe

        return describe(secret_ref)

    def test_connection(self, connection: Connection, secret: str | None = None) -> ProbeResult:
        """One real request to the partner with these (maybe unsaved) settings.

        ``secret`` is one just typed; without it the connection's reference is
        resolved. Bad settings or a missing secret raise a StudioError that says
        which; the partner's answer, good or bad, is the result. Safe off the GUI thread.
        """
        from app.core.partners import checked_settings
        from app.outputs.probe import probe
        from app.outputs.secrets import resolve

        settings = checked_settings(connection.partner, connection.settings)
        return probe(connection.partner, settings,
                     secret if secret else resolve(connection.secret_ref))

    # ------------------------------------------------------------------ edits

    def execute(self, command: Command) -> None:
        """Do ``command`` and persist it; refused or unsaved, nothing changes."""
        self._apply(command, command.do, command.undo)

    def undo(self, command: Command) -> None:
        self._apply(command, command.undo, command.redo)

    def redo(self, command: Command) -> None:
        self._apply(command, command.redo, command.undo)

    def _apply(
        self,
        command: Command,
        forward: Callable[[AccountState], None],
        backward: Callable[[AccountState], None],
    ) -> None:
        """Apply ``forward`` in memory and store it; memory ends equal to the store.

        Up to and including the commit, a failure stores nothing, so the command is
        reverted in memory and the failure reaches the caller as a StudioError (a
        rule, a conflict, a busy or failing database). After the commit the edit is
        stored, so it stays done whatever the clean-up that follows meets; that
        holds too for a commit that went through though the database reported an
        error (the connection dropped while it answered).
        """
        active_before = self._active_ids(command.journey_ids)
        self._count_events_of(command)
        setup_before = _SetupChange.present(command, self.state)
        forward(self.state)
        try:
            saved = self._persist(command, self._newly_active(active_before), setup_before)
        except BaseException as failure:
            intended = self._intended(command) if _from_the_database(failure) else None
            backward(self.state)
            saved_anyway = self._stored_anyway(command, intended) if intended else None
            if saved_anyway is None:
                if isinstance(failure, SQLAlchemyError | OSError):
                    log.warning("Not saved: %s", failure)
                    raise StudioError(_not_saved(failure)) from failure
                raise
            log.warning("Stored though the database reported an error: %s", failure)
            forward(self.state)
            saved = saved_anyway
        self._settle(saved)
        self._clean_up(saved.deleted_journeys)

    def _count_events_of(self, command: Command) -> None:
        """Read how many events the command's inputs have now: the rule that an input
        with events stays goes by the store's count, and an import may just have ended."""
        known = [i for i in command.input_ids if i in self.state.inputs]
        if not known:
            return
        try:
            self.event_count_by_input(known)
        except SQLAlchemyError as failure:
            log.warning("Not saved: %s", failure)
            raise StudioError(_not_saved(failure)) from failure

    def _intended(self, command: Command) -> _Intended:
        """What ``command``, done in memory, asks the store to hold."""
        return _Intended(
            {
                j: self.state.journey(j).document() if self.state.has_journey(j) else None
                for j in command.journey_ids
            },
            self.state.account if command.changes_account else None,
            {c: self.state.connections.get(c) for c in command.connection_ids},
            {w: self.state.workspaces.get(w) for w in command.workspace_ids},
            {i: self.state.inputs.get(i) for i in command.input_ids},
        )

    def _stored_anyway(self, command: Command, intended: _Intended) -> _Saved | None:
        """The save, if the store holds exactly what it wrote though it reported a failure.

        Each journey must be at the version this save would have given it, with this
        save's document (or be gone, for a deletion), and so must the account: a save
        by someone else meanwhile is not taken for ours. None when anything differs
        or the store can't be read either; the edit then counts as not saved.
        """
        versions: dict[str, int | None] = {}
        account_version = self._account_version
        try:
            with self.database.transaction() as session:
                journeys = JourneyRepository(session)
                for journey_id, document in intended.documents.items():
                    expected = self._versions.get(journey_id)
                    stored = journeys.get(journey_id)
                    if document is None:
                        if expected is None:
                            continue
                        if stored is not None:
                            return None
                        versions[journey_id] = None
                    elif (stored is None or stored.version != (expected or 0) + 1
                          or stored.document != document):
                        return None
                    else:
                        versions[journey_id] = stored.version
                accounts = AccountRepository(session)
                if intended.account is not None:
                    account, account_version = accounts.stored_account()
                    if (account != intended.account
                            or account_version != self._account_version + 1):
                        return None
                if any(accounts.get_connection(c) != connection
                       for c, connection in intended.connections.items()):
                    return None
                if intended.workspaces or intended.inputs:
                    data = accounts.load()
                    workspaces = {w.id: w for w in data.workspaces} if data else {}
                    inputs = {i.id: i for i in data.inputs} if data else {}
                    if any(workspaces.get(w) != workspace
                           for w, workspace in intended.workspaces.items()) or any(
                           inputs.get(i) != input_ for i, input_ in intended.inputs.items()):
                        return None
        except Exception as unreadable:
            log.warning("Could not check whether a failed save was stored: %s", unreadable)
            return None
        return _Saved(versions, account_version)

    def _active_ids(self, journey_ids: tuple[str, ...]) -> dict[str, frozenset[str]]:
        """The active audiences of these journeys in memory (none for a journey not there)."""
        return {
            j: self.state.journey(j).active_milestone_ids() if self.state.has_journey(j)
            else frozenset()
            for j in journey_ids
        }

    def _newly_active(self, before: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
        """What the edit just done in memory activated, journey by journey (only non-empty).

        Each journey's stored version is the one it had in memory before the edit
        (the save is refused otherwise), so this is also what the edit activates in
        the store.
        """
        after = self._active_ids(tuple(before))
        return {j: after[j] - before[j] for j in before if after[j] - before[j]}

    def _persist(self, command: Command, newly_active: dict[str, frozenset[str]],
                 setup_before: frozenset[str] = frozenset()) -> _Saved:
        """Write what ``command`` changed in one transaction; return what it stored.

        Nothing in memory is touched here: if any statement or the commit fails, the
        versions are still those of the store, and the caller reverts the command.
        """
        new_versions: dict[str, int | None] = {}
        account_version = self._account_version
        checks_limit = bool(newly_active) or command.changes_account
        kept = [c for c in command.connection_ids if c in self.state.connections]
        removed = [c for c in command.connection_ids if c not in self.state.connections]
        setup = _SetupChange.of(command, self.state, setup_before)
        with self.database.transaction() as session:
            accounts = AccountRepository(session)
            journeys = JourneyRepository(session)
            # First statement: the account's compare-and-set, or its lock when the limit or
            # a rule of connections, workspaces or inputs is checked, so concurrent checks
            # run one after the other.
            if command.changes_account:
                account_version = accounts.save_account(self.state.account, account_version)
            elif checks_limit or command.connection_ids or setup:
                accounts.lock()
            if setup:  # before journeys: they may read a new input
                setup.save(accounts, self.state)
            for connection_id in kept:  # before journeys: their outputs may refer to it
                accounts.save_connection(self.state.connections[connection_id])
            for journey_id in command.journey_ids:
                expected = self._versions.get(journey_id)
                if self.state.has_journey(journey_id):
                    document = self.state.journey(journey_id).document()
                    new_versions[journey_id] = journeys.save(document, expected)
                elif expected is not None:
                    journeys.delete(journey_id, expected)
                    new_versions[journey_id] = None
            if command.connection_ids:
                _check_connections_as_stored(accounts, kept, removed)
            if setup:  # after journeys: one may just have stopped reading a removed input
                setup.check_and_remove(accounts, self.state)
            if checks_limit:
                _check_limit_as_stored(accounts, journeys, newly_active, command.changes_account)
        return _Saved(new_versions, account_version)

    def _settle(self, saved: _Saved) -> None:
        """Take the versions the committed save gave the account and its journeys."""
        self._account_version = saved.account_version
        for journey_id, version in saved.versions.items():
            if version is None:
                self._versions.pop(journey_id, None)
            else:
                self._versions[journey_id] = version

    def _clean_up(self, deleted: list[str]) -> None:
        """Forget the memberships of deleted journeys: work after the commit, never undone.

        The deletion is stored whatever happens here, so a failure must not put the
        journey back in memory (the next edit would store it again). What could not
        be forgotten is harmless (no journey refers to it any more) and is tried
        again after the next save; a journey that came back meanwhile (an undone
        deletion) keeps its memberships.
        """
        pending = [
            j for j in dict.fromkeys([*self._unforgotten, *deleted])
            if not self.state.has_journey(j)
        ]
        if not pending:
            self._unforgotten = []
            return
        from app.engine.evaluation import forget_audiences

        try:
            with busy_as_studio_error():
                # A deleted journey is empty (a rule), so its population is all it left behind.
                forget_audiences(self.database, pending)
        except Exception as failure:
            log.warning(
                "Stored, but the audiences of %d deleted journeys are not forgotten yet "
                "(tried again after the next save): %s", len(pending), failure,
            )
            self._unforgotten = pending
        else:
            self._unforgotten = []


def _sweep_orphans(database: Database) -> None:
    """Remove memberships nothing can read (deleted journeys', dead runs' staging) at start.

    Tidying only: a failure (a busy database) is logged and tried again next time.
    """
    from app.store.memberships import sweep_orphans

    try:
        swept = sweep_orphans(database)
    except SQLAlchemyError as failure:
        log.info("Left-over memberships not swept this time: %s", failure)
    else:
        if swept:
            log.info("Swept the stored members of %d audiences nothing refers to", swept)


@dataclass(frozen=True)
class RunReport:
    """One scheduled run: the evaluations it stored, then what forwarding did."""

    evaluations: tuple[EvaluationResult, ...]
    forwarding: DispatchReport


@dataclass(frozen=True)
class _Intended:
    """What an edit asked the store to hold: its journeys (None: deleted), its account,
    its connections, workspaces and inputs (None: removed)."""

    documents: dict[str, JourneyDocument | None]
    account: Account | None
    connections: dict[str, Connection | None]
    workspaces: dict[str, Workspace | None]
    inputs: dict[str, Input | None]


@dataclass(frozen=True)
class _Saved:
    """What one committed save stored: new versions (None: deleted) and the account's."""

    versions: dict[str, int | None]
    account_version: int

    @property
    def deleted_journeys(self) -> list[str]:
        return [j for j, version in self.versions.items() if version is None]


def _from_the_database(failure: BaseException) -> bool:
    """Whether the database failed (so the commit may have gone through), not a rule."""
    return isinstance(failure, SQLAlchemyError | OSError) or isinstance(
        failure.__cause__, SQLAlchemyError
    )


_STALE = ("Not saved: the account was changed in another window or by someone else since "
          "you opened it.")
"""How a refusal of what another window or process stored meanwhile begins (the window
then offers Reload)."""


def _not_saved(failure: BaseException) -> str:
    """The message of a save the database failed, for the banner: what happened, what now."""
    reason = str(getattr(failure, "orig", None) or failure).strip().splitlines()
    detail = f" ({reason[0]})" if reason and reason[0] else ""
    return (
        f"Not saved: the database could not store this change{detail}. Nothing was changed; "
        f"try again."
    )


def _create_account(session: Session, seed_demo: bool) -> None:
    accounts = AccountRepository(session)
    if not seed_demo:
        accounts.save_account(Account())
        return
    from app.ingest.demo_account import demo_account

    demo = demo_account()
    accounts.create(demo.account_data())
    journeys = JourneyRepository(session)
    for document in demo.journeys:
        journeys.save(document, None)


def _check_limit_as_stored(
    accounts: AccountRepository,
    journeys: JourneyRepository,
    newly_active: dict[str, frozenset[str]],
    limit_changed: bool,
) -> None:
    """Ask core's limit rule of the account as stored with this edit's writes applied.

    Another window or process may have lowered the limit or activated audiences since
    this window loaded the account; then the edit is refused as a conflict (the window
    offers Reload) and the transaction stores nothing.
    """
    account, _ = accounts.stored_account()
    stored = [item.document for item in journeys.list()]
    try:
        check_stored_limit(account, stored, newly_active, limit_changed=limit_changed)
    except JourneyRuleError as refusal:
        raise ConflictError(f"{_STALE} {refusal}") from refusal


def _check_connections_as_stored(
    accounts: AccountRepository, kept: list[str], removed: list[str]
) -> None:
    """Connection rules asked again of the store, inside the edit's transaction.

    Another window may meanwhile have attached an output to a connection this edit
    removes, or given another connection the name this one takes: then the edit is
    refused as a conflict (the window offers Reload) and nothing is stored.
    """
    for connection_id in removed:
        users = accounts.connection_users(connection_id)
        if users:
            name = accounts.connection_names().get(connection_id, "The connection")
            raise ConflictError(f"{_STALE} {connection_in_use_message(name, users)}")
        accounts.delete_connection(connection_id)
    names = accounts.connection_names()
    for connection_id in kept:
        key = journey_name_key(names[connection_id])
        clash = next((n for c, n in names.items()
                      if c != connection_id and journey_name_key(n) == key), None)
        if clash is not None:
            raise ConflictError(f"{_STALE} There is already a connection called “{clash}”.")


@dataclass(frozen=True)
class _SetupChange:
    """The workspaces and inputs one edit adds, renames or removes, as it stores them."""

    kept_workspaces: tuple[str, ...]
    removed_workspaces: tuple[str, ...]
    kept_inputs: tuple[str, ...]
    removed_inputs: tuple[str, ...]
    changed: frozenset[str]
    """The kept ones that were there before the edit (renamed, not added): they must
    still be stored, or another window removed them meanwhile."""

    @staticmethod
    def present(command: Command, state: AccountState) -> frozenset[str]:
        """Which of the command's workspaces and inputs exist before it is applied."""
        return frozenset([*(w for w in command.workspace_ids if w in state.workspaces),
                          *(i for i in command.input_ids if i in state.inputs)])

    @classmethod
    def of(cls, command: Command, state: AccountState,
           before: frozenset[str]) -> _SetupChange | None:
        if not command.workspace_ids and not command.input_ids:
            return None
        kept_workspaces = tuple(w for w in command.workspace_ids if w in state.workspaces)
        kept_inputs = tuple(i for i in command.input_ids if i in state.inputs)
        return cls(
            kept_workspaces,
            tuple(w for w in command.workspace_ids if w not in state.workspaces),
            kept_inputs,
            tuple(i for i in command.input_ids if i not in state.inputs),
            before & {*kept_workspaces, *kept_inputs},
        )

    def save(self, accounts: AccountRepository, state: AccountState) -> None:
        """Store the workspaces and inputs the edit keeps, in their places in memory."""
        self._check_still_there(accounts, state)
        order = list(state.workspaces)
        for workspace_id in self.kept_workspaces:
            accounts.save_workspace(state.workspaces[workspace_id], order.index(workspace_id))
        if self.kept_workspaces or self.removed_workspaces:
            accounts.place_workspaces(order)
        stored = accounts.workspace_names()
        for workspace_id in dict.fromkeys(state.inputs[i].workspace_id
                                          for i in self.kept_inputs):
            if workspace_id not in stored:
                name = state.workspaces[workspace_id].name
                raise ConflictError(f"{_STALE} The workspace “{name}” was removed there.")
            own = [i.id for i in state.inputs_of(workspace_id)]
            for input_id in self.kept_inputs:
                if input_id in own:
                    accounts.save_input(state.inputs[input_id], own.index(input_id))
            accounts.place_inputs(own)

    def _check_still_there(self, accounts: AccountRepository, state: AccountState) -> None:
        """A rename of what another window removed meanwhile would bring it back: refused."""
        if not self.changed:
            return
        workspaces, inputs = accounts.workspace_names(), accounts.input_names()
        for workspace_id in self.kept_workspaces:
            if workspace_id in self.changed and workspace_id not in workspaces:
                name = state.workspaces[workspace_id].name
                raise ConflictError(f"{_STALE} The workspace “{name}” was removed there.")
        for input_id in self.kept_inputs:
            if input_id in self.changed and input_id not in inputs:
                label = state.input_label(input_id)
                raise ConflictError(f"{_STALE} The input “{label}” was removed there.")

    def check_and_remove(self, accounts: AccountRepository, state: AccountState) -> None:
        """The rules of workspaces and inputs asked again of the store, in the edit's
        transaction, then the removals: another window may meanwhile have imported
        through an input this edit removes, or made a journey read it, or added an
        input to a removed workspace, or taken a name this edit gives."""
        inputs = accounts.input_names()
        workspaces = accounts.workspace_names()
        for input_id in self.removed_inputs:
            if input_id not in inputs:
                continue
            workspace_id, name = inputs[input_id]
            label = f"{workspaces.get(workspace_id, '')}/{name}".lstrip("/")
            readers = accounts.input_readers(input_id)
            events = accounts.event_counts([input_id]).get(input_id, 0)
            if readers or events:
                raise ConflictError(f"{_STALE} {input_in_use_message(label, readers, events)}")
            accounts.delete_input(input_id)
            del inputs[input_id]
            accounts.place_inputs([i.id for i in state.inputs_of(workspace_id)])
        for workspace_id in self.removed_workspaces:
            if workspace_id not in workspaces:
                continue
            left = [name for ws, name in inputs.values() if ws == workspace_id]
            if left:
                raise ConflictError(
                    f"{_STALE} {workspace_not_empty_message(workspaces[workspace_id], left)}")
            accounts.delete_workspace(workspace_id)
            del workspaces[workspace_id]
        for workspace_id in self.kept_workspaces:
            key = journey_name_key(workspaces[workspace_id])
            clash = next((n for w, n in workspaces.items()
                          if w != workspace_id and journey_name_key(n) == key), None)
            if clash is not None:
                raise ConflictError(f"{_STALE} There is already a workspace called “{clash}”.")
        for input_id in self.kept_inputs:
            workspace_id, name = inputs[input_id]
            key = journey_name_key(name)
            clash = next((n for i, (w, n) in inputs.items() if i != input_id
                          and w == workspace_id and journey_name_key(n) == key), None)
            if clash is not None:
                raise ConflictError(
                    f"{_STALE} “{workspaces[workspace_id]}” already has an input called "
                    f"“{clash}”.")


def _load(database: Database) -> tuple[AccountState, dict[str, int], int]:
    with database.transaction() as session:
        data = AccountRepository(session).load()
        stored = JourneyRepository(session).list()
    assert data is not None, "the account is created before it is loaded"
    state = AccountState(data.account, data.workspaces, data.inputs, data.connections)
    versions: dict[str, int] = {}
    for item in stored:
        state.load_journey(item.document)
        versions[item.document.journey.id] = item.version
    return state, versions, data.version
