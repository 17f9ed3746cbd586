"""The words and numbers of the import dialogs: sizes, durations, formats, inputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QLabel

from app.core.account import AccountState

FORMAT_LABELS: dict[str, str] = {
    "mparticle": "mParticle batches (JSON)",
    "segment": "Segment calls (JSON lines)",
    "csv": "CSV, one event a row",
}
"""How the dialogs name the formats of ``Studio.FORMATS`` (an unknown one by its key)."""
SEPARATOR = " ▸ "


def size_text(size: int) -> str:
    """``980 bytes``, ``512 KB``, ``18.3 MB``, ``1.2 GB`` (decimal units, as file managers
    show sizes)."""
    if size < 1000:
        return f"{size:,} bytes"
    if size < 999_500:
        return f"{size / 1e3:,.0f} KB"
    if size < 999_950_000:
        return f"{size / 1e6:,.1f} MB"
    return f"{size / 1e9:,.1f} GB"


def duration_text(seconds: float) -> str:
    """``0.4 s``, ``12 s``, ``3:07``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 file``, ``2,048 files``."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def input_label(state: AccountState, input_id: str) -> str:
    """``Streaming App ▸ iOS``."""
    item = state.inputs[input_id]
    workspace = state.workspaces.get(item.workspace_id)
    return f"{workspace.name}{SEPARATOR}{item.name}" if workspace else item.name


def names_text(names: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    quoted = [f"“{n}”" for n in names]
    if len(quoted) < 2:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def file_problem(path: Path) -> str | None:
    """Why ``path`` can't be imported (checked before anything starts), or None."""
    name = path.name or str(path)
    if not path.exists():
        return f"“{name}” is not there any more: choose it again."
    if path.is_dir():
        return f"“{name}” is a folder: choose the files in it."
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as problem:
        return f"Can't read “{name}”: {(problem.strerror or str(problem)).lower()}."
    return None


def label(text: str, name: str, *, wrap: bool = False) -> QLabel:
    """A label styled by its object name (``dialogTitle``, ``fieldHint``, …)."""
    widget = QLabel(text)
    widget.setObjectName(name)
    widget.setWordWrap(wrap)
    return widget
