"""Integrations: provider configurations (request side), the stored integration, and its API views.

Credential fields live only in Secrets Manager: the stored item keeps the non-secret config, and
every view masks credentials as ``********``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from agiletrack.models.common import UtcDatetime

IntegrationType = Literal["github", "jira", "trello"]
IntegrationStatus = Literal["pending", "syncing", "active", "error", "failed", "deleting"]
STATUS_MEANING = (
    "pending: no complete sync yet; syncing: a sync is running; active: the last sync completed; "
    "error: the last sync job used up its retries on a rate limit or a provider failure (see last_error): "
    "it is still synced every hour and becomes active again after the next good sync; "
    "failed: the provider refused the credentials: no longer synced until they change (PATCH); "
    "deleting: deleted, its data being removed (never shown: the API answers 404 for it)"
)
MASK = "********"

_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_BRANCH_FORBIDDEN = re.compile(r"(\.\.|[\x00-\x20~^:?*\[\\]|@\{|//|^/|/$|\.lock$|\.$)")
_JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,49}$")
_TRELLO_ID = re.compile(r"^[0-9a-fA-F]{24}$")

NonEmpty = Annotated[str, Field(min_length=1, max_length=4096)]


def _no_userinfo(value: HttpUrl) -> HttpUrl:
    """``https://user:password@host`` would keep a password in the public config (stored, shown in views)."""
    if value.username is not None or value.password is not None:
        raise ValueError("must not contain a user name or password; give credentials in their own fields")
    return value


ProviderUrl = Annotated[HttpUrl, AfterValidator(_no_userinfo)]
"""A URL credentials are sent to. Scheme, port and address are checked where it is called
(``agiletrack.adapters.providers.urls``): https and public, except in local mode."""


class GitHubConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    repository: str = Field(description='"owner/name"', examples=["octo-org/octo-repo"])
    token: NonEmpty = Field(description="A GitHub token that can read the repository (kept in Secrets Manager)")
    branch: str = Field(default="main", min_length=1, max_length=255)
    include_private: bool = False
    api_url: ProviderUrl = Field(
        default=HttpUrl("https://api.github.com"),
        description="REST API root; a GitHub Enterprise Server root such as https://ghe.example.com/api/v3 works too",
    )

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not _REPO.match(value) or value.endswith((".git",)):
            raise ValueError('must be "owner/name", for example "octo-org/octo-repo"')
        return value

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        if _BRANCH_FORBIDDEN.search(value):
            raise ValueError("is not a valid git branch name")
        return value

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repository.split("/", 1)[1]

    @property
    def rest_root(self) -> str:
        return str(self.api_url).rstrip("/")

    @property
    def graphql_url(self) -> str:
        """``https://api.github.com/graphql``; on GitHub Enterprise Server ``https://HOST/api/graphql``."""
        root = self.rest_root
        if root.endswith("/api/v3"):
            return root[: -len("/v3")] + "/graphql"
        return root + "/graphql"


class JiraConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    server_url: ProviderUrl = Field(description="https://your-site.atlassian.net")
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    api_token: NonEmpty
    project_key: str
    board_id: int | None = Field(default=None, ge=1)

    @field_validator("project_key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _JIRA_KEY.match(value):
            raise ValueError("must be a Jira project key such as ENG")
        return value

    @property
    def root(self) -> str:
        return str(self.server_url).rstrip("/")


class TrelloConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    api_key: NonEmpty
    api_token: NonEmpty
    board_id: str = Field(min_length=1, max_length=64)
    list_ids: list[str] = Field(min_length=2, max_length=50, description="The workflow in order: waiting ... done")
    api_secret: str | None = Field(default=None, description="Trello application secret, to verify webhook signatures")

    @field_validator("list_ids")
    @classmethod
    def _lists(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a list id")
        for list_id in value:
            if not _TRELLO_ID.match(list_id):
                raise ValueError(f"{list_id!r} is not a Trello list id (24 hex characters)")
        return value


ProviderConfig = GitHubConfig | JiraConfig | TrelloConfig
CONFIG_MODELS: dict[str, type[BaseModel]] = {
    "github": GitHubConfig,
    "jira": JiraConfig,
    "trello": TrelloConfig,
}
CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    "github": ("token",),
    "jira": ("api_token",),
    "trello": ("api_key", "api_token", "api_secret"),
}
CREDENTIAL_URL_FIELDS: dict[str, tuple[str, ...]] = {
    "github": ("api_url",),
    "jira": ("server_url",),
    "trello": (),
}
"""Public config fields naming where the credentials are sent (Trello's API root comes from the environment
only). Moving one to another origin (scheme, host, port) needs the credentials given again."""


def split_credentials(kind: str, config: BaseModel) -> tuple[dict[str, Any], dict[str, str]]:
    """(the config without credentials, as JSON values; the credentials)."""
    data = config.model_dump(mode="json")
    secrets = {f: data.pop(f) for f in CREDENTIAL_FIELDS[kind] if f in data}
    return data, {k: v for k, v in secrets.items() if v is not None}


def join_credentials(kind: str, public: dict[str, Any], credentials: dict[str, str]) -> BaseModel:
    """The full config model from its stored public part and its secret part."""
    return CONFIG_MODELS[kind].model_validate({**public, **credentials})


def masked(kind: str, public: dict[str, Any], credentials_present: set[str] | None = None) -> dict[str, Any]:
    out = dict(public)
    for field in CREDENTIAL_FIELDS[kind]:
        if credentials_present is None or field in credentials_present:
            out[field] = MASK
    return out


class LastSync(BaseModel):
    started_at: UtcDatetime
    finished_at: UtcDatetime | None = None
    outcome: Literal["success", "failed", "rate_limited", "partial", "running"]
    records: int = 0
    api_calls: int = 0
    duration_ms: int | None = None


class LastError(BaseModel):
    at: UtcDatetime
    kind: Literal["rate_limit", "auth", "other"]
    message: str


class Integration(BaseModel):
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
    provider_state: dict[str, Any] = Field(default_factory=dict)
    """Non-secret facts the sync discovered about the provider site that webhooks also need (for Jira: the
    sprint and estimation field ids, the board id, the user's time zone). Never a credential."""


class WebhookInfo(BaseModel):
    url: str
    secret: str | None = None


class IntegrationView(BaseModel):
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


class CreateIntegration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: IntegrationType
    name: str | None = Field(default=None, min_length=1, max_length=100)
    config: dict[str, Any]

    @model_validator(mode="after")
    def _config_matches_type(self) -> CreateIntegration:
        CONFIG_MODELS[self.type].model_validate(self.config)
        return self


class UpdateIntegration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    config: dict[str, Any] | None = None


class IntegrationList(BaseModel):
    items: list[IntegrationView]
    next_token: str | None = None
