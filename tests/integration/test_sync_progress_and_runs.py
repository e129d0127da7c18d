"""Sync progress (stored with each page's cursor, shown by the status while a sync runs) and the sync runs
list, with the sync engine against moto and the fake provider over HTTP, read through the API function."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agiletrack.adapters.aws import clients
from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.domain.jobs import SyncJob
from agiletrack.domain.sync import SyncEngine
from agiletrack.models.common import new_id, utcnow
from agiletrack.models.integrations import Integration
from tests.fakes.provider import FakeProvider, TestAdapter
from tests.integration.conftest import ApiCaller

NOW = datetime(2026, 12, 2, tzinfo=UTC)
BACKFILL_DAYS = 10
START = NOW - timedelta(days=BACKFILL_DAYS)
STEP = timedelta(hours=6)
"""Item ``i`` is updated at ``START + i * STEP``; the adapter reads 10 a page, oldest first."""
PLENTY: Callable[[], int] = lambda: 300_000


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as fake:
        for i in range(40):
            fake.put(f"item-{i:05d}", START + i * STEP, value=i)
        yield fake


@pytest.fixture
def integration(aws: Any, provider: FakeProvider) -> Integration:
    integration_id = new_id("int")
    name = secret_store().name_for(integration_id)
    secret_store().create(name, {"credentials": {"token": "good-token"}, "webhook_secret": "s3cret"})
    now = utcnow()
    made = Integration(
        id=integration_id,
        team_id="team_a",
        type="test",
        name="test",
        config={"url": provider.url},
        credential_fields=["token"],
        secret_name=name,
        created_at=now,
        updated_at=now,
    )
    integration_store().create(made)
    return made


def engine(provider: FakeProvider, *, memory_mb: float | None = 87.5) -> SyncEngine:
    return SyncEngine(
        integrations=integration_store(),
        records=record_store(),
        secrets=secret_store(),
        queues=queues(),
        adapter_for=lambda _type: TestAdapter(provider.url),
        backfill_days=BACKFILL_DAYS,
        lease_ttl=timedelta(minutes=6),
        clock=lambda: NOW,
        memory_peak=lambda: memory_mb,
    )


def progress_of(call_api: ApiCaller, integration_id: str) -> Any:
    reply = call_api("GET", f"/integrations/{integration_id}/status")
    assert reply.status == 200, reply.text
    return reply.json()["progress"]


def expected(pages: int, percent: float | None, *, first_sync: bool = True) -> dict[str, Any]:
    newest = START + (10 * pages - 1) * STEP
    return {
        "phase": "items",
        "pages": pages,
        "records": 10 * pages,
        "first_sync": first_sync,
        "percent": percent,
        "oldest": None,
        "newest": newest.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "started_at": "2026-12-02T00:00:00Z",
        "updated_at": "2026-12-02T00:00:00Z",
    }


def after_the_start(hook: Callable[[], int]) -> Callable[[], int]:
    """``hook`` as the engine's ``remaining_ms`` after each page: its first call (at the start, for the provider
    requests' deadline) answers plenty without calling it."""
    calls = {"n": 0}

    def remaining_ms() -> int:
        calls["n"] += 1
        return 300_000 if calls["n"] == 1 else hook()

    return remaining_ms


# ---------------------------------------------------------------- progress
def test_the_status_shows_the_progress_of_a_first_sync_page_by_page_and_null_once_it_ends(
    call_api: ApiCaller, provider: FakeProvider, integration: Integration
) -> None:
    # Given a record of the status after each stored page (the engine asks for the time left at the start,
    # for the provider's deadline, and after each page)
    seen: list[Any] = []

    @after_the_start
    def after_each_page() -> int:
        seen.append(progress_of(call_api, integration.id))
        return 300_000

    # When a first sync pulls the 40 items, 10 a page
    outcome = engine(provider).run(
        SyncJob.new(integration.id, "created", NOW), owner="m1", attempt=1, remaining_ms=after_each_page
    )

    # Then after each page but the last the status showed how far forward the pull had reached:
    # page 1 reached item 9 (54 h of the 240 h since the backfill start), page 2 item 19 (114 h), page 3 item 29
    assert outcome.outcome == "success" and outcome.pages == 4
    assert seen == [expected(1, 22.5), expected(2, 47.5), expected(3, 72.5)]
    # and once it ended there is no progress
    assert progress_of(call_api, integration.id) is None


def test_progress_rides_on_the_cursor_write_one_update_per_page(
    aws: Any, provider: FakeProvider, integration: Integration
) -> None:
    writes: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        writes.append(params)

    events = clients.dynamodb().meta.events
    events.register("provide-client-params.dynamodb.UpdateItem", record, unique_id="api11-count")
    try:
        engine(provider).run(SyncJob.new(integration.id, "created", NOW), owner="m1", attempt=1, remaining_ms=PLENTY)
    finally:
        events.unregister("provide-client-params.dynamodb.UpdateItem", unique_id="api11-count")

    with_progress = [w["UpdateExpression"] for w in writes if "progress = :p" in w["UpdateExpression"]]
    assert with_progress == ["SET #c = :c, progress = :p"] * 4
    # one write per page carries both; nothing else writes the progress
    assert sum("progress" in w["UpdateExpression"] and "REMOVE" not in w["UpdateExpression"] for w in writes) == 4


def test_a_continuation_counts_on_from_the_progress_it_finds(
    aws: Any, call_api: ApiCaller, provider: FakeProvider, integration: Integration
) -> None:
    # Given a first sync that ran out of time after two pages
    sync = engine(provider)
    times = iter([300_000, 300_000, 1_000])  # at the start, after page 1, after page 2
    first = sync.run(
        SyncJob.new(integration.id, "created", NOW), owner="m1", attempt=1, remaining_ms=lambda: next(times)
    )
    assert first.outcome == "partial" and first.pages == 2
    # the integration is still syncing between the two invocations, and says how far it got
    assert progress_of(call_api, integration.id) == expected(2, 47.5)
    (message,) = [m for m in _sync_jobs(aws) if m["reason"] == "continuation"]

    # When the continuation runs, Then it counts on: page 3 is the third of the sync
    seen: list[Any] = []

    @after_the_start
    def after_each_page() -> int:
        seen.append(progress_of(call_api, integration.id))
        return 300_000

    second = sync.run(SyncJob.from_body(message), owner="m2", attempt=1, remaining_ms=after_each_page)
    assert second.outcome == "success" and second.pages == 2
    assert seen == [expected(3, 72.5)]


def test_a_first_sync_tried_again_after_a_failure_is_still_a_first_one(
    aws: Any, call_api: ApiCaller, provider: FakeProvider, integration: Integration
) -> None:
    # Given a first sync that failed after two pages (the provider answered 500 to the third)
    sync = engine(provider)
    pages = {"n": 0}

    @after_the_start
    def fail_after_two() -> int:
        pages["n"] += 1
        if pages["n"] == 2:
            provider.fail_next(500)
        return 300_000

    failed = sync.run(SyncJob.new(integration.id, "created", NOW), owner="m1", attempt=1, remaining_ms=fail_after_two)
    assert failed.outcome == "failed" and failed.pages == 2

    # When it is tried again, it resumes from its cursor and still measures how far back it has come
    seen: list[Any] = []

    @after_the_start
    def after_each_page() -> int:
        seen.append(progress_of(call_api, integration.id))
        return 300_000

    again = sync.run(SyncJob.new(integration.id, "created", NOW), owner="m1", attempt=2, remaining_ms=after_each_page)
    assert again.outcome == "success" and again.pages == 2
    # counted afresh for this attempt (page 1 of it is the sync's third), measured as a first sync
    assert seen == [{**expected(3, 72.5), "pages": 1, "records": 10}]


def test_a_later_sync_is_not_a_first_one_and_has_no_percentage(
    aws: Any, provider: FakeProvider, integration: Integration
) -> None:
    sync = engine(provider)
    sync.run(SyncJob.new(integration.id, "created", NOW), owner="m1", attempt=1, remaining_ms=PLENTY)
    provider.put("item-00003", START + 39 * STEP + timedelta(minutes=1), value=1000)

    later = NOW + timedelta(hours=1)
    sync.clock = lambda: later
    sync.run(SyncJob.new(integration.id, "scheduled", later), owner="m2", attempt=1, remaining_ms=PLENTY)

    stored = integration_store().sync_state(integration.id)["progress"]
    assert (stored["first_sync"], stored["pages"], stored.get("percent")) == (False, 1, None)


# ---------------------------------------------------------------- runs
def test_each_run_is_listed_newest_first_with_its_counts_bytes_memory_and_error(
    aws: Any, call_api: ApiCaller, provider: FakeProvider, integration: Integration
) -> None:
    # Given a good first sync and then one the provider refuses
    engine(provider, memory_mb=87.5).run(
        SyncJob.new(integration.id, "created", NOW), owner="m1", attempt=1, remaining_ms=PLENTY
    )
    first_bytes = provider.body_bytes_sent
    provider.fail_next(401)
    engine(provider, memory_mb=91.0).run(
        SyncJob.new(integration.id, "manual", NOW + timedelta(minutes=5)), owner="m2", attempt=1, remaining_ms=PLENTY
    )

    # When the runs are listed
    reply = call_api("GET", f"/integrations/{integration.id}/syncs")

    # Then the newest comes first, each with what it did
    assert reply.status == 200, reply.text
    body = reply.json()
    assert body["next_token"] is None
    refused, good = body["items"]
    assert good == {
        "started_at": "2026-12-02T00:00:00Z",
        "finished_at": "2026-12-02T00:00:00Z",
        "outcome": "success",
        "reason": "created",
        "records_written": 40,
        "records_pulled": 40,
        "pages": 4,
        "api_calls": 4,
        "bytes_received": first_bytes,
        "duration_ms": 0,
        "peak_memory_mb": 87.5,
        "error": None,
    }
    assert first_bytes > 40 * len('{"id": "item-00000"}')
    assert refused["outcome"] == "failed" and refused["reason"] == "manual"
    assert refused["error"] == "The provider refused the credentials (401)."
    assert (refused["pages"], refused["api_calls"], refused["peak_memory_mb"]) == (0, 1, 91.0)
    assert refused["bytes_received"] == provider.body_bytes_sent - first_bytes
    # and the last sync carries the same bytes and memory
    last = call_api("GET", f"/integrations/{integration.id}/status").json()["last_sync"]
    assert (last["bytes_received"], last["peak_memory_mb"]) == (refused["bytes_received"], 91.0)


def test_the_runs_list_is_paged_and_refuses_a_token_it_did_not_give(
    aws: Any, call_api: ApiCaller, provider: FakeProvider, integration: Integration
) -> None:
    sync = engine(provider)
    for n in range(3):
        at = NOW + timedelta(hours=n)
        sync.clock = lambda at=at: at  # type: ignore[misc]
        sync.run(SyncJob.new(integration.id, "manual", at), owner=f"m{n}", attempt=1, remaining_ms=PLENTY)

    first = call_api("GET", f"/integrations/{integration.id}/syncs", query={"limit": "2"}).json()
    second = call_api(
        "GET", f"/integrations/{integration.id}/syncs", query={"limit": "2", "next_token": first["next_token"]}
    ).json()

    started = [run["started_at"] for run in first["items"] + second["items"]]
    assert started == ["2026-12-02T02:00:00Z", "2026-12-02T01:00:00Z", "2026-12-02T00:00:00Z"]
    assert second["next_token"] is None
    other = call_api("GET", f"/integrations/{integration.id}/syncs", query={"next_token": "eyJwayI6eyJTIjoieCJ9fQ"})
    assert other.status == 422 and other.json()["error"]["code"] == "validation_failed"
    assert call_api("GET", f"/integrations/{integration.id}/syncs", "team_b").status == 404


def test_runs_expire_after_fourteen_days(aws: Any, provider: FakeProvider, integration: Integration) -> None:
    engine(provider).run(SyncJob.new(integration.id, "created", NOW), owner="m1", attempt=1, remaining_ms=PLENTY)
    items = clients.dynamodb().query(
        TableName=integration_store().table,
        KeyConditionExpression="pk = :p AND begins_with(sk, :r)",
        ExpressionAttributeValues={":p": {"S": f"INT#{integration.id}"}, ":r": {"S": "RUN#"}},
    )["Items"]
    assert [int(item["expires_at"]["N"]) for item in items] == [int((NOW + timedelta(days=14)).timestamp())]


def _sync_jobs(aws: Any) -> list[dict[str, Any]]:
    import json

    import boto3

    found = boto3.client("sqs").receive_message(QueueUrl=queues().sync_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in found.get("Messages", [])]
