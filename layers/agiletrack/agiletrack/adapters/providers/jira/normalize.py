"""Jira JSON (REST search, changelog bulk fetch, Agile sprints, webhooks) → Jira records.

One place turns Jira's shapes into ``records.py`` types, for the pull and the webhooks alike:

- ``issue_record(raw, fields, history, observed_at)``: an issue of ``/rest/api/3/search/jql`` (or the ``issue``
  of a webhook) with its complete history;
- ``history_changes(histories, fields)``: changelog histories (``{id, created, items: [...]}``, as the bulk fetch
  and ``expand=changelog`` give them) → the changes the metrics read, oldest first;
- ``status_record``, ``sprint_record``: a status of ``/rest/api/3/status``, a sprint of the Agile API or of a
  sprint webhook.

``FieldIds`` names the site's sprint field and the board's estimation field: a changelog item counts only when
its ``fieldId`` is one of those (or ``status`` / ``resolution``), never by a display name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from agiletrack.adapters.providers.jira.records import (
    HistoryField,
    JiraChange,
    JiraIssue,
    JiraSprint,
    JiraStatus,
    SprintState,
    StatusCategory,
)
from agiletrack.models.common import as_utc

_CATEGORIES: dict[str, StatusCategory] = {"new": "new", "indeterminate": "indeterminate", "done": "done"}
_SPRINT_STATES = ("future", "active", "closed")


@dataclass(frozen=True)
class FieldIds:
    """The custom field ids that matter: the sprint field (``customfield_10020``) and the board's estimation
    field (``customfield_10016``); None when the site or board has none."""

    sprint: str | None = None
    estimate: str | None = None

    def history_field(self, field_id: str | None, field_name: str | None = None) -> HistoryField | None:
        """Which metric field a changelog item is about, or None. Jira Cloud always sends ``fieldId``; an item
        without one (old Server-era data) is matched on the two system field names only."""
        key = field_id or (field_name or "").lower()
        if key == "status":
            return "status"
        if key == "resolution":
            return "resolution"
        if self.sprint is not None and key == self.sprint:
            return "sprint"
        if self.estimate is not None and key == self.estimate:
            return "estimate"
        return None


def parse_time(value: Any) -> datetime | None:
    """A Jira timestamp (``2024-01-15T10:30:00.000+0100``, ISO 8601, or epoch milliseconds) in UTC; None when
    absent or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)  # an instant: never the host's local time
    if not isinstance(value, str):
        return None
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def category(value: Any) -> StatusCategory | None:
    """A status category key (``new``, ``indeterminate``, ``done``); Jira's ``undefined`` ("No Category") and
    anything unknown is None."""
    key = value.get("key") if isinstance(value, Mapping) else value
    return _CATEGORIES.get(str(key)) if key is not None else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def history_changes(histories: Iterable[Mapping[str, Any]], fields: FieldIds) -> list[JiraChange]:
    """The changes of ``histories`` the metrics read, oldest first (by time, then history id). A history
    without a readable ``created`` is skipped: a change with no time cannot be placed on a timeline."""
    changes: list[JiraChange] = []
    for history in histories:
        at = parse_time(history.get("created"))
        if at is None:
            continue
        history_id = str(history.get("id", ""))
        for item in history.get("items") or ():
            if not isinstance(item, Mapping):
                continue
            field = fields.history_field(_text(item.get("fieldId")), _text(item.get("field")))
            if field is None:
                continue
            changes.append(
                JiraChange(
                    history_id=history_id,
                    at=at,
                    field=field,
                    from_value=_text(item.get("from")) if field != "estimate" else _text(item.get("fromString")),
                    to_value=_text(item.get("to")) if field != "estimate" else _text(item.get("toString")),
                    from_string=_text(item.get("fromString")),
                    to_string=_text(item.get("toString")),
                )
            )
    changes.sort(key=lambda c: (c.at, _numeric_id(c.history_id)))
    return changes


def merge_history(older: Iterable[JiraChange], newer: Iterable[JiraChange]) -> list[JiraChange]:
    """Both histories as one, oldest first, each (history id, field) once: a webhook's single history entry
    joins the stored complete history without losing any of it, and a redelivery adds nothing."""
    merged: dict[tuple[str, str], JiraChange] = {}
    for change in [*older, *newer]:
        merged.setdefault((change.history_id, change.field), change)
    return sorted(merged.values(), key=lambda c: (c.at, _numeric_id(c.history_id)))


def _numeric_id(history_id: str) -> tuple[int, str]:
    return (int(history_id), "") if history_id.isdigit() else (0, history_id)


def _estimate(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _sprint_ids(value: Any) -> list[int]:
    """The sprint field's value: a list of sprint objects (Cloud), or of ids."""
    ids: list[int] = []
    for sprint in value or ():
        raw = sprint.get("id") if isinstance(sprint, Mapping) else sprint
        if isinstance(raw, int) and not isinstance(raw, bool):
            ids.append(raw)
        elif isinstance(raw, str) and raw.strip().isdigit():
            ids.append(int(raw))
    return sorted(set(ids))


def _name(value: Any) -> str | None:
    return _text(value.get("name")) if isinstance(value, Mapping) else None


def issue_record(
    raw: Mapping[str, Any], fields: FieldIds, history: list[JiraChange], observed_at: datetime
) -> JiraIssue:
    """A ``jira_issue`` record from an issue's JSON (``{id, key, fields: {...}}``). ``updated_at`` is the
    issue's ``updated`` field (Jira's own change time), or ``observed_at`` when it has none."""
    values: Mapping[str, Any] = raw.get("fields") or {}
    status = values.get("status") or {}
    created = parse_time(values.get("created")) or observed_at
    return JiraIssue(
        id=str(raw["id"]),
        key=str(raw.get("key") or raw["id"]),
        updated_at=parse_time(values.get("updated")) or observed_at,
        summary=str(values.get("summary") or ""),
        issue_type=_name(values.get("issuetype")),
        priority=_name(values.get("priority")),
        status_id=str(status.get("id", "")),
        status=str(status.get("name", "")),
        status_category=category(status.get("statusCategory")),
        created_at=created,
        resolution=_name(values.get("resolution")),
        resolution_date=parse_time(values.get("resolutiondate")),
        estimate=_estimate(values.get(fields.estimate)) if fields.estimate else None,
        sprint_ids=_sprint_ids(values.get(fields.sprint)) if fields.sprint else [],
        history=history,
    )


def status_record(raw: Mapping[str, Any], observed_at: datetime) -> JiraStatus | None:
    """A ``jira_status`` record; None for a status without a known category (it cannot be placed)."""
    found = category(raw.get("statusCategory"))
    if found is None or raw.get("id") is None:
        return None
    return JiraStatus(id=str(raw["id"]), name=str(raw.get("name", "")), category=found, updated_at=observed_at)


def sprint_record(raw: Mapping[str, Any], observed_at: datetime, board_id: int | None = None) -> JiraSprint | None:
    """A ``jira_sprint`` record from the Agile API's (or a sprint webhook's) sprint; None without an id."""
    if raw.get("id") is None:
        return None
    state = str(raw.get("state", "future")).lower()
    origin = raw.get("originBoardId", board_id)
    return JiraSprint(
        id=str(raw["id"]),
        name=str(raw.get("name", "")),
        state=cast(SprintState, state if state in _SPRINT_STATES else "future"),
        start=parse_time(raw.get("startDate")),
        end=parse_time(raw.get("endDate")),
        complete=parse_time(raw.get("completeDate")),
        board_id=int(origin) if isinstance(origin, int) else board_id,
        updated_at=observed_at,
    )
