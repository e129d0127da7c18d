"""Jira's normalized records: what a Jira sync and Jira webhooks store, and what the Jira metrics read.

Record kinds carry a ``jira_`` prefix so that they never collide with another provider's kinds (GitHub has
an ``issue`` too).

- ``jira_issue``: one per issue, with its current fields and its *complete* history of the fields the metrics
  read (status, sprint, the board's estimation field, resolution), oldest first. Status changes keep status
  ids; the category of a status is looked up in the ``jira_status`` records at compute time, never guessed
  from a name.
- ``jira_status``: one per status of the site (``/rest/api/3/status``): its name and category key.
- ``jira_sprint``: one per sprint of the board, in every state.
- ``jira_board``: the one board the integration measures (configured or discovered) and its estimation
  field; absent when the project has no board (then every issue counts 1 point and there are no sprint
  metrics).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from agiletrack.models.common import UtcDatetime
from agiletrack.models.records import Record, SharedFieldsSet

StatusCategory = Literal["new", "indeterminate", "done"]
HistoryField = Literal["status", "sprint", "estimate", "resolution"]
SprintState = Literal["future", "active", "closed"]


class JiraChange(SharedFieldsSet):
    """One changed field of one changelog history entry (immutable: an issue holds tens of them and a cold
    metrics call every issue, so they share their fields sets, ``SharedFieldsSet``).

    - ``status``: ``from_value``/``to_value`` are status ids (strings), ``*_string`` their names.
    - ``sprint``: ``from_value``/``to_value`` are comma-separated sprint ids as Jira writes them
      (``"12, 13"``; empty or None for none).
    - ``estimate``: ``from_value``/``to_value`` are the numbers as text (``"3"``, ``"2.5"``; None for none).
    - ``resolution``: ``to_value`` is None when the resolution was cleared.
    """

    history_id: str
    """The changelog history id (several changes share one); with ``field`` it is unique within the issue."""
    at: UtcDatetime
    field: HistoryField
    from_value: str | None = None
    to_value: str | None = None
    from_string: str | None = None
    to_string: str | None = None


class JiraIssue(Record):
    kind: ClassVar[str] = "jira_issue"
    id: str
    """The issue id (stable across key changes and moves)."""
    key: str
    summary: str = ""
    issue_type: str | None = None
    priority: str | None = None
    status_id: str
    status: str
    """The current status name."""
    status_category: StatusCategory | None = None
    """The current status's category as the issue itself reported it (used only when no ``jira_status``
    record knows ``status_id``)."""
    created_at: UtcDatetime
    resolution: str | None = None
    resolution_date: UtcDatetime | None = None
    estimate: float | None = None
    """The current value of the board's estimation field; None when unset (counts 0 points)."""
    sprint_ids: list[int] = Field(default_factory=list)
    """The sprints the issue is in now."""
    history: list[JiraChange] = Field(default_factory=list)
    """Every change of status, sprint, estimate and resolution, oldest first (complete: not the newest 40)."""


class JiraStatus(Record):
    kind: ClassVar[str] = "jira_status"
    id: str
    name: str
    category: StatusCategory


class JiraSprint(Record):
    kind: ClassVar[str] = "jira_sprint"
    id: str
    """The sprint id as a string (Jira's is a number)."""
    name: str
    state: SprintState
    start: UtcDatetime | None = None
    end: UtcDatetime | None = None
    """The planned end."""
    complete: UtcDatetime | None = None
    """When it was completed; None while future or active."""
    board_id: int | None = None
    reported_completed_points: float | None = None
    """Completed points as Jira's own sprint report counts them (closed sprints, where the report answered); the
    metrics log a disagreement with the points they rebuild from the changelogs."""


class JiraBoard(Record):
    kind: ClassVar[str] = "jira_board"
    id: str
    """The board id as a string."""
    name: str = ""
    type: str = "scrum"
    estimation_field: str | None = None
    """The board's estimation field id (``customfield_10016``), None when the board estimates by issue count
    or not at all."""
    sprint_field: str | None = None
    """The site's sprint field id (``customfield_10020``)."""


JIRA_RECORD_TYPES: tuple[type[Record], ...] = (JiraIssue, JiraStatus, JiraSprint, JiraBoard)
