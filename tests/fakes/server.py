"""The HTTP plumbing the fake providers share: a threaded server on 127.0.0.1 that answers GETs with
JSON (or text) from ``respond`` (POSTs from ``respond_post``, DELETEs from ``respond_delete``), optionally over TLS."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.faults import FaultPlan, send_answer


def nothing_listens(scheme: str) -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}"


class FakeServer:
    scheme = "http"

    def __init__(self) -> None:
        self.server: ThreadingHTTPServer | None = None
        self.body_bytes_sent = 0
        """Bytes of every answer's body so far (what a client's byte count must add up to)."""
        self.faults = FaultPlan()
        """Faults to inject in the next answers, and the provider's clock (``tests.fakes.faults``)."""

    def respond(self, path: str, headers: Mapping[str, str]) -> tuple[int, Any, Mapping[str, str]]:
        """(status, body, extra headers) for ``GET path``; a ``str`` body is sent as text, ``bytes`` as JSON already
        serialized, anything else as JSON."""
        raise NotImplementedError

    def respond_post(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, Any, Mapping[str, str]]:
        """(status, body, extra headers) for ``POST path`` with ``body``; only fakes that serve POST override it."""
        return 405, {"message": "POST is not served by this fake"}, {}

    def respond_delete(self, path: str, headers: Mapping[str, str]) -> tuple[int, Any, Mapping[str, str]]:
        """(status, body, extra headers) for ``DELETE path``; only fakes that serve DELETE override it."""
        return 405, {"message": "DELETE is not served by this fake"}, {}

    def tls_context(self) -> ssl.SSLContext | None:
        return None

    @property
    def url(self) -> str:
        assert self.server is not None, "start the fake first (use it as a context manager)"
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Any:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_GET(self) -> None:
                self._send(*fake.respond(self.path, {k.lower(): v for k, v in self.headers.items()}))

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("content-length") or 0))
                self._send(*fake.respond_post(self.path, {k.lower(): v for k, v in self.headers.items()}, data))

            def do_DELETE(self) -> None:
                self._send(*fake.respond_delete(self.path, {k.lower(): v for k, v in self.headers.items()}))

            def date_time_string(self, timestamp: float | None = None) -> str:
                return fake.faults.date_header(time.time() if timestamp is None else timestamp)

            def _send(self, status: int, body: Any, extra: Mapping[str, str]) -> None:
                is_text = isinstance(body, str)
                # bytes: JSON already serialized
                data = body if isinstance(body, bytes) else body.encode() if is_text else json.dumps(body).encode()
                content_type = "text/plain; charset=utf-8" if is_text else "application/json"
                headers = [("content-type", content_type), *extra.items()]
                fake.body_bytes_sent += send_answer(self, fake.faults, status, headers, data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = self.tls_context()
        if context is not None:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
