"""Sprint figures of the Jira metrics: the sprint report, velocity and the burndown.

Pure. The readings of the contract are in the module docstring of ``jira.metrics`` and in ``docs/metrics.md``.
In short: the state at an instant includes the changes made at that instant, except that the sprint
moves made at the completion instant are the completion's own (an issue moved out by the completion was
still in the sprint at its completion, and is not "removed").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from agiletrack.adapters.providers.jira.records import JiraSprint
from agiletrack.adapters.providers.jira.timeline import IssueTimeline
from agiletrack.metrics.stats import rate, round2
from agiletrack.models.common import iso_short

PointsAt = Callable[[IssueTimeline, datetime], float]
"""The points an issue counts at an instant (its estimate then, 0 without one, or 1 per issue)."""

_TICK = timedelta(microseconds=1)
""""Just before" an instant: Jira's timestamps have millisecond precision, so nothing falls in between."""


@dataclass(frozen=True, slots=True)
class SprintFigures:
    committed: float
    added: float
    removed: float
    completed: float


def cutoff_of(sprint: JiraSprint, now: datetime) -> datetime:
    """When the sprint's figures are taken: its completion, or now while it runs (never after now)."""
    return min(sprint.complete, now) if sprint.complete is not None else now


def sprint_figures(
    sprint: JiraSprint, start: datetime, members: Sequence[IssueTimeline], points: PointsAt, until: datetime
) -> SprintFigures:
    """Committed, added, removed and completed points of ``sprint`` up to ``until`` (its cutoff, or the
    end of a burndown day); ``members`` are the issues that were ever in it."""
    committed = added = removed = completed = 0.0
    moves_until = until - _TICK  # moves at the cutoff itself are the completion's own
    for timeline in members:
        # One pass over the issue's joins and leaves: membership at the start and at the cutoff (as
        # ``IssueTimeline.in_sprint`` reads it: the events up to the first one after the instant), and the moves.
        in_at_start = in_at_end = False
        reading_start = reading_end = True
        for at, joined in timeline.sprint_events[sprint.id]:
            if reading_start:
                if at > start:
                    reading_start = False
                else:
                    in_at_start = joined
            if reading_end:
                if at > moves_until:
                    reading_end = False
                else:
                    in_at_end = joined
            if start < at <= moves_until:
                if joined:
                    added += points(timeline, at)
                else:
                    removed += points(timeline, at)
        if in_at_start:
            committed += points(timeline, start)
        if in_at_end and timeline.category.at(until) == "done":
            completed += points(timeline, until)
    return SprintFigures(committed=committed, added=added, removed=removed, completed=completed)


def sprint_entry(sprint: JiraSprint, figures: SprintFigures) -> dict[str, Any]:
    """One entry of ``sprints``."""
    return {
        "id": sprint.id,
        "name": sprint.name,
        "state": sprint.state,
        "start": _iso_or_none(sprint.start),
        "end": _iso_or_none(sprint.end),
        "complete": _iso_or_none(sprint.complete),
        "committed_points": round2(figures.committed),
        "added_points": round2(figures.added),
        "removed_points": round2(figures.removed),
        "completed_points": round2(figures.completed),
        "commitment_accuracy": rate(figures.completed, figures.committed),
    }


def _iso_or_none(value: datetime | None) -> str | None:
    return iso_short(value) if value is not None else None


def velocity(completed_newest_first: Sequence[float]) -> dict[str, float | None]:
    """``{"last", "mean_last_3"}`` from the completed points of the closed sprints, newest first."""
    newest = list(completed_newest_first[:3])
    if not newest:
        return {"last": None, "mean_last_3": None}
    return {"last": round2(newest[0]), "mean_last_3": round2(sum(newest) / len(newest))}


def sprint_order(sprint: JiraSprint) -> tuple[int, str]:
    """A tie-break between sprints: numeric ids by number."""
    return (int(sprint.id) if sprint.id.isdigit() else -1, sprint.id)


def burndown(
    sprint: JiraSprint,
    start: datetime,
    members: Sequence[IssueTimeline],
    points: PointsAt,
    now: datetime,
) -> dict[str, Any]:
    """``{"sprint_id", "days": [{"date", "remaining_points", "ideal_points"}]}`` of a started sprint."""
    cutoff = cutoff_of(sprint, now)
    last_day = (sprint.end or cutoff).astimezone(UTC).date()
    days = _days(start.astimezone(UTC).date(), last_day)
    committed = sprint_figures(sprint, start, members, points, start).committed
    entries: list[dict[str, Any]] = []
    for index, day in enumerate(days):
        day_start = datetime.combine(day, time.min, tzinfo=UTC)
        remaining: float | None = None
        if day_start <= now:
            end_of_day = min(day_start + timedelta(days=1) - _TICK, cutoff)
            so_far = sprint_figures(sprint, start, members, points, end_of_day)
            remaining = round2(committed + so_far.added - so_far.removed - so_far.completed)
        entries.append(
            {
                "date": day.isoformat(),
                "remaining_points": remaining,
                "ideal_points": _ideal(committed, index, len(days)),
            }
        )
    return {"sprint_id": sprint.id, "days": entries}


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _ideal(committed: float, index: int, count: int) -> float:
    """Linear from ``committed`` on day 0 to 0 on the last day; a one-day sprint's only day is its last (0)."""
    if count <= 1:
        return 0.0
    return round2(committed * (1 - index / (count - 1)))


def members_by_sprint(timelines: Sequence[IssueTimeline]) -> Mapping[str, list[IssueTimeline]]:
    """Sprint id → the issues that were ever in it (built once: no sprint-by-issue scan)."""
    index: dict[str, list[IssueTimeline]] = {}
    for timeline in timelines:
        for sprint_id in timeline.sprint_events:
            index.setdefault(sprint_id, []).append(timeline)
    return index
