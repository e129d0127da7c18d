"""What every route documents besides its success: the error answers, in the shapes they really have, and
the token the route needs.

Two error shapes reach a client. API Gateway refuses a missing or bad token before the function runs, with
``{"message": "Unauthorized"}`` (the function answers the same on the rare path where it sees no authorizer
context); every other error is ours: ``{"error": {"code", "message", "details"?}}``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader
from pydantic import BaseModel, Field

from agiletrack.http.errors import JSON
from agiletrack.models.base import Model

BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
"""The security requirement of every route that needs the team token."""


class ErrorBody(Model):
    code: str = Field(description="Stable, machine-readable: validation_failed, not_found, repository_not_found...")
    message: str = Field(description="What went wrong, in words a person can act on")
    details: Any = Field(default=None, description="For validation_failed: [{field, reason}]; else what helps")


class ErrorResponse(Model):
    error: ErrorBody


class GatewayError(Model):
    """API Gateway's own answer (a refused token): ``{"message": "Unauthorized"}``."""

    message: str


MEANING = {
    400: "The body is not valid JSON",
    401: "Missing or invalid bearer token (API Gateway's answer)",
    404: "No such integration for this team",
    409: "Not possible for this integration type",
    413: "The body is over 256 KB",
    415: "The body is not application/json",
    422: "Invalid request (each bad field named in details), or the provider refused the config "
    "(the code names what failed)",
    429: "The provider's rate limit is reached; try again later",
    502: "The provider could not be reached or answered 5xx",
    503: "A service the API depends on (DynamoDB, Secrets Manager, SQS) failed for a moment: nothing was changed; "
    "try again after Retry-After seconds (code dependency_unavailable)",
}

RETRY_AFTER: dict[str, OpenAPIResponseHeader] = {
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
}


def links(source: str, *operation_ids: str) -> dict[str, Any]:
    """OpenAPI links from an answer to the operations on the same integration: ``integration_id`` is taken from
    ``source`` (``$response.body#/id``, or ``$request.path.integration_id`` for an answer without the id). Clients
    and schemathesis' stateful phase follow them: create, then get, patch, sync, delete what was created."""
    return {
        "".join(part.title() for part in operation_id.split("_")): {
            "operationId": operation_id,
            "parameters": {"integration_id": source},
        }
        for operation_id in operation_ids
    }


def responses(
    status: int,
    description: str,
    *codes: int,
    model: type[BaseModel] | None = None,
    linked: dict[str, Any] | None = None,
    outage: bool = True,
) -> dict[int, OpenAPIResponse]:
    """The success answer (its schema is ``model``, else the route's return type; ``linked`` its OpenAPI links) and
    the error answers of a route that needs the token: 401 and 422 always, 503 (an AWS outage) unless the route
    calls no AWS service (``outage=False``), ``codes`` besides."""
    success: OpenAPIResponse = {"description": description}
    if linked:
        success["links"] = linked
    if status == 204:
        success["content"] = {}
    elif model is not None:
        success["content"] = {JSON: {"model": model}}
    errors: dict[int, OpenAPIResponse] = {
        code: {
            "description": MEANING[code],
            "content": {JSON: {"model": GatewayError if code == 401 else ErrorResponse}},
        }
        for code in sorted({401, 422, *codes, *([503] if outage else [])})
    }
    if outage:
        errors[503]["headers"] = RETRY_AFTER
    return {status: success, **errors}
