"""The webhook pipeline, handler by handler: ``functions/webhooks`` takes a GitHub delivery and queues it,
``functions/event_processor`` consumes the queued message, against moto and a fake GitHub over HTTP.

The integration is created through the API function, so the webhook secret is the real one. SQS is
driven as Lambda's event source mapping drives it: the messages are received from the (moto) queue, put
in a Lambda SQS event, and the ones the handler does not report as failed are deleted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.providers.github.records import Commit, PullRequest
from agiletrack.models.common import new_id
from devstack.api_gateway import Request, build_event, lambda_response
from devstack.lambda_runtime import load_handler
from devstack.sqs_poller import failed_message_ids, sqs_record
from devstack.template import Resources
from tests.fakes.github import FakeGitHub
from tests.integration.conftest import API_DOMAIN, ApiCaller
from tests.integration.lambdas import context_of, spec_of

ROOT = Path(__file__).resolve().parents[2]
WARM_HANDLER_BUDGET_S = 0.3
"""The issue's target for the webhooks function, warm. Generous for the handler alone on moto."""
SQS_MAX_RECEIVES = 4
"""The webhook queue's ``maxReceiveCount``: tried once, retried three times, then dead-lettered."""


# ---------------------------------------------------------------- functions, as template.yaml declares them
@dataclass
class Answer:
    status: int
    content_type: str
    body: Any
    seconds: float


def call_webhooks(event: dict[str, Any]) -> Answer:
    spec = spec_of("WebhooksFunction")
    handler = load_handler(spec)
    started = time.perf_counter()
    result = handler(event, context_of(spec))
    elapsed = time.perf_counter() - started
    response = lambda_response(result)
    headers = {k.lower(): v for k, v in response.headers}
    body = json.loads(response.body) if response.body else None
    return Answer(response.status, headers.get("content-type", ""), body, elapsed)


def run_event_processor(
    aws: Resources, messages: list[dict[str, Any]], queue: str = "WebhookQueue", *, may_fail: bool = False
) -> set[str]:
    """One invocation on a batch, as the event source mapping makes it; deletes what succeeded and
    returns the ids of the messages that failed (left on the queue)."""
    spec = spec_of("EventProcessorFunction")
    event = {"Records": [sqs_record(m, aws.queue_arns[queue], aws.region) for m in messages]}
    ids = [m["MessageId"] for m in messages]
    try:
        result = load_handler(spec)(json.loads(json.dumps(event)), context_of(spec))
    except BatchProcessingError:
        # Powertools raises when every record of a batch failed; Lambda then leaves the whole batch.
        if not may_fail:
            raise
        return set(ids)
    failed = failed_message_ids(result, ids)
    url = aws.queue_urls[queue]
    for message in messages:
        if message["MessageId"] not in failed:
            boto3.client("sqs").delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return failed


def receive(aws: Resources, queue: str = "WebhookQueue") -> list[dict[str, Any]]:
    answer = boto3.client("sqs").receive_message(
        QueueUrl=aws.queue_urls[queue], MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
    )
    return [dict(m) for m in answer.get("Messages", [])]


def process_queue(aws: Resources) -> None:
    """Everything on the webhook queue, one message per invocation, each one expected to succeed."""
    while messages := receive(aws):
        for message in messages:
            assert run_event_processor(aws, [message]) == set()


# ---------------------------------------------------------------- GitHub deliveries
def signature(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` computed here, independently of the code under test."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_event(
    integration_id: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    provider: str = "github",
    method: str = "POST",
) -> dict[str, Any]:
    pairs = [("host", API_DOMAIN), ("user-agent", "GitHub-Hookshot/7c4e2a1"), *(headers or {}).items()]
    request = Request(method=method, raw_path=f"/webhooks/{provider}/{integration_id}", headers=pairs, body=body)
    event = build_event(
        request, f"{method} /webhooks/{{type}}/{{integration_id}}", {"type": provider, "integration_id": integration_id}
    )
    event["headers"]["x-forwarded-proto"] = "https"
    return event


def github_delivery(
    integration_id: str,
    secret: str,
    event_name: str,
    payload: dict[str, Any],
    *,
    delivery_id: str | None = None,
    form: bool = False,
) -> dict[str, Any]:
    """The API Gateway event of a delivery GitHub signs with ``secret``."""
    text = json.dumps(payload, separators=(",", ":"))
    body = urlencode({"payload": text}).encode() if form else text.encode()
    headers = {
        "content-type": "application/x-www-form-urlencoded" if form else "application/json",
        "x-github-event": event_name,
        "x-github-delivery": delivery_id or str(uuid.uuid4()),
        "x-github-hook-id": "498765432",
        "x-hub-signature-256": signature(secret, body),
    }
    return webhook_event(integration_id, body, headers)


REPOSITORY = {"id": 812345678, "name": "octo-repo", "full_name": "octo-org/octo-repo", "private": False}


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pull_request_payload(
    number: int,
    title: str,
    updated: datetime,
    *,
    action: str = "opened",
    created: datetime | None = None,
    text: str = "",
) -> dict[str, Any]:
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "title": title,
            "body": text,
            "user": {"login": "ada"},
            "state": "open",
            "draft": False,
            "merged": False,
            "created_at": stamp(created or updated),
            "updated_at": stamp(updated),
            "closed_at": None,
            "merged_at": None,
            "base": {"ref": "main"},
            "head": {"ref": f"feature-{number}"},
            "comments": 0,
            "review_comments": 0,
            "additions": 12,
            "deletions": 3,
        },
        "repository": REPOSITORY,
        "sender": {"login": "ada"},
    }


def push_payload(github: FakeGitHub, oids: list[str], *, branch: str = "main") -> dict[str, Any]:
    commits = [github.objects[oid] for oid in oids]
    return {
        "ref": f"refs/heads/{branch}",
        "before": "0" * 40,
        "after": oids[-1],
        "commits": [
            {
                "id": c.oid,
                "message": c.headline,
                "timestamp": stamp(c.committed_at),
                "author": {"name": c.login, "email": c.email, "username": c.login},
            }
            for c in commits
        ],
        "repository": REPOSITORY,
        "sender": {"login": "ada"},
    }


def ping_payload() -> dict[str, Any]:
    return {
        "zen": "Keep it logically awesome.",
        "hook_id": 498765432,
        "hook": {"type": "Repository", "id": 498765432, "events": ["push", "pull_request"], "active": True},
        "repository": REPOSITORY,
        "sender": {"login": "ada"},
    }


# ---------------------------------------------------------------- fixtures
@dataclass
class Hooked:
    """An integration created through the API, with the webhook secret it answered once."""

    id: str
    secret: str


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def integration(call_api: ApiCaller, github: FakeGitHub) -> Hooked:
    reply = call_api(
        "POST", "/integrations", "team_a", {"type": "github", "config": github.config().model_dump(mode="json")}
    )
    assert reply.status == 201, reply.text
    created = reply.json()
    return Hooked(created["id"], created["webhook"]["secret"])


def status_of(call_api: ApiCaller, integration: Hooked) -> dict[str, Any]:
    reply = call_api("GET", f"/integrations/{integration.id}/status")
    assert reply.status == 200, reply.text
    return dict(reply.json())


def stored_pull_request(integration: Hooked, number: int) -> PullRequest:
    record = record_store().get(integration.id, "pull_request", str(number))
    assert isinstance(record, PullRequest), f"pull request {number} is not stored"
    return record


# ---------------------------------------------------------------- (a) intake
def test_signed_delivery_is_queued_and_answered_202_fast(aws: Resources, integration: Hooked) -> None:
    # Given a warm function (the first delivery pays the cold start)
    first = call_webhooks(github_delivery(integration.id, integration.secret, "ping", ping_payload()))
    assert first.status == 202
    now = datetime.now(UTC)
    payload = pull_request_payload(101, "Retry after the reset", now)
    event = github_delivery(integration.id, integration.secret, "pull_request", payload, delivery_id="d-101")

    # When GitHub delivers
    answer = call_webhooks(event)

    # Then it is accepted well inside GitHub's 10 s, under the 300 ms target
    assert answer.status == 202
    assert answer.content_type.startswith("application/json")
    assert answer.body == {"accepted": True, "delivery_id": "d-101"}
    assert answer.seconds < WARM_HANDLER_BUDGET_S, f"warm handler took {answer.seconds * 1000:.0f} ms"
    # and the raw delivery with its headers is on the webhook queue, unparsed
    queued = {json.loads(m["Body"])["delivery_id"]: json.loads(m["Body"]) for m in receive(aws)}
    message = queued["d-101"]
    assert message["integration_id"] == integration.id
    assert message["provider"] == "github"
    assert base64.b64decode(message["body_b64"]) == event["body"].encode()
    assert message["headers"]["x-github-event"] == "pull_request"
    assert message["headers"]["x-hub-signature-256"] == event["headers"]["x-hub-signature-256"]
    assert message["callback_url"] == f"https://{API_DOMAIN}/webhooks/github/{integration.id}"
    # and events/sqs_webhook_delivery.json has the shape of what the intake really queues
    sample = json.loads(json.loads((ROOT / "events" / "sqs_webhook_delivery.json").read_text())["Records"][0]["body"])
    assert set(sample) == set(message)
    assert set(sample["headers"]) <= set(message["headers"]) | {"x-github-hook-id"}
    # and nothing was parsed or stored yet
    assert record_store().get(integration.id, "pull_request", "101") is None


@pytest.mark.parametrize(
    "sign",
    [
        pytest.param(lambda secret, body: signature("not-" + secret, body), id="another-secret"),
        pytest.param(lambda secret, body: "sha256=" + "0" * 64, id="wrong"),
        pytest.param(lambda secret, body: None, id="missing"),
        pytest.param(lambda secret, body: "sha1=" + hmac.new(secret.encode(), body, "sha1").hexdigest(), id="sha1"),
    ],
)
def test_a_bad_signature_is_refused_with_401_nothing_queued_and_counted(
    aws: Resources, call_api: ApiCaller, integration: Hooked, sign: Callable[[str, bytes], str | None]
) -> None:
    # Given a delivery that is not signed with the integration's secret
    body = json.dumps(ping_payload()).encode()
    headers = {"content-type": "application/json", "x-github-event": "ping", "x-github-delivery": "d-bad"}
    value = sign(integration.secret, body)
    if value is not None:
        headers["x-hub-signature-256"] = value

    # When it is delivered
    answer = call_webhooks(webhook_event(integration.id, body, headers))

    # Then it is refused, nothing is queued, and the refusal shows in the status
    assert answer.status == 401
    assert answer.body["error"]["code"] == "unauthorized"
    assert receive(aws) == []
    webhooks = status_of(call_api, integration)["webhooks"]
    assert webhooks["rejected_24h"] == 1
    assert webhooks["received_24h"] == 1


def test_unknown_integration_or_wrong_type_answers_404(aws: Resources, integration: Hooked) -> None:
    body = json.dumps(ping_payload()).encode()
    signed = {"content-type": "application/json", "x-github-event": "ping", "x-hub-signature-256": ""}
    signed["x-hub-signature-256"] = signature(integration.secret, body)

    unknown = call_webhooks(webhook_event(new_id("int"), body, signed))
    wrong_type = call_webhooks(webhook_event(integration.id, body, signed, provider="jira"))
    no_such_provider = call_webhooks(webhook_event(integration.id, body, signed, provider="gitlab"))

    for answer in (unknown, wrong_type, no_such_provider):
        assert answer.status == 404
        assert answer.body["error"]["code"] == "not_found"
    assert receive(aws) == []


def test_head_on_the_webhook_url_answers_200(aws: Resources, integration: Hooked) -> None:
    assert call_webhooks(webhook_event(integration.id, method="HEAD")).status == 200
    assert call_webhooks(webhook_event(new_id("int"), method="HEAD")).status == 404
    assert receive(aws) == []


def test_a_body_too_big_for_sqs_goes_through_s3_and_is_processed_intact(aws: Resources, integration: Hooked) -> None:
    # Given a delivery larger than an SQS message can carry (a long PR description)
    updated = datetime.now(UTC) - timedelta(minutes=5)
    payload = pull_request_payload(102, "Big description", updated, text="lorem ipsum " * 30_000)
    event = github_delivery(integration.id, integration.secret, "pull_request", payload)
    assert len(event["body"]) > 256 * 1024

    # When it is delivered
    answer = call_webhooks(event)

    # Then it is accepted and the message carries an S3 key instead of the body (a claim check)
    assert answer.status == 202
    (queued,) = receive(aws)
    message = json.loads(queued["Body"])
    assert "body_b64" not in message
    blob = boto3.client("s3").get_object(Bucket=aws.buckets["BlobBucket"], Key=message["blob_key"])["Body"].read()
    assert blob == event["body"].encode()
    assert len(queued["Body"]) < 4096

    # and processing reads the body back from S3
    assert run_event_processor(aws, [queued]) == set()
    stored = stored_pull_request(integration, 102)
    assert stored.title == "Big description"
    assert stored.updated_at == updated.replace(microsecond=0)


def test_a_body_over_6_mb_answers_413_json(aws: Resources, integration: Hooked) -> None:
    body = b"{" + b" " * (6 * 1024 * 1024) + b"}"
    headers = {"content-type": "application/json", "x-github-event": "push", "x-github-delivery": "d-huge"}
    headers["x-hub-signature-256"] = signature(integration.secret, body)

    answer = call_webhooks(webhook_event(integration.id, body, headers))

    assert answer.status == 413
    assert answer.content_type.startswith("application/json")
    assert answer.body["error"]["code"] == "payload_too_large"
    assert receive(aws) == []
    assert boto3.client("s3").list_objects_v2(Bucket=aws.buckets["BlobBucket"]).get("KeyCount") == 0


def test_a_form_encoded_delivery_is_accepted_and_processed(aws: Resources, integration: Hooked) -> None:
    updated = datetime.now(UTC) - timedelta(minutes=3)
    event = github_delivery(
        integration.id,
        integration.secret,
        "pull_request",
        pull_request_payload(103, "Sent as a form", updated),
        form=True,
    )
    assert event["headers"]["content-type"] == "application/x-www-form-urlencoded"

    assert call_webhooks(event).status == 202
    process_queue(aws)

    assert stored_pull_request(integration, 103).title == "Sent as a form"


# ---------------------------------------------------------------- (b) processing
def test_a_redelivered_delivery_is_processed_once(aws: Resources, github: FakeGitHub, integration: Hooked) -> None:
    # Given a push whose processing asks GitHub for the commits' sizes, delivered, then redelivered
    # (GitHub's "Redeliver" sends the same body with the same X-GitHub-Delivery)
    oids = github.add_commits(2)
    payload = push_payload(github, oids)
    for _ in range(2):
        event = github_delivery(integration.id, integration.secret, "push", payload, delivery_id="d-push-1")
        assert call_webhooks(event).status == 202
    first, again = receive(aws)
    assert json.loads(first["Body"])["received_at"] != json.loads(again["Body"])["received_at"]

    # When both are processed, hours apart as far as the queue knows
    github.reset_calls()
    assert run_event_processor(aws, [first]) == set()
    after_first = integration_store().get(integration.id)
    calls_after_first = github.calls.graphql
    assert run_event_processor(aws, [again]) == set()

    # Then the second is recognised and not processed: no call to GitHub, no change to the integration
    assert calls_after_first == 1
    assert github.calls.graphql == 1
    after_again = integration_store().get(integration.id)
    assert after_first is not None and after_again is not None
    assert after_again.last_webhook_at == after_first.last_webhook_at
    assert record_store().count(integration.id, "commit") == 2
    assert receive(aws) == []


def test_an_older_delivery_does_not_overwrite_newer_data(aws: Resources, integration: Hooked) -> None:
    t1 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    t2 = t1 + timedelta(minutes=5)
    created = t1 - timedelta(hours=1)
    older = pull_request_payload(104, "Old title", t1, action="edited", created=created)
    newer = pull_request_payload(104, "New title", t2, action="edited", created=created)
    # Given both deliveries were accepted, the older one first
    for payload, delivery in ((older, "d-t1"), (newer, "d-t2")):
        event = github_delivery(integration.id, integration.secret, "pull_request", payload, delivery_id=delivery)
        assert call_webhooks(event).status == 202
    by_delivery = {json.loads(m["Body"])["delivery_id"]: m for m in receive(aws)}

    # When the newer is processed before the older (SQS does not keep order)
    assert run_event_processor(aws, [by_delivery["d-t2"]]) == set()
    assert run_event_processor(aws, [by_delivery["d-t1"]]) == set()

    # Then the newer data stays
    stored = stored_pull_request(integration, 104)
    assert (stored.title, stored.updated_at) == ("New title", t2)


def test_a_push_to_the_branch_stores_its_commits_with_sizes_from_github(
    aws: Resources, github: FakeGitHub, integration: Hooked
) -> None:
    # Given commits pushed to the configured branch and to another one
    oids = github.add_commits(3, author="grace")
    elsewhere = github.add_commits(1, branch="experiment")
    for payload in (push_payload(github, oids), push_payload(github, elsewhere, branch="experiment")):
        assert call_webhooks(github_delivery(integration.id, integration.secret, "push", payload)).status == 202

    # When the deliveries are processed
    process_queue(aws)

    # Then the branch's commits are stored, with the sizes the push payload lacks read from GitHub
    for oid in oids:
        commit = record_store().get(integration.id, "commit", oid)
        assert isinstance(commit, Commit)
        fake = github.objects[oid]
        assert (commit.additions, commit.deletions, commit.parents) == (fake.additions, fake.deletions, fake.parents)
        assert commit.author == "grace"
        assert commit.committed_at == fake.committed_at
    # and the other branch's are not
    assert record_store().count(integration.id, "commit") == 3


def test_ping_marks_the_webhook_connected(aws: Resources, call_api: ApiCaller, integration: Hooked) -> None:
    assert status_of(call_api, integration)["webhooks"]["connected"] is False

    assert call_webhooks(github_delivery(integration.id, integration.secret, "ping", ping_payload())).status == 202
    process_queue(aws)

    webhooks = status_of(call_api, integration)["webhooks"]
    assert webhooks["connected"] is True
    assert webhooks["last_received_at"] is not None
    assert webhooks["received_24h"] == 1
    assert webhooks["rejected_24h"] == 0


def test_metrics_reflect_a_webhook_at_once(aws: Resources, call_api: ApiCaller, integration: Hooked) -> None:
    # Given metrics already computed (and cached) before the delivery
    path = f"/integrations/{integration.id}/metrics"
    before = call_api("GET", path)
    assert before.status == 200, before.text
    assert before.json()["metrics"]["pull_requests"]["opened"] == 0

    # When a pull request is opened and its delivery processed
    opened = datetime.now(UTC) - timedelta(minutes=1)
    payload = pull_request_payload(105, "New feature", opened)
    assert call_webhooks(github_delivery(integration.id, integration.secret, "pull_request", payload)).status == 202
    process_queue(aws)

    # Then the next read counts it, without waiting for a sync
    after = call_api("GET", path)
    assert after.status == 200, after.text
    assert after.json()["metrics"]["pull_requests"]["opened"] == 1


# ---------------------------------------------------------------- (c) dead-lettering
def test_a_delivery_that_keeps_failing_ends_in_the_dlq_intact(aws: Resources, integration: Hooked) -> None:
    # Given an accepted delivery whose body (a claim check in S3) has gone missing
    payload = pull_request_payload(106, "Lost and found", datetime.now(UTC), text="x" * 300_000)
    event = github_delivery(integration.id, integration.secret, "pull_request", payload)
    assert call_webhooks(event).status == 202
    (queued,) = receive(aws)
    original_body = queued["Body"]
    key = json.loads(original_body)["blob_key"]
    s3 = boto3.client("s3")
    bucket = aws.buckets["BlobBucket"]
    s3.delete_object(Bucket=bucket, Key=key)
    sqs = boto3.client("sqs")
    url = aws.queue_urls["WebhookQueue"]

    # When every receive fails; the visibility timeout (360 s) is cut to 0 to retry at once
    receives = 0
    messages = [queued]
    while messages:
        receives += 1
        (message,) = messages
        assert int(message["Attributes"]["ApproximateReceiveCount"]) == receives
        assert run_event_processor(aws, [message], may_fail=True) == {message["MessageId"]}
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        messages = receive(aws)  # moto, like SQS, moves a message received maxReceiveCount times to the DLQ

    # Then it was tried once and retried three times, and is in the DLQ exactly as it was queued
    assert receives == SQS_MAX_RECEIVES
    (dead,) = receive(aws, "WebhookDeadLetterQueue")
    assert dead["Body"] == original_body
    assert record_store().get(integration.id, "pull_request", "106") is None

    # and once the cause is fixed, the dead-lettered message processes as it is: nothing was lost
    s3.put_object(Bucket=bucket, Key=key, Body=event["body"].encode())
    assert run_event_processor(aws, [dead], "WebhookDeadLetterQueue") == set()
    assert stored_pull_request(integration, 106).title == "Lost and found"
