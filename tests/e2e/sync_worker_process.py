"""One sync worker invocation in a process of its own, as a Lambda sandbox runs it: receive one job from the sync
queue, print its receipt handle (so a test that kills this process can make the message visible again, as its
visibility timeout would), run ``functions/sync_worker`` on it and delete it unless the handler reported it failed.

Run as ``python -m tests.e2e.sync_worker_process`` with the stack's environment (``AWS_ENDPOINT_URL`` and every
function variable) in ``os.environ``."""

from __future__ import annotations

import json
import sys

import boto3

from devstack.lambda_runtime import load_handler
from devstack.sqs_poller import failed_message_ids, sqs_record
from tests.integration.lambdas import context_of, spec_of


def main() -> int:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=sys.argv[1])["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1, AttributeNames=["All"])
    messages = answer.get("Messages", [])
    if not messages:
        print(json.dumps({"received": None}), flush=True)
        return 2
    message = dict(messages[0])
    print(json.dumps({"received": message["MessageId"], "receipt": message["ReceiptHandle"]}), flush=True)
    spec = spec_of("SyncWorkerFunction")
    region = arn.split(":")[3]
    result = load_handler(spec)({"Records": [sqs_record(message, arn, region)]}, context_of(spec))
    failed = failed_message_ids(result, [message["MessageId"]])
    if not failed:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    print(json.dumps({"done": message["MessageId"], "failed": bool(failed)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
