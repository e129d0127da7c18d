"""DELETE and scope-changing PATCH do not depend on finishing within the API's 29 s (issue 8, item 10): the API
changes the integration in one transaction and queues a cleanup job; the sync worker runs that job, page by page
and resumably, against a record store with thousands of records (moto)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from agiletrack.adapters.aws import clients
from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.metrics_cache import metrics_cache
from agiletrack.adapters.aws.records import record_pk, record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.domain.jobs import CleanupJob
from agiletrack.wiring import cleanup
from devstack.template import Resources
from tests.fakes.github import FakeGitHub
from tests.integration.conftest import ApiCaller
from tests.integration.test_sync_worker import receive_job, run_sync_worker

RECORDS = 5_000
SCOPE_RECORDS = 1_000
"""Fewer for the scope change: its cleanup deletes one by one, conditionally, and moto takes its time."""
PLENTY = lambda: 300_000


class Killed(Exception):
    """The function's end, mid-job (a timeout or a crash): nothing after it runs."""


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub.synthetic(prs=3, commits=3, issues=1, seed=3) as fake:
        yield fake


@pytest.fixture
def integration_id(aws: Resources, call_api: ApiCaller, github: FakeGitHub) -> str:
    reply = call_api(
        "POST", "/integrations", "team_a", {"type": "github", "config": github.config().model_dump(mode="json")}
    )
    assert reply.status == 201, reply.text
    created = receive_job(aws)  # the first sync job: not run here
    assert created is not None
    boto3.client("sqs").delete_message(QueueUrl=aws.queue_urls["SyncQueue"], ReceiptHandle=created["ReceiptHandle"])
    return str(reply.json()["id"])


def seed_records(
    aws: Resources, integration_id: str, count: int, kinds: tuple[str, ...] = ("commit", "pull_request")
) -> None:
    """``count`` stored records, written straight into the table (seeding, not the code under test)."""
    table = aws.tables["RecordsTable"]
    items = [
        {
            "PutRequest": {
                "Item": {
                    "pk": {"S": record_pk(integration_id, kinds[i % len(kinds)])},
                    "sk": {"S": f"r{i:05d}"},
                    "updated_at": {"S": "2026-01-01T00:00:00Z"},
                    "h": {"S": "x"},
                    "data": {"S": "{}"},
                    "g": {"N": "0"},
                }
            }
        }
        for i in range(count)
    ]
    dynamodb = boto3.client("dynamodb")
    for start in range(0, len(items), 25):
        dynamodb.batch_write_item(RequestItems={table: items[start : start + 25]})


def record_count(integration_id: str) -> int:
    return sum(record_store().count(integration_id, kind) for kind in ("pull_request", "commit"))


def metrics_items(aws: Resources, integration_id: str) -> int:
    answer = boto3.client("dynamodb").query(
        TableName=aws.tables["MetricsTable"],
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": integration_id}},
    )
    return int(answer["Count"])


def secret_exists(integration_id: str) -> bool:
    try:
        boto3.client("secretsmanager").describe_secret(SecretId=secret_store().name_for(integration_id))
    except boto3.client("secretsmanager").exceptions.ResourceNotFoundException:
        return False
    return True


@pytest.fixture
def dynamodb_calls() -> Iterator[Counter[str]]:
    """Every DynamoDB operation the code under test sends (counted on its client, not timed)."""
    calls: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.rsplit(".", 1)[-1]] += 1

    events = clients.dynamodb().meta.events
    events.register("before-call.dynamodb", count)
    yield calls
    events.unregister("before-call.dynamodb", count)


def test_delete_answers_at_once_and_the_cleanup_job_removes_everything_resuming_after_a_kill(
    aws: Resources, call_api: ApiCaller, integration_id: str, dynamodb_calls: Counter[str]
) -> None:
    # Given an integration holding 5,000 records and a cached metrics document
    seed_records(aws, integration_id, RECORDS)
    metrics_cache().put(integration_id, "default", {"x": 1}, "v1", "2026-01-01T00:00:00Z")
    assert record_count(integration_id) == RECORDS
    dynamodb_calls.clear()

    # When it is deleted
    reply = call_api("DELETE", f"/integrations/{integration_id}")

    # Then the API answers 204 having deleted nothing itself: a read and one transaction
    assert reply.status == 204, reply.text
    assert dynamodb_calls == Counter({"GetItem": 1, "TransactWriteItems": 1})
    assert record_count(integration_id) == RECORDS and secret_exists(integration_id)
    # and the integration reads as gone at once
    assert call_api("GET", f"/integrations/{integration_id}").status == 404
    assert call_api("GET", f"/integrations/{integration_id}/status").status == 404
    assert call_api("DELETE", f"/integrations/{integration_id}").status == 404
    assert integration_id not in [i["id"] for i in call_api("GET", "/integrations").json()["items"]]

    # When the cleanup job is killed after two pages of deletes
    message = receive_job(aws)
    assert message is not None
    job = json.loads(message["Body"])
    assert job["type"] == "cleanup" and job["integration_id"] == integration_id
    checks = iter([300_000, 300_000])

    def dies_after_two_pages() -> int:
        try:
            return next(checks)
        except StopIteration:
            raise Killed from None

    with pytest.raises(Killed):
        cleanup().run(CleanupJob.from_body(job), remaining_ms=dies_after_two_pages)

    # Then part of the records are gone, and the secret and the integration are still there
    left = record_count(integration_id)
    assert 0 < left < RECORDS
    assert secret_exists(integration_id)
    assert integration_store().get(integration_id) is not None

    # And the same message, received again (as SQS redelivers it), runs the cleanup to the end
    boto3.client("sqs").change_message_visibility(
        QueueUrl=aws.queue_urls["SyncQueue"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    again = receive_job(aws)
    assert again is not None and again["Body"] == message["Body"]
    assert run_sync_worker(aws, again) == {"batchItemFailures": []}
    assert record_count(integration_id) == 0
    assert metrics_items(aws, integration_id) == 0
    assert not secret_exists(integration_id)
    assert integration_store().get(integration_id) is None
    assert integration_store().sync_state(integration_id) == {}


def test_a_cleanup_out_of_time_requeues_itself_where_it_stopped(
    aws: Resources, call_api: ApiCaller, integration_id: str
) -> None:
    seed_records(aws, integration_id, 1_200, kinds=("commit",))
    assert call_api("DELETE", f"/integrations/{integration_id}").status == 204
    message = receive_job(aws)
    assert message is not None
    remaining = iter([300_000, 1_000])

    outcome = cleanup().run(CleanupJob.from_body(json.loads(message["Body"])), remaining_ms=lambda: next(remaining))

    assert outcome.outcome == "continued" and outcome.deleted == 1_000  # two pages of 500
    assert secret_exists(integration_id)
    boto3.client("sqs").delete_message(QueueUrl=aws.queue_urls["SyncQueue"], ReceiptHandle=message["ReceiptHandle"])
    continuation = receive_job(aws)
    assert continuation is not None
    resumed = json.loads(continuation["Body"])
    assert resumed["type"] == "cleanup" and resumed["kind"] == "commit" and resumed["start"]
    assert resumed["deleted"] == 1_000
    assert run_sync_worker(aws, continuation) == {"batchItemFailures": []}
    assert record_count(integration_id) == 0 and not secret_exists(integration_id)
    assert integration_store().get(integration_id) is None


def test_a_scope_change_answers_without_deleting_records_and_the_cleanup_drops_only_the_old_scope(
    aws: Resources, call_api: ApiCaller, github: FakeGitHub, integration_id: str, dynamodb_calls: Counter[str]
) -> None:
    seed_records(aws, integration_id, SCOPE_RECORDS)
    github.add_commits(2, branch="release")
    dynamodb_calls.clear()

    reply = call_api("PATCH", f"/integrations/{integration_id}", body={"config": {"branch": "release"}})

    assert reply.status == 200, reply.text
    assert reply.json()["status"] == "pending"
    assert "BatchWriteItem" not in dynamodb_calls and "DeleteItem" not in dynamodb_calls
    assert dynamodb_calls["TransactWriteItems"] == 1
    assert record_count(integration_id) == SCOPE_RECORDS
    stored = integration_store().get(integration_id)
    assert stored is not None and stored.generation == 1
    # the cleanup job and the new scope's first sync are queued
    bodies = []
    while (message := receive_job(aws)) is not None:
        bodies.append(json.loads(message["Body"]))
        boto3.client("sqs").delete_message(QueueUrl=aws.queue_urls["SyncQueue"], ReceiptHandle=message["ReceiptHandle"])
    assert sorted((b["type"], b.get("reason"), b.get("generation")) for b in bodies) == [
        ("cleanup", None, None),
        ("sync", "created", 1),
    ]
    cleanup_job = next(b for b in bodies if b["type"] == "cleanup")

    assert cleanup().run(CleanupJob.from_body(cleanup_job), remaining_ms=PLENTY).outcome == "done"
    assert record_count(integration_id) == 0
    assert secret_exists(integration_id)  # a scope change keeps the integration and its secret
    assert call_api("GET", f"/integrations/{integration_id}").status == 200
