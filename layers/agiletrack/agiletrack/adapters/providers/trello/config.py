"""The config of a Trello integration: a board and the lists of its workflow, in order."""

from __future__ import annotations

import os
import re

from pydantic import ConfigDict, Field, field_validator

from agiletrack.models.base import Model
from agiletrack.models.integrations import NonEmpty

DEFAULT_API_URL = "https://api.trello.com"
API_URL_ENV = "TRELLO_API_URL"


def api_root(environ: dict[str, str] | None = None) -> str:
    """The Trello API root: ``TRELLO_API_URL`` (the local stack points it at a fake) or Trello's own, read on
    every call so a test or the local stack can change it."""
    value = (os.environ if environ is None else environ).get(API_URL_ENV, "").strip()
    return (value or DEFAULT_API_URL).rstrip("/")


_TRELLO_ID = re.compile(r"^[0-9a-fA-F]{24}$")


class TrelloConfig(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    api_key: NonEmpty
    api_token: NonEmpty
    board_id: str = Field(min_length=1, max_length=64)
    list_ids: list[str] = Field(
        min_length=2,
        max_length=50,
        description="The workflow in order: waiting ... done",
        json_schema_extra={"uniqueItems": True, "items": {"type": "string", "pattern": _TRELLO_ID.pattern}},
    )
    api_secret: NonEmpty | None = Field(
        default=None, description="Trello application secret, to verify webhook signatures"
    )

    @field_validator("list_ids")
    @classmethod
    def _lists(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a list id")
        for list_id in value:
            if not _TRELLO_ID.match(list_id):
                raise ValueError(f"{list_id!r} is not a Trello list id (24 hex characters)")
        return value
