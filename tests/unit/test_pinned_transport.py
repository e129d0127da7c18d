"""The provider transport connects only to the addresses it checked, with the host name kept for TLS and
``Host``: a name that resolves to a public address for the check and to a private one a moment later
(DNS rebinding) never gets a connection to the private one. No sockets: the network backend under the
pinned one is a recorder."""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx
import pytest

from agiletrack.adapters.providers.pinned import PinnedTransport
from agiletrack.adapters.providers.urls import check_provider_url
from agiletrack.errors import ProviderRefused

PUBLIC = "8.8.8.8"
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


class RecordedStream(httpcore.NetworkStream):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.answer = [ANSWER]

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.answer.pop(0) if self.answer else b""

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.recorder.sent += buffer

    def close(self) -> None:
        return

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self.recorder.tls_names.append(server_hostname)
        raise httpcore.ConnectError("no TLS in this test")

    def get_extra_info(self, info: str) -> Any:
        return None


class Recorder(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []
        self.tls_names: list[str | None] = []
        self.sent = b""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        self.connects.append((host, port))
        return RecordedStream(self)


def rebinding(*answers: str) -> Any:
    """A resolver answering each address in turn (then the last one again)."""
    queue: Iterator[str] = iter(answers)
    last = [answers[-1]]

    def resolve(host: str, port: int) -> list[str]:
        last[0] = next(queue, last[0])
        return [last[0]]

    return resolve


def test_a_name_rebound_to_loopback_after_the_check_is_refused_at_connect() -> None:
    # Given a name that resolves to a public address first and to 127.0.0.1 afterwards
    resolver = rebinding(PUBLIC, "127.0.0.1")
    recorder = Recorder()
    check_provider_url("https://rebind.example/api/v3", allow_private=False, resolver=resolver)  # passes

    # When the client connects
    transport = PinnedTransport(allow_private=False, resolver=resolver, inner=recorder)
    with httpx.Client(transport=transport) as client, pytest.raises(ProviderRefused) as refused:
        client.get("https://rebind.example/api/v3/repos/a/b")

    # Then nothing was connected to
    assert refused.value.code == "url_not_allowed"
    assert recorder.connects == []


def test_the_connection_goes_to_the_checked_address_with_the_name_for_tls() -> None:
    recorder = Recorder()
    transport = PinnedTransport(allow_private=False, resolver=rebinding(PUBLIC), inner=recorder)
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.ConnectError):
        client.get("https://rebind.example/api/v3")

    assert recorder.connects == [(PUBLIC, 443)]
    assert recorder.tls_names == ["rebind.example"]


def test_the_host_header_keeps_the_name_while_the_socket_goes_to_the_ip() -> None:
    recorder = Recorder()
    transport = PinnedTransport(allow_private=True, resolver=rebinding("127.0.0.1"), inner=recorder)
    with httpx.Client(transport=transport) as client:
        answer = client.get("http://fake-provider.test:8080/items")

    assert answer.text == "ok"
    assert recorder.connects == [("127.0.0.1", 8080)]
    assert b"\r\nHost: fake-provider.test:8080\r\n" in recorder.sent
