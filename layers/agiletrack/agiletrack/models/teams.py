"""Teams and their API tokens (only a SHA-256 hash of a token is ever stored)."""

from __future__ import annotations

from pydantic import Field

from agiletrack.models.base import Model
from agiletrack.models.common import UtcDatetime


class Team(Model):
    id: str
    name: str = Field(min_length=1, max_length=100)
    created_at: UtcDatetime
    token_hash: str | None = None
    """Hash of the current token; None once revoked."""


class TeamView(Model):
    """What the API shows of a team."""

    id: str
    name: str
