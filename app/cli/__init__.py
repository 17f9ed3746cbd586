"""``journeys``: the headless command line, on the same application service as the GUI.

Each module of this package adds one command group through ``register(groups)``;
they are found by name, so a new group is a new module and nothing else.
Errors a person can act on (a bad URL, a refused edit) print one line to
stderr and exit 1; ``--json`` output is for scripts.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence

from app.cli._common import Handler
from app.core.errors import StudioError
from app.studio import Studio


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="journeys",
        description="Journey Studio on the command line: inspect and run customer journeys.",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="the database, SQLite or PostgreSQL: a file path or a SQLAlchemy URL "
        "(sqlite:///…, postgresql+psycopg://…); default: journeys.db in the user data folder",
    )
    parser.add_argument(
        "--no-demo", action="store_true",
        help="a database that does not exist yet starts with an empty account (no "
        "workspaces, inputs, connections or journeys) instead of the demo account",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}").register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Handler = args.handler
    try:
        studio = Studio.open(args.db, seed_demo=not args.no_demo)
    except StudioError as error:
        print(f"journeys: {error}", file=sys.stderr)
        return 1
    try:
        return handler(studio, args)
    except StudioError as error:
        print(f"journeys: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (``journeys … | head``): not an error of ours. Point stdout
        # at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        studio.close()
