"""Builds the API function's Powertools resolver: routers, OpenAPI, and the one error mapping."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from agiletrack import __version__
from agiletrack.errors import AgileTrackError
from agiletrack.http.errors import JSON, error_response, from_domain_error, from_validation_error
from agiletrack.http.routers import teams
from agiletrack.observability import logger

MAX_BODY_BYTES = 256 * 1024
OPENAPI_TITLE = "AgileTrack Integrations API"


def _allowed_methods(app: APIGatewayHttpResolver, path: str) -> list[str]:
    routes = app._static_routes + app._dynamic_routes
    return sorted({r.method for r in routes if r.rule.match(path)})


def build_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    app.include_router(teams.router)
    for extra in _extra_routers():
        app.include_router(extra)

    @app.get("/health", summary="Liveness check (no token needed)", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/openapi.json", summary="This OpenAPI document", tags=["meta"], include_in_schema=False)
    def openapi() -> Response[str]:
        return Response(status_code=200, content_type=JSON, body=openapi_document(app))

    @app.exception_handler(AgileTrackError)
    def domain_error(exc: AgileTrackError) -> Response[str]:
        return from_domain_error(exc)

    @app.exception_handler(RequestValidationError)
    def validation_error(exc: RequestValidationError) -> Response[str]:
        return from_validation_error(exc)

    @app.not_found
    def not_found(_exc: NotFoundError) -> Response[str]:
        path = app.current_event.path
        allowed = _allowed_methods(app, path)
        if allowed:
            response = error_response(
                405, "method_not_allowed", f"{app.current_event.http_method} is not allowed on {path}."
            )
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return error_response(404, "not_found", f"No route for {path}.")

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response[str]:
        logger.exception("unexpected error", extra={"error_type": type(exc).__name__})
        return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")

    return app


def _extra_routers() -> list[Any]:
    """Routers of the config and metrics API (added as their modules exist)."""
    from importlib import import_module

    found = []
    for name in ("integrations", "metrics"):
        try:
            module = import_module(f"agiletrack.http.routers.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"agiletrack.http.routers.{name}":
                raise
            continue
        found.append(module.router)
    return found


def openapi_document(app: APIGatewayHttpResolver) -> str:
    return app.get_openapi_json_schema(
        title=OPENAPI_TITLE,
        version=__version__,
        description="Connect GitHub, Jira and Trello; read delivery metrics. "
        "Every route but /health, /openapi.json and the webhooks needs `Authorization: Bearer <team token>`.",
        security_schemes={"bearerAuth": HTTPBearer(scheme="bearer")},
        security=[{"bearerAuth": []}],
    )


def oversized(event: dict[str, Any]) -> Response[str] | None:
    """A body over the API's limit is refused before any parsing."""
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        return error_response(
            413, "payload_too_large", f"The request body is {size} bytes; the limit is {MAX_BODY_BYTES}."
        )
    return None


def to_lambda_response(response: Response[str]) -> dict[str, Any]:
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": response.content_type or JSON, **dict(response.headers)},
        "body": response.body if isinstance(response.body, str) else json.dumps(response.body),
        "isBase64Encoded": False,
    }
