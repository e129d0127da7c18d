"""schemathesis hooks for ``test_api_schemathesis.py`` (loaded by ``schemathesis run`` through
``SCHEMATHESIS_HOOKS``): schema-valid bodies reach the fake providers.

A create or a credential change is tried against the provider, and no schema can say which tokens, boards or
repositories exist there. So in a *positive* case (data the document says is valid) the fields the provider
checks are the fake's: its API root, credentials and scope, read from the JSON file ``AGILETRACK_FUZZ_FAKES``
names (``{"github": {...}, "jira": {...}, "trello": {...}}``, each a valid config). Every other field (names,
branch, flags, which keys a partial PATCH sends...) stays as generated, and negative cases are left alone: they
must be refused with a documented 4xx before any provider is called.

Two rules no JSON Schema keyword can state are kept the same way in positive cases: ``next_token`` is an opaque
value only the API gives out, so a generated one is dropped (the API refuses any other with 422, as it must;
``tests/integration/test_api_input_edges.py`` checks that), and a metrics window whose bounds are reversed, out of
range or over three years is replaced by the default window (each bound alone is a documented date-time).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import schemathesis
from pydantic import ValidationError

from agiletrack.domain.metrics_service import parse_window
from agiletrack.errors import ValidationFailed
from agiletrack.http.routers.integrations import NewIntegration

_PROVIDER_CHECKED = {
    "github": ("repository", "token", "api_url", "branch"),
    "jira": ("server_url", "email", "api_token", "project_key", "board_id"),
    "trello": ("api_key", "api_token", "board_id", "list_ids", "api_secret"),
}
_types: dict[str, str] = {}
"""Integration id -> type, of the integrations this run created (a PATCH's body is mapped to its type)."""


@cache
def _fakes() -> dict[str, dict[str, Any]]:
    with open(os.environ["AGILETRACK_FUZZ_FAKES"], encoding="utf-8") as file:
        return dict(json.load(file))


def _valid_window(query: dict[str, Any]) -> dict[str, Any]:
    """``since`` and ``until`` as generated when they make a window the API serves, else without them (the
    default window): how the two bounds relate, and their range, are rules no JSON Schema keyword states."""
    try:
        parse_window(query.get("since"), query.get("until"), datetime.now(UTC))
    except ValidationFailed:
        return {k: v for k, v in query.items() if k not in ("since", "until")}
    return query


def _valid_create(body: dict[str, Any]) -> bool:
    """Whether the API's own validation takes ``body``. A body the document calls valid but the API refuses is
    sent as generated, so schemathesis reports it (the document does not tell the truth); one it takes is
    pointed at the fake provider."""
    try:
        NewIntegration.model_validate(body)
    except ValidationError:
        return False
    return True


def _positive(case: Any) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def _to_fake(kind: str, config: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    fake = _fakes()[kind]
    mapped = {key: value for key, value in config.items() if key in fake}
    for key in _PROVIDER_CHECKED[kind]:
        if key in fake and (not partial or key in mapped):
            mapped[key] = fake[key]
    return mapped


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Every phase's cases pass here just before they are sent (``map_case`` is not applied to examples)."""
    operation = case.operation
    if not _positive(case):
        return
    if isinstance(case.query, dict) and case.query.get("next_token") is not None:
        case.query = {k: v for k, v in case.query.items() if k != "next_token"}
    body = case.body
    if operation.method.upper() == "POST" and operation.path == "/integrations" and isinstance(body, dict):
        kind = body.get("type")
        if kind in _PROVIDER_CHECKED and isinstance(body.get("config"), dict) and _valid_create(body):
            case.body = {**body, "config": _to_fake(kind, body["config"], partial=False)}
    elif operation.method.upper() == "PATCH" and isinstance(body, dict) and isinstance(body.get("config"), dict):
        kind = _types.get(str((case.path_parameters or {}).get("integration_id")))
        if kind is not None:
            case.body = {**body, "config": _to_fake(kind, body["config"], partial=True)}
    elif operation.path.endswith("/metrics") and isinstance(case.query, dict):
        case.query = _valid_window(case.query)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    operation = case.operation
    if response.status_code != 201 or (operation.method.upper(), operation.path) != ("POST", "/integrations"):
        return
    try:
        created = response.json()
    except ValueError:
        return
    if isinstance(created, dict) and isinstance(created.get("id"), str):
        _types[created["id"]] = str(created.get("type"))
