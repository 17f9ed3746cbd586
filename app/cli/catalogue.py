"""``journeys catalogue``: what the imported data holds, as the audience builder offers it.

Event names by type, event attributes by event, user attributes with their
detected types, identity types, platforms and places, each with how often it
occurred and when last, over one journey's inputs (``--journey``) or every input.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from app.cli._common import print_table
from app.cli.evaluate import find_journey
from app.core.catalogue import Catalogue, CatalogueKind, Entry
from app.studio import Studio

SHOWN = 12
"""Rows (or names) shown of each kind without ``--all``."""

KINDS: tuple[tuple[CatalogueKind, str], ...] = (
    ("event", "Events"), ("event_attribute", "Event attributes"),
    ("user_attribute", "User attributes"), ("identity_type", "Identity types"),
    ("platform", "Platforms"), ("place", "Places"),
)


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser(
        "catalogue",
        help="what the imported data holds: event names, attributes, identities, places",
        description="List what the account's inputs have seen, most frequent first: event "
        "names by type, event attributes by event, user attributes with their detected "
        "types, identity types, platforms and places, each with its count (events; users "
        "for user attributes and identity types) and when it was last seen.",
    )
    parser.add_argument("--journey", metavar="JOURNEY",
                        help="only the inputs this journey reads (its name or id)")
    parser.add_argument("--all", action="store_true",
                        help=f"every row (default: the {SHOWN} most frequent of each kind)")
    parser.add_argument("--json", action="store_true", help="print JSON (every row)")
    parser.set_defaults(handler=_catalogue)


def _catalogue(studio: Studio, args: argparse.Namespace) -> int:
    if args.journey:
        graph = find_journey(studio, args.journey)
        catalogue = studio.catalogue(graph.id)
        heading = f"Seen by the inputs of “{graph.name}”"
    else:
        catalogue = studio.account_catalogue()
        heading = "Seen by every input of the account"
    labels = studio.input_labels()
    inputs = sorted(labels.get(i, i) for i in catalogue.journey_inputs)
    if args.json:
        print(json.dumps(_as_json(catalogue, inputs), indent=2))
        return 0
    print(f"{heading} ({', '.join(inputs) or 'no inputs'}):")
    if not any(catalogue.entries(kind) for kind, _title in KINDS):
        print("\nNothing yet: import events through these inputs first (journeys import).")
        return 0
    limit = None if args.all else SHOWN
    _events(catalogue.entries("event"), limit)
    _event_attributes(catalogue.entries("event_attribute"), limit)
    users = "users" if len(inputs) < 2 else "users of each input, added up"
    _user_attributes(catalogue.entries("user_attribute"), limit, users)
    _line("Identity types", catalogue.entries("identity_type"), users, limit)
    _line("Platforms", catalogue.entries("platform"), "events", limit)
    _places(catalogue.entries("place"), limit)
    return 0


def _as_json(catalogue: Catalogue, inputs: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {"inputs": inputs}
    for kind, _title in KINDS:
        result[kind] = [
            {"value": e.value, "scope": e.scope, "count": e.count,
             "last_seen": None if e.last_seen is None else e.last_seen.isoformat()}
            for e in catalogue.entries(kind)
        ]
    return result


def _events(entries: list[Entry], limit: int | None) -> None:
    if not entries:
        return
    print("\nEvents")
    shown = entries[:limit]
    print_table([(e.value or "(no name)", e.scope, f"{e.count:,}", _when(e.last_seen))
                 for e in shown], ("Name", "Type", "Events", "Last seen"))
    _more(entries, shown)


def _event_attributes(entries: list[Entry], limit: int | None) -> None:
    """One line per event name: its attribute keys, most frequent first."""
    by_event: dict[str, list[Entry]] = {}
    for entry in entries:
        by_event.setdefault(entry.scope, []).append(entry)
    if not by_event:
        return
    print("\nEvent attributes")
    names = sorted(by_event, key=lambda n: (-sum(e.count for e in by_event[n]), n.casefold()))
    for name in names[:limit]:
        keys = by_event[name]
        listed = ", ".join(e.value for e in keys[:limit])
        extra = f", … {len(keys) - limit} more" if limit is not None and len(keys) > limit else ""
        print(f"  {name or '(events without a name)'}: {listed}{extra}")
    if limit is not None and len(names) > limit:
        print(f"  … {len(names) - limit} more events (--all shows them)")


def _user_attributes(entries: list[Entry], limit: int | None, users: str) -> None:
    if not entries:
        return
    print(f"\nUser attributes ({users})")
    shown = entries[:limit]
    print_table([(e.value, e.scope, f"{e.count:,}") for e in shown],
                ("Name", "Type", "Users"))
    _more(entries, shown)


def _line(title: str, entries: list[Entry], unit: str, limit: int | None) -> None:
    if not entries:
        return
    shown = entries[:limit]
    listed = ", ".join(f"{e.value} ({e.count:,})" for e in shown)
    more = f", … {len(entries) - len(shown)} more" if len(shown) < len(entries) else ""
    print(f"\n{title} ({unit}): {listed}{more}")


def _places(entries: list[Entry], limit: int | None) -> None:
    if not entries:
        return
    print("\nPlaces (events)")
    for field in ("country", "region", "city", "postal_code"):
        of_field = [e for e in entries if e.scope == field]
        if of_field:
            shown = of_field[:limit]
            listed = ", ".join(f"{e.value} ({e.count:,})" for e in shown)
            more = f", … {len(of_field) - len(shown)} more" if len(shown) < len(of_field) else ""
            print(f"  {field.replace('_', ' ')}: {listed}{more}")


def _more(entries: list[Entry], shown: list[Entry]) -> None:
    if len(shown) < len(entries):
        print(f"… {len(entries) - len(shown)} more (--all shows them)")


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")
