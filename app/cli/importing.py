"""``journeys import FILE… --format … --input WORKSPACE/INPUT``: customer data in.

Shows a progress bar on stderr (redrawn in place on a terminal, a line now and
then otherwise), lists each rejected record as ``file:line: reason`` and each file
that could not be read to its end as ``file: reason``, and ends with the summary on
stdout. Exit code 0 when everything was imported or already there, 1 when any
record was rejected, 2 when a file could not be read (missing, unreadable, or its
compressed data ends early: what came before is stored), 130 when interrupted
(Ctrl-C stops after the chunk being stored; running the same command again imports
the rest, nothing twice).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TextIO

from app.cli._arguments import positive
from app.cli._common import resolve_input
from app.studio import DEFAULT_CHUNK_SIZE, FORMATS, Progress, Rejection, Studio

#: Rejections printed one by one; the rest are only counted.
MAX_PRINTED_REJECTIONS = 100
EXIT_REJECTED = 1
EXIT_UNREADABLE = 2
EXIT_INTERRUPTED = 130


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = groups.add_parser(
        "import", help="import customer events from files",
        description="Import mParticle batches, Segment calls or CSV rows through one input.",
    )
    command.add_argument("files", nargs="+", type=Path, metavar="FILE",
                         help="files to import (gzip or plain)")
    command.add_argument("--format", required=True, choices=FORMATS,
                         help="mparticle (JSON batch, array or lines), segment (JSON lines) "
                         "or csv (columns in the README)")
    command.add_argument("--input", required=True, metavar="WORKSPACE/INPUT",
                         help='the input the events arrive through, e.g. "Streaming App/iOS"')
    command.add_argument("--chunk-size", type=positive, default=DEFAULT_CHUNK_SIZE, metavar="N",
                         help=f"events per transaction (default {DEFAULT_CHUNK_SIZE:,})")
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    command.set_defaults(handler=_import)


class ProgressBar:
    """A one-line progress bar on a terminal; an occasional line elsewhere."""

    WIDTH = 30

    def __init__(self, stream: TextIO, *, interval_s: float | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.interval_s = interval_s if interval_s is not None else (0.1 if self.live else 5.0)
        self._last = 0.0
        self._drawn = False

    def update(self, progress: Progress, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval_s:
            return
        self._last = now
        share = progress.bytes_read / progress.total_bytes if progress.total_bytes else 1.0
        filled = round(self.WIDTH * min(1.0, share))
        rate = progress.events_imported / progress.elapsed_s if progress.elapsed_s else 0.0
        line = (f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {share:4.0%}  "
                f"{progress.records:,} records  {progress.bytes_read / 1e6:,.1f} MB  "
                f"{progress.elapsed_s:,.1f} s  {rate:,.0f} events/s")
        if self.live:
            self.stream.write("\r" + line + "\x1b[K")
            self._drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def interrupt(self) -> None:
        """End the bar's line before other output goes to the same stream."""
        if self._drawn:
            self.stream.write("\n")
            self._drawn = False


def _import(studio: Studio, args: argparse.Namespace) -> int:
    input_id = resolve_input(studio, args.input)
    for path in args.files:
        if not path.is_file():
            print(f"journeys: Can't import {path}: there is no such file.", file=sys.stderr)
            return EXIT_UNREADABLE
    bar = None if args.quiet else ProgressBar(sys.stderr)
    printed = 0
    last: list[Progress] = []

    def on_reject(rejection: Rejection) -> None:
        nonlocal printed
        if printed < MAX_PRINTED_REJECTIONS:
            if bar is not None:
                bar.interrupt()
            print(rejection, file=sys.stderr)
        printed += 1

    def on_progress(progress: Progress) -> None:
        last[:] = [progress]
        if bar is not None:
            bar.update(progress)

    interrupted = False

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        nonlocal interrupted
        interrupted = True

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        summary = studio.import_files(
            args.files, args.format, input_id, chunk_size=args.chunk_size,
            progress=on_progress, on_reject=on_reject, cancelled=lambda: interrupted,
        )
    except OSError as problem:
        if bar is not None:
            bar.interrupt()
        where = problem.filename or ", ".join(str(f) for f in args.files)
        print(f"journeys: Can't read {where}: {problem.strerror or problem}", file=sys.stderr)
        return EXIT_UNREADABLE
    finally:
        signal.signal(signal.SIGINT, previous)
    if bar is not None and last:
        bar.update(last[0], force=True)
        bar.interrupt()
    if printed > MAX_PRINTED_REJECTIONS:
        print(f"… and {printed - MAX_PRINTED_REJECTIONS:,} more rejected records",
              file=sys.stderr)
    for damaged in summary.damaged_files:
        print(damaged, file=sys.stderr)
    print(summary.text())
    if summary.cancelled:
        print("Interrupted: every stored chunk is complete; run the same command again to "
              "import the rest.", file=sys.stderr)
        return EXIT_INTERRUPTED
    if summary.damaged_files:
        return EXIT_UNREADABLE
    return EXIT_REJECTED if summary.records_rejected else 0
