"""Faults the fake providers inject into their own answers, as a proxy or a failing provider would.

Every fake holds a ``FaultPlan`` (``fake.faults``). ``plan.add(Fault(...), nth=3, path="/graphql")`` makes the
3rd request from now whose path contains ``/graphql`` fail that way, once; ``times`` makes it the next few
matching requests from there. The kinds:

- ``status``: the answer is ``status`` (502 by default) with a small JSON body, the request never reaching the
  provider's logic (a gateway in front);
- ``hang``: the provider answers only after ``seconds`` (a client with a shorter timeout gives up first);
- ``truncate``: a 200 whose body is cut in half, its ``Content-Length`` saying the cut length (a proxy that
  buffered half an answer): the client gets a complete HTTP answer that is not JSON;
- ``cut``: a 200 whose ``Content-Length`` is the whole body's but the connection closes halfway through it.

``served`` is called after each answer is written (the request path, its number from 1), so a test can act at
an exact point of a sync (for example kill the worker process). ``clock_offset`` moves the ``Date`` header of
every answer (the provider's clock against ours)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Literal

FaultKind = Literal["status", "hang", "truncate", "cut"]


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 502
    seconds: float = 0.0


@dataclass
class _Planned:
    fault: Fault
    path: str
    skip: int
    times: int


class FaultPlan:
    def __init__(self) -> None:
        self._planned: list[_Planned] = []
        self._lock = threading.Lock()
        self.requests = 0
        self.injected: list[tuple[str, Fault]] = []
        """(path, fault) of every fault injected so far."""
        self.served: Callable[[str, int], None] | None = None
        self.clock_offset = timedelta(0)

    def add(self, fault: Fault, *, nth: int = 1, path: str = "", times: int = 1) -> None:
        """``fault`` on the ``nth`` request from now whose path contains ``path`` (and the ``times - 1`` after it)."""
        with self._lock:
            self._planned.append(_Planned(fault, path, nth - 1, times))

    def take(self, path: str) -> Fault | None:
        """The fault for this request, if one is planned (each request is counted against every plan)."""
        with self._lock:
            self.requests += 1
            chosen: Fault | None = None
            for planned in self._planned:
                if planned.path not in path or planned.times <= 0:
                    continue
                if planned.skip > 0:
                    planned.skip -= 1
                    continue
                if chosen is None:
                    chosen = planned.fault
                    planned.times -= 1
            self._planned = [p for p in self._planned if p.times > 0]
            if chosen is not None:
                self.injected.append((path, chosen))
            return chosen

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._planned)

    def after_answer(self, path: str) -> None:
        if self.served is not None:
            self.served(path, self.requests)

    def date_header(self, now: float) -> str:
        """An HTTP ``Date`` for ``now`` (epoch seconds, ours) on the provider's clock."""
        return formatdate(now + self.clock_offset.total_seconds(), usegmt=True)


def send_answer(
    handler: BaseHTTPRequestHandler,
    plan: FaultPlan,
    status: int,
    headers: list[tuple[str, str]],
    data: bytes,
) -> int:
    """Write one answer (``headers`` without ``Content-Length``) through the plan's fault for this request, if any;
    returns the body bytes written."""
    path = handler.path
    fault = plan.take(path)
    if fault is not None and fault.kind == "hang":
        time.sleep(fault.seconds)
    if fault is not None and fault.kind == "status":
        status, data = fault.status, json.dumps({"message": f"{fault.status} as injected"}).encode()
        headers = [("Content-Type", "application/json")]
    length = len(data)
    if fault is not None and fault.kind in ("truncate", "cut"):
        data = data[: len(data) // 2]
        length = len(data) if fault.kind == "truncate" else length
        handler.close_connection = True
    try:
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        handler.wfile.write(data)
        if fault is not None:  # sent now, so a client that gave up fails here, not in the server's own flush
            handler.wfile.flush()
    except OSError:  # the client gave up (a hang longer than its timeout)
        handler.close_connection = True
        return 0
    finally:
        plan.after_answer(path)
    return len(data)
