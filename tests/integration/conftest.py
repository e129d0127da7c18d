"""Integration fixtures: ``call_api`` runs the API function in-process on an API Gateway HTTP API (payload 2.0)
event, as the gateway would build it after the team-token authorizer let the request through."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest

from devstack.api_gateway import Request, build_event, lambda_response
from devstack.lambda_runtime import LambdaContext

ROOT = Path(__file__).resolve().parents[2]
API_DOMAIN = "abc123.execute-api.us-east-1.amazonaws.com"


@cache
def api_module() -> ModuleType:
    """``functions/api/app.py``, loaded by path (every function's file is named app.py)."""
    spec = importlib.util.spec_from_file_location("agiletrack_api_function", ROOT / "functions" / "api" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


ApiCaller = Callable[..., Reply]


def api_event(
    method: str,
    path: str,
    team_id: str | None = "team_a",
    body: Any = None,
    *,
    raw_body: bytes | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The event API Gateway hands the API function. ``body`` is sent as JSON; ``raw_body`` as given; a header
    of ``headers`` replaces the default of its name (``host``). ``team_id=None`` leaves out the authorizer
    context."""
    data = raw_body if raw_body is not None else (b"" if body is None else json.dumps(body).encode())
    extra = [(k.lower(), v) for k, v in (headers or {}).items()]
    given = {k for k, _ in extra}
    defaults = [("host", API_DOMAIN), ("authorization", "Bearer at_test"), ("user-agent", "pytest")]
    pairs = [(k, v) for k, v in defaults if k not in given]
    if data and not any(k == "content-type" for k, _ in extra):
        pairs.append(("content-type", "application/json"))
    pairs += extra
    request = Request(method=method, raw_path=path, raw_query=urlencode(query or {}), headers=pairs, body=data)
    event = build_event(request, "ANY /{proxy+}", {"proxy": path.lstrip("/")})
    event["headers"]["x-forwarded-proto"] = dict(pairs).get("x-forwarded-proto", "https")
    if team_id is not None:
        event["requestContext"]["authorizer"] = {"lambda": {"team_id": team_id, "team_name": team_id}}
    return event


@pytest.fixture
def call_api(aws: Any, lambda_context: LambdaContext) -> ApiCaller:
    """``call_api(method, path, team_id="team_a", body=None, *, raw_body=, query=, headers=) -> Reply``."""
    handler = api_module().handler

    def call(method: str, path: str, team_id: str | None = "team_a", body: Any = None, **kwargs: Any) -> Reply:
        result = handler(api_event(method, path, team_id, body, **kwargs), lambda_context)
        response = lambda_response(result)
        return Reply(response.status, {k.lower(): v for k, v in response.headers}, response.body.decode())

    return call
