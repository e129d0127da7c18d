"""Normalized records: what every provider's data becomes before it is stored and measured.

Every record has a stable ``id`` (unique within its integration and kind) and an ``updated_at``:
a stored record is only replaced by one with a later ``updated_at`` (or the same one and other
content), so an old redelivery never overwrites fresh data.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from agiletrack.models.common import UtcDatetime


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kind: ClassVar[str]
    id: str
    updated_at: UtcDatetime
    deleted: bool = False
    """A tombstone: the provider deleted (or transferred away) the item. Metrics skip it."""


# ---------------------------------------------------------------- GitHub
ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"]


class PullRequestReview(BaseModel):
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

# Filled by the Jira and Trello issues with their record types.
RECORD_TYPES: dict[str, type[Record]] = {t.kind: t for t in GITHUB_RECORD_TYPES}
