"""Which adapter serves which provider.

Adding a provider is one line in ``_ADAPTERS``: its name and where its adapter class lives. Modules
are imported on first use, so a function only loads the providers it serves.
"""

from __future__ import annotations

import functools
import importlib
from typing import cast

from agiletrack.adapters.providers.base import ProviderAdapter
from agiletrack.errors import UnsupportedProvider

_ADAPTERS: dict[str, str] = {
    "github": "agiletrack.adapters.providers.github:GitHubAdapter",
    "jira": "agiletrack.adapters.providers.jira.adapter:JiraAdapter",
}


def providers() -> tuple[str, ...]:
    """The providers an adapter is registered for."""
    return tuple(_ADAPTERS)


def adapter_for(provider: str) -> ProviderAdapter:
    """The (cached) adapter of ``provider``; ``UnsupportedProvider`` for a provider nobody registered."""
    return _adapter(provider)


@functools.cache
def _adapter(provider: str) -> ProviderAdapter:
    target = _ADAPTERS.get(provider)
    if target is None:
        raise UnsupportedProvider(
            f"Syncing, webhooks and metrics for {provider!r} are not available yet.",
            details={"providers": list(_ADAPTERS)},
        )
    module_name, _, class_name = target.partition(":")
    adapter_class = getattr(importlib.import_module(module_name), class_name)
    return cast(ProviderAdapter, adapter_class())
