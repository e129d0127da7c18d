"""The provider registry: one cached adapter per provider, ``UnsupportedProvider`` for the others."""

from __future__ import annotations

import pytest

from agiletrack.adapters.providers.github import GitHubAdapter
from agiletrack.adapters.providers.registry import adapter_for, providers
from agiletrack.errors import UnsupportedProvider


def test_github_is_served_by_one_cached_adapter() -> None:
    adapter = adapter_for("github")

    assert isinstance(adapter, GitHubAdapter)
    assert adapter.provider == "github"
    assert adapter_for("github") is adapter
    assert "github" in providers()


def test_an_unknown_provider_is_not_found() -> None:
    with pytest.raises(UnsupportedProvider):
        adapter_for("gitlab")
