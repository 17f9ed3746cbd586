"""``journeys journey set-inputs JOURNEY INPUT…``: which inputs a journey reads.

One undoable core command (``SetJourneyInputs``) through the studio: at least one
input, each of this account. The journey's audiences then hold other people, so it
is evaluated again at once and the new population is printed (as a window does).
"""

from __future__ import annotations

import argparse

from app.cli._common import resolve_input
from app.cli.evaluate import find_journey
from app.core.commands import SetJourneyInputs
from app.studio import Studio


def add_set_inputs(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``set-inputs`` to the ``journey`` group's actions."""
    command = actions.add_parser(
        "set-inputs", help="change which inputs a journey reads (then evaluate it again)")
    command.add_argument("journey", metavar="JOURNEY", help="the journey's name (or id)")
    command.add_argument("inputs", metavar="WORKSPACE/INPUT", nargs="+",
                         help="every input it is to read, e.g. \"Streaming App/iOS\"")
    command.set_defaults(handler=_set_inputs)


def _set_inputs(studio: Studio, args: argparse.Namespace) -> int:
    graph = find_journey(studio, args.journey)
    inputs = tuple(dict.fromkeys(resolve_input(studio, text) for text in args.inputs))
    labels = ", ".join(studio.state.input_label(i) for i in inputs)
    if inputs == graph.journey.input_ids:
        print(f"“{graph.name}” already reads {labels}: nothing changed.")
        return 0
    command = SetJourneyInputs(graph.id, inputs)
    studio.execute(command)
    print(f"{command.text}: {labels}.")
    result = studio.evaluate(graph.document())
    people = result.population
    print(f"Evaluated again: {people.size:,} users in the journey "
          f"(+{people.added:,} −{people.removed:,}).")
    return 0
