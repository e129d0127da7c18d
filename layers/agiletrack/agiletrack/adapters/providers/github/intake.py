"""GitHub deliveries at intake (the webhooks function, no pydantic): the delivery id, the signature, the payload.

``X-GitHub-Delivery`` is the delivery's GUID, the same when GitHub redelivers it; ``X-Hub-Signature-256`` is
``sha256=`` and the HMAC-SHA256 hex digest of the raw body with the webhook secret (../shared/PROVIDERS.md).
A body is JSON, or form-encoded with the JSON in its ``payload`` field (the webhook's content type setting).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qs

from agiletrack.adapters.providers.deliveries import WebhookDelivery, WebhookSecrets, header_value
from agiletrack.errors import InvalidPayload

SIGNATURE_HEADER = "x-hub-signature-256"
DELIVERY_HEADER = "x-github-delivery"


def delivery_id(delivery: WebhookDelivery) -> str | None:
    return header_value(delivery.headers, DELIVERY_HEADER) or None


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(delivery: WebhookDelivery, secret: str | None) -> bool:
    """Constant-time check of ``X-Hub-Signature-256`` over the raw body; no secret or no header → False."""
    received = header_value(delivery.headers, SIGNATURE_HEADER)
    if not secret or not received:
        return False
    expected = sign(secret, delivery.body)
    return hmac.compare_digest(expected.encode("utf-8"), received.strip().encode("utf-8", "replace"))


def decoded_payload(delivery: WebhookDelivery) -> dict[str, Any]:
    """The delivery's JSON object (a JSON body, or a form body's ``payload`` field); else ``InvalidPayload``."""
    content_type = (header_value(delivery.headers, "content-type") or "").lower()
    try:
        text = delivery.body.decode("utf-8")
        if "application/x-www-form-urlencoded" in content_type:
            fields = parse_qs(text, keep_blank_values=True)
            if "payload" not in fields:
                raise InvalidPayload("The form-encoded delivery has no payload field.")
            text = fields["payload"][0]
        payload = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # nested beyond the parser, too
        raise InvalidPayload("The delivery body is not a GitHub JSON payload.") from exc
    if not isinstance(payload, dict):
        raise InvalidPayload("The delivery body is not a JSON object.")
    return payload


class GitHubIntake:
    """GitHub's ``WebhookChecks`` (``GitHubAdapter`` inherits them)."""

    registers_webhooks: ClassVar[bool] = False
    """The user adds the webhook on GitHub with the URL and secret we give."""

    def delivery_id(self, delivery: WebhookDelivery) -> str | None:
        return delivery_id(delivery)

    def verify_webhook(self, delivery: WebhookDelivery, secrets: WebhookSecrets) -> bool:
        return verify(delivery, secrets.webhook_secret)

    def webhook_payload(self, delivery: WebhookDelivery) -> Mapping[str, Any]:
        return decoded_payload(delivery)
