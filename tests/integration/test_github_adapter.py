"""The GitHub adapter against ``FakeGitHub`` on 127.0.0.1: validation, pull (counts, request budget,
incremental syncs, resumability, failures), rate limits and refresh."""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from agiletrack.adapters.providers.base import PullContext, PullPage
from agiletrack.adapters.providers.github.adapter import GitHubAdapter
from agiletrack.adapters.providers.github.records import Commit, PullRequest
from agiletrack.errors import AuthError, ProviderError, ProviderRefused, RateLimitError, TransientProviderError
from agiletrack.models.records import Record
from tests.fakes.github import FakeGitHub

PRS, COMMITS, ISSUES = 300, 1000, 200


@pytest.fixture
def adapter() -> GitHubAdapter:
    return GitHubAdapter(sleep=lambda _seconds: None)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub.synthetic(prs=PRS, commits=COMMITS, issues=ISSUES, seed=3) as fake:
        yield fake


def context(fake: FakeGitHub, cursor: dict[str, Any] | None = None, **config: Any) -> PullContext:
    return PullContext(
        integration_id="int_1",
        config=fake.config(**config),
        credentials={"token": fake.token},
        cursor=cursor or {},
        backfill_since=fake.now - timedelta(days=400),
    )


def pull_all(adapter: GitHubAdapter, ctx: PullContext) -> tuple[list[Record], list[PullPage]]:
    pages = list(adapter.pull(ctx))
    return [r for page in pages for r in page.records], pages


def by_kind(records: list[Record]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for record in records:
        out.setdefault(record.kind, set()).add(record.id)
    return out


def synced_cursor(adapter: GitHubAdapter, fake: FakeGitHub) -> dict[str, Any]:
    _, pages = pull_all(adapter, context(fake))
    fake.reset_calls()
    return pages[-1].cursor


# ---------------------------------------------------------------- validate
def test_validate_a_readable_repository(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    info = adapter.validate(github.config(), {"token": github.token})

    assert info.details == {"default_branch": "main", "private": False}
    assert github.calls.rest == 2  # the repository, then the branch
    assert github.calls.graphql == 0


def test_validate_refuses_a_private_repository_unless_allowed(adapter: GitHubAdapter) -> None:
    with FakeGitHub(private=True) as fake:
        fake.add_commits(1)
        with pytest.raises(ProviderRefused) as refused:
            adapter.validate(fake.config(), {"token": fake.token})
        assert refused.value.code == "private_repository"
        assert "include_private" in refused.value.message

        info = adapter.validate(fake.config(include_private=True), {"token": fake.token})
        assert info.details["private"] is True


def test_validate_refuses_a_missing_branch(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    with pytest.raises(ProviderRefused) as refused:
        adapter.validate(github.config(branch="release/2.0"), {"token": github.token})
    assert refused.value.code == "branch_not_found"
    assert "release/2.0" in refused.value.message


def test_validate_refuses_a_missing_repository(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    with pytest.raises(ProviderRefused) as refused:
        adapter.validate(github.config(repository="octo-org/nothing-here"), {"token": github.token})
    assert refused.value.code == "repository_not_found"
    assert "not found or the token cannot read it" in refused.value.message


def test_validate_refuses_a_bad_token(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    with pytest.raises(AuthError):
        adapter.validate(github.config(), {"token": "ghp_wrong"})


def test_validate_refuses_a_token_without_access(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    github.forbid()
    with pytest.raises(ProviderRefused) as refused:
        adapter.validate(github.config(), {"token": github.token})
    assert refused.value.code == "no_access"


def test_validate_reports_an_unreachable_github_as_upstream_failure(adapter: GitHubAdapter) -> None:
    with FakeGitHub() as fake:
        config = fake.config()
    with pytest.raises(ProviderError) as failed:  # the server is gone: connection refused
        adapter.validate(config, {"token": "t"})
    assert failed.value.status == 502


@pytest.mark.parametrize("status", [500, 503])
def test_validate_reports_a_github_server_error_as_upstream_failure(status: int) -> None:
    transport = httpx.MockTransport(lambda _request: httpx.Response(status, json={"message": "boom"}))
    adapter = GitHubAdapter(transport=transport, sleep=lambda _s: None)
    with FakeGitHub() as fake:
        config = fake.config()
    with pytest.raises(ProviderError) as failed:
        adapter.validate(config, {"token": "t"})
    assert failed.value.status == 502
    assert not isinstance(failed.value, (AuthError, RateLimitError))


def test_validate_sends_githubs_headers() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"private": False, "default_branch": "main"})

    adapter = GitHubAdapter(transport=httpx.MockTransport(answer))
    with FakeGitHub() as fake:
        config = fake.config()
    adapter.validate(config, {"token": "ghp_abc"})

    assert [r.url.path for r in seen] == ["/repos/octo-org/octo-repo", "/repos/octo-org/octo-repo/branches/main"]
    for request in seen:
        assert request.headers["authorization"] == "Bearer ghp_abc"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"


def test_validate_and_pull_on_github_enterprise_server(adapter: GitHubAdapter) -> None:
    with FakeGitHub.synthetic(prs=20, commits=30, issues=5, seed=5) as fake:
        config = fake.config(api_url=fake.enterprise_api_url)
        assert config.graphql_url == fake.api_url + "/api/graphql"

        adapter.validate(config, {"token": fake.token})
        records, _ = pull_all(adapter, context(fake, api_url=fake.enterprise_api_url))

    assert len(records) == 55


# ---------------------------------------------------------------- pull
def test_full_pull_reads_everything_in_few_requests(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    ctx = context(github)

    records, pages = pull_all(adapter, ctx)

    kinds = by_kind(records)
    assert {k: len(v) for k, v in kinds.items()} == {"pull_request": PRS, "commit": COMMITS, "issue": ISSUES}
    assert len(records) == PRS + COMMITS + ISSUES  # nothing twice
    budget = math.ceil(PRS / 40) + math.ceil(COMMITS / 100) + math.ceil(ISSUES / 100) + 3
    assert github.calls.graphql <= budget
    assert github.calls.rest == 0
    assert [p.done for p in pages] == [False] * (len(pages) - 1) + [True]
    assert ctx.stats.calls == github.calls.graphql
    assert ctx.stats.points_spent == github.calls.points
    assert ctx.stats.quota_remaining == github.rate_remaining
    assert ctx.stats.quota_limit == 5000
    assert ctx.stats.quota_reset_at == github.rate_reset_at
    for variables in github.calls.graphql_pages("PullRequests"):
        assert variables["first"] >= 40


def test_each_page_says_its_stream_and_how_far_back_it_has_reached(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    _, pages = pull_all(adapter, context(github))

    # Streams in order, each read newest first: a page's reach is the oldest stamp among its records.
    phases = [page.progress.phase for page in pages if page.progress is not None]
    assert len(phases) == len(pages)
    assert phases == sorted(phases, key=["pull_requests", "commits", "issues"].index)
    assert set(phases) == {"pull_requests", "commits", "issues"}
    for page in pages:
        assert page.progress is not None and page.progress.newest is None
        stamps = [r.committed_at if isinstance(r, Commit) else r.updated_at for r in page.records]
        assert page.progress.oldest == (min(stamps) if stamps else None)
    for phase in ("pull_requests", "commits", "issues"):
        reach = [p.progress.oldest for p in pages if p.progress and p.progress.phase == phase and p.progress.oldest]
        assert reach == sorted(reach, reverse=True)  # each page reaches further back


def test_pulled_records_carry_what_the_metrics_need(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    records, _ = pull_all(adapter, context(github))
    pulls = {r.number: r for r in records if isinstance(r, PullRequest)}
    commits = {r.sha: r for r in records if isinstance(r, Commit)}

    for number, fake_pr in github.pull_requests.items():
        pr = pulls[number]
        assert (pr.state, pr.author, pr.created_at, pr.updated_at) == (
            fake_pr.state.lower(),
            fake_pr.author,
            fake_pr.created_at,
            fake_pr.updated_at,
        )
        assert (pr.additions, pr.deletions, pr.comments) == (fake_pr.additions, fake_pr.deletions, fake_pr.comments)
        assert pr.ready_for_review_at == fake_pr.ready_at
        assert [(r.id, r.state, r.submitted_at) for r in pr.reviews] == [
            (r.id, r.state, r.submitted_at) for r in fake_pr.reviews
        ]
        assert pr.review_comments == sum(r.comments for r in fake_pr.reviews if r.state != "PENDING")
    for fake_commit in github.branches["main"]:
        commit = commits[fake_commit.oid]
        expected_author = fake_commit.login or fake_commit.email.lower()
        assert (commit.author, commit.parents, commit.additions) == (
            expected_author,
            fake_commit.parents,
            fake_commit.additions,
        )
        assert commit.committed_at == fake_commit.committed_at


def test_incremental_pull_after_ten_pull_requests_changed(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    cursor = synced_cursor(adapter, github)
    touched = github.touch_pull_requests(10)

    records, pages = pull_all(adapter, context(github, cursor))

    assert github.calls.graphql <= 4
    pulled = {r.number for r in records if isinstance(r, PullRequest)}
    assert set(touched) <= pulled
    assert pages[-1].done is True


def test_incremental_pull_when_nothing_changed(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    cursor = synced_cursor(adapter, github)

    records, pages = pull_all(adapter, context(github, cursor))

    assert github.calls.graphql <= 3
    assert len(records) <= 3  # at most the newest of each stream, read again at its mark
    assert pages[-1].cursor["marks"] == cursor["marks"]


def test_incremental_pull_gets_new_commits_issues_and_reviews(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    cursor = synced_cursor(adapter, github)
    new_commits = github.add_commits(3)
    new_issue = github.add_issue(title="Crash on start")
    review_id = github.add_review(5, author="radia", state="CHANGES_REQUESTED", comments=2)

    records, _ = pull_all(adapter, context(github, cursor))

    assert set(new_commits) <= {r.id for r in records if isinstance(r, Commit)}
    assert str(new_issue.number) in by_kind(records)["issue"]
    pr5 = next(r for r in records if isinstance(r, PullRequest) and r.number == 5)
    assert review_id in {r.id for r in pr5.reviews}
    assert github.calls.graphql <= 4


def test_commits_of_another_branch_are_not_pulled(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    cursor = synced_cursor(adapter, github)
    other = github.add_commits(2, branch="feature")

    records, _ = pull_all(adapter, context(github, cursor))

    assert not set(other) & {r.id for r in records}


def test_pull_resumes_from_any_page_without_asking_twice(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    expected, full_pages = pull_all(adapter, context(github))
    github.reset_calls()
    cursor: dict[str, Any] = {}
    seen: list[Record] = []
    sessions = 0
    done = False
    while not done:  # a sync that is stopped after every 3 pages and started again from the stored cursor
        sessions += 1
        generator = adapter.pull(context(github, cursor))
        for _ in range(3):
            page = next(generator)
            seen.extend(page.records)
            cursor = page.cursor
            if page.done:
                done = True
                break
        if isinstance(generator, Generator):
            generator.close()  # the function stopped: its HTTP client closes

    assert sessions > 3
    assert sorted((r.kind, r.id) for r in seen) == sorted((r.kind, r.id) for r in expected)
    asked = [(c["operation"], c["variables"].get("after")) for c in github.calls.log]
    assert len(asked) == len(set(asked)) == len(full_pages)


def test_a_failing_big_page_is_asked_again_smaller(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    github.fail_pages_larger_than(30)  # as if a page of 50 pull requests took GitHub too long

    records, _ = pull_all(adapter, context(github))

    assert len(records) == PRS + COMMITS + ISSUES
    answered = [c for c in github.calls.log if c["status"] == 200]
    assert {c["variables"]["first"] for c in answered} <= {5, 10, 20, 25}
    assert any(c["variables"]["first"] == 25 for c in answered)
    resumed = [(c["operation"], c["variables"].get("after")) for c in answered]
    assert len(resumed) == len(set(resumed))  # every page once


def test_the_page_size_grows_back_after_a_passing_failure(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    github.fail_next_graphql(2, status=504)  # the first page, and its one in-place retry

    records, _ = pull_all(adapter, context(github))

    assert len(records) == PRS + COMMITS + ISSUES
    sizes = [c["variables"]["first"] for c in github.calls.log if c["operation"] == "PullRequests"]
    assert sizes[:5] == [50, 50, 25, 25, 50]


def test_a_page_that_fails_at_the_smallest_size_gives_up(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    github.fail_pages_larger_than(1)

    with pytest.raises(TransientProviderError):
        list(adapter.pull(context(github)))


def test_a_query_the_quota_cannot_pay_for_is_not_sent(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    reset_at = (datetime.now(UTC) + timedelta(minutes=42)).replace(microsecond=0)
    github.set_rate_limit(remaining=2, reset_at=reset_at)
    ctx = context(github)
    stored: list[dict[str, Any]] = []

    def sync() -> None:
        for page in adapter.pull(ctx):
            stored.append(page.cursor)

    with pytest.raises(RateLimitError) as limited:
        sync()

    assert limited.value.retry_at == reset_at
    assert github.calls.graphql == 2  # two pages paid for, the third never asked
    assert github.rate_remaining == 0
    assert len(stored) == 2
    assert ctx.stats.quota_remaining == 0


def test_primary_rate_limit_answer_waits_for_the_reset(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    reset_at = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    github.set_rate_limit(remaining=0, reset_at=reset_at)

    with pytest.raises(RateLimitError) as limited:
        list(adapter.pull(context(github)))

    assert limited.value.retry_at == reset_at


def test_secondary_rate_limit_waits_for_retry_after(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    github.secondary_limit(retry_after=90, status=403)
    before = datetime.now(UTC)

    with pytest.raises(RateLimitError) as limited:
        list(adapter.pull(context(github)))

    assert limited.value.retry_at is not None
    assert before + timedelta(seconds=89) <= limited.value.retry_at <= datetime.now(UTC) + timedelta(seconds=91)
    assert github.calls.graphql == 1  # not retried in place


def test_a_revoked_token_is_an_auth_error(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    github.revoke_token()
    with pytest.raises(AuthError):
        list(adapter.pull(context(github)))
    assert github.calls.graphql == 1


def test_pull_refusals(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    with pytest.raises(ProviderRefused) as refused:
        list(adapter.pull(context(github, repository="octo-org/gone")))
    assert refused.value.code == "repository_not_found"

    cursor = {**synced_cursor(adapter, github), "stream": "commits"}
    with pytest.raises(ProviderRefused) as refused:
        list(adapter.pull(context(github, cursor, branch="deleted-branch")))
    assert refused.value.code == "branch_not_found"

    github.private = True
    with pytest.raises(ProviderRefused) as refused:
        list(adapter.pull(context(github)))
    assert refused.value.code == "private_repository"
    assert len(list(adapter.pull(context(github, include_private=True)))) > 0


# ---------------------------------------------------------------- refresh
def test_refresh_fills_commit_sizes_and_parents_in_one_request(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    history = github.branches["main"][:60]
    incomplete: list[Record] = [
        Commit(id=c.oid, sha=c.oid, committed_at=c.committed_at, author="ada", updated_at=c.committed_at)
        for c in history
    ]

    refreshed = adapter.refresh(github.config(), {"token": github.token}, incomplete)

    assert github.calls.graphql == 1
    for before, after, fake_commit in zip(incomplete, refreshed, history, strict=True):
        assert isinstance(after, Commit)
        assert (after.additions, after.deletions, after.parents) == (
            fake_commit.additions,
            fake_commit.deletions,
            fake_commit.parents,
        )
        assert after.updated_at == before.updated_at
        assert after.id == before.id


def test_refresh_completes_pull_requests_and_keeps_the_webhook_review(
    adapter: GitHubAdapter, github: FakeGitHub
) -> None:
    review_id = github.add_review(9, author="barbara", state="APPROVED", comments=3)
    fake_pr = github.pull_requests[9]
    partial = PullRequest(id="9", number=9, state="open", created_at=fake_pr.created_at, updated_at=fake_pr.updated_at)
    commit = github.branches["main"][0]
    incomplete: list[Record] = [
        partial,
        Commit(
            id=commit.oid, sha=commit.oid, committed_at=commit.committed_at, author="x", updated_at=commit.committed_at
        ),
    ]

    refreshed = adapter.refresh(github.config(), {"token": github.token}, incomplete)

    assert github.calls.graphql == 1
    pr = refreshed[0]
    assert isinstance(pr, PullRequest)
    assert (pr.additions, pr.comments, pr.state) == (fake_pr.additions, fake_pr.comments, fake_pr.state.lower())
    assert review_id in {r.id for r in pr.reviews}
    assert pr.review_comments == sum(r.comments for r in fake_pr.reviews)


def test_refresh_of_many_commits_asks_once_per_hundred(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    history = github.branches["main"][:250]
    incomplete: list[Record] = [
        Commit(id=c.oid, sha=c.oid, committed_at=c.committed_at, author="ada", updated_at=c.committed_at)
        for c in history
    ]

    refreshed = adapter.refresh(github.config(), {"token": github.token}, incomplete)

    assert github.calls.graphql == 3
    assert all(isinstance(r, Commit) and r.additions is not None for r in refreshed)


def test_refresh_leaves_unknown_commits_and_complete_records_alone(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    now = datetime.now(UTC)
    unknown = Commit(id="f" * 40, sha="f" * 40, committed_at=now, author="ada", updated_at=now)
    complete = Commit(
        id="e" * 40, sha="e" * 40, committed_at=now, author="ada", additions=1, deletions=0, updated_at=now
    )

    assert adapter.refresh(github.config(), {"token": github.token}, [complete]) == [complete]
    assert github.calls.graphql == 0
    assert adapter.refresh(github.config(), {"token": github.token}, [unknown, complete]) == [unknown, complete]
    assert github.calls.graphql == 1


# ---------------------------------------------------------------- metrics
def test_compute_metrics_splits_records_by_kind(adapter: GitHubAdapter, github: FakeGitHub) -> None:
    records, _ = pull_all(adapter, context(github))
    grouped: dict[str, list[Record]] = {}
    for record in records:
        grouped.setdefault(record.kind, []).append(record)
    until = github.now
    since = until - timedelta(days=30)

    measured = adapter.compute_metrics(grouped, since, until, until, github.config(), {})
    metrics = measured.metrics

    assert set(metrics) == {"pull_requests", "commits", "issues"}
    assert set(measured.series) == {"prs_opened", "prs_merged", "commits", "issues_opened", "issues_closed"}
    assert measured.series["commits"] == metrics["commits"]["weekly"]
    expected_commits = sum(1 for c in github.branches["main"] if since <= c.committed_at < until and c.parents == 1)
    assert metrics["commits"]["count"] == expected_commits
    expected_opened = sum(1 for p in github.pull_requests.values() if since <= p.created_at < until)
    assert metrics["pull_requests"]["opened"] == expected_opened


# ---------------------------------------------------------------- commits by ancestry (merges, force-pushes)
def _dag_repository(fake: FakeGitHub) -> tuple[list[str], list[datetime]]:
    """16 commits on main over the last two months (one every ~3.5 days, the newest 5 days ago)."""
    dates = [fake.now - timedelta(days=60) + timedelta(hours=84 * i) for i in range(16)]
    main = fake.linear_commits(dates, parent=None)
    fake.set_head("main", main[-1])
    return main, dates


def _window_context(fake: FakeGitHub, cursor: dict[str, Any] | None = None) -> PullContext:
    return PullContext(
        integration_id="int_dag",
        config=fake.config(),
        credentials={"token": fake.token},
        cursor=cursor or {},
        backfill_since=fake.now - timedelta(days=62),
    )


def _commit_ids(records: list[Record]) -> set[str]:
    return {r.id for r in records if isinstance(r, Commit)}


def test_commits_brought_in_by_a_merge_are_pulled_although_their_dates_are_old(adapter: GitHubAdapter) -> None:
    with FakeGitHub() as fake:
        main, dates = _dag_repository(fake)
        # a branch cut from the 4th commit, six commits committed while main moved on (older than main's head)
        side = fake.linear_commits([dates[4] + timedelta(days=d) for d in range(1, 7)], parent=main[3])
        first, pages = pull_all(adapter, _window_context(fake))
        assert _commit_ids(first) == set(main)
        assert pages[-1].cursor["head"] == main[-1]  # the cursor records the last head synced
        fake.reset_calls()

        merge = fake.merge(side[-1])
        second, pages = pull_all(adapter, _window_context(fake, pages[-1].cursor))

        stored = _commit_ids(first) | _commit_ids(second)
        assert len(stored) == 23  # 16 + the merge + the 6 it brought in (a date filter saw 17)
        assert set(side) | {merge} <= _commit_ids(second)
        pulled = {r.id: r for r in second if isinstance(r, Commit)}
        assert pulled[merge].parents == 2
        assert pulled[side[0]].committed_at == fake.objects[side[0]].committed_at
        assert pulled[side[0]].additions == fake.objects[side[0]].additions
        assert pages[-1].cursor["head"] == merge
        compares = [c for c in fake.calls.log if c["kind"] == "rest"]
        assert [c["path"].rsplit("/", 1)[-1] for c in compares] == [f"{main[-1]}...{merge}"]
        assert fake.calls.graphql <= 4  # pull requests, the branch page, the compared commits, issues


def test_a_merge_of_many_commits_is_read_over_compare_pages(adapter: GitHubAdapter) -> None:
    with FakeGitHub() as fake:
        main, dates = _dag_repository(fake)
        side = fake.linear_commits([dates[2] + timedelta(minutes=m) for m in range(1, 151)], parent=main[1])
        _, pages = pull_all(adapter, _window_context(fake))
        fake.reset_calls()

        merge = fake.merge(side[-1])
        records, pages = pull_all(adapter, _window_context(fake, pages[-1].cursor))

        assert set(side) | {merge} <= _commit_ids(records)
        compares = [c for c in fake.calls.log if c["kind"] == "rest"]
        assert [(c["query"]["page"], c["query"]["per_page"]) for c in compares] == [("1", "100"), ("2", "100")]
        assert fake.calls.graphql_pages("Refresh") and len(fake.calls.graphql_pages("Refresh")) == 2


def test_an_unchanged_head_costs_no_compare(adapter: GitHubAdapter) -> None:
    with FakeGitHub() as fake:
        main, _ = _dag_repository(fake)
        _, pages = pull_all(adapter, _window_context(fake))
        fake.reset_calls()

        records, again = pull_all(adapter, _window_context(fake, pages[-1].cursor))

        assert fake.calls.rest == 0
        assert fake.calls.graphql == 3
        assert _commit_ids(records) <= {main[-1]}  # at most the newest, read again at its mark
        assert again[-1].cursor["head"] == main[-1]


def test_a_force_push_is_read_over_the_wide_window(adapter: GitHubAdapter) -> None:
    with FakeGitHub() as fake:
        main, dates = _dag_repository(fake)
        _, pages = pull_all(adapter, _window_context(fake))
        fake.reset_calls()
        # the last three commits are rewritten: two new ones, committed before the old head's date
        rewritten = fake.linear_commits(
            [dates[12] + timedelta(hours=6), dates[13] + timedelta(hours=6)], parent=main[12]
        )
        fake.set_head("main", rewritten[-1])

        records, pages = pull_all(adapter, _window_context(fake, pages[-1].cursor))

        assert set(rewritten) <= _commit_ids(records)
        assert _commit_ids(records) == set(main[:13]) | set(rewritten)  # the backfill window walked again
        assert pages[-1].cursor["head"] == rewritten[-1]
        compares = [c for c in fake.calls.log if c["kind"] == "rest"]
        assert len(compares) == 1  # diverged: one compare, then the history walk


def test_a_first_sync_reads_only_the_backfill_window(adapter: GitHubAdapter) -> None:
    with FakeGitHub() as fake:
        main, dates = _dag_repository(fake)
        ctx = _window_context(fake)
        ctx.backfill_since = fake.now - timedelta(days=30)

        records, pages = pull_all(adapter, ctx)

        assert _commit_ids(records) == {oid for oid, at in zip(main, dates, strict=True) if at >= ctx.backfill_since}
        assert pages[-1].cursor["head"] == main[-1]
        assert fake.calls.rest == 0
