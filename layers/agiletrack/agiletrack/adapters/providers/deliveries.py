"""What a webhook delivery is before it becomes records: the delivery as received, the secrets it is checked
with, and the checks a provider makes at intake (``WebhookChecks``, each provider's ``intake.py``). The webhooks
function imports this module, not ``base.py``: plain dataclasses and a protocol, nothing else."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol, cast

from agiletrack.errors import InvalidPayload


@dataclass
class WebhookDelivery:
    """A delivery as the webhooks function received it (headers lower-cased, the raw body)."""

    integration_id: str
    provider: str
    headers: dict[str, str]
    body: bytes
    received_at: datetime
    callback_url: str
    """The exact URL the provider called (Trello signs it together with the body)."""


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header by its lower-cased ``name`` (headers arrive lower-cased; a caller's own may not be)."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


@dataclass
class WebhookSecrets:
    webhook_secret: str | None
    credentials: Mapping[str, str]


class WebhookChecks(Protocol):
    """What the webhooks function asks of a provider before it queues a delivery, imported without pydantic
    (each provider's ``intake.py``; its adapter inherits them): the delivery's id, its signature, whether the body
    is a payload the provider sends. ``registers_webhooks`` is the spec's ``webhook_registrar is not None``."""

    registers_webhooks: ClassVar[bool]

    def delivery_id(self, delivery: WebhookDelivery) -> str | None:
        """The provider's id of this delivery, the same across its retries (de-duplication), or None."""
        ...

    def verify_webhook(self, delivery: WebhookDelivery, secrets: WebhookSecrets) -> bool:
        """Whether the delivery's signature holds (constant time); False without one."""
        ...

    def webhook_payload(self, delivery: WebhookDelivery) -> Mapping[str, Any]:
        """The body as the provider's JSON object; ``InvalidPayload`` (400 at intake) when it is not one."""
        ...


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body's JSON object, or None (not JSON, not UTF-8, nested beyond the parser, not an object)."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return cast(dict[str, Any], payload) if isinstance(payload, dict) else None


def required_json_object(delivery: WebhookDelivery, provider_label: str) -> dict[str, Any]:
    """The delivery's JSON object; ``InvalidPayload`` (400 at intake) for a body that is not one."""
    payload = json_object(delivery.body)
    if payload is None:
        raise InvalidPayload(f"The delivery body is not a {provider_label} JSON object.")
    return payload
