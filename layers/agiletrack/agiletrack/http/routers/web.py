"""The dashboard's static files: ``GET /`` (index.html) and ``GET /assets/{name}`` (hashed, immutable).

No token is needed for them (template.yaml routes them with ``Authorizer: NONE``); every API call the page
makes sends the team token. Files are read once per container from the built site the ``api`` function
ships (``functions/api/static``, built from ``web/`` by ``make web``).
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agiletrack.http.errors import error_response

INDEX_CACHE = "no-cache"
"""index.html is revalidated on every load (its ETag makes that a 304), so a deploy shows at once."""
ASSET_CACHE = "public, max-age=31536000, immutable"
"""Asset names carry a hash of their content: a changed file is a new name, so a year is safe."""
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")


@dataclass(frozen=True)
class StaticFile:
    """One file of the built site: its bytes, content type and entity tag."""

    body: bytes
    content_type: str
    etag: str

    @property
    def is_text(self) -> bool:
        return self.content_type.startswith(_TEXT_TYPES)


def _content_type(path: Path) -> str:
    kind = {".js": "application/javascript", ".mjs": "application/javascript", ".css": "text/css"}.get(path.suffix)
    kind = kind or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith(_TEXT_TYPES) else kind


@cache
def load_site(root: Path) -> dict[str, StaticFile]:
    """Every file under ``root`` by its URL path (``/index.html``, ``/assets/index-abc123.js``)."""
    site: dict[str, StaticFile] = {}
    if not root.is_dir():
        return site
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        body = path.read_bytes()
        etag = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'  # weak: the body may go out gzipped
        site["/" + path.relative_to(root).as_posix()] = StaticFile(body, _content_type(path), etag)
    return site


def _answer(file: StaticFile, cache_control: str, if_none_match: str | None) -> Response[str | bytes]:
    headers = {"ETag": file.etag, "Cache-Control": cache_control, "X-Content-Type-Options": "nosniff"}
    if file.content_type.startswith("text/html"):
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["Referrer-Policy"] = "no-referrer"
    tags = {tag.strip() for tag in (if_none_match or "").split(",")}
    if file.etag in tags or file.etag.removeprefix("W/") in tags or "*" in tags:
        return Response(status_code=304, headers=headers, body="")
    body: str | bytes = file.body.decode("utf-8") if file.is_text else file.body
    return Response(status_code=200, content_type=file.content_type, headers=headers, body=body)


def _not_found(message: str) -> Response[str | bytes]:
    refusal = error_response(404, "not_found", message)
    return Response(status_code=404, content_type=refusal.content_type, body=refusal.body)


def web_router(root: Path) -> APIGatewayHttpRouter:
    """The routes that serve the site built into ``root``."""
    router = APIGatewayHttpRouter()

    def if_none_match() -> str | None:
        return router.current_event.headers.get("if-none-match")

    @router.get("/", summary="The dashboard (no token needed)", include_in_schema=False, compress=True)
    def index() -> Response[str | bytes]:
        file = load_site(root).get("/index.html")
        if file is None:
            return _not_found("The dashboard is not built: run `make web`.")
        return _answer(file, INDEX_CACHE, if_none_match())

    @router.get("/assets/<name>", summary="A dashboard asset", include_in_schema=False, compress=True)
    def asset(name: str) -> Response[str | bytes]:
        file = load_site(root).get(f"/assets/{name}")
        if file is None:
            return _not_found(f"No asset named {name}.")
        return _answer(file, ASSET_CACHE, if_none_match())

    return router
