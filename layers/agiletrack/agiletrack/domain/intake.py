"""Webhook intake, in the webhooks function: acknowledge fast, store first.

Find the integration (``IntegrationStore.webhook_target``: the six fields intake needs, no model), verify the
signature with its secret in constant time, check that the body is a payload the provider sends (else 400),
put the raw delivery on the webhook queue (bodies too large for an SQS message go to S3 and the message
carries the key: a claim check), answer 202. Nothing is stored here but the rejection counter. Processing is in
``domain/webhooks.py`` (the event processor, from the queue).

The secret comes from the secret store's cache (at most ``SECRET_CACHE_SECONDS`` ≤ 60 s old, so a rotated
secret stops verifying within 60 s). On a mismatch it is read once more uncached, so a just-rotated secret
works at once, but at most once per ``SECRET_REREAD_SECONDS`` per integration: a flood of bad signatures
costs no more than one extra ``GetSecretValue`` a minute per container.

Nothing here imports pydantic, nor does anything it is given in production (the providers' ``intake.py``, the
AWS adapters): the webhooks function's cold start is ``make bench``'s ``cold_start``.
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

from agiletrack.adapters.providers.deliveries import WebhookChecks, WebhookDelivery, WebhookSecrets
from agiletrack.domain.ports import Blobs, IntegrationStore, Queues, SecretStore
from agiletrack.errors import Gone, NotFound, PayloadTooLarge, Unauthorized
from agiletrack.models.times import iso, utcnow
from agiletrack.models.webhook_target import WebhookTarget

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
        checks_for: Callable[[str], WebhookChecks],
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
        self.checks_for = checks_for
        self.on_rejected = on_rejected
        self.clock = clock
        self.monotonic = monotonic
        self._cache: dict[str, tuple[float, WebhookTarget]] = {}
        self._reread_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def _integration(self, integration_id: str, *, fresh: bool = False) -> WebhookTarget | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(integration_id)
        if hit and now - hit[0] < INTEGRATION_CACHE_SECONDS and not fresh:
            return hit[1]
        found = self.integrations.webhook_target(integration_id)
        with self._lock:
            if found is None:
                self._cache.pop(integration_id, None)
            else:
                self._cache[integration_id] = (now, found)
        return found

    def find(self, provider: str, integration_id: str) -> WebhookTarget:
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
        checks = self.checks_for(provider)
        delivery = WebhookDelivery(
            integration_id=integration.id,
            provider=provider,
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            received_at=self.clock(),
            callback_url=integration.registered_url or callback_url,
        )
        verified, delivery = self._verified(checks, delivery, integration, callback_url)
        if not verified:
            if self.on_rejected is not None:
                self.on_rejected(integration.id)
            raise Unauthorized("The webhook signature is missing or does not match.")
        checks.webhook_payload(delivery)  # a signed body processing could never read: 400, not queued
        # The provider's id when it is a sane token (it keys de-duplication); else the body's hash.
        given = checks.delivery_id(delivery) or ""
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
        self, checks: WebhookChecks, delivery: WebhookDelivery, integration: WebhookTarget, called_url: str
    ) -> tuple[bool, WebhookDelivery]:
        """Whether the signature holds, and the delivery as verified (with the callback URL that was signed)."""
        if self._matches(checks, delivery, self.secrets.read(integration.secret_name)):
            return True, delivery
        # A rotated secret, or a webhook registered a moment ago, may be newer than our caches: look once more,
        # uncached, if not done lately.
        if not self._may_reread(integration.id):
            return False, delivery
        fresh = self._integration(integration.id, fresh=True) or integration
        delivery = replace(delivery, callback_url=fresh.registered_url or called_url)
        return self._matches(checks, delivery, self.secrets.read(fresh.secret_name, fresh=True)), delivery

    @staticmethod
    def _matches(checks: WebhookChecks, delivery: WebhookDelivery, secret: Mapping[str, Any]) -> bool:
        secrets = WebhookSecrets(
            webhook_secret=secret.get("webhook_secret"), credentials=dict(secret.get("credentials") or {})
        )
        return checks.verify_webhook(delivery, secrets)

    def _may_reread(self, integration_id: str) -> bool:
        """True at most once per ``SECRET_REREAD_SECONDS`` for one integration (and records the re-read)."""
        now = self.monotonic()
        with self._lock:
            last = self._reread_at.get(integration_id)
            if last is not None and now - last < SECRET_REREAD_SECONDS:
                return False
            self._reread_at[integration_id] = now
        return True
