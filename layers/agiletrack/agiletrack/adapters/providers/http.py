"""The one HTTP client of every provider adapter.

- explicit timeouts on every request;
- transient failures (connect/read timeout, reset, 502/503/504) retried in place with exponential
  backoff and full jitter before they count;
- answers classified into typed errors: 401 is ``AuthError``; 429 (and whatever the provider's own
  ``classify`` hook says, such as GitHub's 403 rate limits) is ``RateLimitError`` with the time the
  limit resets; anything else is left to the adapter;
- every call counted in ``ApiStats`` (calls, latency, bytes received, the quota the provider reports, and its
  clock against ours from the ``Date`` header);
- connections only to checked addresses (``pinned``), and one optional deadline over every request, retry
  and backoff of the client (by default the one of ``agiletrack.deadline.time_limit`` around its creation);
  past it the client raises ``ProviderTimeout``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from agiletrack.adapters.providers.base import ApiStats
from agiletrack.adapters.providers.pinned import PinnedTransport
from agiletrack.adapters.providers.urls import Resolver, check_provider_url, system_resolver
from agiletrack.deadline import current_deadline
from agiletrack.errors import AuthError, ProviderError, ProviderTimeout, RateLimitError, TransientProviderError
from agiletrack.observability import logger, tracer
from agiletrack.settings import get_settings

# X-Ray traces the provider calls of the functions that make them (see agiletrack.observability).
tracer.patch(("httpx",))

TRANSIENT_STATUS = frozenset({502, 503, 504})
DEFAULT_RATE_LIMIT_WAIT = timedelta(seconds=60)
CLOCK_TOLERANCE = timedelta(seconds=2)
"""A provider's ``Date`` this close to our clock means the clocks agree (the header has whole seconds)."""

Classifier = Callable[[httpx.Response], None]


def retry_after(response: httpx.Response, now: datetime | None = None) -> datetime | None:
    """When a ``Retry-After`` header (seconds or an HTTP date, on the provider's clock) says to come back, if it
    does, on our clock."""
    now = now or datetime.now(UTC)
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return on_our_clock(when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC), response)


def date_offset(response: httpx.Response, now: datetime | None = None) -> timedelta | None:
    """How far the provider's clock is ahead of ours (negative: behind) by the answer's ``Date``, in whole seconds
    as the header is (floored: the provider's clock may be up to a second further); zero when it is less than
    ``CLOCK_TOLERANCE``; None without a ``Date``."""
    value = response.headers.get("date")
    if not value:
        return None
    try:
        said = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if said.tzinfo is None:
        said = said.replace(tzinfo=UTC)
    offset = said - (now or datetime.now(UTC))
    # Within what a header in whole seconds (and the answer's way here) can tell, the clocks agree.
    return offset if abs(offset) >= CLOCK_TOLERANCE else timedelta(0)


def on_our_clock(when: datetime, response: httpx.Response) -> datetime:
    """An instant the provider told on its clock (a rate limit's reset), on ours: never sooner than it means."""
    offset = date_offset(response)
    return when - offset if offset is not None else when


def default_classify(response: httpx.Response) -> None:
    if response.status_code == 401:
        raise AuthError("The provider refused the credentials (401).")
    if response.status_code == 429:
        when = retry_after(response) or datetime.now(UTC) + DEFAULT_RATE_LIMIT_WAIT
        raise RateLimitError("The provider's rate limit is reached (429).", retry_at=when)


class ProviderHttp:
    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        params: dict[str, str] | None = None,
        stats: ApiStats | None = None,
        timeout: float = 10.0,
        transient_retries: int = 3,
        backoff_base: float = 0.5,
        classify: Classifier | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        allow_private = get_settings().allow_private_provider_urls
        check_provider_url(base_url, allow_private=allow_private, resolver=resolver)
        self.deadline = deadline if deadline is not None else current_deadline()
        if transport is None:
            transport = PinnedTransport(allow_private=allow_private, resolver=resolver, deadline=self.deadline)
        self.stats = stats if stats is not None else ApiStats()
        self.transient_retries = transient_retries
        self.backoff_base = backoff_base
        self.classify = classify
        self.sleep = sleep
        self.client = httpx.Client(
            base_url=base_url,
            headers=headers,
            auth=auth,
            params=params,
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ProviderHttp:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One logical request: retried in place on transient failures, then classified."""
        attempt = 0
        while True:
            self._check_deadline()
            started = time.perf_counter()
            try:
                response = self.client.request(method, url, **kwargs)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                self._count(started)
                self._check_deadline()
                if attempt >= self.transient_retries:
                    raise TransientProviderError(f"The provider could not be reached: {type(exc).__name__}.") from exc
                self._backoff(attempt, reason=type(exc).__name__)
                attempt += 1
                continue
            except httpx.HTTPError as exc:  # a bad URL, an unsupported scheme, a broken answer: not transient
                self._count(started)
                raise ProviderError(f"The provider could not be reached: {type(exc).__name__}.") from exc
            self._count(started)
            self.stats.bytes_received += response.num_bytes_downloaded
            self._note_clock(response)
            if response.status_code in TRANSIENT_STATUS:
                if attempt >= self.transient_retries:
                    raise TransientProviderError(
                        f"The provider answered {response.status_code} {attempt + 1} times in a row."
                    )
                self._backoff(attempt, reason=str(response.status_code))
                attempt += 1
                continue
            if self.classify is not None:
                self.classify(response)
            default_classify(response)
            return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def _count(self, started: float) -> None:
        self.stats.calls += 1
        self.stats.response_ms.append((time.perf_counter() - started) * 1000)

    def _note_clock(self, response: httpx.Response) -> None:
        offset = date_offset(response)
        if offset is not None:  # the header is floored to the second: the provider's clock is up to one more
            self.stats.clock_offset = offset + timedelta(seconds=1) if offset else offset

    def _check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise ProviderTimeout("The provider did not answer within the time allowed.")

    def _backoff(self, attempt: int, *, reason: str) -> None:
        delay = random.uniform(0, self.backoff_base * (2**attempt))  # full jitter
        if self.deadline is not None:
            delay = min(delay, max(0.0, self.deadline - time.monotonic()))
        logger.info("transient provider failure, retrying", extra={"reason": reason, "delay_s": round(delay, 2)})
        self.sleep(delay)
