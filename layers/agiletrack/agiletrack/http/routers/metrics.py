"""``GET /integrations/{id}/metrics``: the document ../shared/METRICS.md defines for the integration's type."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agiletrack.adapters.providers.registry import spec_for, specs
from agiletrack.http.context import team_id_from_event
from agiletrack.http.responses import BEARER, responses
from agiletrack.metrics.documents import MetricsDocument
from agiletrack.wiring import integration_service, metrics_service

router = APIGatewayHttpRouter()

INSTANT = {"format": "date-time", "examples": ["2026-10-01T00:00:00Z"]}
"""A window bound: an RFC 3339 date-time (any offset; a plain date such as 2026-10-01 is taken as UTC midnight
too). Both bounds lie in [1970-01-01, 9999-01-01], since before until and at most three years apart (422
otherwise, which no JSON Schema keyword can say)."""


def _provider_params_text() -> str:
    """The provider-declared query parameters, for the route description."""
    lines = [
        f"`{name}` ({spec.name}): {description}" for spec in specs() for name, description in spec.metric_params.items()
    ]
    if not lines:
        return ""
    return " Parameters of one provider, ignored for the others: " + "; ".join(lines) + "."


def provider_params(kind: str, query: dict[str, str] | None) -> dict[str, str]:
    """The query parameters the provider of ``kind`` declares (``ProviderSpec.metric_params``), as given; every
    other parameter is left out."""
    declared = spec_for(kind).metric_params
    return {name: value for name, value in (query or {}).items() if name in declared and value}


@router.get(
    "/integrations/<integration_id>/metrics",
    operation_id="get_metrics",
    summary="Delivery metrics of an integration over a window",
    description="The window is [since, until), RFC 3339 date-times (a plain date is UTC midnight), at most three "
    "years long, inside 1970-01-01 to 9999-01-01 (else 422); by default the 30 days that end now. "
    "Snapshot metrics (the state now) live under the key `now` and ignore the window." + _provider_params_text(),
    tags=["metrics"],
    security=BEARER,
    responses=responses(200, "The metrics document of the integration's type", 404, model=MetricsDocument),
)
def get_metrics(
    integration_id: Annotated[str, Path(description="The integration id (int_...)")],
    since: Annotated[
        str | None, Query(description="Start of the window (inclusive)", json_schema_extra=INSTANT)
    ] = None,
    until: Annotated[str | None, Query(description="End of the window (exclusive)", json_schema_extra=INSTANT)] = None,
) -> dict[str, Any]:
    event = router.current_event
    integration = integration_service().owned(team_id_from_event(event.raw_event), integration_id)
    params = provider_params(integration.type, event.query_string_parameters)
    return metrics_service().document(integration, since, until, params)
