"""What shared code needs to know about Jira (light: config model and record types only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agiletrack.adapters.providers.jira.config import JiraConfig
from agiletrack.adapters.providers.jira.records import JIRA_RECORD_TYPES
from agiletrack.adapters.providers.spec import ProviderSpec


def _default_name(public: Mapping[str, Any]) -> str:
    return f"Jira {public.get('project_key', '')}".strip()


SPEC = ProviderSpec(
    name="jira",
    config_model=JiraConfig,
    credential_fields=("api_token",),
    credential_url_fields=("server_url",),
    scope_fields=("server_url", "project_key", "board_id"),
    identity_fields=("email",),
    default_name=_default_name,
    record_types=JIRA_RECORD_TYPES,
    generates_webhook_secret=True,
    metric_params={"sprint_id": "the sprint whose burndown to show (by default the active one)"},
    signature_headers=("x-hub-signature",),
    adapter="agiletrack.adapters.providers.jira.adapter:JiraAdapter",
    validator="agiletrack.adapters.providers.jira.validate:make_validator",
    metrics_model="agiletrack.adapters.providers.jira.documents:JiraMetrics",
    series_model="agiletrack.adapters.providers.jira.documents:JiraSeries",
)
