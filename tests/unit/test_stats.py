"""Unit tests of the common metric rules (``agiletrack.metrics.stats`` and ``window``).

Expected numbers are worked out by hand in the comments. ``statistics.quantiles(..., method=
"inclusive")`` interpolates linearly: with sorted values x[0..n-1], the p-th percentile sits at
position (n - 1) * p / 100, i.e. x[k] + f * (x[k+1] - x[k]) for position k + f.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from agiletrack.metrics.stats import (
    duration_stats,
    hours_between,
    per_week,
    rate,
    round2,
    week_start,
    weekly_series,
)
from agiletrack.metrics.window import Window


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """An instant in January 2024, UTC. 2024-01-01 is a Monday."""
    return datetime(2024, 1, day, hour, minute, second, tzinfo=UTC)


# ---------------------------------------------------------------- Window


def test_window_is_half_open() -> None:
    window = Window(since=at(3, 12), until=at(10))
    assert window.contains(at(3, 12))  # since is inside
    assert not window.contains(at(3, 11, 59, 59))
    assert window.contains(at(10) - timedelta(microseconds=1))
    assert not window.contains(at(10))  # until is outside
    assert not window.contains(None)


def test_window_days_and_utc_normalisation() -> None:
    plus2 = timezone(timedelta(hours=2))
    window = Window(since=datetime(2024, 1, 1, 2, 0, tzinfo=plus2), until=at(31))
    # 2024-01-01T02:00+02:00 is 2024-01-01T00:00Z; to 2024-01-31T00:00Z is 30 days.
    assert window.since == at(1)
    assert window.since.tzinfo is UTC
    assert window.days == 30.0
    # 36 hours = 1.5 days.
    assert Window(since=at(1), until=at(2, 12)).days == 1.5


def test_window_rejects_naive_and_empty_or_reversed() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(since=datetime(2024, 1, 1), until=at(2))
    with pytest.raises(ValueError, match="after"):
        Window(since=at(2), until=at(2))
    with pytest.raises(ValueError, match="after"):
        Window(since=at(3), until=at(2))


def test_window_last_days() -> None:
    window = Window.last_days(30, now=at(31, 6))
    assert window == Window(since=at(1, 6), until=at(31, 6))
    assert Window.last_days(now=at(31)).days == 30.0


# ---------------------------------------------------------------- duration_stats


def test_duration_stats_empty_is_count_zero_and_nulls() -> None:
    assert duration_stats([]) == {"count": 0, "median": None, "p75": None, "p90": None, "mean": None}


def test_duration_stats_single_value_sets_every_field() -> None:
    assert duration_stats([5.0]) == {"count": 1, "median": 5.0, "p75": 5.0, "p90": 5.0, "mean": 5.0}
    # 2.345678 rounds to 2.35 everywhere.
    assert duration_stats([2.345678]) == {"count": 1, "median": 2.35, "p75": 2.35, "p90": 2.35, "mean": 2.35}
    # Zero is a duration, not a negative one.
    assert duration_stats([0.0]) == {"count": 1, "median": 0.0, "p75": 0.0, "p90": 0.0, "mean": 0.0}


def test_duration_stats_five_values() -> None:
    # sorted [1, 2, 3, 4, 10]; median x[2] = 3
    # p75 at position 4 * 0.75 = 3 -> x[3] = 4
    # p90 at position 4 * 0.90 = 3.6 -> 4 + 0.6 * (10 - 4) = 7.6
    # mean 20 / 5 = 4
    assert duration_stats([10, 2, 4, 1, 3]) == {"count": 5, "median": 3, "p75": 4, "p90": 7.6, "mean": 4}


def test_duration_stats_drops_negatives_and_does_not_count_them() -> None:
    # -3 and -0.5 dropped; [2, 4]: median 3, p75 2 + 0.75 * 2 = 3.5, p90 2 + 0.9 * 2 = 3.8, mean 3
    result = duration_stats([-3.0, 4.0, -0.5, 2.0])
    assert result == {"count": 2, "median": 3.0, "p75": 3.5, "p90": 3.8, "mean": 3.0}
    # Only negatives: nothing left.
    assert duration_stats([-1.0, -2.0])["count"] == 0


def test_duration_stats_single_value_left_after_dropping_negatives() -> None:
    assert duration_stats([-7.0, 9.0]) == {"count": 1, "median": 9.0, "p75": 9.0, "p90": 9.0, "mean": 9.0}


def test_duration_stats_rounds_only_the_final_numbers() -> None:
    # [0, 0.016], unrounded: median 0.008 -> 0.01, p75 0.012 -> 0.01, p90 0.0144 -> 0.01, mean 0.01.
    # Rounding the inputs first ([0, 0.02]) would give p90 0.018 -> 0.02.
    result = duration_stats([0.0, 0.016])
    assert result == {"count": 2, "median": 0.01, "p75": 0.01, "p90": 0.01, "mean": 0.01}


def test_duration_stats_of_counts_and_generators() -> None:
    # [0, 1, 3]: median 1; p75 at 1.5 -> 1 + 0.5 * 2 = 2; p90 at 1.8 -> 1 + 0.8 * 2 = 2.6; mean 4/3 = 1.33
    result = duration_stats(n for n in (3, 0, 1))
    assert result == {"count": 3, "median": 1, "p75": 2, "p90": 2.6, "mean": 1.33}


def test_duration_stats_median_of_even_count() -> None:
    # [1, 2, 3, 4]: median (2 + 3) / 2 = 2.5; p75 at 2.25 -> 3.25; p90 at 2.7 -> 3.7; mean 2.5
    assert duration_stats([4, 3, 2, 1]) == {"count": 4, "median": 2.5, "p75": 3.25, "p90": 3.7, "mean": 2.5}


# ---------------------------------------------------------------- small helpers


def test_hours_between() -> None:
    assert hours_between(at(1, 10), at(1, 11, 30)) == 1.5
    assert hours_between(at(1, 11, 30), at(1, 10)) == -1.5
    assert hours_between(at(1), at(3)) == 48.0
    # Unrounded: 1 second = 1/3600 h.
    assert hours_between(at(1), at(1, 0, 0, 1)) == pytest.approx(1 / 3600)


def test_rate() -> None:
    assert rate(1, 3) == 0.3333
    assert rate(2, 3) == 0.6667
    assert rate(0, 5) == 0.0
    assert rate(5, 5) == 1.0
    assert rate(0, 0) is None


def test_per_week() -> None:
    # 30 days = 30/7 weeks; 10 / (30/7) = 70/30 = 2.333... -> 2.33
    assert per_week(10, Window(since=at(1), until=at(31))) == 2.33
    # 14 days = 2 weeks; 3 / 2 = 1.5
    assert per_week(3, Window(since=at(1), until=at(15))) == 1.5
    # 3.5 days = 0.5 weeks; 1 / 0.5 = 2
    assert per_week(1, Window(since=at(1), until=at(4, 12))) == 2.0
    assert per_week(0, Window(since=at(1), until=at(15))) == 0.0


def test_round2() -> None:
    assert round2(1.234) == 1.23
    assert round2(1.236) == 1.24
    seven = round2(7)
    assert seven == 7
    assert isinstance(seven, int)


# ---------------------------------------------------------------- weeks


def test_week_start_is_monday_utc() -> None:
    assert week_start(at(1)).isoformat() == "2024-01-01"  # Monday itself
    assert week_start(at(7, 23, 59, 59)).isoformat() == "2024-01-01"  # Sunday night
    assert week_start(at(8)).isoformat() == "2024-01-08"
    # Monday 01:00 at +02:00 is Sunday 23:00 UTC: the previous week.
    plus2 = timezone(timedelta(hours=2))
    assert week_start(datetime(2024, 1, 8, 1, 0, tzinfo=plus2)).isoformat() == "2024-01-01"
    # Across a year boundary: 2023-12-31 is a Sunday, its Monday is 2023-12-25.
    assert week_start(datetime(2023, 12, 31, 12, tzinfo=UTC)).isoformat() == "2023-12-25"


def test_weekly_series_covers_every_overlapping_week_with_zeros() -> None:
    # Wednesday 2024-01-03 12:00 to Monday 2024-01-22 00:00 (excluded): weeks of 01-01, 01-08, 01-15.
    window = Window(since=at(3, 12), until=at(22))
    plus2 = timezone(timedelta(hours=2))
    values = [
        (at(3, 11, 59), 1),  # before since: ignored
        (at(3, 12), 1),  # since: week 01-01
        (at(7, 23, 59, 59), 1),  # Sunday: week 01-01
        (datetime(2024, 1, 8, 1, 0, tzinfo=plus2), 1),  # Sunday 23:00 UTC: week 01-01
        (at(8), 1),  # Monday 00:00: week 01-08
        (at(22), 1),  # until: ignored
    ]
    assert weekly_series(window, values) == [
        {"week": "2024-01-01", "value": 3},
        {"week": "2024-01-08", "value": 1},
        {"week": "2024-01-15", "value": 0},
    ]


def test_weekly_series_until_just_past_monday_adds_that_week() -> None:
    window = Window(since=at(3, 12), until=at(22, 0, 0, 1))
    assert weekly_series(window, [(at(22), 2)]) == [
        {"week": "2024-01-01", "value": 0},
        {"week": "2024-01-08", "value": 0},
        {"week": "2024-01-15", "value": 0},
        {"week": "2024-01-22", "value": 2},
    ]


def test_weekly_series_short_window_inside_one_week() -> None:
    # Tuesday to Thursday: only the week of Monday 01-08, with nothing in it.
    assert weekly_series(Window(since=at(9), until=at(11)), []) == [{"week": "2024-01-08", "value": 0}]


def test_weekly_series_sums_values_and_rounds_the_sum() -> None:
    # 0.1 + 0.2 = 0.30000000000000004 -> 0.3
    window = Window(since=at(1), until=at(8))
    assert weekly_series(window, [(at(2), 0.1), (at(3), 0.2)]) == [{"week": "2024-01-01", "value": 0.3}]
