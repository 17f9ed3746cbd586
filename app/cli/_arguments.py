"""Checked argument types: a value that can't be right is argparse's usage error.

Each function is an argparse ``type=``: it turns the text into the value or raises
:class:`argparse.ArgumentTypeError` with the reason, which argparse prints under the
command's usage line (exit code 2) before any database is opened, where the value
would otherwise end in a traceback deep inside (``--chunk-size 0``) or an
evaluation of a time no event can have (``--as-of 0001-01-01``).
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta

from app.studio import MIN_TIMESTAMP_MS

EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=MIN_TIMESTAMP_MS)
"""The earliest time an imported event may have: nothing can be evaluated before it."""


def whole_number(text: str) -> int:
    """Any whole number (a seed)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number, not “{text}”") from None


def _at_least(text: str, lowest: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = lowest - 1
    if value < lowest:
        raise argparse.ArgumentTypeError(f"a whole number of {lowest} or more, not “{text}”")
    return value


def positive(text: str) -> int:
    """A whole number of 1 or more (a size, a count of events per transaction)."""
    return _at_least(text, 1)


def not_negative(text: str) -> int:
    """A whole number of 0 or more (a number of users)."""
    return _at_least(text, 0)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"(\d+)([smhd])")


def interval(text: str) -> timedelta:
    """A time between runs: whole numbers with s, m, h or d (30s, 15m, 2h, 1h30m), above 0."""
    spec = text.strip().lower()
    parts = _INTERVAL.findall(spec)
    if not parts or "".join(n + u for n, u in parts) != spec:
        raise argparse.ArgumentTypeError(
            f"“{text}” is not an interval; write e.g. 30s, 15m, 2h or 1h30m"
        )
    seconds = sum(int(number) * _UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"“{text}” is no time at all; write e.g. 30s, 15m or 2h")
    if seconds > 366 * 86400:
        raise argparse.ArgumentTypeError(f"“{text}” is longer than a year; write e.g. 1d")
    return timedelta(seconds=seconds)


def utc_time(text: str) -> datetime:
    """An ISO-8601 time as aware UTC (a time without zone is UTC), not before any event."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"“{text}” is not an ISO-8601 time; write e.g. 2024-03-01 or 2024-03-01T12:00:00Z"
        ) from None
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise argparse.ArgumentTypeError(
            f"“{text}” is not a time that can be written in UTC"
        ) from None
    if moment < EARLIEST_TIME:
        raise argparse.ArgumentTypeError(
            f"“{text}” is before {EARLIEST_TIME:%Y-%m-%d}, the earliest time events are kept"
        )
    return moment
