"""The GitHub adapter: REST to validate, GraphQL to pull and refresh, webhooks to stay current.

Pull
----
Three streams, in this order, each one GraphQL query per page (``queries.py``):

1. ``pull_requests``: ``repository.pullRequests`` newest update first, 50 per page, each with its
   reviews, comment counts and last ready-for-review time; the stream ends at the first pull request
   updated before the stream's mark (or when there are no more pages).
2. ``commits``: what is new on ``refs/heads/<branch>`` since the last head synced, by ancestry (below).
3. ``issues``: ``repository.issues`` updated since the mark, newest first, 100 per page.

The mark of a stream is its high-water mark: the newest ``updatedAt`` (pull requests, issues) or
``committedDate`` (commits) seen by its last *completed* run; a first sync uses ``backfill_since``.
Records exactly at the mark are read again (harmless: stored records are replaced only by newer or
different ones), so nothing updated in the same second as the mark is missed. Pages are read with
GraphQL cursors: an item updated while a run is under way moves to the top of the order, so no
unread item moves into the pages already read, and the moved item is newer than the mark the run
will save, so the next sync gets it.

Commits by ancestry
-------------------
Commits brought onto the branch by a merge keep their own (older) committed dates, so a ``since``
filter cannot see them. The commits stream therefore reads by ancestry: its first request is the
history page of the branch since the mark, which also answers the branch's head. A first sync (no head
recorded yet) walks that history, since ``backfill_since``. Later syncs: the head unchanged means
nothing new (that one request); a new head is compared with the last head synced (REST
``compare/{old}...{new}``, 100 commits per page, each page completed by one ``object(oid:)`` query),
which lists exactly the commits reachable from the new head and not from the old one, merged-in ones
included. When the old head is no longer an ancestor (``diverged``/``behind``: a force-push; or 404:
it is gone), the history is walked again over the wide window, since ``backfill_since``.

Cursor
------
``PullContext.cursor`` / ``PullPage.cursor`` is this JSON object (``{}`` means a first sync)::

    {
      "version": 1,
      "stream": "pull_requests" | "commits" | "issues",  # the stream to read next
      "after": "<GraphQL endCursor>" | null,             # where that stream resumes; null: its first page
      "newest": "<ISO 8601>" | null,                     # newest timestamp seen so far by this run of it
      "marks": {"pull_requests": "<ISO 8601>" | null,    # the high-water marks of the last completed
                "commits": "<ISO 8601>" | null,          #   runs: the lower bounds of the runs under way
                "issues": "<ISO 8601>" | null},
      "head": "<oid>" | null,      # the branch head the last completed commits run read up to
      "target": "<oid>" | null,    # the head the commits run under way reads up to
      "mode": "walk" | "compare" | "rewalk",  # how it reads: history since the mark, compare, wide window
      "page": <int>                # the next compare page (from 1)
    }

Every page's cursor points just past that page, so a sync stopped after any page resumes from its
stored cursor without asking for a page twice. A stream's mark moves (to ``newest``) only on its last
page. The cursor of the last page (``done=True``) points at the first page of ``pull_requests`` with
the new marks: it is where the next sync starts.

Quota and failures: each answer's ``rateLimit`` goes to ``ctx.stats`` (``points_spent``,
``quota_*``); a query the remaining points cannot pay for is not sent (``RateLimitError`` with the
reset time). A page that keeps failing with 502/504 or a timeout is asked again at half the size
(down to 5); after two good pages in a row the size doubles again, up to the stream's maximum (and
after four, eight, ... sixteen when the stream fails again in the same sync).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from agiletrack.adapters.providers.base import (
    ApiStats,
    Measured,
    PullContext,
    PullPage,
    PullProgress,
    ValidationInfo,
    WebhookDelivery,
    WebhookResult,
)
from agiletrack.adapters.providers.github import queries, webhooks
from agiletrack.adapters.providers.github.config import GitHubConfig
from agiletrack.adapters.providers.github.graphql import GraphQLClient, auth_headers, classify
from agiletrack.adapters.providers.github.intake import GitHubIntake
from agiletrack.adapters.providers.github.metrics import compute_github_metrics, compute_github_series
from agiletrack.adapters.providers.github.records import Commit, Issue, PullRequest, PullRequestReview
from agiletrack.adapters.providers.github.spec import SPEC
from agiletrack.adapters.providers.http import ProviderHttp
from agiletrack.errors import ProviderError, ProviderRefused, TransientProviderError
from agiletrack.metrics.window import Window
from agiletrack.models.common import as_utc, iso_short, parse_iso
from agiletrack.models.records import Record

if TYPE_CHECKING:
    from agiletrack.adapters.providers.base import ProviderAdapter

STREAMS = ("pull_requests", "commits", "issues")
COMMIT_MODES = ("walk", "compare", "rewalk")
_OID = re.compile(r"^[0-9a-f]{40}$")
CURSOR_VERSION = 1
GROW_AFTER = 2
"""Good pages in a row before a shrunk page size doubles again, after the first failure of a run;
each further failure of the stream doubles it (up to ``GROW_AFTER_MAX``), so a size that keeps
timing out is tried less and less often."""
GROW_AFTER_MAX = 16


# ---------------------------------------------------------------- cursor
@dataclass
class PullCursor:
    stream: str = STREAMS[0]
    after: str | None = None
    newest: datetime | None = None
    marks: dict[str, datetime | None] = field(default_factory=lambda: dict.fromkeys(STREAMS))
    head: str | None = None
    target: str | None = None
    mode: str = "walk"
    page: int = 1

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> PullCursor:
        if not raw or raw.get("version") != CURSOR_VERSION:
            return cls()
        stream = raw.get("stream")
        marks_raw = raw.get("marks") or {}
        return cls(
            stream=stream if stream in STREAMS else STREAMS[0],
            after=raw.get("after") if isinstance(raw.get("after"), str) else None,
            newest=_time(raw.get("newest")),
            marks={name: _time(marks_raw.get(name)) for name in STREAMS},
            head=_oid(raw.get("head")),
            target=_oid(raw.get("target")),
            mode=raw["mode"] if raw.get("mode") in COMMIT_MODES else "walk",
            page=raw["page"] if isinstance(raw.get("page"), int) and raw["page"] >= 1 else 1,
        )

    def dump(self) -> dict[str, Any]:
        return {
            "version": CURSOR_VERSION,
            "stream": self.stream,
            "after": self.after,
            "newest": _opt_iso(self.newest),
            "marks": {name: _opt_iso(self.marks.get(name)) for name in STREAMS},
            "head": self.head,
            "target": self.target,
            "mode": self.mode,
            "page": self.page,
        }

    def seen(self, stamp: datetime) -> None:
        if self.newest is None or stamp > self.newest:
            self.newest = stamp

    def finish_stream(self) -> bool:
        """Close the stream under way (its mark moves to ``newest``); True when it was the last one."""
        if self.newest is not None:
            old = self.marks.get(self.stream)
            self.marks[self.stream] = self.newest if old is None else max(old, self.newest)
        if self.stream == "commits":
            self.head = self.target or self.head
            self.target, self.mode, self.page = None, "walk", 1
        index = STREAMS.index(self.stream)
        last = index == len(STREAMS) - 1
        self.stream = STREAMS[0] if last else STREAMS[index + 1]
        self.after = None
        self.newest = None
        return last


def _oid(value: object) -> str | None:
    return value if isinstance(value, str) and _OID.match(value) else None


def _time(value: object) -> datetime | None:
    return parse_iso(value) if isinstance(value, str) and value else None


def _opt_iso(value: datetime | None) -> str | None:
    return iso_short(value) if value else None


# ---------------------------------------------------------------- GraphQL nodes → records


def _required_time(value: object) -> datetime:
    parsed = _time(value)
    if parsed is None:
        raise ProviderError("GitHub answered a node without a required timestamp.")
    return parsed


def _login(actor: object) -> str | None:
    if isinstance(actor, dict) and isinstance(actor.get("login"), str):
        return str(actor["login"])
    return None


def _total(connection: object) -> int:
    if isinstance(connection, dict) and isinstance(connection.get("totalCount"), int):
        return int(connection["totalCount"])
    return 0


def pull_request_from_node(node: Mapping[str, Any]) -> PullRequest:
    reviews = [
        PullRequestReview(
            id=str(review["id"]),
            author=_login(review.get("author")),
            state=review["state"],
            submitted_at=_time(review.get("submittedAt")),
            comments=_total(review.get("comments")),
        )
        for review in (node.get("reviews") or {}).get("nodes") or []
        if isinstance(review, dict)
    ]
    ready = [
        _time(item.get("createdAt"))
        for item in (node.get("timelineItems") or {}).get("nodes") or []
        if isinstance(item, dict)
    ]
    ready_at = max((t for t in ready if t is not None), default=None)
    return PullRequest(
        id=str(node["number"]),
        number=node["number"],
        title=node.get("title") or "",
        author=_login(node.get("author")),
        state=str(node["state"]).lower(),
        is_draft=bool(node.get("isDraft")),
        created_at=_required_time(node.get("createdAt")),
        updated_at=_required_time(node.get("updatedAt")),
        closed_at=_time(node.get("closedAt")),
        merged_at=_time(node.get("mergedAt")),
        ready_for_review_at=ready_at,
        base_ref=node.get("baseRefName"),
        additions=int(node.get("additions") or 0),
        deletions=int(node.get("deletions") or 0),
        comments=_total(node.get("comments")),
        review_comments=sum(r.comments for r in reviews if r.state != "PENDING"),
        reviews=reviews,
    )


def commit_from_node(node: Mapping[str, Any]) -> Commit:
    author = node.get("author") or {}
    login = _login(author.get("user"))
    email = author.get("email")
    who = login or (email.lower() if isinstance(email, str) and email else "unknown")
    committed_at = _required_time(node.get("committedDate"))
    return Commit(
        id=node["oid"],
        sha=node["oid"],
        committed_at=committed_at,
        authored_at=_time(node.get("authoredDate")),
        author=who,
        parents=_total(node.get("parents")),
        additions=node.get("additions"),
        deletions=node.get("deletions"),
        message=node.get("messageHeadline") or "",
        updated_at=committed_at,
    )


def issue_from_node(node: Mapping[str, Any]) -> Issue:
    return Issue(
        id=str(node["number"]),
        number=node["number"],
        title=node.get("title") or "",
        author=_login(node.get("author")),
        state="closed" if node.get("state") == "CLOSED" else "open",
        created_at=_required_time(node.get("createdAt")),
        updated_at=_required_time(node.get("updatedAt")),
        closed_at=_time(node.get("closedAt")),
    )


# ---------------------------------------------------------------- streams
@dataclass(frozen=True)
class _Stream:
    name: str
    operation: str
    query: str
    max_size: int
    cost: Callable[[int], int]
    to_record: Callable[[Mapping[str, Any]], Record]
    stamp: Callable[[Record], datetime]
    stop_below_mark: bool
    """Ordered newest first with no server-side filter: stop at the first record below the mark."""


def _updated(record: Record) -> datetime:
    return record.updated_at


def _committed(record: Record) -> datetime:
    assert isinstance(record, Commit)
    return record.committed_at


_STREAMS: dict[str, _Stream] = {
    "pull_requests": _Stream(
        "pull_requests",
        "PullRequests",
        queries.PULL_REQUESTS_QUERY,
        queries.PR_PAGE_MAX,
        queries.pull_requests_cost,
        pull_request_from_node,
        _updated,
        stop_below_mark=True,
    ),
    "commits": _Stream(
        "commits",
        "Commits",
        queries.COMMITS_QUERY,
        queries.COMMIT_PAGE_MAX,
        queries.commits_cost,
        commit_from_node,
        _committed,
        stop_below_mark=False,
    ),
    "issues": _Stream(
        "issues",
        "Issues",
        queries.ISSUES_QUERY,
        queries.ISSUE_PAGE_MAX,
        queries.issues_cost,
        issue_from_node,
        _updated,
        stop_below_mark=True,
    ),
}


def _connection(stream: _Stream, data: Mapping[str, Any], config: GitHubConfig) -> Mapping[str, Any]:
    repository = data.get("repository")
    if not isinstance(repository, dict):
        raise ProviderRefused(
            "repository_not_found", f"Repository {config.repository} was not found or the token cannot read it."
        )
    if repository.get("isPrivate") is True and not config.include_private:
        raise ProviderRefused(
            "private_repository",
            f"Repository {config.repository} is private; set include_private to true to sync it.",
        )
    if stream.name == "pull_requests":
        connection = repository.get("pullRequests")
    elif stream.name == "issues":
        connection = repository.get("issues")
    else:
        ref = repository.get("ref")
        if not isinstance(ref, dict):
            raise ProviderRefused(
                "branch_not_found", f"Branch {config.branch!r} does not exist in {config.repository}."
            )
        connection = (ref.get("target") or {}).get("history")
    if not isinstance(connection, dict):
        raise ProviderError(f"GitHub answered the {stream.operation} query without its connection.")
    return connection


def _branch_head(data: Mapping[str, Any]) -> str | None:
    """The oid of the branch's head in a ``Commits`` answer."""
    ref = (data.get("repository") or {}).get("ref") or {}
    return _oid((ref.get("target") or {}).get("oid"))


class _BorrowedTransport(httpx.BaseTransport):
    """An injected transport, shared by every client this adapter opens and never closed by them."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    def close(self) -> None:
        pass


def _github_config(config: BaseModel) -> GitHubConfig:
    if not isinstance(config, GitHubConfig):
        raise TypeError(f"expected a GitHubConfig, got {type(config).__name__}")
    return config


def _token(config: GitHubConfig, credentials: Mapping[str, str]) -> str:
    return credentials.get("token") or config.token


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise ProviderError("GitHub answered something that is not JSON.") from exc
    if not isinstance(body, dict):
        raise ProviderError("GitHub answered an unexpected document.")
    return body


# ---------------------------------------------------------------- the adapter
class GitHubAdapter(GitHubIntake):
    provider: ClassVar[str] = "github"
    config_model: ClassVar[type[BaseModel]] = SPEC.config_model
    credential_fields: ClassVar[tuple[str, ...]] = SPEC.credential_fields
    record_types: ClassVar[tuple[type[Record], ...]] = SPEC.record_types
    signs_webhooks_with_generated_secret: ClassVar[bool] = SPEC.generates_webhook_secret
    snapshot_kinds: ClassVar[tuple[str, ...]] = ()
    """Every GitHub kind is read for the window only."""

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 10.0,
    ) -> None:
        self._transport = _BorrowedTransport(transport) if transport is not None else None
        self._sleep = sleep
        self._timeout = timeout

    def _http(
        self, config: GitHubConfig, token: str, *, stats: ApiStats | None = None, transient_retries: int = 3
    ) -> ProviderHttp:
        return ProviderHttp(
            config.rest_root,
            headers=auth_headers(token),
            stats=stats,
            timeout=self._timeout,
            transient_retries=transient_retries,
            classify=classify,
            transport=self._transport,
            sleep=self._sleep,
        )

    # ------------------------------------------------------------ validate
    def validate(self, config: BaseModel, credentials: Mapping[str, str]) -> ValidationInfo:
        cfg = _github_config(config)
        repo_path = f"{cfg.rest_root}/repos/{quote(cfg.owner, safe='')}/{quote(cfg.name, safe='')}"
        with self._http(cfg, _token(cfg, credentials)) as http:
            response = http.get(repo_path)
            self._check_rest(
                response,
                ProviderRefused(
                    "repository_not_found",
                    f"Repository {cfg.repository} was not found or the token cannot read it.",
                ),
            )
            repo = _json(response)
            private = bool(repo.get("private"))
            if private and not cfg.include_private:
                raise ProviderRefused(
                    "private_repository",
                    f"Repository {cfg.repository} is private; set include_private to true to connect it.",
                )
            response = http.get(f"{repo_path}/branches/{quote(cfg.branch, safe='/')}")
            self._check_rest(
                response,
                ProviderRefused("branch_not_found", f"Branch {cfg.branch!r} does not exist in {cfg.repository}."),
            )
        return ValidationInfo(details={"default_branch": repo.get("default_branch"), "private": private})

    @staticmethod
    def _check_rest(response: httpx.Response, not_found: ProviderRefused) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        if status == 404:
            raise not_found
        if status == 403:
            raise ProviderRefused(
                "no_access", "GitHub refused access (403): the token lacks permission to read this repository."
            )
        raise ProviderError(f"GitHub answered {status}.")

    # ------------------------------------------------------------ pull
    def pull(self, ctx: PullContext) -> Iterator[PullPage]:
        cfg = _github_config(ctx.config)
        cursor = PullCursor.load(ctx.cursor)
        sizes = {name: stream.max_size for name, stream in _STREAMS.items()}
        good_pages = dict.fromkeys(_STREAMS, 0)
        patience = dict.fromkeys(_STREAMS, GROW_AFTER // 2)
        with self._http(cfg, _token(cfg, ctx.credentials), stats=ctx.stats, transient_retries=1) as http:
            client = GraphQLClient(http, cfg.graphql_url, ctx.stats)
            while True:
                stream = _STREAMS[cursor.stream]
                if stream.name == "commits" and cursor.mode == "compare":
                    page = self._compare_page(http, client, cfg, cursor)
                    yield page
                    if page.done:
                        return
                    continue
                mark = cursor.marks.get(stream.name) or as_utc(ctx.backfill_since)
                if stream.name == "commits" and cursor.mode == "rewalk":
                    mark = as_utc(ctx.backfill_since)
                try:
                    data = self._page(client, cfg, stream, cursor.after, sizes[stream.name], mark)
                except TransientProviderError:
                    if sizes[stream.name] <= queries.PAGE_MIN:
                        raise
                    sizes[stream.name] = max(queries.PAGE_MIN, sizes[stream.name] // 2)
                    good_pages[stream.name] = 0
                    patience[stream.name] = min(GROW_AFTER_MAX, patience[stream.name] * 2)
                    continue
                good_pages[stream.name] += 1
                if sizes[stream.name] < stream.max_size and good_pages[stream.name] >= patience[stream.name]:
                    sizes[stream.name] = min(stream.max_size, sizes[stream.name] * 2)
                    good_pages[stream.name] = 0

                connection = _connection(stream, data, cfg)
                if stream.name == "commits" and cursor.mode == "walk" and cursor.after is None:
                    cursor.target = _branch_head(data)
                    if cursor.head and cursor.target and cursor.target != cursor.head:
                        cursor.mode, cursor.page = "compare", 1  # what is new comes from compare, merges included
                        yield PullPage(records=[], cursor=cursor.dump(), done=False, progress=PullProgress("commits"))
                        continue
                records: list[Record] = []
                below_mark = False
                oldest: datetime | None = None
                for node in connection.get("nodes") or []:
                    if not isinstance(node, dict):
                        continue
                    record = stream.to_record(node)
                    stamp = stream.stamp(record)
                    if stream.stop_below_mark and stamp < mark:
                        below_mark = True
                        break
                    cursor.seen(stamp)
                    oldest = stamp if oldest is None else min(oldest, stamp)
                    records.append(record)
                # Every stream is read newest first: the page's oldest stamp is how far back the stream has reached.
                progress = PullProgress(stream.name, oldest=oldest)
                page_info = connection.get("pageInfo") or {}
                end_cursor = page_info.get("endCursor")
                if page_info.get("hasNextPage") and isinstance(end_cursor, str) and not below_mark:
                    cursor.after = end_cursor
                    yield PullPage(records=records, cursor=cursor.dump(), done=False, progress=progress)
                    continue
                done = cursor.finish_stream()
                yield PullPage(records=records, cursor=cursor.dump(), done=done, progress=progress)
                if done:
                    return

    def _compare_page(
        self, http: ProviderHttp, client: GraphQLClient, cfg: GitHubConfig, cursor: PullCursor
    ) -> PullPage:
        """One page of the commits reachable from ``cursor.target`` and not from ``cursor.head``, completed
        by one query; a head that is no longer an ancestor (force-push) switches to the wide re-walk."""
        base = f"{cfg.rest_root}/repos/{quote(cfg.owner, safe='')}/{quote(cfg.name, safe='')}"
        response = http.get(
            f"{base}/compare/{cursor.head}...{cursor.target}",
            params={"per_page": queries.COMPARE_PAGE_MAX, "page": cursor.page},
        )
        if response.status_code == 404:  # the old head is gone (rewritten and collected)
            return self._rewalk(cursor)
        self._check_rest(
            response,
            ProviderRefused(
                "repository_not_found", f"Repository {cfg.repository} was not found or the token cannot read it."
            ),
        )
        body = _json(response)
        status = body.get("status")
        if status not in ("ahead", "identical"):
            return self._rewalk(cursor)
        listed = body.get("commits") if status == "ahead" else []
        oids = [c["sha"] for c in listed or [] if isinstance(c, dict) and _oid(c.get("sha"))]
        records = self._commits_by_oid(client, cfg, oids)
        for record in records:
            cursor.seen(record.committed_at)
        total = body.get("total_commits")
        progress = PullProgress("commits")  # compare lists by ancestry, not through time
        if oids and isinstance(total, int) and cursor.page * queries.COMPARE_PAGE_MAX < total:
            cursor.page += 1
            return PullPage(records=list(records), cursor=cursor.dump(), done=False, progress=progress)
        done = cursor.finish_stream()
        return PullPage(records=list(records), cursor=cursor.dump(), done=done, progress=progress)

    @staticmethod
    def _rewalk(cursor: PullCursor) -> PullPage:
        cursor.mode, cursor.page, cursor.after = "rewalk", 1, None
        return PullPage(records=[], cursor=cursor.dump(), done=False, progress=PullProgress("commits"))

    @staticmethod
    def _commits_by_oid(client: GraphQLClient, cfg: GitHubConfig, oids: list[str]) -> list[Commit]:
        commits: list[Commit] = []
        for start in range(0, len(oids), queries.REFRESH_BATCH_MAX):
            batch = oids[start : start + queries.REFRESH_BATCH_MAX]
            client.ensure_budget(queries.refresh_cost(len(batch), 0))
            data = client.execute(
                queries.refresh_query(batch, []),
                {"owner": cfg.owner, "name": cfg.name},
                operation="Refresh",
                allow_not_found=True,
            )
            repository = data.get("repository")
            if not isinstance(repository, dict):
                raise ProviderRefused(
                    "repository_not_found", f"Repository {cfg.repository} was not found or the token cannot read it."
                )
            for alias in range(len(batch)):
                node = repository.get(f"c{alias}")
                if isinstance(node, dict) and node.get("oid"):
                    commits.append(commit_from_node(node))
        return commits

    @staticmethod
    def _page(
        client: GraphQLClient, cfg: GitHubConfig, stream: _Stream, after: str | None, size: int, mark: datetime
    ) -> dict[str, Any]:
        variables: dict[str, Any] = {"owner": cfg.owner, "name": cfg.name, "first": size, "after": after}
        if stream.name == "commits":
            variables["qualifiedName"] = f"refs/heads/{cfg.branch}"
            variables["since"] = iso_short(mark)
        elif stream.name == "issues":
            variables["since"] = iso_short(mark)
        client.ensure_budget(stream.cost(size))
        return client.execute(stream.query, variables, operation=stream.operation)

    # ------------------------------------------------------------ refresh
    def refresh(self, config: BaseModel, credentials: Mapping[str, str], records: list[Record]) -> list[Record]:
        """Complete webhook records: commits without sizes (sizes and parents are read), and pull
        requests (read whole, then merged with the webhook record). One query per 100 of them."""
        cfg = _github_config(config)
        wanted: list[int] = [
            i
            for i, r in enumerate(records)
            if (isinstance(r, Commit) and (r.additions is None or r.deletions is None))
            or (isinstance(r, PullRequest) and not r.deleted)
        ]
        if not wanted:
            return list(records)
        out = list(records)
        with self._http(cfg, _token(cfg, credentials), transient_retries=2) as http:
            client = GraphQLClient(http, cfg.graphql_url, http.stats)
            for start in range(0, len(wanted), queries.REFRESH_BATCH_MAX):
                batch = wanted[start : start + queries.REFRESH_BATCH_MAX]
                commits = [i for i in batch if isinstance(records[i], Commit)]
                pulls = [i for i in batch if isinstance(records[i], PullRequest)]
                oids = [self._commit(records[i]).sha for i in commits]
                numbers = [self._pull(records[i]).number for i in pulls]
                client.ensure_budget(queries.refresh_cost(len(oids), len(numbers)))
                data = client.execute(
                    queries.refresh_query(oids, numbers),
                    {"owner": cfg.owner, "name": cfg.name},
                    operation="Refresh",
                    allow_not_found=True,
                )
                repository = data.get("repository")
                if not isinstance(repository, dict):
                    raise ProviderRefused(
                        "repository_not_found",
                        f"Repository {cfg.repository} was not found or the token cannot read it.",
                    )
                for alias, i in enumerate(commits):
                    node = repository.get(f"c{alias}")
                    if isinstance(node, dict) and node.get("oid"):
                        fresh = commit_from_node(node)
                        out[i] = self._commit(records[i]).model_copy(
                            update={
                                "additions": fresh.additions,
                                "deletions": fresh.deletions,
                                "parents": fresh.parents,
                            }
                        )
                for alias, i in enumerate(pulls):
                    node = repository.get(f"p{alias}")
                    if isinstance(node, dict) and node.get("number") is not None:
                        out[i] = webhooks.merge_pull_request(self._pull(records[i]), pull_request_from_node(node))
        return out

    @staticmethod
    def _commit(record: Record) -> Commit:
        assert isinstance(record, Commit)
        return record

    @staticmethod
    def _pull(record: Record) -> PullRequest:
        assert isinstance(record, PullRequest)
        return record

    # ------------------------------------------------------------ webhooks
    def parse_webhook(
        self,
        delivery: WebhookDelivery,
        config: BaseModel,
        provider_state: Mapping[str, Any] | None = None,  # noqa: ARG002 - GitHub keeps no provider state
    ) -> WebhookResult:
        return webhooks.parse(delivery, _github_config(config))

    def merge_record(self, stored: Record, incoming: Record) -> Record:
        """What to store when a webhook record meets the stored one (see ``webhooks.merge_record``)."""
        return webhooks.merge_record(stored, incoming)

    # ------------------------------------------------------------ metrics
    def compute_metrics(
        self,
        records: Mapping[str, list[Record]],
        since: datetime,
        until: datetime,
        now: datetime,  # noqa: ARG002 - GitHub has no snapshot metrics
        config: BaseModel,
        params: Mapping[str, str],  # noqa: ARG002 - no GitHub metric takes parameters
    ) -> Measured:
        cfg = _github_config(config)
        every = [record for group in records.values() for record in group]
        prs = [r for r in every if isinstance(r, PullRequest)]
        commits = [r for r in every if isinstance(r, Commit)]
        issues = [r for r in every if isinstance(r, Issue)]
        window = Window(since, until)
        return Measured(
            metrics=compute_github_metrics(prs, commits, issues, window, branch=cfg.branch),
            series=compute_github_series(prs, commits, issues, window),
        )


if TYPE_CHECKING:
    _conforms: ProviderAdapter = GitHubAdapter()
