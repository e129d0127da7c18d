"""What schemathesis found over the served document (tests/e2e/test_api_schemathesis.py), each fixed, each kept
fixed here: the document says exactly what the API takes (a body it calls valid is taken, one it calls invalid
is refused with 422 before any provider is called), every method on /health gets 405 and ``Allow``, and an
empty window bound is refused as the date-time it is not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from agiletrack.adapters.providers.jira.config import JiraConfig
from tests.fakes.github import FakeGitHub
from tests.fakes.trello import LISTS
from tests.integration.conftest import ApiCaller


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def document(call_api: ApiCaller) -> dict[str, Any]:
    reply = call_api("GET", "/openapi.json", None)
    assert reply.status == 200
    return dict(reply.json())


def validator(document: dict[str, Any], method: str, path: str) -> Draft202012Validator:
    """The JSON Schema of the operation's request body, its references resolved in the document."""
    body = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return Draft202012Validator({**document, **body}, format_checker=Draft202012Validator.FORMAT_CHECKER)


def github_body(github: FakeGitHub, **config: Any) -> dict[str, Any]:
    return {"type": "github", "config": github.config().model_dump(mode="json") | config}


TRELLO = {"api_key": "k" * 32, "api_token": "t" * 64, "board_id": "5f0c1e2d3b4a596877665544"}


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        # each was schema-valid before the fix, and refused by the API (positive data rejected)
        ("trello", TRELLO | {"list_ids": [LISTS[0], LISTS[0]]}),  # a repeated list
        ("trello", TRELLO | {"list_ids": ["", ""]}),  # not Trello ids
        ("trello", TRELLO | {"list_ids": list(LISTS[:2]), "api_secret": "with space"}),  # not a credential
        ("github", {"repository": "octo-org/octo-repo", "token": " "}),  # blank once stripped
        ("github", {"repository": "octo-org/octo-repo.git", "token": "ghp_x"}),
        ("github", {"repository": "octo-org/octo-repo", "token": "ghp_x", "branch": "a..b"}),
        ("jira", {"server_url": "https://a.example", "email": "a@b", "api_token": "x", "project_key": "eng"}),
        # and these were schema-invalid but taken (negative data accepted): lax coercion
        ("github", {"repository": "octo-org/octo-repo", "token": "ghp_x", "include_private": 0}),
        (
            "jira",
            {"server_url": "https://a.example", "email": "a@b", "api_token": "x", "project_key": "E", "board_id": "7"},
        ),
    ],
)
def test_a_body_the_document_refuses_the_api_refuses_before_any_provider_call(
    call_api: ApiCaller, document: dict[str, Any], github: FakeGitHub, kind: str, config: dict[str, Any]
) -> None:
    body = {"type": kind, "config": config}

    assert not validator(document, "post", "/integrations").is_valid(body)
    reply = call_api("POST", "/integrations", "team_a", body)

    assert reply.status == 422, reply.text
    assert reply.json()["error"]["code"] == "validation_failed"
    assert github.calls.log == []


def test_a_body_the_document_takes_the_api_takes(
    call_api: ApiCaller, document: dict[str, Any], github: FakeGitHub
) -> None:
    body = github_body(github, include_private=True, branch="main")

    assert validator(document, "post", "/integrations").is_valid(body)
    assert call_api("POST", "/integrations", "team_a", body).status == 201


def test_jira_board_id_is_a_json_integer() -> None:
    base = {"server_url": "https://a.example", "email": "a@b", "api_token": "x", "project_key": "ENG"}
    # JSON Schema's integer takes 7.0 (schemathesis sent 5179.0 and it was refused); text and booleans are not
    assert JiraConfig.model_validate(base | {"board_id": 7.0}).board_id == 7
    for value in ("7", True, 7.5, 0):
        with pytest.raises(ValueError, match="board_id"):
            JiraConfig.model_validate(base | {"board_id": value})


def test_a_patch_config_is_documented_as_part_of_a_providers_config(
    call_api: ApiCaller, document: dict[str, Any], github: FakeGitHub
) -> None:
    created = call_api("POST", "/integrations", "team_a", github_body(github))
    assert created.status == 201
    path = f"/integrations/{created.json()['id']}"
    patch = validator(document, "patch", "/integrations/{integration_id}")

    # a key no provider has: the document said "any object" and the API refused it
    assert not patch.is_valid({"config": {"surprise": 1}})
    assert call_api("PATCH", path, "team_a", {"config": {"surprise": 1}}).status == 422
    # a part of GitHub's config
    assert patch.is_valid({"config": {"branch": "main"}})
    assert call_api("PATCH", path, "team_a", {"config": {"branch": "main"}}).status == 200


@pytest.mark.parametrize("method", ["TRACE", "POST", "DELETE"])
def test_any_other_method_on_health_is_405_with_allow(call_api: ApiCaller, method: str) -> None:
    # schemathesis' unsupported_method: the route is ANY /health (no token), the function says which method
    reply = call_api(method, "/health", None)

    assert reply.status == 405, reply.text
    assert reply.headers["allow"] == "GET"
    assert reply.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("bound", ["since", "until"])
def test_an_empty_window_bound_is_refused(
    call_api: ApiCaller, document: dict[str, Any], github: FakeGitHub, bound: str
) -> None:
    created = call_api("POST", "/integrations", "team_a", github_body(github))
    assert created.status == 201
    parameters = document["paths"]["/integrations/{integration_id}/metrics"]["get"]["parameters"]
    (declared,) = [p["schema"] for p in parameters if p["name"] == bound]
    assert declared["format"] == "date-time"  # so "" is not one: it was taken as "no bound" (negative accepted)

    reply = call_api("GET", f"/integrations/{created.json()['id']}/metrics", "team_a", query={bound: ""})

    assert reply.status == 422, reply.text
    assert reply.json()["error"]["details"] == [{"field": bound, "reason": "not ISO 8601"}]
