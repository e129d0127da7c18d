"""The Jira pull against the fake Jira over HTTPS: through the real ``SyncEngine`` with moto for full and
incremental syncs, and directly through the adapter for rate limits and resumability."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.adapters.providers.base import PullContext
from agiletrack.adapters.providers.jira import adapter as jira_adapter
from agiletrack.adapters.providers.jira import pull as jira_pull
from agiletrack.adapters.providers.jira.adapter import JiraAdapter
from agiletrack.adapters.providers.jira.config import JiraConfig
from agiletrack.adapters.providers.jira.records import JiraBoard, JiraIssue, JiraSprint, JiraStatus
from agiletrack.domain.jobs import SyncJob
from agiletrack.domain.sync import SyncEngine
from agiletrack.errors import RateLimitError
from agiletrack.models.common import new_id, utcnow
from agiletrack.models.integrations import Integration
from agiletrack.models.records import Record
from tests.fakes.jira import DECOY_FIELD, ESTIMATE_FIELD, SPRINT_FIELD, FakeJira

PLENTY: Callable[[], int] = lambda: 300_000
NOW = utcnow()
START = NOW - timedelta(days=20)


def populate(fake: FakeJira, count: int = 250) -> None:
    fake.add_sprint(7, 1, "closed", START, START + timedelta(days=7), START + timedelta(days=7))
    fake.add_sprint(7, 2, "active", START + timedelta(days=7), START + timedelta(days=21))
    fake.add_sprint(7, 3, "future")
    fake.generate(count, START, long_every=20, long_histories=45, sprint_ids=[1, 2])


@pytest.fixture
def jira(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeJira]:
    with FakeJira() as fake:
        monkeypatch.setenv("SSL_CERT_FILE", fake.ca_file)
        yield fake


def make_integration(fake: FakeJira, **overrides: Any) -> Integration:
    integration_id = new_id("int")
    name = secret_store().name_for(integration_id)
    secret_store().create(name, {"credentials": {"api_token": fake.api_token}, "webhook_secret": "s3cret"})
    public = {k: v for k, v in fake.config(**overrides).items() if k != "api_token"}
    now = utcnow()
    integration = Integration(
        id=integration_id,
        team_id="team_a",
        type="jira",
        name="jira",
        config=public,
        credential_fields=["api_token"],
        secret_name=name,
        created_at=now,
        updated_at=now,
    )
    integration_store().create(integration)
    return integration


def engine(adapter: JiraAdapter) -> SyncEngine:
    return SyncEngine(
        integrations=integration_store(),
        records=record_store(),
        secrets=secret_store(),
        queues=queues(),
        adapter_for=lambda _type: adapter,
        backfill_days=365,
        lease_ttl=timedelta(minutes=6),
    )


def run(sync: SyncEngine, integration: Integration, reason: str = "scheduled") -> Any:
    return sync.run(SyncJob.new(integration.id, reason), owner=new_id("w"), attempt=1, remaining_ms=PLENTY)  # type: ignore[arg-type]


def stored(integration: Integration, kind: str) -> dict[str, Any]:
    return {r.id: r for r in record_store().updated_since(integration.id, kind, None)}


def test_a_full_sync_gets_every_issue_with_its_complete_history(aws: Any, jira: FakeJira) -> None:
    populate(jira)
    integration = make_integration(jira)

    outcome = run(engine(JiraAdapter()), integration, "created")

    assert outcome.outcome == "success"
    issues = stored(integration, "jira_issue")
    assert len(issues) == 250
    for fake_issue in jira.issues.values():
        issue = issues[str(fake_issue.id)]
        assert isinstance(issue, JiraIssue)
        assert [c.history_id for c in issue.history if c.field == "status"] == [
            str(h.id) for h in fake_issue.histories if any(i["fieldId"] == "status" for i in h.items)
        ]
        assert issue.estimate == fake_issue.estimate  # the board's field, never the decoy "Story Points"
        assert issue.sprint_ids == fake_issue.sprint_ids
    long_one = issues["10001"]
    assert isinstance(long_one, JiraIssue)
    assert len([c for c in long_one.history if c.field == "status"]) == 46  # more than search's newest 40
    assert {s.id: s.category for s in stored(integration, "jira_status").values() if isinstance(s, JiraStatus)} == {
        "10000": "new",
        "3": "indeterminate",
        "10001": "done",
    }
    sprints = stored(integration, "jira_sprint")
    assert {i: s.state for i, s in sprints.items() if isinstance(s, JiraSprint)} == {
        "1": "closed",
        "2": "active",
        "3": "future",
    }
    board = stored(integration, "jira_board")["7"]
    assert isinstance(board, JiraBoard)
    assert (board.estimation_field, board.sprint_field) == (ESTIMATE_FIELD, SPRINT_FIELD)
    after = integration_store().get(integration.id)
    assert after is not None and after.status == "active"
    assert after.provider_state == {
        "sprint_field": SPRINT_FIELD,
        "estimation_field": ESTIMATE_FIELD,
        "board_id": 7,
        "time_zone": "UTC",
    }
    # Only the fields the metrics read; every changelog call within Jira's limits.
    searches = [b for b in jira.bodies if "jql" in b]
    assert all(DECOY_FIELD not in b["fields"] and b["maxResults"] <= 100 for b in searches)
    fetches = [b for b in jira.bodies if "issueIdsOrKeys" in b]
    assert all(len(b["issueIdsOrKeys"]) <= 1000 for b in fetches)
    assert set(fetches[0]["fieldIds"]) == {"status", "resolution", SPRINT_FIELD, ESTIMATE_FIELD}
    histories = sum(len(i.histories) for i in jira.issues.values())
    assert len(jira.requests) <= math.ceil(250 / 100) + math.ceil(histories / 1000) + 2 * 3 + 10
    assert not any(r.startswith("/rest/api/3/search?") or r == "/rest/api/3/search" for r in jira.requests)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/Los_Angeles"])
def test_an_incremental_sync_far_from_utc_gets_the_change_and_rewrites_nothing(
    aws: Any, jira: FakeJira, zone: str
) -> None:
    jira.time_zone = zone
    populate(jira, 120)
    integration = make_integration(jira)
    sync = engine(JiraAdapter())
    run(sync, integration, "created")
    changed = jira.issues[10005]
    jira.change(changed, utcnow() - timedelta(seconds=5), status="10001")
    jira.requests.clear()

    second = run(sync, integration)

    assert second.outcome == "success"
    assert second.records_written == 1
    issue = stored(integration, "jira_issue")["10005"]
    assert isinstance(issue, JiraIssue) and issue.status_id == "10001" and issue.status_category == "done"
    assert [c.to_value for c in issue.history if c.field == "status"][-1] == "10001"
    assert len(jira.requests) <= 4

    jira.requests.clear()
    idle = run(sync, integration)

    assert idle.outcome == "success" and idle.records_written == 0
    assert len(jira.requests) <= 3


def test_twenty_changed_issues_take_at_most_four_requests_and_twenty_writes(aws: Any, jira: FakeJira) -> None:
    populate(jira, 300)
    integration = make_integration(jira)
    sync = engine(JiraAdapter())
    run(sync, integration, "created")
    at = utcnow() - timedelta(seconds=30)
    for n in range(20):
        jira.change(jira.issues[10001 + n * 7], at + timedelta(milliseconds=n), estimate=8.0)
    jira.requests.clear()

    outcome = run(sync, integration)

    assert outcome.records_written == 20
    assert len(jira.requests) <= 4
    assert all(stored(integration, "jira_issue")[str(10001 + n * 7)].estimate == 8.0 for n in range(20))


def test_a_project_without_a_board_has_no_sprints_and_no_board(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeJira(boards={9: "OPS"}) as fake:
        monkeypatch.setenv("SSL_CERT_FILE", fake.ca_file)
        fake.add_sprint(9, 5, "active", START)
        fake.generate(10, START, long_every=0)
        integration = make_integration(fake)

        outcome = run(engine(JiraAdapter()), integration, "created")

        assert outcome.outcome == "success"
        assert len(stored(integration, "jira_issue")) == 10
        assert stored(integration, "jira_sprint") == {} and stored(integration, "jira_board") == {}
        assert all(i.estimate is None for i in stored(integration, "jira_issue").values())
        assert not any("/sprint" in r or "/configuration" in r for r in fake.requests)
        after = integration_store().get(integration.id)
        assert after is not None and after.provider_state.get("board_id") is None


def test_a_deleted_issue_becomes_a_tombstone_at_the_daily_reconciliation(aws: Any, jira: FakeJira) -> None:
    populate(jira, 30)
    integration = make_integration(jira)
    clock = {"now": utcnow()}
    sync = engine(JiraAdapter(clock=lambda: clock["now"]))
    run(sync, integration, "created")
    jira.delete_issue(10004)
    clock["now"] += timedelta(hours=1)
    run(sync, integration)
    assert stored(integration, "jira_issue")["10004"].deleted is False  # not yet: at most once a day

    clock["now"] += timedelta(hours=24)
    outcome = run(sync, integration)

    assert outcome.outcome == "success"
    gone = stored(integration, "jira_issue")["10004"]
    assert gone.deleted is True
    assert sum(i.deleted for i in stored(integration, "jira_issue").values()) == 1
    assert any(b.get("fields") == ["id"] and b["maxResults"] == 5000 for b in jira.bodies)


# ---------------------------------------------------------------- directly through the adapter
def context(fake: FakeJira, cursor: dict[str, Any] | None = None) -> PullContext:
    config = JiraConfig.model_validate(fake.config())
    return PullContext(
        integration_id="int_x",
        config=config,
        credentials={"api_token": fake.api_token},
        cursor=cursor or {},
        backfill_since=utcnow() - timedelta(days=365),
    )


def test_a_quota_429_becomes_a_rate_limit_at_its_retry_after(jira: FakeJira) -> None:
    populate(jira, 5)
    jira.fail_next(429, headers={"Retry-After": "120", "RateLimit-Reason": "jira-quota-tenant-based"})
    before = datetime.now(UTC)

    with pytest.raises(RateLimitError) as raised:
        list(JiraAdapter().pull(context(jira)))

    assert raised.value.retry_at is not None
    assert before + timedelta(seconds=119) <= raised.value.retry_at <= datetime.now(UTC) + timedelta(seconds=121)


def test_a_503_with_retry_after_or_a_reset_time_is_a_rate_limit(jira: FakeJira) -> None:
    reset = (datetime.now(UTC) + timedelta(minutes=7)).replace(microsecond=0)
    jira.fail_next(503, headers={"X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z")})

    with pytest.raises(RateLimitError) as raised:
        list(JiraAdapter().pull(context(jira)))

    assert raised.value.retry_at == reset
    assert len(jira.requests) == 1  # not retried in place


def test_a_burst_limit_is_waited_out_in_place(jira: FakeJira) -> None:
    populate(jira, 5)
    jira.fail_next(429, times=2, headers={"Retry-After": "1", "RateLimit-Reason": "jira-burst-based"})
    waits: list[float] = []

    pages = list(JiraAdapter(sleep=waits.append).pull(context(jira)))

    assert pages[-1].done
    assert len(waits) == 2 and all(1.0 <= w <= 1.25 for w in waits)
    assert sum(isinstance(r, JiraIssue) for p in pages for r in p.records) == 5


def test_a_failing_sprint_report_is_ignored_and_not_asked_again(jira: FakeJira) -> None:
    populate(jira, 5)
    jira.report_status = 404
    first = list(JiraAdapter().pull(context(jira)))
    jira.requests.clear()

    list(JiraAdapter().pull(context(jira, first[-1].cursor)))

    assert first[-1].done and first[-1].cursor["compared"] == [1]
    assert not any("sprintreport" in r for r in jira.requests)


def test_the_sprint_report_is_kept_on_its_closed_sprint_and_a_disagreement_is_found(jira: FakeJira) -> None:
    # Given a closed sprint 1 whose report the fake computes from its members (done estimates)
    populate(jira, 30)
    members = [i for i in jira.issues.values() if 1 in i.sprint_ids]
    reported = sum(i.estimate or 0 for i in members if jira.statuses[i.status_id][1] == "done")

    # When it is synced twice (the report is read once, and stays on the record)
    first = list(JiraAdapter().pull(context(jira)))
    second = list(JiraAdapter().pull(context(jira, first[-1].cursor)))

    sprints = {r.id: r for p in first for r in p.records if isinstance(r, JiraSprint)}
    assert sprints["1"].reported_completed_points == reported
    assert sprints["2"].reported_completed_points is None  # active: no report yet
    assert not any(isinstance(r, JiraSprint) for p in second for r in p.records)  # unchanged, not rewritten

    # Then our completed points are compared with it: equal is fine, a difference over rounding is found
    ours = [{"id": 1, "completed_points": reported}, {"id": 2, "completed_points": 5.0}]
    assert jira_adapter.compare_with_sprint_reports(ours, list(sprints.values())) == []
    ours[0]["completed_points"] = reported + 1
    assert jira_adapter.compare_with_sprint_reports(ours, list(sprints.values())) == ["1"]


def latest(pages: list[Any], into: dict[tuple[str, str], Record]) -> None:
    """Store like the record store: a record replaces one only when newer or different at the same time."""
    for page in pages:
        for record in page.records:
            into[(record.kind, record.id)] = record


def test_a_pull_stopped_after_any_page_resumes_to_the_same_result(
    jira: FakeJira, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jira_pull, "BATCH_ISSUES", 100)
    populate(jira, 350)
    clock = utcnow()
    whole: dict[tuple[str, str], Record] = {}
    uninterrupted = list(JiraAdapter(clock=lambda: clock).pull(context(jira)))
    latest(uninterrupted, whole)
    assert len(uninterrupted) >= 6

    for stop in range(1, len(uninterrupted)):
        jira.requests.clear()
        got: dict[tuple[str, str], Record] = {}
        head = []
        for page in JiraAdapter(clock=lambda: clock).pull(context(jira)):
            head.append(page)
            if len(head) == stop:
                break
        first_requests = list(jira.requests)
        tail = list(JiraAdapter(clock=lambda: clock).pull(context(jira, head[-1].cursor)))
        latest(head + tail, got)

        assert got == whole, f"stopped after page {stop}"
        assert tail[-1].done and tail[-1].cursor == uninterrupted[-1].cursor
        searches = [r for r in jira.requests[len(first_requests) :] if "search/jql" in r]
        assert len(searches) <= len([r for r in first_requests if "search/jql" in r]) + 4


def test_a_first_sync_of_many_issues_keeps_its_cursor_small(jira: FakeJira, monkeypatch: pytest.MonkeyPatch) -> None:
    # The cursor is stored on the integration's item (400 KB at most): the overlap it remembers is the issues
    # updated within the margin of the newest one, after every page, not every issue of the run so far.
    monkeypatch.setattr(jira_pull, "BATCH_ISSUES", 100)
    jira.generate(600, START, long_every=0, short_histories=0)  # one issue a minute, each changed 30 s after
    clock = utcnow()

    pages = list(JiraAdapter(clock=lambda: clock).pull(context(jira)))

    issue_pages = [p for p in pages if any(isinstance(r, JiraIssue) for r in p.records)]
    assert len(issue_pages) == 6
    margin_minutes = jira_pull.MARGIN.total_seconds() / 60 + 1
    for page in issue_pages:
        assert 0 < len(page.cursor["recent"]) <= margin_minutes + 1
    assert sum(len(p.records) for p in issue_pages) == 600


def test_each_page_says_its_phase_and_the_issues_say_how_far_forward_they_have_come(jira: FakeJira) -> None:
    # 2,500 issues a minute apart: three issue pages (1,000 a page), searched oldest update first
    populate(jira, 2500)

    pages = list(JiraAdapter().pull(context(jira)))

    progress = [page.progress for page in pages]
    assert all(p is not None for p in progress)
    assert [p.phase for p in progress if p] == ["setup", "issues", "issues", "issues", "sprints", "reconcile"]
    issue_pages = [(page, p) for page, p in zip(pages, progress, strict=True) if p and p.phase == "issues"]
    newest_so_far = None
    for page, p in issue_pages:
        updated = [r.updated_at for r in page.records if isinstance(r, JiraIssue)]
        newest_so_far = max([*updated, *([newest_so_far] if newest_so_far else [])])
        assert (p.oldest, p.newest) == (None, newest_so_far)
    assert all(p.oldest is None and p.newest is None for p in progress if p and p.phase != "issues")
