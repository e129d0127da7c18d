"""The dashboard's files as the API function serves them (issue 11): no token, ETags and cache headers, gzip,
and nothing but the built site (``functions/api/static``) reachable."""

from __future__ import annotations

import base64
import gzip
import re
from pathlib import Path

from devstack.lambda_runtime import LambdaContext
from devstack.template import http_api, load_template
from tests.integration.conftest import ROOT, ApiCaller, api_event, api_module

SITE = ROOT / "functions" / "api" / "static"


def built_assets() -> list[Path]:
    return sorted((SITE / "assets").iterdir())


def test_index_needs_no_token_and_is_revalidated_on_every_load(call_api: ApiCaller) -> None:
    reply = call_api("GET", "/", team_id=None)
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert reply.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in reply.headers["content-security-policy"]
    assert reply.text == (SITE / "index.html").read_text()
    etag = reply.headers["etag"]
    assert re.fullmatch(r'W/"[0-9a-f]{32}"', etag)

    again = call_api("GET", "/", team_id=None, headers={"If-None-Match": etag})
    assert again.status == 304 and again.text == ""
    assert again.headers["etag"] == etag
    changed = call_api("GET", "/", team_id=None, headers={"If-None-Match": 'W/"something-else"'})
    assert changed.status == 200


def test_every_asset_the_index_names_is_served_immutable(call_api: ApiCaller) -> None:
    index = (SITE / "index.html").read_text()
    named = re.findall(r'(?:src|href)="(/assets/[^"]+)"', index)
    assert {f"/assets/{p.name}" for p in built_assets()} == set(named)
    for path in named:
        reply = call_api("GET", path, team_id=None)
        assert reply.status == 200, path
        assert reply.headers["cache-control"] == "public, max-age=31536000, immutable"
        kind = "application/javascript" if path.endswith(".js") else "text/css"
        assert reply.headers["content-type"] == f"{kind}; charset=utf-8"
        assert reply.text == (SITE / path.lstrip("/")).read_text()


def test_assets_go_out_gzipped_to_browsers_that_take_it(call_api: ApiCaller, lambda_context: LambdaContext) -> None:
    script = next(p for p in built_assets() if p.suffix == ".js")
    event = api_event("GET", f"/assets/{script.name}", None, headers={"Accept-Encoding": "gzip, deflate, br"})
    result = api_module().handler(event, lambda_context)
    assert result["headers"]["Content-Encoding"] == "gzip" and result["isBase64Encoded"] is True
    body = gzip.decompress(base64.b64decode(result["body"]))
    assert body == script.read_bytes()
    assert len(result["body"]) * 3 / 4 < script.stat().st_size / 2  # it is worth it


def test_unknown_files_and_escapes_are_404_json(call_api: ApiCaller) -> None:
    for path in ("/assets/nope.js", "/assets/..%2Findex.html", "/assets/%2E%2E%2F%2E%2E%2Fapp.py", "/assets/app.py"):
        reply = call_api("GET", path, team_id=None)
        assert reply.status == 404, path
        assert reply.json()["error"]["code"] == "not_found"


def test_the_template_routes_the_site_without_the_authorizer() -> None:
    routes = {r.route_key: r for r in http_api(load_template()).routes}
    assert routes["GET /"].authorizer is None and routes["GET /"].function == "ApiFunction"
    assert routes["GET /assets/{name}"].authorizer is None
    assert routes["ANY /{proxy+}"].authorizer == "TeamTokenAuthorizer"
