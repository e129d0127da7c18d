"""What shared code needs to know about a provider, declared once in the provider's package.

Each provider package has a light ``spec.py`` (it imports only its own config model and record types: no
HTTP client, no adapter) that exports ``SPEC = ProviderSpec(...)``. The registry reads these, so every
function knows every provider's record kinds, credential fields and config model without importing an
adapter; the adapter itself is imported only where it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from agiletrack.models.records import Record

Validator = Callable[["BaseModel", Mapping[str, str]], object]
"""Tries a full config (credentials included) against the provider; raises ``AuthError``, ``ProviderRefused``
or ``ProviderError``."""
ValidatorFactory = Callable[[float], Validator]
"""Makes a provider's ``Validator`` with a per-request timeout in seconds."""


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    """The integration type (``POST /integrations`` ``type``) and the path segment of its webhooks."""
    config_model: type[BaseModel]
    """The full config, credentials included, as the API accepts it."""
    credential_fields: tuple[str, ...]
    """Config fields that are credentials: kept in Secrets Manager, masked everywhere else."""
    scope_fields: tuple[str, ...]
    """Public config fields that choose which data is pulled: changing one starts the data set over."""
    default_name: Callable[[Mapping[str, Any]], str]
    """The integration's name when the request gives none, from its public config."""
    record_types: tuple[type[Record], ...]
    """Every record type the provider stores; their kinds are unique across all providers."""
    generates_webhook_secret: bool
    """True when we generate the webhook secret; False when the provider signs with one of the credentials
    (there is then no webhook secret to rotate)."""
    credential_url_fields: tuple[str, ...] = ()
    """Public config fields naming where the credentials are sent. Moving one to another origin (scheme, host,
    port) needs the credentials given again."""
    identity_fields: tuple[str, ...] = ()
    """Public config fields that are part of the login: changing one counts as a credential change."""
    metric_params: Mapping[str, str] = field(default_factory=dict)
    """Extra query parameters of ``GET /integrations/{id}/metrics`` (name to description), passed to the
    adapter's ``compute_metrics``; other query parameters are not."""
    signature_headers: tuple[str, ...] = ()
    """Lower-cased webhook headers that carry a signature: redacted from logs."""
    adapter: str | None = None
    """``"module:Class"`` of the ``ProviderAdapter``, imported on first use; None while the provider has none
    (then syncing, webhooks and metrics answer ``UnsupportedProvider``)."""
    validator: str | None = None
    """``"module:function"``: ``function(timeout)`` returns the callable that tries a full config and its
    credentials against the provider before anything is stored (see ``domain.integrations.Validator``)."""
    metrics_model: str | None = None
    """``"module:Class"`` of the pydantic model of the ``metrics`` object its calculator answers (for the OpenAPI
    document; imported by the API function only). None: the answer's ``metrics`` is documented as any object."""
    series_model: str | None = None
    """``"module:Class"`` of the model of its ``series`` object (weekly series for charts), if it has one."""

    webhook_registrar: str | None = None
    """``"module:Class"`` of a ``WebhookRegistrar`` (``base.py``), imported on first use: the provider's webhook
    is registered through its API when an integration is created, re-registered when its login or scope
    changes and deleted with it. Deliveries to a deleted integration of such a provider are answered
    ``410 Gone`` (a provider that drops webhooks answered 410, as Trello does, cleans up orphans itself).
    None when the user sets the webhook up by hand on the provider (with the URL and secret we give)."""

    @property
    def record_kinds(self) -> tuple[str, ...]:
        return tuple(t.kind for t in self.record_types)
