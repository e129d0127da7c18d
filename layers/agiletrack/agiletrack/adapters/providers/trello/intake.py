"""Trello deliveries at intake (the webhooks function, no pydantic): the delivery id, the signature, the payload.

A delivery carries one action; its id (24 hex digits) is the same across Trello's retries. ``X-Trello-Webhook``
is the base64 HMAC-SHA1 of the raw body followed by the exact callback URL, keyed with the application's API
secret (../shared/PROVIDERS.md; ``signature.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from agiletrack.adapters.providers.deliveries import (
    WebhookDelivery,
    WebhookSecrets,
    header_value,
    json_object,
    required_json_object,
)
from agiletrack.adapters.providers.trello.signature import verify_trello_signature

SIGNATURE_HEADER = "x-trello-webhook"
_ACTION_ID = re.compile(r"^[0-9a-fA-F]{24}$")


def decoded_payload(delivery: WebhookDelivery) -> dict[str, Any]:
    """The delivery's JSON object; ``InvalidPayload`` (400 at intake) for a body that is not one."""
    return required_json_object(delivery, "Trello")


def delivery_id(delivery: WebhookDelivery) -> str | None:
    """The action's id (24 hex digits, the same across Trello's retries), else None."""
    payload = json_object(delivery.body)
    action = payload.get("action") if payload is not None else None
    value = action.get("id") if isinstance(action, dict) else None
    return value if isinstance(value, str) and _ACTION_ID.match(value) else None


def verify(delivery: WebhookDelivery, secrets: WebhookSecrets) -> bool:
    """The signature of the raw body and the exact callback URL with the application secret; False without one."""
    secret = secrets.credentials.get("api_secret") or ""
    if not secret or not delivery.callback_url:
        return False
    header = header_value(delivery.headers, SIGNATURE_HEADER)
    return verify_trello_signature(secret, delivery.body, delivery.callback_url, header)


class TrelloIntake:
    """Trello's ``WebhookChecks`` (``TrelloAdapter`` inherits them)."""

    registers_webhooks: ClassVar[bool] = True
    """We register the webhook through Trello's API (``registration.py``); a delivery to a deleted integration
    is answered 410, and Trello then drops the webhook."""

    def delivery_id(self, delivery: WebhookDelivery) -> str | None:
        return delivery_id(delivery)

    def verify_webhook(self, delivery: WebhookDelivery, secrets: WebhookSecrets) -> bool:
        return verify(delivery, secrets)

    def webhook_payload(self, delivery: WebhookDelivery) -> Mapping[str, Any]:
        return decoded_payload(delivery)
