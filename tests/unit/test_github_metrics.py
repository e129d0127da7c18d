"""Unit tests of the GitHub metrics (``METRICS.md``, section "GitHub").

The window is Monday 2024-03-04 00:00Z to Monday 2024-03-18 00:00Z: 14 days, 2 weeks
(weeks of 03-04 and 03-11). Every expected number is worked out by hand in the comments;
percentiles interpolate linearly at position (n - 1) * p / 100 of the sorted values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agiletrack.adapters.providers.github.metrics import compute_github_metrics, compute_github_series
from agiletrack.adapters.providers.github.records import Commit, Issue, PullRequest, PullRequestReview, ReviewState
from agiletrack.metrics.window import Window

WINDOW = Window(since=datetime(2024, 3, 4, tzinfo=UTC), until=datetime(2024, 3, 18, tzinfo=UTC))
EMPTY_STATS = {"count": 0, "median": None, "p75": None, "p90": None, "mean": None}


def t(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """An instant in March 2024, UTC (2024-03-04 and 2024-03-11 are Mondays)."""
    return datetime(2024, 3, day, hour, minute, second, tzinfo=UTC)


def review(author: str | None, state: ReviewState, submitted_at: datetime | None) -> PullRequestReview:
    return PullRequestReview(
        id=f"r-{author}-{state}-{submitted_at}", author=author, state=state, submitted_at=submitted_at
    )


def pr(number: int, created_at: datetime, **fields: Any) -> PullRequest:
    fields.setdefault("author", "alice")
    fields.setdefault("state", "open")
    return PullRequest(id=str(number), updated_at=t(20), number=number, created_at=created_at, **fields)


def commit(sha: str, author: str, committed_at: datetime, **fields: Any) -> Commit:
    return Commit(id=sha, updated_at=t(20), sha=sha, author=author, committed_at=committed_at, **fields)


def issue(number: int, created_at: datetime, **fields: Any) -> Issue:
    fields.setdefault("state", "open")
    return Issue(id=str(number), updated_at=t(20), number=number, created_at=created_at, **fields)


def pulls(*prs: PullRequest, window: Window = WINDOW) -> dict[str, Any]:
    result: dict[str, Any] = compute_github_metrics(prs, [], [], window)["pull_requests"]
    return result


def commit_figures(*commits: Commit, window: Window = WINDOW) -> dict[str, Any]:
    result: dict[str, Any] = compute_github_metrics([], commits, [], window)["commits"]
    return result


def issue_figures(*issues: Issue, window: Window = WINDOW) -> dict[str, Any]:
    result: dict[str, Any] = compute_github_metrics([], [], issues, window)["issues"]
    return result


# ---------------------------------------------------------------- one realistic repository


def pull_request_fixture() -> list[PullRequest]:
    return [
        # PR1: created 03-04 09:00, first non-author review (bob) 13:00 -> pickup 4 h;
        # merged 03-05 12:00 -> review time 13:00 to 12:00 next day = 23 h, time to merge 27 h;
        # 2 + 3 comments.
        pr(
            1,
            t(4, 9),
            state="merged",
            closed_at=t(5, 12),
            merged_at=t(5, 12),
            comments=2,
            review_comments=3,
            reviews=[review("bob", "COMMENTED", t(4, 13)), review("carol", "APPROVED", t(5, 9))],
        ),
        # PR2: opened as a draft 03-05 00:00, marked ready 03-06 00:00; pending reviews do not count
        # (even one with a submitted_at); dave reviews 03-06 10:00 -> pickup 10 h (from ready);
        # merged 03-07 00:00 -> review time 14 h, time to merge 48 h; 0 + 1 comments.
        pr(
            2,
            t(5),
            ready_for_review_at=t(6),
            state="merged",
            closed_at=t(7),
            merged_at=t(7),
            review_comments=1,
            reviews=[
                review("bob", "PENDING", None),
                review("bob", "PENDING", t(6, 2)),
                review("dave", "CHANGES_REQUESTED", t(6, 10)),
            ],
        ),
        # PR3: erin reviews her own PR only (login in another case too): no pickup, no review time;
        # created 03-07 00:00, merged 03-08 02:00 -> time to merge 26 h; 1 comment.
        pr(
            3,
            t(7),
            author="erin",
            state="merged",
            closed_at=t(8, 2),
            merged_at=t(8, 2),
            comments=1,
            reviews=[review("erin", "COMMENTED", t(8)), review("Erin", "APPROVED", t(8, 1))],
        ),
        # PR4: closed and reopened, still open (GitHub cleared closed_at): not closed; 0 comments.
        pr(4, t(8)),
        # PR5: created before the window, reviewed before it (no pickup in window), closed unmerged in window.
        # Its 10 comments are not counted: it was not created in window.
        pr(
            5,
            t(1),
            state="closed",
            closed_at=t(10),
            comments=10,
            reviews=[review("bob", "APPROVED", t(3))],
        ),
        # PR6: closed, reopened, closed again in window (closed_at is the last close): closed unmerged.
        pr(6, t(2), state="closed", closed_at=t(12)),
        # PR7: merged before the window: counted nowhere.
        pr(
            7,
            t(1),
            state="merged",
            closed_at=t(3),
            merged_at=t(3),
            reviews=[review("bob", "APPROVED", t(2))],
        ),
        # PR8: created before the window (03-01 00:00), first review in it (03-04 01:00): pickup 73 h.
        pr(8, t(1), reviews=[review("bob", "COMMENTED", t(4, 1))]),
        # PR9: created 03-11 00:00, merged 03-11 12:00 (time to merge 12 h), reviewed after the merge
        # at 03-12 00:00: pickup 24 h; review time -12 h is dropped; 4 comments.
        pr(
            9,
            t(11),
            state="merged",
            closed_at=t(11, 12),
            merged_at=t(11, 12),
            comments=4,
            reviews=[review("bob", "COMMENTED", t(12))],
        ),
        # PR10: still a draft, never marked ready, reviewed anyway: not reviewable yet, no pickup; 0 comments.
        pr(10, t(12), is_draft=True, reviews=[review("bob", "COMMENTED", t(13))]),
        # A tombstone inside the window: ignored everywhere.
        pr(
            11,
            t(5),
            deleted=True,
            state="merged",
            closed_at=t(5, 1),
            merged_at=t(5, 1),
            comments=50,
            reviews=[review("bob", "APPROVED", t(5, 0, 30))],
        ),
    ]


def commit_fixture() -> list[Commit]:
    return [
        commit("c1", "zed", t(4, 10), additions=10, deletions=5),  # size 15, week 03-04
        commit("c2", "zed", t(5, 10), additions=3, deletions=1),  # size 4, week 03-04
        commit("c3", "bob", t(11), additions=100, deletions=20),  # Monday 00:00: week 03-11, size 120
        commit("c4", "dev@example.com", t(12)),  # no linked user, size unknown; week 03-11
        commit("c5", "carol", t(6), parents=2, additions=50, deletions=50),  # merge commit: excluded
        commit("c6", "bob", t(17, 23, 59, 59), additions=1, deletions=1),  # size 2, week 03-11
        commit("c7", "zed", t(3, 23, 59, 59), additions=1, deletions=0),  # before since: excluded
        commit("c8", "zed", t(18), additions=1, deletions=0),  # at until: excluded
        commit("c9", "bob", t(6), deleted=True, additions=7, deletions=0),  # tombstone: excluded
    ]


def issue_fixture() -> list[Issue]:
    return [
        issue(1, t(4), state="closed", closed_at=t(5, 12)),  # created at since; closed 36 h later
        issue(2, t(6)),  # open
        issue(3, t(1), state="closed", closed_at=t(10)),  # created before; closed in window after 216 h
        issue(4, t(10), state="closed", closed_at=t(19)),  # created in window, closed after until
        issue(5, t(8)),  # closed then reopened: open, closed_at cleared
        issue(6, t(12, 6), state="closed", closed_at=t(12)),  # clock skew: closed 6 h "before" created
        issue(7, t(15), state="closed", closed_at=t(17)),  # 48 h
        issue(8, t(5), deleted=True, state="closed", closed_at=t(6)),  # tombstone
    ]


def test_full_github_metrics() -> None:
    prs, commits, issues = pull_request_fixture(), commit_fixture(), issue_fixture()
    metrics = compute_github_metrics(prs, commits, issues, WINDOW, branch="main")
    assert set(metrics) == {"pull_requests", "commits", "issues"}
    assert metrics["pull_requests"] == {
        # created in window: PR1, PR2, PR3, PR4, PR9, PR10 = 6; 6 / 2 weeks = 3.0
        "opened": 6,
        "opened_per_week": 3.0,
        # merged in window: PR1, PR2, PR3, PR9
        "merged": 4,
        # PR5, PR6 (PR4 is open again)
        "closed_unmerged": 2,
        # 4 / (4 + 2) = 0.6667
        "merge_rate": 0.6667,
        # [4, 10, 24, 73]: median (10 + 24) / 2 = 17; p75 at 2.25 -> 24 + 0.25 * 49 = 36.25;
        # p90 at 2.7 -> 24 + 0.7 * 49 = 58.3; mean 111 / 4 = 27.75
        "pickup_time": {"count": 4, "median": 17.0, "p75": 36.25, "p90": 58.3, "mean": 27.75},
        # [14, 23] (PR9's -12 dropped): median 18.5; p75 14 + 0.75 * 9 = 20.75; p90 14 + 0.9 * 9 = 22.1
        "review_time": {"count": 2, "median": 18.5, "p75": 20.75, "p90": 22.1, "mean": 18.5},
        # [12, 26, 27, 48]: median 26.5; p75 at 2.25 -> 27 + 0.25 * 21 = 32.25;
        # p90 at 2.7 -> 27 + 0.7 * 21 = 41.7; mean 113 / 4 = 28.25
        "time_to_merge": {"count": 4, "median": 26.5, "p75": 32.25, "p90": 41.7, "mean": 28.25},
        # per PR created in window: PR1 5, PR2 1, PR3 1, PR4 0, PR9 4, PR10 0 -> total 11;
        # sorted [0, 0, 1, 1, 4, 5]: median 1; p75 at 3.75 -> 1 + 0.75 * 3 = 3.25;
        # p90 at 4.5 -> 4 + 0.5 * 1 = 4.5; mean 11 / 6 = 1.83
        "comments": {
            "total": 11,
            "per_pr": {"count": 6, "median": 1.0, "p75": 3.25, "p90": 4.5, "mean": 1.83},
        },
    }
    assert metrics["commits"] == {
        # c1, c2, c3, c4, c6
        "count": 5,
        "per_week": 2.5,  # 5 / 2 weeks
        "weekly": [{"week": "2024-03-04", "value": 2}, {"week": "2024-03-11", "value": 3}],
        # sizes known: [2, 4, 15, 120]: median 9.5; p75 at 2.25 -> 15 + 0.25 * 105 = 41.25;
        # p90 at 2.7 -> 15 + 0.7 * 105 = 88.5; mean 141 / 4 = 35.25
        "size": {"count": 4, "median": 9.5, "p75": 41.25, "p90": 88.5, "mean": 35.25},
        # bob 2 and zed 2 tie (bob first by name, although zed committed first), then the email author
        "authors": [
            {"author": "bob", "commits": 2, "share": 0.4},
            {"author": "zed", "commits": 2, "share": 0.4},
            {"author": "dev@example.com", "commits": 1, "share": 0.2},
        ],
    }
    assert metrics["issues"] == {
        # created in window: 1, 2, 4, 5, 6, 7
        "opened": 6,
        # closed in window: 1, 3, 6, 7
        "closed": 4,
        # of the 6 created, closed before until: 1, 6, 7 -> 3 / 6
        "close_rate": 0.5,
        # [36, 216, 48] (issue 6's -6 dropped), sorted [36, 48, 216]: median 48;
        # p75 at 1.5 -> 48 + 0.5 * 168 = 132; p90 at 1.8 -> 48 + 0.8 * 168 = 182.4; mean 300 / 3 = 100
        "time_to_close": {"count": 3, "median": 48.0, "p75": 132.0, "p90": 182.4, "mean": 100.0},
    }


def test_empty_window_gives_zeros_and_nulls() -> None:
    # The same data seen from a week in 2023 with nothing in it; then no data at all.
    window = Window(since=datetime(2023, 1, 2, tzinfo=UTC), until=datetime(2023, 1, 9, tzinfo=UTC))
    expected = {
        "pull_requests": {
            "opened": 0,
            "opened_per_week": 0.0,
            "merged": 0,
            "closed_unmerged": 0,
            "merge_rate": None,
            "pickup_time": EMPTY_STATS,
            "review_time": EMPTY_STATS,
            "time_to_merge": EMPTY_STATS,
            "comments": {"total": 0, "per_pr": EMPTY_STATS},
        },
        "commits": {
            "count": 0,
            "per_week": 0.0,
            "weekly": [{"week": "2023-01-02", "value": 0}],
            "size": EMPTY_STATS,
            "authors": [],
        },
        "issues": {"opened": 0, "closed": 0, "close_rate": None, "time_to_close": EMPTY_STATS},
    }
    prs, commits, issues = pull_request_fixture(), commit_fixture(), issue_fixture()
    assert compute_github_metrics(prs, commits, issues, window) == expected
    assert compute_github_metrics([], [], [], window) == expected


# ---------------------------------------------------------------- pull request edge cases


def test_pr_reviewed_only_by_its_author_has_no_pickup_nor_review_time() -> None:
    only_self = pr(
        1,
        t(5),
        author="alice",
        state="merged",
        closed_at=t(6),
        merged_at=t(6),
        reviews=[review("alice", "COMMENTED", t(5, 2)), review("ALICE", "APPROVED", t(5, 3))],
    )
    result = pulls(only_self)
    assert result["pickup_time"] == EMPTY_STATS
    assert result["review_time"] == EMPTY_STATS
    # Still merged: 24 h from created to merged.
    assert result["time_to_merge"] == {"count": 1, "median": 24.0, "p75": 24.0, "p90": 24.0, "mean": 24.0}


def test_draft_made_ready_picks_up_from_ready_for_review() -> None:
    # Created 03-05 00:00 as a draft, ready 03-06 12:00, reviewed 03-06 15:30: pickup 3.5 h (not 39.5 h).
    made_ready = pr(1, t(5), ready_for_review_at=t(6, 12), reviews=[review("bob", "APPROVED", t(6, 15, 30))])
    assert pulls(made_ready)["pickup_time"] == {
        "count": 1,
        "median": 3.5,
        "p75": 3.5,
        "p90": 3.5,
        "mean": 3.5,
    }


def test_draft_reviewed_before_its_last_ready_gives_a_dropped_negative_pickup() -> None:
    # Reviewed as a draft at 03-05 12:00, marked ready (last time) 03-06 00:00: -12 h, dropped.
    early = pr(1, t(5), ready_for_review_at=t(6), reviews=[review("bob", "COMMENTED", t(5, 12))])
    assert pulls(early)["pickup_time"] == EMPTY_STATS


def test_still_draft_pr_has_no_pickup_but_a_review_time_once_merged() -> None:
    draft = pr(1, t(5), is_draft=True, reviews=[review("bob", "COMMENTED", t(5, 6))])
    assert pulls(draft)["pickup_time"] == EMPTY_STATS
    # A draft closed by merge is impossible on GitHub, but the review time rule does not depend on it:
    merged_draft = draft.model_copy(update={"state": "merged", "merged_at": t(5, 8), "closed_at": t(5, 8)})
    # review 06:00 -> merge 08:00 = 2 h
    assert pulls(merged_draft)["review_time"]["median"] == 2.0


def test_pr_closed_and_reopened_is_not_closed() -> None:
    reopened = pr(1, t(5), state="open", closed_at=None)
    stale = pr(2, t(5), state="open", closed_at=t(6))  # stale closed_at on an open PR: ignored
    result = pulls(reopened, stale)
    assert result["closed_unmerged"] == 0
    assert result["merged"] == 0
    assert result["merge_rate"] is None  # 0 / 0
    assert result["opened"] == 2


def test_merge_rate_over_prs_closed_in_window() -> None:
    merged = pr(1, t(1), state="merged", closed_at=t(5), merged_at=t(5))
    closed_a = pr(2, t(1), state="closed", closed_at=t(6))
    closed_b = pr(3, t(1), state="closed", closed_at=t(7))
    closed_late = pr(4, t(1), state="closed", closed_at=t(18))  # at until: outside
    result = pulls(merged, closed_a, closed_b, closed_late)
    # 1 / (1 + 2) = 0.3333
    assert (result["merged"], result["closed_unmerged"], result["merge_rate"]) == (1, 2, 0.3333)
    # Only merges: 1 / 1
    assert pulls(merged)["merge_rate"] == 1.0
    # Only closes: 0 / 2
    assert pulls(closed_a, closed_b)["merge_rate"] == 0.0


def test_review_states_that_count() -> None:
    # Pending reviews never count, submitted or not; a review with no submitted_at does not count;
    # a dismissed review still was a review. Created 03-05 00:00; dismissed review at 03-05 05:00 -> 5 h.
    reviewed = pr(
        1,
        t(5),
        reviews=[
            review("bob", "PENDING", t(5, 1)),
            review("carol", "COMMENTED", None),
            review("dave", "APPROVED", t(5, 9)),
            review("erin", "DISMISSED", t(5, 5)),
        ],
    )
    assert pulls(reviewed)["pickup_time"]["median"] == 5.0
    only_pending = pr(2, t(5), reviews=[review("bob", "PENDING", t(5, 1)), review("bob", "PENDING", None)])
    assert pulls(only_pending)["pickup_time"] == EMPTY_STATS


def test_review_by_deleted_account() -> None:
    # A review with no login is someone else's when the PR author is known (2 h) ...
    known_author = pr(1, t(5), author="alice", reviews=[review(None, "APPROVED", t(5, 2))])
    assert pulls(known_author)["pickup_time"]["median"] == 2.0
    # ... and cannot be told apart from an unknown PR author: not counted.
    unknown_author = pr(2, t(5), author=None, reviews=[review(None, "APPROVED", t(5, 2))])
    assert pulls(unknown_author)["pickup_time"] == EMPTY_STATS
    # A PR with an unknown author reviewed by a known login: counted (3 h).
    reviewed = pr(3, t(5), author=None, reviews=[review("bob", "APPROVED", t(5, 3))])
    assert pulls(reviewed)["pickup_time"]["median"] == 3.0


def test_first_review_is_the_earliest_not_the_first_listed() -> None:
    # Listed out of order: the 03-05 01:00 one is first -> pickup 1 h; merged 03-05 04:00 -> review time 3 h.
    unordered = pr(
        1,
        t(5),
        state="merged",
        closed_at=t(5, 4),
        merged_at=t(5, 4),
        reviews=[review("carol", "APPROVED", t(5, 2)), review("bob", "COMMENTED", t(5, 1))],
    )
    result = pulls(unordered)
    assert result["pickup_time"]["median"] == 1.0
    assert result["review_time"]["median"] == 3.0


def test_pr_window_boundaries_are_half_open() -> None:
    at_since = pr(1, t(4), reviews=[review("bob", "COMMENTED", t(4, 1))])  # created and reviewed in window
    before = pr(2, t(3, 23, 59, 59), state="merged", closed_at=t(3, 23, 59, 59), merged_at=t(3, 23, 59, 59))
    # Created just before until, reviewed and merged at until: opened, but neither picked up nor merged.
    at_until = pr(
        3,
        t(17, 23),
        state="merged",
        closed_at=t(18),
        merged_at=t(18),
        reviews=[review("bob", "APPROVED", t(18))],
    )
    result = pulls(at_since, before, at_until)
    assert result["opened"] == 2  # PR1 and PR3
    assert result["merged"] == 0
    assert result["time_to_merge"] == EMPTY_STATS
    assert result["review_time"] == EMPTY_STATS
    assert result["pickup_time"] == {"count": 1, "median": 1.0, "p75": 1.0, "p90": 1.0, "mean": 1.0}


def test_comments_count_conversation_and_diff_comments_only() -> None:
    # Review summaries and per-review comment counts are not added again: 3 + 4 = 7 for PR1, 0 for PR2.
    with_reviews = pr(
        1,
        t(5),
        comments=3,
        review_comments=4,
        reviews=[
            PullRequestReview(id="r1", author="bob", state="COMMENTED", submitted_at=t(5, 1), comments=4),
        ],
    )
    result = pulls(with_reviews, pr(2, t(6)))
    # [0, 7]: median 3.5; p75 0.75 * 7 = 5.25; p90 0.9 * 7 = 6.3; mean 3.5
    assert result["comments"] == {
        "total": 7,
        "per_pr": {"count": 2, "median": 3.5, "p75": 5.25, "p90": 6.3, "mean": 3.5},
    }


def test_opened_per_week_over_a_30_day_window() -> None:
    window = Window(since=t(1), until=t(31))
    # 7 PRs over 30 days: 7 / (30 / 7) = 49 / 30 = 1.6333 -> 1.63
    assert pulls(*(pr(n, t(n)) for n in range(1, 8)), window=window)["opened_per_week"] == 1.63


# ---------------------------------------------------------------- commit edge cases


def test_merge_commit_excluded_everywhere() -> None:
    result = commit_figures(
        commit("m", "alice", t(5), parents=2, additions=500, deletions=500),
        commit("o", "alice", t(5, 1), parents=3),
        commit("a", "bob", t(5, 2), additions=1, deletions=2),
        commit("root", "bob", t(5, 3), parents=0, additions=4, deletions=0),  # a root commit counts
    )
    assert result["count"] == 2
    # sizes [3, 4]: median 3.5; p75 3 + 0.75 = 3.75; p90 3 + 0.9 = 3.9
    assert result["size"] == {"count": 2, "median": 3.5, "p75": 3.75, "p90": 3.9, "mean": 3.5}
    assert result["authors"] == [{"author": "bob", "commits": 2, "share": 1.0}]
    assert result["weekly"] == [{"week": "2024-03-04", "value": 2}, {"week": "2024-03-11", "value": 0}]


def test_commit_with_no_linked_user_is_its_lower_cased_email() -> None:
    result = commit_figures(
        commit("a", "Dev@Example.COM", t(5)),
        commit("b", "dev@example.com", t(6)),
        commit("c", "octocat", t(7)),
    )
    # 2 of 3 by the email author: 0.6667; 1 of 3: 0.3333
    assert result["authors"] == [
        {"author": "dev@example.com", "commits": 2, "share": 0.6667},
        {"author": "octocat", "commits": 1, "share": 0.3333},
    ]


def test_commit_with_unknown_size_counts_but_is_not_sized() -> None:
    result = commit_figures(
        commit("a", "bob", t(5), additions=None, deletions=None),
        commit("b", "bob", t(5, 1), additions=5, deletions=None),  # half known is unknown
        commit("c", "bob", t(5, 2), additions=0, deletions=0),  # a zero-line commit is a size of 0
    )
    assert result["count"] == 3
    assert result["size"] == {"count": 1, "median": 0.0, "p75": 0.0, "p90": 0.0, "mean": 0.0}
    # 3 commits over 2 weeks
    assert result["per_week"] == 1.5


def test_branch_argument_filters_nothing() -> None:
    commits = [commit("a", "bob", t(5)), commit("b", "bob", t(6))]
    with_branch = compute_github_metrics([], commits, [], WINDOW, branch="release")
    assert with_branch == compute_github_metrics([], commits, [], WINDOW)
    assert with_branch["commits"]["count"] == 2


def test_commit_weekly_series_across_week_boundaries() -> None:
    # Window Wednesday 03-06 12:00 to Monday 03-25 00:00 (excluded): weeks 03-04, 03-11, 03-18.
    window = Window(since=t(6, 12), until=t(25))
    result = commit_figures(
        commit("a", "bob", t(6, 11, 59)),  # before since: out
        commit("b", "bob", t(10, 23, 59, 59)),  # Sunday night: week 03-04
        commit("c", "bob", t(11)),  # Monday 00:00: week 03-11
        commit("d", "bob", t(25)),  # until: out
        window=window,
    )
    assert result["weekly"] == [
        {"week": "2024-03-04", "value": 1},
        {"week": "2024-03-11", "value": 1},
        {"week": "2024-03-18", "value": 0},
    ]
    # 2 commits over 18.5 days: 2 / (18.5 / 7) = 14 / 18.5 = 0.7568 -> 0.76
    assert result["per_week"] == 0.76


# ---------------------------------------------------------------- issue edge cases


def test_issue_reopened_and_stale_close_are_not_closed() -> None:
    reopened = issue(1, t(5))
    stale = issue(2, t(5), state="open", closed_at=t(6))
    result = issue_figures(reopened, stale)
    assert result == {"opened": 2, "closed": 0, "close_rate": 0.0, "time_to_close": EMPTY_STATS}


def test_issue_close_rate_counts_closes_before_until_only() -> None:
    # Created in window: 4; closed before until: 2 (closed at until counts as after) -> 0.5
    result = issue_figures(
        issue(1, t(5), state="closed", closed_at=t(5, 6)),  # 6 h
        issue(2, t(6), state="closed", closed_at=t(17, 23, 59, 59)),
        issue(3, t(7), state="closed", closed_at=t(18)),
        issue(4, t(8)),
    )
    assert result["opened"] == 4
    assert result["close_rate"] == 0.5
    assert result["closed"] == 2
    # 6 h and 03-06 00:00 -> 03-17 23:59:59 = 287.9997 h: median (6 + 287.9997) / 2 = 147.0;
    # p75 6 + 0.75 * 281.9997 = 217.4998 -> 217.5; p90 6 + 0.9 * 281.9997 = 259.7998 -> 259.8
    assert result["time_to_close"] == {"count": 2, "median": 147.0, "p75": 217.5, "p90": 259.8, "mean": 147.0}


def test_issue_closed_in_window_though_created_long_before() -> None:
    old = issue(1, datetime(2024, 1, 1, tzinfo=UTC), state="closed", closed_at=t(4))
    # 2024-01-01 -> 2024-03-04 = 31 + 29 + 3 = 63 days = 1512 h; not opened in window
    result = issue_figures(old)
    assert result["opened"] == 0
    assert result["closed"] == 1
    assert result["close_rate"] is None
    assert result["time_to_close"]["median"] == 1512.0


# ---------------------------------------------------------------- series
SERIES_WINDOW = Window(since=t(6, 12), until=t(20, 12))
"""Wednesday 03-06 12:00 to Wednesday 03-20 12:00: it overlaps three weeks, 03-04, 03-11 and 03-18."""


def weeks(*values: int) -> list[dict[str, Any]]:
    return [
        {"week": week, "value": v} for week, v in zip(("2024-03-04", "2024-03-11", "2024-03-18"), values, strict=True)
    ]


def test_each_series_splits_its_total_by_week() -> None:
    prs = [
        pr(1, t(8), state="merged", merged_at=t(12)),  # opened in week 1, merged in week 2
        pr(2, t(1), state="merged", merged_at=t(7)),  # opened before the window: merged in week 1 only
        pr(3, t(19)),  # opened in week 3, still open
        pr(4, t(6, 11, 59), state="merged", merged_at=t(20, 12)),  # created before since, merged at until: none
        pr(5, t(8), deleted=True),  # a tombstone counts nowhere
        pr(6, t(7), state="closed", closed_at=t(8)),  # opened in week 1, closed without merge
    ]
    commits = [
        commit("c1", "ada", t(6, 12)),  # at since: in, week 1
        commit("c2", "ada", t(6, 11, 59, 59)),  # a second before since: out
        commit("c3", "bob", t(20, 11, 59, 59)),  # a second before until: in, week 3
        commit("c4", "bob", t(20, 12)),  # at until: out
        commit("c5", "bob", t(12), parents=2),  # a merge commit: out
        commit("c6", "ada", t(10, 23, 59, 59)),  # Sunday night: week 1
        commit("c7", "ada", t(11)),  # Monday 00:00: week 2
    ]
    issues = [
        issue(1, t(7), state="closed", closed_at=t(19)),  # closed 03-08, reopened, closed again 03-19: week 3
        issue(2, t(1), state="closed", closed_at=t(12)),  # opened before the window, closed in week 2
        issue(3, t(13), closed_at=t(14)),  # closed then reopened: open now, a stale closed_at counts nowhere
        issue(4, t(19)),  # opened in week 3
    ]

    series = compute_github_series(prs, commits, issues, SERIES_WINDOW)
    metrics = compute_github_metrics(prs, commits, issues, SERIES_WINDOW)

    # Opened: PRs 1 and 6 in week 1, none in week 2 (PR 2 was opened before since), PR 3 in week 3.
    assert series["prs_opened"] == weeks(2, 0, 1)
    # Merged: PR 2 in week 1, PR 1 in week 2, none in week 3 (PR 4 merged at until).
    assert series["prs_merged"] == weeks(1, 1, 0)
    # Commits: c1 and c6 in week 1, c7 in week 2, c3 in week 3; the same as commits.weekly.
    assert series["commits"] == weeks(2, 1, 1) == metrics["commits"]["weekly"]
    # Issues opened: 1 in week 1, 3 in week 2, 4 in week 3. Closed: none in week 1 (issue 1's first close is
    # not its last), 2 in week 2, 1 in week 3 (its last close).
    assert series["issues_opened"] == weeks(1, 1, 1)
    assert series["issues_closed"] == weeks(0, 1, 1)
    assert metrics["pull_requests"]["opened"] == 3 and metrics["pull_requests"]["merged"] == 2
    assert metrics["commits"]["count"] == 4
    assert metrics["issues"]["opened"] == 3 and metrics["issues"]["closed"] == 2


def test_an_empty_repository_has_every_week_at_zero() -> None:
    series = compute_github_series([], [], [], SERIES_WINDOW)

    assert series == {
        name: weeks(0, 0, 0) for name in ("prs_opened", "prs_merged", "commits", "issues_opened", "issues_closed")
    }
