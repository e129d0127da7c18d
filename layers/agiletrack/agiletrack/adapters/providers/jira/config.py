"""The config of a Jira integration: a Jira Cloud site, one project and optionally its board."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from agiletrack.models.base import Model
from agiletrack.models.integrations import NonEmpty, ProviderUrl

_JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,49}$")


def _json_integer(value: Any) -> Any:
    """A JSON integer, ``7`` or ``7.0`` (JSON Schema's ``integer`` takes both); text and booleans are refused,
    not coerced as pydantic's lax mode would (``"7"``, ``true``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    return value


BoardId = Annotated[int, Field(ge=1), BeforeValidator(_json_integer), WithJsonSchema({"type": "integer", "minimum": 1})]
"""(pydantic leaves ``ge`` as an unknown key in the schema of a type with a before-validator: written out.)"""


class JiraConfig(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    server_url: ProviderUrl = Field(description="https://your-site.atlassian.net")
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    api_token: NonEmpty
    project_key: str = Field(examples=["ENG"], json_schema_extra={"pattern": _JIRA_KEY.pattern})
    board_id: BoardId | None = None

    @field_validator("project_key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _JIRA_KEY.match(value):
            raise ValueError("must be a Jira project key such as ENG")
        return value

    @property
    def root(self) -> str:
        return str(self.server_url).rstrip("/")
