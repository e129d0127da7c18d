"""The sync engine against moto (DynamoDB, SQS, Secrets Manager) and a fake provider over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.adapters.providers.registry import adapter_for
from agiletrack.domain.jobs import SyncJob
from agiletrack.domain.sync import SyncEngine
from agiletrack.models.common import new_id, utcnow
from agiletrack.models.integrations import Integration
from tests.fakes.provider import FakeProvider, TestAdapter

LEASE = timedelta(minutes=6)
PLENTY: Callable[[], int] = lambda: 300_000


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider(items=95) as fake:
        yield fake


@pytest.fixture
def make_integration(aws: Any) -> Callable[..., Integration]:
    def make(url: str, token: str = "good-token") -> Integration:
        integration_id = new_id("int")
        name = secret_store().name_for(integration_id)
        secret_store().create(name, {"credentials": {"token": token}, "webhook_secret": "s3cret"})
        now = utcnow()
        integration = Integration(
            id=integration_id,
            team_id="team_a",
            type="test",
            name="test",
            config={"url": url},
            credential_fields=["token"],
            secret_name=name,
            created_at=now,
            updated_at=now,
        )
        integration_store().create(integration)
        return integration

    return make


def engine(adapter: TestAdapter, clock: Callable[[], datetime] = utcnow) -> SyncEngine:
    return SyncEngine(
        integrations=integration_store(),
        records=record_store(),
        secrets=secret_store(),
        queues=queues(),
        adapter_for=lambda _type: adapter,
        backfill_days=3650,
        lease_ttl=LEASE,
        clock=clock,
    )


def stored(integration_id: str) -> dict[str, int]:
    return {r.id: r.value for r in record_store().updated_since(integration_id, "test_item", None)}  # type: ignore[attr-defined]


def sync_messages(aws: Any) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found = sqs.receive_message(QueueUrl=queues().sync_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"]) for m in found.get("Messages", [])]


def test_full_sync_stores_everything_and_records_status(
    aws: Any, provider: FakeProvider, make_integration: Any
) -> None:
    integration = make_integration(provider.url)

    outcome = engine(TestAdapter(provider.url)).run(
        SyncJob.new(integration.id, "created"), owner="m1", attempt=1, remaining_ms=PLENTY
    )

    assert outcome.outcome == "success"
    assert outcome.records_written == 95
    assert outcome.pages == 10
    assert len(stored(integration.id)) == 95
    after = integration_store().get(integration.id)
    assert after is not None and after.status == "active"
    assert after.last_sync is not None and after.last_sync.outcome == "success"
    assert after.last_sync.records == 95 and after.last_sync.api_calls == 10
    assert after.last_success_at is not None and after.next_sync_at is not None
    assert after.api_response_ms is not None and after.newest_data_at is not None
    assert after.data_changed_at is not None


def test_second_sync_pulls_only_changes_and_writes_only_them(
    aws: Any, provider: FakeProvider, make_integration: Any
) -> None:
    integration = make_integration(provider.url)
    sync = engine(TestAdapter(provider.url))
    sync.run(SyncJob.new(integration.id, "created"), owner="m1", attempt=1, remaining_ms=PLENTY)
    provider.requests.clear()
    provider.put("item-00003", provider.start + timedelta(days=30), value=1000)

    outcome = sync.run(SyncJob.new(integration.id, "scheduled"), owner="m2", attempt=1, remaining_ms=PLENTY)

    assert outcome.records_written == 1
    assert len(provider.requests) == 1
    assert stored(integration.id)["item-00003"] == 1000


def test_out_of_time_saves_place_and_queues_a_continuation(
    aws: Any, provider: FakeProvider, make_integration: Any
) -> None:
    integration = make_integration(provider.url)
    pages = iter([300_000, 300_000, 300_000, 1_000] + [300_000] * 50)  # at the start, then after each page
    sync = engine(TestAdapter(provider.url))

    first = sync.run(SyncJob.new(integration.id, "created"), owner="m1", attempt=1, remaining_ms=lambda: next(pages))

    assert first.outcome == "partial" and first.pages == 3
    continuation = sync_messages(aws)
    assert [m["reason"] for m in continuation] == ["continuation"]
    requested_before = list(provider.requests)

    second = sync.run(SyncJob.from_body(continuation[0]), owner="m2", attempt=1, remaining_ms=PLENTY)

    assert second.outcome == "success"
    assert len(stored(integration.id)) == 95
    # No page was pulled twice: the continuation starts where the first invocation stopped.
    assert not set(provider.requests[len(requested_before) :]) & set(requested_before)


class Crash(BaseException):
    """Stands for the process dying (a timeout or an out-of-memory kill): nothing catches it."""


def test_a_sync_killed_halfway_and_run_again_ends_with_the_same_records(
    aws: Any, provider: FakeProvider, make_integration: Any
) -> None:
    killed = make_integration(provider.url)
    clean = make_integration(provider.url)
    now = [datetime.now(UTC)]
    sync = engine(TestAdapter(provider.url), clock=lambda: now[0])
    calls = {"n": 0}

    def dies_after_four_pages() -> int:
        calls["n"] += 1
        if calls["n"] == 5:  # the engine asks at the start, then after each page
            raise Crash
        return 300_000

    with pytest.raises(Crash):
        sync.run(SyncJob.new(killed.id, "created"), owner="msg-1", attempt=1, remaining_ms=dies_after_four_pages)
    assert 0 < len(stored(killed.id)) < 95

    # The message comes back after its visibility timeout; the dead worker's lease has expired by then.
    now[0] += timedelta(minutes=30)
    again = sync.run(SyncJob.new(killed.id, "created"), owner="msg-1", attempt=2, remaining_ms=PLENTY)
    sync.run(SyncJob.new(clean.id, "created"), owner="msg-2", attempt=1, remaining_ms=PLENTY)

    assert again.outcome == "success"
    assert stored(killed.id) == stored(clean.id)
    assert len(stored(killed.id)) == 95


def test_rate_limit_is_retried_no_sooner_than_the_reset(
    aws: Any, provider: FakeProvider, make_integration: Any
) -> None:
    integration = make_integration(provider.url)
    now = datetime.now(UTC).replace(microsecond=0)
    provider.fail_next(429, {"retry-after": "1800"})

    outcome = engine(TestAdapter(provider.url), clock=lambda: now).run(
        SyncJob.new(integration.id, "created"), owner="m1", attempt=1, remaining_ms=PLENTY
    )

    assert outcome.outcome == "rate_limited"
    assert outcome.retry.action == "retry"
    assert outcome.retry.delay_seconds >= 1800 - 2
    after = integration_store().get(integration.id)
    assert after is not None and after.status == "pending"
    assert after.last_error is not None and after.last_error.kind == "rate_limit"


def test_rate_limit_without_a_reset_waits_sixty_seconds(
    aws: Any, provider: FakeProvider, make_integration: Any
) -> None:
    integration = make_integration(provider.url)
    provider.fail_next(429)

    outcome = engine(TestAdapter(provider.url)).run(
        SyncJob.new(integration.id, "created"), owner="m1", attempt=1, remaining_ms=PLENTY
    )

    assert outcome.retry.action == "retry"
    assert 59 <= outcome.retry.delay_seconds <= 61


def test_auth_refused_marks_failed_without_retry(aws: Any, provider: FakeProvider, make_integration: Any) -> None:
    integration = make_integration(provider.url, token="revoked")

    outcome = engine(TestAdapter(provider.url)).run(
        SyncJob.new(integration.id, "created"), owner="m1", attempt=1, remaining_ms=PLENTY
    )

    assert outcome.outcome == "failed"
    assert outcome.retry.action == "done"
    after = integration_store().get(integration.id)
    assert after is not None and after.status == "failed"
    assert after.last_error is not None and after.last_error.kind == "auth"
    # A failed integration is not synced again by the schedule until its credentials change.
    skipped = engine(TestAdapter(provider.url)).run(
        SyncJob.new(integration.id, "scheduled"), owner="m2", attempt=1, remaining_ms=PLENTY
    )
    assert skipped.outcome == "skipped"


def test_server_error_is_retried_after_300_s_and_is_an_error_after_three_retries(
    aws: Any, provider: FakeProvider, make_integration: Any
) -> None:
    integration = make_integration(provider.url)
    sync = engine(TestAdapter(provider.url))
    decisions = []
    for attempt in (1, 2, 3, 4):
        provider.fail_next(500)
        outcome = sync.run(SyncJob.new(integration.id, "created"), owner="m1", attempt=attempt, remaining_ms=PLENTY)
        decisions.append(outcome.retry)
        status = integration_store().get(integration.id)
        assert status is not None
        assert status.status == ("error" if attempt == 4 else "pending")

    assert [d.delay_seconds for d in decisions[:3]] == [300, 300, 300]
    assert all(d.action == "retry" for d in decisions)  # the fourth failure goes on to the DLQ
    final = integration_store().get(integration.id)
    assert final is not None and final.last_error is not None
    assert final.last_error.kind == "other"


def test_transient_502_is_retried_inside_the_job(aws: Any, provider: FakeProvider, make_integration: Any) -> None:
    integration = make_integration(provider.url)
    provider.fail_next(502)

    outcome = engine(TestAdapter(provider.url)).run(
        SyncJob.new(integration.id, "created"), owner="m1", attempt=1, remaining_ms=PLENTY
    )

    assert outcome.outcome == "success"
    assert len(stored(integration.id)) == 95


def test_two_jobs_for_one_integration_never_run_together(
    aws: Any, provider: FakeProvider, make_integration: Any
) -> None:
    """The second job arrives while the first holds the lease: it is coalesced, not run alongside.

    (The two are staggered on purpose: the lease relies on DynamoDB's atomic conditional write, which
    moto, unlike DynamoDB, does not make atomic across threads.)"""
    integration = make_integration(provider.url)
    provider.slow_ms = 40
    sync = engine(TestAdapter(provider.url))
    outcomes: dict[str, str] = {}

    def run(owner: str) -> None:
        outcomes[owner] = sync.run(
            SyncJob.new(integration.id, "manual"), owner=owner, attempt=1, remaining_ms=PLENTY
        ).outcome

    first = threading.Thread(target=run, args=("a",))
    first.start()
    deadline = time.monotonic() + 10
    while integration_store().sync_state(integration.id).get("lease_owner") != "a":
        assert time.monotonic() < deadline, "the first sync never took the lease"
        time.sleep(0.01)
    requests_before_second = len(provider.requests)
    run("b")
    first.join()

    assert outcomes == {"a": "success", "b": "coalesced"}
    assert len(stored(integration.id)) == 95
    # The second job made no request of its own: every request belongs to the first sync's 10 pages.
    assert requests_before_second <= 10 and len(provider.requests) == 10
    assert "lease_owner" not in integration_store().sync_state(integration.id)


def test_a_job_asked_for_before_the_last_successful_sync_started_is_coalesced(
    aws: Any, provider: FakeProvider, make_integration: Any
) -> None:
    integration = make_integration(provider.url)
    sync = engine(TestAdapter(provider.url))
    queued_earlier = SyncJob.new(integration.id, "scheduled")
    sync.run(SyncJob.new(integration.id, "manual"), owner="m1", attempt=1, remaining_ms=PLENTY)
    requests = len(provider.requests)

    outcome = sync.run(queued_earlier, owner="m2", attempt=1, remaining_ms=PLENTY)

    assert outcome.outcome == "coalesced"
    assert len(provider.requests) == requests


def test_a_provider_without_a_sync_adapter_is_skipped_once_with_a_clear_reason(
    aws: Any, provider: FakeProvider, make_integration: Any
) -> None:
    """Jira and Trello credentials are validated and kept before their sync exists: their jobs must not
    churn through retries into the dead-letter queue."""
    integration = make_integration(provider.url)
    sync = SyncEngine(
        integrations=integration_store(),
        records=record_store(),
        secrets=secret_store(),
        queues=queues(),
        adapter_for=adapter_for,
        backfill_days=30,
        lease_ttl=LEASE,
    )

    outcome = sync.run(SyncJob.new(integration.id, "created"), owner="m1", attempt=1, remaining_ms=PLENTY)

    assert outcome.outcome == "skipped"
    assert outcome.retry.action == "done"
    after = integration_store().get(integration.id)
    assert after is not None
    assert after.status == "pending"
    assert after.last_error is not None
    assert "not available yet" in after.last_error.message
