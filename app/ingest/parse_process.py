"""Parsing an import's files in a process of its own, so parsing and storing each get a core.

In one process the parser and the writer share one interpreter lock: the
parser could only run while the writer waited on SQLite, and the writer waited
for parts whenever parsing fell behind. In a child process the parser runs all
the time on the other core. What it sends must be cheap to hand over, so on
SQLite a part's events and changed profiles travel as a serialized SQLite
database built in the child (app/store/staged_events.py), not as millions of
Python tuples, and its records as columns of plain values; elsewhere records
travel as plain tuples (see "handing parts over").

The child cuts parts and chunks exactly as the importer's own thread does
(app/ingest/chunking.py) and sends, in file order: ``("part", payload)``,
``("commit", ChunkEnd)``, ``("reject", Rejection | FileDamaged)``, then ``("done",)`` or
``("error", exception)``. The queue between the processes is bounded (memory
stays bounded), and the child stops when asked, when the importing process is
gone, or at the end.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import multiprocessing
import queue
import sys
import time
from collections.abc import Callable, Iterator
from multiprocessing.process import parent_process
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from app.core.errors import StudioError
from app.ingest import csv_format, mparticle, segment
from app.ingest.chunking import ChunkEnd, Step, chunked, fewer_collections
from app.ingest.sources import SourceFile
from app.ingest.values import Limits
from app.store.incoming import IncomingEvent, IncomingRecord, UserRef
from app.store.staged_events import PartBuilder, PlaceNumbers, StagedPart

log = logging.getLogger(__name__)

_POLL_S = 0.1
#: Parts between full garbage collections in the parsing process: its few
#: long-lived objects make one cheap, and without them its peak memory was ~40% higher.
_PARTS_PER_COLLECTION = 10
#: Records parsed between looks at the stop signal (a lock each time: looking before
#: every record cost ~2% of parsing; 64 records take well under a millisecond).
_RECORDS_PER_STOP_CHECK = 64
#: How long a stopped parser may take to finish before it is terminated.
_STOP_TIMEOUT_S = 5.0

Message = tuple[Any, ...]
Payload = list[IncomingRecord] | StagedPart


class ParserStopped(StudioError):
    """The parsing process ended without finishing (it crashed or was killed)."""


class ParserProcess:
    """Parses ``paths`` in a child process; iterate :meth:`steps` for its output."""

    def __init__(self, paths: list[Path], *, format: str, input_id: str,
                 default_platform: str | None, chunk_size: int, part_size: int,
                 stage_events: bool, depth: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._queue: multiprocessing.Queue[Message] = context.Queue(maxsize=depth)
        self._stop = context.Event()
        self._process = context.Process(
            target=run_parser, name="import-parser", daemon=True,
            args=([str(p) for p in paths], format, input_id, default_platform, chunk_size,
                  part_size, stage_events, self._queue, self._stop))
        with _main_module_hidden():
            self._process.start()

    def steps(self) -> Iterator[Step | StagedPart]:
        """The child's parts, chunk ends and rejections in file order; raises what it raised."""
        while True:
            try:
                message = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                if not self._process.is_alive():
                    raise ParserStopped(
                        f"The import's parsing process stopped unexpectedly "
                        f"(exit code {self._process.exitcode}).") from None
                continue
            if message[0] == "done":
                return
            if message[0] == "error":
                raise message[1]
            yield _decode(message[1]) if message[0] == "part" else message[1]

    def close(self) -> None:
        """Stop the child (if still running) and wait for it."""
        self._stop.set()
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while self._process.is_alive():
            with contextlib.suppress(queue.Empty):  # it may be blocked on a full queue
                self._queue.get(timeout=_POLL_S)
            self._process.join(timeout=_POLL_S)
            if self._process.is_alive() and time.monotonic() > deadline:
                log.warning("The import's parsing process did not stop; terminating it.")
                self._process.terminate()
                self._process.join()
        self._queue.close()
        self._queue.join_thread()


def run_parser(paths: list[str], format: str, input_id: str, default_platform: str | None,
               chunk_size: int, part_size: int, stage_events: bool,
               out: multiprocessing.Queue[Message], stop: Event) -> None:
    """The child process: parse, cut, stage, send (see the module docstring)."""

    def send(message: Message) -> bool:
        while not stop.is_set():
            try:
                out.put(message, timeout=_POLL_S)
                return True
            except queue.Full:
                parent = parent_process()
                if parent is not None and not parent.is_alive():
                    stop.set()
        return False

    records = itertools.count()

    def check_stop() -> None:
        if next(records) % _RECORDS_PER_STOP_CHECK == 0 and stop.is_set():
            raise _Stop

    # Staged parts of mParticle lines: the fast path makes the staged rows itself.
    places = PlaceNumbers() if stage_events and format == "mparticle" else None
    builder = PartBuilder(places) if stage_events else None
    try:
        with fewer_collections():
            done_bytes = parts = 0
            limits = Limits()
            for name in paths:
                with SourceFile(Path(name)) as source:
                    items = READERS[format](source, limits=limits, input_id=input_id,
                                            default_platform=default_platform,
                                            **({"places": places} if places is not None else {}))
                    for step in chunked(items, source, chunk_size=chunk_size,
                                        part_size=part_size, done_bytes=done_bytes,
                                        between_records=check_stop):
                        if isinstance(step, list):
                            parts += 1
                            if parts % _PARTS_PER_COLLECTION == 0:
                                gc.collect()
                            staged = builder.build(step) if builder is not None else None
                            sent = send(("part", _encode(staged if staged is not None else step)))
                        elif isinstance(step, ChunkEnd):
                            sent = send(("commit", step))
                        else:
                            sent = send(("reject", step))
                        if not sent:
                            raise _Stop
                    done_bytes += source.size
        send(("done",))
    except _Stop:
        out.cancel_join_thread()  # nobody reads any more: exit without flushing
    except BaseException as exc:  # handed to the importing process
        send(("error", _picklable(exc)))
    finally:
        if builder is not None:
            builder.close()


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start a child that does not run the program's main module first.

    A spawned child imports the parent's main module before anything else, in
    case what it runs was defined there. The parser needs nothing of it, and for
    the ``journeys`` command (or the app) the main module imports most of the
    program: ~0.7 s and more memory in the child before it parses a line.
    ``Process.start`` looks at ``__main__.__spec__`` and ``__main__.__file__`` to
    decide, so those two are hidden for that call only (the child still gets
    the parent's ``sys.path``, so it imports the parser as the parent does).
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    hidden = {name: getattr(main, name) for name in ("__spec__", "__file__")
              if hasattr(main, name)}
    try:
        if "__spec__" in hidden:
            main.__spec__ = None  # read without a default: it must exist
        if "__file__" in hidden:
            del main.__file__
        yield
    finally:
        for name, value in hidden.items():
            setattr(main, name, value)


class _Stop(Exception):
    """Asked to stop: unwinds the child's loop."""


def _picklable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a StudioError with its text."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # any failure: send the text instead
        return StudioError(f"{type(exc).__name__}: {exc}")
    return exc


# ---------------------------------------------------------------------- handing parts over
#
# Pickling a dataclass or a named tuple runs Python code per object (copyreg), which
# for a part's thousands of records and events cost as much as parsing them. Plain
# tuples, lists, dicts and strings pickle in C, so records cross as those.

_Encoded = tuple[Any, ...]


def _encode(payload: Payload) -> _Encoded:
    if isinstance(payload, StagedPart):  # already columns of plain values
        return ("staged", *(getattr(payload, name) for name in StagedPart.__slots__))
    return ("records", [_encode_record(r) for r in payload])


def _decode(encoded: _Encoded) -> Payload:
    if encoded[0] == "staged":
        return StagedPart(*encoded[1:])
    users: dict[Any, UserRef] = {}  # a user's records share one (mostly consecutive)
    return [_decode_record(r, users) for r in encoded[1]]


def _encode_record(record: IncomingRecord) -> tuple[Any, ...]:
    """A record as plain values; a profile still unparsed travels as its JSON text only."""
    attributes: Any = record.attributes
    identities: Any = record.identities
    if isinstance(attributes, mparticle.ProfileHalf):
        identities, attributes = None, attributes.profile.json
    elif not isinstance(attributes, dict):
        attributes = dict(attributes)
    user = record.user
    return (record.line, user.external_id, user.lookup, record.key, identities, attributes,
            record.profile, [tuple(e) for e in record.events] if record.events else None)


def _decode_record(encoded: tuple[Any, ...], users: dict[Any, UserRef]) -> IncomingRecord:
    line, external_id, lookup, key, identities, attributes, profile, events = encoded
    user = users.get((external_id, lookup))
    if user is None:
        user = users[(external_id, lookup)] = UserRef(external_id, lookup)
    if identities is None:
        identities, attributes = mparticle.DeferredProfile(attributes).mappings()
    return IncomingRecord(line, user, key, identities, attributes,
                          [_new_event(IncomingEvent, e) for e in events] if events else [],
                          profile)


_new_event = tuple.__new__


READERS: dict[str, Callable[..., Iterator[IncomingRecord | tuple[int, str]]]] = {
    "mparticle": mparticle.read_file, "segment": segment.read_file,
    "csv": csv_format.read_file,
}
"""The record reader of each import format."""
