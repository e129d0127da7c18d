"""One time limit over a whole piece of work (for example: validating credentials, every request and retry
of it), read by the provider HTTP client. ``time_limit`` sets it for the code it wraps; a nested limit can
only shorten the one around it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("agiletrack_deadline", default=None)


@contextmanager
def time_limit(seconds: float) -> Iterator[float]:
    """Everything inside must end within ``seconds``; yields the deadline (``time.monotonic()`` seconds)."""
    outer = _deadline.get()
    deadline = time.monotonic() + seconds
    if outer is not None:
        deadline = min(deadline, outer)
    token = _deadline.set(deadline)
    try:
        yield deadline
    finally:
        _deadline.reset(token)


def current_deadline() -> float | None:
    """The deadline of the innermost ``time_limit`` around the caller, if any."""
    return _deadline.get()
