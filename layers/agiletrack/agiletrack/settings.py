"""One settings model, read from the environment once per process (never at import time)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    """Every setting a function may need. Names match the environment variables in template.yaml."""

    teams_table: str = Field(default="agiletrack-local-TeamsTable")
    integrations_table: str = Field(default="agiletrack-local-IntegrationsTable")
    records_table: str = Field(default="agiletrack-local-RecordsTable")
    metrics_table: str = Field(default="agiletrack-local-MetricsTable")
    idempotency_table: str = Field(default="agiletrack-local-IdempotencyTable")
    sync_queue_url: str = ""
    webhook_queue_url: str = ""
    sync_dlq_url: str = ""
    webhook_dlq_url: str = ""
    blob_bucket: str = "agiletrack-local-blobs"
    secrets_prefix: str = "agiletrack/local/"
    backfill_days: int = Field(default=365, ge=1, le=3650)
    secret_cache_seconds: int = Field(default=60, ge=0, le=60)
    """How long a read secret is reused; at most 60 s, so a rotated one stops working within a minute."""
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    validation_deadline_seconds: float = Field(default=20.0, gt=0, le=25)
    """One limit over all provider requests of a credential validation (the API's answer waits for it)."""
    aws_endpoint_url: str | None = None
    allow_private_provider_urls: bool = False
    """Only the local stack and tests set this: they call fake providers on 127.0.0.1."""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for name in cls.model_fields:
            key = name.upper()
            if key in env and env[key] != "":
                values[name] = env[key]
        return cls.model_validate(values)


@cache
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings.from_env()
