"""Who runs Python when: the import's writer thread first, the parsing thread in its gaps.

An import runs two threads in one interpreter: one parses, one stores. Only one
runs Python at a time (the GIL). Left to themselves they convoy: whenever the
writer gives the GIL up for a short database step, the parser takes it and keeps
it for up to the interpreter's switch interval (5 ms), so a writer doing many
short steps spends most of its time waiting, and the import runs slower than
with one thread.

:class:`Turns` orders them instead. The writer holds the turn while it works
and lets go only around its *long* database calls (moving a part's events in,
committing), which run without the GIL; the parser waits for the turn between
records. So the parser runs exactly while SQLite is busy with the indexes, and
the writer's short steps are never held up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Turns:
    """A turn the writer thread holds while it runs Python; see the module docstring."""

    def __init__(self) -> None:
        self._writer = threading.Lock()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """The writer's turn (around handling one queued item)."""
        with self._writer:
            yield

    @contextmanager
    def others_may_run(self) -> Iterator[None]:
        """Inside :meth:`writing`: give the turn up for a long call that releases the GIL."""
        self._writer.release()
        try:
            yield
        finally:
            self._writer.acquire()

    def wait(self) -> None:
        """For the parser, between records: wait while the writer has the turn."""
        with self._writer:
            pass
