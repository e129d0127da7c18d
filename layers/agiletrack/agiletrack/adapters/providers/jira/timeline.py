"""Per-issue timelines of a Jira issue, built once from its history and then queried by instant.

An issue's value of a field at an instant ``t`` is its value after every change made at or before ``t``.
The value before the first change of a field is that change's ``from`` (the initial value); a field that
never changed has had its current value since the issue was created.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from agiletrack.adapters.providers.jira.records import JiraChange, JiraIssue, StatusCategory

T = TypeVar("T")

Category = StatusCategory | None
"""A status category; None for a status id no ``jira_status`` record (nor the issue itself) knows."""


_NO_SPRINTS: frozenset[str] = frozenset()
_SPRINT_SETS: dict[str, frozenset[str]] = {}
"""Parsed sprint lists by their text: 50,000 issues repeat a few dozen of them (bounded by ``_SPRINT_SETS_MAX``)."""
_SPRINT_SETS_MAX = 4096


def parse_sprint_ids(text: str | None) -> frozenset[str]:
    """Jira's comma-separated sprint ids (``"12, 13"``) as a set of strings; empty for none."""
    if not text:
        return _NO_SPRINTS
    known = _SPRINT_SETS.get(text)
    if known is None:
        known = frozenset(part.strip() for part in text.split(",") if part.strip())
        if len(_SPRINT_SETS) < _SPRINT_SETS_MAX:
            _SPRINT_SETS[text] = known
    return known


def parse_estimate(text: str | None) -> float | None:
    """An estimate written as text (``"3"``, ``"2.5"``); None when unset or not a number."""
    if text is None or not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        return None


@dataclass(slots=True)
class Steps(Generic[T]):
    """A value that changes at instants: ``initial`` until ``times[0]``, then ``values[i]`` from ``times[i]``."""

    initial: T
    times: list[datetime] = field(default_factory=list)
    values: list[T] = field(default_factory=list)

    def at(self, instant: datetime) -> T:
        index = bisect_right(self.times, instant)
        return self.values[index - 1] if index else self.initial


@dataclass(slots=True)
class IssueTimeline:
    """What the metrics need of one issue, computed in one pass over its history."""

    issue: JiraIssue
    category: Steps[Category]
    estimate: Steps[float | None]
    sprint_events: dict[str, list[tuple[datetime, bool]]]
    """Per sprint id the issue was ever in: its joins (True) and leaves (False), oldest first."""
    first_in_progress: datetime | None
    """The first change of status category into ``indeterminate``."""
    last_done: datetime | None
    """The last change of status category into ``done``."""

    def in_sprint(self, sprint_id: str, instant: datetime) -> bool:
        """Whether the issue was in the sprint at ``instant`` (after the changes at or before it)."""
        member = False
        for at, joined in self.sprint_events.get(sprint_id, ()):
            if at > instant:
                break
            member = joined
        return member


def build_timeline(issue: JiraIssue, categories: Mapping[str, StatusCategory]) -> IssueTimeline:
    """The timeline of ``issue``; ``categories`` maps status ids to their category (``jira_status``)."""

    def category_of(status_id: str | None) -> Category:
        if status_id is None:
            return None
        known = categories.get(status_id)
        if known is None and status_id == issue.status_id:
            return issue.status_category
        return known

    history = issue.history
    instants = [change.at for change in history]
    if instants != sorted(instants):
        history = sorted(history, key=lambda change: change.at)  # stable: same-instant order is kept
    status_changes: list[JiraChange] = []
    sprint_changes: list[JiraChange] = []
    estimate_changes: list[JiraChange] = []
    for change in history:
        name = change.field
        if name == "status":
            status_changes.append(change)
        elif name == "sprint":
            sprint_changes.append(change)
        elif name == "estimate":
            estimate_changes.append(change)
    initial_status = status_changes[0].from_value if status_changes else issue.status_id
    category: Steps[Category] = Steps(category_of(initial_status))
    first_in_progress: datetime | None = None
    last_done: datetime | None = None
    previous = category.initial
    times, values = category.times, category.values
    for change in status_changes:
        current = category_of(change.to_value)
        if current != previous:
            if current == "indeterminate" and first_in_progress is None:
                first_in_progress = change.at
            elif current == "done":
                last_done = change.at
        times.append(change.at)
        values.append(current)
        previous = current
    return IssueTimeline(
        issue=issue,
        category=category,
        estimate=_estimate_steps(issue, estimate_changes),
        sprint_events=_sprint_events(issue, sprint_changes),
        first_in_progress=first_in_progress,
        last_done=last_done,
    )


def _estimate_steps(issue: JiraIssue, changes: list[JiraChange]) -> Steps[float | None]:
    steps: Steps[float | None] = Steps(parse_estimate(changes[0].from_value) if changes else issue.estimate)
    for change in changes:
        steps.times.append(change.at)
        steps.values.append(parse_estimate(change.to_value))
    return steps


def _sprint_events(issue: JiraIssue, changes: list[JiraChange]) -> dict[str, list[tuple[datetime, bool]]]:
    """Joins and leaves per sprint. The initial sprints are joined at the issue's creation."""
    if changes:
        members = parse_sprint_ids(changes[0].from_value)
    elif not issue.sprint_ids:
        return {}
    else:
        members = frozenset(str(sprint) for sprint in issue.sprint_ids)
    events: dict[str, list[tuple[datetime, bool]]] = {sprint: [(issue.created_at, True)] for sprint in members}
    for change in changes:
        after = parse_sprint_ids(change.to_value)
        for sprint in sorted(after - members):
            events.setdefault(sprint, []).append((change.at, True))
        for sprint in sorted(members - after):
            events[sprint].append((change.at, False))
        members = after
    return events
