"""A tiny Trello REST API on 127.0.0.1 for tests (plain HTTP: point ``TRELLO_API_URL`` at ``.url``).

Serves what credential validation asks for: ``/1/members/me``, ``/1/boards/{id}``,
``/1/boards/{id}/lists?filter=all``, with ``key`` and ``token`` query parameters as Trello takes them.
``fail_next(status)`` answers the next requests with that status; ``closed_url()`` is an API that
cannot be reached. Webhooks (``/1/webhooks``, ``deliver``): ``tests.fakes.trello_webhooks``, as ``.webhooks``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.fakes.server import FakeServer, nothing_listens
from tests.fakes.trello_webhooks import TrelloWebhooks

API_KEY = "trellofakeapikey0123456789abcdef"
API_TOKEN = "trellofaketoken9f8e7d6c5b4a39281706f5e4d3c2b1a0"
API_SECRET = "trellofakeappsecret00ff11ee22dd33cc"
BOARD = "5f0c1e2d3b4a596877665544"
LISTS = ("60aa00000000000000000001", "60aa00000000000000000002", "60aa00000000000000000003")


def closed_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    return nothing_listens("http")


class FakeTrello(FakeServer):
    def __init__(
        self,
        *,
        api_key: str = API_KEY,
        api_token: str = API_TOKEN,
        boards: Mapping[str, Iterable[str]] | None = None,
        unreadable_boards: Iterable[str] = (),
        other_tokens: Iterable[str] = (),
        api_secret: str = API_SECRET,
    ) -> None:
        """``boards``: board id -> its list ids; ``unreadable_boards`` exist but this token cannot read them;
        ``other_tokens`` are valid too (a user's second token); ``api_secret`` signs deliveries."""
        self.api_key = api_key
        self.api_token = api_token
        self.tokens = {api_token, *other_tokens}
        self.boards = {b: list(lists) for b, lists in (boards if boards is not None else {BOARD: LISTS}).items()}
        self.unreadable_boards = set(unreadable_boards)
        self.requests: list[str] = []
        self.failures: list[int] = []
        self.lock = threading.Lock()
        self.webhooks = TrelloWebhooks(api_secret, lambda: set(self.boards))
        super().__init__()

    def fail_next(self, status: int, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([status] * times)

    def config(self, **overrides: Any) -> dict[str, Any]:
        """A valid ``TrelloConfig`` for this fake (the first two lists of the board)."""
        return {
            "api_key": self.api_key,
            "api_token": self.api_token,
            "api_secret": API_SECRET,
            "board_id": BOARD,
            "list_ids": list(LISTS[:2]),
        } | overrides

    def answer(self, raw_path: str, method: str = "GET", body: bytes = b"") -> tuple[int, Any]:
        self.requests.append(urlparse(raw_path).path)
        with self.lock:
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            return failure, f"failure {failure} as asked"
        url = urlparse(raw_path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if query.get("key") != self.api_key:
            return 401, "invalid key"
        if query.get("token") not in self.tokens:
            return 401, "invalid token"
        parts = url.path.strip("/").split("/")
        hooked = self.webhooks.route(method, parts, query, body, query["token"])
        if hooked is not None or method != "GET":
            return hooked or (404, f"Cannot {method} {url.path}")
        if parts == ["1", "members", "me"]:
            return 200, {"id": "5a0000000000000000000001", "username": "fake"}
        if parts[:2] == ["1", "boards"] and len(parts) in (3, 4):
            board = parts[2]
            if board in self.unreadable_boards:
                return 401, "unauthorized permission requested"
            if board not in self.boards:
                return 404, "The requested resource was not found."
            if len(parts) == 3:
                return 200, {"id": board, "name": "Fake board", "closed": False}
            if parts[3] == "lists":
                return 200, [{"id": i, "name": f"List {n}", "closed": False} for n, i in enumerate(self.boards[board])]
        return 404, "Cannot GET " + url.path

    def respond(self, path: str, headers: Mapping[str, str]) -> tuple[int, Any, Mapping[str, str]]:
        status, body = self.answer(path)
        return status, body, {}

    def respond_post(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, Any, Mapping[str, str]]:
        status, answer = self.answer(path, "POST", body)
        return status, answer, {}

    def respond_delete(self, path: str, headers: Mapping[str, str]) -> tuple[int, Any, Mapping[str, str]]:
        status, answer = self.answer(path, "DELETE")
        return status, answer, {}
