"""devstack.api_gateway: route selection, payload 2.0 events, the authorizer and the HTTP server."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devstack.api_gateway import (
    MAX_EVENT_BYTES,
    ApiGateway,
    Request,
    build_event,
    lambda_response,
    match_route,
)
from devstack.lambda_runtime import InvokeResult
from devstack.template import HttpApiSpec, HttpRoute, LambdaAuthorizer


def _route(method: str, path: str, authorizer: str | None = None, function: str = "Fn") -> HttpRoute:
    return HttpRoute(function=function, event="E", method=method, path=path, authorizer=authorizer)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/pets/dog/1", "GET /pets/dog/1"),
        ("GET", "/pets/dog/2", "GET /pets/dog/{id}"),
        ("GET", "/pets/cat/2", "GET /pets/{kind}/{id}"),
        ("GET", "/pets/cat", "GET /pets/{proxy+}"),
        ("POST", "/pets/dog/1", "ANY /pets/dog/1"),
        ("GET", "/pets/dog/1/toys", "GET /pets/dog/{proxy+}"),
        ("GET", "/other", "ANY /{proxy+}"),
        ("PUT", "/pets/cat/2", "ANY /pets/{kind}/{id}"),
        ("GET", "/", "$default"),
    ],
)
def test_most_specific_route_wins(method: str, path: str, expected: str) -> None:
    routes = [
        _route("ANY", "/{proxy+}"),
        _route("GET", "/pets/{proxy+}"),
        _route("GET", "/pets/dog/{proxy+}"),
        _route("GET", "/pets/{kind}/{id}"),
        _route("ANY", "/pets/{kind}/{id}"),
        _route("GET", "/pets/dog/{id}"),
        _route("GET", "/pets/dog/1"),
        _route("ANY", "/pets/dog/1"),
        _route("ANY", "$default"),
    ]
    matched = match_route(routes, method, path)
    assert matched is not None
    assert matched[0].route_key == expected


def test_variables_need_a_value_and_are_decoded() -> None:
    routes = [_route("GET", "/items/{id}")]
    assert match_route(routes, "GET", "/items/") is None
    assert match_route(routes, "GET", "/items") is None
    assert match_route(routes, "GET", "/items/a%20b") == (routes[0], {"id": "a b"})
    assert match_route(routes, "get", "/items/x/y") is None


def test_event_is_payload_format_2() -> None:
    request = Request(
        method="POST",
        raw_path="/items/42",
        raw_query="a=1&a=2&b=&c=x%20y",
        headers=[
            ("Host", "127.0.0.1:3000"),
            ("Content-Type", "application/json"),
            ("X-Multi", "one"),
            ("x-multi", "two"),
            ("Cookie", "s=1; t=2"),
            ("User-Agent", "pytest"),
        ],
        body=b'{"k": "v"}',
        source_ip="127.0.0.9",
    )
    event = build_event(request, "POST /items/{id}", {"id": "42"}, request_id="rid", now=1_700_000_000.5)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /items/{id}"
    assert event["rawPath"] == "/items/42"
    assert event["rawQueryString"] == "a=1&a=2&b=&c=x%20y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "", "c": "x y"}
    assert event["pathParameters"] == {"id": "42"}
    assert event["cookies"] == ["s=1", "t=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "one,two"
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert event["headers"]["content-type"] == "application/json"
    assert event["body"] == '{"k": "v"}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["domainName"] == "127.0.0.1:3000"
    assert context["http"] == {
        "method": "POST",
        "path": "/items/42",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.9",
        "userAgent": "pytest",
    }
    assert context["stage"] == "$default"
    assert context["routeKey"] == "POST /items/{id}"
    assert context["requestId"] == "rid"
    assert context["timeEpoch"] == 1_700_000_000_500
    assert context["time"] == "14/Nov/2023:22:13:20 +0000"
    assert context["accountId"] and context["apiId"]


def test_event_without_query_or_body() -> None:
    event = build_event(Request(method="GET", raw_path="/health"), "GET /health", {})
    assert "queryStringParameters" not in event
    assert "pathParameters" not in event
    assert "body" not in event
    assert "cookies" not in event
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("content_type", "encoded"),
    [
        ("application/json; charset=utf-8", False),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("application/vnd.github+json", False),
        ("application/octet-stream", True),
        ("image/png", True),
        (None, True),
    ],
)
def test_binary_bodies_are_base64(content_type: str | None, encoded: bool) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    event = build_event(Request(method="POST", raw_path="/x", headers=headers, body=b"abc"), "POST /x", {})
    assert event["isBase64Encoded"] is encoded
    assert event["body"] == (base64.b64encode(b"abc").decode() if encoded else "abc")


def test_handler_results_become_responses() -> None:
    response = lambda_response({"statusCode": 201, "headers": {"X-A": 1}, "cookies": ["a=1", "b=2"], "body": "made"})
    assert (response.status, response.body) == (201, b"made")
    assert ("X-A", "1") in response.headers
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]

    binary = lambda_response(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}
    )
    assert binary.body == b"\x00\x01"

    inferred = lambda_response({"hello": "world"})
    assert (inferred.status, inferred.json(), inferred.header("content-type")) == (
        200,
        {"hello": "world"},
        "application/json",
    )
    assert lambda_response("plain").body == b"plain"
    assert lambda_response({"statusCode": 204}).body == b""
    with pytest.raises(ValueError):
        lambda_response({"statusCode": "abc"})


# ------------------------------------------------------------------ gateway with fake functions


class FakeRuntime:
    """Invokes plain Python callables by logical id, reporting exceptions as Lambda does."""

    def __init__(self, functions: dict[str, Callable[[dict[str, Any]], Any]]) -> None:
        self.functions = functions
        self.events: dict[str, list[dict[str, Any]]] = {name: [] for name in functions}

    def invoke(self, logical_id: str, event: Any) -> InvokeResult:
        self.events[logical_id].append(event)
        try:
            payload = self.functions[logical_id](event)
        except Exception as error:
            return InvokeResult(logical_id, "rid", 1.0, error={"errorMessage": str(error), "errorType": "E"})
        return InvokeResult(logical_id, "rid", 1.0, payload=payload)


TOKENS = {"Bearer good": {"team_id": "t1"}, "Bearer denied": None}


def _authorizer(event: dict[str, Any]) -> Any:
    token = event["identitySource"][0]
    if token == "Bearer broken":
        return {"unexpected": True}
    if token == "Bearer crash":
        raise RuntimeError("boom")
    if token not in TOKENS:
        raise RuntimeError("Unauthorized")
    context = TOKENS[token]
    return {"isAuthorized": context is not None, "context": context or {}}


def _api(event: dict[str, Any]) -> Any:
    if event["rawPath"] == "/explode":
        raise RuntimeError("handler failed")
    if event["rawPath"] == "/raw":
        return ["not", "a", "response"]
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"path": event["rawPath"], "authorizer": event["requestContext"].get("authorizer")}),
    }


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime({"Api": _api, "Auth": _authorizer})


@pytest.fixture
def gateway(runtime: FakeRuntime) -> ApiGateway:
    spec = HttpApiSpec(
        logical_id="HttpApi",
        default_authorizer="Tokens",
        authorizers={
            "Tokens": LambdaAuthorizer(
                name="Tokens",
                function="Auth",
                identity_headers=("Authorization",),
                reauthorize_every=300,
                simple_responses=True,
            )
        },
        routes=(
            _route("GET", "/health", None, "Api"),
            _route("GET", "/explode", None, "Api"),
            _route("GET", "/raw", None, "Api"),
            _route("POST", "/upload", None, "Api"),
            _route("ANY", "/{proxy+}", "Tokens", "Api"),
        ),
    )
    return ApiGateway(spec, runtime, port=0)


def _get(gateway: ApiGateway, path: str, token: str | None = None, method: str = "GET", body: bytes = b""):
    headers = [("Host", "localhost:3000")]
    if token is not None:
        headers.append(("Authorization", token))
    return gateway.handle(Request(method=method, raw_path=path, headers=headers, body=body))


def test_public_route_and_unknown_route(gateway: ApiGateway, runtime: FakeRuntime) -> None:
    response = _get(gateway, "/health")
    assert response.status == 200
    assert response.json() == {"path": "/health", "authorizer": None}
    assert runtime.events["Auth"] == []
    assert _get(gateway, "/", "Bearer good").json() == {"message": "Not Found"}
    assert _get(gateway, "/", "Bearer good").status == 404


def test_missing_identity_is_401_without_calling_the_authorizer(gateway: ApiGateway, runtime: FakeRuntime) -> None:
    response = _get(gateway, "/teams/me")
    assert (response.status, response.json()) == (401, {"message": "Unauthorized"})
    assert runtime.events["Auth"] == []


def test_authorized_request_carries_the_context(gateway: ApiGateway, runtime: FakeRuntime) -> None:
    response = _get(gateway, "/teams/me", "Bearer good")
    assert response.status == 200
    assert response.json()["authorizer"] == {"lambda": {"team_id": "t1"}}
    (auth_event,) = runtime.events["Auth"]
    assert auth_event["type"] == "REQUEST"
    assert auth_event["version"] == "2.0"
    assert auth_event["identitySource"] == ["Bearer good"]
    assert auth_event["routeKey"] == "ANY /{proxy+}"
    assert auth_event["rawPath"] == "/teams/me"
    assert auth_event["routeArn"].endswith("/$default/GET/teams/me")
    assert auth_event["routeArn"].startswith("arn:aws:execute-api:us-east-1:123456789012:")
    assert auth_event["headers"]["authorization"] == "Bearer good"
    assert "requestContext" in auth_event


def test_authorizer_results_are_cached_by_identity(gateway: ApiGateway, runtime: FakeRuntime) -> None:
    for _ in range(3):
        assert _get(gateway, "/a", "Bearer good").status == 200
    assert len(runtime.events["Auth"]) == 1
    assert _get(gateway, "/a", "Bearer denied").status == 403
    assert _get(gateway, "/a", "Bearer denied").status == 403
    assert len(runtime.events["Auth"]) == 2
    gateway.clear_authorizer_cache()
    assert _get(gateway, "/a", "Bearer good").status == 200
    assert len(runtime.events["Auth"]) == 3


@pytest.mark.parametrize(
    ("token", "status", "body"),
    [
        ("Bearer denied", 403, {"message": "Forbidden"}),
        ("Bearer unknown", 401, {"message": "Unauthorized"}),
        ("Bearer crash", 500, {"message": "Internal Server Error"}),
        ("Bearer broken", 500, {"message": "Internal Server Error"}),
    ],
)
def test_authorizer_outcomes(gateway: ApiGateway, runtime: FakeRuntime, token: str, status: int, body: dict) -> None:
    response = _get(gateway, "/teams/me", token)
    assert (response.status, response.json()) == (status, body)
    assert runtime.events["Api"] == []


def test_handler_error_is_500_and_raw_results_are_json(gateway: ApiGateway) -> None:
    response = _get(gateway, "/explode")
    assert (response.status, response.json()) == (500, {"message": "Internal Server Error"})
    raw = _get(gateway, "/raw")
    assert (raw.status, raw.json()) == (200, ["not", "a", "response"])


def test_oversized_event_is_413_without_invoking(gateway: ApiGateway, runtime: FakeRuntime) -> None:
    response = _get(gateway, "/upload", method="POST", body=b"x" * MAX_EVENT_BYTES)
    assert response.status == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert runtime.events["Api"] == []


# ------------------------------------------------------------------ over HTTP


@pytest.fixture
def served(gateway: ApiGateway) -> Iterator[ApiGateway]:
    gateway.start()
    yield gateway
    gateway.stop()


def _http(gateway: ApiGateway, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_server_round_trip(served: ApiGateway, runtime: FakeRuntime) -> None:
    status, headers, body = _http(served, "GET", "/health?x=1")
    assert status == 200
    assert json.loads(body) == {"path": "/health", "authorizer": None}
    assert headers["Content-Length"] == str(len(body))
    event = runtime.events["Api"][0]
    assert event["rawQueryString"] == "x=1"
    assert event["requestContext"]["domainName"] == f"127.0.0.1:{served.port}"

    status, headers, body = _http(served, "GET", "/teams/me", headers={"Authorization": "Bearer good"})
    assert status == 200

    status, _, body = _http(served, "GET", "/nothing")
    assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})


def test_server_routes_a_method_it_has_no_handler_for(served: ApiGateway, runtime: FakeRuntime) -> None:
    # schemathesis' unsupported_method check sends TRACE: it reaches the ANY route and its function (which
    # answers 405 with Allow), not http.server's HTML 501 page
    status, _, body = _http(served, "TRACE", "/teams/me", headers={"Authorization": "Bearer good"})

    assert status == 200
    assert json.loads(body)["path"] == "/teams/me"
    assert runtime.events["Api"][-1]["requestContext"]["http"]["method"] == "TRACE"


def test_server_head_has_no_body(served: ApiGateway) -> None:
    status, headers, body = _http(served, "HEAD", "/teams/me", headers={"Authorization": "Bearer good"})
    assert status == 200
    assert body == b""
    assert int(headers["Content-Length"]) > 0


def test_server_refuses_huge_bodies_without_reading_them(served: ApiGateway, runtime: FakeRuntime) -> None:
    status, _, body = _http(served, "POST", "/upload", body=b"x" * (MAX_EVENT_BYTES + 1))
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert runtime.events["Api"] == []


def test_server_binary_body(served: ApiGateway, runtime: FakeRuntime) -> None:
    status, _, _ = _http(served, "POST", "/upload", body=b"\xff\x00", headers={"Content-Type": "application/zip"})
    assert status == 200
    event = runtime.events["Api"][0]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00"
