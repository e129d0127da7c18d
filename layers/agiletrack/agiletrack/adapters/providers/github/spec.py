"""What shared code needs to know about GitHub (light: config model and record types only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agiletrack.adapters.providers.github.config import GitHubConfig
from agiletrack.adapters.providers.github.records import GITHUB_RECORD_TYPES
from agiletrack.adapters.providers.spec import ProviderSpec


def _default_name(public: Mapping[str, Any]) -> str:
    return str(public.get("repository", "GitHub"))


SPEC = ProviderSpec(
    name="github",
    config_model=GitHubConfig,
    credential_fields=("token",),
    credential_url_fields=("api_url",),
    scope_fields=("repository", "branch", "api_url"),
    default_name=_default_name,
    record_types=GITHUB_RECORD_TYPES,
    generates_webhook_secret=True,
    signature_headers=("x-hub-signature", "x-hub-signature-256"),
    adapter="agiletrack.adapters.providers.github.adapter:GitHubAdapter",
    validator="agiletrack.adapters.providers.github.validate:make_validator",
    metrics_model="agiletrack.adapters.providers.github.documents:GitHubMetrics",
    series_model="agiletrack.adapters.providers.github.documents:GitHubSeries",
)
