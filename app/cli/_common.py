"""Helpers shared by the command modules: the handler type, table printing, finding inputs."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from app.core.account import journey_name_key
from app.core.errors import NotFoundError
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


def resolve_input(studio: Studio, text: str) -> str:
    """The id of the input named ``WORKSPACE/INPUT`` (capitals and spaces ignored, as the
    names' uniqueness rule does) or by id; the refusal lists the inputs there are."""
    state = studio.state
    if text in state.inputs:
        return text
    workspace_name, _, input_name = text.rpartition("/")
    matches = [
        i.id for i in state.inputs.values()
        if journey_name_key(i.name) == journey_name_key(input_name)
        and i.workspace_id in state.workspaces
        and journey_name_key(state.workspaces[i.workspace_id].name)
        == journey_name_key(workspace_name)
    ]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(state.input_label(i) for i in state.inputs)
    raise NotFoundError(f"There is no input “{text}”. Inputs: {known or 'none yet'}.")
