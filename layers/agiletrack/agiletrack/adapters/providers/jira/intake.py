"""Jira Cloud deliveries at intake (the webhooks function, no pydantic): the delivery id, the signature, the
payload.

``X-Atlassian-Webhook-Identifier`` is the same across Jira's retries of one delivery; a webhook registered with
a secret signs the raw body in ``X-Hub-Signature`` as ``sha256=<HMAC-SHA256 hex>`` (../shared/PROVIDERS.md;
``signature.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from agiletrack.adapters.providers.deliveries import (
    WebhookDelivery,
    WebhookSecrets,
    header_value,
    required_json_object,
)
from agiletrack.adapters.providers.jira.signature import verify_jira_signature

SIGNATURE_HEADER = "x-hub-signature"
DELIVERY_HEADER = "x-atlassian-webhook-identifier"
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def delivery_id(delivery: WebhookDelivery) -> str | None:
    """``X-Atlassian-Webhook-Identifier`` (the same across Jira's retries) when it is a sane token, else None."""
    value = (header_value(delivery.headers, DELIVERY_HEADER) or "").strip()
    return value if _DELIVERY_ID.match(value) else None


def verify(delivery: WebhookDelivery, secrets: WebhookSecrets) -> bool:
    """``X-Hub-Signature: sha256=<hmac>`` of the raw body with the webhook secret, in constant time; a delivery
    without the header, with another algorithm, or an integration without a secret is False."""
    if not secrets.webhook_secret:
        return False
    return verify_jira_signature(
        secrets.webhook_secret, delivery.body, header_value(delivery.headers, SIGNATURE_HEADER)
    )


def decoded_payload(delivery: WebhookDelivery) -> dict[str, Any]:
    """The delivery's JSON object; ``InvalidPayload`` (400 at intake) for a body that is not one."""
    return required_json_object(delivery, "Jira")


class JiraIntake:
    """Jira's ``WebhookChecks`` (``JiraAdapter`` inherits them)."""

    registers_webhooks: ClassVar[bool] = False
    """A Jira admin adds the webhook with the URL and secret we give."""

    def delivery_id(self, delivery: WebhookDelivery) -> str | None:
        return delivery_id(delivery)

    def verify_webhook(self, delivery: WebhookDelivery, secrets: WebhookSecrets) -> bool:
        return verify(delivery, secrets)

    def webhook_payload(self, delivery: WebhookDelivery) -> Mapping[str, Any]:
        return decoded_payload(delivery)
