"""``journeys journey set-exclusive JOURNEY on|off``: users leave earlier milestones.

The journey option against duplicate targeting (``Journey.exclusive``), switched with
one undoable core command (``SetJourneyExclusive``) through the studio. Who is kept in
each milestone changes, so the journey is evaluated again at once and each
milestone's new size is printed (as a window shows them on the cards).
"""

from __future__ import annotations

import argparse

from app.cli._common import print_table
from app.cli.evaluate import find_journey
from app.core.commands import SetJourneyExclusive
from app.studio import Studio


def add_set_exclusive(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``set-exclusive`` to the ``journey`` group's actions."""
    command = actions.add_parser(
        "set-exclusive",
        help="users leave earlier milestones when they reach a later one (on) or not (off)")
    command.add_argument("journey", metavar="JOURNEY", help="the journey's name (or id)")
    command.add_argument("setting", choices=("on", "off"),
                         help="on: each user is kept in the deepest milestone reached only")
    command.set_defaults(handler=_set_exclusive)


def _set_exclusive(studio: Studio, args: argparse.Namespace) -> int:
    graph = find_journey(studio, args.journey)
    exclusive = args.setting == "on"
    if graph.journey.exclusive == exclusive:
        print(f"“{graph.name}” already has it {args.setting}: nothing changed.")
        return 0
    command = SetJourneyExclusive(graph.id, exclusive)
    studio.execute(command)
    print(f"{command.text}.")
    result = studio.evaluate(graph.document())
    print("Evaluated again:")
    print_table([(m.name, f"{m.size:,}", f"+{m.added:,}", f"−{m.removed:,}")
                 for m in result.milestones], ("Milestone", "Size", "Added", "Removed"))
    return 0
