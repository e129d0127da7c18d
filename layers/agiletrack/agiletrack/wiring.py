"""The composition root: real adapters wired into the domain services, one cached instance each.

Only handlers (and the CLI) call these; domain code receives its ports as arguments. The webhooks function's
intake has its own root, ``intake_wiring.py``, which loads no pydantic; it is re-exported here.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from agiletrack.adapters.aws.blobs import blob_store
from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.metrics_cache import metrics_cache
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.adapters.providers.registry import (
    PROVIDER_NAMES,
    adapter_for,
    validator_factory,
    webhook_registrar_for,
)
from agiletrack.adapters.providers.spec import Validator
from agiletrack.domain.cleanup import Cleanup
from agiletrack.domain.integrations import IntegrationService
from agiletrack.domain.metrics_service import MetricsService
from agiletrack.domain.sync import SyncEngine
from agiletrack.domain.webhooks import EventProcessor
from agiletrack.intake_wiring import webhook_intake
from agiletrack.settings import get_settings

VALIDATION_TIMEOUT_SECONDS = 5.0
"""Per provider request while validating: three calls, one retry each, well inside API Gateway's 29 s."""
SYNC_LEASE = timedelta(minutes=6)
"""Longer than the sync worker's 300 s timeout, shorter than the queue's visibility timeout."""


def _validators(timeout: float) -> dict[str, Validator]:
    """Each provider's credential check (``ProviderSpec.validator``), made with the per-request ``timeout``."""
    factories = {name: validator_factory(name) for name in PROVIDER_NAMES}
    return {name: factory(timeout) for name, factory in factories.items() if factory is not None}


@cache
def integration_service() -> IntegrationService:
    settings = get_settings()
    timeout = min(settings.http_timeout_seconds, VALIDATION_TIMEOUT_SECONDS)
    return IntegrationService(
        integrations=integration_store(),
        records=record_store(),
        metrics_cache=metrics_cache(),
        secrets=secret_store(),
        queues=queues(),
        validators=_validators(timeout),
        validation_seconds=settings.validation_deadline_seconds,
        registrar_for=webhook_registrar_for,
    )


@cache
def metrics_service() -> MetricsService:
    return MetricsService(records=record_store(), cache=metrics_cache(), adapter_for=adapter_for)


@cache
def sync_engine() -> SyncEngine:
    return SyncEngine(
        integrations=integration_store(),
        records=record_store(),
        secrets=secret_store(),
        queues=queues(),
        adapter_for=adapter_for,
        backfill_days=get_settings().backfill_days,
        lease_ttl=SYNC_LEASE,
        on_synced=metrics_service().refresh_default,
    )


@cache
def cleanup() -> Cleanup:
    return Cleanup(
        integrations=integration_store(),
        records=record_store(),
        metrics_cache=metrics_cache(),
        secrets=secret_store(),
        queues=queues(),
        registrar_for=webhook_registrar_for,
    )


@cache
def event_processor() -> EventProcessor:
    return EventProcessor(
        integrations=integration_store(),
        records=record_store(),
        secrets=secret_store(),
        blobs=blob_store(),
        adapter_for=adapter_for,
    )


def reset() -> None:
    """Forget every wired instance (tests switch environments between cases)."""
    for factory in (integration_service, metrics_service, sync_engine, cleanup, webhook_intake, event_processor):
        factory.cache_clear()
