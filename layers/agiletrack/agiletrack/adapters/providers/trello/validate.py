"""Try Trello credentials before anything is stored.

1. the key and token are valid: ``GET /1/members/me``;
2. the board exists and the token can read it: ``GET /1/boards/{id}``;
3. every configured list is on that board: ``GET /1/boards/{id}/lists?filter=all`` (closed lists count),
   naming the unknown list ids.

``key`` and ``token`` travel as query parameters (Trello's documented way). They never appear in an error
message, and httpx's own request log line (INFO, with the full URL) gets them replaced by ``********``.
``api_secret`` cannot be checked against the API: Trello only uses it to sign webhooks.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from agiletrack.adapters.providers.base import ValidationInfo
from agiletrack.adapters.providers.http import ProviderHttp
from agiletrack.adapters.providers.trello.config import DEFAULT_API_URL, TrelloConfig, api_root
from agiletrack.errors import AuthError, ProviderError, ProviderRefused
from agiletrack.models.integrations import MASK

CREDENTIAL_PARAMS = ("key", "token")
_TOKEN_PATH = re.compile(r"(/1/tokens/)[^/]+")


class RedactCredentialParams(logging.Filter):
    """Replaces Trello's ``key``/``token`` query parameters, and the token of a ``/1/tokens/{token}/...`` path,
    in the URL of httpx's request log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        return True


def _redacted(value: object) -> object:
    if not isinstance(value, httpx.URL):
        return value
    if any(p in value.params for p in CREDENTIAL_PARAMS):
        value = value.copy_merge_params({p: MASK for p in CREDENTIAL_PARAMS if p in value.params})
    if _TOKEN_PATH.search(value.path):
        value = value.copy_with(path=_TOKEN_PATH.sub(rf"\g<1>{MASK}", value.path))
    return value


def install_log_redaction() -> None:
    """Idempotent: put ``RedactCredentialParams`` on the ``httpx`` logger."""
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactCredentialParams) for f in httpx_logger.filters):
        httpx_logger.addFilter(RedactCredentialParams())


class TrelloValidator:
    """``validator(config, credentials)``: a callable so the integration service can take it as a port."""

    def __init__(
        self,
        api_root: str = DEFAULT_API_URL,
        *,
        timeout: float = 10.0,
        transient_retries: int = 1,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_root = api_root.rstrip("/")
        install_log_redaction()
        self.timeout = timeout
        self.transient_retries = transient_retries
        self.transport = transport
        self.sleep = sleep

    def __call__(self, config: BaseModel, credentials: Mapping[str, str]) -> ValidationInfo:
        if not isinstance(config, TrelloConfig):
            raise TypeError(f"TrelloValidator needs a TrelloConfig, not {type(config).__name__}")
        key = credentials.get("api_key") or config.api_key
        token = credentials.get("api_token") or config.api_token
        with ProviderHttp(
            self.api_root,
            headers={"Accept": "application/json"},
            params={"key": key, "token": token},
            timeout=self.timeout,
            transient_retries=self.transient_retries,
            transport=self.transport,
            sleep=self.sleep,
        ) as http:
            return self._check(http, config)

    def _check(self, http: ProviderHttp, config: TrelloConfig) -> ValidationInfo:
        try:
            response = http.get("/1/members/me", params={"fields": "id,username"})
        except AuthError as exc:
            raise AuthError("Trello refused the API key and token (401): check both.") from exc
        if response.status_code == 400:
            # Trello answers 400 "invalid key" / "invalid token" for malformed values.
            raise AuthError("Trello refused the API key and token (400): check both.")
        me = _json(response, "your Trello member")
        board_path = f"/1/boards/{quote(config.board_id, safe='')}"
        board = _json(self._get(http, board_path, {"fields": "id,name,closed"}, config), f"board {config.board_id}")
        lists = self._get(http, f"{board_path}/lists", {"filter": "all", "fields": "id,name,closed"}, config)
        known = {item.get("id") for item in _json_list(lists, f"the lists of board {config.board_id}")}
        unknown = [list_id for list_id in config.list_ids if list_id not in known]
        if unknown:
            raise ProviderRefused(
                "unknown_list",
                f"These list ids are not on Trello board {config.board_id}: {', '.join(unknown)}.",
                details={"board_id": config.board_id, "unknown_list_ids": unknown},
            )
        return ValidationInfo(details={"member_id": me.get("id"), "board_id": board.get("id")})

    @staticmethod
    def _get(http: ProviderHttp, path: str, params: dict[str, str], config: TrelloConfig) -> httpx.Response:
        """A board read: the credentials already passed ``/members/me``, so 401 here means no access."""
        try:
            response = http.get(path, params=params)
        except AuthError as exc:
            raise ProviderRefused(
                "no_access",
                f"This Trello token cannot read board {config.board_id}.",
                details={"board_id": config.board_id},
            ) from exc
        if response.status_code in (400, 404):
            raise ProviderRefused(
                "board_not_found",
                f"Trello board {config.board_id} does not exist.",
                details={"board_id": config.board_id},
            )
        return response


def _check_status(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if status == 200:
        return
    if status == 403:
        raise ProviderRefused("no_access", f"This Trello token has no access to {what}.", details={"resource": what})
    if status == 404:
        raise ProviderRefused("not_found", f"Trello has no {what}.", details={"resource": what})
    if status >= 500:
        raise ProviderError(f"Trello answered {status} when asked for {what}; try again later.")
    raise ProviderError(f"Trello answered {status} when asked for {what}.")


def _decode(response: httpx.Response, what: str) -> Any:
    _check_status(response, what)
    try:
        return response.json()
    except ValueError as exc:
        raise ProviderError(f"Trello did not answer JSON when asked for {what}.") from exc


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    body = _decode(response, what)
    if not isinstance(body, dict):
        raise ProviderError(f"Trello gave an unexpected answer when asked for {what}.")
    return body


def _json_list(response: httpx.Response, what: str) -> list[dict[str, Any]]:
    body = _decode(response, what)
    if not isinstance(body, list):
        raise ProviderError(f"Trello gave an unexpected answer when asked for {what}.")
    return [item for item in body if isinstance(item, dict)]


def make_validator(timeout: float) -> TrelloValidator:
    """The validator the integration service uses (``ProviderSpec.validator``), against the configured API root."""
    return TrelloValidator(api_root(), timeout=timeout)
