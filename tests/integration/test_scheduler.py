"""The hourly scheduler against moto: every schedulable integration gets exactly one job."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from agiletrack.adapters.aws import clients
from agiletrack.adapters.aws.dynamo import to_item
from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.domain.scheduling import schedule_all
from agiletrack.models.common import utcnow
from agiletrack.models.integrations import Integration
from agiletrack.settings import get_settings
from devstack.moto_fixes import apply_sqs_send_fix


def seed(count: int, *, failed_every: int = 0) -> None:
    """Write integrations straight to the table (BatchWriteItem), as many as a big installation has."""
    now = utcnow()
    table = get_settings().integrations_table
    items = []
    for i in range(count):
        status = "failed" if failed_every and i % failed_every == 0 else "active"
        integration = Integration(
            id=f"int_{i:06d}",
            team_id=f"team_{i % 50}",
            type="github",
            name=f"repo {i}",
            status=status,
            config={"repository": f"org/repo{i}"},
            secret_name=f"agiletrack/test/int_{i:06d}",
            created_at=now,
            updated_at=now,
        )
        items.append(
            {
                "PutRequest": {
                    "Item": to_item(
                        {"pk": f"INT#{integration.id}", "sk": "META", **integration.model_dump(mode="python")}
                    )
                }
            }
        )
    for start in range(0, len(items), 25):
        clients.dynamodb().batch_write_item(RequestItems={table: items[start : start + 25]})


def count_messages() -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queues().sync_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesDelayed",
            "ApproximateNumberOfMessagesNotVisible",
        ],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_skips_failed_integrations(aws: Any) -> None:
    seed(30, failed_every=10)

    report = schedule_all(integration_store(), queues())

    assert (report.seen, report.queued, report.skipped_failed, report.send_failures) == (30, 27, 3, 0)
    assert count_messages() == 27


def test_jobs_carry_the_integration_and_a_spread_delay(aws: Any) -> None:
    seed(10)
    schedule_all(integration_store(), queues())
    sqs = boto3.client("sqs")
    # Delayed messages are not receivable yet; moto reports them as delayed.
    assert count_messages() == 10
    raw = sqs.receive_message(QueueUrl=queues().sync_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    bodies = [json.loads(m["Body"]) for m in raw.get("Messages", [])]
    assert all(b["reason"] == "scheduled" and b["integration_id"].startswith("int_") for b in bodies)


def test_ten_thousand_integrations_in_one_run(aws: Any, record_property: Any) -> None:
    seed(10_000)

    # moto's SendMessage otherwise recounts every stored message on each send (see devstack.moto_fixes).
    apply_sqs_send_fix()
    started = time.perf_counter()
    report = schedule_all(integration_store(), queues())
    elapsed = time.perf_counter() - started

    record_property("scheduler_10k_seconds", round(elapsed, 2))
    print(f"\nscheduler: 10,000 integrations enqueued in {elapsed:.1f} s against moto")
    assert report.seen == 10_000
    assert report.queued == 10_000
    assert report.send_failures == 0
    # SQS's counts are approximate (moto's too: a delay that ends while the counts are taken falls
    # between them), so count what the emulator holds.
    from moto.sqs.models import sqs_backends

    held = {q.name: len(q._messages) for q in sqs_backends["123456789012"]["us-east-1"].queues.values()}
    assert held[queues().sync_url.rsplit("/", 1)[-1]] == 10_000
    # The scheduler's timeout is 300 s; stay far inside it even on an in-process emulator.
    assert elapsed < 150


def test_an_error_integration_is_scheduled_and_a_deleting_one_gets_its_cleanup_again(aws: Any) -> None:
    seed(3)
    store = integration_store()
    ids = sorted(i for i, _ in store.schedulable())
    store.update(ids[0], {"status": "error"})
    store.update(ids[1], {"status": "deleting"})

    report = schedule_all(store, queues(), spread_seconds=0)

    assert (report.seen, report.queued, report.cleanups, report.skipped_failed) == (3, 2, 1, 0)
    answer = boto3.client("sqs").receive_message(QueueUrl=queues().sync_url, MaxNumberOfMessages=10)
    bodies = [json.loads(m["Body"]) for m in answer.get("Messages", [])]
    assert sorted((b.get("type"), b["integration_id"]) for b in bodies) == sorted(
        [("sync", ids[0]), ("cleanup", ids[1]), ("sync", ids[2])]
    )
