"""Which providers exist, what each declares, and which adapter serves each.

Adding a provider is a line in ``_SPECS`` (its name and its package's spec module, see
``agiletrack.adapters.providers.spec``) and one in ``_INTAKES`` (its webhook checks). Spec modules are light
(config models and record types), so any function can ask for every provider's record kinds or credential
fields; adapters are imported on first use, so a function only loads the adapters it serves; the webhooks
function loads only intakes, which import no pydantic.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from agiletrack.errors import UnsupportedProvider

if TYPE_CHECKING:  # the webhooks function imports this module for the intakes alone, not base.py or spec.py
    from agiletrack.adapters.providers.base import ProviderAdapter, WebhookRegistrar
    from agiletrack.adapters.providers.deliveries import WebhookChecks
    from agiletrack.adapters.providers.spec import ProviderSpec, ValidatorFactory
    from agiletrack.models.records import Record

_SPECS: dict[str, str] = {
    "github": "agiletrack.adapters.providers.github.spec",
    "jira": "agiletrack.adapters.providers.jira.spec",
    "trello": "agiletrack.adapters.providers.trello.spec",
}
_INTAKES: dict[str, str] = {
    "github": "agiletrack.adapters.providers.github.intake:GitHubIntake",
    "jira": "agiletrack.adapters.providers.jira.intake:JiraIntake",
    "trello": "agiletrack.adapters.providers.trello.intake:TrelloIntake",
}
"""Each built-in provider's ``WebhookChecks``, imported without its spec: a spec holds pydantic models, and the
webhooks function needs none of them."""
PROVIDER_NAMES: tuple[str, ...] = tuple(_SPECS)
"""The integration types the API accepts."""
_EXTRA: dict[str, ProviderSpec] = {}


def register_extra(spec: ProviderSpec) -> None:
    """Add a provider from outside this package, with no adapter lookup of its own (the tests' fake provider):
    its record kinds become known to the record store. Registering the same spec again changes nothing;
    ``ValueError`` for another spec of a registered name or a record kind another provider declares."""
    if spec.name in _SPECS or _EXTRA.get(spec.name, spec) != spec:
        raise ValueError(f"Provider {spec.name!r} is already registered.")
    _kinds_of([s for s in specs() if s.name != spec.name] + [spec])
    _EXTRA[spec.name] = spec
    record_types.cache_clear()


@functools.cache
def _builtin_spec(name: str) -> ProviderSpec:
    from agiletrack.adapters.providers.spec import ProviderSpec

    spec = importlib.import_module(_SPECS[name]).SPEC
    if not isinstance(spec, ProviderSpec) or spec.name != name:
        raise TypeError(f"{_SPECS[name]}.SPEC is not the ProviderSpec of {name!r}")
    return spec


def spec_for(name: str) -> ProviderSpec:
    """What provider ``name`` declares; ``UnsupportedProvider`` for a provider nobody registered."""
    if name in _SPECS:
        return _builtin_spec(name)
    if name in _EXTRA:
        return _EXTRA[name]
    raise UnsupportedProvider(f"There is no provider {name!r}.", details={"providers": list(_SPECS)})


def specs() -> tuple[ProviderSpec, ...]:
    """Every registered provider's spec, built-in ones first, in registration order."""
    return (*(_builtin_spec(name) for name in _SPECS), *_EXTRA.values())


@functools.cache
def record_types() -> Mapping[str, type[Record]]:
    """Every record kind of every provider, to its type. ``ValueError`` when two providers declare one kind
    (their stored records could not be told apart)."""
    return _kinds_of(specs())


def _kinds_of(declared: Iterable[ProviderSpec]) -> dict[str, type[Record]]:
    found: dict[str, type[Record]] = {}
    owner: dict[str, str] = {}
    for spec in declared:
        for record_type in spec.record_types:
            if record_type.kind in owner:
                raise ValueError(f"Record kind {record_type.kind!r} of {spec.name!r} is {owner[record_type.kind]!r}'s")
            found[record_type.kind] = record_type
            owner[record_type.kind] = spec.name
    return found


def record_type(kind: str) -> type[Record]:
    """The record type of a stored kind; ``KeyError`` for a kind no provider declares."""
    return record_types()[kind]


def providers() -> tuple[str, ...]:
    """The providers an adapter is registered for."""
    return tuple(spec.name for spec in specs() if spec.adapter is not None)


def adapter_for(provider: str) -> ProviderAdapter:
    """The (cached) adapter of ``provider``; ``UnsupportedProvider`` for a provider without one."""
    return _adapter(provider)


def validator_factory(provider: str) -> ValidatorFactory | None:
    """The provider's validator factory (``ProviderSpec.validator``), or None when it declares none."""
    target = spec_for(provider).validator
    return cast("ValidatorFactory", _load(target)) if target else None


def registers_webhooks(provider: str) -> bool:
    """Whether ``provider`` registers its webhooks through its API (``ProviderSpec.webhook_registrar``; a
    built-in provider's intake says it without loading the spec); False for an unknown provider."""
    if provider in _INTAKES:
        return _intake(provider).registers_webhooks
    try:
        return spec_for(provider).webhook_registrar is not None
    except UnsupportedProvider:
        return False


def webhook_checks_for(provider: str) -> WebhookChecks:
    """What the webhooks function checks a delivery with: a built-in provider's ``intake.py`` (no pydantic), or
    another provider's adapter; ``UnsupportedProvider`` for a provider without either."""
    return _intake(provider) if provider in _INTAKES else adapter_for(provider)


@functools.cache
def _intake(provider: str) -> WebhookChecks:
    return cast("WebhookChecks", _load(_INTAKES[provider])())


def webhook_registrar_for(provider: str) -> WebhookRegistrar | None:
    """The (cached) ``WebhookRegistrar`` of ``provider``, imported on first use; None when it declares none."""
    return _registrar(provider) if registers_webhooks(provider) else None


@functools.cache
def _registrar(provider: str) -> WebhookRegistrar:
    target = spec_for(provider).webhook_registrar
    assert target is not None
    return cast("WebhookRegistrar", _load(target)())


@functools.cache
def _adapter(provider: str) -> ProviderAdapter:
    try:
        target = spec_for(provider).adapter
    except UnsupportedProvider:
        target = None
    if target is None:
        raise UnsupportedProvider(
            f"Syncing, webhooks and metrics for {provider!r} are not available yet.",
            details={"providers": list(providers())},
        )
    return cast("ProviderAdapter", _load(target)())


def _load(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)
