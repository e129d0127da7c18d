"""The webhook part of the fake Trello: ``/1/webhooks`` as Trello serves it, and ``deliver`` as Trello delivers.

- ``POST /1/webhooks`` (or ``/1/tokens/{token}/webhooks``) with ``callbackURL``, ``idModel``, ``description``
  (query string, JSON or form body): Trello first sends ``HEAD`` to the callback over HTTP and refuses with
  400 "URL (...) did not return 200 status code, got N" unless it answers 200. Only 127.0.0.1 and localhost
  are called (tests never reach the internet): any other host counts as unreachable. One webhook per
  (callback, model, token): a second one is 400 "A webhook with that callback, model, and token already
  exists".
- A webhook belongs to the token that made it: ``GET``/``DELETE /1/webhooks/{id}`` with another token is 401;
  ``GET /1/tokens/{token}/webhooks`` lists the token's own.
- ``deliver(action, model)`` POSTs to every active webhook watching the action's board, exactly as Trello:
  the raw JSON body and ``X-Trello-Webhook`` = base64(HMAC-SHA1(app secret, body + callbackURL)), computed
  here independently of the code under test. A callback answering 410 has its webhook deleted, as Trello
  does.

Self-contained: ``FakeTrello`` routes these paths here (``route``) and keeps the rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import itertools
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

HEAD_TIMEOUT_SECONDS = 10.0
_LOOPBACK = frozenset({"127.0.0.1", "localhost"})


@dataclass
class FakeWebhook:
    id: str
    description: str
    idModel: str
    callbackURL: str
    active: bool
    token: str
    consecutiveFailures: int = 0

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "idModel": self.idModel,
            "callbackURL": self.callbackURL,
            "active": self.active,
            "consecutiveFailures": self.consecutiveFailures,
            "firstConsecutiveFailDate": None,
        }


def trello_signature(secret: str, body: bytes, callback_url: str) -> str:
    mac = hmac.new(secret.encode(), body + callback_url.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def head_status(url: str) -> str:
    """What a HEAD to ``url`` got: the status code as text, or why nothing answered."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK:
        return "no answer (the fake calls only http://127.0.0.1)"
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=HEAD_TIMEOUT_SECONDS)
    try:
        connection.request("HEAD", parts.path + (f"?{parts.query}" if parts.query else ""))
        return str(connection.getresponse().status)
    except OSError as exc:
        return f"no answer ({type(exc).__name__})"
    finally:
        connection.close()


class TrelloWebhooks:
    def __init__(self, api_secret: str, models: Callable[[], set[str]]) -> None:
        """``models()``: the ids a webhook may watch (the fake's boards)."""
        self.api_secret = api_secret
        self.models = models
        self.hooks: dict[str, FakeWebhook] = {}
        self.calls: list[tuple[str, str]] = []
        """(method, path) of every webhook request, the token in the path replaced by ``{token}``."""
        self.heads: list[tuple[str, str]] = []
        """(callback URL, what its HEAD got) of every creation attempt."""
        self.refuse_next: list[tuple[int, str]] = []
        """Answers for the next ``POST /1/webhooks``, before anything else (a Trello refusal to simulate)."""
        self._ids = (f"6a{n:022x}" for n in itertools.count(1))
        self._lock = threading.Lock()

    def for_model(self, model_id: str) -> list[FakeWebhook]:
        return [hook for hook in self.hooks.values() if hook.idModel == model_id]

    # ------------------------------------------------------------ routing
    def route(
        self, method: str, parts: list[str], query: Mapping[str, str], body: bytes, token: str
    ) -> tuple[int, Any] | None:
        """The answer for a webhook path, or None when the path is not one (after key and token passed)."""
        if parts[:2] == ["1", "tokens"] and len(parts) == 4 and parts[3] == "webhooks":
            self.calls.append((method, "/1/tokens/{token}/webhooks"))
            if parts[2] != token:
                return 401, "invalid token"
            if method == "POST":
                return self._create(query, body, token)
            if method == "GET":
                return 200, [hook.view() for hook in self.hooks.values() if hook.token == token]
            return None
        if parts[:2] != ["1", "webhooks"] or len(parts) > 3:
            return None
        self.calls.append((method, "/" + "/".join(parts)))
        if len(parts) == 2:
            return self._create(query, body, token) if method == "POST" else None
        hook = self.hooks.get(parts[2])
        if hook is None:
            return 404, "The requested resource was not found."
        if hook.token != token:
            return 401, "unauthorized webhook permission requested"
        if method == "GET":
            return 200, hook.view()
        if method == "DELETE":
            with self._lock:
                self.hooks.pop(hook.id, None)
            return 200, {"_value": None}
        return None

    def _create(self, query: Mapping[str, str], body: bytes, token: str) -> tuple[int, Any]:
        if self.refuse_next:
            return self.refuse_next.pop(0)
        params = {**query, **_body_params(body)}
        callback, model = str(params.get("callbackURL") or ""), str(params.get("idModel") or "")
        if not callback:
            return 400, "invalid value for callbackURL"
        if model not in self.models():
            return 400, "invalid value for idModel"
        if any(h.callbackURL == callback and h.idModel == model and h.token == token for h in self.hooks.values()):
            return 400, "A webhook with that callback, model, and token already exists"
        got = head_status(callback)
        self.heads.append((callback, got))
        if got != "200":
            return 400, f"URL ({callback}) did not return 200 status code, got {got}"
        active = str(params.get("active", "true")).lower() != "false"
        hook = FakeWebhook(next(self._ids), str(params.get("description") or ""), model, callback, active, token)
        with self._lock:
            self.hooks[hook.id] = hook
        return 200, hook.view()

    # ------------------------------------------------------------ deliveries
    def deliver(
        self,
        action: Mapping[str, Any],
        model: Mapping[str, Any],
        *,
        signature: Callable[[bytes, str], str | None] | None = None,
    ) -> list[tuple[str, int]]:
        """POST ``{"action": ..., "model": ...}`` to every active webhook of ``model["id"]``, signed as Trello
        signs (or with ``signature(body, url)``: None leaves the header out); (callback URL, status) of each."""
        body = json.dumps({"action": action, "model": model}, separators=(",", ":")).encode()
        answers = []
        for hook in [h for h in self.for_model(str(model.get("id"))) if h.active]:
            value = (
                trello_signature(self.api_secret, body, hook.callbackURL)
                if signature is None
                else signature(body, hook.callbackURL)
            )
            status = post(hook.callbackURL, body, value)
            answers.append((hook.callbackURL, status))
            if status == 410:
                with self._lock:
                    self.hooks.pop(hook.id, None)
            elif not 200 <= status < 300:
                hook.consecutiveFailures += 1
        return answers


def post(url: str, body: bytes, signature: str | None) -> int:
    parts = urlsplit(url)
    assert parts.hostname in _LOOPBACK, url
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=HEAD_TIMEOUT_SECONDS)
    headers = {"Content-Type": "application/json", "User-Agent": "Trello-Webhooks (fake)"}
    if signature is not None:
        headers["X-Trello-Webhook"] = signature
    try:
        connection.request("POST", parts.path + (f"?{parts.query}" if parts.query else ""), body, headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _body_params(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        decoded = json.loads(body)
    except ValueError:
        return {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
    return dict(decoded) if isinstance(decoded, dict) else {}
