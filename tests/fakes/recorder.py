"""A stand-in for a host that should never be called: it records the path and ``Authorization`` header of
every request it gets and answers 404."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.fakes.server import FakeServer


class AuthRecorder(FakeServer):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        super().__init__()

    @property
    def authorizations(self) -> list[str]:
        return [auth for _path, auth in self.seen if auth is not None]

    def respond(self, path: str, headers: Mapping[str, str]) -> tuple[int, Any, Mapping[str, str]]:
        self.seen.append((path, headers.get("authorization")))
        return 404, {"message": "Not Found"}, {}
