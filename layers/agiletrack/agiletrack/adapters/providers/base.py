"""The one interface every provider implements, and the data that crosses it.

Adding a provider (GitLab, say) is one new package here: its config model, record types, pull, webhooks,
validator and metric calculator, a ``spec.py`` declaring what shared code needs (``ProviderSpec``), an adapter
implementing ``ProviderAdapter``, and one line in ``registry.py``; the pipeline (sync worker, webhooks, event
processor, API) does not change.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from agiletrack.adapters.providers.deliveries import WebhookChecks, WebhookDelivery, WebhookSecrets, header_value

__all__ = [
    "ApiStats",
    "Measured",
    "ProviderAdapter",
    "PullContext",
    "PullPage",
    "PullProgress",
    "Registration",
    "ValidationInfo",
    "WebhookChecks",
    "WebhookDelivery",
    "WebhookRegistrar",
    "WebhookResult",
    "WebhookSecrets",
    "header_value",
]

if TYPE_CHECKING:  # annotations only: the webhooks function uses the dataclasses here and loads no pydantic
    from pydantic import BaseModel

    from agiletrack.metrics.stats import WeekValue
    from agiletrack.models.records import Record


@dataclass
class ApiStats:
    """What one sync asked of the provider: calls, their latency, and the quota as last reported."""

    calls: int = 0
    response_ms: list[float] = field(default_factory=list)
    quota_limit: int | None = None
    quota_remaining: int | None = None
    quota_reset_at: datetime | None = None
    points_spent: int = 0
    """Rate-limit points spent (GitHub GraphQL ``rateLimit.cost``); equals calls for REST."""
    bytes_received: int = 0
    """Bytes of the provider's answers as they came over the wire (before decompression), retries included."""
    clock_offset: timedelta | None = None
    """The provider's clock less ours, from the ``Date`` header of its last answer that had one (rounded up: the
    header is in whole seconds, so its clock may be up to a second later than it says); zero when they agree
    within ``http.CLOCK_TOLERANCE``."""

    def provider_now(self, now: datetime) -> datetime:
        """``now`` (ours, or an injected clock's) on the provider's clock, as far as its answers told; ``now`` when
        none had a ``Date``. For what must be compared with the provider's own timestamps: a tombstone newer than
        the last change the provider stamped, a date relative to its now."""
        return now + self.clock_offset if self.clock_offset is not None else now

    def quota(self) -> dict[str, Any] | None:
        if self.quota_limit is None and self.quota_remaining is None:
            return None
        return {
            "limit": self.quota_limit,
            "remaining": self.quota_remaining,
            "reset_at": self.quota_reset_at.isoformat().replace("+00:00", "Z") if self.quota_reset_at else None,
        }


@dataclass
class PullContext:
    """Everything a pull needs. ``cursor`` is the adapter's own JSON state, stored between pages."""

    integration_id: str
    config: BaseModel
    credentials: Mapping[str, str]
    cursor: dict[str, Any]
    backfill_since: datetime
    """Start of history for a first sync (``BACKFILL_DAYS`` before now)."""
    stats: ApiStats = field(default_factory=ApiStats)
    provider_state: dict[str, Any] = field(default_factory=dict)
    """Non-secret facts about the provider site that the sync discovered and webhooks also need (the
    integration's ``provider_state``, as stored)."""


@dataclass(frozen=True)
class PullProgress:
    """Where a pull is, as a page declares it (the engine turns it into the status's ``progress``).

    ``phase`` names the stream or step the page belongs to (``pull_requests``, ``issues``, ``sprints``...).
    A stream read newest first sets ``oldest``: how far back it has reached; one read oldest first sets
    ``newest``: how far forward it has reached. A step that is not a walk through time sets neither."""

    phase: str
    oldest: datetime | None = None
    newest: datetime | None = None


@dataclass
class PullPage:
    """One page of a pull: the records, and the cursor to store once they are stored."""

    records: list[Record]
    cursor: dict[str, Any]
    done: bool = False
    """True on the last page of this sync: the cursor is the starting point of the next sync."""
    provider_state: dict[str, Any] | None = None
    """New provider state to keep on the integration (stored with the page); None leaves it unchanged."""
    progress: PullProgress | None = None
    """Where the pull is after this page (optional: without it the status shows pages and records only)."""


@dataclass
class WebhookResult:
    """What a delivery means for us."""

    event: str
    """The provider's event name, for counting (``pull_request``, ``jira:issue_updated``, ...)."""
    records: list[Record] = field(default_factory=list)
    ignored: bool = False
    """Accepted but unused: an event type we do not measure, or about another repository or board."""
    connected: bool = False
    """A ping / handshake: the webhook is connected."""
    needs_refresh: bool = False
    """Some records are incomplete (for example commit sizes): the processor should fill them in."""


@dataclass
class Measured:
    """What a calculator answers for one window: the ``metrics`` object and the ``series`` object (weekly series
    for charts, each counted by the rule of the total it splits), computed together so that a provider reads its
    records once for both."""

    metrics: dict[str, Any]
    series: dict[str, list[WeekValue]]


@dataclass
class ValidationInfo:
    """What validating credentials learned that is worth keeping (for example the default branch)."""

    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Registration:
    """A webhook we registered on the provider for an integration: nothing secret."""

    webhook_id: str
    """The provider's id of the webhook (to read or delete it later)."""
    callback_url: str
    """Where the provider delivers: exactly the URL given at registration (some providers sign it)."""
    model_id: str
    """What the webhook watches, as the provider names it (a Trello board's id)."""
    active: bool
    """Whether the provider says it delivers."""


class WebhookRegistrar(Protocol):
    """Implemented by providers whose webhooks are created through their API rather than by the user
    (``ProviderSpec.webhook_registrar``). Methods raise the typed errors of ``agiletrack.errors``: ``AuthError``,
    ``ProviderRefused`` (the provider refused the webhook: its message says why), ``RateLimitError``,
    ``ProviderError`` / ``ProviderTimeout``."""

    def wanted(self, config: BaseModel) -> str | None:
        """None when this config takes webhooks; else why it does not (shown in the status)."""
        ...

    def register(
        self, config: BaseModel, credentials: Mapping[str, str], callback_url: str, description: str
    ) -> Registration:
        """Create the webhook (the provider may call ``callback_url`` before it answers)."""
        ...

    def delete(self, config: BaseModel, credentials: Mapping[str, str], registration: Registration) -> None:
        """Delete it; one the provider no longer has counts as deleted."""
        ...

    def check(
        self, config: BaseModel, credentials: Mapping[str, str], registration: Registration
    ) -> Registration | None:
        """The webhook as the provider holds it now (``active`` read again); None when it is gone."""
        ...


class ProviderAdapter(WebhookChecks, Protocol):
    """Implemented once per provider; its webhook checks come from its ``intake.py``. Methods raise the typed
    errors of ``agiletrack.errors``: ``AuthError`` (credentials refused), ``RateLimitError`` (with ``retry_at``),
    ``ProviderRefused`` (a refusal the user can fix: not found, no access), ``ProviderError`` (anything else)."""

    provider: ClassVar[str]
    """The integration type this adapter serves (its ``ProviderSpec.name``)."""
    config_model: ClassVar[type[BaseModel]]
    credential_fields: ClassVar[tuple[str, ...]]
    """Config fields that are credentials: kept in Secrets Manager, masked everywhere else."""
    record_types: ClassVar[tuple[type[Record], ...]]
    signs_webhooks_with_generated_secret: ClassVar[bool]
    """True when we generate the webhook secret; False when the provider signs with one of the credentials."""
    snapshot_kinds: ClassVar[tuple[str, ...]]
    """Record kinds the metrics read whole, whatever the window (state now, histories that reach before
    it); every other kind is read for the window only. ``()`` when every kind is windowed."""

    def validate(self, config: BaseModel, credentials: Mapping[str, str]) -> ValidationInfo:
        """Try the credentials against the provider before anything is stored."""
        ...

    def pull(self, ctx: PullContext) -> Iterator[PullPage]:
        """Everything changed since ``ctx.cursor`` (or the backfill start), page by page, resumable:
        a sync that stops after any page and starts again from that page's cursor pulls no page twice
        and misses nothing."""
        ...

    def parse_webhook(
        self, delivery: WebhookDelivery, config: BaseModel, provider_state: Mapping[str, Any]
    ) -> WebhookResult:
        """Turn a verified delivery into normalized records. ``provider_state`` is the integration's
        (what its sync discovered about the site; ``{}`` before the first sync)."""
        ...

    def merge_record(self, stored: Record, incoming: Record) -> Record:
        """What to store when a webhook's record meets the stored one of the same kind and id: ``incoming``
        itself when it carries everything, else ``incoming`` completed with what only ``stored`` knows (a
        payload that lacks fields the sync filled in must not erase them)."""
        ...

    def refresh(self, config: BaseModel, credentials: Mapping[str, str], records: list[Record]) -> list[Record]:
        """Complete records a webhook left incomplete (``WebhookResult.needs_refresh``)."""
        ...

    def compute_metrics(
        self,
        records: Mapping[str, list[Record]],
        since: datetime,
        until: datetime,
        now: datetime,
        config: BaseModel,
        params: Mapping[str, str],
    ) -> Measured:
        """The ``metrics`` and ``series`` objects of ../shared/METRICS.md for this provider."""
        ...
