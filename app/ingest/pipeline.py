"""Storing chunks on a thread of their own while the next part is parsed.

Parsing is Python; storing is mostly SQLite (or the network, for PostgreSQL),
which releases the GIL while it works. Running the two side by side uses both
cores of a small machine; :class:`~app.ingest.turns.Turns` keeps them from
getting in each other's way.

A chunk (one transaction) arrives in *parts* (:meth:`BackgroundWriter.submit`)
and ends with :meth:`BackgroundWriter.commit`: memory holds a few parts, not a
whole chunk, however large chunks are. The queue holds at most ``depth`` parts,
so memory stays bounded: one part being parsed, ``depth`` waiting, one being
stored.

The writer thread owns its :class:`~app.store.event_writer.EventWriter` (and so
its own connection, as every thread must). Stopping discards parts that were
queued but not started and rolls back the chunk they belonged to, so what is
committed is whole.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from dataclasses import dataclass
from typing import Any

from app.ingest.turns import Turns
from app.store.database import Database
from app.store.event_writer import EventWriter, WriteResult
from app.store.incoming import IncomingRecord
from app.store.staged_events import StagedPart

_POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class _Part:
    input_id: str
    records: list[IncomingRecord] | StagedPart


@dataclass(frozen=True, slots=True)
class _Commit:
    tag: Any


class BackgroundWriter:
    """Takes parts with :meth:`submit`, ends chunks with :meth:`commit`.

    Hands back ``(result, tag)`` as chunks commit: the result of all the chunk's
    parts and the tag given to :meth:`commit`.
    """

    def __init__(self, database: Database, *, depth: int = 1) -> None:
        self._chunks: queue.Queue[_Part | _Commit | None] = queue.Queue(maxsize=depth)
        self._done: queue.Queue[tuple[WriteResult, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.turns = Turns()
        """The parsing thread calls ``turns.wait()`` between records (see app/ingest/turns.py)."""
        self._thread = threading.Thread(
            target=self._run, args=(database,), name="import-writer", daemon=True)
        self._thread.start()

    def submit(self, input_id: str, records: list[IncomingRecord] | StagedPart
               ) -> list[tuple[WriteResult, Any]]:
        """Queue a part of the open chunk (waiting while the queue is full).

        Returns the chunks committed since the last call.
        """
        return self._put(_Part(input_id, records))

    def commit(self, tag: Any) -> list[tuple[WriteResult, Any]]:
        """End the open chunk: it commits once its parts are stored.

        Returns the chunks committed since the last call.
        """
        return self._put(_Commit(tag))

    def _put(self, item: _Part | _Commit) -> list[tuple[WriteResult, Any]]:
        while True:
            self._raise_if_failed()
            try:
                self._chunks.put(item, timeout=_POLL_S)
                break
            except queue.Full:
                continue
        return self.completed()

    def completed(self) -> list[tuple[WriteResult, Any]]:
        """Chunks committed since the last call, oldest first."""
        results = []
        while True:
            try:
                results.append(self._done.get_nowait())
            except queue.Empty:
                return results

    def finish(self) -> list[tuple[WriteResult, Any]]:
        """Store every queued part and commit, stop the thread; returns the chunks committed since.

        Parts after the last :meth:`commit` are rolled back.
        """
        while self._thread.is_alive():
            try:
                self._chunks.put(None, timeout=_POLL_S)
                break
            except queue.Full:
                continue
        self._thread.join()
        self._raise_if_failed()
        return self.completed()

    def abort(self) -> list[tuple[WriteResult, Any]]:
        """Drop queued parts, let the one being stored finish, roll back the open chunk."""
        self._stop.set()
        while True:
            try:
                self._chunks.get_nowait()
            except queue.Empty:
                break
        with contextlib.suppress(queue.Full):  # the thread may be waiting for work
            self._chunks.put_nowait(None)
        self._thread.join()
        return self.completed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self, database: Database) -> None:
        try:
            with EventWriter(database, others_may_run=self.turns.others_may_run) as writer:
                stored = WriteResult()
                while not self._stop.is_set():
                    try:
                        item = self._chunks.get_nowait()
                    except queue.Empty:  # the parser is behind: use the wait
                        with self.turns.writing():
                            writer.while_waiting()
                        item = self._chunks.get()
                    if item is None or self._stop.is_set():
                        return  # closing the writer rolls back an unfinished chunk
                    with self.turns.writing():
                        if isinstance(item, _Part):
                            stored += writer.write_part(item.input_id, item.records)
                        else:
                            writer.commit()
                            self._done.put((stored, item.tag))
                            stored = WriteResult()
        except BaseException as exc:
            self._error = exc
