"""The sync engine's retry decision and the scheduler's choice, against in-memory stand-ins for the ports
(issue 8, item 8): only refused credentials stop an integration; retries used up on anything else leave it
``error`` and scheduled, and the next good sync makes it ``active`` again."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from agiletrack.adapters.providers.base import PullContext, PullPage
from agiletrack.domain.jobs import SyncJob
from agiletrack.domain.scheduling import schedule_all
from agiletrack.domain.sync import MAX_RETRIES, SyncEngine
from agiletrack.errors import AuthError, ProviderError, RateLimitError
from agiletrack.models.integrations import Integration, SyncProgress, SyncRun
from agiletrack.models.records import Record

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class MemoryIntegrations:
    """The parts of ``IntegrationStore`` the engine and the scheduler use, in a dict."""

    def __init__(self, integration: Integration) -> None:
        self.items = {integration.id: integration}
        self.state: dict[str, dict[str, Any]] = {integration.id: {}}
        self.events: list[dict[str, Any]] = []
        self.runs: list[SyncRun] = []

    def get(self, integration_id: str) -> Integration | None:
        return self.items.get(integration_id)

    def schedulable(self) -> Iterator[tuple[str, str]]:
        for item in self.items.values():
            yield item.id, item.status

    def update(
        self,
        integration_id: str,
        changes: dict[str, Any],
        *,
        remove: tuple[str, ...] = (),
        only_if_status: tuple[str, ...] | None = None,
        only_if_generation: int | None = None,
    ) -> bool:
        current = self.items.get(integration_id)
        if current is None or (only_if_generation is not None and current.generation != only_if_generation):
            return False
        data = current.model_dump() | changes
        for name in remove:
            data.pop(name, None)
        self.items[integration_id] = Integration.model_validate(data)
        return True

    def sync_state(self, integration_id: str) -> dict[str, Any]:
        return dict(self.state[integration_id])

    def acquire_lease(
        self,
        integration_id: str,
        owner: str,
        now: datetime,
        *,
        ttl: timedelta,
        generation: int = 0,
        keep_progress: bool = False,
    ) -> bool:
        self.state[integration_id].update(lease_owner=owner, lease_generation=generation)
        if not keep_progress:
            self.state[integration_id].pop("progress", None)
        return True

    def release_lease(self, integration_id: str, owner: str) -> None:
        self.state[integration_id].pop("lease_owner", None)

    def save_cursor(
        self,
        integration_id: str,
        owner: str,
        cursor: dict[str, Any],
        *,
        generation: int = 0,
        progress: SyncProgress | None = None,
    ) -> None:
        self.state[integration_id]["cursor"] = cursor
        if progress is not None:
            self.state[integration_id]["progress"] = progress.model_dump(mode="json")

    def add_run(self, integration_id: str, run: SyncRun, owner: str) -> None:
        self.runs.append(run)

    def add_event(self, integration_id: str, kind: str, at: datetime | None = None, *, outcome: str) -> None:
        self.events.append({"kind": kind, "outcome": outcome})


class MemoryRecords:
    def __init__(self) -> None:
        self.records: dict[str, Record] = {}

    def put_many(self, integration_id: str, records: Iterable[Record], *, generation: int | None = None) -> int:
        batch = list(records)
        self.records.update({r.id: r for r in batch})
        return len(batch)


class MemorySecrets:
    def read(self, name: str, *, fresh: bool = False) -> dict[str, Any]:
        return {"credentials": {}}


class MemoryQueues:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_sync_job(self, job: dict[str, Any], *, delay_seconds: int = 0) -> None:
        self.sent.append(job)

    def send_sync_jobs(self, jobs: Sequence[dict[str, Any]], *, spread_seconds: int = 0) -> list[str]:
        self.sent.extend(jobs)
        return []


class Item(Record):
    kind: ClassVar[str] = "retry_item"


class Config(BaseModel):
    pass


class ScriptedAdapter:
    """Pulls one page, or raises what it is told to."""

    config_model: ClassVar[type[BaseModel]] = Config

    def __init__(self) -> None:
        self.failure: Exception | None = None

    def pull(self, ctx: PullContext) -> Iterator[PullPage]:
        if self.failure is not None:
            raise self.failure
        yield PullPage([Item(id="a", updated_at=NOW)], {"since": "x"}, done=True)


class World:
    def __init__(self) -> None:
        self.integrations = MemoryIntegrations(
            Integration(
                id="int_1",
                team_id="team_a",
                type="scripted",
                name="n",
                config={},
                secret_name="s",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        self.queues = MemoryQueues()
        self.adapter = ScriptedAdapter()
        self.engine = SyncEngine(
            integrations=self.integrations,  # type: ignore[arg-type]
            records=MemoryRecords(),  # type: ignore[arg-type]
            secrets=MemorySecrets(),  # type: ignore[arg-type]
            queues=self.queues,  # type: ignore[arg-type]
            adapter_for=lambda _type: self.adapter,  # type: ignore[arg-type,return-value]
            backfill_days=30,
            lease_ttl=timedelta(minutes=6),
            clock=lambda: NOW,
        )

    def run(self, attempt: int, reason: str = "scheduled") -> Any:
        job = SyncJob.new("int_1", reason, NOW - timedelta(minutes=1))  # type: ignore[arg-type]
        return self.engine.run(job, owner=f"m{attempt}", attempt=attempt, remaining_ms=lambda: 300_000)

    @property
    def integration(self) -> Integration:
        found = self.integrations.get("int_1")
        assert found is not None
        return found

    def schedule(self) -> list[dict[str, Any]]:
        self.queues.sent.clear()
        schedule_all(self.integrations, self.queues, spread_seconds=0)  # type: ignore[arg-type]
        return list(self.queues.sent)


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (ProviderError("GitHub answered 500."), "other"),
        (RateLimitError("Rate limit spent.", retry_at=NOW + timedelta(minutes=5)), "rate_limit"),
        (RuntimeError("a bug in a page"), "other"),
    ],
)
def test_retries_used_up_on_a_transient_cause_leave_the_integration_in_error_and_scheduled(
    failure: Exception, kind: str
) -> None:
    world = World()
    world.adapter.failure = failure
    for attempt in range(1, MAX_RETRIES + 1):
        outcome = world.run(attempt)
        assert outcome.retry.action == "retry" and outcome.retry.delay_seconds > 0
        assert world.integration.status == "pending"

    last = world.run(MAX_RETRIES + 1)

    # The job goes on to the DLQ (reported failed, no wait) and the alarm fires, as before...
    assert (last.retry.action, last.retry.delay_seconds) == ("retry", 0)
    # ...but the integration is in error, not failed, and keeps its hourly sync
    after = world.integration
    assert after.status == "error"
    assert after.last_error is not None and after.last_error.kind == kind
    assert after.next_sync_at == NOW + timedelta(hours=1)
    assert [job["integration_id"] for job in world.schedule()] == ["int_1"]


def test_the_next_good_sync_makes_an_error_integration_active_again() -> None:
    world = World()
    world.adapter.failure = ProviderError("GitHub answered 500.")
    world.run(MAX_RETRIES + 1)
    assert world.integration.status == "error"
    world.adapter.failure = None

    (job,) = world.schedule()
    outcome = world.engine.run(SyncJob.from_body(job), owner="next-hour", attempt=1, remaining_ms=lambda: 300_000)

    assert outcome.outcome == "success"
    assert world.integration.status == "active"
    assert world.integration.last_error is None


def test_refused_credentials_fail_the_integration_at_once_and_stop_its_schedule() -> None:
    world = World()
    world.adapter.failure = AuthError("Bad credentials.")

    outcome = world.run(1)

    assert outcome.retry.action == "done"
    assert world.integration.status == "failed"
    assert world.integration.next_sync_at is None
    assert world.schedule() == []
    assert world.run(1).outcome == "skipped"  # a scheduled job that was already queued is skipped
