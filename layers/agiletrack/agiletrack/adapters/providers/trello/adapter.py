"""The Trello adapter: validation (``validate.py``), the pull (``pull.py``), webhooks (``webhooks.py``) and the
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
from agiletrack.adapters.providers.trello import webhooks
from agiletrack.adapters.providers.trello.client import PACER, Pacer, TrelloClient
from agiletrack.adapters.providers.trello.config import TrelloConfig, api_root
from agiletrack.adapters.providers.trello.history import BoardHistory
from agiletrack.adapters.providers.trello.intake import TrelloIntake
from agiletrack.adapters.providers.trello.metrics import compute_trello_metrics, compute_trello_series
from agiletrack.adapters.providers.trello.pull import TrelloPull
from agiletrack.adapters.providers.trello.spec import SPEC
from agiletrack.adapters.providers.trello.validate import TrelloValidator
from agiletrack.metrics.window import Window
from agiletrack.models.common import utcnow
from agiletrack.models.records import Record

if TYPE_CHECKING:
    from agiletrack.adapters.providers.base import ProviderAdapter


def _trello_config(config: BaseModel) -> TrelloConfig:
    if not isinstance(config, TrelloConfig):
        raise TypeError(f"the Trello adapter needs a TrelloConfig, not {type(config).__name__}")
    return config


class TrelloAdapter(TrelloIntake):
    provider: ClassVar[str] = "trello"
    config_model: ClassVar[type[BaseModel]] = SPEC.config_model
    credential_fields: ClassVar[tuple[str, ...]] = SPEC.credential_fields
    record_types: ClassVar[tuple[type[Record], ...]] = SPEC.record_types
    signs_webhooks_with_generated_secret: ClassVar[bool] = SPEC.generates_webhook_secret
    snapshot_kinds: ClassVar[tuple[str, ...]] = SPEC.record_kinds
    """Every Trello kind is read whole: last entries, creations and list ages reach back before any window."""

    def __init__(
        self,
        *,
        api_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
        pacer: Pacer = PACER,
        timeout: float = 30.0,
        action_page: int | None = None,
    ) -> None:
        """``api_url``: the API root (by default ``TRELLO_API_URL``, read at each use); ``timeout``: of each read
        of the pull's requests; ``action_page``: actions a request (by default Trello's largest)."""
        self.api_url = api_url
        self.timeout = timeout
        self.action_page = action_page
        self.transport = transport
        self.sleep = sleep
        self.clock = clock
        self.pacer = pacer

    def root(self) -> str:
        return self.api_url or api_root()

    def validate(self, config: BaseModel, credentials: Mapping[str, str]) -> ValidationInfo:
        return TrelloValidator(self.root(), transport=self.transport, sleep=self.sleep)(config, credentials)

    def client(self, config: TrelloConfig, credentials: Mapping[str, str], ctx: PullContext) -> TrelloClient:
        return TrelloClient(
            self.root(),
            credentials.get("api_key") or config.api_key,
            credentials.get("api_token") or config.api_token,
            ctx.stats,
            transport=self.transport,
            sleep=self.sleep,
            pacer=self.pacer,
            timeout=self.timeout,
        )

    def pull(self, ctx: PullContext) -> Iterator[PullPage]:
        cfg = _trello_config(ctx.config)
        with self.client(cfg, ctx.credentials, ctx) as client:
            yield from TrelloPull(ctx, client, self.clock(), page=self.action_page).pages()

    def refresh(self, config: BaseModel, credentials: Mapping[str, str], records: list[Record]) -> list[Record]:  # noqa: ARG002
        """Trello deliveries carry the whole action: nothing to complete (the next sync refreshes the card)."""
        return records

    # ------------------------------------------------------------ webhooks
    def parse_webhook(
        self, delivery: WebhookDelivery, config: BaseModel, provider_state: Mapping[str, Any] | None = None
    ) -> WebhookResult:
        return webhooks.parse(delivery, _trello_config(config), dict(provider_state or {}))

    def merge_record(self, stored: Record, incoming: Record) -> Record:
        return webhooks.merge_record(stored, incoming)

    # ------------------------------------------------------------ metrics
    def compute_metrics(
        self,
        records: Mapping[str, list[Record]],
        since: datetime,
        until: datetime,
        now: datetime,
        config: BaseModel,
        params: Mapping[str, str],  # noqa: ARG002 - Trello takes no extra parameter
    ) -> Measured:
        list_ids = _trello_config(config).list_ids
        history = BoardHistory.build(records, Window(since, until), list_ids)  # One read serves both.
        return Measured(
            metrics=compute_trello_metrics(records, since, until, now, list_ids=list_ids, history=history),
            series=compute_trello_series(records, since, until, list_ids=list_ids, history=history),
        )


if TYPE_CHECKING:
    _conforms: ProviderAdapter = TrelloAdapter()
