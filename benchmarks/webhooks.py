"""Benchmark 2: the ``webhooks`` handler, warm, on the local stack, over 1,000 signed ``pull_request`` deliveries.

The local stack (``devstack.start_stack``: moto's server, the HTTP API, the SQS pollers; no schedules)
runs in this process on free ports, with a small ``FakeGitHub`` on 127.0.0.1. A team is created in the
emulator (as ``agiletrack teams create`` does); its GitHub integration is created over HTTP
(``POST /integrations``) and its first sync is left to finish. Then deliveries shaped like GitHub's
``pull_request`` events (opened, edited, synchronize, ready_for_review, closed with and without merge,
reopened) are sent one at a time to the webhook URL the create answer gave, each signed with
``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the webhook secret from that answer).

Handler time is what devstack's ``LambdaRuntime.invoke`` reports for each ``WebhooksFunction`` invocation
(``InvokeResult.duration_ms``: the handler call and the JSON round trip of its answer, as Lambda bills
it). Within it, the ``SendMessage`` to the emulator (``Queues.send_webhook``) is timed too. End-to-end
time is what the HTTP client saw (the local API Gateway, the invocation, the answer). The event
processor's poller runs meanwhile, as on the stack, and takes the deliveries off the queue.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.common import LOG_DIR, progress, quantile
from devstack.moto_server import free_port

DELIVERIES = 1_000
WARMUP = 20
TARGET_MEDIAN_MS = 20.0
ACTIONS = ("opened", "edited", "synchronize", "ready_for_review", "closed", "reopened", "converted_to_draft")


# ---------------------------------------------------------------- payloads shaped like GitHub's
def _user(login: str, uid: int) -> dict[str, Any]:
    api = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": uid,
        "node_id": f"MDQ6VXNlcj{uid}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "User",
        "user_view_type": "public",
        "site_admin": False,
    }


def _repository(full_name: str) -> dict[str, Any]:
    owner, name = full_name.split("/")
    api = f"https://api.github.com/repos/{full_name}"
    repo: dict[str, Any] = {
        "id": 123456789,
        "node_id": "R_kgDOHbench",
        "name": name,
        "full_name": full_name,
        "private": False,
        "owner": _user(owner, 9001),
        "html_url": f"https://github.com/{full_name}",
        "description": "A repository the benchmark pretends GitHub holds",
        "fork": False,
        "url": api,
    }
    for key in (
        "forks",
        "keys",
        "collaborators",
        "teams",
        "hooks",
        "issue_events",
        "events",
        "assignees",
        "branches",
        "tags",
        "blobs",
        "git_tags",
        "git_refs",
        "trees",
        "statuses",
        "languages",
        "stargazers",
        "contributors",
        "subscribers",
        "subscription",
        "commits",
        "git_commits",
        "comments",
        "issue_comment",
        "contents",
        "compare",
        "merges",
        "archive",
        "downloads",
        "issues",
        "pulls",
        "milestones",
        "notifications",
        "labels",
        "releases",
        "deployments",
    ):
        repo[f"{key}_url"] = f"{api}/{key}"
    repo.update(
        {
            "created_at": "2021-03-01T10:00:00Z",
            "updated_at": "2024-06-01T10:00:00Z",
            "pushed_at": "2024-06-01T10:00:00Z",
            "git_url": f"git://github.com/{full_name}.git",
            "ssh_url": f"git@github.com:{full_name}.git",
            "clone_url": f"https://github.com/{full_name}.git",
            "svn_url": f"https://github.com/{full_name}",
            "homepage": None,
            "size": 48213,
            "stargazers_count": 312,
            "watchers_count": 312,
            "language": "Python",
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": False,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 27,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": 41,
            "license": {
                "key": "mit",
                "name": "MIT License",
                "spdx_id": "MIT",
                "url": None,
                "node_id": "MDc6TGljZW5zZTEz",
            },
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": ["delivery", "metrics"],
            "visibility": "public",
            "forks": 27,
            "open_issues": 41,
            "watchers": 312,
            "default_branch": "main",
        }
    )
    return repo


def pull_request_payload(full_name: str, number: int, action: str, at: datetime, rng: random.Random) -> dict[str, Any]:
    api = f"https://api.github.com/repos/{full_name}"
    html = f"https://github.com/{full_name}/pull/{number}"
    author = _user(rng.choice(("ada", "grace", "linus", "margaret", "ken")), 1000 + number % 50)
    created = at - timedelta(days=rng.randrange(1, 20), minutes=rng.randrange(600))
    merged = action == "closed" and rng.random() < 0.8
    closed = action == "closed"
    draft = action == "converted_to_draft"
    repo = _repository(full_name)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    sha = hashlib.sha1(f"{number}-{stamp}".encode()).hexdigest()
    pull_request = {
        "url": f"{api}/pulls/{number}",
        "id": 1_700_000_000 + number,
        "node_id": f"PR_kwDOHbench{number}",
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": f"{api}/issues/{number}",
        "number": number,
        "state": "closed" if closed else "open",
        "locked": False,
        "title": f"Change {number}: tidy the delivery pipeline",
        "user": author,
        "body": "This change tidies the pipeline.\n\n" + "Details of what changed and why. " * 12,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": stamp,
        "closed_at": stamp if closed else None,
        "merged_at": stamp if merged else None,
        "merge_commit_sha": sha if merged else None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [_user("grace", 1002)],
        "requested_teams": [],
        "labels": [
            {
                "id": 1,
                "node_id": "LA_1",
                "url": f"{api}/labels/enhancement",
                "name": "enhancement",
                "color": "a2eeef",
                "default": True,
                "description": "New feature or request",
            }
        ],
        "milestone": None,
        "draft": draft,
        "commits_url": f"{api}/pulls/{number}/commits",
        "review_comments_url": f"{api}/pulls/{number}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{number}/comments",
        "statuses_url": f"{api}/statuses/{sha}",
        "head": {
            "label": f"{author['login']}:change-{number}",
            "ref": f"change-{number}",
            "sha": sha,
            "user": author,
            "repo": repo,
        },
        "base": {
            "label": f"{full_name.split('/', maxsplit=1)[0]}:main",
            "ref": "main",
            "sha": sha[::-1],
            "user": repo["owner"],
            "repo": repo,
        },
        "_links": {
            name: {"href": f"{api}/pulls/{number}/{name}"}
            for name in (
                "self",
                "html",
                "issue",
                "comments",
                "review_comments",
                "review_comment",
                "commits",
                "statuses",
            )
        },
        "author_association": "MEMBER",
        "auto_merge": None,
        "active_lock_reason": None,
        "merged": merged,
        "mergeable": None if closed else True,
        "rebaseable": None if closed else True,
        "mergeable_state": "unknown" if closed else "clean",
        "merged_by": _user("linus", 1003) if merged else None,
        "comments": rng.randrange(0, 8),
        "review_comments": rng.randrange(0, 12),
        "maintainer_can_modify": False,
        "commits": rng.randrange(1, 9),
        "additions": rng.randrange(1, 800),
        "deletions": rng.randrange(0, 300),
        "changed_files": rng.randrange(1, 30),
    }
    return {
        "action": action,
        "number": number,
        "pull_request": pull_request,
        "repository": repo,
        "sender": author,
    }


def signed_headers(secret: str, body: bytes) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/bench",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "123456",
        "X-Hub-Signature-256": f"sha256={signature}",
    }


# ---------------------------------------------------------------- the run
class InvokeTimes:
    """Wraps ``LambdaRuntime.invoke`` (on the instance) to keep each invocation's ``duration_ms``."""

    def __init__(self, runtime: Any, function: str) -> None:
        self.function = function
        self.durations: list[float] = []
        self.errors = 0
        self.other: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        invoke = runtime.invoke

        def timed(logical_id: str, event: Any) -> Any:
            result = invoke(logical_id, event)
            with self._lock:
                if logical_id == self.function:
                    self.durations.append(result.duration_ms)
                    self.errors += 0 if result.ok else 1
                else:
                    self.other.setdefault(logical_id, []).append(result.duration_ms)
            return result

        runtime.invoke = timed


class SendTimes:
    """Wraps ``Queues.send_webhook`` (the handler's ``SendMessage`` to the emulator) to time each call."""

    def __init__(self) -> None:
        from agiletrack.adapters.aws.queues import Queues

        self.durations: list[float] = []
        send = Queues.send_webhook

        def timed(queues: Any, message: dict[str, Any]) -> None:
            began = time.perf_counter()
            try:
                send(queues, message)
            finally:
                self.durations.append((time.perf_counter() - began) * 1000)

        Queues.send_webhook = timed  # type: ignore[method-assign,assignment]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "median_ms": round(quantile(values, 0.5), 2),
        "p90_ms": round(quantile(values, 0.9), 2),
        "p99_ms": round(quantile(values, 0.99), 2),
        "min_ms": round(min(values), 2) if values else float("nan"),
        "max_ms": round(max(values), 2) if values else float("nan"),
        "mean_ms": round(sum(values) / len(values), 2) if values else float("nan"),
    }


def _wait_for(predicate: Any, timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def run() -> dict[str, Any]:
    import httpx

    from devstack.__main__ import start_stack
    from tests.fakes.github import FakeGitHub

    started = time.perf_counter()
    progress("webhooks: starting the local stack and a fake GitHub")
    with FakeGitHub.synthetic(prs=60, commits=200, issues=30, seed=11) as github:
        stack = start_stack(free_port(), free_port(), state_dir=LOG_DIR / "webhooks-state", run_schedules=False)
        try:
            return _run(stack, github, httpx, started)
        finally:
            stack.stop()


def _run(stack: Any, github: Any, httpx: Any, started: float) -> dict[str, Any]:
    import boto3

    from agiletrack.adapters.aws.teams import team_store
    from agiletrack.domain import teams

    times = InvokeTimes(stack.runtime, "WebhooksFunction")
    sends = SendTimes()
    team = teams.create_team(team_store(), f"bench-webhooks-{uuid.uuid4().hex[:6]}")
    auth = {"Authorization": f"Bearer {team.token}"}
    with httpx.Client(base_url=stack.api_url, timeout=30.0) as client:
        config = {"repository": github.repository, "token": github.token, "branch": "main", "api_url": github.api_url}
        created = client.post("/integrations", json={"type": "github", "config": config}, headers=auth)
        if created.status_code != 201:
            raise RuntimeError(f"creating the integration answered {created.status_code}: {created.text}")
        integration = created.json()
        integration_id, secret, url = integration["id"], integration["webhook"]["secret"], integration["webhook"]["url"]
        path = "/" + url.split("://", 1)[1].split("/", 1)[1]

        def synced() -> bool:
            status = client.get(f"/integrations/{integration_id}/status", headers=auth).json()
            return (status.get("last_sync") or {}).get("outcome") == "success"

        progress("webhooks: waiting for the first sync")
        first_sync = _wait_for(synced, 120)

        rng = random.Random(5)
        now = datetime.now(UTC).replace(microsecond=0)
        numbers = sorted(github.pull_requests)

        def send(i: int) -> tuple[int, float]:
            payload = pull_request_payload(
                github.repository, rng.choice(numbers), ACTIONS[i % len(ACTIONS)], now + timedelta(seconds=i), rng
            )
            body = json.dumps(payload).encode()
            headers = signed_headers(secret, body)
            began = time.perf_counter()
            response = client.post(path, content=body, headers=headers)
            return response.status_code, (time.perf_counter() - began) * 1000

        sizes = [len(json.dumps(pull_request_payload(github.repository, 1, a, now, rng)).encode()) for a in ACTIONS]
        progress(f"webhooks: {WARMUP} warm-up deliveries, then {DELIVERIES} measured")
        for i in range(WARMUP):
            send(i)
        times.durations.clear()
        sends.durations.clear()
        end_to_end: list[float] = []
        statuses: dict[int, int] = {}
        for i in range(WARMUP, WARMUP + DELIVERIES):
            code, elapsed = send(i)
            statuses[code] = statuses.get(code, 0) + 1
            end_to_end.append(elapsed)
        handler = list(times.durations)
        send_message = list(sends.durations)

        bad_body = json.dumps(pull_request_payload(github.repository, 1, "edited", now, rng)).encode()
        bad_headers = signed_headers("not-the-secret", bad_body)
        wrong_signature = client.post(path, content=bad_body, headers=bad_headers).status_code

        sqs = boto3.client("sqs")
        queue_url = stack.resources.queue_urls["WebhookQueue"]

        def drained() -> bool:
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            return sum(int(v) for v in attributes.values()) == 0

        progress("webhooks: waiting for the event processor to take every delivery")
        waited = time.perf_counter()
        processed = _wait_for(drained, 300, interval=0.5)
        drain_s = time.perf_counter() - waited
        status = client.get(f"/integrations/{integration_id}/status", headers=auth).json()
        processed = processed and int(status["webhooks"]["received_24h"]) >= WARMUP + DELIVERIES + 1

    handler_summary = _summary(handler)
    return {
        "deliveries": DELIVERIES,
        "warmup": WARMUP,
        "payload_bytes": [min(sizes), max(sizes)],
        "first_sync_done": first_sync,
        "statuses": {str(k): v for k, v in statuses.items()},
        "handler_errors": times.errors,
        "handler": handler_summary,
        "end_to_end": _summary(end_to_end),
        "send_message": _summary(send_message),
        "handler_without_send": _summary([h - m for h, m in zip(handler, send_message, strict=False)])
        if len(send_message) == len(handler)
        else None,
        "event_processor_invocations": len(times.other.get("EventProcessorFunction", [])),
        "wrong_signature_status": wrong_signature,
        "processed_all": processed,
        "drain_s": round(drain_s, 1),
        "webhook_status": status.get("webhooks"),
        "target_median_ms": TARGET_MEDIAN_MS,
        "passed": handler_summary["median_ms"] < TARGET_MEDIAN_MS
        and statuses.get(202, 0) == DELIVERIES
        and len(handler) == DELIVERIES,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
