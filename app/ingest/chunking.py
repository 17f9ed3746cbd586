"""Cutting a file's records into parts and chunks: what the importer and its parser process share.

A chunk (one transaction) ends at the record that brings it to ``chunk_size``
events, and at the end of each file; a part (what reaches the writer at once)
also ends there, or at ``part_size`` events. The same cuts are made whether the
records are parsed in the importer's own thread or in a process of its own
(app/ingest/parse_process.py), so an import commits the same chunks either way.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from app.ingest.sources import DamagedFile, SourceFile
from app.store.incoming import IncomingRecord

#: Allocations between collections of the garbage collector's youngest generation
#: while an import runs (Python's default is 700).
GC_THRESHOLD = 100_000


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that was skipped, as ``file:line: reason``."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ChunkEnd:
    """The chunk ends here; ``position`` is the import's bytes read so far (all files)."""

    position: int
    label: str


@dataclass(frozen=True, slots=True)
class FileDamaged:
    """The file could not be read to its end, as ``file: reason``; what came before it
    is stored."""

    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


Step = list[IncomingRecord] | ChunkEnd | Rejection | FileDamaged
"""What :func:`chunked` yields: a part's records, the end of a chunk, a rejection, or
where the file's data ends early."""


def chunked(
    items: Iterator[IncomingRecord | tuple[int, str]],
    source: SourceFile,
    *,
    chunk_size: int,
    part_size: int,
    done_bytes: int,
    between_records: Callable[[], None] = lambda: None,
) -> Iterator[Step]:
    """The file's parts, chunk ends and rejections, in file order.

    ``done_bytes`` is what earlier files of the import held; the last step is the
    file's closing :class:`ChunkEnd`, at ``done_bytes`` plus the file's size.
    ``between_records`` runs before each record is taken (the importer's thread
    waits there for its turn, see app/ingest/turns.py). Damaged compressed data ends
    the file early: the records read before it are stored, and a :class:`FileDamaged`
    says where it stopped.
    """
    label = str(source.path)
    part_size = min(chunk_size, part_size)
    pending: list[IncomingRecord] = []
    part = chunk = 0
    damage: DamagedFile | None = None
    try:
        for item in items:
            between_records()
            if isinstance(item, IncomingRecord):
                pending.append(item)
                weight = max(1, item.event_count())
                part += weight
                chunk += weight
                if part >= part_size or chunk >= chunk_size:
                    yield pending
                    pending, part = [], 0
                    if chunk >= chunk_size:
                        yield ChunkEnd(done_bytes + source.bytes_read, label)
                        chunk = 0
            else:
                yield Rejection(label, item[0], item[1])
    except DamagedFile as problem:
        damage = problem
    if pending:
        yield pending
    if damage is not None:
        yield FileDamaged(label, damage.reason)
    yield ChunkEnd(done_bytes + source.size, label)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
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
