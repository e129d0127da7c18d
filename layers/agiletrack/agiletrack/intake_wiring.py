"""The webhooks function's composition root: the intake wired to the AWS adapters and the providers' webhook
checks. Apart from ``wiring.py`` (which re-exports it) because that module imports every service, with their
pydantic models; the webhooks function needs none of them on any request."""

from __future__ import annotations

from functools import cache

from agiletrack.adapters.aws.blobs import blob_store
from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.adapters.providers.registry import registers_webhooks, webhook_checks_for
from agiletrack.domain.intake import WebhookIntake


def _count_rejected(integration_id: str) -> None:
    integration_store().add_event(integration_id, "webhook", outcome="rejected")


@cache
def webhook_intake() -> WebhookIntake:
    return WebhookIntake(
        integrations=integration_store(),
        secrets=secret_store(),
        queue=queues(),
        blobs=blob_store(),
        checks_for=webhook_checks_for,
        on_rejected=_count_rejected,
        registers_webhooks=registers_webhooks,
    )
