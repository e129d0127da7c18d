"""The provider registry: one cached adapter per provider, ``UnsupportedProvider`` for the others."""

from __future__ import annotations

import pytest

from agiletrack.adapters.providers.github.adapter import GitHubAdapter
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


def test_jira_is_registered_with_its_record_kinds_read_whole() -> None:
    from agiletrack.adapters.providers.jira.adapter import JiraAdapter
    from agiletrack.adapters.providers.registry import record_types

    adapter = adapter_for("jira")

    assert isinstance(adapter, JiraAdapter)
    assert adapter.credential_fields == ("api_token",)
    assert adapter.signs_webhooks_with_generated_secret is True
    assert set(JiraAdapter.snapshot_kinds) == {"jira_issue", "jira_status", "jira_sprint", "jira_board"}
    assert set(JiraAdapter.snapshot_kinds) <= set(record_types())


def test_trello_is_registered_with_every_kind_read_whole_and_signs_with_its_api_secret() -> None:
    from agiletrack.adapters.providers.trello.adapter import TrelloAdapter

    adapter = adapter_for("trello")

    assert isinstance(adapter, TrelloAdapter)
    assert adapter.credential_fields == ("api_key", "api_token", "api_secret")
    assert adapter.signs_webhooks_with_generated_secret is False
    assert set(TrelloAdapter.snapshot_kinds) == {
        "trello_action",
        "trello_card",
        "trello_list",
        "trello_label",
        "trello_member",
    }
