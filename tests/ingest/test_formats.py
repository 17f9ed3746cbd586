"""Guessing a file's import format from its first record (the import dialog preselects it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from app.ingest.demo_data import demo_batches
from app.ingest.formats import guess_format

BATCH = next(b for _, b in demo_batches(1, seed=3, now_ms=1_790_000_000_000))
TRACK = {"type": "track", "userId": "u-1", "event": "Watch content",
         "timestamp": "2026-10-27T08:06:00Z"}
CSV = "user_id,timestamp,event_name,attr.minutes:number,identity.email\nu1,1,Watch,3,a@b.c\n"


FILES = [
    ("batches.jsonl", json.dumps(BATCH) + "\n" + json.dumps(BATCH) + "\n", False, "mparticle"),
    ("batches.jsonl.gz", json.dumps(BATCH) + "\n", True, "mparticle"),
    ("batch.json", json.dumps(BATCH, indent=2), False, "mparticle"),
    ("array.json", "\ufeff  [" + json.dumps(BATCH) + "]", False, "mparticle"),
    ("calls.jsonl", json.dumps(TRACK) + "\n", False, "segment"),
    ("calls.json.gz", json.dumps({"type": "identify", "traits": {}}) + "\n", True, "segment"),
    ("events.csv", CSV, False, "csv"),
    ("events.txt.gz", CSV, True, "csv"),  # the header says so, whatever the name
    ("other.csv", "a;b;c\n1;2;3\n", False, "csv"),  # the name, when the content says nothing
    ("other.json", '{"hello": "world"}\n', False, None),
    ("empty.jsonl", "", False, None),
]


@pytest.mark.parametrize(("name", "content", "compress", "expected"), FILES,
                         ids=[f[0] for f in FILES])
def test_the_first_record_or_the_name_tells_the_format(
    write: Callable[..., Path], name: str, content: str, compress: bool, expected: str | None,
) -> None:
    assert guess_format(write(name, content, compress=compress)) == expected


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        guess_format(tmp_path / "gone.jsonl")
