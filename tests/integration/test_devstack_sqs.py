"""devstack.sqs_poller against moto: the Lambda SQS event, partial batch failures, visibility, redrive."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from devstack.lambda_runtime import InvokeResult
from devstack.sqs_poller import SqsPoller, failed_message_ids
from devstack.template import Resources, SqsEventSource, functions, load_template

Handler = Callable[[dict[str, Any]], Any]


class RecordingRuntime:
    """Calls one Python function for every invocation and keeps the events."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.events: list[dict[str, Any]] = []

    def invoke(self, logical_id: str, event: Any) -> InvokeResult:
        self.events.append(event)
        try:
            return InvokeResult(logical_id, "rid", 1.0, payload=self.handler(event))
        except Exception as error:
            return InvokeResult(logical_id, "rid", 1.0, error={"errorMessage": str(error), "errorType": "Error"})


def _source(function: str) -> SqsEventSource:
    specs = {spec.logical_id: spec for spec in functions(load_template())}
    (source,) = specs[function].sqs_sources
    return source


def _poller(aws: Resources, function: str, handler: Handler) -> tuple[SqsPoller, RecordingRuntime]:
    source = _source(function)
    runtime = RecordingRuntime(handler)
    poller = SqsPoller(
        boto3.client("sqs"),
        runtime,
        source,
        queue_url=aws.queue_urls[source.queue],
        queue_arn=aws.queue_arns[source.queue],
        region=aws.region,
        wait_seconds=0,
    )
    return poller, runtime


def _counts(url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _send(url: str, *bodies: str, **attributes: Any) -> list[str]:
    sqs = boto3.client("sqs")
    return [
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)["MessageId"] for body in bodies
    ]


def _release(record: dict[str, Any], url: str) -> None:
    """What a function does to retry a message at once: make it visible again."""
    boto3.client("sqs").change_message_visibility(
        QueueUrl=url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
    )


def test_the_event_has_lambdas_shape(aws: Resources) -> None:
    url = aws.queue_urls["WebhookQueue"]
    (message_id,) = _send(
        url,
        '{"hello": "world"}',
        kind={"DataType": "String", "StringValue": "github"},
        raw={"DataType": "Binary", "BinaryValue": b"\x01\x02"},
    )
    poller, runtime = _poller(aws, "EventProcessorFunction", lambda event: None)
    assert poller.poll_once() == 1

    (event,) = runtime.events
    (record,) = event["Records"]
    assert record["messageId"] == message_id
    assert record["body"] == '{"hello": "world"}'
    assert record["receiptHandle"]
    assert record["md5OfBody"] == hashlib.md5(b'{"hello": "world"}').hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == aws.queue_arns["WebhookQueue"]
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "github",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["raw"]["binaryValue"] == "AQI="
    assert record["messageAttributes"]["raw"]["dataType"] == "Binary"
    assert _counts(url) == (0, 0)


def test_batches_respect_batch_size(aws: Resources) -> None:
    url = aws.queue_urls["SyncQueue"]
    _send(url, "a", "b", "c")
    poller, runtime = _poller(aws, "SyncWorkerFunction", lambda event: {"batchItemFailures": []})
    while poller.poll_once():
        pass
    assert [len(e["Records"]) for e in runtime.events] == [1, 1, 1]
    assert sorted(e["Records"][0]["body"] for e in runtime.events) == ["a", "b", "c"]
    assert _counts(url) == (0, 0)


def test_partial_batch_failure_keeps_only_the_failed_message(aws: Resources) -> None:
    url = aws.queue_urls["WebhookQueue"]
    ids = _send(url, "ok-1", "fail", "ok-2")
    failing = ids[1]

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "fail"]
        }

    poller, runtime = _poller(aws, "EventProcessorFunction", handler)
    received = 0
    while received < 3:
        got = poller.poll_once()
        assert got, "messages went missing"
        received += got
    assert {r["messageId"] for e in runtime.events for r in e["Records"]} == set(ids)
    # The failed message is in flight until its visibility timeout (360 s) ends; the others are gone.
    assert _counts(url) == (0, 1)
    assert poller.poll_once() == 0
    (failed_record,) = [r for e in runtime.events for r in e["Records"] if r["messageId"] == failing]
    _release(failed_record, url)
    (left,) = boto3.client("sqs").receive_message(QueueUrl=url)["Messages"]
    assert left["Body"] == "fail"


def test_a_function_can_make_a_failed_message_visible_again(aws: Resources) -> None:
    url = aws.queue_urls["SyncQueue"]
    _send(url, "retry me")
    counts: list[str] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        (record,) = event["Records"]
        counts.append(record["attributes"]["ApproximateReceiveCount"])
        if len(counts) == 1:
            _release(record, url)
            return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
        return {"batchItemFailures": []}

    poller, _ = _poller(aws, "SyncWorkerFunction", handler)
    assert poller.poll_once() == 1
    assert _counts(url) == (1, 0)
    assert poller.poll_once() == 1
    assert counts == ["1", "2"]
    assert _counts(url) == (0, 0)


def test_a_function_error_deletes_nothing(aws: Resources) -> None:
    url = aws.queue_urls["WebhookQueue"]
    _send(url, "a", "b")

    def handler(event: dict[str, Any]) -> Any:
        raise RuntimeError("down")

    poller, runtime = _poller(aws, "EventProcessorFunction", handler)
    while poller.poll_once():
        pass
    assert sum(len(e["Records"]) for e in runtime.events) == 2
    assert _counts(url) == (0, 2)


def test_an_invalid_failure_report_fails_the_whole_batch(aws: Resources) -> None:
    url = aws.queue_urls["WebhookQueue"]
    _send(url, "a", "b")
    poller, _ = _poller(
        aws, "EventProcessorFunction", lambda event: {"batchItemFailures": [{"itemIdentifier": "nope"}]}
    )
    while poller.poll_once():
        pass
    assert _counts(url) == (0, 2)


@pytest.mark.parametrize(
    ("payload", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, {"a", "b"}),
        ({"batchItemFailures": [{"id": "a"}]}, {"a", "b"}),
        ({"batchItemFailures": "a"}, {"a", "b"}),
        ("not json", {"a", "b"}),
    ],
)
def test_failure_report_rules(payload: Any, failed: set[str]) -> None:
    assert failed_message_ids(payload, ["a", "b"]) == failed


def test_moto_redrives_to_the_dead_letter_queue_on_receive(aws: Resources) -> None:
    """moto's SQS moves a message to the DLQ when it is received more than maxReceiveCount times."""
    sqs = boto3.client("sqs")
    url, dlq_url = aws.queue_urls["SyncQueue"], aws.queue_urls["SyncDeadLetterQueue"]
    max_receives = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )["maxReceiveCount"]
    assert max_receives == 4
    _send(url, "poison")
    for attempt in range(1, max_receives + 1):
        messages = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, AttributeNames=["All"]).get("Messages", [])
        assert len(messages) == 1
        assert messages[0]["Attributes"]["ApproximateReceiveCount"] == str(attempt)
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages", []) == []
    (dead,) = sqs.receive_message(QueueUrl=dlq_url).get("Messages", [])
    assert dead["Body"] == "poison"


def test_poller_retries_then_dead_letters(aws: Resources) -> None:
    url, dlq_url = aws.queue_urls["SyncQueue"], aws.queue_urls["SyncDeadLetterQueue"]
    _send(url, "poison")

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        (record,) = event["Records"]
        _release(record, url)
        return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}

    poller, runtime = _poller(aws, "SyncWorkerFunction", handler)
    for _ in range(6):
        poller.poll_once()
    assert [e["Records"][0]["attributes"]["ApproximateReceiveCount"] for e in runtime.events] == ["1", "2", "3", "4"]
    assert _counts(url) == (0, 0)
    assert _counts(dlq_url) == (1, 0)


def test_the_poller_thread_processes_and_stops_quickly(aws: Resources) -> None:
    url = aws.queue_urls["WebhookQueue"]
    poller, runtime = _poller(aws, "EventProcessorFunction", lambda event: None)
    poller.wait_seconds = 1
    poller.start()
    try:
        _send(url, "x")
        deadline = time.monotonic() + 10
        while not runtime.events and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        started = time.monotonic()
        poller.stop()
        stopped_in = time.monotonic() - started
    assert [r["body"] for e in runtime.events for r in e["Records"]] == ["x"]
    assert stopped_in < 3


class ConcurrentRuntime(RecordingRuntime):
    """A runtime of ``limit`` sandboxes: each invocation waits (5 s at most) until ``limit`` are in flight."""

    def __init__(self, limit: int) -> None:
        super().__init__(self._handle)
        self.limit = limit
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def concurrency(self, logical_id: str) -> int:
        return self.limit

    def _handle(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        deadline = time.monotonic() + 5
        while self.peak < self.limit and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        with self._lock:
            self.active -= 1


def test_batches_run_concurrently_up_to_the_functions_concurrency(aws: Resources) -> None:
    url = aws.queue_urls["SyncQueue"]  # BatchSize 1: one invocation per message
    ids = _send(url, *(f"job-{n}" for n in range(8)))
    source = _source("SyncWorkerFunction")
    runtime = ConcurrentRuntime(3)
    poller = SqsPoller(
        boto3.client("sqs"),
        runtime,
        source,
        queue_url=url,
        queue_arn=aws.queue_arns[source.queue],
        region=aws.region,
        wait_seconds=0,
    )
    assert poller.concurrency == 3
    poller.start()
    try:
        deadline = time.monotonic() + 20
        while _counts(url) != (0, 0) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        poller.stop()
    assert sorted(r["messageId"] for e in runtime.events for r in e["Records"]) == sorted(ids)
    assert runtime.peak == 3
    assert _counts(url) == (0, 0)


def test_maximum_concurrency_of_the_source_caps_the_function(aws: Resources) -> None:
    source = dataclasses.replace(_source("SyncWorkerFunction"), maximum_concurrency=2)
    poller = SqsPoller(
        boto3.client("sqs"),
        ConcurrentRuntime(5),
        source,
        queue_url=aws.queue_urls["SyncQueue"],
        queue_arn=aws.queue_arns["SyncQueue"],
        region=aws.region,
    )
    assert poller.concurrency == 2
