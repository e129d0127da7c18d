"""The Jira Cloud adapter: validation (``validate.py``), the pull (``pull.py``), webhooks (``webhooks.py``) and the
metrics (``metrics.py``) behind the one ``ProviderAdapter`` interface."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from pydantic import BaseModel

from agiletrack.adapters.providers.base import (
    Measured,
    PullContext,
    PullPage,
    ValidationInfo,
    WebhookDelivery,
    WebhookResult,
)
from agiletrack.adapters.providers.jira import webhooks
from agiletrack.adapters.providers.jira.client import JiraClient
from agiletrack.adapters.providers.jira.config import JiraConfig
from agiletrack.adapters.providers.jira.intake import JiraIntake
from agiletrack.adapters.providers.jira.metrics import JiraData, compute_jira_metrics, compute_jira_series
from agiletrack.adapters.providers.jira.pull import JiraPull
from agiletrack.adapters.providers.jira.records import JiraSprint
from agiletrack.adapters.providers.jira.spec import SPEC
from agiletrack.adapters.providers.jira.validate import JiraValidator
from agiletrack.models.common import utcnow
from agiletrack.models.records import Record
from agiletrack.observability import logger

if TYPE_CHECKING:
    from agiletrack.adapters.providers.base import ProviderAdapter


REPORT_TOLERANCE = 0.005
"""Points are rounded to 2 decimals: a smaller difference from Jira's sprint report is no disagreement."""


def compare_with_sprint_reports(sprints: list[dict[str, Any]], stored: list[Record]) -> list[str]:
    """Log (and return the ids of) the sprints whose completed points differ from Jira's own sprint report."""
    reported = {
        r.id: r.reported_completed_points
        for r in stored
        if isinstance(r, JiraSprint) and r.reported_completed_points is not None
    }
    disagreeing = []
    for sprint in sprints:
        theirs, ours = reported.get(str(sprint.get("id"))), sprint.get("completed_points")
        if theirs is not None and isinstance(ours, int | float) and abs(ours - theirs) > REPORT_TOLERANCE:
            disagreeing.append(str(sprint.get("id")))
            logger.warning(
                "completed points differ from Jira's sprint report",
                extra={"sprint_id": sprint.get("id"), "ours": ours, "sprint_report": theirs},
            )
    return disagreeing


def _jira_config(config: BaseModel) -> JiraConfig:
    if not isinstance(config, JiraConfig):
        raise TypeError(f"the Jira adapter needs a JiraConfig, not {type(config).__name__}")
    return config


class JiraAdapter(JiraIntake):
    provider: ClassVar[str] = "jira"
    config_model: ClassVar[type[BaseModel]] = SPEC.config_model
    credential_fields: ClassVar[tuple[str, ...]] = SPEC.credential_fields
    record_types: ClassVar[tuple[type[Record], ...]] = SPEC.record_types
    signs_webhooks_with_generated_secret: ClassVar[bool] = SPEC.generates_webhook_secret
    snapshot_kinds: ClassVar[tuple[str, ...]] = SPEC.record_kinds
    """Every Jira kind is read whole by the metrics (backlog ages, sprints, histories reach before a window)."""

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
        timeout: float = 20.0,
    ) -> None:
        """``timeout``: of each read of the pull's requests."""
        self.transport = transport
        self.sleep = sleep
        self.clock = clock
        self.timeout = timeout

    def validate(self, config: BaseModel, credentials: Mapping[str, str]) -> ValidationInfo:
        return JiraValidator(transport=self.transport, sleep=self.sleep)(config, credentials)

    def pull(self, ctx: PullContext) -> Iterator[PullPage]:
        cfg = _jira_config(ctx.config)
        token = ctx.credentials.get("api_token") or cfg.api_token
        with JiraClient(
            cfg, token, ctx.stats, transport=self.transport, sleep=self.sleep, timeout=self.timeout
        ) as client:
            yield from JiraPull(ctx, client, self.clock()).pages()

    def refresh(self, config: BaseModel, credentials: Mapping[str, str], records: list[Record]) -> list[Record]:  # noqa: ARG002
        """Jira deliveries carry whole issues: nothing to complete."""
        return records

    # ------------------------------------------------------------ webhooks
    def parse_webhook(
        self, delivery: WebhookDelivery, config: BaseModel, provider_state: Mapping[str, Any] | None = None
    ) -> WebhookResult:
        return webhooks.parse(delivery, _jira_config(config), dict(provider_state or {}))

    def merge_record(self, stored: Record, incoming: Record) -> Record:
        return webhooks.merge_record(stored, incoming)

    # ------------------------------------------------------------ metrics
    def compute_metrics(
        self,
        records: Mapping[str, list[Record]],
        since: datetime,
        until: datetime,
        now: datetime,
        config: BaseModel,  # noqa: ARG002 - the records carry the board and its fields
        params: Mapping[str, str],
    ) -> Measured:
        data = JiraData(records)  # One parse of the records serves the metrics and the series.
        document = compute_jira_metrics(records, since, until, now, sprint_id=params.get("sprint_id"), data=data)
        compare_with_sprint_reports(document.get("sprints") or [], records.get("jira_sprint") or [])
        return Measured(metrics=document, series=compute_jira_series(records, since, until, now, data=data))


if TYPE_CHECKING:
    _conforms: ProviderAdapter = JiraAdapter()
