"""A fake GitHub over HTTP on 127.0.0.1: the REST calls of validation and the GraphQL API of the pull.

``FakeGitHub`` is a context manager (a ``ThreadingHTTPServer`` in a thread). It serves

- ``GET /repos/{owner}/{repo}`` and ``GET /repos/{owner}/{repo}/branches/{branch}``;
- ``POST /graphql``, executing the documents of ``agiletrack.adapters.providers.github.queries`` with
  graphql-core against a small schema that uses GitHub's names for the subset we use, with opaque
  cursors, ``orderBy: UPDATED_AT DESC``, ``history(since:)``, ``issues(filterBy: {since:})``,
  ``object(oid:)`` / ``pullRequest(number:)`` aliases, and ``rateLimit``;
- the same under the GitHub Enterprise Server roots ``/api/v3`` and ``/api/graphql``.

Every answer carries ``x-ratelimit-*`` headers. GraphQL calls cost what GitHub's formula says (for
each connection the requests needed to fill it with ``first``/``last`` maxed out, summed, divided by
100, rounded, at least 1) and are refused with ``RATE_LIMITED`` when the remaining points cannot pay.

Mutations (``touch_pull_requests``, ``add_review``, ``add_commits``, ``touch_issues``, ...) and
failure switches (``fail_next_graphql``, ``fail_pages_larger_than``, ``secondary_limit``,
``set_rate_limit``, ``revoke_token``, ``forbid``) drive the tests; ``calls`` counts what was asked.
``rest_requests_estimate`` says how many REST calls the per-item approach would need instead.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
import math
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import graphql
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

from agiletrack.adapters.providers.github.config import GitHubConfig
from tests.fakes.faults import FaultPlan, send_answer

DEFAULT_TOKEN = "ghp_fake0123456789"
LOGINS = (
    "ada",
    "grace",
    "linus",
    "margaret",
    "ken",
    "barbara",
    "dennis",
    "frances",
    "alan",
    "radia",
    "guido",
    "bjarne",
)

SDL = """
scalar DateTime
scalar GitTimestamp
scalar GitObjectID

type Query {
  rateLimit: RateLimit
  repository(owner: String!, name: String!): Repository
}

type RateLimit { cost: Int! limit: Int! nodeCount: Int! remaining: Int! resetAt: DateTime! used: Int! }
type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }

enum OrderDirection { ASC DESC }
enum IssueOrderField { CREATED_AT UPDATED_AT COMMENTS }
input IssueOrder { field: IssueOrderField! direction: OrderDirection! }
enum IssueState { OPEN CLOSED }
input IssueFilters { since: DateTime states: [IssueState!] }
enum PullRequestState { OPEN CLOSED MERGED }
enum PullRequestReviewState { PENDING COMMENTED APPROVED CHANGES_REQUESTED DISMISSED }
enum PullRequestTimelineItemsItemType { READY_FOR_REVIEW_EVENT CONVERT_TO_DRAFT_EVENT MERGED_EVENT }

interface Actor { login: String! }
type User implements Actor { login: String! }

type Repository {
  nameWithOwner: String!
  isPrivate: Boolean!
  pullRequests(first: Int, last: Int, after: String, before: String, orderBy: IssueOrder,
               states: [PullRequestState!]): PullRequestConnection!
  pullRequest(number: Int!): PullRequest
  issues(first: Int, last: Int, after: String, before: String, orderBy: IssueOrder, filterBy: IssueFilters,
         states: [IssueState!]): IssueConnection!
  ref(qualifiedName: String!): Ref
  object(oid: GitObjectID, expression: String): GitObject
}

type PullRequestConnection { pageInfo: PageInfo! nodes: [PullRequest] totalCount: Int! }
type PullRequest {
  number: Int!
  title: String!
  state: PullRequestState!
  isDraft: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  closedAt: DateTime
  mergedAt: DateTime
  author: Actor
  baseRefName: String!
  additions: Int!
  deletions: Int!
  comments(first: Int, last: Int, after: String): IssueCommentConnection!
  reviews(first: Int, last: Int, after: String): PullRequestReviewConnection
  timelineItems(first: Int, last: Int,
                itemTypes: [PullRequestTimelineItemsItemType!]): PullRequestTimelineItemsConnection!
}
type IssueCommentConnection { totalCount: Int! }
type PullRequestReviewConnection { pageInfo: PageInfo! nodes: [PullRequestReview] totalCount: Int! }
type PullRequestReview {
  id: ID!
  state: PullRequestReviewState!
  submittedAt: DateTime
  author: Actor
  comments(first: Int, last: Int): PullRequestReviewCommentConnection!
}
type PullRequestReviewCommentConnection { totalCount: Int! }
type ReadyForReviewEvent { createdAt: DateTime! }
union PullRequestTimelineItems = ReadyForReviewEvent
type PullRequestTimelineItemsConnection { nodes: [PullRequestTimelineItems] totalCount: Int! }

type Ref { name: String! target: GitObject }
interface GitObject { oid: GitObjectID! }
type GitActor { email: String name: String user: User }
type Commit implements GitObject {
  oid: GitObjectID!
  committedDate: DateTime!
  authoredDate: DateTime!
  messageHeadline: String!
  additions: Int!
  deletions: Int!
  parents(first: Int, last: Int): CommitConnection!
  author: GitActor
  history(first: Int, last: Int, after: String, since: GitTimestamp, until: GitTimestamp): CommitHistoryConnection!
}
type CommitConnection { totalCount: Int! }
type CommitHistoryConnection { pageInfo: PageInfo! nodes: [Commit] totalCount: Int! }

type IssueConnection { pageInfo: PageInfo! nodes: [Issue] totalCount: Int! }
type Issue {
  number: Int!
  title: String!
  state: IssueState!
  createdAt: DateTime!
  updatedAt: DateTime!
  closedAt: DateTime
  author: Actor
}
"""

_SCHEMA = graphql.build_schema(SDL)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text.encode()).decode()


@functools.lru_cache(maxsize=64)
def _parsed(query: str) -> tuple[DocumentNode, list[dict[str, Any]]]:
    """The parsed document and its validation errors (the same few documents come again and again)."""
    document = graphql.parse(query)
    return document, [dict(e.formatted) for e in graphql.validate(_SCHEMA, document)]


class FakeGraphQLError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# ---------------------------------------------------------------- the repository's data
@dataclass
class FakeReview:
    id: str
    author: str | None
    state: str
    submitted_at: datetime | None
    comments: int = 0


@dataclass
class FakePullRequest:
    number: int
    title: str
    author: str | None
    state: str  # OPEN CLOSED MERGED
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    is_draft: bool = False
    ready_at: datetime | None = None
    base: str = "main"
    additions: int = 0
    deletions: int = 0
    comments: int = 0
    reviews: list[FakeReview] = field(default_factory=list)


@dataclass
class FakeCommit:
    oid: str
    committed_at: datetime
    authored_at: datetime
    headline: str
    additions: int
    deletions: int
    parents: int
    email: str
    login: str | None
    parent_oids: tuple[str, ...] = ()
    """The parents' oids: the history is a DAG (``merge``, ``force_push``); ``parents`` is their count
    as GitHub answers it (synthetic histories count merges they do not model)."""


@dataclass
class FakeIssue:
    number: int
    title: str
    author: str | None
    state: str  # OPEN CLOSED
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None


@dataclass
class Calls:
    rest: int = 0
    graphql: int = 0
    points: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    """One entry per request: ``kind`` (rest/graphql), ``path`` or ``operation``, ``variables``, ``status``."""

    def graphql_pages(self, operation: str) -> list[dict[str, Any]]:
        return [c["variables"] for c in self.log if c.get("operation") == operation and c["status"] == 200]


def rest_requests_estimate(prs: int, commits: int, issues: int, *, per_page: int = 100) -> int:
    """REST calls the per-item approach needs for the same data: PR list pages, then per PR its
    reviews and the single PR (sizes, counts); commit list pages, then one call per commit for its
    stats; issue list pages (GitHub lists PRs among issues, so those pages hold both)."""
    return (
        math.ceil(prs / per_page)
        + prs  # GET /pulls/{n}/reviews
        + prs  # GET /pulls/{n}
        + math.ceil(commits / per_page)
        + commits  # GET /commits/{sha}
        + math.ceil((issues + prs) / per_page)
    )


class FakeGitHub:
    def __init__(
        self,
        *,
        owner: str = "octo-org",
        name: str = "octo-repo",
        token: str = DEFAULT_TOKEN,
        private: bool = False,
        default_branch: str = "main",
        latency_ms: int = 0,
        now: datetime | None = None,
        seed: int = 0,
    ) -> None:
        self.owner = owner
        self.name = name
        self.token = token
        self.private = private
        self.default_branch = default_branch
        self.latency_ms = latency_ms
        self.rng = random.Random(seed)
        self.seed = seed
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self._clock = self.now
        self.pull_requests: dict[int, FakePullRequest] = {}
        self.branches: dict[str, list[FakeCommit]] = {default_branch: []}
        """Each branch's history, newest first."""
        self.objects: dict[str, FakeCommit] = {}
        self.issues: dict[int, FakeIssue] = {}
        self.calls = Calls()
        self.body_bytes_sent = 0
        """Bytes of every answer's body so far (what a client's byte count must add up to)."""
        self.faults = FaultPlan()
        """Faults to inject in the next answers, and the provider's clock (``tests.fakes.faults``)."""
        self.rate_limit = 5000
        self.rate_remaining = 5000
        self.rate_reset_at = self.now + timedelta(hours=1)
        self.rest_remaining = 5000
        self._query: dict[str, str] = {}
        self._fail_graphql: list[int] = []
        self._fail_above: int | None = None
        self._secondary: list[int] = []
        self._retry_after = 60
        self._revoked = False
        self._forbidden = False
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            github = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-github", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def api_url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def enterprise_api_url(self) -> str:
        return self.api_url + "/api/v3"

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.name}"

    def config(self, **overrides: Any) -> GitHubConfig:
        values: dict[str, Any] = {
            "repository": self.repository,
            "token": self.token,
            "branch": self.default_branch,
            "api_url": self.api_url,
        }
        values.update(overrides)
        return GitHubConfig(**values)

    def tick(self, seconds: int = 1) -> datetime:
        """The fake's clock: every change happens a little after the previous one."""
        with self._lock:
            self._clock += timedelta(seconds=seconds)
            return self._clock

    # ------------------------------------------------------------ synthetic data
    @classmethod
    def synthetic(
        cls, *, prs: int = 100, commits: int = 300, issues: int = 50, seed: int = 1, days: int = 360, **kwargs: Any
    ) -> FakeGitHub:
        """A repository with ``prs`` pull requests, ``commits`` commits on the default branch and
        ``issues`` issues, spread over the ``days`` before now, the same for the same ``seed``."""
        fake = cls(seed=seed, **kwargs)
        rng = fake.rng
        span = days * 86400
        start = fake.now - timedelta(seconds=span)

        def when() -> datetime:
            return start + timedelta(seconds=rng.randrange(span - 3600))

        def later(created: datetime, max_days: int) -> datetime:
            updated = created + timedelta(seconds=rng.randrange(max_days * 86400))
            if updated >= fake.now - timedelta(minutes=1):  # not all on one instant: spread over the last hour
                updated = max(created, fake.now - timedelta(seconds=rng.randrange(60, 3600)))
            return updated

        review_id = 0
        for number in range(1, prs + 1):
            created = when()
            updated = later(created, 10)
            roll = rng.random()
            state = "MERGED" if roll < 0.7 else "CLOSED" if roll < 0.8 else "OPEN"
            was_draft = rng.random() < 0.1
            pr = FakePullRequest(
                number=number,
                title=f"Change {number}",
                author=rng.choice(LOGINS),
                state=state,
                created_at=created,
                updated_at=updated,
                closed_at=updated if state != "OPEN" else None,
                merged_at=updated if state == "MERGED" else None,
                is_draft=was_draft and state == "OPEN" and rng.random() < 0.5,
                additions=rng.randrange(1, 800),
                deletions=rng.randrange(0, 300),
                comments=rng.randrange(0, 8),
            )
            if was_draft and not pr.is_draft:
                pr.ready_at = (created + (updated - created) / 3).replace(microsecond=0)
            for _ in range(rng.randrange(0, 4)):
                review_id += 1
                submitted = (created + (updated - created) * rng.random()).replace(microsecond=0)
                pr.reviews.append(
                    FakeReview(
                        id=f"PRR_{seed}_{review_id}",
                        author=rng.choice(LOGINS),
                        state=rng.choice(("APPROVED", "COMMENTED", "CHANGES_REQUESTED")),
                        submitted_at=submitted,
                        comments=rng.randrange(0, 5),
                    )
                )
            pr.reviews.sort(key=lambda r: r.submitted_at or created)
            fake.pull_requests[number] = pr
        history: list[FakeCommit] = []
        step = span / max(commits, 1)
        for i in range(commits):
            committed = start + timedelta(seconds=int(i * step) + rng.randrange(max(1, int(step))))
            login = rng.choice(LOGINS) if rng.random() > 0.15 else None
            email = f"{login or 'someone' + str(rng.randrange(5))}@Example.COM"
            history.append(
                FakeCommit(
                    oid=hashlib.sha1(f"{seed}-{i}".encode()).hexdigest(),
                    committed_at=committed,
                    authored_at=committed - timedelta(minutes=rng.randrange(600)),
                    headline=f"Commit {i}",
                    additions=rng.randrange(0, 400),
                    deletions=rng.randrange(0, 200),
                    parents=2 if rng.random() < 0.1 else 1,
                    email=email,
                    login=login,
                )
            )
        history.sort(key=lambda c: c.committed_at, reverse=True)
        for child, parent in itertools.pairwise(history):
            child.parent_oids = (parent.oid,)
        fake.branches[fake.default_branch] = history
        fake.objects.update({c.oid: c for c in history})
        for number in range(prs + 1, prs + issues + 1):
            created = when()
            updated = later(created, 20)
            closed = rng.random() < 0.6
            fake.issues[number] = FakeIssue(
                number=number,
                title=f"Issue {number}",
                author=rng.choice(LOGINS),
                state="CLOSED" if closed else "OPEN",
                created_at=created,
                updated_at=updated,
                closed_at=updated if closed else None,
            )
        return fake

    # ------------------------------------------------------------ mutations
    def touch_pull_requests(self, count: int) -> list[int]:
        """Update ``count`` pull requests that were not the latest (a comment each): their numbers."""
        with self._lock:
            ordered = sorted(self.pull_requests.values(), key=lambda p: (p.updated_at, p.number))
            chosen = self.rng.sample(ordered[: max(count, len(ordered) // 2)], count)
            for pr in chosen:
                pr.comments += 1
                pr.updated_at = self.tick()
            return [pr.number for pr in chosen]

    def add_pull_request(self, **fields: Any) -> FakePullRequest:
        with self._lock:
            number = max([*self.pull_requests, *self.issues, 0]) + 1
            now = self.tick()
            values: dict[str, Any] = {
                "number": number,
                "title": f"Change {number}",
                "author": "ada",
                "state": "OPEN",
                "created_at": now,
                "updated_at": now,
                "additions": 10,
                "deletions": 2,
            }
            values.update(fields)
            pr = FakePullRequest(**values)
            self.pull_requests[pr.number] = pr
            return pr

    def add_review(self, number: int, *, author: str = "grace", state: str = "APPROVED", comments: int = 0) -> str:
        with self._lock:
            pr = self.pull_requests[number]
            at = self.tick()
            review = FakeReview(
                id=f"PRR_new_{number}_{len(pr.reviews)}", author=author, state=state, submitted_at=at, comments=comments
            )
            pr.reviews.append(review)
            pr.updated_at = at
            return review.id

    def add_commits(self, count: int, *, branch: str | None = None, author: str = "ada") -> list[str]:
        with self._lock:
            history = self.branches.setdefault(branch or self.default_branch, [])
            new: list[FakeCommit] = []
            parent = history[0].oid if history else None
            for _ in range(count):
                at = self.tick()
                commit = self._new_commit(at, (parent,) if parent else (), author=author)
                new.append(commit)
                parent = commit.oid
            history[:0] = list(reversed(new))
            return [c.oid for c in new]

    def _new_commit(self, committed_at: datetime, parents: tuple[str, ...], *, author: str = "ada") -> FakeCommit:
        oid = hashlib.sha1(f"new-{self.seed}-{len(self.objects)}".encode()).hexdigest()
        commit = FakeCommit(
            oid,
            committed_at,
            committed_at,
            f"New commit {oid[:7]}",
            5,
            1,
            max(1, len(parents)),
            f"{author}@example.com",
            author,
            parents,
        )
        self.objects[oid] = commit
        return commit

    def ancestors(self, oid: str) -> set[str]:
        """``oid`` and every commit reachable from it through the parents."""
        seen: set[str] = set()
        todo = [oid]
        while todo:
            current = todo.pop()
            if current in seen or current not in self.objects:
                continue
            seen.add(current)
            todo.extend(self.objects[current].parent_oids)
        return seen

    def set_head(self, branch: str, oid: str) -> None:
        """Move ``branch`` to ``oid``: its history becomes every ancestor, newest committed first (git log)."""
        with self._lock:
            history = [self.objects[o] for o in self.ancestors(oid)]
            history.sort(key=lambda c: (c.committed_at, c.oid), reverse=True)
            self.branches[branch] = history

    def linear_commits(self, dates: list[datetime], *, parent: str | None, author: str = "ada") -> list[str]:
        """Commits one on top of the other (not on any branch yet), committed at ``dates``: their oids."""
        with self._lock:
            oids: list[str] = []
            for at in dates:
                commit = self._new_commit(at.replace(microsecond=0), (parent,) if parent else (), author=author)
                oids.append(commit.oid)
                parent = commit.oid
            return oids

    def merge(self, side_head: str, *, branch: str | None = None) -> str:
        """A merge commit on ``branch`` (now) whose second parent is ``side_head``; the branch moves to it."""
        with self._lock:
            name = branch or self.default_branch
            head = self.branches[name][0].oid
            merge = self._new_commit(self.tick(), (head, side_head))
            self.set_head(name, merge.oid)
            return merge.oid

    def add_issue(self, **fields: Any) -> FakeIssue:
        with self._lock:
            number = max([*self.pull_requests, *self.issues, 0]) + 1
            now = self.tick()
            values: dict[str, Any] = {
                "number": number,
                "title": f"Issue {number}",
                "author": "ada",
                "state": "OPEN",
                "created_at": now,
                "updated_at": now,
            }
            values.update(fields)
            issue = FakeIssue(**values)
            self.issues[issue.number] = issue
            return issue

    def touch_issues(self, count: int) -> list[int]:
        with self._lock:
            chosen = self.rng.sample(sorted(self.issues), count)
            for number in chosen:
                self.issues[number].updated_at = self.tick()
            return chosen

    def set_rate_limit(
        self, *, remaining: int | None = None, limit: int | None = None, reset_at: datetime | None = None
    ) -> None:
        with self._lock:
            if limit is not None:
                self.rate_limit = limit
            if remaining is not None:
                self.rate_remaining = remaining
            if reset_at is not None:
                self.rate_reset_at = reset_at

    def fail_next_graphql(self, count: int, status: int = 502) -> None:
        """The next ``count`` GraphQL calls answer ``status``."""
        with self._lock:
            self._fail_graphql.extend([status] * count)

    def fail_pages_larger_than(self, size: int | None) -> None:
        """GraphQL calls asking for more than ``size`` items (``first``) answer 502, as a query that
        takes too long does; ``None`` turns it off."""
        with self._lock:
            self._fail_above = size

    def secondary_limit(self, count: int = 1, *, retry_after: int = 60, status: int = 403) -> None:
        """The next ``count`` GraphQL calls hit the secondary rate limit (``status`` with ``retry-after``)."""
        with self._lock:
            self._secondary.extend([status] * count)
            self._retry_after = retry_after

    def revoke_token(self) -> None:
        """Every call answers 401 from now on."""
        self._revoked = True

    def forbid(self) -> None:
        """The token may no longer read the repository (REST 403, GraphQL FORBIDDEN)."""
        self._forbidden = True

    def reset_calls(self) -> None:
        with self._lock:
            self.calls = Calls()

    def rest_requests_estimate(self) -> int:
        history = self.branches.get(self.default_branch, [])
        return rest_requests_estimate(len(self.pull_requests), len(history), len(self.issues))

    # ------------------------------------------------------------ serving
    def _rate_headers(self, resource: str) -> dict[str, str]:
        remaining = self.rate_remaining if resource == "graphql" else self.rest_remaining
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(max(0, remaining)),
            "x-ratelimit-used": str(self.rate_limit - remaining),
            "x-ratelimit-reset": str(int(self.rate_reset_at.timestamp())),
            "x-ratelimit-resource": resource,
        }

    def _authorized(self, header: str | None) -> bool:
        if self._revoked or not header:
            return False
        scheme, _, value = header.partition(" ")
        return scheme.lower() in {"bearer", "token"} and value == self.token

    def _matches(self, owner: str, name: str) -> bool:
        return owner.lower() == self.owner.lower() and name.lower() == self.name.lower()

    def handle_rest(self, path: str, query: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.calls.rest += 1
            self.rest_remaining -= 1
            headers = self._rate_headers("core")
            parts = [unquote(p) for p in path.strip("/").split("/")]
            self._query = query or {}
            status, body = self._rest(parts)
            self.calls.log.append({"kind": "rest", "path": path, "query": self._query, "status": status})
            return status, headers, body

    def _rest(self, parts: list[str]) -> tuple[int, Any]:
        not_found = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        if len(parts) < 3 or parts[0] != "repos" or not self._matches(parts[1], parts[2]):
            return 404, not_found
        if self._forbidden:
            return 403, {"message": "Resource not accessible by personal access token"}
        if len(parts) == 3:
            return 200, {
                "full_name": self.repository,
                "name": self.name,
                "owner": {"login": self.owner},
                "private": self.private,
                "visibility": "private" if self.private else "public",
                "default_branch": self.default_branch,
            }
        if parts[3] == "branches" and len(parts) >= 5:
            branch = "/".join(parts[4:])
            history = self.branches.get(branch)
            if history is None:
                return 404, {"message": "Branch not found"}
            return 200, {"name": branch, "commit": {"sha": history[0].oid if history else None}}
        if parts[3] == "compare" and len(parts) >= 5:
            return self._compare("/".join(parts[4:]))
        return 404, not_found

    def _compare(self, basehead: str) -> tuple[int, Any]:
        """``GET /repos/{o}/{r}/compare/{base}...{head}`` for oids or branch names: status, counts and
        the commits reachable from head and not from base, oldest first, paged (``per_page``, ``page``)."""
        base_name, _, head_name = basehead.partition("...")
        base, head = self._resolve(base_name), self._resolve(head_name)
        if base is None or head is None:
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        base_set, head_set = self.ancestors(base), self.ancestors(head)
        ahead = sorted((self.objects[o] for o in head_set - base_set), key=lambda c: (c.committed_at, c.oid))
        behind = len(base_set - head_set)
        status = "identical" if base == head else "ahead" if not behind else "behind" if not ahead else "diverged"
        query = self._query
        per_page = min(int(query.get("per_page", "250")), 250)
        page = max(1, int(query.get("page", "1")))
        listed = ahead[(page - 1) * per_page : page * per_page]
        return 200, {
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": behind,
            "total_commits": len(ahead),
            "commits": [
                {
                    "sha": c.oid,
                    "parents": [{"sha": p} for p in c.parent_oids],
                    "commit": {"message": c.headline, "committer": {"date": _iso(c.committed_at)}},
                }
                for c in listed
            ],
            "files": [],
        }

    def _resolve(self, name: str) -> str | None:
        if name in self.objects:
            return name
        history = self.branches.get(name)
        return history[0].oid if history else None

    def handle_graphql(self, payload: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.calls.graphql += 1
            variables = payload.get("variables") or {}
            operation = payload.get("operationName")
            entry: dict[str, Any] = {"kind": "graphql", "operation": operation, "variables": variables}
            self.calls.log.append(entry)
            status, headers, body = self._graphql(payload, variables, operation)
            entry["status"] = status
            return status, headers, body

    def _graphql(
        self, payload: dict[str, Any], variables: dict[str, Any], operation: str | None
    ) -> tuple[int, dict[str, str], Any]:
        if self._fail_graphql:
            return self._fail_graphql.pop(0), {}, {"message": "Server Error"}
        if self._fail_above is not None and int(variables.get("first") or 0) > self._fail_above:
            return 502, {}, {"message": "Server Error"}
        if self._secondary:
            status = self._secondary.pop(0)
            headers = {**self._rate_headers("graphql"), "retry-after": str(self._retry_after)}
            return status, headers, {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
        try:
            document, problems = _parsed(str(payload.get("query") or ""))
        except graphql.GraphQLError as exc:
            return 200, self._rate_headers("graphql"), {"errors": [{"message": exc.message}]}
        if problems:
            return 200, self._rate_headers("graphql"), {"errors": problems}
        cost = query_cost(document, operation, variables)
        if self.rate_remaining < cost:
            headers = {**self._rate_headers("graphql"), "x-ratelimit-remaining": "0"}
            refused = {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]}
            return 200, headers, refused
        self.rate_remaining -= cost
        self.calls.points += cost
        root = {
            "rateLimit": {
                "cost": cost,
                "limit": self.rate_limit,
                "nodeCount": 0,
                "remaining": self.rate_remaining,
                "resetAt": _iso(self.rate_reset_at),
                "used": self.rate_limit - self.rate_remaining,
            },
            "repository": self._repository,
        }
        result = graphql.execute_sync(
            _SCHEMA, document, root_value=root, variable_values=variables, operation_name=operation
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            errors: list[dict[str, Any]] = []
            for error in result.errors:
                formatted: dict[str, Any] = dict(error.formatted)
                if isinstance(error.original_error, FakeGraphQLError):
                    formatted["type"] = error.original_error.kind
                errors.append(formatted)
            body["errors"] = errors
        return 200, self._rate_headers("graphql"), body

    # ------------------------------------------------------------ GraphQL resolvers
    def _repository(self, _info: Any, owner: str, name: str) -> dict[str, Any]:
        if not self._matches(owner, name):
            raise FakeGraphQLError("NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        if self._forbidden:
            raise FakeGraphQLError("FORBIDDEN", "Resource not accessible by personal access token")
        return {
            "nameWithOwner": self.repository,
            "isPrivate": self.private,
            "pullRequests": self._pull_requests,
            "pullRequest": self._pull_request,
            "issues": self._issues,
            "ref": self._ref,
            "object": self._object,
        }

    def _pull_requests(self, _info: Any, **args: Any) -> dict[str, Any]:
        items = list(self.pull_requests.values())
        if args.get("states"):
            items = [p for p in items if p.state in args["states"]]
        return _keyed_page(items, args, "pr", self._pr_node)

    def _pull_request(self, _info: Any, number: int) -> dict[str, Any]:
        pr = self.pull_requests.get(number)
        if pr is None:
            raise FakeGraphQLError("NOT_FOUND", f"Could not resolve to a PullRequest with the number of {number}.")
        return self._pr_node(pr)

    def _issues(self, _info: Any, **args: Any) -> dict[str, Any]:
        items = list(self.issues.values())
        since = (args.get("filterBy") or {}).get("since")
        if since:
            floor = _parse(since)
            items = [i for i in items if i.updated_at >= floor]
        return _keyed_page(items, args, "issue", self._issue_node)

    def _ref(self, _info: Any, qualifiedName: str) -> dict[str, Any] | None:
        if not qualifiedName.startswith("refs/heads/"):
            return None
        branch = qualifiedName.removeprefix("refs/heads/")
        history = self.branches.get(branch)
        if history is None:
            return None
        head = history[0] if history else None
        target = self._commit_node(head, history) if head else None
        return {"name": branch, "target": target}

    def _object(self, _info: Any, oid: str | None = None, expression: str | None = None) -> dict[str, Any] | None:
        commit = self.objects.get(oid or "")
        if commit is None:
            return None
        return self._commit_node(commit, None)

    def _pr_node(self, pr: FakePullRequest) -> dict[str, Any]:
        def reviews(_info: Any, **args: Any) -> dict[str, Any]:
            first = args.get("first") or 100
            nodes = [
                {
                    "id": r.id,
                    "state": r.state,
                    "submittedAt": _iso(r.submitted_at),
                    "author": {"__typename": "User", "login": r.author} if r.author else None,
                    "comments": {"totalCount": r.comments},
                }
                for r in pr.reviews[:first]
            ]
            return {
                "nodes": nodes,
                "totalCount": len(pr.reviews),
                "pageInfo": {"hasNextPage": len(pr.reviews) > first, "hasPreviousPage": False},
            }

        def timeline(_info: Any, **args: Any) -> dict[str, Any]:
            wanted = args.get("itemTypes") or []
            events = (
                [{"__typename": "ReadyForReviewEvent", "createdAt": _iso(pr.ready_at)}]
                if pr.ready_at and (not wanted or "READY_FOR_REVIEW_EVENT" in wanted)
                else []
            )
            return {"nodes": events, "totalCount": len(events)}

        return {
            "number": pr.number,
            "title": pr.title,
            "state": pr.state,
            "isDraft": pr.is_draft,
            "createdAt": _iso(pr.created_at),
            "updatedAt": _iso(pr.updated_at),
            "closedAt": _iso(pr.closed_at),
            "mergedAt": _iso(pr.merged_at),
            "author": {"__typename": "User", "login": pr.author} if pr.author else None,
            "baseRefName": pr.base,
            "additions": pr.additions,
            "deletions": pr.deletions,
            "comments": {"totalCount": pr.comments},
            "reviews": reviews,
            "timelineItems": timeline,
        }

    def _issue_node(self, issue: FakeIssue) -> dict[str, Any]:
        return {
            "number": issue.number,
            "title": issue.title,
            "state": issue.state,
            "createdAt": _iso(issue.created_at),
            "updatedAt": _iso(issue.updated_at),
            "closedAt": _iso(issue.closed_at),
            "author": {"__typename": "User", "login": issue.author} if issue.author else None,
        }

    def _commit_node(self, commit: FakeCommit, history: list[FakeCommit] | None) -> dict[str, Any]:
        def history_page(_info: Any, **args: Any) -> dict[str, Any]:
            items = history if history is not None else []
            head = items[0].oid if items else ""
            since = args.get("since")
            until = args.get("until")
            if args.get("after"):
                cursor_head, _, offset_text = _unb64(args["after"]).partition(" ")
                position = next((i for i, c in enumerate(items) if c.oid == cursor_head), 0)
                items = items[position:]
                head = cursor_head
                offset = int(offset_text) + 1
            else:
                offset = 0
            if since:
                items = [c for c in items if c.committed_at >= _parse(since)]
            if until:
                items = [c for c in items if c.committed_at <= _parse(until)]
            first = int(args.get("first") or 100)
            page = items[offset : offset + first]
            end = offset + len(page) - 1
            return {
                "nodes": [self._commit_node(c, None) for c in page],
                "totalCount": len(items),
                "pageInfo": {
                    "hasNextPage": offset + first < len(items),
                    "hasPreviousPage": offset > 0,
                    "startCursor": _b64(f"{head} {offset}") if page else None,
                    "endCursor": _b64(f"{head} {end}") if page else None,
                },
            }

        return {
            "__typename": "Commit",
            "oid": commit.oid,
            "committedDate": _iso(commit.committed_at),
            "authoredDate": _iso(commit.authored_at),
            "messageHeadline": commit.headline,
            "additions": commit.additions,
            "deletions": commit.deletions,
            "parents": {"totalCount": commit.parents},
            "author": {
                "email": commit.email,
                "name": commit.login or commit.email,
                "user": {"__typename": "User", "login": commit.login} if commit.login else None,
            },
            "history": history_page,
        }


def _keyed_page(items: list[Any], args: dict[str, Any], prefix: str, node: Any) -> dict[str, Any]:
    """A page of pull requests or issues in the requested order, with key-based opaque cursors
    (``[timestamp, number]``), as GitHub's ordered connections have."""
    order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
    attribute = {"UPDATED_AT": "updated_at", "CREATED_AT": "created_at"}.get(order["field"], "created_at")
    descending = order["direction"] == "DESC"

    def key(item: Any) -> tuple[datetime, int]:
        return (getattr(item, attribute), item.number)

    items.sort(key=key, reverse=descending)
    if args.get("after"):
        raw_prefix, stamp, number = _unb64(args["after"]).split("|")
        assert raw_prefix == prefix, "a cursor of another connection"
        mark = (_parse(stamp), int(number))
        items = [i for i in items if (key(i) < mark if descending else key(i) > mark)]
    first = int(args.get("first") or 100)
    page = items[:first]

    def cursor(item: Any) -> str:
        stamp_value, number_value = key(item)
        return _b64(f"{prefix}|{_iso(stamp_value)}|{number_value}")

    return {
        "nodes": [node(i) for i in page],
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": len(items) > first,
            "hasPreviousPage": bool(args.get("after")),
            "startCursor": cursor(page[0]) if page else None,
            "endCursor": cursor(page[-1]) if page else None,
        },
    }


def query_cost(document: DocumentNode, operation: str | None, variables: dict[str, Any]) -> int:
    """GitHub's cost: per connection (a field with ``first``/``last``) the requests to fill it, given
    the sizes of the connections around it, summed, divided by 100, rounded, at least 1."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next((o for o in operations if o.name and o.name.value == operation), operations[0])
    total = 0

    def size(field_node: FieldNode) -> int | None:
        for argument in field_node.arguments or ():
            if argument.name.value in {"first", "last"}:
                value = argument.value
                if isinstance(value, IntValueNode):
                    return int(value.value)
                if isinstance(value, VariableNode):
                    found = variables.get(value.name.value)
                    return int(found) if found is not None else None
        return None

    def walk(selection_set: SelectionSetNode, multiplier: int) -> None:
        nonlocal total
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value == "rateLimit":
                    continue
                n = size(selection)
                inner = multiplier
                if n is not None:
                    total += multiplier
                    inner = multiplier * n
                if selection.selection_set:
                    walk(selection.selection_set, inner)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, multiplier)
            elif isinstance(selection, FragmentSpreadNode):
                walk(fragments[selection.name.value].selection_set, multiplier)

    walk(chosen.selection_set, 1)
    return max(1, round(total / 100))


class _Handler(BaseHTTPRequestHandler):
    github: FakeGitHub
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 1 << 16  # one write per answer (flushed after each request)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return self.github.faults.date_header(time.time() if timestamp is None else timestamp)

    def _send(self, status: int, headers: dict[str, str], body: Any) -> None:
        data = json.dumps(body).encode()
        pairs = [("Content-Type", "application/json; charset=utf-8"), *headers.items()]
        self.github.body_bytes_sent += send_answer(self, self.github.faults, status, pairs, data)

    def _pause(self) -> None:
        if self.github.latency_ms:
            time.sleep(self.github.latency_ms / 1000)

    def _unauthorized(self) -> bool:
        if self.github._authorized(self.headers.get("Authorization")):
            return False
        self._send(401, {}, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        return True

    def do_GET(self) -> None:
        self._pause()
        path = urlparse(self.path).path
        if path.startswith("/api/v3/"):
            path = path[len("/api/v3") :]
        if self._unauthorized():
            with self.github._lock:
                self.github.calls.rest += 1
                self.github.calls.log.append({"kind": "rest", "path": path, "status": 401})
            return
        query = {key: values[-1] for key, values in parse_qs(urlparse(self.path).query).items()}
        status, headers, body = self.github.handle_rest(path, query)
        self._send(status, headers, body)

    def do_POST(self) -> None:
        self._pause()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = urlparse(self.path).path
        if path not in {"/graphql", "/api/graphql"}:
            self._send(404, {}, {"message": "Not Found"})
            return
        if self._unauthorized():
            with self.github._lock:
                self.github.calls.graphql += 1
                self.github.calls.log.append({"kind": "graphql", "operation": None, "variables": {}, "status": 401})
            return
        try:
            payload = json.loads(raw)
        except json.JSONDecodeError:
            self._send(400, {}, {"message": "Problems parsing JSON"})
            return
        status, headers, body = self.github.handle_graphql(payload)
        self._send(status, headers, body)
