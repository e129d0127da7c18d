"""GitHub's normalized records: pull requests (with their reviews), commits of the configured branch, issues.

Their kinds (``pull_request``, ``commit``, ``issue``) are unprefixed because records were stored under them
before other providers arrived; renaming them would orphan stored data. Other providers prefix theirs.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from agiletrack.models.base import Model
from agiletrack.models.common import UtcDatetime
from agiletrack.models.records import Record

ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"]


class PullRequestReview(Model):
    id: str
    author: str | None
    state: ReviewState
    submitted_at: UtcDatetime | None
    comments: int = 0
    """Diff comments attached to this review."""


class PullRequest(Record):
    kind: ClassVar[str] = "pull_request"
    number: int
    title: str = ""
    author: str | None = None
    state: Literal["open", "closed", "merged"]
    is_draft: bool = False
    created_at: UtcDatetime
    closed_at: UtcDatetime | None = None
    merged_at: UtcDatetime | None = None
    ready_for_review_at: UtcDatetime | None = None
    """The last time it was marked ready for review, when it was opened as a draft."""
    base_ref: str | None = None
    additions: int = 0
    deletions: int = 0
    comments: int = 0
    """Conversation comments."""
    review_comments: int = 0
    """Diff (review) comments, pending drafts excluded."""
    reviews: list[PullRequestReview] = Field(default_factory=list)


class Commit(Record):
    kind: ClassVar[str] = "commit"
    sha: str
    committed_at: UtcDatetime
    authored_at: UtcDatetime | None = None
    author: str
    """GitHub login, or the author email lower-cased when no GitHub user is linked."""
    parents: int = 1
    additions: int | None = None
    deletions: int | None = None
    """Line counts; None until known (push webhooks carry none)."""
    message: str = ""


class Issue(Record):
    kind: ClassVar[str] = "issue"
    number: int
    title: str = ""
    author: str | None = None
    state: Literal["open", "closed"]
    created_at: UtcDatetime
    closed_at: UtcDatetime | None = None
    """The last close; None while open."""


GITHUB_RECORD_TYPES: tuple[type[Record], ...] = (PullRequest, Commit, Issue)
