"""Storing chunks on a thread of their own while the next chunk is parsed.

Parsing is Python; storing is mostly SQLite (or the network, for PostgreSQL),
which releases the GIL while it works. Running the two side by side uses both
cores of a small machine. The queue holds at most ``depth`` chunks, so memory
stays bounded: one chunk being parsed, ``depth`` waiting, one being stored.

The writer thread owns its :class:`~app.store.event_writer.EventWriter` (and so
its own connection, as every thread must). Stopping discards chunks that were
queued but not started; a chunk being stored is always finished, so what is
committed is whole.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import Any

from app.store.database import Database
from app.store.event_writer import EventWriter, IncomingRecord, WriteResult

_POLL_S = 0.1


class BackgroundWriter:
    """Takes chunks with :meth:`submit`; hands back ``(result, tag)`` as chunks commit."""

    def __init__(self, database: Database, *, depth: int = 1) -> None:
        self._chunks: queue.Queue[tuple[str, list[IncomingRecord], Any] | None] = queue.Queue(
            maxsize=depth)
        self._done: queue.Queue[tuple[WriteResult, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(database,), name="import-writer", daemon=True)
        self._thread.start()

    def submit(self, input_id: str, records: list[IncomingRecord], tag: Any
               ) -> list[tuple[WriteResult, Any]]:
        """Queue a chunk (waiting while the queue is full); returns chunks committed since."""
        item = (input_id, records, tag)
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
        """Store every queued chunk, stop the thread; returns the chunks committed since."""
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
        """Drop queued chunks, let the one being stored finish, stop the thread."""
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
            with EventWriter(database) as writer:
                while not self._stop.is_set():
                    item = self._chunks.get()
                    if item is None or self._stop.is_set():
                        return
                    input_id, records, tag = item
                    self._done.put((writer.write(input_id, records), tag))
        except BaseException as exc:
            self._error = exc
