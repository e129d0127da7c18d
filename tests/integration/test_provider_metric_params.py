"""The metrics route passes a provider the query parameters its spec declares (``ProviderSpec.metric_params``)
and no others: Jira's ``sprint_id`` reaches the Jira calculator; GitHub, which declares none, never sees it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agiletrack.adapters.aws.metrics_cache import metrics_cache
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


def test_the_answer_carries_series_and_a_document_cached_before_them_is_computed_again(
    call_api: ApiCaller, github: FakeGitHub
) -> None:
    # Given a GitHub integration, and its window's document cached by code that built no series (same key, the
    # data version such code stored: the integration's records never changed)
    body = {"type": "github", "config": github.config().model_dump(mode="json")}
    integration_id = _created(call_api, body)
    window = {"since": "2026-11-02T00:00:00Z", "until": "2026-11-16T00:00:00Z"}
    key = "2026-11-02T00:00:00Z|2026-11-16T00:00:00Z|-"
    old = {"integration_id": integration_id, "type": "github", "metrics": {"stale": True}}
    metrics_cache().put(integration_id, key, old, "never", "2026-11-20T00:00:00Z")

    # When its metrics are asked for that window
    reply = call_api("GET", f"/integrations/{integration_id}/metrics", "team_a", query=window)

    # Then they are computed again, with a zero-filled series for each of the two weeks (Mondays 11-02 and 11-09)
    assert reply.status == 200, reply.text
    document = reply.json()
    assert "stale" not in document["metrics"]
    empty = [{"week": "2026-11-02", "value": 0}, {"week": "2026-11-09", "value": 0}]
    assert document["series"] == dict.fromkeys(
        ("prs_opened", "prs_merged", "commits", "issues_opened", "issues_closed"), empty
    )
