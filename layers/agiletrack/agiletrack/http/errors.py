"""The one place that turns errors into HTTP answers: ``{"error": {"code", "message", "details"?}}``."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from agiletrack.errors import AgileTrackError
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
