"""Builds the API function's Powertools resolver: routers, OpenAPI (``/openapi.json``, Swagger UI at ``/docs``),
and the one error mapping."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from agiletrack import __version__
from agiletrack.errors import AgileTrackError, Unauthorized
from agiletrack.http.errors import (
    JSON,
    error_response,
    from_dependency_error,
    from_domain_error,
    from_validation_error,
)
from agiletrack.http.responses import GatewayError
from agiletrack.http.routers import integrations, metrics, teams
from agiletrack.observability import logger

MAX_BODY_BYTES = 256 * 1024
OPENAPI_TITLE = "AgileTrack Integrations API"
DOCS_PATH = "/docs"
PUBLIC_PATHS = ("/health", "/openapi.json", DOCS_PATH)
"""Served without a token (their routes in template.yaml have no authorizer)."""


def _document_fields() -> dict[str, Any]:
    """What /openapi.json and the Swagger UI's copy of it are built from, so the two cannot differ."""
    return {
        "title": OPENAPI_TITLE,
        "version": __version__,
        "description": "Connect GitHub, Jira and Trello; read delivery metrics. Every route but "
        + ", ".join(PUBLIC_PATHS)
        + " and the webhooks needs `Authorization: Bearer <team token>` (each operation says so); API Gateway "
        'refuses a missing or bad one with 401 `{"message": "Unauthorized"}`.',
        "security_schemes": {"bearerAuth": _bearer()},
    }


def _bearer() -> Any:
    # Powertools' OpenAPI models (some 130 pydantic models) are imported here, by the two routes that
    # describe the API, not when the function starts.
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return HTTPBearer(scheme="bearer")


class ApiResolver(APIGatewayHttpResolver):
    """The API's resolver; the Swagger UI route (``/docs``) is added by the first request for that path, any
    method (so a wrong method still gets its 405): Powertools' ``enable_swagger`` imports its OpenAPI models,
    which no other route needs."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._docs_added = False

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        path = str(event.get("rawPath") or event.get("path") or "")
        if not self._docs_added and path.rstrip("/").endswith(DOCS_PATH):
            self.add_docs()
        return super().resolve(event, context)

    def add_docs(self) -> None:
        """Swagger UI with its script and style sheet inlined from Powertools' bundled copies (no
        swagger_base_url): nothing is loaded from another origin. The page is 1.8 MB: gzipped when the client
        accepts it (about a quarter of that)."""
        if not self._docs_added:
            self._docs_added = True
            self.enable_swagger(path=DOCS_PATH, compress=True, **_document_fields())


def _allowed_methods(app: APIGatewayHttpResolver, path: str) -> list[str]:
    routes = app._static_routes + app._dynamic_routes
    return sorted({r.method for r in routes if r.rule.match(path)})


def build_app() -> ApiResolver:
    app = ApiResolver(enable_validation=True)
    for router in (teams.router, integrations.router, metrics.router):
        app.include_router(router)

    @app.get(
        "/health",
        operation_id="health",
        summary="Liveness check (no token needed)",
        tags=["meta"],
        responses={200: {"description": "The function answers"}},
    )
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # The Swagger UI (/docs) is added on its first request: ApiResolver.add_docs.

    @app.get("/openapi.json", summary="This OpenAPI document", tags=["meta"], include_in_schema=False)
    def openapi() -> Response[str]:
        return Response(status_code=200, content_type=JSON, body=openapi_document(app))

    @app.exception_handler(AgileTrackError)
    def domain_error(exc: AgileTrackError) -> Response[str]:
        if isinstance(exc, Unauthorized):
            # No authorizer context: answered as API Gateway answers a refused token, the one 401 shape.
            body = GatewayError(message="Unauthorized").model_dump_json()
            return Response(status_code=401, content_type=JSON, body=body)
        return from_domain_error(exc)

    @app.exception_handler(RequestValidationError)
    def validation_error(exc: RequestValidationError) -> Response[str]:
        return from_validation_error(exc)

    # Powertools parses the body before validation; these are the ways that parsing fails on malformed
    # input. Each is answered as a client error instead of falling through to a 500.
    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_content_type(_exc: RequestUnsupportedContentType) -> Response[str]:
        return error_response(415, "unsupported_media_type", "Send the request body as application/json.")

    @app.exception_handler(UnicodeDecodeError)
    def undecodable_body(_exc: UnicodeDecodeError) -> Response[str]:
        return error_response(400, "invalid_json", "The request body is not valid JSON (it is not UTF-8 text).")

    @app.exception_handler(ValueError)
    def unreadable_body(exc: ValueError) -> Response[str]:
        """A multipart body without a boundary raises a bare ``ValueError`` while Powertools reads it; any
        other ``ValueError`` is a defect and answered like every unexpected error."""
        content_type = (app.current_event.headers.get("content-type") or "").strip().lower()
        if content_type and not content_type.startswith(JSON):
            return error_response(415, "unsupported_media_type", "Send the request body as application/json.")
        return internal_error(exc)

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
        return internal_error(exc)

    return app


def internal_error(exc: Exception) -> Response[str]:
    """500 for a defect; 503 ``dependency_unavailable`` when an AWS service failed transiently."""
    unavailable = from_dependency_error(exc)
    if unavailable is not None:
        return unavailable
    logger.exception("unexpected error", extra={"error_type": type(exc).__name__})
    return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")


def openapi_document(app: APIGatewayHttpResolver) -> str:
    return app.get_openapi_json_schema(**_document_fields())


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
