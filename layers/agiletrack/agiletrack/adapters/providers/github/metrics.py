"""GitHub metrics (``METRICS.md``, section "GitHub"): pull requests, commits and issues.

Pure: the caller passes the stored records of one integration and the query window.

How the ambiguous points of the contract are read (also in ``docs/metrics.md``):

- Tombstones (``deleted=True``) are skipped everywhere.
- "Merged" means ``merged_at`` is set, whatever ``state`` says. "Closed without merge" needs
  ``state == "closed"``, ``closed_at`` in window and no ``merged_at``: a PR closed and then reopened
  is open again and is not counted (GitHub clears ``closed_at`` on reopen, and a stale ``closed_at``
  on an open PR is ignored); when it is closed again, its last close counts.
- A review counts when it is submitted (``submitted_at`` set) and not ``PENDING``, whatever its other
  state (``COMMENTED``, ``APPROVED``, ``CHANGES_REQUESTED``, ``DISMISSED``); a lone non-author review
  comment reaches us as a ``COMMENTED`` review, so it counts. "Someone other than the author" compares
  logins case-insensitively; a review by a deleted account (no login) is someone else, unless the PR
  author is unknown too, when the two cannot be told apart and the review is not counted.
- Pickup time starts at ``ready_for_review_at`` when it is set (the last time the draft was marked
  ready), else at ``created_at``. A PR that is still a draft and was never marked ready has not
  become reviewable yet, so it has no pickup time (its early reviews are feedback on a draft). The
  first review is the first non-author review overall: if it came before the (last) ready-for-review
  moment, the duration is negative and dropped, per the common rules, rather than replaced by a
  later review. A PR reviewed only by its author has no pickup time and no review time.
- Review time uses that same first non-author review (drafts included: the review happened), up to
  ``merged_at``; a review submitted only after the merge gives a negative duration and is dropped.
- Comments total ``comments + review_comments`` of the PR record (conversation plus diff comments,
  pending drafts excluded); review summaries are not comments, and per-review ``comments`` are not
  added again.
- Commits: the store only holds the configured branch's commits, so ``branch`` filters nothing.
  Merge commits (more than one parent) are excluded from every commit metric. A commit whose size is
  unknown (``additions`` or ``deletions`` is None) is counted but left out of ``size``.
  Authors are logins, or lower-cased emails for commits with no linked GitHub user.
- Issues: ``closed`` and ``time_to_close`` need ``state == "closed"`` and ``closed_at`` (the last close)
  in window. ``close_rate`` is, among issues created in window, those now closed with ``closed_at``
  before ``until``, so a past window is not changed by closes after it.
- Series (``compute_github_series``): each one takes the records of the total it splits from the same
  selection function the total uses (``opened_prs``, ``merged_prs``, ``counted_commits``, ``opened_issues``,
  ``closed_issues``) and places each in the week of the timestamp that put it in the window: creation for
  ``prs_opened`` and ``issues_opened``, ``merged_at`` for ``prs_merged``, ``committed_at`` for ``commits``,
  the last close (``closed_at``) for ``issues_closed``. So each series sums to its total.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from agiletrack.adapters.providers.github.records import Commit, Issue, PullRequest, PullRequestReview
from agiletrack.metrics.stats import WeekValue, duration_stats, hours_between, per_week, rate, weekly_series
from agiletrack.metrics.window import Window


def compute_github_metrics(
    pull_requests: Sequence[PullRequest],
    commits: Sequence[Commit],
    issues: Sequence[Issue],
    window: Window,
    *,
    branch: str | None = None,
) -> dict[str, Any]:
    """The ``metrics`` object of a GitHub integration: ``pull_requests``, ``commits``, ``issues``.

    ``branch`` is the configured branch; it is accepted for the record only, since the store holds
    just that branch's commits.
    """
    del branch  # Nothing to filter: commits of other branches are never stored.
    return {
        "pull_requests": pull_request_metrics([p for p in pull_requests if not p.deleted], window),
        "commits": commit_metrics([c for c in commits if not c.deleted], window),
        "issues": issue_metrics([i for i in issues if not i.deleted], window),
    }


def compute_github_series(
    pull_requests: Sequence[PullRequest], commits: Sequence[Commit], issues: Sequence[Issue], window: Window
) -> dict[str, list[WeekValue]]:
    """The ``series`` object: ``prs_opened``, ``prs_merged``, ``commits``, ``issues_opened``, ``issues_closed``,
    each from the selection of the total it splits (so it sums to it)."""
    prs = [p for p in pull_requests if not p.deleted]
    live_issues = [i for i in issues if not i.deleted]
    return {
        "prs_opened": weekly_series(window, [(p.created_at, 1) for p in opened_prs(prs, window)]),
        "prs_merged": weekly_series(window, [(at, 1) for _, at in merged_prs(prs, window)]),
        "commits": commits_weekly(counted_commits([c for c in commits if not c.deleted], window), window),
        "issues_opened": weekly_series(window, [(i.created_at, 1) for i in opened_issues(live_issues, window)]),
        "issues_closed": weekly_series(window, [(at, 1) for _, at in closed_issues(live_issues, window)]),
    }


# ---------------------------------------------------------------- pull requests


def _same_login(a: str | None, b: str | None) -> bool:
    """Whether two logins name the same account; two unknown (deleted) accounts count as the same."""
    if a is None or b is None:
        return a is None and b is None
    return a.casefold() == b.casefold()


def _counts_as_review(review: PullRequestReview) -> bool:
    return review.state != "PENDING" and review.submitted_at is not None


def first_review_at(pr: PullRequest) -> datetime | None:
    """When the first submitted, non-pending review by someone other than the PR's author came."""
    times = [
        r.submitted_at
        for r in pr.reviews
        if r.submitted_at is not None and _counts_as_review(r) and not _same_login(r.author, pr.author)
    ]
    return min(times, default=None)


def reviewable_at(pr: PullRequest) -> datetime | None:
    """When the PR became reviewable: its last ready-for-review, else its creation.

    None for a PR that is still a draft and was never marked ready: it is not reviewable yet.
    """
    if pr.ready_for_review_at is not None:
        return pr.ready_for_review_at
    if pr.is_draft:
        return None
    return pr.created_at


def _is_closed_unmerged(pr: PullRequest, window: Window) -> bool:
    return pr.state == "closed" and pr.merged_at is None and window.contains(pr.closed_at)


def opened_prs(pull_requests: Sequence[PullRequest], window: Window) -> list[PullRequest]:
    """The PRs of ``pull_requests.opened``: created in window."""
    return [p for p in pull_requests if window.contains(p.created_at)]


def merged_prs(pull_requests: Sequence[PullRequest], window: Window) -> list[tuple[PullRequest, datetime]]:
    """The PRs of ``pull_requests.merged``, with their merge time: merged in window."""
    merged: list[tuple[PullRequest, datetime]] = []
    for p in pull_requests:
        if p.merged_at is not None and window.contains(p.merged_at):
            merged.append((p, p.merged_at))
    return merged


def pull_request_metrics(pull_requests: Sequence[PullRequest], window: Window) -> dict[str, Any]:
    """The ``pull_requests`` object; ``pull_requests`` must already be free of tombstones."""
    created = opened_prs(pull_requests, window)
    merged = merged_prs(pull_requests, window)
    closed_unmerged = [p for p in pull_requests if _is_closed_unmerged(p, window)]

    pickup_hours: list[float] = []
    for pr in pull_requests:
        first = first_review_at(pr)
        start = reviewable_at(pr)
        if first is not None and start is not None and window.contains(first):
            pickup_hours.append(hours_between(start, first))

    review_hours: list[float] = []
    merge_hours: list[float] = []
    for pr, merged_at in merged:
        merge_hours.append(hours_between(pr.created_at, merged_at))
        first = first_review_at(pr)
        if first is not None:
            review_hours.append(hours_between(first, merged_at))

    comment_counts = [p.comments + p.review_comments for p in created]
    return {
        "opened": len(created),
        "opened_per_week": per_week(len(created), window),
        "merged": len(merged),
        "closed_unmerged": len(closed_unmerged),
        "merge_rate": rate(len(merged), len(merged) + len(closed_unmerged)),
        "pickup_time": duration_stats(pickup_hours),
        "review_time": duration_stats(review_hours),
        "time_to_merge": duration_stats(merge_hours),
        "comments": {"total": sum(comment_counts), "per_pr": duration_stats(comment_counts)},
    }


# ---------------------------------------------------------------- commits


def _author_key(commit: Commit) -> str:
    """The login, or the lower-cased email (logins never hold an ``@``)."""
    return commit.author.lower() if "@" in commit.author else commit.author


def _lines_changed(commit: Commit) -> int | None:
    """Additions + deletions, or None while either is unknown."""
    if commit.additions is None or commit.deletions is None:
        return None
    return commit.additions + commit.deletions


def counted_commits(commits: Sequence[Commit], window: Window) -> list[Commit]:
    """The commits of ``commits.count``: committed in window, merge commits excluded."""
    return [c for c in commits if c.parents <= 1 and window.contains(c.committed_at)]


def commits_weekly(counted: Sequence[Commit], window: Window) -> list[WeekValue]:
    """``commits.weekly`` (and the ``commits`` series): the counted commits by committed week."""
    return weekly_series(window, [(c.committed_at, 1) for c in counted])


def commit_metrics(commits: Sequence[Commit], window: Window) -> dict[str, Any]:
    """The ``commits`` object; ``commits`` must already be free of tombstones."""
    counted = counted_commits(commits, window)
    sizes = [size for size in map(_lines_changed, counted) if size is not None]
    per_author = Counter(_author_key(c) for c in counted)
    authors = [
        {"author": author, "commits": n, "share": rate(n, len(counted))}
        for author, n in sorted(per_author.items(), key=lambda item: (-item[1], item[0]))
    ]
    return {
        "count": len(counted),
        "per_week": per_week(len(counted), window),
        "weekly": commits_weekly(counted, window),
        "size": duration_stats(sizes),
        "authors": authors,
    }


# ---------------------------------------------------------------- issues


def opened_issues(issues: Sequence[Issue], window: Window) -> list[Issue]:
    """The issues of ``issues.opened``: created in window."""
    return [i for i in issues if window.contains(i.created_at)]


def closed_issues(issues: Sequence[Issue], window: Window) -> list[tuple[Issue, datetime]]:
    """The issues of ``issues.closed``, with their last close: closed now, that close in window."""
    return [
        (i, i.closed_at)
        for i in issues
        if i.state == "closed" and i.closed_at is not None and window.contains(i.closed_at)
    ]


def issue_metrics(issues: Sequence[Issue], window: Window) -> dict[str, Any]:
    """The ``issues`` object; ``issues`` must already be free of tombstones."""
    created = opened_issues(issues, window)
    closed = [i for i, _ in closed_issues(issues, window)]
    created_then_closed = [
        i for i in created if i.state == "closed" and i.closed_at is not None and i.closed_at < window.until
    ]
    return {
        "opened": len(created),
        "closed": len(closed),
        "close_rate": rate(len(created_then_closed), len(created)),
        "time_to_close": duration_stats(
            hours_between(i.created_at, i.closed_at) for i in closed if i.closed_at is not None
        ),
    }
