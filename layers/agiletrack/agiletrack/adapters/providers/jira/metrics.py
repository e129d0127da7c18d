"""Jira metrics (``METRICS.md``, section "Jira"): issues, sprints, velocity, burndown, the backlog now.

Pure: the caller passes every Jira record of one integration (kind → records), the window and ``now``.

How the points the contract leaves open are read (also in ``docs/metrics.md``, section "Jira"):

- Categories come from ``jira_status`` by status id; a status id no record knows takes the category the
  issue reported when it is the issue's current status, else it is *unknown*: a change into an unknown
  status is neither an entry into done nor into in progress, and a change out of one into done is an entry.
- An issue's initial status, sprints and estimate are the ``from`` of the first change of that field, or the
  current value when the field never changed. Its creation is not a change: an issue created straight into
  a done (or in-progress) status has no entry into done (or in progress) until a later change makes one.
- Lead and cycle time use the issue's last entry into done over its whole history; the issue counts when
  that entry is in window. Cycle time starts at the first entry into ``indeterminate`` ever; when that
  came after the last entry into done the duration is negative and dropped.
- The state at an instant includes the changes made at that instant: an issue put in the sprint at the very
  second it starts is committed. Sprint moves at the completion instant are the completion's own: an issue
  moved out by the completion is not removed, and still counts as in the sprint at completion.
- Added and removed count every join and every leave between start and completion (an issue removed and
  put back counts in both, twice added if it joins twice), so committed + added - removed is the scope.
- Only started (``active`` or ``closed``) sprints with a start date are measured; a future sprint, or one
  without a start, is never listed, has no velocity and no burndown. A closed sprint without a completion
  date cannot be placed and is skipped too. Every ``jira_sprint`` record is taken as a sprint of the board.
- Velocity takes closed sprints completed before ``until``, newest by completion date.
- Burndown: the active sprint (the newest by start when several run), or ``sprint_id``; null when there is
  none, or when the sprint asked for has not started. Days run from the start date to the planned end date
  (the completion date, or today, when no end is planned). Added, removed and completed are all "so far";
  completed so far is the points, at that moment, of the issues in the sprint and in a done status then.
  A one-day sprint's ideal is 0 (its only day is its last).
- No board: every issue counts 1 point, ``sprints`` is ``[]``, velocity is all null, burndown is null, and a
  ``sprint_id`` is unknown (422). A board without an estimation field also counts 1 per issue, with sprints.
- Backlog: issues whose current status category is not ``done`` (unknown categories are in the backlog).
  An age below 0 (clock skew) counts as 0. Issues without a priority are left out of ``priority``.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from agiletrack.adapters.providers.jira.records import JiraBoard, JiraIssue, JiraSprint, JiraStatus, StatusCategory
from agiletrack.adapters.providers.jira.sprints import (
    PointsAt,
    SprintFigures,
    burndown,
    cutoff_of,
    members_by_sprint,
    sprint_entry,
    sprint_figures,
    sprint_order,
    velocity,
)
from agiletrack.adapters.providers.jira.timeline import IssueTimeline, build_timeline
from agiletrack.errors import ValidationFailed
from agiletrack.metrics.stats import WeekValue, duration_stats, hours_between, round2, weekly_series
from agiletrack.metrics.window import Window
from agiletrack.models.records import Record

AGE_BUCKETS: tuple[tuple[str, int], ...] = (("0-7d", 7), ("8-30d", 30), ("31-90d", 90), ("91-180d", 180))
"""Backlog age buckets by their last whole day; older is ``180d+``."""


class JiraData:
    """The records of one integration, read once: issue timelines, sprints, the board, the points rule."""

    def __init__(self, records: Mapping[str, Sequence[Record]]) -> None:
        statuses = [r for r in _live(records, "jira_status") if isinstance(r, JiraStatus)]
        self.categories: dict[str, StatusCategory] = {s.id: s.category for s in statuses}
        issues = [r for r in _live(records, "jira_issue") if isinstance(r, JiraIssue)]
        self.timelines = [build_timeline(issue, self.categories) for issue in issues]
        boards = sorted((r for r in _live(records, "jira_board") if isinstance(r, JiraBoard)), key=lambda b: b.id)
        self.board = boards[0] if boards else None
        sprints = [r for r in _live(records, "jira_sprint") if isinstance(r, JiraSprint)]
        self.sprints = sprints if self.board is not None else []
        self.members = members_by_sprint(self.timelines)
        self.points: PointsAt = _estimate_points if self.board and self.board.estimation_field else _one_point

    def current_category(self, issue: JiraIssue) -> StatusCategory | None:
        return self.categories.get(issue.status_id, issue.status_category)


def _live(records: Mapping[str, Sequence[Record]], kind: str) -> list[Record]:
    return [r for r in records.get(kind, ()) if not r.deleted]


def _estimate_points(timeline: IssueTimeline, instant: datetime) -> float:
    return timeline.estimate.at(instant) or 0.0


def _one_point(timeline: IssueTimeline, instant: datetime) -> float:
    del timeline, instant
    return 1.0


def compute_jira_metrics(
    records: Mapping[str, Sequence[Record]],
    since: datetime,
    until: datetime,
    now: datetime,
    *,
    sprint_id: str | None = None,
    data: JiraData | None = None,
) -> dict[str, Any]:
    """The ``metrics`` object of a Jira integration. Raises ``ValidationFailed`` for an unknown ``sprint_id``.
    ``data``: the records already read into timelines (``JiraData(records)``), to share with the series."""
    window = Window(since=since, until=until)
    data = data if data is not None else JiraData(records)
    return {
        "issues": issue_metrics(data, window),
        "sprints": sprint_list(data, window, now),
        "velocity": velocity_of(data, window, now),
        "burndown": burndown_of(data, now, sprint_id),
        "now": {"backlog": backlog(data, now)},
    }


def compute_jira_series(
    records: Mapping[str, Sequence[Record]],
    since: datetime,
    until: datetime,
    now: datetime,
    *,
    sprint_id: str | None = None,
    data: JiraData | None = None,
) -> dict[str, list[WeekValue]]:
    """The ``series`` object: ``issues_created``, ``issues_resolved``, ``points_completed`` (weekly). ``data`` as
    for ``compute_jira_metrics``: one parse of the records serves both."""
    del now, sprint_id  # Same inputs as the metrics; the series depend on neither.
    window = Window(since=since, until=until)
    data = data if data is not None else JiraData(records)
    issues = [t.issue for t in data.timelines]
    return {
        "issues_created": weekly_series(window, [(i.created_at, 1) for i in issues]),
        "issues_resolved": weekly_series(window, [(i.resolution_date, 1) for i in issues if i.resolution_date]),
        "points_completed": weekly_series(
            window, [(t.last_done, data.points(t, t.last_done)) for t in data.timelines if t.last_done is not None]
        ),
    }


# ---------------------------------------------------------------- issues


def issue_metrics(data: JiraData, window: Window) -> dict[str, Any]:
    issues = [t.issue for t in data.timelines]
    done = [t for t in data.timelines if t.last_done is not None and window.contains(t.last_done)]
    lead = [hours_between(t.issue.created_at, t.last_done) for t in done if t.last_done is not None]
    cycle = [
        hours_between(t.first_in_progress, t.last_done)
        for t in done
        if t.first_in_progress is not None and t.last_done is not None
    ]
    resolved = [i for i in issues if i.resolution_date is not None and window.contains(i.resolution_date)]
    return {
        "created": sum(1 for i in issues if window.contains(i.created_at)),
        "resolved": len(resolved),
        "lead_time": duration_stats(lead),
        "cycle_time": duration_stats(cycle),
        "resolution_time": duration_stats(
            hours_between(i.created_at, i.resolution_date) for i in resolved if i.resolution_date is not None
        ),
    }


# ---------------------------------------------------------------- sprints


def _started(data: JiraData) -> list[tuple[JiraSprint, datetime]]:
    """The sprints that can be measured, with their start; closed ones need a completion date."""
    started: list[tuple[JiraSprint, datetime]] = []
    for sprint in data.sprints:
        if sprint.state == "future" or sprint.start is None:
            continue
        if sprint.state == "closed" and sprint.complete is None:
            continue
        started.append((sprint, sprint.start))
    return started


def sprint_list(data: JiraData, window: Window, now: datetime) -> list[dict[str, Any]]:
    """The sprints active at any time in window, newest first by start."""
    listed = [
        (sprint, start)
        for sprint, start in _started(data)
        if start < window.until
        and (sprint.state == "active" or (sprint.complete is not None and sprint.complete > window.since))
    ]
    listed.sort(key=lambda pair: (pair[1], sprint_order(pair[0])), reverse=True)
    return [sprint_entry(sprint, _figures(data, sprint, start, now)) for sprint, start in listed]


def _figures(data: JiraData, sprint: JiraSprint, start: datetime, now: datetime) -> SprintFigures:
    members = data.members.get(sprint.id, [])
    return sprint_figures(sprint, start, members, data.points, cutoff_of(sprint, now))


def velocity_of(data: JiraData, window: Window, now: datetime) -> dict[str, float | None]:
    closed = [
        (sprint.complete, start, sprint)
        for sprint, start in _started(data)
        if sprint.state == "closed" and sprint.complete is not None and sprint.complete < window.until
    ]
    closed.sort(key=lambda item: (item[0], item[1], sprint_order(item[2])), reverse=True)
    return velocity([_figures(data, sprint, start, now).completed for _, start, sprint in closed[:3]])


def burndown_of(data: JiraData, now: datetime, sprint_id: str | None) -> dict[str, Any] | None:
    if sprint_id is not None:
        chosen = next((s for s in data.sprints if s.id == sprint_id), None)
        if chosen is None:
            reason = "this project has no board, so no sprints" if data.board is None else "no sprint of the board"
            raise ValidationFailed(
                f"Unknown sprint_id {sprint_id!r}: {reason} has that id.", details={"sprint_id": sprint_id}
            )
    else:
        active = [s for s in data.sprints if s.state == "active" and s.start is not None]
        chosen = max(active, key=lambda s: (s.start, sprint_order(s)), default=None)
    started = {s.id: start for s, start in _started(data)}
    if chosen is None or chosen.id not in started:
        return None
    return burndown(chosen, started[chosen.id], data.members.get(chosen.id, []), data.points, now)


# ---------------------------------------------------------------- backlog


def backlog(data: JiraData, now: datetime) -> dict[str, Any]:
    """``now.backlog``: unresolved issues (status category not ``done``), ageing from creation."""
    open_issues = [t.issue for t in data.timelines if data.current_category(t.issue) != "done"]
    ages = [max(0.0, hours_between(i.created_at, now) / 24.0) for i in open_issues]
    buckets = {name: 0 for name, _ in AGE_BUCKETS} | {"180d+": 0}
    for age in ages:
        buckets[_bucket(math.floor(age))] += 1
    return {
        "total": len(open_issues),
        "age": buckets,
        "median_age_days": round2(statistics.median(ages)) if ages else None,
        "priority": dict(Counter(i.priority for i in open_issues if i.priority)),
        "status": dict(Counter(i.status for i in open_issues)),
    }


def _bucket(whole_days: int) -> str:
    for name, last_day in AGE_BUCKETS:
        if whole_days <= last_day:
            return name
    return "180d+"
