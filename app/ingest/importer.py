"""Importing files: parse, skip and report bad records, store in chunked transactions.

:func:`import_files` is what the CLI, the GUI's background worker and the demo
data share. It streams each file through its format's reader, gathers records
into chunks of about ``chunk_size`` events, and stores each chunk in one
transaction through :class:`~app.store.event_writer.EventWriter`. Between chunks
it reports progress and honours cancellation, so a cancelled (or killed) import
leaves only whole chunks behind, and re-running it stores just what is missing
(every record carries a de-duplication key). A chunk reaches the writer in
parts, a few thousand records at a time, so memory does not depend on its size.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from app.ingest.chunking import (
    ChunkEnd,
    FileDamaged,
    Rejection,
    Step,
    chunked,
    fewer_collections,
)
from app.ingest.parse_process import READERS, ParserProcess
from app.ingest.pipeline import BackgroundWriter
from app.ingest.sources import SourceFile
from app.ingest.values import Limits
from app.store.database import Database
from app.store.event_writer import EventWriter, WriteResult
from app.store.incoming import IncomingRecord
from app.store.staged_events import StagedPart

Format = Literal["mparticle", "segment", "csv"]
FORMATS: tuple[Format, ...] = ("mparticle", "segment", "csv")

DEFAULT_CHUNK_SIZE = 250_000
"""Events (or event-less records) per transaction. A commit writes every index page
the chunk touched, and events land all over the (name|type, time, user) indexes:
with 20,000-event chunks a third of a 1M-event import went into commits; per 1M
events 200,000 took ~0.5 s less than 100,000, and 250,000 ~0.2 s less again (300,000
no less). A chunk reaches the writer in parts (:data:`PART_SIZE`), so its size does
not decide memory."""

PART_SIZE = 10_000
"""Events (or event-less records) handed to the writer thread at once (about 10 MB of
records). The import's memory depends on this and :data:`QUEUED_PARTS`, not on the
chunk size or the file size."""

QUEUED_PARTS = 4
"""Parts parsed ahead of the writer by a parsing thread. While the writer moves a
chunk's events into the table and commits (long calls that let the parser run),
parsing goes on until this many parts wait: more parts, more of the parsing done
meanwhile, more memory."""

QUEUED_PARTS_FROM_A_PROCESS = 4
"""Parts waiting between a parsing process and the writer, on each side of the pipe.
While the writer moves events into the table (a call of up to half a second) the
parser goes on until this many wait on each side. A staged part is small (its
events are a serialized database, its records columns: ~2 MB a part), so four
cost ~15 MB and save the parser ~1 s of waiting per 1M events against one."""

PARSE_PROCESS_MIN_BYTES = 8 * 1024 * 1024
"""Imports at least this large are parsed in a child process (app/ingest/parse_process.py):
parsing then gets a core of its own instead of taking turns with the writer under
one interpreter lock. Starting the process costs about half a second, which pays
from a few tens of thousands of events on (8 MB of mParticle JSON lines hold ~20k)."""

log = logging.getLogger(__name__)

#: Rejections kept word for word in the summary (all are counted).
MAX_KEPT_REJECTIONS = 1000


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an import is, after a committed chunk."""

    records: int
    bytes_read: int
    total_bytes: int
    elapsed_s: float
    events_imported: int
    file: str
    records_imported: int = 0
    """Records stored so far (the rest of ``records`` were duplicates or rejected)."""
    records_duplicated: int = 0


@dataclass(slots=True)
class ImportSummary:
    """What an import did. Records are batches / calls / rows; events are what they held."""

    records_imported: int = 0
    records_duplicated: int = 0
    records_rejected: int = 0
    events_imported: int = 0
    events_duplicated: int = 0
    users_created: int = 0
    bytes_read: int = 0
    elapsed_s: float = 0.0
    cancelled: bool = False
    rejections: list[Rejection] = field(default_factory=list)
    damaged_files: list[FileDamaged] = field(default_factory=list)
    """Files whose data ended early or was corrupt: read up to the damage, not to the end."""

    @property
    def records(self) -> int:
        return self.records_imported + self.records_duplicated + self.records_rejected

    def add(self, result: WriteResult) -> None:
        self.records_imported += result.records_imported
        self.records_duplicated += result.records_duplicated
        self.events_imported += result.events_imported
        self.events_duplicated += result.events_duplicated
        self.users_created += result.users_created

    def text(self) -> str:
        """One line for people, e.g. after ``journeys import``."""
        parts = [
            f"{self.records_imported:,} imported ({self.events_imported:,} events, "
            f"{self.users_created:,} new users)",
            f"{self.records_duplicated:,} duplicated"
            + (f" (+{self.events_duplicated:,} duplicate events)"
               if self.events_duplicated else ""),
            f"{self.records_rejected:,} rejected",
        ]
        if self.damaged_files:
            count = len(self.damaged_files)
            parts.append(f"{count:,} {'file' if count == 1 else 'files'} not read to the end")
        status = "Import cancelled" if self.cancelled else "Import finished"
        return f"{status}: {', '.join(parts)} in {self.elapsed_s:.1f} s."


class Cancelled(Exception):
    """Raised inside the import loop when the caller asked to stop."""


ProgressCallback = Callable[[Progress], None]
RejectCallback = Callable[[Rejection], None]


def import_files(
    database: Database,
    paths: Sequence[str | Path],
    *,
    format: Format,
    input_id: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
    on_reject: RejectCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> ImportSummary:
    """Import ``paths`` (in order) through the input ``input_id``.

    ``progress`` is called after every committed chunk and at the end of each
    file; ``on_reject`` for each skipped record as it is found; ``cancel`` is
    asked between chunks, and a true answer stops the import (what was
    committed stays, whole). Raises :class:`~app.store.event_writer.UnknownInputError`
    for an unknown input and ``OSError`` for an unreadable file.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown import format {format!r}")
    files = [Path(p) for p in paths]
    total_bytes = sum(p.stat().st_size for p in files)
    with EventWriter(database) as writer:
        platform = writer.input_platform(input_id)
        in_a_process = total_bytes >= PARSE_PROCESS_MIN_BYTES
        stage_events = writer.takes_staged_parts
    depth = QUEUED_PARTS_FROM_A_PROCESS if in_a_process else QUEUED_PARTS
    run = _Run(BackgroundWriter(database, depth=depth), input_id, chunk_size, progress,
               on_reject, cancel, total_bytes)
    try:
        if in_a_process:
            _parse_in_a_process(run, files, format, platform, stage_events)
        else:
            _parse_here(run, files, format, platform)
        run.finish()
    except Cancelled:
        run.summary.cancelled = True
        run.abort()
    except Exception:
        _keep_whole_chunks(run)
        raise
    except BaseException:
        run.abort()
        raise
    run.summary.elapsed_s = time.monotonic() - run.started
    return run.summary


def _keep_whole_chunks(run: _Run) -> None:
    """After a parsing failure, store the chunks that ended before it, then stop.

    Chunks whose end was queued are whole and good: dropping them would lose
    records that were read and accepted (a later file being unreadable says
    nothing about them). The open chunk is rolled back. If the writer itself
    failed, there is nothing more to keep.
    """
    try:
        run.finish()
    except Exception:
        run.abort()


def _parse_here(run: _Run, files: list[Path], format: Format, platform: str | None) -> None:
    """Parse in this process's thread, taking turns with the writer's (small imports)."""
    limits = Limits()
    with fewer_collections():
        for path in files:
            with SourceFile(path) as source:
                items = READERS[format](source, limits=limits, input_id=run.input_id,
                                        default_platform=platform)
                run.take(chunked(items, source, chunk_size=run.chunk_size, part_size=PART_SIZE,
                                 done_bytes=run.done_bytes,
                                 between_records=run.writer.turns.wait))
                run.done_bytes += source.size


def _parse_in_a_process(run: _Run, files: list[Path], format: Format, platform: str | None,
                        stage_events: bool) -> None:
    """Parse in a child process (see app/ingest/parse_process.py) while this one stores."""
    parser = ParserProcess(files, format=format, input_id=run.input_id,
                           default_platform=platform, chunk_size=run.chunk_size,
                           part_size=PART_SIZE, stage_events=stage_events,
                           depth=QUEUED_PARTS_FROM_A_PROCESS)
    try:
        with fewer_collections():
            run.take(parser.steps())
    finally:
        parser.close()


def import_mixed_records(
    database: Database,
    items: Iterable[tuple[str, IncomingRecord]],
    *,
    name: str = "<generated>",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ImportSummary:
    """Store records made in memory (the demo data), each through its own input.

    Records are gathered per input and each input's chunk is stored when full,
    so memory stays bounded however the inputs interleave.
    """
    started = time.monotonic()
    summary = ImportSummary()
    with EventWriter(database) as writer:
        pending: dict[str, list[IncomingRecord]] = {}
        weight: dict[str, int] = {}
        for input_id, record in items:
            if input_id not in pending:
                writer.input_platform(input_id)  # fails early on an unknown input
                pending[input_id], weight[input_id] = [], 0
            pending[input_id].append(record)
            weight[input_id] += max(1, len(record.events))
            if weight[input_id] >= chunk_size:
                summary.add(writer.write(input_id, pending[input_id]))
                pending[input_id], weight[input_id] = [], 0
        for input_id, records in pending.items():
            if records:
                summary.add(writer.write(input_id, records))
    summary.elapsed_s = time.monotonic() - started
    log.info("Stored %s: %s", name, summary.text())
    return summary


class _Run:
    """The state of one import: the pending chunk, the summary, the clock."""

    def __init__(
        self,
        writer: BackgroundWriter,
        input_id: str,
        chunk_size: int,
        progress: ProgressCallback | None,
        on_reject: RejectCallback | None,
        cancel: Callable[[], bool] | None,
        total_bytes: int,
    ) -> None:
        if chunk_size < 1:
            writer.abort()
            raise ValueError("the chunk size must be at least 1")
        self.writer = writer
        self.input_id = input_id
        self.chunk_size = chunk_size
        self.progress = progress
        self.on_reject = on_reject
        self.cancel = cancel
        self.total_bytes = total_bytes
        self.done_bytes = 0
        self.summary = ImportSummary()
        self.started = time.monotonic()

    def take(self, steps: Iterable[Step | StagedPart]) -> None:
        """Submit parts, commit at chunk ends, report rejections, in order."""
        for step in steps:
            if isinstance(step, ChunkEnd):
                self._commit(step.position, step.label)
            elif isinstance(step, Rejection):
                self._reject(step)
            elif isinstance(step, FileDamaged):
                self.summary.damaged_files.append(step)
                log.info("Stopped reading %s", step)
            else:
                self._submit(step)

    def finish(self) -> None:
        self._committed(self.writer.finish())

    def abort(self) -> None:
        self._committed(self.writer.abort())

    def _submit(self, records: list[IncomingRecord] | StagedPart) -> None:
        self._committed(self.writer.submit(self.input_id, records))
        if self.cancel is not None and self.cancel():
            raise Cancelled

    def _commit(self, position: int, label: str) -> None:
        self._committed(self.writer.commit((position, label)))
        if self.cancel is not None and self.cancel():
            raise Cancelled

    def _committed(self, results: list[tuple[WriteResult, tuple[int, str]]]) -> None:
        for result, (position, label) in results:
            self.summary.add(result)
            self.summary.bytes_read = position
            if self.progress is not None:
                self.progress(Progress(
                    records=self.summary.records,
                    bytes_read=position,
                    total_bytes=self.total_bytes,
                    elapsed_s=time.monotonic() - self.started,
                    events_imported=self.summary.events_imported,
                    file=label,
                    records_imported=self.summary.records_imported,
                    records_duplicated=self.summary.records_duplicated,
                ))

    def _reject(self, rejection: Rejection) -> None:
        self.summary.records_rejected += 1
        if len(self.summary.rejections) < MAX_KEPT_REJECTIONS:
            self.summary.rejections.append(rejection)
        if self.on_reject is not None:
            self.on_reject(rejection)
