"""GitHub webhook deliveries: parsing into records, and merging partial PR records (the checks at intake, the
signature among them, are in ``intake.py``).

What each delivery becomes (other events and actions are accepted and ``ignored``):

- ``ping`` → ``connected``.
- ``pull_request`` (opened, reopened, closed, ready_for_review, converted_to_draft, edited, synchronize)
  → the ``PullRequest`` from the payload's full PR object (counts and sizes included, no reviews);
  ``ready_for_review`` sets ``ready_for_review_at`` to the PR's ``updated_at``.
- ``pull_request_review`` (submitted, dismissed) → the ``PullRequest`` carrying that one review (state
  upper-cased), ``updated_at`` = max(PR updated_at, review submitted_at), ``needs_refresh``: the PR
  object of review events has no counts, and a review may bring diff comments.
- ``pull_request_review_comment`` (created, deleted) → the ``PullRequest`` with what its (simple) PR
  object knows, ``needs_refresh`` so ``refresh`` reads the counts again. Re-reading is idempotent,
  unlike adding ±1, so a redelivery or a lost delivery cannot skew the counts.
- ``issue_comment`` (created, deleted) on a PR → the ``PullRequest`` with ``comments`` = the issue's
  comment count (exact, so no refresh); on an issue → ignored (no metric uses issue comments).
- ``issues`` (opened, edited, closed, reopened) → the ``Issue``; (deleted, transferred) → its tombstone.
- ``push`` to ``refs/heads/<branch>`` → one ``Commit`` per pushed commit, sizes unknown and
  ``parents`` = 1, ``needs_refresh`` (``refresh`` reads sizes and parents); other refs → ignored.
- A delivery about another repository than ``config.repository`` → ignored.

Webhook PR records are partial: fields a payload does not carry are left *unset* (pydantic's
``model_fields_set``), and ``reviews`` holds only the review of a review event. The event processor
must therefore never store one as is over a stored record: it calls the adapter's ``merge_record``
(here ``merge_record``, for PRs ``merge_pull_request(stored, incoming)``), which keeps what the
incoming record does not know (reviews by id, counts, sizes, ``ready_for_review_at``). Merge the
record ``parse`` returned (or ``refresh`` completed) in the same process: unset fields are lost if
the record is serialized in between (unless with ``model_dump(exclude_unset=True)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from agiletrack.adapters.providers.base import WebhookDelivery, WebhookResult, header_value
from agiletrack.adapters.providers.github.config import GitHubConfig
from agiletrack.adapters.providers.github.intake import decoded_payload
from agiletrack.adapters.providers.github.records import Commit, Issue, PullRequest, PullRequestReview, ReviewState
from agiletrack.models.common import as_utc, parse_iso
from agiletrack.models.records import Record

EVENT_HEADER = "x-github-event"
MALFORMED = "malformed"
"""The event name a signed delivery we cannot read is counted under (as for every provider)."""

PULL_REQUEST_ACTIONS = frozenset(
    {"opened", "reopened", "closed", "ready_for_review", "converted_to_draft", "edited", "synchronize"}
)
REVIEW_ACTIONS = frozenset({"submitted", "dismissed"})
COMMENT_ACTIONS = frozenset({"created", "deleted"})
ISSUE_ACTIONS = frozenset({"opened", "edited", "closed", "reopened"})
ISSUE_GONE_ACTIONS = frozenset({"deleted", "transferred"})
REVIEW_STATES: frozenset[str] = frozenset({"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"})


def _obj(value: object) -> dict[str, Any]:
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def _dt(value: object) -> datetime | None:
    if isinstance(value, str) and value:
        return parse_iso(value)
    return None


def _login(user: object) -> str | None:
    login = _obj(user).get("login")
    return login if isinstance(login, str) else None


def _later(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _other_repository(payload: Mapping[str, Any], config: GitHubConfig) -> bool:
    full_name = _obj(payload.get("repository")).get("full_name")
    return isinstance(full_name, str) and full_name.lower() != config.repository.lower()


def parse(delivery: WebhookDelivery, config: GitHubConfig) -> WebhookResult:
    event = header_value(delivery.headers, EVENT_HEADER) or "unknown"
    payload = decoded_payload(delivery)
    try:
        return _parse(event, payload, delivery, config)
    except (KeyError, TypeError, ValueError):  # pydantic's ValidationError is a ValueError
        # Signed, but not the shape GitHub documents: nothing in it can be measured, and a retry reads the same
        # bytes. Accepted and ignored (counted as ``malformed``), never retried into the dead-letter queue.
        return WebhookResult(event=MALFORMED, ignored=True)


def _parse(event: str, payload: dict[str, Any], delivery: WebhookDelivery, config: GitHubConfig) -> WebhookResult:
    if _other_repository(payload, config):
        return WebhookResult(event=event, ignored=True)
    action = payload.get("action")
    if event == "ping":
        return WebhookResult(event=event, connected=True)
    if event == "pull_request" and action in PULL_REQUEST_ACTIONS:
        pr = _obj(payload.get("pull_request"))
        extra: dict[str, Any] = {}
        if action == "ready_for_review":
            extra["ready_for_review_at"] = _dt(pr.get("updated_at"))
        return WebhookResult(event=event, records=[_pull_request(pr, **extra)])
    if event == "pull_request_review" and action in REVIEW_ACTIONS:
        return _review_event(event, payload)
    if event == "pull_request_review_comment" and action in COMMENT_ACTIONS:
        pr = _obj(payload.get("pull_request"))
        comment = _obj(payload.get("comment"))
        updated = _later(_dt(pr.get("updated_at")), _dt(comment.get("updated_at")))
        return WebhookResult(event=event, records=[_pull_request(pr, updated_at=updated)], needs_refresh=True)
    if event == "issue_comment" and action in COMMENT_ACTIONS:
        issue = _obj(payload.get("issue"))
        if "pull_request" not in issue:
            return WebhookResult(event=event, ignored=True)
        return WebhookResult(event=event, records=[_pull_request_from_issue(issue)])
    if event == "issues" and action in ISSUE_ACTIONS | ISSUE_GONE_ACTIONS:
        issue = _obj(payload.get("issue"))
        record = _issue(issue)
        if action in ISSUE_GONE_ACTIONS:
            when = _later(record.updated_at, as_utc(delivery.received_at))
            record = record.model_copy(update={"deleted": True, "updated_at": when})
        return WebhookResult(event=event, records=[record])
    if event == "push":
        return _push_event(event, payload, config)
    return WebhookResult(event=event, ignored=True)


def _pull_request(pr: Mapping[str, Any], **overrides: Any) -> PullRequest:
    """A PR record from a webhook PR object, setting only the fields the object carries."""
    merged_at = _dt(pr.get("merged_at"))
    state = "merged" if merged_at or pr.get("merged") is True else str(pr.get("state") or "open")
    fields: dict[str, Any] = {
        "id": str(pr["number"]),
        "number": pr["number"],
        "title": pr.get("title") or "",
        "author": _login(pr.get("user")),
        "state": state,
        "created_at": _dt(pr.get("created_at")),
        "closed_at": _dt(pr.get("closed_at")),
        "merged_at": merged_at,
        "updated_at": _dt(pr.get("updated_at")),
    }
    if isinstance(pr.get("draft"), bool):
        fields["is_draft"] = pr["draft"]
    base_ref = _obj(pr.get("base")).get("ref")
    if isinstance(base_ref, str):
        fields["base_ref"] = base_ref
    for key in ("additions", "deletions", "comments", "review_comments"):
        if isinstance(pr.get(key), int):
            fields[key] = pr[key]
    fields.update({k: v for k, v in overrides.items() if v is not None})
    return PullRequest(**fields)


def _pull_request_from_issue(issue: Mapping[str, Any]) -> PullRequest:
    """The PR an ``issue_comment`` is about, from its issue view (which carries the comment count)."""
    merged_at = _dt(_obj(issue.get("pull_request")).get("merged_at"))
    fields: dict[str, Any] = {
        "id": str(issue["number"]),
        "number": issue["number"],
        "title": issue.get("title") or "",
        "author": _login(issue.get("user")),
        "state": "merged" if merged_at else str(issue.get("state") or "open"),
        "created_at": _dt(issue.get("created_at")),
        "closed_at": _dt(issue.get("closed_at")),
        "merged_at": merged_at,
        "updated_at": _dt(issue.get("updated_at")),
    }
    if isinstance(issue.get("comments"), int):
        fields["comments"] = issue["comments"]
    if isinstance(issue.get("draft"), bool):
        fields["is_draft"] = issue["draft"]
    return PullRequest(**fields)


def _review_event(event: str, payload: Mapping[str, Any]) -> WebhookResult:
    pr = _obj(payload.get("pull_request"))
    review = _obj(payload.get("review"))
    state = str(review.get("state") or "").upper()
    if state not in REVIEW_STATES:
        return WebhookResult(event=event, ignored=True)
    submitted_at = _dt(review.get("submitted_at"))
    item = PullRequestReview(
        id=str(review.get("node_id") or review.get("id")),
        author=_login(review.get("user")),
        state=cast(ReviewState, state),
        submitted_at=submitted_at,
    )
    record = _pull_request(pr, updated_at=_later(_dt(pr.get("updated_at")), submitted_at), reviews=[item])
    return WebhookResult(event=event, records=[record], needs_refresh=True)


def _issue(issue: Mapping[str, Any]) -> Issue:
    return Issue(
        id=str(issue["number"]),
        number=issue["number"],
        title=issue.get("title") or "",
        author=_login(issue.get("user")),
        state="closed" if issue.get("state") == "closed" else "open",
        created_at=_dt(issue.get("created_at")),
        closed_at=_dt(issue.get("closed_at")),
        updated_at=_dt(issue.get("updated_at")),
    )


def _push_event(event: str, payload: Mapping[str, Any], config: GitHubConfig) -> WebhookResult:
    if payload.get("ref") != f"refs/heads/{config.branch}":
        return WebhookResult(event=event, ignored=True)
    records: list[Record] = []
    for item in payload.get("commits") or []:
        commit = _obj(item)
        sha = commit.get("id")
        committed_at = _dt(commit.get("timestamp"))
        if not isinstance(sha, str) or committed_at is None:
            continue
        author = _obj(commit.get("author"))
        username = author.get("username")
        email = author.get("email")
        who = username if isinstance(username, str) and username else str(email or "").lower() or "unknown"
        message = str(commit.get("message") or "")
        records.append(
            Commit(
                id=sha,
                sha=sha,
                committed_at=committed_at,
                author=who,
                # Unknown from a push: 1 for now (also for "Merge ..." messages, which are not
                # guessed at); refresh reads the real number with the sizes.
                parents=1,
                additions=None,
                deletions=None,
                message=message.split("\n", 1)[0],
                updated_at=committed_at,
            )
        )
    if not records:
        return WebhookResult(event=event, ignored=True)
    return WebhookResult(event=event, records=records, needs_refresh=True)


# ---------------------------------------------------------------- merging
_MERGED_SEPARATELY = frozenset({"reviews", "ready_for_review_at", "updated_at"})


def _merge_reviews(older: list[PullRequestReview], newer: list[PullRequestReview]) -> list[PullRequestReview]:
    by_id = {review.id: review for review in older}
    for review in newer:
        old = by_id.get(review.id)
        if old is not None and "comments" not in review.model_fields_set:
            review = review.model_copy(update={"comments": old.comments})  # noqa: PLW2901
        by_id[review.id] = review
    return sorted(by_id.values(), key=lambda r: (r.submitted_at is None, r.submitted_at or datetime.min, r.id))


def merge_pull_request(stored: PullRequest, incoming: PullRequest) -> PullRequest:
    """The record to store when ``incoming`` (often a partial webhook record) meets ``stored``.

    - reviews: the union by id; for the same id the incoming review wins (its diff-comment count
      only if it carries one), unless the incoming record is older than the stored one (a stale
      redelivery), when the stored review stays;
    - ``ready_for_review_at``: the later of the two (a record without one keeps the other's);
    - every other field from the newer record (by ``updated_at``, incoming on a tie) when that record
      carries it (it is in its ``model_fields_set``), else from the older one; so a webhook record
      without counts or sizes keeps the stored ones, and an old redelivery changes nothing.
    """
    newer, older = (incoming, stored) if incoming.updated_at >= stored.updated_at else (stored, incoming)
    values: dict[str, Any] = {}
    for name in PullRequest.model_fields:
        if name in _MERGED_SEPARATELY:
            continue
        if name in newer.model_fields_set:
            values[name] = getattr(newer, name)
        elif name in older.model_fields_set:
            values[name] = getattr(older, name)
    values["updated_at"] = newer.updated_at
    values["reviews"] = _merge_reviews(older.reviews, newer.reviews)
    ready = _later(stored.ready_for_review_at, incoming.ready_for_review_at)
    if ready is not None:
        values["ready_for_review_at"] = ready
    return PullRequest(**values)


def merge_commit(stored: Commit, incoming: Commit) -> Commit:
    """A push record whose refresh failed (sizes unknown) keeps the stored sizes and parents."""
    if incoming.additions is not None and incoming.deletions is not None:
        return incoming
    if stored.additions is None or stored.deletions is None:
        return incoming
    return incoming.model_copy(
        update={"additions": stored.additions, "deletions": stored.deletions, "parents": stored.parents}
    )


def merge_record(stored: Record, incoming: Record) -> Record:
    """The event processor's merge: pull requests by ``merge_pull_request``, commits by
    ``merge_commit``; anything else is the incoming record (the store keeps the newer one)."""
    if isinstance(stored, PullRequest) and isinstance(incoming, PullRequest):
        return merge_pull_request(stored, incoming)
    if isinstance(stored, Commit) and isinstance(incoming, Commit):
        return merge_commit(stored, incoming)
    return incoming
