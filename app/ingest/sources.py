"""Reading import files in bounded memory: gzip or plain, lines or JSON documents.

Files are never read whole. Lines are read with a size limit, so one absurdly
long line is skipped as an oversized record rather than loaded; JSON arrays and
pretty-printed documents are decoded one value at a time from a sliding buffer.
Every reader counts the bytes consumed from the file on disk (compressed bytes
for gzip), which is what a progress bar over the file size needs. Compressed data
that ends early or is corrupt stops a reader with :class:`DamagedFile`, after the
whole lines (or documents) read before the damage.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from app.ingest.values import HugeInteger, integer_beyond_64_bits, json_integer

#: Largest record (one line, one JSON document) accepted.
MAX_RECORD_BYTES = 16 * 1024 * 1024
_READ_SIZE = 1 << 20
GZIP_READ_SIZE = 64 * 1024
"""Decompressed bytes read at once: a read that meets damaged data loses what it had
decompressed, so reads are small enough that the lines before the damage are kept."""
_GZIP_MAGIC = b"\x1f\x8b"


_DAMAGE = (EOFError, zlib.error, gzip.BadGzipFile)
"""What reading a gzip stream raises where its data ends early or is corrupt."""


class DamagedFile(Exception):
    """The file's compressed data ends early or is corrupt after line ``after_line``."""

    def __init__(self, path: Path, after_line: int, problem: BaseException) -> None:
        self.path = path
        self.after_line = after_line
        truncated = isinstance(problem, EOFError)
        self.reason = (f"compressed data {'ends early' if truncated else 'is corrupt'} "
                       f"(after line {after_line:,})")
        super().__init__(f"{path}: {self.reason}")


@dataclass(frozen=True, slots=True)
class Oversized:
    """Stands in for a record longer than :data:`MAX_RECORD_BYTES` (already skipped)."""

    size: int


@dataclass(frozen=True, slots=True)
class Unacceptable:
    """A JSON document that was read whole but holds what JSON has no place for (NaN,
    Infinity, an integer beyond 64 bits, nesting past :data:`MAX_NESTING`); the reader
    goes on after it."""

    reason: str


MAX_NESTING = 64
"""Arrays and objects nested deeper than this in one document are refused."""


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
        self._read_size = GZIP_READ_SIZE if self.compressed else _READ_SIZE
        self.stream: io.BufferedReader = (
            io.BufferedReader(gzip.GzipFile(fileobj=self._raw), self._read_size)
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
        """Up to ``size`` bytes ahead (at most one buffer's worth), without consuming them.

        Damaged compressed data gives what could be read (the reader that follows then
        meets the damage and says where)."""
        try:
            return self.stream.peek(size)[:size]
        except _DAMAGE:
            return b""

    def peek_start(self) -> bytes:
        """The first non-blank bytes (after a UTF-8 byte order mark), without consuming them."""
        return self.peek(4096).removeprefix(codecs.BOM_UTF8).lstrip()

    def lines(self) -> Iterator[tuple[int, bytes | Oversized]]:
        """(line number, line without its end) for every line; oversized ones are skipped."""
        number = 0

        def readline(limit: int) -> bytes:
            try:
                return self.stream.readline(limit)
            except _DAMAGE as problem:
                raise DamagedFile(self.path, number, problem) from None

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
        safe place to resume. A document that holds NaN, Infinity, an integer beyond
        64 bits or nesting past :data:`MAX_NESTING` is read past and yields an
        :class:`Unacceptable`.
        """
        refused: list[str] = []

        def constant(name: str) -> float:
            refused.append(f"{name} is not a JSON number")
            return 0.0

        huge: list[bool] = []

        def integer(digits: str) -> int | HugeInteger:
            value = json_integer(digits)
            if value.__class__ is HugeInteger:
                huge.append(True)  # the decoded value then says where
            return value

        decoder = json.JSONDecoder(parse_constant=constant, parse_int=integer)
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
            try:
                chunk = self.stream.read(self._read_size)
            except _DAMAGE as problem:
                raise DamagedFile(self.path, line, problem) from None
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
                    refused.clear()  # what an attempt cut short by the buffer's end noted
                    huge.clear()
                    try:
                        value, end = decoder.raw_decode(buffer, position)
                        break
                    except RecursionError:
                        # Deeper than the decoder can go: find the value's end by its
                        # brackets, refuse it, and go on after it.
                        skipped_to = _value_end(buffer, position)
                        if skipped_to is not None:
                            value, end = None, skipped_to
                            refused.append("the batch is nested too deeply")
                            break
                        if len(buffer) - position > MAX_RECORD_BYTES or not fill():
                            yield line, Broken(f"nesting too deep (line {line}); the rest "
                                               "of the file can't be read")
                            return
                    except json.JSONDecodeError as exc:
                        pending = len(buffer) - position
                        if pending > MAX_RECORD_BYTES:
                            yield line, Oversized(pending)
                            return
                        if not fill():
                            at = line + buffer.count("\n", position, exc.pos)
                            yield at, Broken(f"broken JSON (line {at}): {exc.msg}")
                            return
                if huge:
                    where = integer_beyond_64_bits(value)
                    if where is not None:
                        refused.append(where)
                if not refused and _nesting(value) > MAX_NESTING:
                    refused.append(f"the batch is nested more than {MAX_NESTING} deep")
                if refused:
                    yield line, Unacceptable(refused[0])
                    refused.clear()
                else:
                    yield line, value
                line += buffer.count("\n", position, end)
                position = end
        except UnicodeDecodeError:
            yield line, Broken("not valid UTF-8 text; the rest of the file can't be read")


_BRACKETS = {"[": 1, "{": 1, "]": -1, "}": -1}


def _value_end(text: str, start: int) -> int | None:
    """Where the array or object starting at ``start`` ends (just after its closing
    bracket), by counting brackets outside strings; None when ``text`` ends first."""
    depth = 0
    in_string = False
    index = start
    while index < len(text):
        char = text[index]
        if in_string:
            if char == "\\":
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in _BRACKETS:
            depth += _BRACKETS[char]
            if depth == 0:
                return index + 1
        index += 1
    return None


def _nesting(value: object) -> int:
    """How deeply arrays and objects nest in a decoded JSON value (iteratively)."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children: Iterable[object]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest
