"""What the webhooks function reads of an integration: a plain dataclass, no pydantic (``models.integrations``
holds the full model; the webhooks function needs six of its fields on every delivery)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebhookTarget:
    id: str
    type: str
    status: str
    secret_name: str
    generation: int = 0
    registered_url: str | None = None
    """The callback URL the provider was given when we registered its webhook (it signs deliveries with it):
    verification uses it, not the URL as this request reached us, so a proxy or stage in front changes
    nothing. None when no webhook is registered for the integration."""
