"""The sizes of event data are written once, in app/core/vocabulary.py.

The importers check values against them and the event tables size their columns with
them; a number written in either place instead would let the two drift apart (a value
an import accepts that PostgreSQL then refuses, with the whole chunk).
"""

from __future__ import annotations

import ast
from pathlib import Path

import app

APP = Path(app.__file__).parent
#: Calls whose integer arguments are text sizes: columns, msgspec and pydantic
#: constraints, and the importers' checks.
SIZED = {"String", "Meta", "Field", "text", "_short"}
#: Keyword arguments that are sizes (``min_length=1``, "not empty", is no size).
SIZE_KEYWORDS = {"max_length", "length", "limit"}


def _literal_sizes(source: str, name: str) -> list[str]:
    """``name:line: call`` for each size in the Python ``source`` written as a number."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if not isinstance(node, ast.Call):
            continue
        called = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if called not in SIZED:
            continue
        arguments = [*node.args, *(k.value for k in node.keywords if k.arg in SIZE_KEYWORDS)]
        if any(isinstance(a, ast.Constant) and type(a.value) is int for a in arguments):
            found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_importers_and_the_event_tables_take_every_text_size_from_the_vocabulary() -> None:
    files = [APP / "store" / "event_tables.py", *sorted((APP / "ingest").glob("*.py"))]
    assert [found for path in files
            for found in _literal_sizes(path.read_text(), str(path.relative_to(APP.parent)))
            ] == []


def test_the_check_finds_a_size_written_as_a_number() -> None:
    sample = ('city = String(128)\n'
              'name = v.text(x, "name", 255)\n'
              'key = Annotated[str, Meta(max_length=255)]\n'
              'fine = Annotated[str, Meta(min_length=1, max_length=words.CITY_LENGTH)]\n'
              'also_fine = v.text(x, "city", CITY_LENGTH)\n')
    assert [found.split(": ", 1)[0] for found in _literal_sizes(sample, "sample.py")] == [
        "sample.py:1", "sample.py:2", "sample.py:3"]
