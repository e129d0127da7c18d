"""Try Jira Cloud credentials before anything is stored.

1. the user authenticates: ``GET /rest/api/3/myself`` with basic auth ``email:api_token``;
2. the project exists and this user can see it: ``GET /rest/api/3/project/{key}``;
3. the board, when given, exists (``GET /rest/agile/1.0/board/{id}``) and, when its answer names a project,
   belongs to that project.

Refusals the user can fix raise ``AuthError`` or ``ProviderRefused`` (422); a site that cannot be reached or
answers 5xx raises ``ProviderError`` (502). Nothing here logs or repeats a credential.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from agiletrack.adapters.providers.base import ValidationInfo
from agiletrack.adapters.providers.http import ProviderHttp
from agiletrack.adapters.providers.jira.config import JiraConfig
from agiletrack.errors import AuthError, ProviderError, ProviderRefused


class JiraValidator:
    """``validator(config, credentials)``: a callable so the integration service can take it as a port."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        transient_retries: int = 1,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.timeout = timeout
        self.transient_retries = transient_retries
        self.transport = transport
        self.sleep = sleep

    def __call__(self, config: BaseModel, credentials: Mapping[str, str]) -> ValidationInfo:
        if not isinstance(config, JiraConfig):
            raise TypeError(f"JiraValidator needs a JiraConfig, not {type(config).__name__}")
        token = credentials.get("api_token") or config.api_token
        with ProviderHttp(
            config.root,
            headers={"Accept": "application/json"},
            auth=(config.email, token),
            timeout=self.timeout,
            transient_retries=self.transient_retries,
            transport=self.transport,
            sleep=self.sleep,
        ) as http:
            return self._check(http, config)

    def _check(self, http: ProviderHttp, config: JiraConfig) -> ValidationInfo:
        try:
            me = _json(
                http.get("/rest/api/3/myself"),
                config,
                "your Jira user",
                ProviderRefused(
                    "site_not_found",
                    f"{config.root} has no Jira Cloud REST API; give the site's address, such as "
                    "https://your-site.atlassian.net.",
                ),
            )
        except AuthError as exc:
            raise AuthError(
                "Jira refused the email and API token (401): check both, and that the token has not been revoked."
            ) from exc
        project = _json(
            http.get(f"/rest/api/3/project/{quote(config.project_key, safe='')}"),
            config,
            f"project {config.project_key}",
            ProviderRefused(
                "project_not_found",
                f"Jira project {config.project_key} does not exist, or this user cannot see it.",
                details={"project_key": config.project_key},
            ),
        )
        details: dict[str, Any] = {"account_id": me.get("accountId"), "project_id": project.get("id")}
        if config.board_id is not None:
            board = _json(
                http.get(f"/rest/agile/1.0/board/{config.board_id}"),
                config,
                f"board {config.board_id}",
                ProviderRefused(
                    "board_not_found",
                    f"Jira board {config.board_id} does not exist, or this user cannot see it.",
                    details={"board_id": config.board_id},
                ),
            )
            location = board.get("location")
            owner = location.get("projectKey") if isinstance(location, dict) else None
            if isinstance(owner, str) and owner and owner != config.project_key:
                raise ProviderRefused(
                    "board_not_in_project",
                    f"Jira board {config.board_id} belongs to project {owner}, not {config.project_key}.",
                    details={"board_id": config.board_id, "board_project": owner, "project_key": config.project_key},
                )
            details["board_type"] = board.get("type")
        return ValidationInfo(details=details)


def _json(response: httpx.Response, config: JiraConfig, what: str, not_found: ProviderRefused) -> dict[str, Any]:
    """The JSON object of a 200 answer, or the typed error its status means."""
    status = response.status_code
    if status == 200:
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderError(
                f"{config.root} did not answer like Jira Cloud (not JSON) when asked for {what}."
            ) from exc
        if not isinstance(body, dict):
            raise ProviderError(f"{config.root} did not answer like Jira Cloud when asked for {what}.")
        return body
    if status == 404:
        raise not_found
    if status == 403:
        raise ProviderRefused("no_access", f"This Jira user has no access to {what} (403).", details={"resource": what})
    if 300 <= status < 400:
        raise ProviderRefused(
            "site_not_found",
            f"{config.root} answered with a redirect ({status}) when asked for {what}; "
            "give the Jira site's own address, such as https://your-site.atlassian.net.",
        )
    if status >= 500:
        raise ProviderError(f"Jira answered {status} when asked for {what}; try again later.")
    raise ProviderError(f"Jira answered {status} when asked for {what}.")


def make_validator(timeout: float) -> JiraValidator:
    """The validator the integration service uses (``ProviderSpec.validator``)."""
    return JiraValidator(timeout=timeout)
