"""The HTTP transport of ``ProviderHttp``: connects only to addresses it has checked, and keeps a deadline.

- **Pinned addresses.** Each new connection resolves its host once, checks every address with the rule of
  ``urls.checked_addresses`` and connects to a checked IP. TLS (SNI and certificate verification) and the
  ``Host`` header still use the host name, as httpcore takes them from the request URL. There is no second
  lookup between the check and the connection, so DNS rebinding cannot reach a private address.
- **Deadline.** With a deadline (``time.monotonic()`` seconds), every connect, read and write waits at most
  until then, and none starts after it: a server that trickles a byte at a time cannot hold a request past
  it (httpx's own read timeout starts again on every byte).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from agiletrack.adapters.providers.urls import Resolver, checked_addresses, system_resolver


def _remaining(deadline: float | None, timeout: float | None, error: type[Exception]) -> float | None:
    """The time an I/O call may wait: its own timeout, cut to what is left before the deadline."""
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("The time allowed for the provider's answer has run out.")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: float | None) -> None:
        self.inner = inner
        self.deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _remaining(self.deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _remaining(self.deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        wait = _remaining(self.deadline, timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, wait), self.deadline)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """``connect_tcp`` to the checked addresses of the host, never to the name itself."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        deadline: float | None = None,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self.deadline = deadline
        self.inner = inner if inner is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = checked_addresses(host, port, allow_private=self.allow_private, resolver=self.resolver)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            wait = _remaining(self.deadline, timeout, httpcore.ConnectTimeout)
            try:
                stream = self.inner.connect_tcp(address, port, wait, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return DeadlineStream(stream, self.deadline)
        assert failure is not None  # checked_addresses never answers an empty list
        raise failure

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` (its request and error mapping) over a pool that uses ``PinnedBackend``.
    Environment proxies are not used: a proxy would make the connection, not us."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        deadline: float | None = None,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        super().__init__()
        backend = PinnedBackend(allow_private=allow_private, resolver=resolver, deadline=deadline, inner=inner)
        # httpx builds its pool without a network_backend argument; this one is the same pool with ours.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=backend,
        )
