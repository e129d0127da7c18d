"""A tiny Jira Cloud on 127.0.0.1 for tests: HTTPS (``JiraConfig`` accepts only https), basic auth.

Serves what credential validation asks for (``/rest/api/3/myself``, ``/rest/api/3/project/{key}``,
``/rest/agile/1.0/board/{id}``) and everything the sync asks for: ``/field``, ``/status``, boards by project and
type, board configuration, board sprints (offset paging), the greenhopper sprint report, ``POST|GET
/rest/api/3/search/jql`` (the bounded JQL forms the sync writes, dates read in the user's ``time_zone`` as Jira
does, ``nextPageToken``, ``fields`` filtering, ``expand=changelog`` with the newest 40 histories, id-only pages
up to 5,000), ``POST /rest/api/3/changelog/bulkfetch`` (token paging, ``fieldIds`` filter, histories by date)
and 410 on the old ``/rest/api/3/search``.

Trust its certificate with ``SSL_CERT_FILE=fake.ca_file`` (httpx reads it). ``requests`` logs every request's
path (to count them); ``fail_next(status, times, headers)`` answers the next requests with that status and
headers (429 burst or quota, 503 with ``Retry-After``); ``burst = (n, seconds)`` refuses a request to an endpoint
that already had ``n`` in the last ``seconds`` with Jira's burst 429 (``RateLimit-Reason: jira-burst-based`` and
the instant the window frees in ``X-RateLimit-Reset``; counted in ``burst_refused``); ``latency_s`` delays every
answer; ``closed_url()`` is a
site that cannot be reached. Issues are small dataclasses, so 50,000 generated ones (``generate``) are cheap.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import re
import ssl
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fakes.server import FakeServer, nothing_listens

EMAIL = "dev@example.com"
API_TOKEN = "jira-fake-api-token-4f1d9c"


@cache
def certificate() -> tuple[str, str]:
    """(certificate file, key file) of a self-signed certificate for 127.0.0.1, made once per process."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="fake-jira-"))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


def closed_url(scheme: str = "https") -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    return nothing_listens(scheme)


SEARCH_HISTORIES = 40
"""Search's ``expand=changelog`` gives an issue's newest 40 histories at most (``total`` says how many it has)."""
SPRINT_FIELD = "customfield_10020"
ESTIMATE_FIELD = "customfield_10016"
DECOY_FIELD = "customfield_10026"
"""A field merely named "Story Points": never the estimate (the board configuration says which is)."""
STATUSES: dict[str, tuple[str, str]] = {
    "10000": ("To Do", "new"),
    "3": ("In Progress", "indeterminate"),
    "10001": ("Done", "done"),
}
_JQL = re.compile(
    r'^project = "?(?P<project>[A-Z][A-Z0-9_]*)"?(?: AND (?P<cond>.+?))? ORDER BY (?P<order>updated|id) ASC$'
)
_SINCE = re.compile(r'^updated >= "(?P<date>[^"]+)"$')
_SINCE_OR_OPEN = re.compile(r'^\(updated >= "(?P<date>[^"]+)" OR statusCategory != Done\)$')


def jira_time(at: dt.datetime, zone: str) -> str:
    """Jira's timestamp form, in the user's zone: ``2024-01-15T10:30:00.000+1400``."""
    local = at.astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")


@dataclass
class FakeHistory:
    id: int
    created: dt.datetime
    items: list[dict[str, Any]]


@dataclass
class FakeIssue:
    id: int
    key: str
    created: dt.datetime
    updated: dt.datetime
    status_id: str = "10000"
    summary: str = ""
    project: str = "ENG"
    issue_type: str = "Story"
    priority: str = "Medium"
    resolution: str | None = None
    resolution_date: dt.datetime | None = None
    estimate: float | None = None
    sprint_ids: list[int] = field(default_factory=list)
    histories: list[FakeHistory] = field(default_factory=list)


class FakeJira(FakeServer):
    scheme = "https"

    def __init__(
        self,
        *,
        email: str = EMAIL,
        api_token: str = API_TOKEN,
        projects: Mapping[str, str] | None = None,
        boards: Mapping[int, str | None] | None = None,
        forbidden_projects: frozenset[str] = frozenset(),
        time_zone: str = "UTC",
        estimation: Mapping[int, str | None] | None = None,
    ) -> None:
        """``projects``: key -> id; ``boards``: id -> project key (None: a board with no project location);
        ``estimation``: board id -> its estimation field (None: the board estimates by issue count)."""
        self.email = email
        self.api_token = api_token
        self.projects = dict(projects if projects is not None else {"ENG": "10000", "OPS": "10001"})
        self.boards = dict(boards if boards is not None else {7: "ENG", 9: "OPS"})
        self.board_types: dict[int, str] = {}
        self.estimation = dict(estimation if estimation is not None else {})
        self.forbidden_projects = forbidden_projects
        self.time_zone = time_zone
        self.statuses = dict(STATUSES)
        self.issues: dict[int, FakeIssue] = {}
        self.sprints: dict[int, list[dict[str, Any]]] = {}
        self.report_status = 200
        self.latency_s = 0.0
        self.requests: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.failures: list[tuple[int, dict[str, str]]] = []
        self.burst: tuple[int, float] | None = None
        self.burst_refused = 0
        self._burst_log: dict[str, deque[float]] = {}
        self.lock = threading.Lock()
        self._next_id = 10001
        self._next_history = 100
        self._version = 0
        self._order: dict[tuple[str, int], list[FakeIssue]] = {}
        super().__init__()

    @property
    def zone(self) -> str:
        """The zone its dates are written in (``time_zone``; UTC for a user whose zone ``/myself`` leaves empty)."""
        return self.time_zone or "UTC"

    @property
    def ca_file(self) -> str:
        return certificate()[0]

    def fail_next(self, status: int, times: int = 1, headers: Mapping[str, str] | None = None) -> None:
        with self.lock:
            self.failures.extend([(status, dict(headers or {}))] * times)

    def config(self, **overrides: Any) -> dict[str, Any]:
        """A valid ``JiraConfig`` for this site."""
        return {"server_url": self.url, "email": self.email, "api_token": self.api_token, "project_key": "ENG"} | (
            overrides
        )

    # ------------------------------------------------------------ data, as changed "in Jira"
    def add_issue(
        self,
        created: dt.datetime,
        *,
        status: str = "10000",
        estimate: float | None = None,
        sprints: list[int] | None = None,
        project: str = "ENG",
    ) -> FakeIssue:
        with self.lock:
            issue_id = self._next_id
            self._next_id += 1
            issue = FakeIssue(
                id=issue_id,
                key=f"{project}-{issue_id - 10000}",
                created=created,
                updated=created,
                status_id=status,
                summary=f"Issue {issue_id}",
                project=project,
                estimate=estimate,
                sprint_ids=list(sprints or []),
            )
            self.issues[issue_id] = issue
            self._version += 1
        return issue

    def change(
        self,
        issue: FakeIssue,
        at: dt.datetime,
        *,
        status: str | None = None,
        estimate: float | None = None,
        sprints: list[int] | None = None,
        summary: str | None = None,
    ) -> FakeHistory | None:
        """Change an issue at ``at`` (its ``updated`` moves), with one changelog history of the changed fields."""
        items: list[dict[str, Any]] = []
        if status is not None and status != issue.status_id:
            items.append(
                self._item(
                    "status",
                    "status",
                    issue.status_id,
                    status,
                    self.statuses[issue.status_id][0],
                    self.statuses[status][0],
                )
            )
            done_before = self.statuses[issue.status_id][1] == "done"
            issue.status_id = status
            if self.statuses[status][1] == "done" and not done_before:
                items.append(self._item("resolution", "resolution", None, "10000", None, "Done"))
                issue.resolution, issue.resolution_date = "Done", at
            elif self.statuses[status][1] != "done" and done_before:
                items.append(self._item("resolution", "resolution", "10000", None, "Done", None))
                issue.resolution, issue.resolution_date = None, None
        if estimate is not None and estimate != issue.estimate:
            old = None if issue.estimate is None else f"{issue.estimate:g}"
            items.append(self._item(ESTIMATE_FIELD, "Story point estimate", None, None, old, f"{estimate:g}"))
            issue.estimate = estimate
        if sprints is not None and sprints != issue.sprint_ids:
            before, after = ", ".join(map(str, issue.sprint_ids)), ", ".join(map(str, sprints))
            items.append(self._item(SPRINT_FIELD, "Sprint", before, after, before, after))
            issue.sprint_ids = list(sprints)
        if summary is not None:
            items.append(self._item("summary", "summary", None, None, issue.summary, summary))
            issue.summary = summary
        with self.lock:
            issue.updated = at
            self._version += 1
            if not items:
                return None
            self._next_history += 1
            history = FakeHistory(id=self._next_history, created=at, items=items)
            issue.histories.append(history)
        return history

    @staticmethod
    def _item(
        field_id: str, name: str, old: str | None, new: str | None, old_text: str | None, new_text: str | None
    ) -> dict[str, Any]:
        return {
            "field": name,
            "fieldtype": "jira" if not field_id.startswith("custom") else "custom",
            "fieldId": field_id,
            "from": old,
            "fromString": old_text,
            "to": new,
            "toString": new_text,
        }

    def delete_issue(self, issue_id: int) -> None:
        with self.lock:
            del self.issues[issue_id]
            self._version += 1

    def add_sprint(
        self,
        board_id: int,
        sprint_id: int,
        state: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        complete: dt.datetime | None = None,
    ) -> dict[str, Any]:
        sprint: dict[str, Any] = {
            "id": sprint_id,
            "name": f"Sprint {sprint_id}",
            "state": state,
            "originBoardId": board_id,
        }
        for name, value in (("startDate", start), ("endDate", end), ("completeDate", complete)):
            if value is not None:
                sprint[name] = value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.sprints.setdefault(board_id, []).append(sprint)
        return sprint

    def generate(
        self,
        count: int,
        start: dt.datetime,
        *,
        long_every: int = 20,
        long_histories: int = 45,
        short_histories: int = 1,
        sprint_ids: list[int] | None = None,
    ) -> None:
        """``count`` issues created a minute apart from ``start``, each moved to in progress and then changed
        ``short_histories`` times; every ``long_every``-th ``long_histories`` times (more than search's 40)."""
        sprints = sprint_ids or []
        for n in range(count):
            at = start + dt.timedelta(minutes=n)
            issue = self.add_issue(
                at, estimate=float(n % 5 + 1), sprints=[sprints[n % len(sprints)]] if sprints else []
            )
            self.change(issue, at + dt.timedelta(seconds=30), status="3")
            changes = long_histories if long_every and n % long_every == 0 else short_histories
            for k in range(changes):
                self.change(issue, at + dt.timedelta(seconds=31 + k), status="10001" if k % 2 == 0 else "3")

    # ------------------------------------------------------------ the HTTP side
    def _authorized(self, authorization: str | None) -> bool:
        expected = base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()
        return authorization == f"Basic {expected}"

    def _before(self, path: str) -> tuple[int, Any, dict[str, str]] | None:
        self.requests.append(path)
        if self.latency_s:
            time.sleep(self.latency_s)
        with self.lock:
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            return failure[0], {"errorMessages": [f"failure {failure[0]} as asked"]}, failure[1]
        return self._burst_limited(urlparse(path).path)

    def _burst_limited(self, route: str) -> tuple[int, Any, dict[str, str]] | None:
        """Jira's per-second burst limit, per endpoint: a 429 naming when the window frees."""
        if self.burst is None:
            return None
        limit, window = self.burst
        now = time.time()
        with self.lock:
            log = self._burst_log.setdefault(route, deque())
            while log and log[0] <= now - window:
                log.popleft()
            if len(log) < limit:
                log.append(now)
                return None
            self.burst_refused += 1
            frees = dt.datetime.fromtimestamp(log[0] + window, dt.UTC).isoformat(timespec="milliseconds")
        headers = {"RateLimit-Reason": "jira-burst-based", "X-RateLimit-Reset": frees}
        return 429, {"errorMessages": ["Rate limit exceeded."]}, headers

    def answer(self, path: str, authorization: str | None) -> tuple[int, Any]:
        if not self._authorized(authorization):
            return 401, {"errorMessages": ["Client must be authenticated to access this resource."]}
        url = urlparse(path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        if parts == ["rest", "api", "3", "myself"]:
            return 200, {
                "accountId": "5b10a2844c20165700ede21g",
                "emailAddress": self.email,
                "active": True,
                "timeZone": self.time_zone,
            }
        if parts[:4] == ["rest", "api", "3", "project"] and len(parts) == 5:
            key = parts[4]
            if key in self.forbidden_projects:
                return 403, {"errorMessages": ["You do not have permission to view this project."]}
            if key not in self.projects:
                return 404, {"errorMessages": [f"No project could be found with key '{key}'."], "errors": {}}
            return 200, {"id": self.projects[key], "key": key, "name": f"Project {key}"}
        if parts == ["rest", "api", "3", "field"]:
            return 200, self._fields()
        if parts == ["rest", "api", "3", "status"]:
            return 200, [self._status(i) for i in self.statuses]
        if parts == ["rest", "api", "3", "search"]:
            return 410, {
                "errorMessages": [
                    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."
                ]
            }
        if parts == ["rest", "api", "3", "search", "jql"]:
            fields = query.get("fields", "id").split(",")
            return self._search(
                query.get("jql", ""),
                fields,
                int(query.get("maxResults", 50)),
                query.get("nextPageToken"),
                expand=query.get("expand", ""),
            )
        if parts == ["rest", "agile", "1.0", "board"]:
            return 200, self._boards(query.get("projectKeyOrId"), query.get("type"))
        if parts[:4] == ["rest", "agile", "1.0", "board"] and len(parts) >= 5 and parts[4].isdigit():
            board_id = int(parts[4])
            if board_id not in self.boards:
                return 404, {"errorMessages": [f"Board {board_id} does not exist or you do not have permission."]}
            if len(parts) == 5:
                return 200, self._board(board_id)
            if parts[5:] == ["configuration"]:
                return 200, self._configuration(board_id)
            if parts[5:] == ["sprint"]:
                return 200, self._board_sprints(board_id, query)
        if parts == ["rest", "greenhopper", "1.0", "rapid", "charts", "sprintreport"]:
            return self._report(int(query.get("rapidViewId", 0)), int(query.get("sprintId", 0)))
        return 404, {"errorMessages": ["No such endpoint in the fake."]}

    def respond(self, path: str, headers: Mapping[str, str]) -> tuple[int, Any, Mapping[str, str]]:
        failed = self._before(path)
        if failed is not None:
            return failed
        status, body = self.answer(path, headers.get("authorization"))
        return status, body, {}

    def respond_post(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, Any, Mapping[str, str]]:
        failed = self._before(path)
        if failed is not None:
            return failed
        if not self._authorized(headers.get("authorization")):
            return 401, {"errorMessages": ["Client must be authenticated to access this resource."]}, {}
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return 400, {"errorMessages": ["Invalid JSON."]}, {}
        self.bodies.append(data)
        route = urlparse(path).path.rstrip("/")
        if route == "/rest/api/3/search":
            return 410, {"errorMessages": ["The requested API has been removed."]}, {}
        if route == "/rest/api/3/search/jql":
            status, answer = self._search(
                str(data.get("jql", "")),
                list(data.get("fields") or ["id"]),
                int(data.get("maxResults", 50)),
                data.get("nextPageToken"),
                expand=str(data.get("expand") or ""),
            )
            return status, answer, {}
        if route == "/rest/api/3/changelog/bulkfetch":
            status, answer = self._bulkfetch(data)
            return status, answer, {}
        return 404, {"errorMessages": ["No such endpoint in the fake."]}, {}

    # ------------------------------------------------------------ answers
    def _fields(self) -> list[dict[str, Any]]:
        return [
            {"id": "summary", "name": "Summary", "custom": False, "schema": {"type": "string", "system": "summary"}},
            {"id": "status", "name": "Status", "custom": False, "schema": {"type": "status", "system": "status"}},
            {
                "id": SPRINT_FIELD,
                "name": "Sprint",
                "custom": True,
                "schema": {"type": "array", "items": "json", "custom": "com.pyxis.greenhopper.jira:gh-sprint"},
            },
            {
                "id": ESTIMATE_FIELD,
                "name": "Story point estimate",
                "custom": True,
                "schema": {"type": "number", "custom": "com.pyxis.greenhopper.jira:jsw-story-points"},
            },
            {
                "id": DECOY_FIELD,
                "name": "Story Points",
                "custom": True,
                "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"},
            },
        ]

    def _status(self, status_id: str) -> dict[str, Any]:
        name, category = self.statuses[status_id]
        return {"id": status_id, "name": name, "statusCategory": {"key": category}}

    def _board(self, board_id: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": board_id,
            "name": f"Board {board_id}",
            "type": self.board_types.get(board_id, "scrum"),
        }
        if self.boards[board_id] is not None:
            body["location"] = {"projectKey": self.boards[board_id], "projectTypeKey": "software"}
        return body

    def _boards(self, project: str | None, kind: str | None) -> dict[str, Any]:
        values = [
            self._board(b)
            for b in sorted(self.boards)
            if (project is None or self.boards[b] == project)
            and (kind is None or self.board_types.get(b, "scrum") == kind)
        ]
        return {"maxResults": 50, "startAt": 0, "total": len(values), "isLast": True, "values": values}

    def _configuration(self, board_id: int) -> dict[str, Any]:
        field_id = self.estimation.get(board_id, ESTIMATE_FIELD)
        estimation: dict[str, Any] = {"type": "issueCount"}
        if field_id is not None:
            estimation = {"type": "field", "field": {"fieldId": field_id, "displayName": "Story point estimate"}}
        return {
            "id": board_id,
            "name": f"Board {board_id}",
            "type": "scrum",
            "estimation": estimation,
            "columnConfig": {"columns": []},
            "filter": {"id": "10000"},
        }

    def _board_sprints(self, board_id: int, query: Mapping[str, str]) -> dict[str, Any]:
        states = set(query.get("state", "future,active,closed").split(","))
        every = [s for s in self.sprints.get(board_id, []) if s["state"] in states]
        start, size = int(query.get("startAt", 0)), min(int(query.get("maxResults", 50)), 50)
        values = every[start : start + size]
        return {"maxResults": size, "startAt": start, "isLast": start + size >= len(every), "values": values}

    def _report(self, board_id: int, sprint_id: int) -> tuple[int, Any]:
        if self.report_status != 200:
            return self.report_status, {"errorMessages": ["sprint report unavailable"]}
        if not any(s["id"] == sprint_id for s in self.sprints.get(board_id, [])):
            return 404, {"errorMessages": ["no such sprint"]}
        members = [i for i in self.issues.values() if sprint_id in i.sprint_ids]
        done = sum(i.estimate or 0 for i in members if self.statuses[i.status_id][1] == "done")
        total = sum(i.estimate or 0 for i in members)
        return 200, {
            "contents": {
                "completedIssuesEstimateSum": {"value": done, "text": f"{done:g}"},
                "issuesNotCompletedEstimateSum": {"value": total - done, "text": f"{total - done:g}"},
                "allIssuesEstimateSum": {"value": total, "text": f"{total:g}"},
            },
            "sprint": {"id": sprint_id},
        }

    # ------------------------------------------------------------ search
    def _since(self, text: str) -> dt.datetime | None:
        """A JQL date as Jira reads it: ``yyyy/MM/dd HH:mm`` in the user's time zone, or ``-Nm`` / ``-Nh``."""
        relative = re.fullmatch(r"-(\d+)([mhd])", text)
        if relative:
            unit = {"m": "minutes", "h": "hours", "d": "days"}[relative.group(2)]
            now = dt.datetime.now(dt.UTC) + self.faults.clock_offset  # its own clock
            return now - dt.timedelta(**{unit: int(relative.group(1))})
        for form in ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d"):
            try:
                return dt.datetime.strptime(text, form).replace(tzinfo=ZoneInfo(self.zone))
            except ValueError:
                continue
        return None

    def _matching(self, jql: str) -> list[FakeIssue] | None:
        match = _JQL.match(jql.strip())
        if match is None:
            return None
        cached = self._order.get((jql, self._version))
        if cached is not None:
            return cached
        cond, project = match.group("cond"), match.group("project")
        since: dt.datetime | None = None
        open_too = False
        if cond is not None:
            found = _SINCE.match(cond) or _SINCE_OR_OPEN.match(cond)
            if found is None:
                return None
            since = self._since(found.group("date"))
            if since is None:
                return None
            open_too = found.re is _SINCE_OR_OPEN
        with self.lock:
            issues = [
                i
                for i in self.issues.values()
                if i.project == project
                and (since is None or i.updated >= since or (open_too and self.statuses[i.status_id][1] != "done"))
            ]
        key = (lambda i: i.id) if match.group("order") == "id" else (lambda i: (i.updated, i.id))
        issues.sort(key=key)
        self._order = {(jql, self._version): issues}
        return issues

    def _search(
        self, jql: str, fields: list[str], max_results: int, token: str | None, *, expand: str = ""
    ) -> tuple[int, Any]:
        issues = self._matching(jql)
        if issues is None:
            return 400, {"errorMessages": [f"Unbounded or unsupported JQL for the fake: {jql!r}"]}
        id_only = set(fields) <= {"id", "key"}
        size = max(1, min(max_results, 5000 if id_only else 100))
        offset = 0
        digest = hashlib.sha256(jql.encode()).hexdigest()[:8]
        if token:
            raw_offset, _, query_digest = str(token).partition(":")
            if query_digest != digest or not raw_offset.isdigit():
                return 400, {"errorMessages": ["The nextPageToken is not valid for this query."]}
            offset = int(raw_offset)
        page = issues[offset : offset + size]
        changelog = not id_only and "changelog" in expand.split(",")
        answer: dict[str, Any] = {"issues": [self._issue_json(i, fields, changelog=changelog) for i in page]}
        if offset + size < len(issues):
            answer["nextPageToken"] = f"{offset + size}:{digest}"
        return 200, answer

    def _issue_json(self, issue: FakeIssue, fields: list[str], *, changelog: bool = False) -> dict[str, Any]:
        zone = self.zone
        values: dict[str, Any] = {
            "summary": issue.summary,
            "issuetype": {"name": issue.issue_type},
            "priority": {"name": issue.priority},
            "status": self._status(issue.status_id),
            "created": jira_time(issue.created, zone),
            "updated": jira_time(issue.updated, zone),
            "resolution": {"name": issue.resolution} if issue.resolution else None,
            "resolutiondate": jira_time(issue.resolution_date, zone) if issue.resolution_date else None,
            ESTIMATE_FIELD: issue.estimate,
            DECOY_FIELD: 99.0,
            SPRINT_FIELD: [{"id": s, "name": f"Sprint {s}"} for s in issue.sprint_ids] or None,
        }
        body: dict[str, Any] = {"id": str(issue.id)}
        if "key" in fields or "*all" in fields or not set(fields) <= {"id"}:
            body["key"] = issue.key
        wanted = {f: values[f] for f in fields if f in values}
        if wanted:
            body["fields"] = wanted
        if changelog:
            newest = issue.histories[-SEARCH_HISTORIES:]
            body["changelog"] = {
                "startAt": 0,
                "maxResults": len(newest),
                "total": len(issue.histories),
                "histories": [
                    {"id": str(h.id), "created": jira_time(h.created, zone), "items": h.items} for h in newest
                ],
            }
        return body

    # ------------------------------------------------------------ changelogs
    def _bulkfetch(self, data: Mapping[str, Any]) -> tuple[int, Any]:
        wanted = [str(i) for i in data.get("issueIdsOrKeys") or []]
        field_ids = set(data.get("fieldIds") or [])
        if not wanted or len(wanted) > 1000 or len(field_ids) > 10:
            return 400, {"errorMessages": ["issueIdsOrKeys: 1 to 1000; fieldIds: at most 10."]}
        size = max(1, min(int(data.get("maxResults", 1000)), 1000))
        by_key = {i.key: i for i in self.issues.values()}
        flat: list[tuple[dt.datetime, int, FakeIssue, FakeHistory, list[dict[str, Any]]]] = []
        for ref in wanted:
            issue = self.issues.get(int(ref)) if ref.isdigit() else by_key.get(ref)
            if issue is None:
                continue
            for history in issue.histories:
                items = [i for i in history.items if not field_ids or i["fieldId"] in field_ids]
                if items:
                    flat.append((history.created, history.id, issue, history, items))
        flat.sort(key=lambda h: (h[0], h[1]))
        offset = int(data["nextPageToken"]) if str(data.get("nextPageToken") or "").isdigit() else 0
        logs: dict[int, dict[str, Any]] = {}
        for created, history_id, issue, _history, items in flat[offset : offset + size]:
            log = logs.setdefault(issue.id, {"issueId": str(issue.id), "changeHistories": []})
            log["changeHistories"].append(
                {"id": str(history_id), "created": jira_time(created, self.zone), "items": items}
            )
        answer: dict[str, Any] = {"issueChangeLogs": list(logs.values())}
        if offset + size < len(flat):
            answer["nextPageToken"] = str(offset + size)
        return 200, answer

    def tls_context(self) -> ssl.SSLContext:
        cert_file, key_file = certificate()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context
