"""Secrets Manager: one secret per integration, ``<prefix><integration id>``, holding
``{"credentials": {...}, "webhook_secret": "..."}``. Reads go through Powertools parameters with caching."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.exceptions import ClientError

from agiletrack.adapters.aws import clients
from agiletrack.settings import get_settings


class SecretStore:
    def __init__(self, prefix: str, max_age: int) -> None:
        self.prefix = prefix
        self.max_age = max_age
        self._provider: SecretsProvider | None = None

    @property
    def provider(self) -> SecretsProvider:
        if self._provider is None:
            self._provider = SecretsProvider(boto3_client=clients.secretsmanager())
        return self._provider

    def name_for(self, integration_id: str) -> str:
        return f"{self.prefix}{integration_id}"

    def create(self, name: str, payload: dict[str, Any], *, tags: dict[str, str] | None = None) -> None:
        clients.secretsmanager().create_secret(
            Name=name,
            SecretString=json.dumps(payload),
            Description="AgileTrack integration credentials",
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        )

    def read(self, name: str, *, fresh: bool = False) -> dict[str, Any]:
        value = self.provider.get(name, max_age=self.max_age, transform="json", force_fetch=fresh)
        if not isinstance(value, dict):
            raise ValueError(f"secret {name} does not hold a JSON object")
        return value

    def write(self, name: str, payload: dict[str, Any]) -> None:
        """A new version (the previous one stays as AWSPREVIOUS)."""
        clients.secretsmanager().put_secret_value(SecretId=name, SecretString=json.dumps(payload))
        self.provider.clear_cache()  # type: ignore[no-untyped-call]

    def delete(self, name: str) -> None:
        try:
            clients.secretsmanager().delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        self.provider.clear_cache()  # type: ignore[no-untyped-call]


@cache
def secret_store() -> SecretStore:
    settings = get_settings()
    return SecretStore(settings.secrets_prefix, settings.secret_cache_seconds)
