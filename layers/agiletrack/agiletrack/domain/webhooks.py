"""Webhook intake (acknowledge fast, store first) and processing (from the queue).

Intake, in the webhooks function: find the integration, verify the signature with its secret in
constant time, check that the body is a payload the provider sends (else 400), put the raw delivery on
the webhook queue (bodies too large for an SQS message go to S3 and the message carries the key: a claim
check), answer 202. Nothing is stored here but the rejection counter.

The secret comes from the secret store's cache (at most ``SECRET_CACHE_SECONDS`` ≤ 60 s old, so a rotated
secret stops verifying within 60 s). On a mismatch it is read once more uncached, so a just-rotated secret
works at once, but at most once per ``SECRET_REREAD_SECONDS`` per integration: a flood of bad signatures
costs no more than one extra ``GetSecretValue`` a minute per container.

Processing, in the event processor: de-duplicated by the provider's delivery id (the handler wraps
``EventProcessor.process`` in Powertools idempotency), parsed by the provider adapter into records,
merged with what is stored, upserted only when newer, and the integration's metrics marked stale.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from agiletrack.adapters.providers.base import ProviderAdapter, WebhookDelivery, WebhookSecrets
from agiletrack.domain.ports import Blobs, IntegrationStore, Queues, RecordStore, SecretStore
from agiletrack.errors import Gone, NotFound, PayloadTooLarge, ProviderError, Superseded, Unauthorized
from agiletrack.models.common import iso, parse_iso, utcnow
from agiletrack.models.integrations import Integration
from agiletrack.models.records import Record
from agiletrack.observability import logger

LAMBDA_REQUEST_LIMIT = 6 * 1024 * 1024
SQS_INLINE_LIMIT = 200 * 1024
"""Messages above this go through S3 (SQS takes 256 KiB; headers and base64 need room)."""
INTEGRATION_CACHE_SECONDS = 60.0
SECRET_REREAD_SECONDS = 60.0
"""At most one uncached secret read on a signature mismatch per integration in this period."""
KEPT_HEADERS_EXCLUDED = frozenset({"authorization", "cookie"})
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True)
class Accepted:
    delivery_id: str
    claim_check: bool


class WebhookIntake:
    def __init__(
        self,
        *,
        integrations: IntegrationStore,
        secrets: SecretStore,
        queue: Queues,
        blobs: Blobs,
        adapter_for: Callable[[str], ProviderAdapter],
        on_rejected: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        registers_webhooks: Callable[[str], bool] = lambda _provider: False,
    ) -> None:
        self.registers_webhooks = registers_webhooks
        self.integrations = integrations
        self.secrets = secrets
        self.queue = queue
        self.blobs = blobs
        self.adapter_for = adapter_for
        self.on_rejected = on_rejected
        self.clock = clock
        self.monotonic = monotonic
        self._cache: dict[str, tuple[float, Integration]] = {}
        self._reread_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def _integration(self, integration_id: str, *, fresh: bool = False) -> Integration | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(integration_id)
        if hit and now - hit[0] < INTEGRATION_CACHE_SECONDS and not fresh:
            return hit[1]
        found = self.integrations.get(integration_id)
        with self._lock:
            if found is None:
                self._cache.pop(integration_id, None)
            else:
                self._cache[integration_id] = (now, found)
        return found

    def find(self, provider: str, integration_id: str) -> Integration:
        """The integration a webhook URL names; 404 for an unknown id or the wrong type. For a provider that
        registers its webhooks (``ProviderSpec.webhook_registrar``), an unknown or deleted integration is 410
        Gone: the provider then drops the webhook (a delete that could not remove it cleans up this way)."""
        integration = self._integration(integration_id) if integration_id else None
        if integration is not None and integration.type != provider:
            raise NotFound("No such webhook endpoint.")
        if integration is None or integration.status == "deleting":
            if self.registers_webhooks(provider):
                raise Gone("This integration no longer exists: the webhook can be removed.")
            raise NotFound("No such webhook endpoint.")
        return integration

    def receive(
        self, provider: str, integration_id: str, headers: Mapping[str, str], body: bytes, callback_url: str
    ) -> Accepted:
        if len(body) > LAMBDA_REQUEST_LIMIT:
            raise PayloadTooLarge(f"The delivery is {len(body)} bytes; the limit is {LAMBDA_REQUEST_LIMIT}.")
        integration = self.find(provider, integration_id)
        adapter = self.adapter_for(provider)
        delivery = WebhookDelivery(
            integration_id=integration.id,
            provider=provider,
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            received_at=self.clock(),
            callback_url=registered_url(integration) or callback_url,
        )
        verified, delivery = self._verified(adapter, delivery, integration, callback_url)
        if not verified:
            if self.on_rejected is not None:
                self.on_rejected(integration.id)
            raise Unauthorized("The webhook signature is missing or does not match.")
        adapter.webhook_payload(delivery)  # a signed body processing could never read: 400, not queued
        # The provider's id when it is a sane token (it keys de-duplication); else the body's hash.
        given = adapter.delivery_id(delivery) or ""
        delivery_id = given if _DELIVERY_ID.match(given) else hashlib.sha256(body).hexdigest()
        message: dict[str, Any] = {
            "integration_id": integration.id,
            "provider": provider,
            "delivery_id": delivery_id,
            "generation": integration.generation,
            "received_at": iso(delivery.received_at),
            "callback_url": delivery.callback_url,
            "headers": {k: v for k, v in delivery.headers.items() if k not in KEPT_HEADERS_EXCLUDED},
        }
        encoded = base64.b64encode(body).decode("ascii")
        claim_check = len(encoded) + len(json.dumps(message)) > SQS_INLINE_LIMIT
        if claim_check:
            key = f"webhooks/{integration.id}/{hashlib.sha256(body).hexdigest()}"
            self.blobs.put(key, body)
            message["blob_key"] = key
        else:
            message["body_b64"] = encoded
        self.queue.send_webhook(message)
        return Accepted(delivery_id=delivery_id, claim_check=claim_check)

    def _verified(
        self, adapter: ProviderAdapter, delivery: WebhookDelivery, integration: Integration, called_url: str
    ) -> tuple[bool, WebhookDelivery]:
        """Whether the signature holds, and the delivery as verified (with the callback URL that was signed)."""
        if self._matches(adapter, delivery, self.secrets.read(integration.secret_name)):
            return True, delivery
        # A rotated secret, or a webhook registered a moment ago, may be newer than our caches: look once more,
        # uncached, if not done lately.
        if not self._may_reread(integration.id):
            return False, delivery
        fresh = self._integration(integration.id, fresh=True) or integration
        delivery = replace(delivery, callback_url=registered_url(fresh) or called_url)
        return self._matches(adapter, delivery, self.secrets.read(fresh.secret_name, fresh=True)), delivery

    @staticmethod
    def _matches(adapter: ProviderAdapter, delivery: WebhookDelivery, secret: Mapping[str, Any]) -> bool:
        secrets = WebhookSecrets(
            webhook_secret=secret.get("webhook_secret"), credentials=dict(secret.get("credentials") or {})
        )
        return adapter.verify_webhook(delivery, secrets)

    def _may_reread(self, integration_id: str) -> bool:
        """True at most once per ``SECRET_REREAD_SECONDS`` for one integration (and records the re-read)."""
        now = self.monotonic()
        with self._lock:
            last = self._reread_at.get(integration_id)
            if last is not None and now - last < SECRET_REREAD_SECONDS:
                return False
            self._reread_at[integration_id] = now
        return True


def registered_url(integration: Integration) -> str | None:
    """The callback URL the provider was given when we registered its webhook (it signs deliveries with it):
    verification uses it, not the URL as this request reached us, so a proxy or stage in front changes
    nothing. None when no webhook is registered for the integration."""
    stored = integration.webhook_registration
    return stored.callback_url if stored is not None and stored.state == "registered" else None


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
