"""What the authorizer passed on: the calling team."""

from __future__ import annotations

from typing import Any

from agiletrack.errors import Unauthorized


def team_id_from_event(event: Any) -> str:
    """The team id the authorizer put in the request context (payload v2, simple responses)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    team_id = (authorizer.get("lambda") or {}).get("team_id")
    if not team_id:
        raise Unauthorized("Missing or invalid bearer token.")
    return str(team_id)


def team_name_from_event(event: Any) -> str:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    return str((authorizer.get("lambda") or {}).get("team_name") or "")
