"""Local SQS event source mappings: long-poll a queue, invoke the function, delete what succeeded."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from devstack.lambda_runtime import Invoker, concurrency_of
from devstack.template import SqsEventSource

log = logging.getLogger("devstack.sqs")


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS message attribute in the shape Lambda puts in the event."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        attribute["binaryValue"] = base64.b64encode(raw if isinstance(raw, bytes) else str(raw).encode()).decode()
    attribute["stringListValues"] = list(value.get("StringListValues") or [])
    attribute["binaryListValues"] = [
        base64.b64encode(v if isinstance(v, bytes) else str(v).encode()).decode()
        for v in value.get("BinaryListValues") or []
    ]
    attribute["dataType"] = value.get("DataType", "String")
    return attribute


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One ``Records`` entry of the Lambda SQS event for a received message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(payload: Any, message_ids: Iterable[str]) -> set[str]:
    """Messages to keep after a ReportBatchItemFailures response, by Lambda's rules.

    No response, no or an empty ``batchItemFailures``: all succeeded. An invalid response or an
    identifier that is empty or not in the batch: the whole batch failed.
    """
    ids = set(message_ids)
    if payload is None or payload == "":
        return set()
    if not isinstance(payload, dict):
        return ids
    failures = payload.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return ids
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in ids:
            return ids
        failed.add(identifier)
    return failed


class SqsPoller:
    """One SQS event source mapping: a thread that long-polls and invokes the function with batches, as
    many batches at once as the function's concurrency (and ``ScalingConfig.MaximumConcurrency``) allow."""

    def __init__(
        self,
        sqs: Any,
        runtime: Invoker,
        source: SqsEventSource,
        *,
        queue_url: str,
        queue_arn: str,
        region: str,
        wait_seconds: int = 1,
    ) -> None:
        self.sqs = sqs
        self.runtime = runtime
        self.source = source
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.region = region
        self.wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        limit = concurrency_of(runtime, source.function)
        self.concurrency = min(limit, source.maximum_concurrency) if source.maximum_concurrency else limit

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages") or [])

    def receive_batch(self, wait_seconds: int | None = None) -> list[dict[str, Any]]:
        """Up to BatchSize messages; after the first, keep gathering for MaximumBatchingWindowInSeconds."""
        size = self.source.batch_size
        messages = self._receive(size, self.wait_seconds if wait_seconds is None else wait_seconds)
        if not messages:
            return []
        deadline = time.monotonic() + self.source.batching_window
        while len(messages) < size and time.monotonic() < deadline and not self._stop.is_set():
            more = self._receive(size - len(messages), 0)
            messages += more
            if not more:
                time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        return messages

    def poll_once(self, wait_seconds: int | None = None) -> int:
        """Receive one batch and handle it; the number of messages received."""
        messages = self.receive_batch(wait_seconds)
        if messages:
            self.process(messages)
        return len(messages)

    def process(self, messages: list[dict[str, Any]]) -> set[str]:
        """Invoke the function with a batch; delete what succeeded. Returns the ids left on the queue."""
        ids = [m["MessageId"] for m in messages]
        event = {"Records": [sqs_record(m, self.queue_arn, self.region) for m in messages]}
        result = self.runtime.invoke(self.source.function, event)
        if not result.ok:
            assert result.error is not None
            failed = set(ids)
            log.error(
                "%s <- %s: %d message(s), function error %s: %s",
                self.source.function,
                self.source.queue,
                len(ids),
                result.error.get("errorType"),
                result.error.get("errorMessage"),
            )
            return failed
        failed = failed_message_ids(result.payload, ids) if self.source.report_batch_item_failures else set()
        self._delete([m for m in messages if m["MessageId"] not in failed])
        log.info(
            "%s <- %s: %d message(s), %d failed, %.0fms",
            self.source.function,
            self.source.queue,
            len(ids),
            len(failed),
            result.duration_ms,
        )
        return failed

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            response = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            for failure in response.get("Failed") or []:
                log.warning("could not delete a message from %s: %s", self.source.queue, failure.get("Message"))

    # ---------------------------------------------------------------- thread

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"devstack-sqs-{self.source.queue}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        slots = threading.BoundedSemaphore(self.concurrency)
        while not self._stop.is_set():
            if not slots.acquire(timeout=0.5):
                continue
            try:
                messages = self.receive_batch()
            except Exception:
                slots.release()
                if self._stop.is_set():
                    break
                log.exception("polling %s failed", self.source.queue)
                self._stop.wait(1.0)
                continue
            if not messages:
                slots.release()
                continue
            if self.concurrency == 1:
                self._process_then_release(messages, slots)
                continue
            threading.Thread(
                target=self._process_then_release,
                args=(messages, slots),
                name=f"devstack-sqs-{self.source.queue}-batch",
                daemon=True,
            ).start()

    def _process_then_release(self, messages: list[dict[str, Any]], slots: threading.BoundedSemaphore) -> None:
        try:
            self.process(messages)
        except Exception:
            log.exception("handling a batch of %s failed", self.source.queue)
        finally:
            slots.release()

    def signal_stop(self) -> None:
        """Ask the thread to stop after its current poll (at most ``wait_seconds``)."""
        self._stop.set()

    def stop(self, timeout: float = 3.0) -> None:
        self.signal_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
