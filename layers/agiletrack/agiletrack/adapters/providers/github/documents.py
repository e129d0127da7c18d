"""The GitHub metrics answer as models (``METRICS.md``, section "GitHub"), for the OpenAPI document."""

from __future__ import annotations

from pydantic import Field

from agiletrack.metrics.shape import DurationStatistic, Strict, Week


class CommentCounts(Strict):
    total: int
    per_pr: DurationStatistic = Field(description="Comments per PR, as a duration statistic without units")


class PullRequestMetrics(Strict):
    opened: int
    opened_per_week: float
    merged: int
    closed_unmerged: int
    merge_rate: float | None
    pickup_time: DurationStatistic = Field(description="Hours from reviewable to the first non-author review")
    review_time: DurationStatistic = Field(description="Hours from the first review to the merge")
    time_to_merge: DurationStatistic = Field(description="Hours from created to merged")
    comments: CommentCounts


class AuthorShare(Strict):
    author: str = Field(description="GitHub login, or the lower-cased email of a commit with no linked user")
    commits: int
    share: float | None


class CommitMetrics(Strict):
    count: int
    per_week: float
    weekly: list[Week]
    size: DurationStatistic = Field(description="Lines changed (additions + deletions) per commit")
    authors: list[AuthorShare]


class IssueMetrics(Strict):
    opened: int
    closed: int
    close_rate: float | None
    time_to_close: DurationStatistic


class GitHubMetrics(Strict):
    pull_requests: PullRequestMetrics
    commits: CommitMetrics
    issues: IssueMetrics


class GitHubSeries(Strict):
    prs_opened: list[Week]
    prs_merged: list[Week]
    commits: list[Week]
    issues_opened: list[Week]
    issues_closed: list[Week]
