"""Jira admin-webhook deliveries: signature, de-duplication id, parsing into records, and merging.

Jira sends no event header: ``parse`` dispatches on the body's ``webhookEvent``.

- ``jira:issue_created`` / ``jira:issue_updated`` → the ``JiraIssue`` in the state the delivery carries, with the
  one history entry of its ``changelog`` (``{id, items}``, no time: its time is the envelope's ``timestamp``).
  ``updated_at`` is the issue's ``fields.updated`` (Jira's own change time), so the store's "replace only if
  newer" rule keeps a late, older delivery (Jira retries for about 30 minutes, out of order) from overwriting a
  newer state, and ``merge_record`` still adds that delivery's history entry.
- An issue moved out of the project (a ``project`` change whose issue is now elsewhere) → its tombstone;
  ``jira:issue_deleted`` → its tombstone. Issues of another project (admin webhooks are site-wide unless
  filtered by JQL) → ignored.
- ``sprint_created|updated|started|closed`` → the ``JiraSprint`` (``updated_at`` = the envelope's
  ``timestamp``); ``sprint_deleted`` → its tombstone. A sprint whose ``originBoardId`` is not
  ``provider_state["board_id"]`` (or, before any sync, ``config.board_id``) → ignored; with no board known every
  sprint event is ignored (the sync reads the sprints of the board it finds).
- Every other ``webhookEvent`` → accepted and ignored. A body that is not a JSON object, or an event without
  what it needs, is ``ignored`` under the event name ``malformed``: ``parse`` never raises.

The sprint and estimation field ids come from ``provider_state`` (``sprint_field``, ``estimation_field``), which
the sync discovers. Before the first sync they are unknown: status and resolution changes still count, while
sprint and estimate changes and values wait for the sync (a record made then leaves ``sprint_ids`` and
``estimate`` unset, and ``merge_record`` keeps the stored ones).

Every verified delivery marks the webhook connected: Jira has no ping.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from agiletrack.adapters.providers.base import WebhookDelivery, WebhookResult
from agiletrack.adapters.providers.deliveries import json_object
from agiletrack.adapters.providers.jira.config import JiraConfig
from agiletrack.adapters.providers.jira.normalize import (
    FieldIds,
    history_changes,
    issue_record,
    merge_history,
    parse_time,
    sprint_record,
)
from agiletrack.adapters.providers.jira.records import JiraIssue
from agiletrack.models.common import as_utc
from agiletrack.models.records import Record

MALFORMED = "malformed"
"""The event name of a verified delivery we cannot read (counted, nothing stored)."""

ISSUE_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated"})
ISSUE_DELETED = "jira:issue_deleted"
SPRINT_EVENTS = frozenset({"sprint_created", "sprint_updated", "sprint_started", "sprint_closed"})
SPRINT_DELETED = "sprint_deleted"
_UNREADABLE = (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError)
"""What a payload of the wrong shape makes the normalizers raise (pydantic's ValidationError is a ValueError;
an out-of-range epoch gives OverflowError or OSError)."""
_UNKNOWN_WITHOUT_FIELD_IDS = {"sprint": "sprint_ids", "estimate": "estimate"}


def _obj(value: object) -> dict[str, Any]:
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal) and value == int(value):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _field_ids(provider_state: Mapping[str, Any]) -> FieldIds:
    sprint, estimate = provider_state.get("sprint_field"), provider_state.get("estimation_field")
    return FieldIds(
        sprint=sprint if isinstance(sprint, str) and sprint else None,
        estimate=estimate if isinstance(estimate, str) and estimate else None,
    )


def parse(delivery: WebhookDelivery, config: JiraConfig, provider_state: Mapping[str, Any]) -> WebhookResult:
    """What a verified delivery means. Total: a malformed delivery is ``ignored`` as ``malformed``."""
    payload = json_object(delivery.body)
    event = payload.get("webhookEvent") if payload is not None else None
    if payload is None or not isinstance(event, str) or not event:
        return WebhookResult(event=MALFORMED, ignored=True, connected=True)
    try:
        at = parse_time(payload.get("timestamp")) or as_utc(delivery.received_at)
        return _parse(event, payload, at, config, provider_state)
    except _UNREADABLE:
        return WebhookResult(event=MALFORMED, ignored=True, connected=True)


def _parse(
    event: str, payload: dict[str, Any], at: datetime, config: JiraConfig, provider_state: Mapping[str, Any]
) -> WebhookResult:
    if event in ISSUE_EVENTS or event == ISSUE_DELETED:
        return _issue_event(event, payload, at, config, _field_ids(provider_state))
    if event in SPRINT_EVENTS or event == SPRINT_DELETED:
        board_id = provider_state.get("board_id", config.board_id)
        return _sprint_event(event, payload, at, _int(board_id))
    return WebhookResult(event=event, ignored=True, connected=True)


def _project_key(issue: Mapping[str, Any]) -> str | None:
    key = _obj(_obj(issue.get("fields")).get("project")).get("key")
    if isinstance(key, str) and key:
        return key
    issue_key = issue.get("key")
    if not isinstance(issue_key, str):
        return None
    return issue_key.rpartition("-")[0] or None


def _has_state(issue: Mapping[str, Any]) -> bool:
    """The issue carries its fields and status (a tombstone needs only the id)."""
    return "id" in _obj(_obj(issue.get("fields")).get("status"))


def _moved_out(changelog: Mapping[str, Any]) -> bool:
    """The changelog moved the issue to another project (``project`` is a system field)."""
    items = changelog.get("items")
    if not isinstance(items, list):
        return False
    return any((_obj(item).get("fieldId") or _obj(item).get("field")) == "project" for item in items)


def _issue_event(
    event: str, payload: dict[str, Any], at: datetime, config: JiraConfig, fields: FieldIds
) -> WebhookResult:
    raw, changelog = _obj(payload.get("issue")), _obj(payload.get("changelog"))
    project = _project_key(raw)
    if raw.get("id") is None or project is None or (event != ISSUE_DELETED and not _has_state(raw)):
        return WebhookResult(event=MALFORMED, ignored=True, connected=True)
    ours = project == config.project_key
    if not ours and not (event == "jira:issue_updated" and _moved_out(changelog)):
        return WebhookResult(event=event, ignored=True, connected=True)
    history = history_changes([{**changelog, "created": at.isoformat()}], fields) if changelog.get("id") else []
    record = issue_record(raw, fields, history, observed_at=at)
    if event == ISSUE_DELETED or not ours:
        record = record.model_copy(update={"deleted": True, "updated_at": max(record.updated_at, at)})
    return WebhookResult(event=event, records=[_unset_unknown(record, fields)], connected=True)


def _unset_unknown(record: JiraIssue, fields: FieldIds) -> JiraIssue:
    """Leave ``sprint_ids``/``estimate`` unset when their field id is not known yet, so a merge keeps the stored."""
    unknown = {name for field, name in _UNKNOWN_WITHOUT_FIELD_IDS.items() if getattr(fields, field) is None}
    if not unknown:
        return record
    return JiraIssue(**record.model_dump(exclude=unknown))


def _sprint_event(event: str, payload: dict[str, Any], at: datetime, board_id: int | None) -> WebhookResult:
    raw = _obj(payload.get("sprint"))
    if raw.get("id") is None:
        return WebhookResult(event=MALFORMED, ignored=True, connected=True)
    if board_id is None or _int(raw.get("originBoardId")) != board_id:
        return WebhookResult(event=event, ignored=True, connected=True)
    record = sprint_record(raw, observed_at=at, board_id=board_id)
    if record is None:
        return WebhookResult(event=MALFORMED, ignored=True, connected=True)
    if event == SPRINT_DELETED:
        record = record.model_copy(update={"deleted": True})
    return WebhookResult(event=event, records=[record], connected=True)


# ---------------------------------------------------------------- merging
def merge_issue(stored: JiraIssue, incoming: JiraIssue) -> JiraIssue:
    """The newer state of the two (by ``updated_at``, incoming on a tie) with the union of both histories.

    ``updated_at`` stays the newer one's: when only the history grew (an older delivery arriving late) the
    content differs at the same ``updated_at``, which the record store writes. Fields the newer record left
    unset (``sprint_ids``/``estimate`` of a delivery made before the field ids were known) keep the older's.
    """
    newer, older = (incoming, stored) if incoming.updated_at >= stored.updated_at else (stored, incoming)
    values = {name: getattr(newer, name) for name in JiraIssue.model_fields}
    for name in _UNKNOWN_WITHOUT_FIELD_IDS.values():
        if name not in newer.model_fields_set and name in older.model_fields_set:
            values[name] = getattr(older, name)
    values["history"] = merge_history(stored.history, incoming.history)
    return JiraIssue(**values)


def merge_record(stored: Record, incoming: Record) -> Record:
    """The event processor's merge: issues by ``merge_issue``; anything else (sprints) is the incoming record,
    which the store writes only when newer."""
    if isinstance(stored, JiraIssue) and isinstance(incoming, JiraIssue):
        return merge_issue(stored, incoming)
    return incoming
