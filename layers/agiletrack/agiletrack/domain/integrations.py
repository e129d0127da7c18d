"""Integrations: create, list, read, update and delete a team's connections to GitHub, Jira and Trello.

- A team sees only its own integrations: another team's id is answered exactly like an unknown one.
- Credentials are tried against the provider before anything is stored; a refusal stores nothing.
- Every credential and the webhook secret live in one Secrets Manager secret per integration,
  ``{"credentials": {...}, "webhook_secret": str | None}``; the stored item keeps the public config, and
  every view masks credentials.

Changing what an integration points at (its *scope*: repository, branch or API root; Jira site, project or
board) makes the data held for it another data set. In one transaction the config changes, the status goes
back to ``pending``, the scope generation goes up and the sync cursor is reset (a running sync keeps its
lease and is fenced off by the generation); a full sync is queued, exactly as for a new integration, and a
cleanup job removes the old scope's records and cached metrics in the background. Other config changes
(Trello ``list_ids``, GitHub ``include_private``) keep the records and only invalidate cached metrics.

A delete marks the integration ``deleting`` and raises its generation (from then on it answers 404 and
nothing syncs it), and leaves its records, cached metrics, secret and items to the cleanup job
(``agiletrack.domain.cleanup``): the API answers at once however much data it holds.
"""

from __future__ import annotations

import re
import secrets as random_secrets
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from agiletrack.adapters.providers.registry import record_types, spec_for
from agiletrack.deadline import time_limit
from agiletrack.domain.jobs import CleanupJob, JobReason, SyncJob
from agiletrack.domain.ports import IntegrationStore, MetricsCache, Queues, RecordStore, SecretStore
from agiletrack.domain.status import STATUS_WINDOW, IntegrationStatusView, build_status
from agiletrack.domain.webhook_registration import RegistrarFor, WebhookRegistrations
from agiletrack.errors import Conflict, CredentialsRequired, NotFound, ProviderError, ValidationFailed
from agiletrack.models.common import new_id, utcnow
from agiletrack.models.integrations import (
    CREDENTIAL_PATTERN,
    MASK,
    Integration,
    IntegrationList,
    IntegrationType,
    IntegrationView,
    SyncRunList,
    UpdateIntegration,
    WebhookInfo,
    masked,
    split_credentials,
)
from agiletrack.observability import logger

WEBHOOK_SECRET_BYTES = 32
QUEUED_WINDOW = timedelta(minutes=15)
"""How long a queued job coalesces further triggers. The job clears its mark when it starts (taking the sync
lease), so this only bounds how long a lost message blocks a new trigger; a duplicate let through after it is
still coalesced by the worker's lease."""
_CREDENTIAL_TEXT = re.compile(CREDENTIAL_PATTERN)
"""Tokens, keys and secrets of all three providers are printable ASCII without spaces; anything else could
never authenticate and must not reach an HTTP header."""
MAX_ID_LENGTH = 100
SECRET_LEASE = timedelta(seconds=30)
"""How long one secret write may hold the lease (a read and a write: well under a second)."""
SECRET_LEASE_WAITS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0)
"""Waits between tries for a lease another writer holds (about 4.5 s in all), then 409."""
VALIDATION_SECONDS = 20.0
"""One limit over all of a validation's provider requests, retries and waits: inside API Gateway's 29 s."""
"""Ids are ``int_`` and 16 hex digits; anything much longer is answered 404 without a read."""
GENERATION_ATTEMPTS = 3
"""A scope change or delete that loses a race with another one re-reads the integration and tries again."""


Validator = Callable[[BaseModel, Mapping[str, str]], object]
"""Tries a full config (credentials included) against the provider; raises ``AuthError``,
``ProviderRefused`` (422) or ``ProviderError`` (502). ``adapter_for(type).validate`` fits."""


def webhook_url(base_url: str, kind: str, integration_id: str) -> str:
    """Where the provider delivers webhooks: ``{base_url}/webhooks/{type}/{id}``."""
    return f"{base_url.rstrip('/')}/webhooks/{kind}/{integration_id}"


def credential_problems(kind: str, config: BaseModel) -> list[tuple[str, str]]:
    """(field, reason) for each credential that cannot be a real one."""
    problems = []
    for field in spec_for(kind).credential_fields:
        value = getattr(config, field, None)
        if isinstance(value, str) and not _CREDENTIAL_TEXT.match(value):
            problems.append((field, "must be printable ASCII without spaces"))
    return problems


def parse_config(kind: str, data: Mapping[str, Any]) -> BaseModel:
    """The config model of ``kind``, or ``ValidationFailed`` naming each bad field as ``config.<path>``."""
    try:
        config = spec_for(kind).config_model.model_validate(dict(data))
    except ValidationError as exc:
        problems = [
            (".".join(str(p) for p in error["loc"]), error["msg"])
            for error in exc.errors(include_url=False, include_input=False)
        ]
    else:
        problems = credential_problems(kind, config)
        if not problems:
            return config
    details = [{"field": f"config.{field}", "reason": reason} for field, reason in problems]
    summary = "; ".join(f"{d['field']}: {d['reason']}" for d in details[:5])
    raise ValidationFailed(f"Invalid request: {summary}", details=details)


def url_origin(url: object) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port filled in for http and https: where a request really goes."""
    parts = urlsplit(str(url or ""))
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"https": 443, "http": 80}.get(scheme)


def require_credentials_for_moved_urls(
    kind: str, old_public: Mapping[str, Any], new_public: Mapping[str, Any], given: Mapping[str, Any], stored: set[str]
) -> None:
    """``CredentialsRequired`` when a URL the credentials are sent to moves to another origin and the request
    does not give every stored credential again (``********`` does not count): a stored credential is never
    sent to a host it was not given for."""
    spec = spec_for(kind)
    moved = [f for f in spec.credential_url_fields if url_origin(old_public.get(f)) != url_origin(new_public.get(f))]
    if not moved:
        return
    missing = [f for f in spec.credential_fields if f in stored and given.get(f) in (None, MASK)]
    if missing:
        where = ", ".join(moved)
        raise CredentialsRequired(
            f"Changing the host of {where} needs the credentials again: give {', '.join(missing)} in this request.",
            details=[
                {"field": f"config.{f}", "reason": f"required when {where} moves to another host"} for f in missing
            ],
        )


def _split(kind: str, config: BaseModel) -> tuple[dict[str, Any], dict[str, str]]:
    """Public config and credentials; unset optional fields are left out, as the store leaves them out."""
    public, credentials = split_credentials(kind, config)
    return {k: v for k, v in public.items() if v is not None}, credentials


class IntegrationService:
    def __init__(
        self,
        *,
        integrations: IntegrationStore,
        records: RecordStore,
        metrics_cache: MetricsCache,
        secrets: SecretStore,
        queues: Queues,
        validators: Mapping[str, Validator],
        record_kinds: Iterable[str] | None = None,
        clock: Callable[[], datetime] = utcnow,
        new_webhook_secret: Callable[[], str] = lambda: random_secrets.token_hex(WEBHOOK_SECRET_BYTES),
        validation_seconds: float = VALIDATION_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        registrar_for: RegistrarFor | None = None,
    ) -> None:
        self.integrations = integrations
        self.records = records
        self.metrics_cache = metrics_cache
        self.secrets = secrets
        self.queues = queues
        self.validators = validators
        self._record_kinds = tuple(record_kinds) if record_kinds is not None else None
        self.clock = clock
        self.new_webhook_secret = new_webhook_secret
        self.validation_seconds = validation_seconds
        self.sleep = sleep
        self.webhooks = WebhookRegistrations(
            integrations=integrations,
            secrets=secrets,
            clock=clock,
            registrar_for=registrar_for,
        )

    @property
    def record_kinds(self) -> tuple[str, ...]:
        """Every record kind an integration may hold (every provider's, from the registry)."""
        return self._record_kinds if self._record_kinds is not None else tuple(record_types())

    # ------------------------------------------------------------ create
    def create(
        self, team_id: str, kind: IntegrationType, config: BaseModel, *, name: str | None, base_url: str
    ) -> IntegrationView:
        """Try the credentials, keep them in a new secret, store the integration, queue its first sync.
        The answer is the only one that shows the webhook secret."""
        public, credentials = _split(kind, config)
        self._try(kind, config, credentials)

        now = self.clock()
        integration_id = new_id("int")
        secret_name = self.secrets.name_for(integration_id)
        webhook_secret = self.new_webhook_secret() if spec_for(kind).generates_webhook_secret else None
        self.secrets.create(
            secret_name,
            {"credentials": credentials, "webhook_secret": webhook_secret},
            tags={"agiletrack:integration": integration_id, "agiletrack:team": team_id},
        )
        integration = Integration(
            id=integration_id,
            team_id=team_id,
            type=kind,
            name=name or spec_for(kind).default_name(public),
            status="pending",
            config=public,
            credential_fields=sorted(credentials),
            secret_name=secret_name,
            created_at=now,
            updated_at=now,
            credentials_set_at=now,
        )
        try:
            self.integrations.create(integration)
        except Exception:
            self._discard_secret(secret_name)
            raise
        logger.info("integration created", extra={"integration_id": integration_id, "type": kind, "team_id": team_id})
        self._queue_first_sync(integration_id)
        # Now that the integration and its secret exist (the provider may call the webhook URL first).
        registration = self.webhooks.register(
            integration, config, credentials, webhook_url(base_url, kind, integration_id)
        )
        if registration is not None:
            integration = integration.model_copy(update={"webhook_registration": registration})
        return self._view(integration, base_url, webhook_secret=webhook_secret)

    # ------------------------------------------------------------ read
    def get(self, team_id: str, integration_id: str, *, base_url: str) -> IntegrationView:
        return self._view(self.owned(team_id, integration_id), base_url)

    def list(self, team_id: str, *, limit: int, next_token: str | None, base_url: str) -> IntegrationList:
        items, token = self.integrations.list_for_team(team_id, limit=limit, next_token=next_token)
        shown = [self._view(i, base_url) for i in items if i.status != "deleting"]
        return IntegrationList(items=shown, next_token=token)

    def status(self, team_id: str, integration_id: str) -> IntegrationStatusView:
        integration = self.owned(team_id, integration_id)
        integration = self.webhooks.checked(
            integration, lambda credentials: self._full_config(integration, credentials)
        )
        now = self.clock()
        events = self.integrations.counters_since(integration.id, now - STATUS_WINDOW)
        state = self.integrations.sync_state(integration.id) if integration.status == "syncing" else None
        return build_status(integration, events, now, state, webhook_managed=self.webhooks.managed(integration.type))

    def syncs(self, team_id: str, integration_id: str, *, limit: int, next_token: str | None) -> SyncRunList:
        """The integration's recent sync runs, newest first."""
        integration = self.owned(team_id, integration_id)
        runs, token = self.integrations.runs(integration.id, limit=limit, next_token=next_token)
        return SyncRunList(items=runs, next_token=token)

    # ------------------------------------------------------------ update
    def update(self, team_id: str, integration_id: str, patch: UpdateIntegration, *, base_url: str) -> IntegrationView:
        """Rename, or change part of the config. A credential given as ``********`` (as a view shows it) keeps
        its current value; ``null`` clears an optional one (Trello ``api_secret``). Changed config is tried
        against the provider first: a refusal changes nothing, and the secret gets a new version only after
        the new credentials passed."""
        integration = self.owned(team_id, integration_id)
        kind = integration.type
        changes: dict[str, Any] = {}
        remove: tuple[str, ...] = ()
        if patch.name is not None and patch.name != integration.name:
            changes["name"] = patch.name
        credentials_changed = scope_changed = config_changed = False
        registration: tuple[BaseModel, dict[str, str], BaseModel, dict[str, str]] | None = None

        if patch.config:
            stored = self.secrets.read(integration.secret_name, fresh=True)
            old_credentials = {k: str(v) for k, v in dict(stored.get("credentials") or {}).items()}
            merged: dict[str, Any] = {**integration.config, **old_credentials}
            for field, value in patch.config.items():
                if field in spec_for(kind).credential_fields and value == MASK:
                    continue
                merged[field] = value
            config = parse_config(kind, merged)
            public, credentials = _split(kind, config)
            require_credentials_for_moved_urls(kind, integration.config, public, patch.config, set(old_credentials))
            identity = spec_for(kind).identity_fields
            credentials_changed = credentials != old_credentials or any(
                public.get(f) != integration.config.get(f) for f in identity
            )
            scope_changed = any(public.get(f) != integration.config.get(f) for f in spec_for(kind).scope_fields)
            config_changed = credentials_changed or public != integration.config
            if config_changed:
                self._try(kind, config, credentials)
            registration = (self._full_config(integration, old_credentials), old_credentials, config, credentials)
            if credentials != old_credentials:
                self._change_secret(integration, lambda current: {**current, "credentials": credentials})
                changes["credentials_set_at"] = self.clock()
            if config_changed:
                changes["config"] = public
                changes["credential_fields"] = sorted(credentials)
                changes["data_changed_at"] = self.clock()  # metrics computed before this are stale
            if scope_changed:
                changes["status"] = "pending"
                remove = (
                    "last_sync",
                    "last_success_at",
                    "last_error",
                    "next_sync_at",
                    "newest_data_at",
                    "webhook_connected_at",
                    "last_webhook_at",
                )

        if not changes:
            if registration is not None and self._registration_due(integration):
                self._reconcile_webhook(integration, registration, relogin=False, base_url=base_url)
                return self._view(self.owned(team_id, integration_id), base_url)
            return self._view(integration, base_url)
        changes["updated_at"] = self.clock()
        if scope_changed:
            generation = self._change_scope(team_id, integration, changes, remove)
            self._queue_cleanup(integration.id)
            job = SyncJob.new(integration.id, "created", self.clock(), generation=generation)
            self.queues.send_sync_job(job.body())
        elif not self.integrations.update(integration.id, changes, remove=remove):
            raise NotFound(f"No integration {integration_id}.")
        elif credentials_changed:
            self.integrations.update(integration.id, {"status": "pending"}, only_if_status=("failed",))
            self.metrics_cache.delete_all(integration.id)
            self._queue(integration.id, "credentials_changed")
        elif config_changed:
            self.metrics_cache.delete_all(integration.id)
        if registration is not None:
            relogin = credentials_changed or scope_changed
            if relogin or config_changed or self._registration_due(integration):
                self._reconcile_webhook(integration, registration, relogin=relogin, base_url=base_url)
        logger.info(
            "integration updated",
            extra={
                "integration_id": integration.id,
                "fields": sorted(changes),
                "credentials_changed": credentials_changed,
                "scope_changed": scope_changed,
            },
        )
        return self._view(self.owned(team_id, integration_id), base_url)

    def rotate_webhook_secret(self, team_id: str, integration_id: str) -> str:
        """A new webhook secret (a new version of the integration's secret); shown in this answer only."""
        integration = self.owned(team_id, integration_id)
        spec = spec_for(integration.type)
        if not spec.generates_webhook_secret:
            raise Conflict(
                f"{integration.type} signs webhooks with one of the integration's credentials, so there is no webhook "
                f"secret to rotate; change it ({', '.join(spec.credential_fields)}) with PATCH /integrations/{{id}}."
            )
        webhook_secret = self.new_webhook_secret()
        self._change_secret(integration, lambda current: {**current, "webhook_secret": webhook_secret})
        self.integrations.update(integration.id, {"updated_at": self.clock()})
        logger.info("webhook secret rotated", extra={"integration_id": integration.id})
        return webhook_secret

    # ------------------------------------------------------------ delete
    def delete(self, team_id: str, integration_id: str) -> None:
        """Mark the integration ``deleting`` under a new generation (it reads as 404 from now on, and no sync
        or webhook of it writes anything more) and queue its cleanup job, which removes its records, cached
        metrics, secret and, last, the integration itself."""
        integration = self.owned(team_id, integration_id)
        self._change_scope(team_id, integration, {"status": "deleting", "updated_at": self.clock()}, ())
        self._queue_cleanup(integration.id)
        logger.info("integration deleted", extra={"integration_id": integration.id, "team_id": team_id})

    # ------------------------------------------------------------ sync
    def trigger_sync(self, team_id: str, integration_id: str) -> bool:
        """Queue a manual sync; False when it was coalesced into one already queued or running."""
        integration = self.owned(team_id, integration_id)
        return self._queue(integration.id, "manual")

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _full_config(integration: Integration, credentials: Mapping[str, str]) -> BaseModel:
        """The stored config with its credentials, as the provider code takes it (not validated again)."""
        model = spec_for(integration.type).config_model
        return model.model_construct(**{**integration.config, **credentials})

    def _registration_due(self, integration: Integration) -> bool:
        """A provider that registers its webhooks, whose integration holds no registered one."""
        stored = integration.webhook_registration
        return self.webhooks.managed(integration.type) and (stored is None or stored.state != "registered")

    def _reconcile_webhook(
        self,
        integration: Integration,
        registration: tuple[BaseModel, dict[str, str], BaseModel, dict[str, str]],
        *,
        relogin: bool,
        base_url: str,
    ) -> None:
        if not self.webhooks.managed(integration.type):
            return
        old_config, old_credentials, config, credentials = registration
        current = self.integrations.get(integration.id) or integration
        self.webhooks.reconcile(
            current,
            old_config=old_config,
            old_credentials=old_credentials,
            config=config,
            credentials=credentials,
            relogin=relogin,
            callback_url=webhook_url(base_url, integration.type, integration.id),
        )

    def owned(self, team_id: str, integration_id: str) -> Integration:
        """The team's integration; another team's id is answered exactly like an unknown one (404)."""
        known_shape = 0 < len(integration_id) <= MAX_ID_LENGTH
        integration = self.integrations.get(integration_id) if known_shape else None
        if integration is None or integration.team_id != team_id or integration.status == "deleting":
            raise NotFound(f"No integration {integration_id}.")
        return integration

    def _try(self, kind: str, config: BaseModel, credentials: Mapping[str, str]) -> None:
        validator = self.validators.get(kind)
        if validator is None:
            raise ProviderError(f"{kind} credentials cannot be checked right now; try again later.")
        with time_limit(self.validation_seconds):  # the provider client keeps it (ProviderTimeout, 502)
            validator(config, credentials)

    def _change_secret(self, integration: Integration, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """The one way to write an integration's secret: under its secret lease, ``change`` is applied to a
        fresh read and the result written, so two writers (a credential change and a webhook-secret rotation)
        never lose each other's change. ``Conflict`` (409) when the lease stays taken."""
        owner = new_id("secretwrite")
        for wait in (*SECRET_LEASE_WAITS, None):
            if self.integrations.acquire_secret_lease(integration.id, owner, self.clock(), ttl=SECRET_LEASE):
                try:
                    current = self.secrets.read(integration.secret_name, fresh=True)
                    self.secrets.write(integration.secret_name, change(current))
                finally:
                    self.integrations.release_secret_lease(integration.id, owner)
                return
            if wait is not None:
                self.sleep(wait)
        raise Conflict("Another change of this integration's secret is in progress; try again in a moment.")

    def _queue(self, integration_id: str, reason: JobReason) -> bool:
        now = self.clock()
        if not self.integrations.mark_queued(integration_id, now, window=QUEUED_WINDOW):
            logger.info("sync already queued or running; coalesced", extra={"integration_id": integration_id})
            return False
        self.queues.send_sync_job(SyncJob.new(integration_id, reason, now).body())
        return True

    def _queue_first_sync(self, integration_id: str) -> None:
        """A stored integration is not undone because its first job could not be sent: the hourly schedule
        picks it up. Its fresh sync state (only the queued mark) is cleared so that nothing waits for it."""
        try:
            self._queue(integration_id, "created")
        except Exception:
            logger.exception("first sync job not sent; the schedule will pick it up", extra={"id": integration_id})
            self.integrations.reset_sync_state(integration_id)

    def _change_scope(
        self, team_id: str, integration: Integration, changes: dict[str, Any], remove: tuple[str, ...]
    ) -> int:
        """Apply ``changes`` under a new generation (with the cursor reset, atomically); the new generation.
        A concurrent scope change or delete makes the write fail: re-read and try again."""
        for _ in range(GENERATION_ATTEMPTS):
            if self.integrations.change_scope(
                integration.id, changes, remove=remove, generation=integration.generation
            ):
                return integration.generation + 1
            integration = self.owned(team_id, integration.id)  # 404 once it is gone or being deleted
        raise Conflict("The integration is being changed by another request; try again.")

    def _queue_cleanup(self, integration_id: str) -> None:
        """The change is already stored: a cleanup job that cannot be sent now is sent by the scheduler
        (integrations left ``deleting``) or left to the next scope change (older records stay unread)."""
        try:
            self.queues.send_sync_job(CleanupJob(integration_id=integration_id, requested_at=self.clock()).body())
        except Exception:
            logger.exception("cleanup job not sent", extra={"integration_id": integration_id})

    def _discard_secret(self, name: str) -> None:
        try:
            self.secrets.delete(name)
        except Exception:
            logger.exception("secret of an integration that was not stored could not be deleted", extra={"name": name})

    @staticmethod
    def _view(integration: Integration, base_url: str, *, webhook_secret: str | None = None) -> IntegrationView:
        return IntegrationView(
            id=integration.id,
            team_id=integration.team_id,
            type=integration.type,
            name=integration.name,
            status=integration.status,
            config=masked(integration.type, integration.config, set(integration.credential_fields)),
            created_at=integration.created_at,
            updated_at=integration.updated_at,
            webhook=WebhookInfo(
                url=webhook_url(base_url, integration.type, integration.id),
                secret=webhook_secret,
                registration=integration.webhook_registration,
            ),
        )
