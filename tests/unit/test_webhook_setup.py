"""The ``webhook`` part of the status (``domain.status.webhook_setup``): one shape for every provider."""

from __future__ import annotations

from datetime import UTC, datetime

from agiletrack.domain.status import MANUAL_NOT_SEEN, webhook_setup
from agiletrack.models.integrations import Integration, WebhookRegistration

AT = datetime(2026, 11, 30, 12, tzinfo=UTC)


def integration(**fields: object) -> Integration:
    base = {
        "id": "int_0000000000000001",
        "team_id": "team_a",
        "type": "trello",
        "name": "board",
        "config": {},
        "secret_name": "s",
        "created_at": AT,
        "updated_at": AT,
    }
    return Integration.model_validate(base | fields)


def test_a_registered_webhook_shows_its_id_url_and_activity() -> None:
    stored = WebhookRegistration(
        state="registered", webhook_id="w1", callback_url="https://x/webhooks/trello/i", active=False, registered_at=AT
    )
    setup = webhook_setup(integration(webhook_registration=stored), managed=True)
    assert (setup.managed, setup.registered, setup.active) == (True, True, False)
    assert (setup.webhook_id, setup.callback_url, setup.registered_at) == ("w1", "https://x/webhooks/trello/i", AT)


def test_a_failed_or_off_registration_is_not_registered_nor_active_and_says_why() -> None:
    for state in ("failed", "off"):
        stored = WebhookRegistration(state=state, webhook_id="old", reason="why", active=True)
        setup = webhook_setup(integration(webhook_registration=stored), managed=True)
        assert (setup.registered, setup.active, setup.reason, setup.webhook_id) == (False, False, "why", None)


def test_a_managed_provider_without_any_registration_says_how_to_get_one() -> None:
    setup = webhook_setup(integration(), managed=True)
    assert setup.registered is False and setup.reason is not None and "PATCH" in setup.reason


def test_a_webhook_set_up_by_hand_counts_as_registered_once_a_delivery_or_ping_came() -> None:
    unseen = webhook_setup(integration(type="github"), managed=False)
    assert (unseen.managed, unseen.registered, unseen.active, unseen.reason) == (False, False, False, MANUAL_NOT_SEEN)
    pinged = webhook_setup(integration(type="github", webhook_connected_at=AT), managed=False)
    assert (pinged.registered, pinged.active, pinged.reason) == (True, True, None)
    delivered = webhook_setup(integration(type="jira", last_webhook_at=AT), managed=False)
    assert delivered.registered is True
