"""``GET /integrations/{id}/metrics``: the document ../shared/METRICS.md defines for the integration's type."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agiletrack.http.context import team_id_from_event
from agiletrack.wiring import integration_service, metrics_service

router = APIGatewayHttpRouter()


@router.get(
    "/integrations/<integration_id>/metrics",
    summary="Delivery metrics of an integration over a window",
    description="The window is [since, until), ISO 8601, UTC; by default the 30 days that end now. "
    "Snapshot metrics (the state now) live under the key `now` and ignore the window.",
    tags=["metrics"],
)
def get_metrics(
    integration_id: str,
    since: Annotated[str | None, Query(description="Start of the window (inclusive), ISO 8601")] = None,
    until: Annotated[str | None, Query(description="End of the window (exclusive), ISO 8601")] = None,
    sprint_id: Annotated[str | None, Query(description="Jira: the sprint whose burndown to show")] = None,
) -> dict[str, Any]:
    integration = integration_service().owned(team_id_from_event(router.current_event.raw_event), integration_id)
    params = {"sprint_id": sprint_id} if sprint_id else {}
    return metrics_service().document(integration, since, until, params)
