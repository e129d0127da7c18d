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


def test_webhook_registration_is_declared_by_trello_only() -> None:
    from agiletrack.adapters.providers.registry import registers_webhooks, spec_for, webhook_registrar_for
    from agiletrack.adapters.providers.trello.registration import TrelloWebhookRegistrar

    assert spec_for("trello").webhook_registrar == (
        "agiletrack.adapters.providers.trello.registration:TrelloWebhookRegistrar"
    )
    assert [name for name in ("github", "jira", "trello") if registers_webhooks(name)] == ["trello"]
    assert registers_webhooks("gitlab") is False  # unknown: nothing registered, no error
    registrar = webhook_registrar_for("trello")
    assert isinstance(registrar, TrelloWebhookRegistrar) and webhook_registrar_for("trello") is registrar
    assert webhook_registrar_for("github") is None and webhook_registrar_for("jira") is None


def test_every_declared_registrar_has_the_protocol_methods_with_its_parameters() -> None:
    import inspect

    from agiletrack.adapters.providers.base import WebhookRegistrar
    from agiletrack.adapters.providers.registry import specs, webhook_registrar_for

    methods = ("wanted", "register", "delete", "check")
    declared = [spec.name for spec in specs() if spec.webhook_registrar is not None]
    assert declared
    for name in declared:
        registrar = webhook_registrar_for(name)
        for method in methods:
            expected = list(inspect.signature(getattr(WebhookRegistrar, method)).parameters)[1:]
            assert list(inspect.signature(getattr(registrar, method)).parameters) == expected, (name, method)


def test_reading_the_declaration_imports_no_registrar_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from agiletrack.adapters.providers.registry import registers_webhooks, specs\n"
        "specs(); assert registers_webhooks('trello')\n"
        "assert 'agiletrack.adapters.providers.trello.registration' not in sys.modules\n"
        "assert 'agiletrack.adapters.providers.trello.validate' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


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


def test_each_providers_webhook_checks_are_its_adapters_and_say_what_its_spec_says() -> None:
    """The webhooks function checks deliveries with the providers' ``intake.py`` (no pydantic); the adapters
    inherit the same checks, and whether a provider registers its webhooks is the same fact in both places."""
    from agiletrack.adapters.providers.registry import PROVIDER_NAMES, spec_for, webhook_checks_for

    for name in PROVIDER_NAMES:
        checks, adapter = webhook_checks_for(name), adapter_for(name)
        assert isinstance(adapter, type(checks)), name
        assert checks.registers_webhooks == (spec_for(name).webhook_registrar is not None), name
    with pytest.raises(UnsupportedProvider):
        webhook_checks_for("gitlab")


def test_checking_a_delivery_of_every_provider_loads_no_pydantic() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from agiletrack.adapters.providers.base import WebhookDelivery, WebhookSecrets\n"
        "from agiletrack.adapters.providers.registry import PROVIDER_NAMES, registers_webhooks, webhook_checks_for\n"
        'body = b\'{"action": {"id": "6b0000000000000000000042"}}\'\n'
        "for name in PROVIDER_NAMES:\n"
        "    checks = webhook_checks_for(name); registers_webhooks(name)\n"
        "    delivery = WebhookDelivery('int_1', name, {}, body, datetime.now(UTC), 'https://example.test/w')\n"
        "    checks.verify_webhook(delivery, WebhookSecrets('s', {'api_secret': 'k'}))\n"
        "    checks.webhook_payload(delivery); checks.delivery_id(delivery)\n"
        "assert not [m for m in sys.modules if m.startswith('pydantic')], 'pydantic loaded'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
