"""Reading import files in bounded memory: gzip or plain, lines or JSON documents.

Files are never read whole. Lines are read with a size limit, so one absurdly
long line is skipped as an oversized record rather than loaded; JSON arrays and
pretty-printed documents are decoded one value at a time from a sliding buffer.
Every reader counts the bytes consumed from the file on disk (compressed bytes
for gzip), which is what a progress bar over the file size needs.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

#: Largest record (one line, one JSON document) accepted.
MAX_RECORD_BYTES = 16 * 1024 * 1024
_READ_SIZE = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Oversized:
    """Stands in for a record longer than :data:`MAX_RECORD_BYTES` (already skipped)."""

    size: int


@dataclass(frozen=True, slots=True)
class Broken:
    """A JSON document that could not be read; the rest of the file is unreadable too."""

    reason: str


class SourceFile:
    """An import file opened for streaming; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        self._raw = cast(io.BufferedReader, open(path, "rb", buffering=_READ_SIZE))  # noqa: SIM115
        self.compressed = self._raw.read(2) == _GZIP_MAGIC
        self._raw.seek(0)
        self.stream: io.BufferedReader = (
            io.BufferedReader(gzip.GzipFile(fileobj=self._raw), _READ_SIZE)
            if self.compressed else self._raw)

    @property
    def bytes_read(self) -> int:
        """Bytes of the file on disk consumed so far."""
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> SourceFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def peek(self, size: int) -> bytes:
        """Up to ``size`` bytes ahead (at most one buffer's worth), without consuming them."""
        return self.stream.peek(size)[:size]

    def peek_start(self) -> bytes:
        """The first non-blank bytes (after a UTF-8 byte order mark), without consuming them."""
        return self.peek(4096).removeprefix(codecs.BOM_UTF8).lstrip()

    def lines(self) -> Iterator[tuple[int, bytes | Oversized]]:
        """(line number, line without its end) for every line; oversized ones are skipped."""
        readline = self.stream.readline
        number = 0
        while True:
            line = readline(MAX_RECORD_BYTES + 1)
            if not line:
                return
            number += 1
            if len(line) > MAX_RECORD_BYTES and not line.endswith(b"\n"):
                size = len(line)
                while line and not line.endswith(b"\n"):
                    line = readline(_READ_SIZE)
                    size += len(line)
                yield number, Oversized(size)
                continue
            if number == 1:
                line = line.removeprefix(codecs.BOM_UTF8)
            yield number, line.rstrip(b"\r\n")

    def json_documents(self) -> Iterator[tuple[int, object | Broken | Oversized]]:
        """(starting line, value) for each JSON value of a stream of them, or of one array.

        A top-level array yields its elements. After a broken document the reader
        yields one :class:`Broken` and stops: without a line structure there is no
        safe place to resume.
        """
        decoder = json.JSONDecoder()
        text_decoder = codecs.getincrementaldecoder("utf-8")()
        buffer = ""
        position = 0
        line = 1
        eof = False
        in_array = False
        started = False

        def fill() -> bool:
            nonlocal buffer, position, eof
            if eof:
                return False
            chunk = self.stream.read(_READ_SIZE)
            buffer = buffer[position:] + text_decoder.decode(chunk, final=not chunk)
            position = 0
            eof = not chunk
            return True

        def skip(characters: str) -> None:
            nonlocal position, line
            while True:
                while position < len(buffer) and buffer[position] in characters:
                    if buffer[position] == "\n":
                        line += 1
                    position += 1
                if position < len(buffer) or not fill():
                    return

        try:
            fill()
            buffer = buffer.removeprefix("\ufeff")
            while True:
                skip(" \t\r\n" + ("," if in_array else ""))
                if position >= len(buffer):
                    return
                if not started:
                    started = True
                    if buffer[position] == "[":
                        in_array = True
                        position += 1
                        continue
                if in_array and buffer[position] == "]":
                    position += 1
                    in_array = False
                    continue
                while True:
                    try:
                        value, end = decoder.raw_decode(buffer, position)
                        break
                    except json.JSONDecodeError as exc:
                        pending = len(buffer) - position
                        if pending > MAX_RECORD_BYTES:
                            yield line, Oversized(pending)
                            return
                        if not fill():
                            at = line + buffer.count("\n", position, exc.pos)
                            yield at, Broken(f"broken JSON (line {at}): {exc.msg}")
                            return
                yield line, value
                line += buffer.count("\n", position, end)
                position = end
        except UnicodeDecodeError:
            yield line, Broken("not valid UTF-8 text; the rest of the file can't be read")
