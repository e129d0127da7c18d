"""``GET /teams/me``: the calling team, the simplest proof that auth works end to end."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agiletrack.http.context import team_id_from_event, team_name_from_event
from agiletrack.http.responses import BEARER, responses
from agiletrack.models.teams import TeamView

router = APIGatewayHttpRouter()


@router.get(
    "/teams/me",
    operation_id="get_my_team",
    summary="The calling team",
    tags=["teams"],
    security=BEARER,
    responses=responses(200, "The team the token belongs to", outage=False),  # from the authorizer's context
)
def get_my_team() -> TeamView:
    event = router.current_event.raw_event
    return TeamView(id=team_id_from_event(event), name=team_name_from_event(event))
