"""HTTP API Lambda REQUEST authorizer (payload 2.0, simple responses) for team bearer tokens.

A valid token is authorized with the team in the context. Anything else raises ``Unauthorized``,
which API Gateway turns into a 401 (a plain ``isAuthorized: false`` would give 403).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agiletrack.adapters.aws.teams import team_store
from agiletrack.domain.teams import authenticate, parse_bearer
from agiletrack.observability import logger, metrics, tracer


class UnauthorizedError(Exception):
    """Its message must be exactly ``Unauthorized``: API Gateway matches on it to answer 401."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    found = authenticate(team_store(), parse_bearer(headers.get("authorization")))
    if found is None:
        logger.info("token refused", extra={"route": event.get("routeKey")})
        metrics.add_metric(name="TokensRefused", unit=MetricUnit.Count, value=1)
        raise UnauthorizedError
    team_id, team_name = found
    logger.append_keys(team_id=team_id)
    metrics.add_metric(name="TokensAccepted", unit=MetricUnit.Count, value=1)
    return {"isAuthorized": True, "context": {"team_id": team_id, "team_name": team_name}}
