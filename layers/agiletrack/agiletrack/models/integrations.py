"""Integrations: the stored integration, its API views, and the field types provider configs share.

Each provider's config model lives in its package and is declared by its spec (``ProviderSpec.config_model``);
nothing here names a provider. Credential fields live only in Secrets Manager: the stored item keeps the
non-secret config, and every view masks credentials as ``********``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl

from agiletrack.adapters.providers.registry import PROVIDER_NAMES, spec_for
from agiletrack.models.base import Model
from agiletrack.models.common import UtcDatetime

if TYPE_CHECKING:
    IntegrationType = str
else:
    IntegrationType = Literal[PROVIDER_NAMES]
    """The registered provider names, as a ``Literal`` so the OpenAPI document lists them."""
IntegrationStatus = Literal["pending", "syncing", "active", "error", "failed", "deleting"]
STATUS_MEANING = (
    "pending: no complete sync yet; syncing: a sync is running; active: the last sync completed; "
    "error: the last sync job used up its retries on a rate limit or a provider failure (see last_error): "
    "it is still synced every hour and becomes active again after the next good sync; "
    "failed: the provider refused the credentials: no longer synced until they change (PATCH); "
    "deleting: deleted, its data being removed (never shown: the API answers 404 for it)"
)
MASK = "********"

CREDENTIAL_PATTERN = r"^[\x21-\x7e]+$"
"""A credential is printable ASCII without spaces (it goes into a header): ``credential_problems`` refuses
anything else, in words."""
NonEmpty = Annotated[str, Field(min_length=1, max_length=4096, json_schema_extra={"pattern": CREDENTIAL_PATTERN})]
"""A credential field (the config models strip white space around it first)."""


def _no_userinfo(value: HttpUrl) -> HttpUrl:
    """``https://user:password@host`` would keep a password in the public config (stored, shown in views)."""
    if value.username is not None or value.password is not None:
        raise ValueError("must not contain a user name or password; give credentials in their own fields")
    return value


ProviderUrl = Annotated[HttpUrl, AfterValidator(_no_userinfo)]
"""A URL credentials are sent to. Scheme, port and address are checked where it is called
(``agiletrack.adapters.providers.urls``): https and public, except in local mode."""


def split_credentials(kind: str, config: BaseModel) -> tuple[dict[str, Any], dict[str, str]]:
    """(the config without credentials, as JSON values; the credentials)."""
    data = config.model_dump(mode="json")
    secrets = {f: data.pop(f) for f in spec_for(kind).credential_fields if f in data}
    return data, {k: v for k, v in secrets.items() if v is not None}


def masked(kind: str, public: dict[str, Any], credentials_present: set[str] | None = None) -> dict[str, Any]:
    out = dict(public)
    for field in spec_for(kind).credential_fields:
        if credentials_present is None or field in credentials_present:
            out[field] = MASK
    return out


SyncRunOutcome = Literal["success", "failed", "rate_limited", "partial"]


class LastSync(Model):
    started_at: UtcDatetime
    finished_at: UtcDatetime | None = None
    outcome: Literal["success", "failed", "rate_limited", "partial", "running"]
    records: int = 0
    api_calls: int = 0
    duration_ms: int | None = None
    bytes_received: int | None = Field(default=None, description="Bytes the provider's answers took on the wire")
    peak_memory_mb: float | None = Field(default=None, description="The sync worker's peak memory (resident set)")


class SyncProgress(Model):
    """Where a running sync is: written by the engine with each page's cursor."""

    phase: str | None = Field(
        description="The stream or step the sync is in, in the provider's words (GitHub: pull_requests, commits, "
        "issues; Jira: setup, issues, sprints, reconcile; Trello: actions, snapshot); null before its first page"
    )
    pages: int = Field(description="Pages pulled so far (over every invocation of this sync)")
    records: int = Field(description="Records pulled so far")
    first_sync: bool = Field(
        description="No sync has succeeded yet (new integration or changed scope): it walks the history back to "
        "the backfill start"
    )
    percent: float | None = Field(
        description="First sync only: how much of the time from the backfill start to the sync's start the current "
        "phase has covered (0-100); null for a later sync and for a phase that is not a walk through time"
    )
    oldest: UtcDatetime | None = Field(default=None, description="How far back the phase has reached")
    newest: UtcDatetime | None = Field(default=None, description="How far forward the phase has reached")
    started_at: UtcDatetime = Field(description="When the sync started (its first invocation)")
    updated_at: UtcDatetime | None = Field(default=None, description="When the last page was stored")


class SyncRun(Model):
    """One invocation of the sync worker for an integration, as ``GET /integrations/{id}/syncs`` lists it."""

    started_at: UtcDatetime
    finished_at: UtcDatetime
    outcome: SyncRunOutcome = Field(
        description="success; partial: out of time, continued in a new invocation; rate_limited; failed"
    )
    reason: str = Field(description="Why it ran: created, scheduled, manual, credentials_changed, continuation")
    records_written: int = Field(description="Records stored (new or changed)")
    records_pulled: int = Field(description="Records read from the provider")
    pages: int
    api_calls: int = Field(description="Requests sent to the provider, retries included")
    bytes_received: int = Field(description="Bytes the provider's answers took on the wire")
    duration_ms: int
    peak_memory_mb: float | None = Field(description="The worker's peak memory (resident set) at the end of the run")
    error: str | None = Field(default=None, description="What went wrong, for a failed or rate-limited run")


class SyncRunList(Model):
    items: list[SyncRun] = Field(description="Newest first")
    next_token: str | None = None


class LastError(Model):
    at: UtcDatetime
    kind: Literal["rate_limit", "auth", "other"]
    message: str


WebhookRegistrationState = Literal["registered", "failed", "off"]


class WebhookRegistration(Model):
    """The webhook AgileTrack registered on the provider for the user (providers that declare a
    ``webhook_registrar``). Nothing secret: the provider's webhook id and the URL it calls."""

    state: WebhookRegistrationState = Field(
        description="registered: the provider holds our webhook; failed: the provider refused it or no longer has "
        "it (see reason; the integration is synced every hour meanwhile); off: this config takes no webhooks"
    )
    webhook_id: str | None = Field(default=None, description="The provider's id of the webhook")
    callback_url: str | None = Field(default=None, description="The URL the provider calls (and signs), exactly")
    model_id: str | None = Field(default=None, description="What the webhook watches (a Trello board id)")
    active: bool | None = Field(default=None, description="Whether the provider last said it delivers")
    registered_at: UtcDatetime | None = None
    checked_at: UtcDatetime | None = Field(default=None, description="When the provider was last asked about it")
    reason: str | None = Field(default=None, description="Why it is not registered or not active, if so")
    error_at: UtcDatetime | None = Field(default=None, description="When the last refusal or failure happened")


class Integration(Model):
    """The stored integration (no credentials)."""

    id: str
    team_id: str
    type: str
    """A provider name (``IntegrationType`` for integrations made through the API)."""
    name: str
    status: IntegrationStatus = "pending"
    config: dict[str, Any]
    """Public (non-credential) config fields."""
    credential_fields: list[str] = Field(default_factory=list)
    """Which credential fields are set (so views mask only those)."""
    secret_name: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    last_sync: LastSync | None = None
    last_success_at: UtcDatetime | None = None
    last_error: LastError | None = None
    next_sync_at: UtcDatetime | None = None
    data_changed_at: UtcDatetime | None = None
    """When its records last changed: metrics computed before this are stale."""
    newest_data_at: UtcDatetime | None = None
    """Newest record or webhook held (for data freshness)."""
    api_quota: dict[str, Any] | None = None
    api_response_ms: float | None = None
    generation: int = 0
    """The scope generation: raised by every scope change and by delete; writes of an older one are fenced off."""
    webhook_connected_at: UtcDatetime | None = None
    last_webhook_at: UtcDatetime | None = None
    webhook_registration: WebhookRegistration | None = None
    """The webhook registered on the provider for the user; None for providers where the user sets it up."""
    credentials_set_at: UtcDatetime | None = None
    """When the credentials were last set (creation or a change); None for integrations made before it was kept
    (their ``created_at`` stands in)."""
    provider_state: dict[str, Any] = Field(default_factory=dict)
    """Non-secret facts the sync discovered about the provider site that webhooks also need (for Jira: the
    sprint and estimation field ids, the board id, the user's time zone). Never a credential."""


class WebhookInfo(Model):
    url: str
    secret: str | None = None
    registration: WebhookRegistration | None = Field(
        default=None,
        description="Providers whose webhook AgileTrack registers itself (Trello): whether it is registered and, "
        "if not, why; null where the webhook is set up by hand on the provider (GitHub, Jira)",
    )


class IntegrationView(Model):
    """What the API answers for an integration: credentials masked, never the webhook secret
    (except in the 201 of its creation)."""

    id: str
    team_id: str
    type: IntegrationType
    name: str
    status: IntegrationStatus = Field(description=STATUS_MEANING)
    config: dict[str, Any]
    created_at: UtcDatetime
    updated_at: UtcDatetime
    webhook: WebhookInfo | None = None


class UpdateIntegration(Model):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    config: dict[str, Any] | None = Field(
        default=None,
        description="Part of the config of the integration's type: only the fields that change",
        json_schema_extra=lambda schema: schema.update(anyOf=[*_partial_configs(), {"type": "null"}]),
    )


def _partial_configs() -> list[dict[str, Any]]:
    """Each provider's config schema with every field optional: what a PATCH's ``config`` may hold."""
    partial = []
    for kind in PROVIDER_NAMES:
        schema = spec_for(kind).config_model.model_json_schema()
        schema.pop("required", None)
        schema["title"] = f"Partial{schema.get('title', kind)}"
        partial.append(schema)
    return partial


class IntegrationList(Model):
    items: list[IntegrationView]
    next_token: str | None = None
