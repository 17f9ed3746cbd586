"""Helpers shared by the command modules: table printing and the handler type."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from app.studio import Studio

Handler = Callable[[Studio, argparse.Namespace], int]
"""A command: runs on an open studio, returns the process exit code."""



def print_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
    """Columns padded to their widest cell, a rule under the headers."""
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(f"{cell:<{width}}" for cell, width in zip(cells, widths, strict=True))

    print(line(headers).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row).rstrip())


