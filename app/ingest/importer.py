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

import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from app.ingest import csv_format, mparticle, segment
from app.ingest.pipeline import BackgroundWriter
from app.ingest.sources import SourceFile
from app.ingest.values import Limits
from app.store.database import Database
from app.store.event_writer import EventWriter, IncomingRecord, WriteResult

Format = Literal["mparticle", "segment", "csv"]
FORMATS: tuple[Format, ...] = ("mparticle", "segment", "csv")

DEFAULT_CHUNK_SIZE = 100_000
"""Events (or event-less records) per transaction. A commit writes every index page
the chunk touched, and events land all over the (name|type, time, user) indexes:
with 20,000-event chunks a third of a 1M-event import went into commits. A chunk
reaches the writer in parts (:data:`PART_SIZE`), so its size does not decide memory."""

PART_SIZE = 10_000
"""Events (or event-less records) handed to the writer thread at once (about 10 MB of
records). The import's memory depends on this and :data:`QUEUED_PARTS`, not on the
chunk size or the file size."""

QUEUED_PARTS = 4
"""Parts parsed ahead of the writer. While the writer moves a chunk's events into the
table and commits (long calls that let the parser run), parsing goes on until this
many parts wait: more parts, more of the parsing done meanwhile, more memory."""

#: Allocations between collections of the garbage collector's youngest generation
#: while an import runs (Python's default is 700).
GC_THRESHOLD = 100_000

log = logging.getLogger(__name__)

#: Rejections kept word for word in the summary (all are counted).
MAX_KEPT_REJECTIONS = 1000


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that was skipped, as ``file:line: reason``."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an import is, after a committed chunk."""

    records: int
    bytes_read: int
    total_bytes: int
    elapsed_s: float
    events_imported: int
    file: str


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
    run = _Run(BackgroundWriter(database, depth=QUEUED_PARTS), input_id, chunk_size, progress,
               on_reject, cancel, total_bytes)
    limits = Limits()
    try:
        with _fewer_collections():
            for path in files:
                with SourceFile(path) as source:
                    items = _reader(format)(source, limits=limits, input_id=input_id,
                                            default_platform=platform)
                    run.consume(items, source)
            run.finish()
    except Cancelled:
        run.summary.cancelled = True
        run.abort()
    except BaseException:
        run.abort()
        raise
    run.summary.elapsed_s = time.monotonic() - run.started
    return run.summary


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector's youngest generation less often meanwhile.

    Parsing allocates millions of short-lived objects, almost none of them in
    cycles (reference counting frees them), yet with the default threshold (700
    allocations) the collector runs every few records, and each run walks the
    objects still alive: the parts waiting for the writer. At 20,000 an import
    spent ~10% less time than at 700; at ``GC_THRESHOLD`` parsing takes another
    ~15% less. The previous thresholds come back afterwards.
    """
    previous = gc.get_threshold()
    gc.set_threshold(max(previous[0], GC_THRESHOLD), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


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


def _reader(format: Format) -> Callable[..., Iterator[IncomingRecord | tuple[int, str]]]:
    return {"mparticle": mparticle.read_file, "segment": segment.read_file,
            "csv": csv_format.read_file}[format]


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

    def consume(self, items: Iterator[IncomingRecord | tuple[int, str]], source: SourceFile,
                ) -> None:
        """Store the file's records in chunks of ``chunk_size`` events, sent in parts.

        A chunk ends at the record that brings it to ``chunk_size`` events, and at
        the end of the file; a part also ends there, or at ``PART_SIZE`` events.
        """
        label = str(source.path)
        part_size = min(self.chunk_size, PART_SIZE)
        pending: list[IncomingRecord] = []
        part = chunk = 0
        wait_for_turn = self.writer.turns.wait
        for item in items:
            wait_for_turn()
            if isinstance(item, IncomingRecord):
                pending.append(item)
                weight = max(1, len(item.events))
                part += weight
                chunk += weight
                if part >= part_size or chunk >= self.chunk_size:
                    self._submit(pending)
                    pending, part = [], 0
                    if chunk >= self.chunk_size:
                        self._commit(self.done_bytes + source.bytes_read, label)
                        chunk = 0
            else:
                self._reject(Rejection(label, item[0], item[1]))
        self.done_bytes += source.size
        if pending:
            self._submit(pending)
        self._commit(self.done_bytes, label)

    def finish(self) -> None:
        self._committed(self.writer.finish())

    def abort(self) -> None:
        self._committed(self.writer.abort())

    def _submit(self, records: list[IncomingRecord]) -> None:
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
                ))

    def _reject(self, rejection: Rejection) -> None:
        self.summary.records_rejected += 1
        if len(self.summary.rejections) < MAX_KEPT_REJECTIONS:
            self.summary.rejections.append(rejection)
        if self.on_reject is not None:
            self.on_reject(rejection)
