"""Typed domain errors. One place maps them to HTTP answers (api) and one to retry decisions (sync)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class AgileTrackError(Exception):
    """Base class: every error carries a stable machine code and a human message."""

    code = "error"
    status = 500

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(AgileTrackError):
    code = "not_found"
    status = 404


class Gone(NotFound):
    """The thing existed and will not come back (a webhook URL of a deleted integration of a provider that
    registers its webhooks: the provider drops a webhook answered 410)."""

    code = "gone"
    status = 410


class ValidationFailed(AgileTrackError):
    code = "validation_failed"
    status = 422


class CredentialsRequired(ValidationFailed):
    """A change that sends the stored credentials somewhere new (another host) must carry them again."""

    code = "credentials_required"


class InvalidPayload(ValidationFailed):
    """A request body that is not what its sender sends (a signed webhook body that is not JSON): 400."""

    code = "invalid_payload"
    status = 400


class Conflict(AgileTrackError):
    code = "conflict"
    status = 409


class Unauthorized(AgileTrackError):
    code = "unauthorized"
    status = 401


class UnsupportedProvider(AgileTrackError):
    """A provider whose sync, webhooks or metrics this version does not have yet (its credentials can
    still be validated and kept)."""

    code = "provider_not_supported"
    status = 422


class PayloadTooLarge(AgileTrackError):
    code = "payload_too_large"
    status = 413


class DependencyUnavailable(AgileTrackError):
    """An AWS service we depend on (DynamoDB, SQS, S3, Secrets Manager) throttled, failed or could not be reached
    after the SDK's own retries: not the client's fault, and worth trying again (a provider redelivers a webhook
    answered 5xx)."""

    code = "dependency_unavailable"
    status = 503


class ProviderError(AgileTrackError):
    """A provider failed in a way that is neither auth nor rate limit (network, 5xx, bad answer)."""

    code = "provider_error"
    status = 502
    kind = "other"


class ProviderRefused(AgileTrackError):
    """The provider answered, and the answer is a refusal the user can fix (not found, no access...)."""

    status = 422

    def __init__(self, code: str, message: str, *, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.code = code


class AuthError(ProviderError):
    """The provider refused the credentials: do not retry until they change."""

    code = "provider_auth_failed"
    status = 422
    kind = "auth"


class RateLimitError(ProviderError):
    """The provider's rate limit is spent: retry no sooner than ``retry_at``."""

    code = "provider_rate_limited"
    status = 429
    kind = "rate_limit"

    def __init__(self, message: str, *, retry_at: datetime | None = None, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_at = retry_at


class TransientProviderError(ProviderError):
    """A network failure or a 502/503/504: retried in place with backoff before it counts."""

    code = "provider_unavailable"


class ProviderTimeout(TransientProviderError):
    """The time allowed for the whole exchange with the provider ran out (for example a server that answers
    one byte at a time)."""

    code = "provider_timeout"


class Superseded(Exception):
    """A write of a sync or webhook was fenced off: the integration's scope generation moved on (a scope
    change or a delete), or another worker holds the sync lease. The writer stops; nothing is retried."""
