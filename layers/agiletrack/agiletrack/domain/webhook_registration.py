"""Webhooks registered on the provider for the user, for providers that declare a ``webhook_registrar``.

- On create, once the integration and its secret exist (the provider may call the webhook URL first, and
  that call must find the integration), the webhook is registered with the integration's webhook URL,
  exactly as the webhooks function verifies it, and the non-secret registration is stored on the
  integration. A refusal (credentials, a 4xx, the provider's check of the URL, a timeout) keeps the
  integration, synced every hour, with the reason in the registration: never an error answer.
- On a config change: re-registered when the login (credentials, identity fields) or the scope changes, the
  old webhook then deleted with the old credentials (best effort: it belongs to the old login); registered
  when the config starts taking webhooks (or a registration had failed); deleted when it stops.
- On delete: the cleanup job deletes it before the secret goes (a failure is logged, never retried forever:
  deliveries to a deleted integration are answered 410, which makes a provider like Trello drop the webhook).
- The status asks the provider again at most every ``CHECK_EVERY`` whether the webhook is still there and
  active.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from agiletrack.adapters.providers.base import Registration, WebhookRegistrar
from agiletrack.adapters.providers.registry import spec_for
from agiletrack.deadline import time_limit
from agiletrack.domain.ports import IntegrationStore, SecretStore
from agiletrack.errors import AgileTrackError
from agiletrack.models.common import utcnow
from agiletrack.models.integrations import Integration, WebhookRegistration
from agiletrack.observability import logger

REGISTRATION_SECONDS = 8.0
"""One limit over a registration's provider requests (and the provider's call back to us), inside an API
request: validation (at most 20 s) and registration stay within API Gateway's 29 s only when both are slow."""
CHECK_SECONDS = 3.0
"""One limit over the status's look at the provider's webhook."""
CHECK_EVERY = timedelta(minutes=10)
GONE_REASON = (
    "The provider no longer has this webhook (it drops webhooks whose deliveries keep failing, and those of a "
    "revoked token); deliveries stopped. PATCH the integration's config to register it again."
)

RegistrarFor = Callable[[str], WebhookRegistrar | None]


def _no_registrar(_kind: str) -> WebhookRegistrar | None:
    return None


def description_of(integration: Integration) -> str:
    """What the provider shows next to the webhook: which integration it serves."""
    return f"AgileTrack integration {integration.name} ({integration.id})"


def _registration(stored: WebhookRegistration) -> Registration | None:
    if stored.state != "registered" or not stored.webhook_id or not stored.callback_url:
        return None
    return Registration(stored.webhook_id, stored.callback_url, stored.model_id or "", bool(stored.active))


class WebhookRegistrations:
    def __init__(
        self,
        *,
        integrations: IntegrationStore,
        secrets: SecretStore,
        registrar_for: RegistrarFor | None = None,
        clock: Callable[[], datetime] = utcnow,
        registration_seconds: float = REGISTRATION_SECONDS,
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        self.integrations = integrations
        self.secrets = secrets
        self.registrar_for = registrar_for or _no_registrar
        self.clock = clock
        self.registration_seconds = registration_seconds
        self.check_seconds = check_seconds

    @staticmethod
    def managed(kind: str) -> bool:
        """Whether AgileTrack registers this provider's webhooks itself (declared in its spec)."""
        return spec_for(kind).webhook_registrar is not None

    # ------------------------------------------------------------ create
    def register(
        self, integration: Integration, config: BaseModel, credentials: Mapping[str, str], callback_url: str
    ) -> WebhookRegistration | None:
        """Register the integration's webhook (or record why not) and store the outcome on it; None for a
        provider whose webhooks the user sets up."""
        registrar = self.registrar_for(integration.type)
        if registrar is None:
            return None
        outcome = self._register(registrar, integration, config, credentials, callback_url)
        self._store(integration.id, outcome)
        return outcome

    def _register(
        self,
        registrar: WebhookRegistrar,
        integration: Integration,
        config: BaseModel,
        credentials: Mapping[str, str],
        callback_url: str,
    ) -> WebhookRegistration:
        off = registrar.wanted(config)
        if off is not None:
            return WebhookRegistration(state="off", reason=off)
        try:
            with time_limit(self.registration_seconds):
                made = registrar.register(config, credentials, callback_url, description_of(integration))
        except AgileTrackError as exc:
            logger.warning(
                "webhook registration refused; the integration is synced without webhooks",
                extra={"integration_id": integration.id, "code": exc.code},
            )
            return WebhookRegistration(
                state="failed", callback_url=callback_url, reason=exc.message, error_at=self.clock()
            )
        now = self.clock()
        logger.info("webhook registered", extra={"integration_id": integration.id, "webhook_id": made.webhook_id})
        return WebhookRegistration(
            state="registered",
            webhook_id=made.webhook_id,
            callback_url=made.callback_url,
            model_id=made.model_id,
            active=made.active,
            registered_at=now,
            checked_at=now,
        )

    # ------------------------------------------------------------ config changes
    def reconcile(
        self,
        integration: Integration,
        *,
        old_config: BaseModel,
        old_credentials: Mapping[str, str],
        config: BaseModel,
        credentials: Mapping[str, str],
        relogin: bool,
        callback_url: str,
    ) -> WebhookRegistration | None:
        """After a config change is stored: re-register when the login or scope changed (``relogin``) or no
        registration holds, delete the old one when it is replaced or the config stops taking webhooks."""
        registrar = self.registrar_for(integration.type)
        if registrar is None:
            return None
        stored = integration.webhook_registration
        old = _registration(stored) if stored is not None else None
        wanted = registrar.wanted(config) is None
        if wanted and old is not None and not relogin:
            return stored
        outcome = self._register(registrar, integration, config, credentials, callback_url)
        if old is not None and not (outcome.state == "registered" and outcome.webhook_id == old.webhook_id):
            self._delete(registrar, integration.id, old_config, old_credentials, old)
        self._store(integration.id, outcome)
        return outcome

    # ------------------------------------------------------------ delete
    def remove(self, integration: Integration, config: BaseModel, credentials: Mapping[str, str]) -> None:
        """Delete the integration's webhook on the provider, best effort (failures are logged)."""
        registrar = self.registrar_for(integration.type)
        stored = integration.webhook_registration
        old = _registration(stored) if stored is not None else None
        if registrar is not None and old is not None:
            self._delete(registrar, integration.id, config, credentials, old)

    def _delete(
        self,
        registrar: WebhookRegistrar,
        integration_id: str,
        config: BaseModel,
        credentials: Mapping[str, str],
        old: Registration,
    ) -> bool:
        try:
            with time_limit(self.registration_seconds):
                registrar.delete(config, credentials, old)
        except AgileTrackError as exc:
            logger.warning(
                "webhook not deleted on the provider; deliveries to it are answered 410",
                extra={"integration_id": integration_id, "webhook_id": old.webhook_id, "code": exc.code},
            )
            return False
        logger.info("webhook deleted", extra={"integration_id": integration_id, "webhook_id": old.webhook_id})
        return True

    # ------------------------------------------------------------ status
    def checked(self, integration: Integration, full_config: Callable[[Mapping[str, str]], BaseModel]) -> Integration:
        """The integration with its registration looked at again on the provider when the last look is older
        than ``CHECK_EVERY`` (stored); unchanged otherwise. ``full_config(credentials)`` builds the config."""
        registrar = self.registrar_for(integration.type)
        stored = integration.webhook_registration
        old = _registration(stored) if stored is not None else None
        now = self.clock()
        if registrar is None or stored is None or old is None:
            return integration
        if stored.checked_at is not None and now - stored.checked_at < CHECK_EVERY:
            return integration
        changes: dict[str, Any] = {"checked_at": now}
        try:
            credentials = {
                k: str(v) for k, v in dict(self.secrets.read(integration.secret_name).get("credentials") or {}).items()
            }
            with time_limit(self.check_seconds):
                found = registrar.check(full_config(credentials), credentials, old)
        except AgileTrackError as exc:
            changes.update(reason=f"Could not ask the provider about the webhook: {exc.message}", error_at=now)
        else:
            if found is None:
                changes.update(state="failed", active=False, reason=GONE_REASON, error_at=now)
            else:
                changes.update(
                    active=found.active, reason=None if found.active else "The provider says it is inactive."
                )
        updated = stored.model_copy(update=changes)
        self._store(integration.id, updated)
        return integration.model_copy(update={"webhook_registration": updated})

    def _store(self, integration_id: str, registration: WebhookRegistration) -> None:
        stored = registration.model_dump(mode="json", exclude_none=True)
        self.integrations.update(integration_id, {"webhook_registration": stored})
