"""The arithmetic beside the size history chart: the last 24 hours and volatility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.history import (
    Change,
    SizePoint,
    change_within,
    in_window,
    percent,
    summarize,
    volatility,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def point(ago: timedelta, size: int, added: int = 0, removed: int = 0) -> SizePoint:
    return SizePoint(as_of=NOW - ago, size=size, added=added, removed=removed)


def test_the_24_hour_window_leaves_out_a_point_exactly_a_day_old() -> None:
    points = [
        point(DAY + HOUR, 100, 100),   # the first evaluation, a day and an hour ago
        point(DAY, 110, 15, 5),        # exactly 24 hours ago: the day before's
        point(DAY - timedelta(seconds=1), 112, 4, 2),
        point(HOUR, 120, 10, 2),
        point(timedelta(0), 118, 1, 3),  # now: counted
    ]
    assert change_within(points, NOW) == Change(added=15, removed=7, evaluations=3)
    assert [p.size for p in in_window(points, NOW, DAY)] == [112, 120, 118]
    # A point after "now" (a replay of a later time) is not in the last 24 hours.
    later = [*points, SizePoint(NOW + HOUR, 130, 12, 0)]
    assert change_within(later, NOW) == Change(added=15, removed=7, evaluations=3)


def test_volatility_is_the_churn_of_the_week_over_the_average_size() -> None:
    points = [
        point(10 * DAY, 50, 50),       # the first evaluation, before the week
        point(7 * DAY, 80, 40, 10),    # exactly a week old: outside
        point(6 * DAY, 100, 30, 10),
        point(3 * DAY, 90, 5, 15),
        point(DAY, 110, 25, 5),
    ]
    # (30+10 + 5+15 + 25+5) / mean(100, 90, 110) = 90 / 100
    assert volatility(points, NOW) == pytest.approx(0.9)
    assert percent(volatility(points, NOW)) == "90%"


def test_the_first_evaluation_fills_the_audience_and_is_not_change() -> None:
    first = point(2 * DAY, 200, 200)
    assert volatility([first], NOW) is None
    # 10 joined and 30 left at the second evaluation; the average size is (200 + 180) / 2.
    second = point(DAY, 180, 10, 30)
    assert volatility([first, second], NOW) == pytest.approx(40 / 190)
    assert percent(40 / 190) == "21.1%"


def test_a_steady_audience_has_no_volatility_and_an_empty_one_none() -> None:
    steady = [point(3 * DAY, 40, 40), point(2 * DAY, 40), point(DAY, 40)]
    assert volatility(steady, NOW) == 0
    assert percent(volatility(steady, NOW)) == "0%"
    empty = [point(3 * DAY, 0), point(2 * DAY, 0)]
    assert volatility(empty, NOW) is None
    assert percent(None) == "—"
    # Nothing stored in the week: nothing to measure.
    assert volatility([point(9 * DAY, 10, 10), point(8 * DAY, 12, 2)], NOW) is None


def test_no_points_and_one_point() -> None:
    nothing = summarize([], NOW)
    assert nothing.evaluations == 0 and nothing.latest is None
    assert nothing.last_24_hours == Change(0, 0, 0) and nothing.volatility is None
    only = point(2 * HOUR, 7, 7)
    one = summarize([only], NOW)
    assert one.evaluations == 1 and one.latest == only
    assert one.last_24_hours == Change(added=7, removed=0, evaluations=1)
    assert one.volatility is None
