"""Inputs at the edges of what the API parses: tampered page tokens and dates at the ends of the datetime
range are answered 422 with the error body, never 500."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.github import FakeGitHub
from tests.integration.conftest import ApiCaller


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


def _token(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _assert_422(reply: Any) -> None:
    assert reply.status == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "validation_failed" and error["message"]


@pytest.mark.parametrize(
    "key",
    [
        {"team_id": {"S": "team_a"}},  # a partial key of the by_team index
        {"team_id": {"S": "team_a"}, "created_at": {"S": "2026-01-01T00:00:00.000000Z"}},
        {"team_id": {"S": "team_a"}, "created_at": {"N": "1"}, "pk": {"S": "INT#x"}, "sk": {"S": "META"}},
        {"team_id": {"S": "team_a"}, "created_at": {"S": "x"}, "pk": {"S": "INT#x"}, "sk": {"S": "META"}, "z": {}},
        {"team_id": {"S": "team_a"}, "created_at": {"S": "x"}, "pk": {"S": "INT#x"}, "sk": {"S": ""}},
        {"team_id": {"S": "team_a"}, "created_at": {"S": ["x"]}, "pk": {"S": "INT#x"}, "sk": {"S": "META"}},
    ],
)
def test_a_tampered_next_token_is_422(call_api: ApiCaller, github: FakeGitHub, key: dict[str, Any]) -> None:
    # Given a team with two integrations (so there is a next page to tamper with)
    for _ in range(2):
        body = {"type": "github", "config": github.config().model_dump(mode="json")}
        assert call_api("POST", "/integrations", "team_a", body).status == 201

    # When a token the API never gave out comes back
    reply = call_api("GET", "/integrations", "team_a", query={"limit": "1", "next_token": _token(key)})

    # Then
    _assert_422(reply)


def test_a_genuine_next_token_still_pages(call_api: ApiCaller, github: FakeGitHub) -> None:
    for _ in range(2):
        body = {"type": "github", "config": github.config().model_dump(mode="json")}
        assert call_api("POST", "/integrations", "team_a", body).status == 201
    first = call_api("GET", "/integrations", "team_a", query={"limit": "1"}).json()
    second = call_api("GET", "/integrations", "team_a", query={"limit": "1", "next_token": first["next_token"]})
    assert second.status == 200, second.text
    assert [i["id"] for i in second.json()["items"]] != [i["id"] for i in first["items"]]


@pytest.mark.parametrize(
    "query",
    [
        {"until": "0001-01-15"},
        {"since": "0001-01-15", "until": "0001-02-01"},
        {"since": "0001-01-01T00:00:00+00:00", "until": "0001-01-02"},
        {"until": "9999-12-31T23:59:59-01:00"},
        {"since": "9999-12-31T23:59:59-01:00"},
        {"since": "9999-12-01", "until": "9999-12-31T23:59:59"},
        {"since": "0001-01-01T00:30:00+01:00"},
    ],
)
def test_dates_at_the_edges_of_the_datetime_range_are_422(
    call_api: ApiCaller, github: FakeGitHub, query: dict[str, str]
) -> None:
    body = {"type": "github", "config": github.config().model_dump(mode="json")}
    created = call_api("POST", "/integrations", "team_a", body).json()

    reply = call_api("GET", f"/integrations/{created['id']}/metrics", "team_a", query=query)

    _assert_422(reply)
    assert reply.json()["error"]["details"][0]["field"] in ("since", "until")
