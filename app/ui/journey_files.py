"""File ▸ Export journey… and File ▸ Import journey…: a journey as a JSON file.

The format is the command line's (``journeys journey export``/``import``), read and
written by Studio (app/core/journey_file.py). An import is one undoable
``CreateJourney`` step through the window's undo stack; a file with a problem
stores nothing, and the banner names the milestone and field. A name another
journey has is taken as "name (2)", and the banner says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from app.core.commands import CreateJourney
from app.core.errors import StudioError

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

FILTER = "Journey file (*.json);;All files (*)"


def export_journey(window: MainWindow, path: str | None = None) -> Path | None:
    """Write the selected journey to a file (asks where, unless ``path`` is given)."""
    journey_id = window.panel.current_journey_id()
    if journey_id is None or not window.studio.state.has_journey(journey_id):
        window.banner.show_message("Select a journey to export first.", "info")
        return None
    name = window.studio.state.journey(journey_id).name
    if path is None:
        path, _ = QFileDialog.getSaveFileName(window, "Export journey", f"{name}.json", FILTER)
        if not path:
            return None
    try:
        window.studio.export_journey(journey_id, path)
    except StudioError as problem:
        window.banner.show_message(str(problem), "error")
        return None
    window.banner.show_message(
        f"Exported “{name}” to {Path(path).name}: its milestones and criteria; outputs "
        f"stay in this account, as they name its connections.", "info")
    return Path(path)


def import_journey(window: MainWindow, path: str | None = None) -> str | None:
    """Create a journey from a file (asks which, unless ``path`` is given); returns
    its id, or None when nothing was stored (the banner says why)."""
    if path is None:
        path, _ = QFileDialog.getOpenFileName(window, "Import journey", "", FILTER)
        if not path:
            return None
    try:
        loaded = window.studio.read_journey_file(path, new_name_on_clash=True)
    except StudioError as problem:
        window.banner.show_message(
            f"Could not import {Path(path).name}: {problem}", "error")
        return None
    command = CreateJourney(loaded.document)
    command.text = f"Import “{loaded.document.journey.name}”"
    if not window.run(command):
        return None
    window.panel.select(command.journey_id)
    if loaded.renamed_from is not None:
        window.banner.show_for_edit(
            f"Imported as “{loaded.document.journey.name}”: a journey called "
            f"“{loaded.renamed_from}” already exists. Rename it as you like.", "info")
    return command.journey_id
