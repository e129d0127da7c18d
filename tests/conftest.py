"""Shared fixtures: ``aws`` (moto with the template's resources and environment) and ``lambda_context``."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from devstack.lambda_runtime import LambdaContext, clear_agiletrack_caches
from devstack.moto_fixes import apply_dynamodb_fixes
from devstack.template import DEFAULT_REGION, Resources, create_resources, load_template, stack_environment

_DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": DEFAULT_REGION,
    "AWS_REGION": DEFAULT_REGION,
    "ALLOW_PRIVATE_PROVIDER_URLS": "true",
}


@pytest.fixture(autouse=True)
def _allow_fake_providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake providers listen on 127.0.0.1, which a deployed stack refuses (SSRF guard)."""
    from agiletrack.settings import get_settings

    monkeypatch.setenv("ALLOW_PRIVATE_PROVIDER_URLS", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    """moto started, every table/queue/bucket of template.yaml created, and the functions' environment set."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in _DUMMY_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    apply_dynamodb_fixes()  # moto's transactions and queries scale with the whole table otherwise
    with mock_aws():
        template = load_template()
        resources = create_resources(boto3.Session(region_name=DEFAULT_REGION), template=template)
        for name, value in stack_environment(template, resources).items():
            monkeypatch.setenv(name, value)
        clear_agiletrack_caches()
        yield resources
    clear_agiletrack_caches()


@pytest.fixture
def lambda_context() -> LambdaContext:
    """A Lambda context with a 29 s budget (the Globals timeout)."""
    return LambdaContext(function_name="agiletrack-test", memory_limit_in_mb=512, timeout_seconds=29)
