"""Trello webhooks registered for the user (``ProviderSpec.webhook_registrar``).

- ``POST /1/webhooks`` with ``callbackURL``, ``idModel`` (the board's 24-hex id: a short link is resolved
  first with ``GET /1/boards/{id}``) and ``description``. Trello first sends ``HEAD`` to the callback and
  refuses (400, with a message naming the status it got) unless it answers 200.
- A webhook belongs to the token that made it: ``GET``/``DELETE /1/webhooks/{id}`` are called with that token.
  When Trello says the same callback, model and token already have a webhook (a registration retried after
  its answer was lost), that one is found with ``GET /1/tokens/{token}/webhooks`` and kept.
- Only for a config with ``api_secret``: without it the deliveries could not be verified.

Every call goes through ``client.TrelloClient``, as the sync's do: ``key`` and ``token`` as query parameters
(masked in httpx's request log line, the token in the ``/1/tokens/{token}/`` path too), paced by the same
per-token and per-key buckets, a 401 as ``AuthError``; no error message carries a credential. Inside an API
request a 429 is waited out once (2 s), and each request gets 5 s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from agiletrack.adapters.providers.base import Registration
from agiletrack.adapters.providers.trello.client import TrelloClient
from agiletrack.adapters.providers.trello.config import TrelloConfig, api_root
from agiletrack.errors import ProviderError, ProviderRefused
from agiletrack.models.integrations import MASK
from agiletrack.settings import get_settings

REQUEST_TIMEOUT_SECONDS = 5.0
"""Per request: a registration is made inside an API request (API Gateway allows 29 s in all)."""
RATE_LIMIT_WAITS_S = (2.0,)
"""A 429 is waited out once, briefly: the API request's 29 s are not the sync job's minutes."""
MESSAGE_LIMIT = 300
"""Trello's refusal text is kept in the status up to this many characters."""
NO_SECRET = (
    "Webhooks are off: the config has no api_secret (Trello signs its webhooks with the application secret), "
    "so this integration is synced every hour only. Add api_secret with PATCH /integrations/{id} to turn them on."
)
_BOARD_ID = re.compile(r"^[0-9a-fA-F]{24}$")


class TrelloWebhookRegistrar:
    """The ``WebhookRegistrar`` of Trello, against ``TRELLO_API_URL``."""

    def __init__(self, *, transport: httpx.BaseTransport | None = None) -> None:
        self.transport = transport

    def wanted(self, config: BaseModel) -> str | None:
        return None if _config(config).api_secret else NO_SECRET

    def register(
        self, config: BaseModel, credentials: Mapping[str, str], callback_url: str, description: str
    ) -> Registration:
        trello = _config(config)
        with self._client(trello, credentials) as http:
            board_id = self._board_id(http, trello)
            body = {"callbackURL": callback_url, "idModel": board_id, "description": description, "active": True}
            response = _call(http, "POST", "/1/webhooks", "a new board webhook", json=body)
            if response.status_code == 200:
                return _registration(_object(response, "the new webhook"))
            text = _text(response, trello, credentials)
            if response.status_code == 400 and "already exists" in text.lower():
                found = self._existing(http, _token(credentials, trello), callback_url, board_id)
                if found is not None:
                    return found
            if response.status_code in (400, 403, 404):
                raise ProviderRefused(
                    "webhook_refused",
                    f"Trello refused the board webhook ({response.status_code}): {text}",
                    details={"callback_url": callback_url, "board_id": board_id},
                )
            raise ProviderError(f"Trello answered {response.status_code} when asked to create the board webhook.")

    def delete(self, config: BaseModel, credentials: Mapping[str, str], registration: Registration) -> None:
        trello = _config(config)
        with self._client(trello, credentials) as http:
            path = f"/1/webhooks/{quote(registration.webhook_id, safe='')}"
            response = _call(http, "DELETE", path, "the deletion of the board webhook")
            if response.status_code in (200, 404):
                return
            raise ProviderError(f"Trello answered {response.status_code} when asked to delete the board webhook.")

    def check(
        self, config: BaseModel, credentials: Mapping[str, str], registration: Registration
    ) -> Registration | None:
        trello = _config(config)
        with self._client(trello, credentials) as http:
            path = f"/1/webhooks/{quote(registration.webhook_id, safe='')}"
            response = _call(http, "GET", path, "the board webhook")
            if response.status_code in (400, 404):
                return None
            if response.status_code != 200:
                raise ProviderError(f"Trello answered {response.status_code} when asked for the board webhook.")
            return _registration(_object(response, "the webhook"))

    # ------------------------------------------------------------ helpers
    def _client(self, config: TrelloConfig, credentials: Mapping[str, str]) -> TrelloClient:
        return TrelloClient(
            api_root(),
            _credential(credentials, config, "api_key"),
            _token(credentials, config),
            timeout=min(get_settings().http_timeout_seconds, REQUEST_TIMEOUT_SECONDS),
            transport=self.transport,
            transient_retries=1,
            rate_limit_waits=RATE_LIMIT_WAITS_S,
        )

    @staticmethod
    def _board_id(http: TrelloClient, config: TrelloConfig) -> str:
        """The board's 24-hex id (Trello's ``idModel``), from a short link if the config gives one."""
        if _BOARD_ID.match(config.board_id):
            return config.board_id
        path = f"/1/boards/{quote(config.board_id, safe='')}"
        response = _call(http, "GET", path, "the board", params={"fields": "id"})
        board = _object(response, f"board {config.board_id}") if response.status_code == 200 else {}
        board_id = board.get("id")
        if not isinstance(board_id, str) or not _BOARD_ID.match(board_id):
            raise ProviderRefused(
                "board_not_found",
                f"Trello board {config.board_id} could not be read to register its webhook.",
                details={"board_id": config.board_id},
            )
        return board_id

    @staticmethod
    def _existing(http: TrelloClient, token: str, callback_url: str, board_id: str) -> Registration | None:
        path = f"/1/tokens/{quote(token, safe='')}/webhooks"
        response = _call(http, "GET", path, "the token's webhooks")
        if response.status_code != 200:
            return None
        try:
            hooks = response.json()
        except ValueError:
            return None
        for hook in hooks if isinstance(hooks, list) else []:
            if isinstance(hook, dict) and hook.get("callbackURL") == callback_url and hook.get("idModel") == board_id:
                return _registration(hook)
        return None


def _config(config: BaseModel) -> TrelloConfig:
    if not isinstance(config, TrelloConfig):
        raise TypeError(f"TrelloWebhookRegistrar needs a TrelloConfig, not {type(config).__name__}")
    return config


def _credential(credentials: Mapping[str, str], config: TrelloConfig, field: str) -> str:
    return str(credentials.get(field) or getattr(config, field))


def _token(credentials: Mapping[str, str], config: TrelloConfig) -> str:
    return _credential(credentials, config, "api_token")


def _call(http: TrelloClient, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
    """One request through the client: its answer whatever the status (the callers read 400/404 themselves)."""
    return http.request(method, path, what, **kwargs)


def _object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise ProviderError(f"Trello did not answer JSON for {what}.") from exc
    if not isinstance(body, dict):
        raise ProviderError(f"Trello gave an unexpected answer for {what}.")
    return body


def _registration(hook: Mapping[str, Any]) -> Registration:
    webhook_id, callback, model = hook.get("id"), hook.get("callbackURL"), hook.get("idModel")
    if not (isinstance(webhook_id, str) and isinstance(callback, str) and isinstance(model, str)):
        raise ProviderError("Trello's webhook object lacks its id, callbackURL or idModel.")
    return Registration(webhook_id=webhook_id, callback_url=callback, model_id=model, active=hook.get("active") is True)


def _text(response: httpx.Response, config: TrelloConfig, credentials: Mapping[str, str]) -> str:
    """Trello's refusal as text, shortened, with no credential in it even if Trello echoed one."""
    text = " ".join(response.text.split())[:MESSAGE_LIMIT] or f"HTTP {response.status_code}"
    for field in ("api_key", "api_token", "api_secret"):
        value = credentials.get(field) or getattr(config, field, None)
        if value:
            text = text.replace(str(value), MASK)
    return text
