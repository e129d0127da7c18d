"""What shared code needs to know about Trello (light: config model and record types only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agiletrack.adapters.providers.spec import ProviderSpec
from agiletrack.adapters.providers.trello.config import TrelloConfig
from agiletrack.adapters.providers.trello.records import TRELLO_RECORD_TYPES


def _default_name(public: Mapping[str, Any]) -> str:
    return f"Trello board {public.get('board_id', '')}".strip()


SPEC = ProviderSpec(
    name="trello",
    config_model=TrelloConfig,
    credential_fields=("api_key", "api_token", "api_secret"),
    credential_url_fields=(),  # the API root comes from the environment only
    scope_fields=("board_id",),
    default_name=_default_name,
    record_types=TRELLO_RECORD_TYPES,
    generates_webhook_secret=False,  # Trello signs with the application's api_secret
    signature_headers=("x-trello-webhook",),
    adapter="agiletrack.adapters.providers.trello.adapter:TrelloAdapter",
    validator="agiletrack.adapters.providers.trello.validate:make_validator",
    webhook_registrar="agiletrack.adapters.providers.trello.registration:TrelloWebhookRegistrar",
    metrics_model="agiletrack.adapters.providers.trello.documents:TrelloMetrics",
    series_model="agiletrack.adapters.providers.trello.documents:TrelloSeries",
)
