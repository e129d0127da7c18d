"""A stored credential is only ever sent to the host it was given for: moving a URL the credentials go to
(GitHub ``api_url``, Jira ``server_url``) to another origin needs the credentials in the same request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.settings import get_settings
from devstack.template import Resources
from tests.fakes.github import FakeGitHub
from tests.fakes.jira import FakeJira
from tests.fakes.recorder import AuthRecorder
from tests.integration.conftest import ApiCaller


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def jira(aws: Resources, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeJira]:
    with FakeJira() as fake:
        monkeypatch.setenv("SSL_CERT_FILE", fake.ca_file)
        yield fake


@pytest.fixture
def attacker() -> Iterator[AuthRecorder]:
    with AuthRecorder() as fake:
        yield fake


def _create(call_api: ApiCaller, body: dict[str, Any]) -> dict[str, Any]:
    reply = call_api("POST", "/integrations", "team_a", body)
    assert reply.status == 201, reply.text
    return dict(reply.json())


def _stored_credentials(integration_id: str) -> dict[str, Any]:
    name = get_settings().secrets_prefix + integration_id
    return dict(secret_store().read(name, fresh=True)["credentials"])


@pytest.mark.parametrize("token", [None, "********"])
def test_moving_github_api_url_without_the_token_is_422_and_calls_nobody(
    call_api: ApiCaller, github: FakeGitHub, attacker: AuthRecorder, token: str | None
) -> None:
    # Given a GitHub integration whose token is stored
    created = _create(call_api, {"type": "github", "config": github.config().model_dump(mode="json")})
    config: dict[str, Any] = {"api_url": attacker.url + "/api/v3"}
    if token is not None:
        config["token"] = token

    # When a team token moves api_url to another host without giving the token
    reply = call_api("PATCH", f"/integrations/{created['id']}", "team_a", {"config": config})

    # Then it is refused, the new host saw nothing, and nothing changed
    assert reply.status == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "credentials_required"
    assert [d["field"] for d in error["details"]] == ["config.token"]
    assert attacker.seen == []
    after = call_api("GET", f"/integrations/{created['id']}").json()
    assert after["config"]["api_url"] == created["config"]["api_url"]
    assert _stored_credentials(created["id"]) == {"token": github.token}


def test_moving_jira_server_url_without_the_api_token_is_422_and_calls_nobody(
    call_api: ApiCaller, jira: FakeJira, attacker: AuthRecorder
) -> None:
    created = _create(call_api, {"type": "jira", "config": jira.config()})

    reply = call_api("PATCH", f"/integrations/{created['id']}", "team_a", {"config": {"server_url": attacker.url}})

    assert reply.status == 422, reply.text
    assert reply.json()["error"]["code"] == "credentials_required"
    assert attacker.seen == []
    assert _stored_credentials(created["id"]) == {"api_token": jira.api_token}


def test_a_change_of_port_or_scheme_on_the_same_host_counts_as_another_host(
    call_api: ApiCaller, github: FakeGitHub, attacker: AuthRecorder
) -> None:
    created = _create(call_api, {"type": "github", "config": github.config().model_dump(mode="json")})
    other_port = attacker.url  # 127.0.0.1, like the fake GitHub, on another port
    assert other_port.split(":")[1] == github.api_url.split(":")[1]

    reply = call_api("PATCH", f"/integrations/{created['id']}", "team_a", {"config": {"api_url": other_port}})

    assert reply.status == 422, reply.text
    assert attacker.seen == []


def test_moving_the_api_url_with_the_token_given_again_is_tried_there(
    call_api: ApiCaller, github: FakeGitHub, attacker: AuthRecorder
) -> None:
    created = _create(call_api, {"type": "github", "config": github.config().model_dump(mode="json")})
    body = {"config": {"api_url": attacker.url + "/api/v3", "token": "ghp_given_for_the_new_host"}}

    reply = call_api("PATCH", f"/integrations/{created['id']}", "team_a", body)

    # the new host refuses (404), so nothing changes, but only the token given for it went there
    assert reply.status == 422, reply.text
    assert reply.json()["error"]["code"] == "repository_not_found"
    assert attacker.authorizations and set(attacker.authorizations) == {"Bearer ghp_given_for_the_new_host"}
    assert _stored_credentials(created["id"]) == {"token": github.token}


def test_a_new_path_on_the_same_origin_keeps_the_stored_token(call_api: ApiCaller, github: FakeGitHub) -> None:
    created = _create(call_api, {"type": "github", "config": github.config().model_dump(mode="json")})

    reply = call_api(
        "PATCH", f"/integrations/{created['id']}", "team_a", {"config": {"api_url": github.enterprise_api_url}}
    )

    assert reply.status == 200, reply.text
    assert reply.json()["config"]["api_url"] == github.enterprise_api_url
    assert _stored_credentials(created["id"]) == {"token": github.token}


@pytest.mark.parametrize("field", ["api_url", "server_url"])
def test_a_provider_url_with_a_password_is_refused_and_not_echoed(
    call_api: ApiCaller, github: FakeGitHub, attacker: AuthRecorder, field: str
) -> None:
    host = attacker.url.split("://", 1)[1]
    if field == "api_url":
        config: dict[str, Any] = {**github.config().model_dump(mode="json"), "api_url": f"http://u:s3cr3t@{host}"}
        body = {"type": "github", "config": config}
    else:
        config = {"server_url": f"http://u:s3cr3t@{host}", "email": "a@b.c", "api_token": "t", "project_key": "ENG"}
        body = {"type": "jira", "config": config}

    reply = call_api("POST", "/integrations", "team_a", body)

    assert reply.status == 422, reply.text
    assert [d["field"] for d in reply.json()["error"]["details"]] == [f"config.{field}"]
    assert "s3cr3t" not in reply.text
    assert attacker.seen == []


class PlainHttpJira(FakeJira):
    scheme = "http"

    def tls_context(self) -> None:  # type: ignore[override]
        return None


def test_local_mode_accepts_an_http_loopback_jira_site(call_api: ApiCaller, aws: Resources) -> None:
    with PlainHttpJira() as jira:
        created = _create(call_api, {"type": "jira", "config": jira.config()})
        assert created["config"]["server_url"].startswith("http://127.0.0.1:")
        assert jira.requests[0] == "/rest/api/3/myself"
