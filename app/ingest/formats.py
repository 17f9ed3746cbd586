"""Which import format a file is in, guessed from its first bytes (or, failing that, its name).

The app's import dialog preselects the format with :func:`guess_format`, so the
marketer only has to choose when a file says nothing recognisable. The guess
looks at the first record only (gzip or plain): an mParticle batch (``mpid``,
``events``, ``user_identities``, ``source_request_id``; or a JSON array, which
only the mParticle reader takes), a Segment call (a ``type`` of
``identify``/``track``/``page``/``screen``, ``userId``, ``anonymousId``), or a
CSV header naming the documented columns. It never decides what an import
accepts: the reader of the chosen format does, record by record.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from app.ingest.csv_format import EVENT_COLUMNS, PREFIXES
from app.ingest.segment import CALL_TYPES
from app.ingest.sources import SourceFile

if TYPE_CHECKING:
    from app.ingest.importer import Format

MPARTICLE_KEYS = frozenset({"mpid", "events", "user_identities", "source_request_id",
                            "user_attributes", "device_info"})
"""Keys only an mParticle batch has at its top level."""
SEGMENT_KEYS = frozenset({"userId", "anonymousId", "messageId", "traits", "properties"})
"""Keys only a Segment call has at its top level."""

_KEY = re.compile(rb'"([A-Za-z_$][\w$]*)"\s*:')
_SEGMENT_TYPE = re.compile(rb'"type"\s*:\s*"(' + b"|".join(
    t.encode() for t in sorted(CALL_TYPES)) + rb')"')


def guess_format(path: Path) -> Format | None:
    """The format ``path`` looks like, or None when nothing tells (an empty file, an
    unknown shape). Raises ``OSError`` when the file can't be opened."""
    with SourceFile(path) as source:
        start = source.peek_start()
    by_content = _by_content(start)
    if by_content is not None:
        return by_content
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    return "csv" if suffixes and suffixes[-1] == ".csv" else None


def _by_content(start: bytes) -> Format | None:
    if start.startswith(b"["):
        return "mparticle"  # only the mParticle reader takes a JSON array
    if start.startswith(b"{"):
        return _json_format(start)
    return _csv_format(start)


def _json_format(start: bytes) -> Format | None:
    """mParticle or Segment from the first JSON document's top-level keys (or, when it
    is longer than what was read or spread over lines, from the keys that were read)."""
    first_line = start.split(b"\n", 1)[0]
    try:
        document = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        document = None
    if isinstance(document, dict):
        keys = set(document)
        call_type = document.get("type")
        if keys & MPARTICLE_KEYS:
            return "mparticle"
        if keys & SEGMENT_KEYS or call_type in CALL_TYPES:
            return "segment"
        return None
    keys = {k.decode() for k in _KEY.findall(start)}
    if keys & MPARTICLE_KEYS:
        return "mparticle"
    if keys & SEGMENT_KEYS or _SEGMENT_TYPE.search(start):
        return "segment"
    return None


def _csv_format(start: bytes) -> Format | None:
    """CSV when the first line is a header of documented columns."""
    header = start.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    names = [cell.strip().strip('"').split(":", 1)[0] for cell in header.split(",")]
    known = [n for n in names if n in EVENT_COLUMNS or n.startswith(PREFIXES)]
    return "csv" if len(names) > 1 and len(known) == len(names) else None
