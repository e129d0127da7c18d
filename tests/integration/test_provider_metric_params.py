"""The metrics route passes a provider the query parameters its spec declares (``ProviderSpec.metric_params``)
and no others: Jira's ``sprint_id`` reaches the Jira calculator; GitHub, which declares none, never sees it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.github import FakeGitHub
from tests.fakes.jira import FakeJira
from tests.integration.conftest import ApiCaller


@pytest.fixture
def jira(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeJira]:
    with FakeJira() as fake:
        monkeypatch.setenv("SSL_CERT_FILE", fake.ca_file)  # httpx trusts the fake's self-signed certificate
        yield fake


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


def _created(call_api: ApiCaller, body: dict[str, Any]) -> str:
    reply = call_api("POST", "/integrations", "team_a", body)
    assert reply.status == 201, reply.text
    return str(reply.json()["id"])


def test_a_declared_parameter_reaches_the_provider(call_api: ApiCaller, jira: FakeJira) -> None:
    # Given a Jira integration with no sprints yet
    integration_id = _created(call_api, {"type": "jira", "config": jira.config()})

    # When its metrics are asked for one sprint, and with a parameter no provider declares
    unknown_sprint = call_api("GET", f"/integrations/{integration_id}/metrics", "team_a", query={"sprint_id": "404"})
    other = call_api("GET", f"/integrations/{integration_id}/metrics", "team_a", query={"colour": "blue"})

    # Then the Jira calculator saw the sprint (and refused it), and the undeclared parameter was ignored
    assert unknown_sprint.status == 422, unknown_sprint.text
    assert unknown_sprint.json()["error"]["details"] == {"sprint_id": "404"}
    assert other.status == 200, other.text
    assert other.json()["metrics"]["burndown"] is None


def test_another_providers_parameter_is_ignored(call_api: ApiCaller, github: FakeGitHub) -> None:
    body = {"type": "github", "config": github.config().model_dump(mode="json")}
    integration_id = _created(call_api, body)

    reply = call_api("GET", f"/integrations/{integration_id}/metrics", "team_a", query={"sprint_id": "404"})

    assert reply.status == 200, reply.text
    assert "burndown" not in reply.json()["metrics"]
