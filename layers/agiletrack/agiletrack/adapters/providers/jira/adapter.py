"""The Jira Cloud adapter: validation, the pull (``pull.py``), and delegation to the webhook and metric modules.

Webhook parsing (``jira.webhooks``) and the metrics (``jira.metrics``) are imported when first used.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from pydantic import BaseModel

from agiletrack.adapters.providers.base import (
    PullContext,
    PullPage,
    ValidationInfo,
    WebhookDelivery,
    WebhookResult,
    WebhookSecrets,
)
from agiletrack.adapters.providers.jira.client import JiraClient
from agiletrack.adapters.providers.jira.pull import JiraPull
from agiletrack.adapters.providers.jira.records import JIRA_RECORD_TYPES
from agiletrack.adapters.providers.jira.validate import JiraValidator
from agiletrack.models.common import utcnow
from agiletrack.models.integrations import JiraConfig
from agiletrack.models.records import Record

if TYPE_CHECKING:
    from agiletrack.adapters.providers.base import ProviderAdapter


def _jira_config(config: BaseModel) -> JiraConfig:
    if not isinstance(config, JiraConfig):
        raise TypeError(f"the Jira adapter needs a JiraConfig, not {type(config).__name__}")
    return config


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"agiletrack.adapters.providers.jira.{name}")


class JiraAdapter:
    provider: ClassVar[str] = "jira"
    config_model: ClassVar[type[BaseModel]] = JiraConfig
    credential_fields: ClassVar[tuple[str, ...]] = ("api_token",)
    record_types: ClassVar[tuple[type[Record], ...]] = JIRA_RECORD_TYPES
    signs_webhooks_with_generated_secret: ClassVar[bool] = True
    snapshot_kinds: ClassVar[tuple[str, ...]] = tuple(t.kind for t in JIRA_RECORD_TYPES)
    """Every Jira kind is read whole by the metrics (backlog ages, sprints, histories reach before a window)."""

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.transport = transport
        self.sleep = sleep
        self.clock = clock

    def validate(self, config: BaseModel, credentials: Mapping[str, str]) -> ValidationInfo:
        return JiraValidator(transport=self.transport, sleep=self.sleep)(config, credentials)

    def pull(self, ctx: PullContext) -> Iterator[PullPage]:
        cfg = _jira_config(ctx.config)
        token = ctx.credentials.get("api_token") or cfg.api_token
        with JiraClient(cfg, token, ctx.stats, transport=self.transport, sleep=self.sleep) as client:
            yield from JiraPull(ctx, client, self.clock()).pages()

    def refresh(self, config: BaseModel, credentials: Mapping[str, str], records: list[Record]) -> list[Record]:  # noqa: ARG002
        """Jira deliveries carry whole issues: nothing to complete."""
        return records

    # ------------------------------------------------------------ webhooks (jira/webhooks.py)
    def delivery_id(self, delivery: WebhookDelivery) -> str | None:
        result: str | None = _module("webhooks").delivery_id(delivery)
        return result

    def verify_webhook(self, delivery: WebhookDelivery, secrets: WebhookSecrets) -> bool:
        return bool(_module("webhooks").verify(delivery, secrets))

    def parse_webhook(
        self, delivery: WebhookDelivery, config: BaseModel, provider_state: Mapping[str, Any] | None = None
    ) -> WebhookResult:
        result: WebhookResult = _module("webhooks").parse(delivery, _jira_config(config), dict(provider_state or {}))
        return result

    def merge_record(self, stored: Record, incoming: Record) -> Record:
        merged: Record = _module("webhooks").merge_record(stored, incoming)
        return merged

    # ------------------------------------------------------------ metrics (jira/metrics.py)
    def compute_metrics(
        self,
        records: Mapping[str, list[Record]],
        since: datetime,
        until: datetime,
        now: datetime,
        config: BaseModel,  # noqa: ARG002 - the records carry the board and its fields
        params: Mapping[str, str],
    ) -> dict[str, Any]:
        document: dict[str, Any] = _module("metrics").compute_jira_metrics(
            records, since, until, now, sprint_id=params.get("sprint_id")
        )
        return document


if TYPE_CHECKING:
    _conforms: ProviderAdapter = JiraAdapter()
