"""The product's flows end to end over HTTP against ``python -m devstack`` (issues 2, 3, 4 and 5).

Everything goes through the running stack's HTTP API or its webhook URL with httpx; teams are made with
the ``agiletrack`` command line in a subprocess pointed at the stack's AWS emulator. The stack calls
``FakeGitHub`` (in this process, on 127.0.0.1) over HTTP for validation, the GraphQL sync and the
refresh after webhooks.

The fake repository is small and fixed, placed in a window ``[T0, T0 + 14 days)`` that ends days before
now, so every expected metric below is counted by hand from the data seeded here.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from agiletrack.adapters.providers.github.intake import sign
from devstack.moto_server import free_port
from tests.e2e.conftest import (
    Api,
    LocalStack,
    Team,
    create_team,
    lookup,
    queue_drained,
    run_cli,
    status_of,
    wait_for,
    weeks_of,
)
from tests.fakes.github import FakeCommit, FakeGitHub, FakeIssue, FakePullRequest, FakeReview

pytestmark = pytest.mark.e2e

SYNC_TIMEOUT = 30.0
WEBHOOK_TIMEOUT = 10.0

# The window every metric is read over: two weeks that end six days before now.
T0 = (datetime.now(UTC) - timedelta(days=20)).replace(hour=0, minute=0, second=0, microsecond=0)
SINCE, UNTIL = T0, T0 + timedelta(days=14)
WINDOW = {"since": SINCE.strftime("%Y-%m-%dT%H:%M:%SZ"), "until": UNTIL.strftime("%Y-%m-%dT%H:%M:%SZ")}


def at(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- the fake repository

ORG, REPO = "acme-corp", "widgets"
FULL_NAME = f"{ORG}/{REPO}"


def seeded_github() -> FakeGitHub:
    """Five PRs, five commits (one a merge), four issues; counted by hand in ``EXPECTED``."""
    fake = FakeGitHub(owner=ORG, name=REPO, token="ghp_e2e_" + uuid.uuid4().hex)
    pr = FakePullRequest
    prs = [
        # opened in window, first review (grace) 6 h later, merged after 24 h
        pr(1, "Add", "ada", "MERGED", at(1), at(2), at(2), at(2), additions=10, deletions=5, comments=2),
        # opened in window, reviewed after 2 h, closed without merge
        pr(2, "Try", "linus", "CLOSED", at(3), at(4), closed_at=at(4), comments=1),
        # opened in window, still open, not reviewed yet (a webhook review comes later)
        pr(3, "Polish", "grace", "OPEN", at(5), at(5)),
        # opened before the window, reviewed before it, merged in it
        pr(4, "Old work", "ken", "MERGED", at(-10), at(6), closed_at=at(6), merged_at=at(6)),
        # entirely before the window
        pr(5, "Ancient", "ken", "MERGED", at(-30), at(-25), closed_at=at(-25), merged_at=at(-25)),
    ]
    prs[0].reviews = [FakeReview("PRR_1", "grace", "APPROVED", at(1, 6))]
    prs[1].reviews = [FakeReview("PRR_2", "ada", "COMMENTED", at(3, 2))]
    prs[3].reviews = [FakeReview("PRR_4", "ada", "APPROVED", at(-9))]
    fake.pull_requests = {p.number: p for p in prs}
    commits = [
        FakeCommit("c" * 39 + "1", at(1), at(1), "one", 10, 5, 1, "ada@example.com", "ada"),
        FakeCommit("c" * 39 + "2", at(2), at(2), "two", 20, 0, 1, "grace@example.com", "grace"),
        FakeCommit("c" * 39 + "3", at(2, 1), at(2, 1), "Merge", 30, 30, 2, "ada@example.com", "ada"),
        FakeCommit("c" * 39 + "4", at(8), at(8), "bot", 3, 3, 1, "Bot@Example.COM", None),
        FakeCommit("c" * 39 + "5", at(-5), at(-5), "before", 7, 7, 1, "ada@example.com", "ada"),
    ]
    history = sorted(commits, key=lambda c: c.committed_at, reverse=True)
    fake.branches = {"main": history}
    fake.objects = {c.oid: c for c in commits}
    issues = [
        FakeIssue(10, "Bug A", "ada", "CLOSED", at(1), at(3), closed_at=at(3)),
        FakeIssue(11, "Bug B", "ada", "OPEN", at(2), at(2)),
        FakeIssue(12, "Old bug", "ada", "CLOSED", at(-10), at(4), closed_at=at(4)),
        FakeIssue(13, "Late close", "ada", "CLOSED", at(9), at(16), closed_at=at(16)),
    ]
    fake.issues = {i.number: i for i in issues}
    return fake


def stat(values: list[float]) -> dict[str, Any]:
    """The duration statistic of METRICS.md for two values or one (computed by hand here)."""
    values = sorted(values)
    if len(values) == 1:
        v = values[0]
        return {"count": 1, "median": v, "p75": v, "p90": v, "mean": v}
    low, high = values
    return {
        "count": 2,
        "median": (low + high) / 2,
        "p75": round(low + 0.75 * (high - low), 2),
        "p90": round(low + 0.90 * (high - low), 2),
        "mean": (low + high) / 2,
    }


EXPECTED: dict[str, Any] = {
    "pull_requests.opened": 3,  # PRs 1, 2, 3
    "pull_requests.merged": 2,  # PRs 1, 4
    "pull_requests.closed_unmerged": 1,  # PR 2
    "pull_requests.merge_rate": 0.6667,
    "pull_requests.pickup_time": stat([6, 2]),  # PR 1 (6 h), PR 2 (2 h); PR 4's review is before the window
    "pull_requests.review_time": stat([18, 360]),  # PR 1: 18 h; PR 4: 15 days
    "pull_requests.time_to_merge": stat([24, 384]),  # PR 1: 1 day; PR 4: 16 days
    "pull_requests.comments.total": 3,
    "commits.count": 3,  # the merge commit and the one before the window are left out
    "commits.size": {"count": 3, "median": 15, "p75": 17.5, "p90": 19.0, "mean": 13.67},
    "commits.authors": [
        {"author": "ada", "commits": 1, "share": 0.3333},
        {"author": "bot@example.com", "commits": 1, "share": 0.3333},
        {"author": "grace", "commits": 1, "share": 0.3333},
    ],
    "issues.opened": 3,  # 10, 11, 13
    "issues.closed": 2,  # 10, 12 (13 closes after the window)
    "issues.close_rate": 0.3333,  # of 10, 11, 13 only 10 closed before until
    "issues.time_to_close": stat([48, 336]),
}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    with seeded_github() as fake:
        yield fake


@pytest.fixture(scope="module")
def team(local_stack: LocalStack) -> Team:
    return create_team(local_stack, "acme-delivery")


@pytest.fixture(scope="module")
def other_team(local_stack: LocalStack) -> Team:
    return create_team(local_stack, "globex")


@pytest.fixture(scope="module")
def api(local_stack: LocalStack, team: Team) -> Iterator[Api]:
    client = Api(local_stack, team.token)
    yield client
    client.close()


def github_body(fake: FakeGitHub, **overrides: Any) -> dict[str, Any]:
    config = {"repository": fake.repository, "token": fake.token, "branch": "main", "api_url": fake.api_url}
    config.update(overrides)
    return {"type": "github", "name": "Widgets", "config": config}


@pytest.fixture(scope="module")
def integration(api: Api, github: FakeGitHub, local_stack: LocalStack) -> dict[str, Any]:
    """The GitHub integration of the flows of issues 4 and 5 (created once; its first sync starts by itself)."""
    response = api.post("/integrations", json=github_body(github))
    assert response.status_code == 201, f"{response.text}\n{local_stack.logs()[-4000:]}"
    return dict(response.json())


# ---------------------------------------------------------------- issue 2: teams, tokens, the API document


def test_cli_team_token_is_accepted_and_revocation_refuses_it(local_stack: LocalStack) -> None:
    acme = create_team(local_stack, "acme")
    assert acme.id.startswith("team_") and acme.token

    me = Api(local_stack, acme.token).get("/teams/me")
    assert me.status_code == 200, local_stack.logs()[-4000:]
    assert me.json() == {"id": acme.id, "name": "acme"}
    anonymous = Api(local_stack, None).get("/teams/me")
    assert anonymous.status_code == 401
    listed = run_cli(local_stack, "teams", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {"id": acme.id, "name": "acme", "token": "active"}.items() <= next(
        t for t in json.loads(listed.stdout) if t["id"] == acme.id
    ).items()

    # A second team whose token was never used: nothing is cached for it, so revocation is immediate.
    unused = create_team(local_stack, "acme-unused")
    assert run_cli(local_stack, "teams", "revoke-token", unused.id).returncode == 0
    refused = Api(local_stack, unused.token).get("/teams/me")
    assert refused.status_code == 401
    assert refused.json() == {"message": "Unauthorized"}

    revoked = run_cli(local_stack, "teams", "revoke-token", acme.id)
    assert revoked.returncode == 0, revoked.stderr
    listed = run_cli(local_stack, "teams", "list", "--json")
    assert next(t for t in json.loads(listed.stdout) if t["id"] == acme.id)["token"] == "revoked"
    # The authorizer itself refuses the revoked token: any request whose Authorization header the gateway
    # has not cached yet gets 401 ("bearer" spelled in lower case is the same token, another cache key).
    uncached = httpx.get(local_stack.api_url + "/teams/me", headers={"Authorization": f"bearer {acme.token}"})
    assert uncached.status_code == 401
    assert uncached.json() == {"message": "Unauthorized"}
    # The exact header used above still passes: template.yaml caches authorizer results for 60 s
    # (ReauthorizeEvery: 60), and the local API caches them as API Gateway does. On AWS, too, a revoked
    # token keeps working for up to 60 s for a client that used it just before.
    cached = Api(local_stack, acme.token).get("/teams/me")
    assert cached.status_code == 200
    assert cached.json()["id"] == acme.id


def test_openapi_document_lists_the_routes(local_stack: LocalStack) -> None:
    response = httpx.get(local_stack.api_url + "/openapi.json", timeout=30)
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    expected = {
        "/teams/me": {"get"},
        "/integrations": {"get", "post"},
        "/integrations/{integration_id}": {"get", "patch", "delete"},
        "/integrations/{integration_id}/webhook-secret": {"post"},
        "/integrations/{integration_id}/status": {"get"},
        "/integrations/{integration_id}/sync": {"post"},
        "/integrations/{integration_id}/metrics": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, sorted(paths)
        assert methods <= set(paths[path]), (path, sorted(paths[path]))
    schemas = document["components"]["schemas"]
    assert {"GitHubConfig", "JiraConfig", "TrelloConfig"} <= set(schemas)


# ---------------------------------------------------------------- issue 3: the config API over HTTP


def test_integration_crud_is_scoped_to_the_team(local_stack: LocalStack, github: FakeGitHub, other_team: Team) -> None:
    owner_team = create_team(local_stack, "acme-crud")
    owner = Api(local_stack, owner_team.token)
    assert owner.get("/integrations").json() == {"items": [], "next_token": None}

    created = owner.post("/integrations", json=github_body(github))
    assert created.status_code == 201, created.text
    body = created.json()
    integration_id = body["id"]
    assert body["team_id"] == owner_team.id
    assert body["type"] == "github" and body["name"] == "Widgets" and body["status"] == "pending"
    assert body["config"]["token"] == "********"
    assert body["config"]["repository"] == FULL_NAME and body["config"]["branch"] == "main"
    assert github.token not in created.text
    assert body["webhook"]["url"] == f"{local_stack.api_url}/webhooks/github/{integration_id}"
    assert re.fullmatch(r"[0-9a-f]{64}", body["webhook"]["secret"])
    assert body["created_at"] and body["updated_at"]

    listed = owner.get("/integrations")
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [integration_id]
    assert listed.json()["next_token"] is None

    shown = owner.get(f"/integrations/{integration_id}")
    assert shown.status_code == 200
    assert shown.json()["config"]["token"] == "********"
    assert shown.json()["webhook"] == {"url": body["webhook"]["url"], "secret": None, "registration": None}
    assert github.token not in shown.text

    renamed = owner.patch(f"/integrations/{integration_id}", json={"name": "Widgets (main)"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Widgets (main)"
    assert owner.get(f"/integrations/{integration_id}").json()["name"] == "Widgets (main)"

    # Another team: 404 on every route, exactly like an id that does not exist, and an empty list.
    stranger = Api(local_stack, other_team.token)
    for method, path in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("GET", "/status"),
        ("POST", "/sync"),
        ("GET", "/metrics"),
        ("POST", "/webhook-secret"),
    ]:
        kwargs: dict[str, Any] = {"json": {"name": "mine"}} if method == "PATCH" else {}
        answer = stranger.request(method, f"/integrations/{integration_id}{path}", **kwargs)
        missing = stranger.request(method, f"/integrations/int_0000000000000000{path}", **kwargs)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "not_found"
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert all(item["id"] != integration_id for item in stranger.get("/integrations").json()["items"])
    assert owner.get(f"/integrations/{integration_id}").json()["name"] == "Widgets (main)"

    deleted = owner.delete(f"/integrations/{integration_id}")
    assert deleted.status_code == 204
    assert owner.get(f"/integrations/{integration_id}").status_code == 404
    assert owner.get("/integrations").json()["items"] == []


def test_refused_and_unreachable_providers_store_nothing(local_stack: LocalStack, github: FakeGitHub) -> None:
    newcomer = create_team(local_stack, "acme-refused")
    client = Api(local_stack, newcomer.token)

    bad_token = client.post("/integrations", json=github_body(github, token="ghp_wrong"))
    assert bad_token.status_code == 422, bad_token.text
    assert bad_token.json()["error"]["code"] == "provider_auth_failed"

    no_repo = client.post("/integrations", json=github_body(github, repository=f"{ORG}/nope"))
    assert no_repo.status_code == 422, no_repo.text
    assert no_repo.json()["error"]["code"] == "repository_not_found"

    no_branch = client.post("/integrations", json=github_body(github, branch="does-not-exist"))
    assert no_branch.status_code == 422, no_branch.text
    assert no_branch.json()["error"]["code"] == "branch_not_found"

    unreachable = client.post("/integrations", json=github_body(github, api_url=f"http://127.0.0.1:{free_port()}"))
    assert unreachable.status_code == 502, unreachable.text
    assert unreachable.json()["error"]["code"] == "provider_unavailable"

    schema = client.post("/integrations", json=github_body(github, repository="not a repository"))
    assert schema.status_code == 422, schema.text
    assert schema.json()["error"]["code"] == "validation_failed"
    assert any(d["field"] == "config.repository" for d in schema.json()["error"]["details"])

    invalid_json = client.post(
        "/integrations", content=b'{"type": "github", ', headers={"Content-Type": "application/json"}
    )
    assert invalid_json.status_code == 400, invalid_json.text
    assert invalid_json.json()["error"]["code"] == "invalid_json"

    wrong_method = client.put("/integrations", json=github_body(github))
    assert wrong_method.status_code == 405, wrong_method.text
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert {"GET", "POST"} <= {m.strip() for m in wrong_method.headers["allow"].split(",")}

    assert client.get("/integrations").json() == {"items": [], "next_token": None}


# ---------------------------------------------------------------- issues 4 and 5: sync, status, metrics, webhooks


def metrics_of(api: Api, integration_id: str) -> dict[str, Any]:
    response = api.get(f"/integrations/{integration_id}/metrics", params=WINDOW)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_initial_sync_runs_by_itself_and_metrics_match_the_repository(
    local_stack: LocalStack, api: Api, integration: dict[str, Any]
) -> None:
    integration_id = integration["id"]
    status = wait_for(
        lambda: (s := status_of(api, integration_id))["status"] in {"active", "failed"} and s,
        SYNC_TIMEOUT,
        "the initial sync",
        local_stack.logs,
    )
    assert status["status"] == "active", status
    last = status["last_sync"]
    assert last["outcome"] == "success"
    assert last["records"] >= 5 + 5 + 4  # every PR, commit and issue of the fake
    assert last["api_calls"] > 0 and last["duration_ms"] >= 0
    assert last["started_at"] <= last["finished_at"]
    assert status["last_success_at"] and status["next_sync_at"] and status["last_error"] is None
    assert status["api_quota"]["limit"] == 5000 and 0 < status["api_quota"]["remaining"] < 5000
    assert status["error_rate_24h"] == 0.0

    document = metrics_of(api, integration_id)
    assert document["integration_id"] == integration_id and document["type"] == "github"
    window = {key: datetime.fromisoformat(value.replace("Z", "+00:00")) for key, value in document["window"].items()}
    assert window == {"since": SINCE, "until": UNTIL}
    for key, value in EXPECTED.items():
        assert lookup(document, key) == value, (key, lookup(document, key))
    assert lookup(document, "pull_requests.opened_per_week") == 1.5
    assert sum(week["value"] for week in lookup(document, "commits.weekly")) == 3
    # The series: PRs 1, 2, 3 opened on days 1, 3, 5; PRs 1 and 4 merged on days 2 and 6; commits on days 1, 2
    # and 8 (the merge commit and the one before the window left out); issues 10, 11, 13 opened on days 1, 2, 9;
    # issues 10 and 12 closed on days 3 and 4 (13 closes after the window).
    assert document["series"] == {
        "prs_opened": weeks_of(SINCE, UNTIL, [(at(1), 1), (at(3), 1), (at(5), 1)]),
        "prs_merged": weeks_of(SINCE, UNTIL, [(at(2), 1), (at(6), 1)]),
        "commits": weeks_of(SINCE, UNTIL, [(at(1), 1), (at(2), 1), (at(8), 1)]),
        "issues_opened": weeks_of(SINCE, UNTIL, [(at(1), 1), (at(2), 1), (at(9), 1)]),
        "issues_closed": weeks_of(SINCE, UNTIL, [(at(3), 1), (at(4), 1)]),
    }
    assert document["series"]["commits"] == lookup(document, "commits.weekly")


def deliver(
    local_stack: LocalStack, url: str, secret: str, event: str, payload: dict[str, Any], delivery: str | None = None
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/e2e",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
    }
    return httpx.post(url, content=body, headers=headers, timeout=30)


def repository_payload() -> dict[str, Any]:
    return {"id": 1, "name": REPO, "full_name": FULL_NAME, "private": False, "owner": {"login": ORG}}


def pr_payload(number: int, author: str, created: datetime, updated: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "number": number,
        "node_id": f"PR_{number}",
        "title": f"PR {number}",
        "state": "open",
        "draft": False,
        "user": {"login": author},
        "created_at": iso(created),
        "updated_at": iso(updated),
        "closed_at": None,
        "merged_at": None,
        "merged": False,
        "base": {"ref": "main"},
        **extra,
    }


def test_signed_webhooks_change_the_metrics_within_seconds(
    local_stack: LocalStack, api: Api, github: FakeGitHub, integration: dict[str, Any]
) -> None:
    integration_id = integration["id"]
    url, secret = integration["webhook"]["url"], integration["webhook"]["secret"]
    wait_for(lambda: status_of(api, integration_id)["status"] == "active", SYNC_TIMEOUT, "the sync", local_stack.logs)
    before = metrics_of(api, integration_id)
    received_before = status_of(api, integration_id)["webhooks"]["received_24h"]

    # ping: accepted, and the status says the webhook is connected
    ping = {"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {"type": "Repository"}}
    answer = deliver(local_stack, url, secret, "ping", {**ping, "repository": repository_payload()})
    assert answer.status_code == 202, answer.text
    wait_for(
        lambda: status_of(api, integration_id)["webhooks"]["connected"],
        WEBHOOK_TIMEOUT,
        "connected after the ping",
        local_stack.logs,
    )

    # GitHub has what the deliveries announce (the processor re-reads reviews and commit sizes from it).
    with github._lock:
        github.pull_requests[20] = FakePullRequest(20, "PR 20", "margaret", "OPEN", at(10), at(10), comments=0)
        github.pull_requests[3].reviews.append(FakeReview("PRR_hook_3", "linus", "APPROVED", at(10, 3)))
        github.pull_requests[3].updated_at = at(10, 3)
        github.issues[21] = FakeIssue(21, "Bug C", "grace", "OPEN", at(10), at(10))
        pushed = [
            FakeCommit("d" * 39 + "1", at(11), at(11), "pushed one", 4, 0, 1, "ada@example.com", "ada"),
            FakeCommit("d" * 39 + "2", at(11, 1), at(11, 1), "pushed two", 1, 1, 1, "ken@example.com", "ken"),
        ]
        github.branches["main"][:0] = list(reversed(pushed))
        github.objects.update({c.oid: c for c in pushed})

    opened = {"action": "opened", "number": 20, "pull_request": pr_payload(20, "margaret", at(10), at(10))}
    review = {
        "action": "submitted",
        "review": {
            "id": 903,
            "node_id": "PRR_hook_3",
            "user": {"login": "linus"},
            "state": "approved",
            "submitted_at": iso(at(10, 3)),
        },
        "pull_request": pr_payload(3, "grace", at(5), at(10, 3)),
    }
    issue = {
        "action": "opened",
        "issue": {
            "number": 21,
            "title": "Bug C",
            "state": "open",
            "user": {"login": "grace"},
            "created_at": iso(at(10)),
            "updated_at": iso(at(10)),
            "closed_at": None,
        },
    }
    push = {
        "ref": "refs/heads/main",
        "before": "c" * 39 + "4",
        "after": pushed[-1].oid,
        "commits": [
            {
                "id": c.oid,
                "message": c.headline,
                "timestamp": iso(c.committed_at),
                "author": {"name": c.login, "email": c.email, "username": c.login},
            }
            for c in pushed
        ],
    }
    issue_delivery = str(uuid.uuid4())
    deliveries = [
        ("pull_request", opened, None),
        ("pull_request_review", review, None),
        ("issues", issue, issue_delivery),
        ("push", push, None),
    ]
    for event, payload, delivery in deliveries:
        started = time.monotonic()
        answer = deliver(local_stack, url, secret, event, {**payload, "repository": repository_payload()}, delivery)
        assert answer.status_code == 202, (event, answer.text)
        assert answer.json()["accepted"] is True
        assert time.monotonic() - started < 5

    expected = {
        "pull_requests.opened": lookup(before, "pull_requests.opened") + 1,
        "pull_requests.pickup_time.count": lookup(before, "pull_requests.pickup_time.count") + 1,
        "issues.opened": lookup(before, "issues.opened") + 1,
        "commits.count": lookup(before, "commits.count") + 2,
    }

    def reflected() -> dict[str, Any] | None:
        document = metrics_of(api, integration_id)
        return document if all(lookup(document, k) == v for k, v in expected.items()) else None

    document = wait_for(reflected, WEBHOOK_TIMEOUT, "the webhooks in the metrics", local_stack.logs)
    # PR 3 (created at day 5) had its first review at day 10 + 3 h: a pickup of 123 h beside 2 h and 6 h.
    assert lookup(document, "pull_requests.pickup_time.median") == 6
    assert lookup(document, "issues.close_rate") == 0.25  # 1 of the 4 issues created in the window
    authors = {a["author"]: a["commits"] for a in lookup(document, "commits.authors")}
    assert authors == {"ada": 2, "grace": 1, "bot@example.com": 1, "ken": 1}
    assert lookup(document, "commits.size.count") == 5  # sizes of pushed commits read back from GitHub

    # The processor records each delivery just after its records: wait for the last one.
    status = wait_for(
        lambda: (s := status_of(api, integration_id))["webhooks"]["received_24h"] == received_before + 5 and s,
        WEBHOOK_TIMEOUT,
        "five deliveries counted",
        local_stack.logs,
    )
    assert status["webhooks"]["connected"] is True
    assert status["webhooks"]["last_received_at"]
    assert status["webhooks"]["rejected_24h"] == 0

    # A wrong signature: 401, counted as rejected, nothing changes.
    forged = json.dumps({**issue, "issue": {**issue["issue"], "number": 22}, "repository": repository_payload()})
    refused = httpx.post(
        url,
        content=forged.encode(),
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign("not-the-secret", forged.encode()),
        },
        timeout=30,
    )
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] == "unauthorized"
    unsigned = httpx.post(url, content=forged.encode(), headers={"X-GitHub-Event": "issues"}, timeout=30)
    assert unsigned.status_code == 401

    # A redelivery (same X-GitHub-Delivery) is processed once: the same body, and even another body.
    again = deliver(local_stack, url, secret, "issues", {**issue, "repository": repository_payload()}, issue_delivery)
    assert again.status_code == 202
    other = {**issue, "issue": {**issue["issue"], "number": 23, "title": "Never stored"}}
    again = deliver(local_stack, url, secret, "issues", {**other, "repository": repository_payload()}, issue_delivery)
    assert again.status_code == 202
    wait_for(queue_drained(local_stack, "WebhookQueue"), WEBHOOK_TIMEOUT, "the redeliveries", local_stack.logs)
    after = metrics_of(api, integration_id)
    assert lookup(after, "issues.opened") == expected["issues.opened"]
    status = status_of(api, integration_id)
    assert status["webhooks"]["rejected_24h"] == 2
    # Received counts the two refused deliveries too. The two redeliveries are not counted today (the
    # processor records a delivery inside the de-duplicated step); docs/api.md does not settle it.
    assert status["webhooks"]["received_24h"] in {received_before + 5 + 2, received_before + 5 + 2 + 2}


# ---------------------------------------------------------------- manual sync


def syncs_run(github: FakeGitHub) -> int:
    """Each sync starts with the first page of the ``PullRequests`` query."""
    return sum(1 for variables in github.calls.graphql_pages("PullRequests") if not variables.get("after"))


def test_manual_sync_is_queued_and_a_second_trigger_coalesced(
    local_stack: LocalStack, api: Api, github: FakeGitHub, integration: dict[str, Any]
) -> None:
    integration_id = integration["id"]
    wait_for(lambda: status_of(api, integration_id)["status"] == "active", SYNC_TIMEOUT, "the sync", local_stack.logs)
    finished_before = status_of(api, integration_id)["last_sync"]["finished_at"]
    syncs_before = syncs_run(github)
    first = api.post(f"/integrations/{integration_id}/sync")
    second = api.post(f"/integrations/{integration_id}/sync")
    assert first.status_code == 202, first.text
    assert first.json() == {"queued": True, "coalesced": False}
    assert second.status_code == 202, second.text
    assert second.json() == {"queued": True, "coalesced": True}
    status = wait_for(
        lambda: (
            (s := status_of(api, integration_id))["last_sync"]["finished_at"] != finished_before
            and s["status"] == "active"
            and s
        ),
        SYNC_TIMEOUT,
        "the manual sync",
        local_stack.logs,
    )
    assert status["last_sync"]["outcome"] == "success"
    wait_for(queue_drained(local_stack, "SyncQueue"), SYNC_TIMEOUT, "the sync queue drained", local_stack.logs)
    assert syncs_run(github) == syncs_before + 1  # the coalesced trigger did not run a second sync
    # The provider token never reached a response or a log line of the stack.
    assert github.token not in local_stack.logs()
