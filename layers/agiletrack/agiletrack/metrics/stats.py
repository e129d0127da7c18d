"""The common rules of ``METRICS.md``: duration statistics, rates, per-week figures, weekly series.

Every function is pure. Inputs are unrounded; only the numbers returned are rounded.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TypedDict

from agiletrack.metrics.window import Window

_P75 = 74
"""Index of the 75th percentile among the 99 cut points of ``quantiles(n=100)``."""
_P90 = 89
"""Index of the 90th percentile."""


class DurationStats(TypedDict):
    """``{"count", "median", "p75", "p90", "mean"}``; every field but ``count`` is None when it is 0."""

    count: int
    median: float | None
    p75: float | None
    p90: float | None
    mean: float | None


class WeekValue(TypedDict):
    """One point of a weekly series: the week's Monday (UTC, ``YYYY-MM-DD``) and its value."""

    week: str
    value: float


def round2(value: float) -> float:
    """Round to 2 decimals (durations, sums, per-week figures). Integers stay integers."""
    return round(value, 2)


def hours_between(start: datetime, end: datetime) -> float:
    """Hours from ``start`` to ``end``, unrounded; negative when ``end`` is earlier."""
    return (end - start).total_seconds() / 3600.0


def duration_stats(hours: Iterable[float]) -> DurationStats:
    """The duration statistic over ``hours`` (also used for unitless counts and sizes).

    Negative values (clock skew, bad data) and NaN are dropped and not counted. Percentiles are
    those of ``statistics.quantiles(values, n=100, method="inclusive")``; with a single value every
    field equals it, since ``quantiles`` refuses a single point.
    """
    values = [float(v) for v in hours if v >= 0 and not math.isnan(v)]
    if not values:
        return DurationStats(count=0, median=None, p75=None, p90=None, mean=None)
    if len(values) == 1:
        only = round2(values[0])
        return DurationStats(count=1, median=only, p75=only, p90=only, mean=only)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return DurationStats(
        count=len(values),
        median=round2(statistics.median(values)),
        p75=round2(cuts[_P75]),
        p90=round2(cuts[_P90]),
        mean=round2(statistics.fmean(values)),
    )


def rate(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator`` rounded to 4 decimals, or None when the denominator is 0."""
    if denominator == 0:
        return None
    return round(numerator / denominator, 4)


def per_week(count: float, window: Window) -> float:
    """``count / (window length in days / 7)``, rounded to 2 decimals."""
    return round2(count / (window.days / 7.0))


def week_start(ts: datetime) -> date:
    """The Monday (UTC calendar date) of the week holding ``ts``."""
    day = ts.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def weekly_series(window: Window, dated_values: Iterable[tuple[datetime, float]]) -> list[WeekValue]:
    """A weekly series over ``window``: one entry per week (Monday 00:00 UTC to the next) that
    overlaps ``[since, until)``, oldest first, zeros included.

    Each ``(timestamp, value)`` adds ``value`` to the week of its timestamp; pairs whose timestamp
    is outside the window are ignored, so a partial first or last week only holds what is in the
    window. Values are summed unrounded, and the sums rounded to 2 decimals (integer sums stay
    integers).
    """
    totals: dict[date, float] = {}
    monday = week_start(window.since)
    while datetime.combine(monday, time.min, tzinfo=UTC) < window.until:
        totals[monday] = 0
        monday += timedelta(days=7)
    for ts, value in dated_values:
        if window.contains(ts):
            totals[week_start(ts)] += value
    return [WeekValue(week=week.isoformat(), value=round2(total)) for week, total in totals.items()]
