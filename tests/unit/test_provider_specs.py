"""What each provider package declares (its ``ProviderSpec``), and what the registry makes of it: record kinds
unique across providers and known without importing an adapter, signature headers redacted, declared metric
parameters passed through and no others."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agiletrack.adapters.providers.registry import (
    PROVIDER_NAMES,
    adapter_for,
    providers,
    record_type,
    record_types,
    register_extra,
    spec_for,
    specs,
)
from agiletrack.adapters.providers.spec import ProviderSpec
from agiletrack.errors import UnsupportedProvider
from agiletrack.http.routers.metrics import provider_params
from agiletrack.observability import SENSITIVE_HEADERS, redact_headers
from tests.fakes.provider import TEST_SPEC, TestConfig, TestItem


@pytest.mark.parametrize("name", PROVIDER_NAMES)
def test_every_declared_field_is_a_field_of_the_config_model(name: str) -> None:
    spec = spec_for(name)
    fields = set(spec.config_model.model_fields)

    assert spec.name == name
    for declared in (spec.credential_fields, spec.credential_url_fields, spec.scope_fields, spec.identity_fields):
        assert set(declared) <= fields, declared
    assert not set(spec.credential_fields) & set(spec.scope_fields)
    assert all(h == h.lower() for h in spec.signature_headers)


def test_every_record_kind_belongs_to_one_provider_and_github_keeps_its_stored_kinds() -> None:
    declared = [kind for spec in specs() for kind in spec.record_kinds]

    assert len(declared) == len(set(declared)) == len(record_types())
    assert {"pull_request", "commit", "issue"} <= set(spec_for("github").record_kinds)
    for name in PROVIDER_NAMES:  # newer providers prefix their kinds with their name
        assert name == "github" or all(kind.startswith(f"{name}_") for kind in spec_for(name).record_kinds)
    assert record_type("jira_issue").kind == "jira_issue"
    with pytest.raises(KeyError):
        record_type("gitlab_merge_request")


def test_a_second_provider_declaring_a_kind_is_refused_and_changes_nothing() -> None:
    before = dict(record_types())
    clash = ProviderSpec(
        name="clash",
        config_model=TestConfig,
        credential_fields=(),
        scope_fields=(),
        default_name=lambda public: "clash",
        record_types=(record_type("issue"),),
        generates_webhook_secret=False,
    )

    with pytest.raises(ValueError, match="'issue'"):
        register_extra(clash)

    assert dict(record_types()) == before
    with pytest.raises(UnsupportedProvider):
        spec_for("clash")


def test_registering_the_test_provider_again_changes_nothing_and_its_kind_is_known() -> None:
    register_extra(TEST_SPEC)

    assert record_type(TestItem.kind) is TestItem
    with pytest.raises(ValueError):
        register_extra(ProviderSpec(**{**TEST_SPEC.__dict__, "scope_fields": ()}))
    with pytest.raises(ValueError):
        register_extra(ProviderSpec(**{**TEST_SPEC.__dict__, "name": "github"}))


def test_record_kinds_are_known_without_importing_any_adapter() -> None:
    code = (
        "import sys\n"
        "from agiletrack.adapters.providers.registry import record_types\n"
        "import agiletrack.observability, agiletrack.models.integrations\n"
        "assert len(record_types()) >= 12\n"
        "loaded = [m for m in sys.modules if m.endswith('.adapter') or m == 'httpx']\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_every_built_in_provider_has_an_adapter() -> None:
    assert spec_for("trello").config_model.__name__ == "TrelloConfig"
    assert set(providers()) >= {"github", "jira", "trello"}
    assert adapter_for("trello").provider == "trello"


@pytest.mark.parametrize("name", providers())
def test_every_adapter_agrees_with_its_spec_and_declares_its_capabilities(name: str) -> None:
    spec, adapter = spec_for(name), adapter_for(name)

    assert adapter.provider == name
    assert adapter.config_model is spec.config_model
    assert adapter.credential_fields == spec.credential_fields
    assert adapter.record_types == spec.record_types
    assert adapter.signs_webhooks_with_generated_secret is spec.generates_webhook_secret
    assert set(adapter.snapshot_kinds) <= set(spec.record_kinds)
    assert callable(adapter.merge_record)


def test_every_signature_header_is_redacted_with_the_generic_ones() -> None:
    headers = {h: "secret" for spec in specs() for h in spec.signature_headers}
    headers |= {"Authorization": "token x", "X-Request-Id": "r1"}

    redacted = redact_headers(headers)

    assert {"x-hub-signature-256", "x-hub-signature", "x-trello-webhook"} <= SENSITIVE_HEADERS
    assert all(v == "********" for k, v in redacted.items() if k != "X-Request-Id")
    assert redacted["X-Request-Id"] == "r1"


def test_only_the_declared_metric_parameters_are_passed() -> None:
    query = {"sprint_id": "7", "colour": "blue", "since": "2024-01-01"}

    assert provider_params("jira", query) == {"sprint_id": "7"}
    assert provider_params("jira", {"sprint_id": ""}) == {}
    assert provider_params("jira", None) == {}
    assert provider_params("github", query) == {}
