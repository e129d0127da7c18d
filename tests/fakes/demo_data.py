"""A few months of believable activity for the fake providers, shared by ``make demo`` and the browser tests.

GitHub: the fake's own synthetic repository over the last ``days``. Jira: project ENG on board 7 with
two-week sprints back to ``days`` ago (the newest one active), stories of 1 to 8 points that go from To Do
through In Progress to Done, some carried over or added mid-sprint, and a backlog of various ages and
priorities. The same ``seed`` gives the same data relative to ``now``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from tests.fakes.github import FakeGitHub
from tests.fakes.jira import FakeJira

DONE, IN_PROGRESS, TO_DO = "10001", "3", "10000"
SPRINT_DAYS = 14
BOARD = 7
POINTS = (1, 2, 3, 3, 5, 5, 8)
PRIORITIES = ("Highest", "High", "Medium", "Medium", "Medium", "Low", "Lowest")


def demo_github(*, days: int = 120, seed: int = 11, **kwargs: object) -> FakeGitHub:
    """A repository with about two PRs and five commits a working day over ``days``."""
    return FakeGitHub.synthetic(
        prs=days * 2, commits=days * 5, issues=days // 2, seed=seed, days=days, owner="acme", name="checkout", **kwargs
    )


def _sprint_issue(
    fake: FakeJira,
    rng: random.Random,
    sprint: int,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    added: bool = False,
) -> None:
    """One story of ``sprint``: in it from its start, or (``added``) joining a few days later."""
    joined = min(start + timedelta(days=rng.uniform(1, 5)), now - timedelta(hours=1)) if added else start
    created = joined - timedelta(days=rng.uniform(0.1, 10))
    issue = fake.add_issue(created, estimate=float(rng.choice(POINTS)), sprints=[] if added else [sprint])
    issue.priority = rng.choice(PRIORITIES)
    issue.summary = f"Story {issue.key}"
    if added:
        fake.change(issue, joined, sprints=[sprint])
    begun = joined + timedelta(hours=rng.uniform(2, SPRINT_DAYS * 24 * 0.6))
    if begun >= now:
        return
    fake.change(issue, begun, status=IN_PROGRESS)
    finished = begun + timedelta(hours=rng.uniform(6, 24 * 6))
    if rng.random() < 0.8 and finished < min(end, now):
        fake.change(issue, finished, status=DONE)


def demo_jira(*, days: int = 120, seed: int = 7, now: datetime | None = None, **kwargs: object) -> FakeJira:
    """Project ENG, board 7: sprints of two weeks back to ``days`` ago (the last one active), a backlog."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    rng = random.Random(seed)
    fake = FakeJira(**kwargs)  # type: ignore[arg-type]
    sprints = max(2, days // SPRINT_DAYS)
    first = (now - timedelta(days=(sprints - 1) * SPRINT_DAYS + 4)).replace(hour=9, minute=0, second=0)
    for index in range(sprints):
        sprint_id = 100 + index
        start = first + timedelta(days=index * SPRINT_DAYS)
        end = start + timedelta(days=SPRINT_DAYS)
        active = end > now
        fake.add_sprint(BOARD, sprint_id, "active" if active else "closed", start, end, None if active else end)
        for _ in range(rng.randrange(8, 14)):
            _sprint_issue(fake, rng, sprint_id, start, end, now)
        for _ in range(rng.randrange(1, 3)):  # added after the start
            _sprint_issue(fake, rng, sprint_id, start, end, now, added=True)
    for _ in range(25):  # the backlog: not in any sprint, of every age
        issue = fake.add_issue(now - timedelta(days=rng.uniform(0, days * 1.8)), estimate=float(rng.choice(POINTS)))
        issue.priority = rng.choice(PRIORITIES)
    return fake
