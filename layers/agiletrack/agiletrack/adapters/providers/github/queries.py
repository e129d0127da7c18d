"""The GraphQL documents the GitHub adapter sends, as constants.

Every query selects ``rateLimit`` so each answer says what it cost and what is left. Page sizes are
variables (``$first``) so the adapter can shrink a page that times out and grow it back. The
documents are validated against GitHub's published schema by ``tests/unit/test_github_queries_schema.py``.

Cost, per GitHub's formula: for each connection, the requests needed to fill it with every
``first``/``last`` maxed out, summed, divided by 100 and rounded, at least 1.
"""

from __future__ import annotations

import re

PR_PAGE_MAX = 50
"""Pull requests per page (each carries up to 100 reviews and one timeline item)."""
COMMIT_PAGE_MAX = 100
COMPARE_PAGE_MAX = 100
"""Commits per page of REST ``compare`` (what is new on the branch since the last head synced); one
refresh query completes them (``REFRESH_BATCH_MAX``)."""
ISSUE_PAGE_MAX = 100
PAGE_MIN = 5
REVIEWS_PER_PR = 100
REFRESH_BATCH_MAX = 100
"""Objects (commits and pull requests together) completed by one refresh query."""

RATE_LIMIT_FIELDS = "rateLimit { cost remaining resetAt limit }"

PULL_REQUEST_FIELDS = """
fragment PullRequestFields on PullRequest {
  number
  title
  state
  isDraft
  createdAt
  updatedAt
  closedAt
  mergedAt
  author { login }
  baseRefName
  additions
  deletions
  comments { totalCount }
  reviews(first: 100) {
    nodes {
      id
      state
      submittedAt
      author { login }
      comments { totalCount }
    }
  }
  timelineItems(itemTypes: [READY_FOR_REVIEW_EVENT], last: 1) {
    nodes { ... on ReadyForReviewEvent { createdAt } }
  }
}
"""

COMMIT_FIELDS = """
fragment CommitFields on Commit {
  oid
  committedDate
  authoredDate
  messageHeadline
  additions
  deletions
  parents { totalCount }
  author { email user { login } }
}
"""

PULL_REQUESTS_QUERY = (
    """
query PullRequests($owner: String!, $name: String!, $first: Int!, $after: String) {
  rateLimit { cost remaining resetAt limit }
  repository(owner: $owner, name: $name) {
    isPrivate
    pullRequests(first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) {
      pageInfo { hasNextPage endCursor }
      nodes { ...PullRequestFields }
    }
  }
}
"""
    + PULL_REQUEST_FIELDS
)

COMMITS_QUERY = (
    """
query Commits($owner: String!, $name: String!, $qualifiedName: String!, $first: Int!, $since: GitTimestamp,
              $after: String) {
  rateLimit { cost remaining resetAt limit }
  repository(owner: $owner, name: $name) {
    ref(qualifiedName: $qualifiedName) {
      target {
        ... on Commit {
          oid
          history(first: $first, since: $since, after: $after) {
            pageInfo { hasNextPage endCursor }
            nodes { ...CommitFields }
          }
        }
      }
    }
  }
}
"""
    + COMMIT_FIELDS
)

ISSUES_QUERY = """
query Issues($owner: String!, $name: String!, $first: Int!, $since: DateTime, $after: String) {
  rateLimit { cost remaining resetAt limit }
  repository(owner: $owner, name: $name) {
    issues(first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}, filterBy: {since: $since}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        number
        title
        state
        createdAt
        updatedAt
        closedAt
        author { login }
      }
    }
  }
}
"""

_OID = re.compile(r"^[0-9a-fA-F]{4,40}$")


def refresh_query(oids: list[str], numbers: list[int]) -> str:
    """One query completing commits (by oid, aliases ``c0..``) and pull requests (by number, ``p0..``).

    The values are inlined as literals: oids are checked to be hex and numbers are ints, so nothing
    from a webhook payload can change the shape of the document.
    """
    if len(oids) + len(numbers) > REFRESH_BATCH_MAX:
        raise ValueError(f"at most {REFRESH_BATCH_MAX} objects per refresh query")
    parts: list[str] = []
    for i, oid in enumerate(oids):
        if not _OID.match(oid):
            raise ValueError(f"not a git object id: {oid!r}")
        parts.append(f'    c{i}: object(oid: "{oid}") {{ ... on Commit {{ ...CommitFields }} }}')
    for i, number in enumerate(numbers):
        parts.append(f"    p{i}: pullRequest(number: {int(number)}) {{ ...PullRequestFields }}")
    body = "\n".join(parts)
    fragments = (COMMIT_FIELDS if oids else "") + (PULL_REQUEST_FIELDS if numbers else "")
    return (
        "query Refresh($owner: String!, $name: String!) {\n"
        f"  {RATE_LIMIT_FIELDS}\n"
        "  repository(owner: $owner, name: $name) {\n"
        f"{body}\n"
        "  }\n"
        "}\n" + fragments
    )


def _points(requests: int) -> int:
    return max(1, round(requests / 100))


def pull_requests_cost(first: int) -> int:
    """The connection itself, plus per pull request its reviews and its timeline items."""
    return _points(1 + 2 * first)


def commits_cost(first: int) -> int:  # noqa: ARG001 - one connection, whatever its size
    return _points(1)


def issues_cost(first: int) -> int:  # noqa: ARG001
    return _points(1)


def refresh_cost(commits: int, pull_requests: int) -> int:  # noqa: ARG001 - commits hold no connection
    return _points(2 * pull_requests)


QUERIES: dict[str, str] = {
    "PullRequests": PULL_REQUESTS_QUERY,
    "Commits": COMMITS_QUERY,
    "Issues": ISSUES_QUERY,
}
"""The fixed documents, by operation name (``refresh_query`` builds the fourth, ``Refresh``)."""
