"""The status of one integration, as ``GET /integrations/{id}/status`` shows it.

Read-only: built from the fields the sync worker and the webhooks function keep on the stored
``Integration`` and from its hourly event counters of the last 24 hours: items with ``hour`` (the start of
the hour) and counts named ``<kind>_<outcome>``: ``job_`` success|failed|rate_limited|partial and
``webhook_`` accepted|rejected. The window is counted by whole hours: the current hour and the 24 before
it, so no event of the last 24 hours is left out (and none older than 25 hours counted). While a sync runs,
``progress`` is the one the engine stored with its last page (from the ``SYNC`` item); ``null`` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from agiletrack.models.base import Model
from agiletrack.models.common import UtcDatetime, as_utc, parse_iso
from agiletrack.models.integrations import (
    STATUS_MEANING,
    Integration,
    IntegrationStatus,
    LastError,
    LastSync,
    SyncProgress,
)

STATUS_WINDOW = timedelta(hours=24)
ROTATION_AGE = timedelta(days=90)
"""Credentials this old or older are flagged for rotation."""


class WebhookHealth(Model):
    connected: bool = Field(description="A delivery or the provider's ping/handshake has reached us at least once")
    last_received_at: UtcDatetime | None = Field(description="When the last delivery arrived")
    received_24h: int = Field(
        description="Distinct deliveries of the last 24 hours (a redelivery counts once), rejected ones included"
    )
    rejected_24h: int = Field(description="Deliveries refused in the last 24 hours (bad or missing signature)")


class WebhookSetup(Model):
    """Whether the provider's webhook is in place, in one shape for every provider."""

    managed: bool = Field(
        description="True when AgileTrack registers the webhook on the provider itself (Trello); False when it is "
        "set up by hand on the provider with the integration's webhook URL and secret (GitHub, Jira)"
    )
    registered: bool = Field(
        description="managed: the provider holds our webhook; by hand: a delivery or the provider's ping has "
        "reached us (the only sign we have that it is set up)"
    )
    active: bool | None = Field(
        description="managed: whether the provider last said it delivers (null before it was asked); by hand: "
        "as registered"
    )
    reason: str | None = Field(description="Why it is not registered or not active; null when it is")
    webhook_id: str | None = Field(description="managed: the provider's id of the webhook")
    callback_url: str | None = Field(description="managed: the URL the provider calls, exactly as registered")
    registered_at: UtcDatetime | None
    checked_at: UtcDatetime | None = Field(description="managed: when the provider was last asked about it")


MANUAL_NOT_SEEN = (
    "No delivery or ping has reached us yet: add the integration's webhook URL (and secret) on the provider."
)


def webhook_setup(integration: Integration, *, managed: bool) -> WebhookSetup:
    """The ``webhook`` part of the status: from the stored registration (managed), else from deliveries seen."""
    if not managed:
        seen = integration.webhook_connected_at is not None or integration.last_webhook_at is not None
        return WebhookSetup(
            managed=False,
            registered=seen,
            active=seen,
            reason=None if seen else MANUAL_NOT_SEEN,
            webhook_id=None,
            callback_url=None,
            registered_at=None,
            checked_at=None,
        )
    stored = integration.webhook_registration
    if stored is None:
        return WebhookSetup(
            managed=True,
            registered=False,
            active=None,
            reason="No webhook was registered for this integration: PATCH its config to register one.",
            webhook_id=None,
            callback_url=None,
            registered_at=None,
            checked_at=None,
        )
    registered = stored.state == "registered"
    return WebhookSetup(
        managed=True,
        registered=registered,
        active=stored.active if registered else False,
        reason=stored.reason,
        webhook_id=stored.webhook_id if registered else None,
        callback_url=stored.callback_url,
        registered_at=stored.registered_at if registered else None,
        checked_at=stored.checked_at,
    )


class IntegrationStatusView(Model):
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
    webhook: WebhookSetup
    progress: SyncProgress | None = Field(
        description="While a sync runs (status syncing): its phase, pages and records so far and, for a first "
        "sync, the percentage covered back to the backfill start; null when no sync runs"
    )
    credentials_set_at: UtcDatetime = Field(description="When the credentials were last set (created or changed)")
    credentials_age_days: int = Field(description="Whole days since then")
    rotation_due: bool = Field(description="True when the credentials are 90 days old or older: rotate them (PATCH)")


def build_status(
    integration: Integration,
    counters: Iterable[Mapping[str, Any]],
    now: datetime,
    sync_state: Mapping[str, Any] | None = None,
    *,
    webhook_managed: bool = False,
) -> IntegrationStatusView:
    """Pure: the status view of ``integration`` at ``now`` from its hourly counters (hours that end 25 h or
    more before ``now`` are ignored) and its sync state (for the progress of a running sync)."""
    since = _hour_start(as_utc(now) - STATUS_WINDOW)
    jobs = failed = received = rejected = 0
    for item in counters:
        if not _within(item, since):
            continue
        jobs += _sum(item, "job_")
        failed += _count(item.get("job_failed"))
        received += _sum(item, "webhook_")
        rejected += _count(item.get("webhook_rejected"))
    credentials_set_at = integration.credentials_set_at or integration.created_at
    credentials_age = max(timedelta(0), as_utc(now) - credentials_set_at)
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
        webhook=webhook_setup(integration, managed=webhook_managed),
        progress=_progress(integration, sync_state or {}),
        credentials_set_at=credentials_set_at,
        credentials_age_days=credentials_age.days,
        rotation_due=credentials_age >= ROTATION_AGE,
    )


def _progress(integration: Integration, sync_state: Mapping[str, Any]) -> SyncProgress | None:
    """The stored progress while the integration is syncing; a sync that has not stored a page yet shows as
    started with nothing pulled."""
    if integration.status != "syncing":
        return None
    stored = sync_state.get("progress")
    if isinstance(stored, Mapping) and int(sync_state.get("generation") or 0) == integration.generation:
        try:
            return SyncProgress.model_validate(stored)
        except ValueError:
            pass
    started = integration.last_sync.started_at if integration.last_sync else integration.updated_at
    first = integration.last_success_at is None
    return SyncProgress(phase=None, pages=0, records=0, first_sync=first, percent=None, started_at=started)


def _hour_start(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _sum(item: Mapping[str, Any], prefix: str) -> int:
    return sum(_count(value) for name, value in item.items() if name.startswith(prefix))


def _within(item: Mapping[str, Any], since: datetime) -> bool:
    """Counter items carry ``hour`` in the canonical text form; one without a readable hour is counted (the
    store already selected the window by sort key)."""
    hour = item.get("hour")
    if not isinstance(hour, str):
        return True
    try:
        return parse_iso(hour) >= since
    except ValueError:
        return True
