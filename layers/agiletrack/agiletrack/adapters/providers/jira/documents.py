"""The Jira metrics answer as models (``METRICS.md``, section "Jira"), for the OpenAPI document."""

from __future__ import annotations

from pydantic import Field

from agiletrack.metrics.shape import DurationStatistic, Strict, Week


class IssueMetrics(Strict):
    created: int
    resolved: int
    lead_time: DurationStatistic
    cycle_time: DurationStatistic
    resolution_time: DurationStatistic


class SprintMetrics(Strict):
    id: str
    name: str
    state: str = Field(description="active or closed")
    start: str | None
    end: str | None
    complete: str | None
    committed_points: float
    added_points: float
    removed_points: float
    completed_points: float
    commitment_accuracy: float | None = Field(description="completed / committed; may exceed 1")


class Velocity(Strict):
    last: float | None
    mean_last_3: float | None


class BurndownDay(Strict):
    date: str = Field(description="YYYY-MM-DD (UTC)")
    remaining_points: float | None = Field(description="null for a day that has not begun")
    ideal_points: float


class Burndown(Strict):
    sprint_id: str
    days: list[BurndownDay]


class Backlog(Strict):
    total: int
    age: dict[str, int] = Field(description="Open issues per age bucket: 0-7d, 8-30d, 31-90d, 91-180d, 180d+")
    median_age_days: float | None
    priority: dict[str, int]
    status: dict[str, int]


class JiraNow(Strict):
    backlog: Backlog


class JiraMetrics(Strict):
    issues: IssueMetrics
    sprints: list[SprintMetrics] = Field(description="Sprints active at any time in the window, newest first")
    velocity: Velocity
    burndown: Burndown | None = Field(description="The active sprint's (or sprint_id's); null when there is none")
    now: JiraNow


class JiraSeries(Strict):
    issues_created: list[Week]
    issues_resolved: list[Week]
    points_completed: list[Week]
