"""SQS: the sync-job queue and the webhook-event queue."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from functools import cache
from typing import Any

from agiletrack.adapters.aws import clients
from agiletrack.settings import get_settings

MAX_DELAY_SECONDS = 900
MAX_VISIBILITY_SECONDS = 12 * 60 * 60


class Queues:
    def __init__(self, sync_url: str, webhook_url: str) -> None:
        self.sync_url = sync_url
        self.webhook_url = webhook_url

    def send_sync_job(self, job: dict[str, Any], *, delay_seconds: int = 0) -> None:
        clients.sqs().send_message(
            QueueUrl=self.sync_url,
            MessageBody=json.dumps(job),
            DelaySeconds=max(0, min(MAX_DELAY_SECONDS, delay_seconds)),
        )

    def send_sync_jobs(self, jobs: Sequence[dict[str, Any]], *, spread_seconds: int = 0) -> list[str]:
        """``SendMessageBatch`` in tens, each job with a random delay up to ``spread_seconds`` so that
        thousands of integrations do not hit the providers in the same second. Returns the ids of jobs
        that failed to send."""
        failed: list[str] = []
        for start in range(0, len(jobs), 10):
            chunk = jobs[start : start + 10]
            entries: list[Any] = [
                {
                    "Id": str(i),
                    "MessageBody": json.dumps(job),
                    "DelaySeconds": random.randint(0, min(spread_seconds, MAX_DELAY_SECONDS)),
                }
                for i, job in enumerate(chunk)
            ]
            answer = clients.sqs().send_message_batch(QueueUrl=self.sync_url, Entries=entries)
            failed.extend(str(chunk[int(f["Id"])]["integration_id"]) for f in answer.get("Failed", []))
        return failed

    def send_webhook(self, message: dict[str, Any]) -> None:
        clients.sqs().send_message(QueueUrl=self.webhook_url, MessageBody=json.dumps(message))

    def delay_retry(self, queue_url: str, receipt_handle: str, seconds: int) -> None:
        """Hide a message we are about to report as failed until its retry time (SQS caps at 12 h)."""
        clients.sqs().change_message_visibility(
            QueueUrl=queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(MAX_VISIBILITY_SECONDS, seconds)),
        )


@cache
def queues() -> Queues:
    settings = get_settings()
    return Queues(settings.sync_queue_url, settings.webhook_queue_url)
