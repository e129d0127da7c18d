"""The local stack's SQS speed fix keeps moto's behaviour: counts exact, content-based de-duplication on."""

from __future__ import annotations

import time
from typing import Any

import boto3

from devstack.moto_fixes import apply_sqs_send_fix


def test_counts_and_content_based_deduplication_are_unchanged(aws: Any) -> None:
    apply_sqs_send_fix()
    sqs = boto3.client("sqs")
    plain = sqs.create_queue(QueueName="plain")["QueueUrl"]
    fifo = sqs.create_queue(
        QueueName="dedup.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]

    for i in range(3):
        sqs.send_message(QueueUrl=plain, MessageBody=f"m{i}")
    sqs.send_message(QueueUrl=plain, MessageBody="later", DelaySeconds=60)
    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="same body", MessageGroupId="g")

    counts = sqs.get_queue_attributes(QueueUrl=plain, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "3"
    assert counts["ApproximateNumberOfMessagesDelayed"] == "1"
    fifo_attributes = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"])["Attributes"]
    assert fifo_attributes["ApproximateNumberOfMessages"] == "1"
    assert fifo_attributes["ContentBasedDeduplication"] == "true"


def test_a_send_no_longer_grows_with_the_queue(aws: Any) -> None:
    apply_sqs_send_fix()
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="long")["QueueUrl"]
    entries = [{"Id": str(i), "MessageBody": "x"} for i in range(10)]

    def batch_seconds() -> float:
        started = time.perf_counter()
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
        return time.perf_counter() - started

    first = min(batch_seconds() for _ in range(5))
    for _ in range(300):
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    after_3000 = min(batch_seconds() for _ in range(5))

    # Unfixed, a batch into a queue of 3,000 messages costs moto about 30 times the first one.
    assert after_3000 < first * 5
