"""Webhook processing, in the event processor, from the queue (intake, in the webhooks function, is
``domain/intake.py``).

De-duplicated by the provider's delivery id (the handler wraps ``EventProcessor.process`` in Powertools
idempotency), parsed by the provider adapter into records, merged with what is stored, upserted only when
newer, and the integration's metrics marked stale.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agiletrack.adapters.providers.base import ProviderAdapter, WebhookDelivery
from agiletrack.domain.ports import Blobs, IntegrationStore, RecordStore, SecretStore
from agiletrack.errors import ProviderError, Superseded
from agiletrack.models.common import parse_iso, utcnow
from agiletrack.models.integrations import Integration
from agiletrack.models.records import Record
from agiletrack.observability import logger

# ---------------------------------------------------------------- processing


@dataclass
class Processed:
    event: str
    records: int = 0
    written: int = 0
    ignored: bool = False


def delivery_from_message(message: Mapping[str, Any], blobs: Blobs) -> WebhookDelivery:
    if "blob_key" in message:
        body = blobs.get(str(message["blob_key"]))
    else:
        body = base64.b64decode(str(message.get("body_b64", "")))
    return WebhookDelivery(
        integration_id=str(message["integration_id"]),
        provider=str(message["provider"]),
        headers=dict(message.get("headers") or {}),
        body=body,
        received_at=parse_iso(str(message["received_at"])),
        callback_url=str(message.get("callback_url", "")),
    )


class EventProcessor:
    def __init__(
        self,
        *,
        integrations: IntegrationStore,
        records: RecordStore,
        secrets: SecretStore,
        blobs: Blobs,
        adapter_for: Callable[[str], ProviderAdapter],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.integrations = integrations
        self.records = records
        self.secrets = secrets
        self.blobs = blobs
        self.adapter_for = adapter_for
        self.clock = clock

    def process(self, message: Mapping[str, Any]) -> Processed:
        integration = self.integrations.get(str(message["integration_id"]))
        if integration is None or integration.status == "deleting":
            logger.info("delivery for a deleted integration dropped")
            return Processed(event="unknown", ignored=True)
        generation = int(message.get("generation") or 0)
        if generation != integration.generation:
            # Received before a scope change: it belongs to the data set that was dropped.
            logger.info("delivery for an older scope dropped", extra={"integration_id": integration.id})
            return Processed(event="stale", ignored=True)
        delivery = delivery_from_message(message, self.blobs)
        adapter = self.adapter_for(integration.type)
        config = adapter.config_model.model_construct(**integration.config)
        result = adapter.parse_webhook(delivery, config, integration.provider_state)
        now = self.clock()
        changes: dict[str, Any] = {"last_webhook_at": delivery.received_at}
        if result.connected:
            changes["webhook_connected_at"] = delivery.received_at
        written = 0
        records: list[Record] = list(result.records)
        if records and not result.ignored:
            if result.needs_refresh:
                records = self._refresh(adapter, integration, records)
            records = [self._merged(adapter, integration.id, r) for r in records]
            try:
                written = self.records.put_many(integration.id, records, generation=generation)
            except Superseded:
                logger.info(
                    "scope changed while processing; delivery dropped", extra={"integration_id": integration.id}
                )
                return Processed(event=result.event, ignored=True)
            if written:
                changes["data_changed_at"] = now
                newest = max(r.updated_at for r in records)
                if integration.newest_data_at is None or newest > integration.newest_data_at:
                    changes["newest_data_at"] = newest
        if not self.integrations.update(integration.id, changes, only_if_generation=generation):
            return Processed(event=result.event, ignored=True)
        self.integrations.add_event(integration.id, "webhook", now, outcome="accepted")
        return Processed(event=result.event, records=len(records), written=written, ignored=result.ignored)

    def _refresh(self, adapter: ProviderAdapter, integration: Integration, records: list[Record]) -> list[Record]:
        """Fill in what the payload lacks (commit sizes); a failure leaves it to the next sync."""
        secret = self.secrets.read(integration.secret_name)
        credentials = dict(secret.get("credentials") or {})
        full_config = adapter.config_model.model_validate({**integration.config, **credentials})
        try:
            return adapter.refresh(full_config, credentials, records)
        except ProviderError as exc:
            logger.warning("refresh after webhook failed; the next sync fills it in", extra={"error": exc.code})
            return records

    def _merged(self, adapter: ProviderAdapter, integration_id: str, record: Record) -> Record:
        stored = self.records.get(integration_id, record.kind, record.id)
        if stored is None:
            return record
        return adapter.merge_record(stored, record)
