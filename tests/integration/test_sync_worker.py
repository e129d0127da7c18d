"""The sync worker, handler-level: a sync job on the (moto) sync queue, received and handed to
``functions/sync_worker/app.py`` in a Lambda SQS event, against a fake GitHub over HTTP.

The integration is created through the API function, which queues its first sync job ("created"): that
real message is the one the tests receive. The event source mapping is played by the tests: what the
handler does not report as failed is deleted, as Lambda does. The retry policy itself is covered at
engine level in ``test_sync_engine.py``; here it is the handler applying it to the queue message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.domain.scheduling import schedule_all
from agiletrack.models.common import parse_iso
from devstack.lambda_runtime import load_handler
from devstack.sqs_poller import failed_message_ids, sqs_record
from devstack.template import Resources
from tests.fakes.github import FakeGitHub
from tests.integration.conftest import ApiCaller
from tests.integration.lambdas import context_of, spec_of

OTHER_FAILURE_WAIT_S = 300
SQS_MAX_RECEIVES = 4
"""The sync queue's ``maxReceiveCount``: tried once, retried three times, then dead-lettered."""
STATUS_FIELDS = {
    "id",
    "status",
    "last_sync",
    "last_success_at",
    "last_error",
    "next_sync_at",
    "data_freshness_seconds",
    "error_rate_24h",
    "api_quota",
    "api_response_ms",
    "webhooks",
    "webhook",
    "progress",
    "credentials_set_at",
    "credentials_age_days",
    "rotation_due",
}


# ---------------------------------------------------------------- the functions and the queue
def receive_job(aws: Resources) -> dict[str, Any] | None:
    answer = boto3.client("sqs").receive_message(
        QueueUrl=aws.queue_urls["SyncQueue"], MaxNumberOfMessages=1, WaitTimeSeconds=0, AttributeNames=["All"]
    )
    messages = [dict(m) for m in answer.get("Messages", [])]
    return messages[0] if messages else None


def run_sync_worker(aws: Resources, message: dict[str, Any]) -> dict[str, Any]:
    """One invocation with a batch of the one message (BatchSize 1), deleting it unless reported failed."""
    spec = spec_of("SyncWorkerFunction")
    event = {"Records": [sqs_record(message, aws.queue_arns["SyncQueue"], aws.region)]}
    result: dict[str, Any] = load_handler(spec)(json.loads(json.dumps(event)), context_of(spec))
    if not failed_message_ids(result, [message["MessageId"]]):
        boto3.client("sqs").delete_message(QueueUrl=aws.queue_urls["SyncQueue"], ReceiptHandle=message["ReceiptHandle"])
    return result


def failure_of(message: dict[str, Any]) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}


def hidden_until(aws: Resources, message_id: str) -> float:
    """When the message becomes receivable again (epoch seconds).

    SQS has no API that reads a message's visibility timeout back: ``ReceiveMessage`` answering nothing
    and ``ApproximateNumberOfMessagesNotVisible`` only say it is hidden, which the queue's own 1800 s
    visibility timeout would do too. So this reads moto's record of the message (``visible_at``, in ms),
    the one place that tells how long the handler's ``ChangeMessageVisibility`` hid it for.
    """
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[aws.account_id][aws.region].queues[aws.queues["SyncQueue"]]
    (message,) = [m for m in queue._messages if m.id == message_id]
    return float(message.visible_at) / 1000


def queue_counts(aws: Resources, queue: str = "SyncQueue") -> tuple[int, int]:
    """(visible, in flight) messages."""
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=aws.queue_urls[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


# ---------------------------------------------------------------- fixtures
@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub.synthetic(prs=30, commits=60, issues=15, seed=7) as fake:
        yield fake


@pytest.fixture
def integration_id(call_api: ApiCaller, github: FakeGitHub) -> str:
    """A GitHub integration created through the API; its first sync job is on the sync queue."""
    reply = call_api(
        "POST", "/integrations", "team_a", {"type": "github", "config": github.config().model_dump(mode="json")}
    )
    assert reply.status == 201, reply.text
    github.reset_calls()
    return str(reply.json()["id"])


def status_of(call_api: ApiCaller, integration_id: str) -> dict[str, Any]:
    reply = call_api("GET", f"/integrations/{integration_id}/status")
    assert reply.status == 200, reply.text
    return dict(reply.json())


# ---------------------------------------------------------------- (a) success
def test_a_sync_job_pulls_everything_and_the_status_shows_every_field(
    aws: Resources, call_api: ApiCaller, github: FakeGitHub, integration_id: str
) -> None:
    # Given the job the API queued when the integration was created
    message = receive_job(aws)
    assert message is not None
    assert json.loads(message["Body"])["reason"] == "created"

    # When the worker runs it
    before = datetime.now(UTC)
    bytes_before = github.body_bytes_sent  # the validation's answers, at creation
    assert run_sync_worker(aws, message) == {"batchItemFailures": []}
    after = datetime.now(UTC)

    # Then every record is stored and the job is gone (no retry, no continuation)
    assert record_store().count(integration_id, "pull_request") == 30
    assert record_store().count(integration_id, "commit") == 60
    assert record_store().count(integration_id, "issue") == 15
    assert queue_counts(aws) == (0, 0)
    # and the status shows every field of the issue's list
    status = status_of(call_api, integration_id)
    assert set(status) == STATUS_FIELDS
    assert status["status"] == "active"
    last = status["last_sync"]
    assert set(last) == {
        "started_at",
        "finished_at",
        "outcome",
        "records",
        "api_calls",
        "duration_ms",
        "bytes_received",
        "peak_memory_mb",
    }
    assert last["outcome"] == "success"
    assert last["bytes_received"] == github.body_bytes_sent - bytes_before > 0
    assert last["peak_memory_mb"] > 10  # this process's resident set: tens of MiB at least
    assert last["records"] == 30 + 60 + 15
    assert last["api_calls"] == github.calls.graphql + github.calls.rest > 0
    started, finished = parse_iso(last["started_at"]), parse_iso(last["finished_at"])
    assert before - timedelta(seconds=1) <= started <= finished <= after
    assert 0 <= last["duration_ms"] <= (after - before).total_seconds() * 1000
    assert status["last_success_at"] == last["finished_at"]
    assert status["last_error"] is None
    assert parse_iso(status["next_sync_at"]) - finished == timedelta(hours=1)
    newest = max(
        [p.updated_at for p in github.pull_requests.values()]
        + [c.committed_at for c in github.branches["main"]]
        + [i.updated_at for i in github.issues.values()]
    )
    assert abs(status["data_freshness_seconds"] - (datetime.now(UTC) - newest).total_seconds()) <= 5
    assert status["error_rate_24h"] == 0.0
    quota = status["api_quota"]
    assert (quota["limit"], quota["remaining"]) == (github.rate_limit, github.rate_remaining)
    assert parse_iso(quota["reset_at"]) == github.rate_reset_at
    assert isinstance(status["api_response_ms"], float) and status["api_response_ms"] > 0
    assert status["webhooks"] == {"connected": False, "last_received_at": None, "received_24h": 0, "rejected_24h": 0}
    assert status["progress"] is None
    assert (status["credentials_age_days"], status["rotation_due"]) == (0, False)
    # and the run is listed with the same figures
    (run,) = call_api("GET", f"/integrations/{integration_id}/syncs").json()["items"]
    assert (run["outcome"], run["reason"], run["records_written"]) == ("success", "created", 30 + 60 + 15)
    assert (run["api_calls"], run["bytes_received"], run["pages"]) == (last["api_calls"], last["bytes_received"], 3)


# ---------------------------------------------------------------- (b) rate limited
@pytest.mark.parametrize("limit", ["primary", "secondary"])
def test_a_rate_limited_job_is_hidden_until_the_limit_resets(
    aws: Resources, call_api: ApiCaller, github: FakeGitHub, integration_id: str, limit: str
) -> None:
    # Given GitHub's points are spent until a reset two hours away (primary), or GitHub answers
    # 403 with retry-after: 120 (secondary); both differ from the queue's own 1800 s visibility timeout
    if limit == "primary":
        github.set_rate_limit(remaining=0, reset_at=github.now + timedelta(hours=2))
    else:
        github.secondary_limit(retry_after=120, status=403)
    message = receive_job(aws)
    assert message is not None

    # When the worker runs the job
    before = time.time()
    result = run_sync_worker(aws, message)
    after = time.time()

    # Then it reports the job failed, so SQS counts the attempt and keeps the message
    assert result == failure_of(message)
    assert receive_job(aws) is None
    assert queue_counts(aws) == (0, 1)
    # and the message is hidden until the limit resets: never sooner, and not much later
    visible_at = hidden_until(aws, message["MessageId"])
    earliest = github.rate_reset_at.timestamp() if limit == "primary" else before + 120
    latest = github.rate_reset_at.timestamp() + 2 if limit == "primary" else after + 122
    assert earliest <= visible_at <= latest
    status = status_of(call_api, integration_id)
    assert status["status"] == "pending"
    assert status["last_error"]["kind"] == "rate_limit"
    assert status["last_sync"]["outcome"] == "rate_limited"
    assert abs(parse_iso(status["next_sync_at"]).timestamp() - visible_at) <= 2


# ---------------------------------------------------------------- (c) auth refused
def test_a_refused_token_fails_the_integration_without_retry(
    aws: Resources, call_api: ApiCaller, github: FakeGitHub, integration_id: str
) -> None:
    # Given the token was revoked after the integration was created
    github.revoke_token()
    message = receive_job(aws)
    assert message is not None

    # When the worker runs the job
    result = run_sync_worker(aws, message)

    # Then nothing is reported failed: the message is deleted, there is no retry
    assert result == {"batchItemFailures": []}
    assert queue_counts(aws) == (0, 0)
    assert queue_counts(aws, "SyncDeadLetterQueue") == (0, 0)
    status = status_of(call_api, integration_id)
    assert status["status"] == "failed"
    assert status["last_error"]["kind"] == "auth"
    assert status["next_sync_at"] is None
    # and the hourly schedule leaves it alone until its credentials change
    scheduler = spec_of("SchedulerFunction")
    report = load_handler(scheduler)(
        {"source": "aws.scheduler", "detail-type": "Scheduled Event"}, context_of(scheduler)
    )
    assert (report["queued"], report["skipped_failed"]) == (0, 1)
    assert queue_counts(aws) == (0, 0)


# ---------------------------------------------------------------- (d) failing again and again
def test_a_job_that_keeps_failing_is_dead_lettered_and_the_integration_stays_scheduled(
    aws: Resources, call_api: ApiCaller, github: FakeGitHub, integration_id: str
) -> None:
    # Given GitHub answers 500 to every query
    github.fail_next_graphql(10, status=500)
    url = aws.queue_urls["SyncQueue"]
    original = receive_job(aws)
    assert original is not None
    message: dict[str, Any] | None = original

    # When each receive fails (the 300 s wait the handler sets is cut to 0 to go on at once)
    receives = 0
    while message is not None:
        receives += 1
        assert int(message["Attributes"]["ApproximateReceiveCount"]) == receives
        before = time.time()
        assert run_sync_worker(aws, message) == failure_of(message)
        visible_at = hidden_until(aws, message["MessageId"])
        status = status_of(call_api, integration_id)
        if receives < SQS_MAX_RECEIVES:
            # Then each failure is retried after 300 s, the integration still waiting for a first sync
            assert before + OTHER_FAILURE_WAIT_S <= visible_at <= time.time() + OTHER_FAILURE_WAIT_S + 1
            assert status["status"] == "pending"
            boto3.client("sqs").change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            # and after the third retry the integration is in error with the last error, still scheduled
            # for the next hour (not failed: only refused credentials stop an integration)
            assert status["status"] == "error"
            assert status["last_error"]["kind"] == "other"
            next_sync = parse_iso(status["next_sync_at"]).timestamp()
            assert before + 3600 - 1 <= next_sync <= time.time() + 3600 + 1
        message = receive_job(aws)  # moto, like SQS, moves it to the DLQ on the receive after the 4th

    # Then the job was tried four times in all and is in the DLQ as it was sent
    assert receives == SQS_MAX_RECEIVES
    assert queue_counts(aws) == (0, 0)
    dead = boto3.client("sqs").receive_message(QueueUrl=aws.queue_urls["SyncDeadLetterQueue"], WaitTimeSeconds=0)
    (dead_message,) = dead["Messages"]
    assert dead_message["Body"] == original["Body"]
    assert status_of(call_api, integration_id)["error_rate_24h"] == 1.0

    # And when the outage is over, the next hour's schedule queues it again (its 0-900 s spread cut to 0)
    with github._lock:
        github._fail_graphql.clear()
    report = schedule_all(integration_store(), queues(), spread_seconds=0)
    assert (report.queued, report.skipped_failed) == (1, 0)
    scheduled = receive_job(aws)
    assert scheduled is not None and json.loads(scheduled["Body"])["reason"] == "scheduled"
    # and its sync recovers the integration by itself
    assert run_sync_worker(aws, scheduled) == {"batchItemFailures": []}
    recovered = status_of(call_api, integration_id)
    assert recovered["status"] == "active"
    assert recovered["last_error"] is None
