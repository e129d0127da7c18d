"""The one place that turns errors into HTTP answers: ``{"error": {"code", "message", "details"?}}``.

Two forms of the same answers: Powertools ``Response`` objects for the API's resolver, and Lambda proxy results
(``proxy_error``) for the webhooks function, which answers without a resolver (its cold start: Powertools' event
handler is about 0.2x a bare ``import boto3``). Powertools' event handler is imported where a ``Response`` is
made, so importing this module does not load it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agiletrack.adapters.aws.faults import is_transient
from agiletrack.errors import AgileTrackError, DependencyUnavailable
from agiletrack.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

JSON = "application/json"
RETRY_AFTER_SECONDS = 30
"""What a 503 for an AWS outage asks the caller to wait (SDK retries already took a few seconds)."""


def error_body(code: str, message: str, details: Any = None) -> str:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return json.dumps({"error": error}, default=str)


def error_response(status: int, code: str, message: str, details: Any = None) -> Response[str]:
    from aws_lambda_powertools.event_handler import Response

    return Response(status_code=status, content_type=JSON, body=error_body(code, message, details))


def proxy_result(status: int, body: str = "", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A Lambda proxy result (HTTP API payload 2.0) with a JSON content type."""
    return {"statusCode": status, "headers": {"Content-Type": JSON, **(headers or {})}, "body": body}


def proxy_error(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return proxy_result(status, error_body(code, message, details), headers)


def logged_domain_error(exc: AgileTrackError) -> AgileTrackError:
    if exc.status >= 500:
        logger.warning("request failed", extra={"code": exc.code, "error": exc.message})
    return exc


def from_domain_error(exc: AgileTrackError) -> Response[str]:
    logged_domain_error(exc)
    return error_response(exc.status, exc.code, exc.message, exc.details)


def dependency_unavailable(exc: Exception) -> DependencyUnavailable | None:
    """The 503 ``dependency_unavailable`` error for an AWS call that failed transiently (throttled, 5xx,
    unreachable) after botocore's retries, logged; None for anything else (a defect: the caller answers 500)."""
    if not is_transient(exc):
        return None
    logger.warning("dependency unavailable", extra={"error_type": type(exc).__name__, "error": str(exc)[:300]})
    return DependencyUnavailable("A service we depend on is unavailable right now; try again in a moment.")


def from_dependency_error(exc: Exception) -> Response[str] | None:
    """``dependency_unavailable`` as a ``Response`` with ``Retry-After``; None when ``exc`` is not one."""
    error = dependency_unavailable(exc)
    if error is None:
        return None
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
