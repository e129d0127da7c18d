"""Jira Cloud admin-webhook deliveries for tests, shaped like the ones Jira sends.

- ``issue(...)``: an issue as webhooks carry it (REST v2 shape: ``{id, self, key, fields{...}}``), with the
  sprint field ``customfield_10020`` (a list of sprint objects) and the estimation field ``customfield_10016``.
- ``status_item``, ``sprint_item``, ``estimate_item``, ``resolution_item``, ``project_item``: ``changelog.items``
  entries (``{field, fieldtype, fieldId, from, fromString, to, toString}``). Sprint ``from``/``to`` are
  comma-separated sprint ids; estimate values travel in ``fromString``/``toString`` (``from``/``to`` are null).
- ``issue_event(...)``, ``sprint_event(...)``: the envelope (``timestamp`` in epoch ms, ``webhookEvent``,
  ``issue_event_type_name``, ``user``) around the entity.
- ``signed(payload, secret)``: the body and the headers Jira sends with it (``X-Hub-Signature`` computed here
  with ``hmac``, independently of the code under test; ``X-Atlassian-Webhook-Identifier``, the retry header).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

SITE = "https://acme.atlassian.net"
SPRINT_FIELD = "customfield_10020"
ESTIMATE_FIELD = "customfield_10016"
PROVIDER_STATE: dict[str, Any] = {
    "sprint_field": SPRINT_FIELD,
    "estimation_field": ESTIMATE_FIELD,
    "board_id": 7,
    "time_zone": "Europe/Berlin",
}
"""What a sync of the ENG project on board 7 records for webhooks."""

STATUSES: dict[str, tuple[str, str]] = {
    "10000": ("To Do", "new"),
    "3": ("In Progress", "indeterminate"),
    "10001": ("In Review", "indeterminate"),
    "10002": ("Done", "done"),
}
_CATEGORY_IDS = {"new": 2, "indeterminate": 4, "done": 3}
_CATEGORY_NAMES = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}


def jira_time(value: datetime) -> str:
    """Jira's field timestamp format: ``2024-03-05T10:15:30.000+0100`` (here in UTC, ``+0000``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def user(name: str = "Ada Lovelace", time_zone: str = "Europe/Berlin") -> dict[str, Any]:
    account = "5b10a2844c20165700ede21g"
    return {
        "self": f"{SITE}/rest/api/2/user?accountId={account}",
        "accountId": account,
        "avatarUrls": {"48x48": "https://avatar-management.services.atlassian.com/default/48"},
        "displayName": name,
        "active": True,
        "timeZone": time_zone,
        "accountType": "atlassian",
    }


def status(status_id: str) -> dict[str, Any]:
    name, category = STATUSES[status_id]
    return {
        "self": f"{SITE}/rest/api/2/status/{status_id}",
        "description": "",
        "iconUrl": f"{SITE}/images/icons/statuses/generic.png",
        "name": name,
        "id": status_id,
        "statusCategory": {
            "self": f"{SITE}/rest/api/2/statuscategory/{_CATEGORY_IDS[category]}",
            "id": _CATEGORY_IDS[category],
            "key": category,
            "colorName": "blue-gray",
            "name": _CATEGORY_NAMES[category],
        },
    }


def sprint(
    sprint_id: int,
    *,
    state: str = "active",
    board: int = 7,
    start: datetime | None = None,
    end: datetime | None = None,
    complete: datetime | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """A sprint object as sprint events carry it (the issue's sprint field holds the same, with ``boardId``)."""
    body: dict[str, Any] = {
        "id": sprint_id,
        "self": f"{SITE}/rest/agile/1.0/sprint/{sprint_id}",
        "state": state,
        "name": name or f"ENG Sprint {sprint_id}",
        "originBoardId": board,
        "goal": "",
    }
    if start is not None:
        body["startDate"] = start.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if end is not None:
        body["endDate"] = end.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if complete is not None:
        body["completeDate"] = complete.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return body


def _field_sprint(value: dict[str, Any]) -> dict[str, Any]:
    field = {k: v for k, v in value.items() if k not in ("self", "originBoardId")}
    return field | {"boardId": value["originBoardId"]}


def issue(
    number: int,
    *,
    updated: datetime,
    created: datetime | None = None,
    status_id: str = "10000",
    project: str = "ENG",
    sprints: Sequence[dict[str, Any]] = (),
    estimate: float | None = 3.0,
    resolved: datetime | None = None,
    summary: str = "Make the thing",
    issue_id: str | None = None,
) -> dict[str, Any]:
    """An issue as a webhook carries it; ``sprints`` are ``sprint(...)`` objects; ``resolved`` sets a resolution."""
    ident = issue_id or str(10000 + number)
    return {
        "id": ident,
        "self": f"{SITE}/rest/api/2/{ident}",
        "key": f"{project}-{number}",
        "fields": {
            "summary": summary,
            "issuetype": {"id": "10001", "name": "Story", "subtask": False, "hierarchyLevel": 0},
            "priority": {"id": "3", "name": "Medium"},
            "status": status(status_id),
            "created": jira_time(created or updated),
            "updated": jira_time(updated),
            "resolutiondate": jira_time(resolved) if resolved else None,
            "resolution": {"id": "10000", "name": "Done", "description": "Work has been done."} if resolved else None,
            "project": {
                "self": f"{SITE}/rest/api/2/project/10000",
                "id": "10000" if project == "ENG" else "10001",
                "key": project,
                "name": f"Project {project}",
                "projectTypeKey": "software",
            },
            "assignee": None,
            "labels": [],
            "description": None,
            SPRINT_FIELD: [_field_sprint(s) for s in sprints] or None,
            ESTIMATE_FIELD: estimate,
        },
    }


# ---------------------------------------------------------------- changelog items
def _item(field: str, fieldtype: str, field_id: str, old: Any, old_s: Any, new: Any, new_s: Any) -> dict[str, Any]:
    return {
        "field": field,
        "fieldtype": fieldtype,
        "fieldId": field_id,
        "from": old,
        "fromString": old_s,
        "to": new,
        "toString": new_s,
    }


def status_item(from_id: str, to_id: str) -> dict[str, Any]:
    return _item("status", "jira", "status", from_id, STATUSES[from_id][0], to_id, STATUSES[to_id][0])


def sprint_item(from_ids: Sequence[int], to_ids: Sequence[int]) -> dict[str, Any]:
    """A sprint change: ``from``/``to`` are comma-separated ids (``"12, 13"``), empty for none."""

    def ids(values: Sequence[int]) -> str:
        return ", ".join(str(v) for v in values)

    def names(values: Sequence[int]) -> str:
        return ", ".join(f"ENG Sprint {v}" for v in values)

    return _item("Sprint", "custom", SPRINT_FIELD, ids(from_ids), names(from_ids), ids(to_ids), names(to_ids))


def estimate_item(old: float | None, new: float | None) -> dict[str, Any]:
    """A story point estimate change: Jira puts the numbers in the strings and leaves ``from``/``to`` null."""

    def text(value: float | None) -> str | None:
        return None if value is None else f"{value:g}"

    return _item("Story point estimate", "custom", ESTIMATE_FIELD, None, text(old), None, text(new))


def resolution_item(resolved: bool) -> dict[str, Any]:
    if resolved:
        return _item("resolution", "jira", "resolution", None, None, "10000", "Done")
    return _item("resolution", "jira", "resolution", "10000", "Done", None, None)


def project_item(from_key: str, to_key: str) -> dict[str, Any]:
    return _item("project", "jira", "project", "10000", f"Project {from_key}", "10001", f"Project {to_key}")


def other_item() -> dict[str, Any]:
    """A change no metric reads (the summary)."""
    return _item("summary", "jira", "summary", None, "Make the thing", None, "Make the thing properly")


# ---------------------------------------------------------------- envelopes
_TYPE_NAMES = {"jira:issue_created": "issue_created", "jira:issue_updated": "issue_generic"}


def issue_event(
    event: str,
    raw_issue: dict[str, Any],
    *,
    at: datetime,
    items: Sequence[dict[str, Any]] = (),
    changelog_id: str | None = None,
) -> dict[str, Any]:
    """``jira:issue_created|updated|deleted`` around ``raw_issue``; a changelog when ``items`` are given."""
    payload: dict[str, Any] = {
        "timestamp": epoch_ms(at),
        "webhookEvent": event,
        "issue_event_type_name": _TYPE_NAMES.get(event, "issue_deleted"),
        "user": user(),
        "issue": raw_issue,
    }
    if items:
        payload["changelog"] = {"id": changelog_id or str(epoch_ms(at) % 100000), "items": list(items)}
    return payload


def sprint_event(event: str, raw_sprint: dict[str, Any], *, at: datetime) -> dict[str, Any]:
    """``sprint_created|updated|started|closed|deleted`` around ``raw_sprint``."""
    payload: dict[str, Any] = {"timestamp": epoch_ms(at), "webhookEvent": event, "sprint": raw_sprint}
    if event == "sprint_updated":
        payload["oldValue"] = {**raw_sprint, "name": f"{raw_sprint['name']} (old name)"}
    return payload


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(
    payload: Any, secret: str, *, identifier: str | None = None, retry: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body Jira sends for ``payload`` and its headers (lower-cased, as the webhooks function keeps them)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "content-type": "application/json; charset=utf-8",
        "user-agent": "Atlassian Webhook HTTP Client",
        "x-atlassian-webhook-identifier": identifier or str(uuid.uuid4().int % 10**15),
        "x-atlassian-webhook-flow": "Primary",
        "x-hub-signature": signature(secret, body),
    }
    if retry is not None:
        headers["x-atlassian-webhook-retry"] = str(retry)
    return body, headers
