"""The Jira pull: issues with their complete histories, statuses, the board, its sprints, deleted issues.

A sync runs these phases, each resumable from the cursor of the page before it:

1. ``setup`` (at most once a day, or when a search page shows a status id we do not know): the user's time
   zone (``/myself``), the sprint field (``/field``, by its schema type, never its name), the statuses
   (``/status``), the board (configured, or the project's scrum board) and its estimation field (the board
   configuration). Kept in the cursor and handed to webhooks as ``provider_state``; statuses and the board
   are stored as records when they change.
2. ``issues``: ``POST /rest/api/3/search/jql`` with bounded JQL ``project = KEY AND updated >= "<mark>" ORDER BY
   updated ASC``, 100 a page, only the fields the metrics read. The mark is written in the user's time zone
   (Jira reads JQL dates in it) and a safety margin earlier; issues already stored with the same ``updated``
   are skipped (``recent``), so the overlap costs no write and no changelog. Search expands each issue's
   changelog (``expand=changelog``): Jira gives at most the newest 40 histories there, so an issue whose
   changelog came whole (``total`` no more than the histories given) needs nothing else. Up to 1,000 issues
   are collected; the complete histories of those whose changelog was cut are then read with ``POST
   /rest/api/3/changelog/bulkfetch`` (only status, resolution, the sprint and the estimation field), so a
   first sync pays the bulk fetch for the long-lived issues only. The page of records is yielded with the
   search token that follows them. A first sync reads issues updated since ``backfill_since`` *and every
   unresolved issue* (``statusCategory != Done``) whatever its age, so the backlog is complete.
3. ``sprints``: the board's sprints in every state (offset paging); only changed ones are stored. Each closed
   sprint's sprint report is read once (remembered in ``compared``) and its sums logged; a failing report is
   logged and ignored.
4. ``reconcile`` (at most once a day): the project's issue ids (id-only search pages of 5,000) against the ids
   this integration holds (a compact set in the cursor); an issue gone from the project becomes a tombstone.

Cursor (JSON, ``{}`` on a first sync): see ``JiraCursor``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from agiletrack.adapters.providers.base import PullContext, PullPage, PullProgress
from agiletrack.adapters.providers.jira.client import JiraClient
from agiletrack.adapters.providers.jira.config import JiraConfig
from agiletrack.adapters.providers.jira.normalize import (
    FieldIds,
    history_changes,
    issue_record,
    parse_time,
    sprint_record,
    status_record,
)
from agiletrack.adapters.providers.jira.records import JiraBoard, JiraIssue, JiraSprint
from agiletrack.errors import AuthError, ProviderError, ProviderRefused, RateLimitError
from agiletrack.models.base import Model
from agiletrack.models.common import UtcDatetime, iso
from agiletrack.models.records import Record
from agiletrack.observability import logger

SETUP_EVERY = timedelta(days=1)
RECONCILE_EVERY = timedelta(days=1)
MARGIN = timedelta(minutes=10)
"""How far before the mark a search starts: JQL dates have minute precision and search is eventually
consistent. Issues in the overlap are de-duplicated, not re-written."""
SEARCH_PAGE = 100
SEARCH_HISTORIES = 40
"""The most histories Jira puts in an issue's expanded changelog on search (the newest ones)."""
BATCH_ISSUES = 1000
HISTORY_PAGE = 1000
ID_PAGE = 5000
SPRINT_PAGE = 50
SPRINT_FIELD_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"
BASE_FIELDS = ("summary", "issuetype", "priority", "status", "created", "updated", "resolution", "resolutiondate")
REPORT_SUMS = (
    "completedIssuesEstimateSum",
    "completedIssuesInitialEstimateSum",
    "issuesNotCompletedEstimateSum",
    "issuesNotCompletedInitialEstimateSum",
    "puntedIssuesEstimateSum",
    "allIssuesEstimateSum",
)

Phase = Literal["setup", "issues", "sprints", "reconcile"]


class Site(Model):
    """What the setup learned about the site and the board."""

    refreshed_at: UtcDatetime
    time_zone: str | None = None
    sprint_field: str | None = None
    estimation_field: str | None = None
    board_id: int | None = None
    status_ids: list[str] = Field(default_factory=list)

    @property
    def fields(self) -> FieldIds:
        return FieldIds(sprint=self.sprint_field, estimate=self.estimation_field)

    def provider_state(self) -> dict[str, Any]:
        """The integration's ``provider_state``; a key whose value is None is left out (read it with ``get``),
        as DynamoDB stores it."""
        state = {
            "sprint_field": self.sprint_field,
            "estimation_field": self.estimation_field,
            "board_id": self.board_id,
            "time_zone": self.time_zone,
        }
        return {k: v for k, v in state.items() if v is not None}


class JiraCursor(Model):
    version: int = 1
    phase: Phase = "setup"
    site: Site | None = None
    mark: UtcDatetime | None = None
    """The newest ``updated`` of a completed issues phase: the next run searches from it (less the margin)."""
    jql: str | None = None
    """The search of the issues phase under way (kept so a resumed run asks the same query)."""
    token: str | None = None
    """Its ``nextPageToken``: where the run resumes; None: its first page."""
    newest: UtcDatetime | None = None
    """The newest ``updated`` seen by the run under way."""
    recent: dict[str, str] = Field(default_factory=dict)
    """Issue id → ``updated`` (ISO) of issues stored at or after the mark (or, during a run, the newest seen)
    less the margin: the overlap."""
    fingerprints: dict[str, str] = Field(default_factory=dict)
    """``kind:id`` → a hash of what was stored for statuses, sprints and the board (store only changes)."""
    compared: list[int] = Field(default_factory=list)
    reported: dict[str, float] = Field(default_factory=dict)
    """Sprint id → the completed points of Jira's own sprint report, where it answered."""
    """Closed sprints whose sprint report was read."""
    known: str = ""
    """The issue ids this integration holds (compact: ``pack_ids``)."""
    reconciled_at: UtcDatetime | None = None


# ---------------------------------------------------------------- compact id sets
def pack_ids(ids: Iterable[str]) -> str:
    """Numeric ids as sorted deltas, deflated and base64: 50,000 ids take a few kilobytes."""
    numbers = sorted({int(i) for i in ids if i.isdigit()})
    deltas = [b - a for a, b in zip([0, *numbers], numbers, strict=False)]
    return base64.b64encode(zlib.compress(",".join(map(str, deltas)).encode(), 9)).decode()


def unpack_ids(packed: str) -> set[str]:
    if not packed:
        return set()
    text = zlib.decompress(base64.b64decode(packed)).decode()
    total, out = 0, set()
    for delta in filter(None, text.split(",")):
        total += int(delta)
        out.add(str(total))
    return out


# ---------------------------------------------------------------- JQL dates
def jql_date(at: datetime, time_zone: str | None, now: datetime) -> str:
    """``at`` as JQL reads it: ``"yyyy/MM/dd HH:mm"`` in the user's time zone (floored to the minute), or a
    relative ``"-Nm"`` (a minute earlier, to be safe) when the zone is unknown."""
    if time_zone:
        try:
            local = at.astimezone(ZoneInfo(time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            local = None
        if local is not None:
            return f'"{local.strftime("%Y/%m/%d %H:%M")}"'
    minutes = int((now - at).total_seconds() // 60) + 1
    return f'"-{max(minutes, 1)}m"'


def _fingerprint(record: Record) -> str:
    data = record.model_dump(mode="json", exclude={"updated_at"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class JiraPull:
    def __init__(self, ctx: PullContext, client: JiraClient, now: datetime) -> None:
        assert isinstance(ctx.config, JiraConfig)
        self.ctx = ctx
        self.config: JiraConfig = ctx.config
        self.client = client
        self.now = now
        self.cursor = JiraCursor.model_validate(ctx.cursor) if ctx.cursor else JiraCursor()

    def _page(self, records: list[Record], phase: Phase, *, done: bool = False, state: bool = False) -> PullPage:
        site = self.cursor.site
        # Issues are searched oldest update first: the newest ``updated`` seen is how far forward the run has come.
        newest = self.cursor.newest if phase == "issues" else None
        return PullPage(
            records=records,
            cursor=self.cursor.model_dump(mode="json"),
            done=done,
            provider_state=site.provider_state() if state and site is not None else None,
            progress=PullProgress(phase, newest=newest),
        )

    def pages(self) -> Iterator[PullPage]:
        cur = self.cursor
        if cur.phase == "setup":
            site = cur.site
            if site is None or self.now - site.refreshed_at >= SETUP_EVERY:
                records = self._setup()
                cur.phase = "issues"
                yield self._page(records, "setup", state=True)
            cur.phase = "issues"
        if cur.phase == "issues":
            yield from self._issues()
            cur.phase = "sprints"
        if cur.phase == "sprints":
            records = self._sprints()
            cur.phase = "reconcile"
            yield self._page(records, "sprints")
        records = self._reconcile()
        cur.phase = "setup"
        yield self._page(records, "reconcile", done=True)

    # ------------------------------------------------------------ setup
    def _site(self) -> Site:
        assert self.cursor.site is not None
        return self.cursor.site

    def _setup(self) -> list[Record]:
        me = self.client.get("/rest/api/3/myself", "your Jira user")
        fields = self.client.get("/rest/api/3/field", "the site's fields")
        sprint_field = next(
            (
                str(f["id"])
                for f in fields or ()
                if isinstance(f, Mapping) and (f.get("schema") or {}).get("custom") == SPRINT_FIELD_TYPE
            ),
            None,
        )
        site = Site(
            refreshed_at=self.now,
            time_zone=str(me.get("timeZone")) if isinstance(me, Mapping) and me.get("timeZone") else None,
            sprint_field=sprint_field,
        )
        records: list[Record] = self._statuses(site)
        board = self._board(site)
        if board is not None:
            records.append(board)
        self.cursor.site = site
        return self._changed(records)

    def _statuses(self, site: Site) -> list[Record]:
        found = []
        for raw in self.client.get("/rest/api/3/status", "the site's statuses") or ():
            if isinstance(raw, Mapping):
                status = status_record(raw, self.now)
                if status is not None:
                    found.append(status)
        site.status_ids = sorted({s.id for s in found})
        return list(found)

    def _board(self, site: Site) -> JiraBoard | None:
        board_id = self.config.board_id
        name = ""
        if board_id is None:
            answer = self.client.get(
                "/rest/agile/1.0/board",
                f"the scrum boards of project {self.config.project_key}",
                params={"projectKeyOrId": self.config.project_key, "type": "scrum", "maxResults": 50},
            )
            boards = [b for b in answer.get("values") or () if isinstance(b, Mapping) and isinstance(b.get("id"), int)]
            if not boards:
                return None
            first = min(boards, key=lambda b: int(b["id"]))
            board_id, name = int(first["id"]), str(first.get("name") or "")
        configuration = self.client.get(f"/rest/agile/1.0/board/{board_id}/configuration", f"board {board_id}")
        estimation = configuration.get("estimation") or {}
        if estimation.get("type") == "field":
            field = (estimation.get("field") or {}).get("fieldId")
            site.estimation_field = str(field) if field else None
        site.board_id = board_id
        return JiraBoard(
            id=str(board_id),
            name=str(configuration.get("name") or name),
            type=str(configuration.get("type") or "scrum"),
            estimation_field=site.estimation_field,
            sprint_field=site.sprint_field,
            updated_at=self.now,
        )

    def _changed(self, records: list[Record]) -> list[Record]:
        """Only the records whose content changed since they were last stored."""
        out = []
        for record in records:
            key, print_ = f"{record.kind}:{record.id}", _fingerprint(record)
            if self.cursor.fingerprints.get(key) != print_:
                self.cursor.fingerprints[key] = print_
                out.append(record)
        return out

    # ------------------------------------------------------------ issues
    def _jql(self) -> str:
        cur, site = self.cursor, self._site()
        project = f'project = "{self.config.project_key}"'
        # A relative date is read against Jira's clock: measured from its now, not ours (they may differ).
        now = self.ctx.stats.provider_now(self.now)
        if cur.mark is None:
            since = jql_date(self.ctx.backfill_since, site.time_zone, now)
            return f"{project} AND (updated >= {since} OR statusCategory != Done) ORDER BY updated ASC"
        since = jql_date(cur.mark - MARGIN, site.time_zone, now)
        return f"{project} AND updated >= {since} ORDER BY updated ASC"

    def _search_fields(self) -> list[str]:
        site = self._site()
        extra = [f for f in (site.sprint_field, site.estimation_field) if f]
        return [*BASE_FIELDS, *extra]

    def _issues(self) -> Iterator[PullPage]:
        cur = self.cursor
        if cur.jql is None:
            cur.jql, cur.token, cur.newest = self._jql(), None, cur.mark
        known = unpack_ids(cur.known)
        while True:
            batch: list[Mapping[str, Any]] = []
            finished = False
            while len(batch) < BATCH_ISSUES:
                body: dict[str, Any] = {
                    "jql": cur.jql,
                    "fields": self._search_fields(),
                    "expand": "changelog",
                    "maxResults": SEARCH_PAGE,
                }
                if cur.token:
                    body["nextPageToken"] = cur.token
                answer = self.client.post("/rest/api/3/search/jql", "the project's issues", body)
                for raw in answer.get("issues") or ():
                    if isinstance(raw, Mapping) and raw.get("id") is not None and self._is_new(raw):
                        batch.append(raw)
                cur.token = answer.get("nextPageToken") or None
                if cur.token is None:
                    finished = True
                    break
            issues, statuses = self._issue_records(batch)
            for raw, record in zip(batch, issues, strict=True):
                known.add(record.id)
                if cur.newest is None or record.updated_at > cur.newest:
                    cur.newest = record.updated_at
                cur.recent[record.id] = str((raw.get("fields") or {}).get("updated") or iso(record.updated_at))
            cur.known = pack_ids(known)
            if finished:
                # The last page's cursor is past the phase: a run stopped after it resumes with the sprints.
                cur.mark, cur.jql, cur.phase = cur.newest, None, "sprints"
            self._prune_recent(cur.mark if finished else cur.newest)
            yield self._page([*issues, *statuses], "issues")
            if finished:
                return

    def _is_new(self, raw: Mapping[str, Any]) -> bool:
        updated = (raw.get("fields") or {}).get("updated")
        return updated is None or self.cursor.recent.get(str(raw["id"])) != str(updated)

    def _prune_recent(self, newest: datetime | None) -> None:
        """Keep in ``recent`` only the issues the next search can return again with the same ``updated``: those
        updated within the margin (and a minute) before ``newest``. Done after every page, not only at the end
        of a run, so a first sync of 50,000 issues does not carry them all in its cursor (an item of at most
        400 KB); the search is in ``updated`` order, so an issue further back is not met again unchanged."""
        if newest is None:
            return
        floor = newest - MARGIN - timedelta(minutes=1)
        self.cursor.recent = {k: v for k, v in self.cursor.recent.items() if (parse_time(v) or floor) >= floor}

    def _issue_records(self, batch: list[Mapping[str, Any]]) -> tuple[list[Record], list[Record]]:
        """(the issues of ``batch`` with their complete histories, statuses that changed meanwhile)."""
        if not batch:
            return [], []
        site = self._site()
        seen = {str(((raw.get("fields") or {}).get("status") or {}).get("id", "")) for raw in batch}
        statuses: list[Record] = []
        if seen - set(site.status_ids) - {""}:
            # A status created since the setup: its category is needed before its issues are measured.
            statuses = self._changed(self._statuses(site))
        histories = {str(raw["id"]): whole for raw in batch if (whole := complete_changelog(raw)) is not None}
        cut = [str(raw["id"]) for raw in batch if str(raw["id"]) not in histories]
        if cut:
            histories |= self._histories(cut)
        issues: list[Record] = [
            issue_record(raw, site.fields, history_changes(histories.get(str(raw["id"]), []), site.fields), self.now)
            for raw in batch
        ]
        return issues, statuses

    def _histories(self, issue_ids: list[str]) -> dict[str, list[Mapping[str, Any]]]:
        site = self._site()
        field_ids = ["status", "resolution", *(f for f in (site.sprint_field, site.estimation_field) if f)]
        out: dict[str, list[Mapping[str, Any]]] = {}
        token: str | None = None
        while True:
            body: dict[str, Any] = {"issueIdsOrKeys": issue_ids, "fieldIds": field_ids, "maxResults": HISTORY_PAGE}
            if token:
                body["nextPageToken"] = token
            answer = self.client.post("/rest/api/3/changelog/bulkfetch", "the issues' changelogs", body)
            for log in answer.get("issueChangeLogs") or ():
                if isinstance(log, Mapping):
                    out.setdefault(str(log.get("issueId")), []).extend(
                        h for h in log.get("changeHistories") or () if isinstance(h, Mapping)
                    )
            token = answer.get("nextPageToken") or None
            if token is None:
                return out

    # ------------------------------------------------------------ sprints
    def _sprints(self) -> list[Record]:
        board_id = self._site().board_id
        if board_id is None:
            return []
        found: list[Record] = []
        closed: list[tuple[int, str]] = []
        start = 0
        while True:
            answer = self.client.get(
                f"/rest/agile/1.0/board/{board_id}/sprint",
                f"the sprints of board {board_id}",
                params={"state": "future,active,closed", "startAt": start, "maxResults": SPRINT_PAGE},
            )
            values = [v for v in answer.get("values") or () if isinstance(v, Mapping)]
            for raw in values:
                sprint = sprint_record(raw, self.now, board_id)
                if sprint is None:
                    continue
                found.append(sprint)
                if sprint.state == "closed" and isinstance(raw.get("id"), int):
                    closed.append((int(raw["id"]), sprint.name))
            start += len(values)
            if answer.get("isLast", True) or not values:
                break
        for sprint_id, name in closed:
            if sprint_id not in self.cursor.compared:
                completed = self._sprint_report(board_id, sprint_id, name).get("completedIssuesEstimateSum")
                if completed is not None:
                    self.cursor.reported[str(sprint_id)] = completed
                self.cursor.compared.append(sprint_id)
        for record in found:
            assert isinstance(record, JiraSprint)
            record.reported_completed_points = self.cursor.reported.get(record.id)
        return self._changed(found)

    def _sprint_report(self, board_id: int, sprint_id: int, name: str) -> dict[str, float | None]:
        """The sums of Jira's own sprint report (private API), logged and kept on the sprint so the metrics can
        compare their rebuilt numbers with it. A failure is logged and ignored (no sums)."""
        try:
            answer = self.client.get(
                "/rest/greenhopper/1.0/rapid/charts/sprintreport",
                f"the sprint report of sprint {sprint_id}",
                params={"rapidViewId": board_id, "sprintId": sprint_id},
            )
        except (RateLimitError, AuthError):
            raise
        except (ProviderRefused, ProviderError) as exc:
            logger.info("jira sprint report unavailable", extra={"sprint_id": sprint_id, "error": exc.code})
            return {}
        contents = answer.get("contents") if isinstance(answer, Mapping) else None
        sums = report_sums(contents if isinstance(contents, Mapping) else {})
        logger.info("jira sprint report", extra={"sprint_id": sprint_id, "sprint": name, "report": sums})
        return sums

    # ------------------------------------------------------------ deleted issues
    def _reconcile(self) -> list[Record]:
        cur = self.cursor
        if cur.reconciled_at is None:
            cur.reconciled_at = self.now  # a first sync holds exactly what the project has
            return []
        if self.now - cur.reconciled_at < RECONCILE_EVERY:
            return []
        present: set[str] = set()
        token: str | None = None
        while True:
            body: dict[str, Any] = {
                "jql": f'project = "{self.config.project_key}" ORDER BY id ASC',
                "fields": ["id"],
                "maxResults": ID_PAGE,
            }
            if token:
                body["nextPageToken"] = token
            answer = self.client.post("/rest/api/3/search/jql", "the project's issue ids", body)
            present.update(str(i["id"]) for i in answer.get("issues") or () if isinstance(i, Mapping) and "id" in i)
            token = answer.get("nextPageToken") or None
            if token is None:
                break
        gone = sorted(unpack_ids(cur.known) - present, key=int)
        cur.known = pack_ids(present)
        cur.recent = {k: v for k, v in cur.recent.items() if k in present}
        cur.reconciled_at = self.now
        if gone:
            logger.info("jira issues gone from the project", extra={"count": len(gone)})
        # Stamped on Jira's clock: newer than the issue's last change, which Jira stamped, even when ours is behind.
        return [tombstone(issue_id, self.ctx.stats.provider_now(self.now)) for issue_id in gone]


def complete_changelog(raw: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """The histories of a search issue's expanded changelog when they are all of them (from the first, as many
    as its ``total``); None when search cut them (more than ``SEARCH_HISTORIES``) or gave no changelog."""
    changelog = raw.get("changelog")
    if not isinstance(changelog, Mapping):
        return None
    histories = [h for h in changelog.get("histories") or () if isinstance(h, Mapping)]
    total, start = changelog.get("total"), changelog.get("startAt", 0)
    if not isinstance(total, int) or isinstance(total, bool) or start != 0 or total > len(histories):
        return None
    return histories


def tombstone(issue_id: str, now: datetime) -> JiraIssue:
    """An issue deleted (or moved out of the project): it leaves the metrics."""
    return JiraIssue(id=issue_id, key=issue_id, status_id="", status="", created_at=now, updated_at=now, deleted=True)


def report_sums(contents: Mapping[str, Any]) -> dict[str, float | None]:
    """The point sums of a sprint report's ``contents`` (``{"value": 13.0, "text": "13.0"}`` each)."""
    out: dict[str, float | None] = {}
    for name in REPORT_SUMS:
        value = contents.get(name)
        raw = value.get("value") if isinstance(value, Mapping) else value
        out[name] = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    return out
