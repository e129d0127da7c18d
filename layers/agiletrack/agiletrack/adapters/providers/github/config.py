"""The config of a GitHub integration: one repository and branch, and the API root the token is sent to."""

from __future__ import annotations

import re

from pydantic import ConfigDict, Field, HttpUrl, StrictBool, field_validator

from agiletrack.models.base import Model
from agiletrack.models.integrations import NonEmpty, ProviderUrl

_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_BRANCH_FORBIDDEN = re.compile(r"(\.\.|[\x00-\x20~^:?*\[\\]|@\{|//|^/|/$|\.lock$|\.$)")


class GitHubConfig(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    repository: str = Field(
        description='"owner/name"',
        examples=["octo-org/octo-repo"],
        json_schema_extra={"pattern": _REPO.pattern, "not": {"pattern": r"\.git$"}},
    )
    token: NonEmpty = Field(description="A GitHub token that can read the repository (kept in Secrets Manager)")
    branch: str = Field(
        default="main", min_length=1, max_length=255, json_schema_extra={"not": {"pattern": _BRANCH_FORBIDDEN.pattern}}
    )
    include_private: StrictBool = False  # JSON true or false: 0, 1 or "yes" are refused, not coerced to one
    api_url: ProviderUrl = Field(
        default=HttpUrl("https://api.github.com"),
        description="REST API root; a GitHub Enterprise Server root such as https://ghe.example.com/api/v3 works too",
    )

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not _REPO.match(value) or value.endswith((".git",)):
            raise ValueError('must be "owner/name", for example "octo-org/octo-repo"')
        return value

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        if _BRANCH_FORBIDDEN.search(value):
            raise ValueError("is not a valid git branch name")
        return value

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repository.split("/", 1)[1]

    @property
    def rest_root(self) -> str:
        return str(self.api_url).rstrip("/")

    @property
    def graphql_url(self) -> str:
        """``https://api.github.com/graphql``; on GitHub Enterprise Server ``https://HOST/api/graphql``."""
        root = self.rest_root
        if root.endswith("/api/v3"):
            return root[: -len("/v3")] + "/graphql"
        return root + "/graphql"
