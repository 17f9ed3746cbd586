"""``journeys demo --users N``: generate demo customer data.

Stores seeded, time-relative demo users and events into the database (the
demo account's inputs must exist, as they do in a first-run database), and
with ``--out DIR`` also writes them as mParticle batch files, one per input,
ready for ``journeys import``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli._arguments import not_negative, whole_number
from app.core.errors import StudioError
from app.studio import DEMO_INPUTS, Studio


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = groups.add_parser(
        "demo", help="generate demo users and events",
        description="Generate demo customer data across the demo workspaces and inputs.",
    )
    command.add_argument("--users", type=not_negative, default=1000, metavar="N",
                         help="number of users (default 1,000)")
    command.add_argument("--seed", type=whole_number, default=7, help="random seed (default 7)")
    command.add_argument("--out", type=Path, metavar="DIR",
                         help="also write mParticle batch files (JSON lines, gzip) here")
    command.add_argument("--no-store", action="store_true",
                         help="only write the files (needs --out)")
    command.set_defaults(handler=_demo)


def _demo(studio: Studio, args: argparse.Namespace) -> int:
    if args.no_store and args.out is None:
        raise StudioError("--no-store needs --out DIR: otherwise nothing would be generated.")
    if args.out is not None:
        paths = studio.write_demo_files(args.out, args.users, seed=args.seed)
        state = studio.state
        for input_id, path in paths.items():
            input_ = state.inputs.get(input_id)
            where = (f"{state.workspaces[input_.workspace_id].name}/{input_.name}"
                     if input_ is not None else input_id)
            print(f"Wrote {path}  (journeys import {path} --format mparticle "
                  f"--input '{where}')")
    if not args.no_store:
        missing = [i for i in DEMO_INPUTS if i not in studio.state.inputs]
        if missing:
            raise StudioError(
                "This database has no demo account inputs (" + ", ".join(missing) + "), so "
                "demo events have nowhere to go. Use --out DIR --no-store to only write files.")
        summary = studio.seed_demo(args.users, seed=args.seed)
        print(summary.text())
    return 0
