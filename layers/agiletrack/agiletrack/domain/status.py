"""The status of one integration, as ``GET /integrations/{id}/status`` shows it.

Read-only: built from the fields the sync worker and the webhooks function keep on the stored
``Integration`` and from its events of the last 24 hours (``kind`` ``job`` with ``outcome``
success|failed|rate_limited|partial, ``kind`` ``webhook`` with ``outcome`` accepted|rejected).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from agiletrack.models.common import UtcDatetime, as_utc, parse_iso
from agiletrack.models.integrations import STATUS_MEANING, Integration, IntegrationStatus, LastError, LastSync

STATUS_WINDOW = timedelta(hours=24)


class WebhookHealth(BaseModel):
    connected: bool = Field(description="A delivery or the provider's ping/handshake has reached us at least once")
    last_received_at: UtcDatetime | None = Field(description="When the last delivery arrived")
    received_24h: int = Field(
        description="Distinct deliveries of the last 24 hours (a redelivery counts once), rejected ones included"
    )
    rejected_24h: int = Field(description="Deliveries refused in the last 24 hours (bad or missing signature)")


class IntegrationStatusView(BaseModel):
    id: str
    status: IntegrationStatus = Field(description=STATUS_MEANING)
    last_sync: LastSync | None = Field(description="The last sync job (running, or how it ended)")
    last_success_at: UtcDatetime | None
    last_error: LastError | None
    next_sync_at: UtcDatetime | None
    data_freshness_seconds: int | None = Field(
        description="Seconds since the newest record or webhook held; null before any data"
    )
    error_rate_24h: float | None = Field(
        description="Failed sync jobs / sync jobs over the last 24 hours; null when no job ran"
    )
    api_quota: dict[str, Any] | None = Field(description="The provider's rate-limit quota as last reported")
    api_response_ms: float | None = Field(description="Median provider response time of the last sync")
    webhooks: WebhookHealth


def build_status(integration: Integration, events: Iterable[Mapping[str, Any]], now: datetime) -> IntegrationStatusView:
    """Pure: the status view of ``integration`` at ``now`` from its events (older than 24 h are ignored)."""
    since = as_utc(now) - STATUS_WINDOW
    jobs = failed = received = rejected = 0
    for event in events:
        if not _within(event, since):
            continue
        kind, outcome = event.get("kind"), event.get("outcome")
        if kind == "job":
            jobs += 1
            failed += outcome == "failed"
        elif kind == "webhook":
            received += 1
            rejected += outcome == "rejected"
    freshness = None
    if integration.newest_data_at is not None:
        freshness = max(0, int((as_utc(now) - integration.newest_data_at).total_seconds()))
    return IntegrationStatusView(
        id=integration.id,
        status=integration.status,
        last_sync=integration.last_sync,
        last_success_at=integration.last_success_at,
        last_error=integration.last_error,
        next_sync_at=integration.next_sync_at,
        data_freshness_seconds=freshness,
        error_rate_24h=round(failed / jobs, 4) if jobs else None,
        api_quota=integration.api_quota,
        api_response_ms=integration.api_response_ms,
        webhooks=WebhookHealth(
            connected=integration.webhook_connected_at is not None or integration.last_webhook_at is not None,
            last_received_at=integration.last_webhook_at,
            received_24h=received,
            rejected_24h=rejected,
        ),
    )


def _within(event: Mapping[str, Any], since: datetime) -> bool:
    """Events carry ``at`` in the canonical text form; one without a readable time is counted (the store
    already selected the window by sort key)."""
    at = event.get("at")
    if not isinstance(at, str):
        return True
    try:
        return parse_iso(at) >= since
    except ValueError:
        return True
