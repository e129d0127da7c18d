"""The metrics refresh after a sync (``MetricsService.refresh_default``), against in-memory fakes of the ports: it
computes the default window's document when the data changed, and reads nothing when the sync changed nothing
(an hourly idle sync must not read every snapshot record again just to move the window)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from agiletrack.adapters.providers.registry import adapter_for
from agiletrack.domain.metrics_service import MetricsService
from agiletrack.models.integrations import Integration
from agiletrack.models.records import Record

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class CountingRecords:
    """A record store holding nothing, counting the reads the service makes."""

    def __init__(self) -> None:
        self.reads = 0

    def updated_since(self, integration_id: str, kind: str, since: datetime | None) -> Iterator[Record]:
        self.reads += 1
        return iter(())

    def put_many(self, integration_id: str, records: Iterable[Record], *, generation: int | None = None) -> int:
        raise AssertionError("the metrics service never writes records")


class MemoryCache:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], tuple[dict[str, Any], str, str]] = {}

    def get(self, integration_id: str, key: str) -> tuple[dict[str, Any], str, str] | None:
        return self.items.get((integration_id, key))

    def put(self, integration_id: str, key: str, document: dict[str, Any], data_version: str, at: str) -> None:
        self.items[(integration_id, key)] = (document, data_version, at)


def integration(changed: datetime | None) -> Integration:
    return Integration(
        id="int_0000000000000001",
        team_id="team_a",
        type="github",
        name="shop",
        config={"repository": "acme/shop", "branch": "main"},
        credential_fields=["token"],
        secret_name="agiletrack/int_0000000000000001",
        created_at=NOW - timedelta(days=3),
        updated_at=NOW - timedelta(days=3),
        data_changed_at=changed,
    )


def test_a_sync_that_changed_the_data_refreshes_one_that_changed_nothing_reads_nothing() -> None:
    records, cache = CountingRecords(), MemoryCache()
    clock = [NOW]
    service = MetricsService(records=records, cache=cache, adapter_for=adapter_for, clock=lambda: clock[0])  # type: ignore[arg-type]
    kinds = len(adapter_for("github").record_types)

    service.refresh_default(integration(NOW - timedelta(hours=1)))  # the first sync wrote records
    assert records.reads == kinds

    clock[0] = NOW + timedelta(hours=1)  # the next hourly sync changed nothing: same data_changed_at
    service.refresh_default(integration(NOW - timedelta(hours=1)))
    assert records.reads == kinds

    clock[0] = NOW + timedelta(hours=2)  # this one wrote records
    service.refresh_default(integration(NOW + timedelta(hours=2)))
    assert records.reads == 2 * kinds

    # A read of the default window long after the last refresh still moves the window: it computes again.
    clock[0] = NOW + timedelta(hours=3)
    document = service.document(integration(NOW + timedelta(hours=2)))
    assert records.reads == 3 * kinds
    assert document["window"]["until"].startswith("2026-03-02T15:00")
