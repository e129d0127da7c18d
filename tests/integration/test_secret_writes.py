"""Writes of an integration's secret are serialized: a credential change and a webhook-secret rotation
both read, change and write the whole secret, so without a lease one of them would be lost. Against moto
(DynamoDB for the lease, Secrets Manager for the secret), with the writers interleaved on purpose."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.metrics_cache import metrics_cache
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.adapters.providers.github.config import GitHubConfig
from agiletrack.domain.integrations import IntegrationService
from agiletrack.errors import Conflict
from agiletrack.models.common import utcnow
from agiletrack.models.integrations import UpdateIntegration
from devstack.template import Resources

BASE = "https://api.example.com"


class Validator:
    """Accepts every config; ``during`` runs once inside the next validation (the other writer)."""

    def __init__(self) -> None:
        self.during: Any = None

    def __call__(self, config: BaseModel, credentials: Mapping[str, str]) -> None:
        action, self.during = self.during, None
        if action is not None:
            action()


def _service(validator: Validator, sleep: Any = lambda _s: None) -> IntegrationService:
    return IntegrationService(
        integrations=integration_store(),
        records=record_store(),
        metrics_cache=metrics_cache(),
        secrets=secret_store(),
        queues=queues(),
        validators={"github": validator},
        sleep=sleep,
    )


def _secret(integration_id: str) -> dict[str, Any]:
    return secret_store().read(secret_store().name_for(integration_id), fresh=True)


def _create(service: IntegrationService) -> str:
    config = GitHubConfig(repository="octo-org/octo-repo", token="ghp_first")
    return service.create("team_a", "github", config, name=None, base_url=BASE).id


def test_a_rotation_during_a_credential_change_is_kept(aws: Resources) -> None:
    # Given an integration, and a rotation that lands while a token change is being validated
    validator = Validator()
    service = _service(validator)
    integration_id = _create(service)
    rotated: list[str] = []
    validator.during = lambda: rotated.append(service.rotate_webhook_secret("team_a", integration_id))

    # When the token change completes
    service.update("team_a", integration_id, UpdateIntegration(config={"token": "ghp_second"}), base_url=BASE)

    # Then both changes are in the secret
    assert rotated
    assert _secret(integration_id) == {"credentials": {"token": "ghp_second"}, "webhook_secret": rotated[0]}


def test_a_writer_waits_for_the_lease_and_applies_its_change_to_the_newer_secret(aws: Resources) -> None:
    # Given another writer holds the lease and is about to store a new token
    name = secret_store().name_for
    store = integration_store()

    def other_writer_finishes(_seconds: float) -> None:
        current = _secret(integration_id)
        secret_store().write(name(integration_id), {**current, "credentials": {"token": "ghp_other"}})
        store.release_secret_lease(integration_id, "other")

    service = _service(Validator(), sleep=other_writer_finishes)
    integration_id = _create(service)
    assert store.acquire_secret_lease(integration_id, "other", utcnow(), ttl=timedelta(seconds=30))

    # When the webhook secret is rotated meanwhile
    rotated = service.rotate_webhook_secret("team_a", integration_id)

    # Then it waited, and neither change is lost
    assert _secret(integration_id) == {"credentials": {"token": "ghp_other"}, "webhook_secret": rotated}


def test_a_lease_that_stays_taken_is_a_409_and_changes_nothing(aws: Resources) -> None:
    waits: list[float] = []
    service = _service(Validator(), sleep=waits.append)
    integration_id = _create(service)
    before = _secret(integration_id)
    assert integration_store().acquire_secret_lease(integration_id, "stuck", utcnow(), ttl=timedelta(seconds=30))

    with pytest.raises(Conflict):
        service.rotate_webhook_secret("team_a", integration_id)

    assert waits  # it did wait before giving up
    assert _secret(integration_id) == before
