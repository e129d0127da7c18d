"""Jira Cloud REST over ``ProviderHttp``, with Jira's rate limits classified.

- ``429`` (or ``503``) with ``RateLimit-Reason: jira-burst-based`` and a wait of a few seconds is waited out in
  place (the burst limit is per second); a longer or repeated one, and every other ``429`` (the hourly quotas),
  becomes ``RateLimitError`` at the time ``Retry-After`` or ``X-RateLimit-Reset`` names.
- ``503`` with ``Retry-After`` (or ``X-RateLimit-Reset``) is a rate limit, not a transient failure; a bare ``503``
  is retried in place by ``ProviderHttp``.
- One client serves one sync and sends one request at a time: requests to a site stay serial.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from agiletrack.adapters.providers.base import ApiStats
from agiletrack.adapters.providers.http import ProviderHttp, on_our_clock, retry_after
from agiletrack.adapters.providers.jira.config import JiraConfig
from agiletrack.errors import ProviderError, ProviderRefused, RateLimitError
from agiletrack.models.common import as_utc
from agiletrack.observability import logger

BURST_REASON = "jira-burst-based"
MAX_BURST_WAIT_S = 5.0
"""A burst wait longer than this is not waited out in place: the job comes back later."""
BURST_RETRIES = 4
DEFAULT_RATE_LIMIT_WAIT = timedelta(seconds=60)


class _BurstLimited(Exception):
    def __init__(self, wait_s: float) -> None:
        super().__init__(f"burst limit, wait {wait_s:.2f} s")
        self.wait_s = wait_s


def reset_at(response: httpx.Response, now: datetime | None = None) -> datetime | None:
    """When the limit resets: ``Retry-After`` (seconds or a date), else ``X-RateLimit-Reset`` (ISO 8601)."""
    now = now or datetime.now(UTC)
    when = retry_after(response, now)
    if when is not None:
        return when
    value = response.headers.get("x-ratelimit-reset")
    if not value:
        return None
    try:
        said = as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None
    return on_our_clock(said, response)  # Jira's clock: ours may differ


class JiraClient:
    """``get`` / ``post`` answering JSON, or the typed error the answer means."""

    def __init__(
        self,
        config: JiraConfig,
        api_token: str,
        stats: ApiStats,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 20.0,
    ) -> None:
        self.config = config
        self.sleep = sleep
        self.http = ProviderHttp(
            config.root,
            headers={"Accept": "application/json"},
            auth=(config.email, api_token),
            stats=stats,
            timeout=timeout,
            transport=transport,
            sleep=sleep,
        )
        # Seen before ProviderHttp's own handling, so that a 503 with Retry-After is a rate limit, not a retry.
        self.http.client.event_hooks["response"] = [self._rate_limited]

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _rate_limited(self, response: httpx.Response) -> None:
        status = response.status_code
        if status not in (429, 503):
            return
        now = datetime.now(UTC)
        when = reset_at(response, now)
        if status == 503 and when is None:
            return  # transient: ProviderHttp retries it in place
        self.http.stats.calls += 1  # ProviderHttp does not count an answer a hook refused
        reason = response.headers.get("ratelimit-reason", "")
        wait_s = (when - now).total_seconds() if when is not None else None
        if reason == BURST_REASON and (wait_s is None or wait_s <= MAX_BURST_WAIT_S):
            raise _BurstLimited(max(wait_s if wait_s is not None else 1.0, 0.0) + random.uniform(0, 0.25))
        raise RateLimitError(
            f"Jira's rate limit is reached ({status}{', ' + reason if reason else ''}).",
            retry_at=when or now + DEFAULT_RATE_LIMIT_WAIT,
        )

    def request(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """One request; a burst limit is waited out in place up to ``BURST_RETRIES`` times."""
        for attempt in range(BURST_RETRIES + 1):
            try:
                return self.http.request(method, path, **kwargs)
            except _BurstLimited as burst:
                if attempt == BURST_RETRIES:
                    break
                logger.info("jira burst limit, waiting in place", extra={"wait_s": round(burst.wait_s, 2)})
                self.sleep(burst.wait_s)
        raise RateLimitError(
            f"Jira's burst rate limit persisted while asking for {what}.",
            retry_at=datetime.now(UTC) + timedelta(seconds=MAX_BURST_WAIT_S),
        )

    def get(self, path: str, what: str, params: dict[str, Any] | None = None) -> Any:
        return self.json(self.request("GET", path, what, params=params), what)

    def post(self, path: str, what: str, body: dict[str, Any]) -> Any:
        return self.json(self.request("POST", path, what, json=body), what)

    def json(self, response: httpx.Response, what: str) -> Any:
        status = response.status_code
        if status == 200:
            try:
                return response.json()
            except ValueError as exc:
                raise ProviderError(f"Jira did not answer JSON when asked for {what}.") from exc
        if status == 404:
            raise ProviderRefused("not_found", f"Jira found no {what} (404).", details={"resource": what})
        if status == 403:
            raise ProviderRefused(
                "no_access", f"This Jira user has no access to {what} (403).", details={"resource": what}
            )
        if status == 410:
            raise ProviderError(f"Jira no longer serves the API used for {what} (410 Gone).")
        raise ProviderError(f"Jira answered {status} when asked for {what}.")
