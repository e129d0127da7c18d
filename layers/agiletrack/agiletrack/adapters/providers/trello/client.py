"""Trello REST over ``ProviderHttp``, paced under Trello's limits: the one client of the sync (``pull``) and of
the webhook registrar (``registration``).

- ``key`` and ``token`` go as query parameters on every request (Trello's documented way); they never appear in
  an error message, and httpx's request log line gets them replaced, the token in a ``/1/tokens/{token}/`` path
  too (``validate.install_log_redaction``).
- Trello allows 100 requests per 10 s per token and 300 per 10 s per key, and sends no rate headers. Every
  request first takes a token from two process-wide buckets, one per token and one per key (``Pacer``), shared
  by every client made with them in the worker, sized so that no 10 s window can hold more than
  ``TOKEN_WINDOW_BUDGET`` (or ``KEY_WINDOW_BUDGET``) requests: a little under the limits, for the margin.
- A ``429`` is waited out in place after 2, 4 and 8 s (``rate_limit_waits``: the registrar, inside an API
  request, waits 2 s once); one more becomes ``RateLimitError`` 60 s ahead (the retry policy brings a sync job
  back then). ``401`` is ``AuthError``; ``404`` and ``400`` (an id Trello cannot
  read) are ``ProviderRefused``; anything else is ``ProviderError`` (502/503/504 are retried in place first by
  ``ProviderHttp``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from agiletrack.adapters.providers.base import ApiStats
from agiletrack.adapters.providers.http import ProviderHttp
from agiletrack.adapters.providers.trello.validate import install_log_redaction
from agiletrack.errors import AuthError, ProviderError, ProviderRefused, RateLimitError
from agiletrack.observability import logger

WINDOW_S = 10.0
TOKEN_LIMIT = 100
KEY_LIMIT = 300
TOKEN_WINDOW_BUDGET = 90
"""At most this many requests of one token in any 10 s (Trello allows 100)."""
KEY_WINDOW_BUDGET = 270
"""At most this many requests of one key in any 10 s (Trello allows 300)."""
BURST = 10
"""Requests a full bucket lets through at once; the rest of the budget refills over the window."""
RATE_LIMIT_WAITS_S = (2.0, 4.0, 8.0)
RATE_LIMIT_RETRY = timedelta(seconds=60)


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second. In any window of ``w`` seconds at most
    ``capacity + rate * w`` tokens can be taken, which is how the budgets above are kept."""

    def __init__(self, capacity: float, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.rate = rate
        self.clock = clock
        self.tokens = capacity
        self.at = clock()
        self.lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token (possibly borrowed from the future): the seconds to wait before using it."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
            self.at = now
            self.tokens -= 1
            return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


def _bucket(budget: int) -> TokenBucket:
    return TokenBucket(BURST, (budget - BURST) / WINDOW_S)


class Pacer:
    """The process-wide buckets, by a digest of the token and of the key (the values themselves are not kept)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.buckets: dict[str, TokenBucket] = {}

    def bucket(self, kind: str, secret: str, budget: int) -> TokenBucket:
        name = f"{kind}:{hashlib.sha256(secret.encode()).hexdigest()[:32]}"
        with self.lock:
            found = self.buckets.get(name)
            if found is None:
                found = self.buckets[name] = _bucket(budget)
            return found

    def wait_s(self, key: str, token: str) -> float:
        """Reserve one request of ``token`` and of ``key``: the seconds to wait before sending it."""
        token_wait = self.bucket("token", token, TOKEN_WINDOW_BUDGET).reserve()
        key_wait = self.bucket("key", key, KEY_WINDOW_BUDGET).reserve()
        return max(token_wait, key_wait)


PACER = Pacer()
"""Shared by every Trello client of the process."""


class _Throttled(Exception):
    """A 429 to wait out in place."""


def _classify(response: httpx.Response) -> None:
    if response.status_code == 429:
        raise _Throttled()


class TrelloClient:
    """``get`` answering JSON, or the typed error the answer means."""

    def __init__(
        self,
        api_root: str,
        api_key: str,
        api_token: str,
        stats: ApiStats | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
        pacer: Pacer = PACER,
        transient_retries: int = 3,
        rate_limit_waits: tuple[float, ...] = RATE_LIMIT_WAITS_S,
    ) -> None:
        install_log_redaction()
        self.key = api_key
        self.token = api_token
        self.sleep = sleep
        self.pacer = pacer
        self.rate_limit_waits = rate_limit_waits
        self.throttled = 0
        """429s met by this client."""
        self.http = ProviderHttp(
            api_root,
            headers={"Accept": "application/json"},
            params={"key": api_key, "token": api_token},
            stats=stats,
            timeout=timeout,
            transport=transport,
            sleep=sleep,
            classify=_classify,
            transient_retries=transient_retries,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> TrelloClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """One request, paced; a 429 waited out in place (``rate_limit_waits``). The answer whatever its status
        (429 and 401 aside): ``json`` reads a 200 or says what another status means."""
        for wait in (*self.rate_limit_waits, None):
            pause = self.pacer.wait_s(self.key, self.token)
            if pause > 0:
                self.sleep(pause)
            try:
                return self.http.request(method, path, **kwargs)
            except _Throttled:
                self.throttled += 1
                if wait is None:
                    break
                logger.info("trello rate limit, waiting in place", extra={"wait_s": wait, "resource": what})
                self.sleep(wait)
            except AuthError as exc:
                raise AuthError(f"Trello refused the API key and token (401) when asked for {what}.") from exc
        raise RateLimitError(
            f"Trello's rate limit persisted while asking for {what} (429).",
            retry_at=datetime.now(UTC) + RATE_LIMIT_RETRY,
        )

    def get(self, path: str, what: str, params: dict[str, Any] | None = None) -> Any:
        return self.json(self.request("GET", path, what, params=params), what)

    def json(self, response: httpx.Response, what: str) -> Any:
        status = response.status_code
        if status == 200:
            try:
                return response.json()
            except ValueError as exc:
                raise ProviderError(f"Trello did not answer JSON when asked for {what}.") from exc
        if status in (400, 404):
            raise ProviderRefused("not_found", f"Trello found no {what} ({status}).", details={"resource": what})
        if status == 403:
            raise ProviderRefused(
                "no_access", f"This Trello token has no access to {what} (403).", details={"resource": what}
            )
        raise ProviderError(f"Trello answered {status} when asked for {what}.")
