"""GitHub webhook deliveries: signature, parsing of each event and action, and merging partial PR records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from agiletrack.adapters.providers.base import WebhookDelivery, WebhookSecrets
from agiletrack.adapters.providers.github.adapter import GitHubAdapter
from agiletrack.adapters.providers.github.config import GitHubConfig
from agiletrack.adapters.providers.github.intake import sign
from agiletrack.adapters.providers.github.records import Commit, Issue, PullRequest, PullRequestReview
from agiletrack.adapters.providers.github.webhooks import merge_pull_request, merge_record
from agiletrack.errors import ValidationFailed

ADAPTER = GitHubAdapter()
CONFIG = GitHubConfig(repository="octo-org/octo-repo", token="ghp_x", branch="main")
RECEIVED = datetime(2024, 3, 9, 12, 0, tzinfo=UTC)
REPOSITORY = {"id": 1, "full_name": "octo-org/octo-repo", "name": "octo-repo", "private": False}


def t(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC)


def z(day: int, hour: int = 0) -> str:
    return t(day, hour).strftime("%Y-%m-%dT%H:%M:%SZ")


def delivery(
    event: str | None,
    payload: dict[str, Any] | None = None,
    *,
    body: bytes | None = None,
    content_type: str = "application/json",
    extra: dict[str, str] | None = None,
) -> WebhookDelivery:
    headers = {"content-type": content_type, "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
    if event is not None:
        headers["x-github-event"] = event
    headers.update(extra or {})
    raw = body if body is not None else json.dumps(payload).encode()
    return WebhookDelivery(
        integration_id="int_1",
        provider="github",
        headers=headers,
        body=raw,
        received_at=RECEIVED,
        callback_url="https://example.test/webhooks/int_1",
    )


def full_pr(**overrides: Any) -> dict[str, Any]:
    """A ``pull_request`` object as in ``pull_request`` events (counts and sizes included)."""
    pr: dict[str, Any] = {
        "id": 1001,
        "node_id": "PR_kwDO1",
        "number": 7,
        "title": "Add the thing",
        "state": "open",
        "draft": False,
        "user": {"login": "ada"},
        "created_at": z(4),
        "updated_at": z(5),
        "closed_at": None,
        "merged_at": None,
        "merged": False,
        "base": {"ref": "main"},
        "head": {"ref": "feature"},
        "additions": 120,
        "deletions": 30,
        "comments": 2,
        "review_comments": 5,
        "commits": 3,
    }
    pr.update(overrides)
    return pr


def simple_pr(**overrides: Any) -> dict[str, Any]:
    """The ``pull_request`` object of review and review-comment events: no counts, sizes or ``merged``."""
    pr = full_pr(**overrides)
    for key in ("additions", "deletions", "comments", "review_comments", "commits", "merged"):
        pr.pop(key, None)
    return pr


def parse(event: str, payload: dict[str, Any], **kwargs: Any) -> Any:
    return ADAPTER.parse_webhook(delivery(event, {**payload, "repository": REPOSITORY}, **kwargs), CONFIG)


# ---------------------------------------------------------------- signature
def test_signature_matches_githubs_documented_test_vector() -> None:
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign("It's a Secret to Everybody", b"Hello, World!") == expected

    signed = delivery("ping", body=b"Hello, World!", extra={"x-hub-signature-256": expected})
    assert ADAPTER.verify_webhook(signed, WebhookSecrets("It's a Secret to Everybody", {})) is True


@pytest.mark.parametrize(
    ("headers", "secret", "body"),
    [
        ({}, "It's a Secret to Everybody", b"Hello, World!"),  # no signature header
        ({"x-hub-signature-256": "sha256=" + "0" * 64}, "It's a Secret to Everybody", b"Hello, World!"),
        ({"x-hub-signature-256": sign("It's a Secret to Everybody", b"Hello")}, "It's a Secret to Everybody", b"Hi"),
        (
            {"x-hub-signature-256": sign("another secret", b"Hello, World!")},
            "It's a Secret to Everybody",
            b"Hello, World!",
        ),
        ({"x-hub-signature-256": sign("s", b"Hello, World!")}, None, b"Hello, World!"),  # no secret stored
        ({"x-hub-signature-256": "sha256=ñ"}, "s", b"Hello, World!"),  # not even ASCII
    ],
)
def test_signature_refused(headers: dict[str, str], secret: str | None, body: bytes) -> None:
    assert ADAPTER.verify_webhook(delivery("ping", body=body, extra=headers), WebhookSecrets(secret, {})) is False


def test_delivery_id_is_the_github_delivery_header() -> None:
    assert ADAPTER.delivery_id(delivery("ping", {})) == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    no_id = delivery("ping", {})
    no_id.headers.pop("x-github-delivery")
    assert ADAPTER.delivery_id(no_id) is None


# ---------------------------------------------------------------- events
def test_ping_connects() -> None:
    result = parse("ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    assert result.connected is True
    assert result.records == []
    assert result.ignored is False


def test_form_encoded_payload_is_read_from_its_payload_field() -> None:
    payload = json.dumps({"action": "opened", "pull_request": full_pr(), "repository": REPOSITORY})
    body = urlencode({"payload": payload}).encode()

    result = ADAPTER.parse_webhook(
        delivery("pull_request", body=body, content_type="application/x-www-form-urlencoded"), CONFIG
    )

    assert [r.id for r in result.records] == ["7"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b"\xff\xfe",
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-beyond-the-parser"),  # found by the fuzz test
    ],
)
def test_a_body_that_is_not_a_payload_is_refused(body: bytes) -> None:
    with pytest.raises(ValidationFailed):
        ADAPTER.parse_webhook(delivery("pull_request", body=body), CONFIG)


def test_form_encoded_without_payload_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        ADAPTER.parse_webhook(
            delivery("ping", body=b"other=1", content_type="application/x-www-form-urlencoded"), CONFIG
        )


def test_pull_request_opened_gives_the_whole_pull_request() -> None:
    result = parse("pull_request", {"action": "opened", "pull_request": full_pr()})

    assert result.ignored is False
    assert result.needs_refresh is False
    [pr] = result.records
    assert isinstance(pr, PullRequest)
    assert (pr.id, pr.number, pr.title, pr.author, pr.state, pr.is_draft) == (
        "7",
        7,
        "Add the thing",
        "ada",
        "open",
        False,
    )
    assert (pr.created_at, pr.updated_at, pr.base_ref) == (t(4), t(5), "main")
    assert (pr.additions, pr.deletions, pr.comments, pr.review_comments) == (120, 30, 2, 5)
    assert pr.reviews == []
    assert pr.ready_for_review_at is None


def test_pull_request_closed_merged_and_unmerged() -> None:
    merged = parse(
        "pull_request",
        {"action": "closed", "pull_request": full_pr(state="closed", merged=True, closed_at=z(6), merged_at=z(6))},
    ).records[0]
    closed = parse(
        "pull_request", {"action": "closed", "pull_request": full_pr(state="closed", closed_at=z(6))}
    ).records[0]

    assert (merged.state, merged.merged_at, merged.closed_at) == ("merged", t(6), t(6))
    assert (closed.state, closed.merged_at, closed.closed_at) == ("closed", None, t(6))


@pytest.mark.parametrize(
    ("action", "overrides", "expected"),
    [
        ("reopened", {"state": "open"}, {"state": "open"}),
        ("converted_to_draft", {"draft": True}, {"is_draft": True}),
        ("edited", {"title": "Better title"}, {"title": "Better title"}),
        ("synchronize", {"additions": 150}, {"additions": 150}),
    ],
)
def test_pull_request_actions(action: str, overrides: dict[str, Any], expected: dict[str, Any]) -> None:
    [pr] = parse("pull_request", {"action": action, "pull_request": full_pr(**overrides)}).records
    for name, value in expected.items():
        assert getattr(pr, name) == value


def test_ready_for_review_sets_the_moment_from_updated_at() -> None:
    [pr] = parse("pull_request", {"action": "ready_for_review", "pull_request": full_pr(updated_at=z(6, 9))}).records

    assert pr.ready_for_review_at == t(6, 9)
    assert pr.is_draft is False


@pytest.mark.parametrize("action", ["labeled", "assigned", "review_requested", "locked"])
def test_other_pull_request_actions_are_ignored(action: str) -> None:
    result = parse("pull_request", {"action": action, "pull_request": full_pr()})
    assert result.ignored is True
    assert result.records == []


def test_review_submitted_carries_that_review_upper_cased() -> None:
    review = {"id": 80, "node_id": "PRR_kwDO80", "user": {"login": "grace"}, "state": "approved", "submitted_at": z(7)}

    result = parse("pull_request_review", {"action": "submitted", "review": review, "pull_request": simple_pr()})

    assert result.needs_refresh is True  # the review's diff comments and the PR's counts are not in the payload
    [pr] = result.records
    assert pr.updated_at == t(7)  # later than the PR's updated_at (day 5)
    assert pr.reviews == [PullRequestReview(id="PRR_kwDO80", author="grace", state="APPROVED", submitted_at=t(7))]
    assert {"additions", "deletions", "comments", "review_comments"}.isdisjoint(pr.model_fields_set)


def test_review_dismissed() -> None:
    review = {"id": 80, "node_id": "PRR_kwDO80", "user": {"login": "grace"}, "state": "dismissed", "submitted_at": z(7)}
    pr_object = simple_pr(updated_at=z(8))

    [pr] = parse("pull_request_review", {"action": "dismissed", "review": review, "pull_request": pr_object}).records

    assert pr.updated_at == t(8)
    assert [(r.id, r.state) for r in pr.reviews] == [("PRR_kwDO80", "DISMISSED")]


def test_review_edited_is_ignored() -> None:
    review = {"id": 80, "node_id": "PRR_kwDO80", "user": {"login": "grace"}, "state": "approved", "submitted_at": z(7)}
    assert parse("pull_request_review", {"action": "edited", "review": review, "pull_request": simple_pr()}).ignored


@pytest.mark.parametrize("action", ["created", "deleted"])
def test_review_comment_asks_for_a_refresh_of_the_counts(action: str) -> None:
    comment = {"id": 5, "user": {"login": "grace"}, "created_at": z(7), "updated_at": z(7)}

    result = parse("pull_request_review_comment", {"action": action, "comment": comment, "pull_request": simple_pr()})

    assert result.needs_refresh is True
    [pr] = result.records
    assert (pr.number, pr.updated_at) == (7, t(7))
    assert "review_comments" not in pr.model_fields_set


@pytest.mark.parametrize("action", ["created", "deleted"])
def test_issue_comment_on_a_pull_request_gives_its_comment_count(action: str) -> None:
    issue = {
        "number": 7,
        "title": "Add the thing",
        "state": "closed",
        "user": {"login": "ada"},
        "created_at": z(4),
        "updated_at": z(8),
        "closed_at": z(6),
        "comments": 4,
        "pull_request": {"url": "https://api.github.com/repos/octo-org/octo-repo/pulls/7", "merged_at": z(6)},
    }

    result = parse("issue_comment", {"action": action, "issue": issue, "comment": {"id": 9}})

    assert result.needs_refresh is False
    [pr] = result.records
    assert isinstance(pr, PullRequest)
    assert (pr.number, pr.state, pr.merged_at, pr.comments, pr.updated_at) == (7, "merged", t(6), 4, t(8))
    assert "review_comments" not in pr.model_fields_set


def test_issue_comment_on_an_issue_is_ignored() -> None:
    issue = {"number": 3, "title": "Bug", "state": "open", "created_at": z(4), "updated_at": z(8), "comments": 1}
    result = parse("issue_comment", {"action": "created", "issue": issue, "comment": {"id": 9}})
    assert result.ignored is True
    assert result.records == []


def issue_object(**overrides: Any) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "number": 3,
        "title": "Bug",
        "state": "open",
        "user": {"login": "linus"},
        "created_at": z(4),
        "updated_at": z(5),
        "closed_at": None,
    }
    issue.update(overrides)
    return issue


@pytest.mark.parametrize(
    ("action", "overrides", "state", "closed_at"),
    [
        ("opened", {}, "open", None),
        ("closed", {"state": "closed", "closed_at": z(6), "updated_at": z(6)}, "closed", t(6)),
        ("reopened", {"updated_at": z(7)}, "open", None),
    ],
)
def test_issue_events(action: str, overrides: dict[str, Any], state: str, closed_at: datetime | None) -> None:
    [issue] = parse("issues", {"action": action, "issue": issue_object(**overrides)}).records

    assert isinstance(issue, Issue)
    assert (issue.id, issue.number, issue.author, issue.state, issue.closed_at) == ("3", 3, "linus", state, closed_at)
    assert issue.deleted is False


@pytest.mark.parametrize("action", ["deleted", "transferred"])
def test_issue_deleted_or_transferred_is_a_tombstone_at_the_event_time(action: str) -> None:
    [issue] = parse("issues", {"action": action, "issue": issue_object()}).records

    assert issue.deleted is True
    assert issue.updated_at == RECEIVED


def push_payload(ref: str = "refs/heads/main", commits: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    default = [
        {
            "id": "a" * 40,
            "message": "Fix the parser\n\nLonger explanation",
            "timestamp": "2024-03-08T10:00:00+01:00",
            "author": {"name": "Ada", "email": "ada@example.com", "username": "ada"},
            "distinct": True,
        },
        {
            "id": "b" * 40,
            "message": "Merge branch 'feature' into main",
            "timestamp": "2024-03-08T11:00:00Z",
            "author": {"name": "Someone", "email": "Some.One@Example.COM"},
            "distinct": True,
        },
    ]
    return {"ref": ref, "before": "0" * 40, "after": "b" * 40, "commits": default if commits is None else commits}


def test_push_to_the_branch_gives_commits_to_refresh() -> None:
    result = parse("push", push_payload())

    assert result.needs_refresh is True
    first, merge = result.records
    assert isinstance(first, Commit)
    assert isinstance(merge, Commit)
    assert (first.id, first.sha, first.author, first.message) == ("a" * 40, "a" * 40, "ada", "Fix the parser")
    assert first.committed_at == datetime(2024, 3, 8, 9, 0, tzinfo=UTC)
    assert first.updated_at == first.committed_at
    assert (first.additions, first.deletions, first.parents) == (None, None, 1)
    # No GitHub user: the email, lower-cased. A "Merge" message is not taken as proof of two parents.
    assert (merge.author, merge.parents, merge.additions) == ("some.one@example.com", 1, None)


@pytest.mark.parametrize("ref", ["refs/heads/feature", "refs/tags/v1.0", "refs/heads/main-old"])
def test_push_elsewhere_is_ignored(ref: str) -> None:
    result = parse("push", push_payload(ref=ref))
    assert result.ignored is True
    assert result.records == []


def test_push_deleting_the_branch_is_ignored() -> None:
    assert parse("push", push_payload(commits=[])).ignored is True


def test_delivery_about_another_repository_is_ignored() -> None:
    other = {**REPOSITORY, "full_name": "octo-org/other-repo"}
    payload = {"action": "opened", "pull_request": full_pr(), "repository": other}

    result = ADAPTER.parse_webhook(delivery("pull_request", payload), CONFIG)

    assert result.ignored is True
    assert result.records == []


def test_repository_names_compare_case_insensitively() -> None:
    same = {**REPOSITORY, "full_name": "Octo-Org/Octo-Repo"}
    payload = {"action": "opened", "pull_request": full_pr(), "repository": same}
    assert ADAPTER.parse_webhook(delivery("pull_request", payload), CONFIG).ignored is False


@pytest.mark.parametrize("event", ["star", "watch", "deployment", None])
def test_unknown_events_are_accepted_and_ignored(event: str | None) -> None:
    result = ADAPTER.parse_webhook(delivery(event, {"action": "created", "repository": REPOSITORY}), CONFIG)
    assert result.ignored is True
    assert result.event == (event or "unknown")


def test_parsing_works_on_a_config_built_like_the_event_processor_builds_it() -> None:
    public: dict[str, Any] = {"repository": "octo-org/octo-repo", "branch": "main", "include_private": False}
    config = GitHubConfig.model_construct(**public)

    result = ADAPTER.parse_webhook(delivery("push", {**push_payload(), "repository": REPOSITORY}), config)

    assert len(result.records) == 2


# ---------------------------------------------------------------- merging
def stored_pr() -> PullRequest:
    return PullRequest(
        id="7",
        number=7,
        title="Add the thing",
        author="ada",
        state="open",
        created_at=t(4),
        updated_at=t(6),
        ready_for_review_at=t(4, 6),
        base_ref="main",
        additions=120,
        deletions=30,
        comments=2,
        review_comments=5,
        reviews=[
            PullRequestReview(id="R1", author="grace", state="COMMENTED", submitted_at=t(5), comments=3),
            PullRequestReview(id="R2", author="linus", state="CHANGES_REQUESTED", submitted_at=t(5, 6), comments=2),
        ],
    )


def test_merge_keeps_stored_reviews_and_counts_a_review_event_does_not_carry() -> None:
    review = {"id": 3, "node_id": "R3", "user": {"login": "ken"}, "state": "approved", "submitted_at": z(7)}
    [incoming] = parse(
        "pull_request_review", {"action": "submitted", "review": review, "pull_request": simple_pr(updated_at=z(7))}
    ).records
    assert isinstance(incoming, PullRequest)

    merged = merge_pull_request(stored_pr(), incoming)

    assert [r.id for r in merged.reviews] == ["R1", "R2", "R3"]
    assert (merged.additions, merged.deletions, merged.comments, merged.review_comments) == (120, 30, 2, 5)
    assert merged.ready_for_review_at == t(4, 6)
    assert merged.base_ref == "main"
    assert merged.updated_at == t(7)


def test_merge_same_review_id_incoming_wins_but_keeps_a_comment_count_it_lacks() -> None:
    incoming = PullRequest(
        id="7",
        number=7,
        state="open",
        created_at=t(4),
        updated_at=t(8),
        reviews=[PullRequestReview(id="R2", author="linus", state="DISMISSED", submitted_at=t(5, 6))],
    )

    merged = merge_pull_request(stored_pr(), incoming)

    r2 = next(r for r in merged.reviews if r.id == "R2")
    assert (r2.state, r2.comments) == ("DISMISSED", 2)
    assert len(merged.reviews) == 2


def test_merge_takes_counts_from_the_newer_record_that_carries_them() -> None:
    [incoming] = parse(
        "pull_request",
        {"action": "synchronize", "pull_request": full_pr(updated_at=z(8), additions=200, review_comments=6)},
    ).records
    assert isinstance(incoming, PullRequest)

    merged = merge_pull_request(stored_pr(), incoming)

    assert (merged.additions, merged.review_comments) == (200, 6)
    assert [r.id for r in merged.reviews] == ["R1", "R2"]  # a pull_request event carries no reviews
    assert merged.ready_for_review_at == t(4, 6)


def test_merge_of_a_stale_redelivery_changes_nothing_but_adds_unknown_reviews() -> None:
    stale = PullRequest(
        id="7",
        number=7,
        title="Old title",
        state="open",
        created_at=t(4),
        updated_at=t(5),
        additions=1,
        reviews=[
            PullRequestReview(id="R1", author="grace", state="PENDING", submitted_at=None),
            PullRequestReview(id="R0", author="ken", state="COMMENTED", submitted_at=t(4, 12)),
        ],
    )

    merged = merge_pull_request(stored_pr(), stale)

    assert (merged.title, merged.additions, merged.updated_at) == ("Add the thing", 120, t(6))
    assert {r.id: r.state for r in merged.reviews} == {"R0": "COMMENTED", "R1": "COMMENTED", "R2": "CHANGES_REQUESTED"}


def test_merge_keeps_the_later_ready_for_review() -> None:
    [incoming] = parse("pull_request", {"action": "ready_for_review", "pull_request": full_pr(updated_at=z(9))}).records
    assert isinstance(incoming, PullRequest)
    assert merge_pull_request(stored_pr(), incoming).ready_for_review_at == t(9)


def test_merge_record_keeps_stored_commit_sizes_when_the_refresh_did_not_happen() -> None:
    stored = Commit(
        id="a", sha="a", committed_at=t(8), author="ada", parents=2, additions=5, deletions=1, updated_at=t(8)
    )
    incoming = Commit(id="a", sha="a", committed_at=t(8), author="ada", updated_at=t(8))

    merged = merge_record(stored, incoming)

    assert isinstance(merged, Commit)
    assert (merged.additions, merged.deletions, merged.parents) == (5, 1, 2)
    refreshed = incoming.model_copy(update={"additions": 9, "deletions": 0, "parents": 1})
    assert merge_record(stored, refreshed) == refreshed
    assert ADAPTER.merge_record(stored, incoming) == merged


@pytest.mark.parametrize(
    "payload",
    [
        {"action": "opened", "pull_request": "not an object", "repository": {"full_name": "octo-org/octo-repo"}},
        {"action": "opened", "pull_request": {"number": "seven"}, "repository": {"full_name": "octo-org/octo-repo"}},
        {"action": "closed", "issue": {"number": 1, "created_at": "yesterday"}, "repository": {}},
    ],
)
def test_a_signed_payload_of_another_shape_is_ignored_as_malformed_not_retried(payload: dict[str, object]) -> None:
    event = "issues" if "issue" in payload else "pull_request"
    result = ADAPTER.parse_webhook(delivery(event, body=json.dumps(payload).encode()), CONFIG)
    assert result.ignored and result.event == "malformed" and result.records == []
