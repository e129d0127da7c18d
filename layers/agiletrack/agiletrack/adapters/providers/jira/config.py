"""The config of a Jira integration: a Jira Cloud site, one project and optionally its board."""

from __future__ import annotations

import re

from pydantic import ConfigDict, Field, field_validator

from agiletrack.models.base import Model
from agiletrack.models.integrations import NonEmpty, ProviderUrl

_JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,49}$")


class JiraConfig(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    server_url: ProviderUrl = Field(description="https://your-site.atlassian.net")
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    api_token: NonEmpty
    project_key: str
    board_id: int | None = Field(default=None, ge=1)

    @field_validator("project_key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _JIRA_KEY.match(value):
            raise ValueError("must be a Jira project key such as ENG")
        return value

    @property
    def root(self) -> str:
        return str(self.server_url).rstrip("/")
