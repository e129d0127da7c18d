"""A scope change or a delete while a sync or a webhook is in flight (issue 8, item 9), against moto and the fake
provider over HTTP: the running worker keeps the lease, and every write it attempts after the generation moved
on is refused, so it neither writes the old scope's next page nor moves the cursor or the status."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.metrics_cache import metrics_cache
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.adapters.providers.base import PullContext, PullPage
from agiletrack.domain.cleanup import Cleanup
from agiletrack.domain.integrations import IntegrationService
from agiletrack.domain.jobs import CleanupJob, SyncJob
from agiletrack.domain.webhooks import EventProcessor
from agiletrack.errors import NotFound, Superseded
from agiletrack.models.common import iso, utcnow
from tests.fakes.provider import FakeProvider, TestAdapter, TestItem
from tests.integration.test_sync_engine import PLENTY, engine, make_integration, stored, sync_messages

__all__ = ["make_integration"]  # the fixture, shared with the engine tests


class BlockingAdapter(TestAdapter):
    """The test adapter, stopping after its first page until told to go on (a sync caught mid-way)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.first_page_stored = threading.Event()
        self.go_on = threading.Event()

    def pull(self, ctx: PullContext) -> Iterator[PullPage]:
        for number, page in enumerate(super().pull(ctx)):
            if number == 1:
                # The engine has stored page 0 and saved its cursor, and now asks for page 1.
                self.first_page_stored.set()
                assert self.go_on.wait(10)
            yield page


@pytest.fixture
def old_scope() -> Iterator[FakeProvider]:
    with FakeProvider(items=95) as fake:
        yield fake


@pytest.fixture
def new_scope() -> Iterator[FakeProvider]:
    with FakeProvider(items=0) as fake:
        for i in range(7):
            fake.put(f"new-{i}", fake.start, value=i)
        yield fake


def service() -> IntegrationService:
    return IntegrationService(
        integrations=integration_store(),
        records=record_store(),
        metrics_cache=metrics_cache(),
        secrets=secret_store(),
        queues=queues(),
        validators={},
    )


def cleanup() -> Cleanup:
    return Cleanup(
        integrations=integration_store(),
        records=record_store(),
        metrics_cache=metrics_cache(),
        secrets=secret_store(),
        queues=queues(),
    )


def start_blocked_sync(adapter: BlockingAdapter, integration_id: str) -> tuple[threading.Thread, list[Any]]:
    outcomes: list[Any] = []

    def run() -> None:
        job = SyncJob.new(integration_id, "created")
        outcomes.append(engine(adapter).run(job, owner="old-worker", attempt=1, remaining_ms=PLENTY))

    thread = threading.Thread(target=run)
    thread.start()
    assert adapter.first_page_stored.wait(10)
    return thread, outcomes


def test_a_scope_change_during_a_sync_fences_the_old_worker_off(
    aws: Any, old_scope: FakeProvider, new_scope: FakeProvider, make_integration: Any
) -> None:
    integration = make_integration(old_scope.url)
    blocking = BlockingAdapter(old_scope.url)
    thread, outcomes = start_blocked_sync(blocking, integration.id)
    assert len(stored(integration.id)) == 10  # page 0 of the old scope

    # When the scope changes while the worker waits for its next page
    assert integration_store().change_scope(
        integration.id, {"config": {"url": new_scope.url}, "status": "pending"}, remove=(), generation=0
    )
    # Then the lease is kept: the new scope's job does not run beside the old worker, it waits for it
    new_job = SyncJob.new(integration.id, "created", generation=1)
    deferred = engine(TestAdapter(new_scope.url)).run(new_job, owner="new-worker", attempt=1, remaining_ms=PLENTY)
    assert deferred.outcome == "deferred" and deferred.retry.action == "retry"
    assert deferred.records_written == 0
    # and when the old worker goes on, it writes nothing more: no page, no cursor, no status
    blocking.go_on.set()
    thread.join(10)
    assert outcomes and outcomes[0].outcome == "superseded"
    assert outcomes[0].retry.action == "done"
    assert len(stored(integration.id)) == 10
    state = integration_store().sync_state(integration.id)
    assert "cursor" not in state and state["generation"] == 1
    after = integration_store().get(integration.id)
    assert after is not None and after.status == "pending" and after.generation == 1
    assert after.last_success_at is None
    assert sync_messages(aws) == []  # no continuation of the old scope

    # And the new scope's job, once the lease is free, pulls the new scope; the cleanup drops the old one
    synced = engine(TestAdapter(new_scope.url)).run(new_job, owner="new-worker", attempt=2, remaining_ms=PLENTY)
    assert synced.outcome == "success"
    assert cleanup().run(CleanupJob(integration_id=integration.id), remaining_ms=PLENTY).outcome == "done"
    assert sorted(stored(integration.id)) == [f"new-{i}" for i in range(7)]


def test_a_record_of_the_old_scope_with_the_same_id_is_replaced_and_never_cleaned_up(
    aws: Any, old_scope: FakeProvider, make_integration: Any
) -> None:
    """The new scope's record of an id the old scope also had is another record: it replaces the old one even
    when the old one looks newer, and the cleanup (conditional on the generation) leaves it."""
    integration = make_integration(old_scope.url)
    newer = TestItem(id="shared", updated_at=old_scope.start.replace(year=2027), value=1)
    older = TestItem(id="shared", updated_at=old_scope.start, value=2)
    assert record_store().put_many(integration.id, [newer], generation=0) == 1
    assert integration_store().change_scope(integration.id, {"status": "pending"}, remove=(), generation=0)

    assert record_store().put_many(integration.id, [older], generation=1) == 1
    cleanup().run(CleanupJob(integration_id=integration.id), remaining_ms=PLENTY)

    assert stored(integration.id) == {"shared": 2}


def test_a_write_fenced_by_an_older_generation_lands_nowhere(
    aws: Any, old_scope: FakeProvider, make_integration: Any
) -> None:
    integration = make_integration(old_scope.url)
    items = [TestItem(id=f"i{i}", updated_at=old_scope.start, value=i) for i in range(150)]
    assert integration_store().change_scope(integration.id, {"status": "pending"}, remove=(), generation=0)

    with pytest.raises(Superseded):
        record_store().put_many(integration.id, items, generation=0)
    with pytest.raises(Superseded):
        integration_store().save_cursor(integration.id, "old-worker", {"after": "x"}, generation=0)

    assert stored(integration.id) == {}
    assert record_store().put_many(integration.id, items, generation=1) == 150


def test_a_delete_during_a_sync_stops_the_worker_and_the_cleanup_removes_everything(
    aws: Any, old_scope: FakeProvider, make_integration: Any
) -> None:
    integration = make_integration(old_scope.url)
    blocking = BlockingAdapter(old_scope.url)
    thread, outcomes = start_blocked_sync(blocking, integration.id)

    service().delete("team_a", integration.id)
    with pytest.raises(NotFound):
        service().get("team_a", integration.id, base_url="https://api.example.com")
    blocking.go_on.set()
    thread.join(10)

    assert outcomes and outcomes[0].outcome == "superseded"
    assert len(stored(integration.id)) == 10  # nothing after page 0: the worker wrote no other page
    (job,) = sync_messages(aws)
    assert job["type"] == "cleanup"
    assert cleanup().run(CleanupJob.from_body(job), remaining_ms=PLENTY).outcome == "done"
    assert stored(integration.id) == {}
    assert integration_store().get(integration.id) is None
    assert integration_store().sync_state(integration.id) == {}


def test_a_webhook_received_before_a_scope_change_is_dropped(
    aws: Any, old_scope: FakeProvider, make_integration: Any
) -> None:
    integration = make_integration(old_scope.url)
    processor = EventProcessor(
        integrations=integration_store(),
        records=record_store(),
        secrets=secret_store(),
        blobs=None,  # type: ignore[arg-type]  # inline bodies only
        adapter_for=lambda _type: TestAdapter(old_scope.url),
    )
    import base64
    import json

    def message(generation: int, item_id: str) -> dict[str, Any]:
        body = json.dumps({"id": item_id, "updated_at": iso(old_scope.start), "value": 1}).encode()
        return {
            "integration_id": integration.id,
            "provider": "test",
            "delivery_id": item_id,
            "generation": generation,
            "received_at": iso(utcnow()),
            "headers": {},
            "body_b64": base64.b64encode(body).decode(),
        }

    received_before = message(0, "old-scope-item")
    assert integration_store().change_scope(integration.id, {"status": "pending"}, remove=(), generation=0)

    assert processor.process(received_before).ignored
    assert not processor.process(message(1, "new-scope-item")).ignored
    assert stored(integration.id) == {"new-scope-item": 1}
