"""A server on 127.0.0.1 that answers every request one byte every ``interval`` seconds (a slow-loris
answer): each byte restarts a per-read timeout, so only a deadline over the whole exchange cuts it off.
It gives up after ``give_up_after`` seconds, so a client without a deadline ends too (late)."""

from __future__ import annotations

import socket
import threading
import time

ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


class TrickleServer:
    def __init__(self, interval: float = 0.5, give_up_after: float = 15.0) -> None:
        self.interval = interval
        self.give_up_after = give_up_after
        self.connections = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> TrickleServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        started = time.monotonic()
        with conn:
            try:
                conn.recv(65536)
                # the status line and headers byte by byte; the body never comes before giving up
                for byte in ANSWER[:-2]:
                    if self._stop.is_set() or time.monotonic() - started > self.give_up_after:
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(self.interval)
                while not self._stop.is_set() and time.monotonic() - started <= self.give_up_after:
                    time.sleep(self.interval)
            except OSError:
                return
