"""The one place that turns errors into HTTP answers: ``{"error": {"code", "message", "details"?}}``."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from agiletrack.adapters.aws.faults import is_transient
from agiletrack.errors import AgileTrackError, DependencyUnavailable
from agiletrack.observability import logger

JSON = "application/json"


def error_response(status: int, code: str, message: str, details: Any = None) -> Response[str]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return Response(status_code=status, content_type=JSON, body=json.dumps({"error": error}, default=str))


def from_domain_error(exc: AgileTrackError) -> Response[str]:
    if exc.status >= 500:
        logger.warning("request failed", extra={"code": exc.code, "error": exc.message})
    return error_response(exc.status, exc.code, exc.message, exc.details)


RETRY_AFTER_SECONDS = 30
"""What a 503 for an AWS outage asks the caller to wait (SDK retries already took a few seconds)."""


def from_dependency_error(exc: Exception) -> Response[str] | None:
    """503 ``dependency_unavailable`` with ``Retry-After`` for an AWS call that failed transiently (throttled,
    5xx, unreachable) after botocore's retries; None for anything else (a defect: the caller answers 500)."""
    if not is_transient(exc):
        return None
    logger.warning("dependency unavailable", extra={"error_type": type(exc).__name__, "error": str(exc)[:300]})
    error = DependencyUnavailable("A service we depend on is unavailable right now; try again in a moment.")
    response = error_response(error.status, error.code, error.message)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _location(loc: Any) -> str:
    parts = [str(p) for p in (loc or ()) if p not in ("body",)]
    return ".".join(parts) or "body"


def from_validation_error(exc: RequestValidationError) -> Response[str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "invalid_json", "The request body is not valid JSON.")
    details = [{"field": _location(e.get("loc")), "reason": str(e.get("msg", "invalid"))} for e in errors]
    summary = "; ".join(f"{d['field']}: {d['reason']}" for d in details[:5])
    return error_response(422, "validation_failed", f"Invalid request: {summary}", details)
