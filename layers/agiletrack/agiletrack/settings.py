"""One settings object, read from the environment once per process (never at import time).

A plain dataclass, not a pydantic model: every function reads it on its first request, and the authorizer
(in front of every API call) needs nothing else of pydantic, so reading settings must not import it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from functools import cache
from typing import Any


class SettingsError(ValueError):
    """A setting from the environment that is not of its type or outside its range."""


_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})
_RANGES: dict[str, tuple[float | None, float | None, bool]] = {
    # name: (lower bound, upper bound, lower bound excluded)
    "backfill_days": (1, 3650, False),
    "secret_cache_seconds": (0, 60, False),
    "http_timeout_seconds": (0, None, True),
    "validation_deadline_seconds": (0, 25, True),
}


@dataclass(frozen=True)
class Settings:
    """Every setting a function may need. Names match the environment variables in template.yaml."""

    teams_table: str = "agiletrack-local-TeamsTable"
    integrations_table: str = "agiletrack-local-IntegrationsTable"
    records_table: str = "agiletrack-local-RecordsTable"
    metrics_table: str = "agiletrack-local-MetricsTable"
    idempotency_table: str = "agiletrack-local-IdempotencyTable"
    sync_queue_url: str = ""
    webhook_queue_url: str = ""
    sync_dlq_url: str = ""
    webhook_dlq_url: str = ""
    blob_bucket: str = "agiletrack-local-blobs"
    secrets_prefix: str = "agiletrack/local/"
    backfill_days: int = 365
    secret_cache_seconds: int = 60
    """How long a read secret is reused; at most 60 s, so a rotated one stops working within a minute."""
    http_timeout_seconds: float = 10.0
    validation_deadline_seconds: float = 20.0
    """One limit over all provider requests of a credential validation (the API's answer waits for it)."""
    aws_endpoint_url: str | None = None
    allow_private_provider_urls: bool = False
    """Only the local stack and tests set this: they call fake providers on 127.0.0.1."""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """The settings the environment sets (``TEAMS_TABLE``...; empty values are unset), each converted to
        its type and checked against its range; ``SettingsError`` names the first bad one."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            text = env.get(field.name.upper(), "")
            if text != "":
                values[field.name] = _convert(field.name, str(field.type), text)
        return cls(**values)


def _convert(name: str, kind: str, text: str) -> Any:
    try:
        if kind == "bool":
            word = text.strip().lower()
            if word not in _TRUE | _FALSE:
                raise ValueError(text)
            return word in _TRUE
        if kind == "int":
            value: float = int(text.strip())
        elif kind == "float":
            value = float(text.strip())
        else:
            return text
    except ValueError:
        raise SettingsError(f"{name.upper()}={text[:64]!r} is not a valid {kind}") from None
    low, high, open_low = _RANGES.get(name, (None, None, False))
    if low is not None and (value <= low if open_low else value < low):
        raise SettingsError(f"{name.upper()}={text[:64]!r} must be {'above' if open_low else 'at least'} {low}")
    if high is not None and value > high:
        raise SettingsError(f"{name.upper()}={text[:64]!r} must be at most {high}")
    return value


@cache
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings.from_env()
