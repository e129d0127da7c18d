"""Teams and their bearer tokens. A token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agiletrack.errors import NotFound, ValidationFailed
from agiletrack.models.times import new_id, utcnow

if TYPE_CHECKING:
    # ``authenticate`` and ``parse_bearer`` (the authorizer) use no model: ``Team`` is imported where one is made.
    from agiletrack.domain.ports import TeamStore
    from agiletrack.models.teams import Team

TOKEN_PREFIX = "at_"


@dataclass(frozen=True)
class CreatedTeam:
    team: Team
    token: str


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_team(store: TeamStore, name: str) -> CreatedTeam:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("A team name needs 1 to 100 characters.")
    from agiletrack.models.teams import Team

    token = new_token()
    team = Team(id=new_id("team"), name=name, created_at=utcnow(), token_hash=hash_token(token))
    store.create(team)
    return CreatedTeam(team=team, token=token)


def list_teams(store: TeamStore) -> list[Team]:
    return sorted(store.all(), key=lambda t: (t.created_at, t.id))


def find_team_by_name(store: TeamStore, name: str) -> Team | None:
    return next((t for t in list_teams(store) if t.name == name), None)


def _require(store: TeamStore, team_id: str) -> Team:
    team = store.get(team_id)
    if team is None:
        raise NotFound(f"No team {team_id}.")
    return team


def rotate_token(store: TeamStore, team_id: str) -> str:
    """Issue a new token for the team; the old one stops working at once."""
    team = _require(store, team_id)
    token = new_token()
    store.replace_token(team, hash_token(token))
    return token


def revoke_token(store: TeamStore, team_id: str) -> None:
    """Revoke the team's token; the team keeps its data and can get a new token with ``rotate_token``."""
    store.replace_token(_require(store, team_id), None)


def parse_bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None when malformed."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or " " in value or len(value) > 512:
        return None
    return value


def authenticate(store: TeamStore, token: str | None) -> tuple[str, str] | None:
    """(team id, team name) for a valid token, else None."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    # One read: a token item exists only while its token is current (rotation and revocation delete it
    # in the same transaction that changes the team), and the key itself is the hash, so the lookup is
    # not a comparison an attacker can time.
    return store.by_token_hash(hash_token(token))
