"""A small GitHub GraphQL client over ``ProviderHttp``.

It posts a document, keeps the quota GitHub reports (``rateLimit`` in the answer, ``x-ratelimit-*``
headers) in ``ApiStats``, refuses to send a query the remaining quota cannot pay for, and turns
GitHub's answers into the typed errors of ``agiletrack.errors``:

- HTTP 401 → ``AuthError``; HTTP 403/429 with ``retry-after`` or ``x-ratelimit-remaining: 0``, or a
  403 saying "rate limit" → ``RateLimitError`` (the ``classify`` hook, also used by REST calls);
- an error of type ``RATE_LIMITED`` (primary limit: retry at the reset time) or one whose message
  speaks of a (secondary) rate limit (retry after ``retry-after``, else 60 s) → ``RateLimitError``;
- ``NOT_FOUND`` on ``repository`` → ``ProviderRefused("repository_not_found")``; ``FORBIDDEN`` →
  ``ProviderRefused("no_access")``;
- a timeout or resource-limit error → ``TransientProviderError`` (the caller shrinks the page);
- anything else → ``ProviderError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from agiletrack.adapters.providers.base import ApiStats
from agiletrack.adapters.providers.http import DEFAULT_RATE_LIMIT_WAIT, ProviderHttp, on_our_clock, retry_after
from agiletrack.errors import AuthError, ProviderError, ProviderRefused, RateLimitError, TransientProviderError
from agiletrack.models.common import parse_iso

GITHUB_HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
    "User-Agent": "agiletrack-integrations",
}


def auth_headers(token: str) -> dict[str, str]:
    return {**GITHUB_HEADERS, "Authorization": f"Bearer {token}"}


def _reset_time(response: httpx.Response) -> datetime | None:
    """``x-ratelimit-reset`` (epoch seconds on GitHub's clock) on ours."""
    value = response.headers.get("x-ratelimit-reset", "").strip()
    if value.isdigit():
        return on_our_clock(datetime.fromtimestamp(int(value), UTC), response)
    return None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, Mapping):
        return str(body.get("message") or "")
    return ""


def classify(response: httpx.Response) -> None:
    """The ``ProviderHttp`` hook: GitHub's ways of saying "bad token" and "slow down"."""
    status = response.status_code
    if status == 401:
        raise AuthError("GitHub refused the token (401 Bad credentials): it is wrong, expired or revoked.")
    if status not in (403, 429):
        return
    now = datetime.now(UTC)
    when = retry_after(response, now)
    if when is not None:
        raise RateLimitError(f"GitHub's secondary rate limit is reached ({status}).", retry_at=when)
    if response.headers.get("x-ratelimit-remaining") == "0":
        raise RateLimitError(
            f"GitHub's primary rate limit is spent ({status}).",
            retry_at=_reset_time(response) or now + DEFAULT_RATE_LIMIT_WAIT,
        )
    if "rate limit" in _message(response).lower():
        raise RateLimitError(
            f"GitHub's secondary rate limit is reached ({status}).", retry_at=now + DEFAULT_RATE_LIMIT_WAIT
        )


class GraphQLClient:
    def __init__(self, http: ProviderHttp, url: str, stats: ApiStats) -> None:
        self.http = http
        self.url = url
        self.stats = stats

    def ensure_budget(self, cost: int) -> None:
        """Raise ``RateLimitError`` instead of sending a query the remaining points cannot pay for."""
        remaining, reset_at = self.stats.quota_remaining, self.stats.quota_reset_at
        if remaining is None:
            return
        now = datetime.now(UTC)
        if reset_at is not None and reset_at <= now:
            return  # the window has rolled over since GitHub last told us
        if remaining < cost:
            raise RateLimitError(
                f"GitHub's GraphQL quota has {remaining} points left, the next query needs {cost}.",
                retry_at=reset_at or now + DEFAULT_RATE_LIMIT_WAIT,
            )

    def execute(
        self,
        query: str,
        variables: Mapping[str, Any],
        *,
        operation: str,
        allow_not_found: bool = False,
    ) -> dict[str, Any]:
        """The ``data`` of the answer. ``allow_not_found`` accepts ``NOT_FOUND`` below the repository
        (an object that no longer exists answers null)."""
        response = self.http.post(
            self.url, json={"query": query, "variables": dict(variables), "operationName": operation}
        )
        self._headers_quota(response)
        if response.status_code == 403:
            raise ProviderRefused(
                "no_access", f"GitHub refused access to the repository (403): {_message(response) or 'forbidden'}."
            )
        if response.status_code == 404:
            raise ProviderError("GitHub's GraphQL endpoint was not found (404): check api_url.")
        if response.status_code != 200:
            raise ProviderError(f"GitHub GraphQL answered {response.status_code}.")
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderError("GitHub GraphQL answered something that is not JSON.") from exc
        if not isinstance(body, dict):
            raise ProviderError("GitHub GraphQL answered an unexpected document.")
        data = body.get("data")
        if isinstance(data, dict):
            self._body_quota(data.get("rateLimit"), response)
        errors = body.get("errors") or []
        if errors:
            self._raise_for(errors, response, has_data=isinstance(data, dict), allow_not_found=allow_not_found)
        if not isinstance(data, dict):
            raise ProviderError("GitHub GraphQL answered without data.")
        return data

    # ------------------------------------------------------------------ quota
    def _headers_quota(self, response: httpx.Response) -> None:
        limit = response.headers.get("x-ratelimit-limit", "")
        remaining = response.headers.get("x-ratelimit-remaining", "")
        if limit.isdigit():
            self.stats.quota_limit = int(limit)
        if remaining.isdigit():
            self.stats.quota_remaining = int(remaining)
        reset = _reset_time(response)
        if reset is not None:
            self.stats.quota_reset_at = reset

    def _body_quota(self, rate: object, response: httpx.Response) -> None:
        if not isinstance(rate, dict):
            return
        if isinstance(rate.get("cost"), int):
            self.stats.points_spent += rate["cost"]
        if isinstance(rate.get("remaining"), int):
            self.stats.quota_remaining = rate["remaining"]
        if isinstance(rate.get("limit"), int):
            self.stats.quota_limit = rate["limit"]
        if isinstance(rate.get("resetAt"), str):
            self.stats.quota_reset_at = on_our_clock(parse_iso(rate["resetAt"]), response)

    # ------------------------------------------------------------------ errors
    def _raise_for(self, errors: list[Any], response: httpx.Response, *, has_data: bool, allow_not_found: bool) -> None:
        now = datetime.now(UTC)
        for error in errors:
            if not isinstance(error, dict):
                continue
            kind = str(error.get("type") or "")
            message = str(error.get("message") or "")
            lowered = message.lower()
            if kind == "RATE_LIMITED" or "rate limit" in lowered:
                primary = kind == "RATE_LIMITED" or response.headers.get("x-ratelimit-remaining") == "0"
                when = retry_after(response, now)
                if when is None and primary:
                    when = self.stats.quota_reset_at or _reset_time(response)
                raise RateLimitError(
                    f"GitHub's {'primary' if primary else 'secondary'} rate limit is reached: {message}",
                    retry_at=when or now + DEFAULT_RATE_LIMIT_WAIT,
                )
        for error in errors:
            if not isinstance(error, dict):
                continue
            kind = str(error.get("type") or "")
            message = str(error.get("message") or "")
            path = error.get("path") or []
            if kind == "NOT_FOUND" and path[:1] == ["repository"] and len(path) == 1:
                raise ProviderRefused(
                    "repository_not_found", f"The repository was not found or the token cannot read it: {message}"
                )
            if kind == "NOT_FOUND" and allow_not_found and has_data:
                continue
            if kind == "FORBIDDEN":
                raise ProviderRefused("no_access", f"The token may not read this repository: {message}")
            lowered = message.lower()
            if kind in {"TIMEOUT", "RESOURCE_LIMITS_EXCEEDED"} or "timeout" in lowered or "timed out" in lowered:
                raise TransientProviderError(f"GitHub could not answer the query in time: {message}")
            raise ProviderError(f"GitHub GraphQL refused the query: {message or kind or 'unknown error'}")
