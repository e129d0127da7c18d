"""The local stack's moto fixes keep moto's behaviour. SQS: counts exact, content-based de-duplication on.
DynamoDB transactions: a failed one leaves every item as it was, a successful one applies every item, and
each answers, with the same cancellation reasons, and leaves what moto's own ``TransactWriteItems`` does.
DynamoDB partition queries: every page as moto's own ``Query`` answers it."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack.moto_fixes import (
    apply_query_fix,
    apply_sqs_delete_fix,
    apply_sqs_receive_fix,
    apply_sqs_send_fix,
    apply_transaction_fix,
    unfixed_query,
    unfixed_transact_write_items,
)


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
    entries: list[Any] = [{"Id": str(i), "MessageBody": "x"} for i in range(10)]

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


def test_a_receive_still_drops_messages_past_their_retention(aws: Any) -> None:
    from moto.sqs.models import sqs_backends

    apply_sqs_receive_fix()
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="kept", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="new")
    sqs.send_message(QueueUrl=url, MessageBody="old")
    queue = sqs_backends["123456789012"]["us-east-1"].queues["kept"]
    old = next(m for m in queue._messages if m.body == "old")
    old.sent_timestamp -= 61_000  # sent 61 s ago: past the 60 s retention (moto stops the receive there)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in received] == ["new"]


def test_a_receive_no_longer_grows_with_the_queue(aws: Any) -> None:
    apply_sqs_send_fix()
    apply_sqs_receive_fix()
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="deep")["QueueUrl"]
    entries: list[Any] = [{"Id": str(i), "MessageBody": "x"} for i in range(10)]

    def receive_seconds() -> float:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
        started = time.perf_counter()
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return time.perf_counter() - started

    first = min(receive_seconds() for _ in range(5))
    for _ in range(150):
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    after_1500 = min(receive_seconds() for _ in range(5))

    # Unfixed, a receive from a queue of 1,500 messages costs moto hundreds of times the first one.
    assert after_1500 < first * 20


def test_deletes_and_sends_at_once_neither_resurrect_nor_lose_a_message(aws: Any) -> None:
    """moto's server runs requests in threads: here deletes of 200 received messages (4 threads) race 100 sends
    (2 threads) on the queue's own objects; afterwards exactly the 100 new messages are left."""
    from moto.sqs.models import sqs_backends

    apply_sqs_delete_fix()
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="raced")["QueueUrl"]
    backend = sqs_backends["123456789012"]["us-east-1"]
    for _ in range(20):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "old"} for i in range(10)])
    handles = [
        m["ReceiptHandle"]
        for _ in range(20)
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600)["Messages"]
    ]
    assert len(handles) == 200
    start = threading.Barrier(6)

    def delete(part: list[str]) -> None:
        start.wait()
        for handle in part:
            backend.delete_message("raced", handle)

    def send() -> None:
        start.wait()
        for _ in range(50):
            backend.send_message("raced", "new")

    threads = [threading.Thread(target=delete, args=(handles[n::4],)) for n in range(4)]
    threads += [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    left = backend.get_queue("raced")._messages
    assert sorted(m.body for m in left) == ["new"] * 100


# ---------------------------------------------------------------- DynamoDB transactions
def _table(dynamodb: Any, name: str, *, range_key: bool) -> None:
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "sk", "AttributeType": "S"})
    dynamodb.create_table(
        TableName=name, KeySchema=keys, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
    )


def _everything(dynamodb: Any, name: str) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName=name, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda i: (i["pk"]["S"], i.get("sk", {}).get("S", "")))


def _seeded(dynamodb: Any) -> None:
    _table(dynamodb, "ranged", range_key=True)
    _table(dynamodb, "plain", range_key=False)
    for sk, n in (("a", "1"), ("b", "2"), ("c", "3")):
        dynamodb.put_item(TableName="ranged", Item={"pk": {"S": "p"}, "sk": {"S": sk}, "n": {"N": n}})
    dynamodb.put_item(TableName="plain", Item={"pk": {"S": "meta"}, "generation": {"N": "4"}})
    dynamodb.put_item(TableName="plain", Item={"pk": {"S": "doomed"}, "tags": {"SS": ["x", "y"]}})


def _mixed(generation: str) -> list[dict[str, Any]]:
    """A put over an item, an update, a delete, a new item in a new partition, and the check that decides."""
    return [
        {"Put": {"TableName": "ranged", "Item": {"pk": {"S": "p"}, "sk": {"S": "a"}, "n": {"N": "10"}}}},
        {
            "Update": {
                "TableName": "ranged",
                "Key": {"pk": {"S": "p"}, "sk": {"S": "b"}},
                "UpdateExpression": "SET n = n + :one, added = :yes",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":yes": {"BOOL": True}},
            }
        },
        {"Delete": {"TableName": "plain", "Key": {"pk": {"S": "doomed"}}}},
        {"Put": {"TableName": "ranged", "Item": {"pk": {"S": "new-partition"}, "sk": {"S": "z"}}}},
        {"Put": {"TableName": "plain", "Item": {"pk": {"S": "fresh"}}}},
        {
            "ConditionCheck": {
                "TableName": "plain",
                "Key": {"pk": {"S": "meta"}},
                "ConditionExpression": "generation = :g",
                "ExpressionAttributeValues": {":g": {"N": generation}},
            }
        },
    ]


def _cancelled(dynamodb: Any, items: list[dict[str, Any]]) -> Any:
    with pytest.raises(ClientError) as caught:
        dynamodb.transact_write_items(TransactItems=items)
    return caught.value.response


def _state(dynamodb: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return _everything(dynamodb, "ranged"), _everything(dynamodb, "plain")


def _answer(dynamodb: Any, items: list[dict[str, Any]]) -> Any:
    """What moto answers a transaction: nothing, or the error code, message and cancellation reasons."""
    try:
        dynamodb.transact_write_items(TransactItems=items)
    except ClientError as exc:
        error = exc.response
        return error["Error"]["Code"], error["Error"]["Message"], error.get("CancellationReasons")
    return None


_SCENARIOS = {
    "the check fails": _mixed(generation="3"),
    "the check holds": _mixed(generation="4"),
    "an item's own condition fails": [
        *_mixed(generation="4")[:3],
        {
            "Put": {
                "TableName": "ranged",
                "Item": {"pk": {"S": "p"}, "sk": {"S": "c"}},
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        *_mixed(generation="4")[3:],
    ],
    "the same item twice": [*_mixed(generation="4")[:3], _mixed(generation="4")[0]],
    "an item without its range key": [
        *_mixed(generation="4")[:4],
        {"Put": {"TableName": "ranged", "Item": {"pk": {"S": "p"}}}},
    ],
    "an update that cannot apply": [
        *_mixed(generation="4")[:4],
        {
            "Update": {
                "TableName": "plain",
                "Key": {"pk": {"S": "meta"}},
                "UpdateExpression": "SET generation = generation + :text",
                "ExpressionAttributeValues": {":text": {"S": "x"}},
            }
        },
    ],
}


@pytest.mark.parametrize("scenario", list(_SCENARIOS))
def test_a_transaction_answers_and_leaves_what_moto_itself_does(
    aws: Any, monkeypatch: pytest.MonkeyPatch, scenario: str
) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    apply_transaction_fix()
    dynamodb: Any = boto3.client("dynamodb")
    _seeded(dynamodb)
    before = _state(dynamodb)
    fixed_answer = _answer(dynamodb, _SCENARIOS[scenario])
    fixed_state = _state(dynamodb)

    for name in ("ranged", "plain"):
        dynamodb.delete_table(TableName=name)
    _seeded(dynamodb)
    assert _state(dynamodb) == before
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", unfixed_transact_write_items())
    assert (_answer(dynamodb, _SCENARIOS[scenario]), _state(dynamodb)) == (fixed_answer, fixed_state)


def test_a_failed_check_leaves_every_item_as_it_was(aws: Any) -> None:
    apply_transaction_fix()
    dynamodb: Any = boto3.client("dynamodb")
    _seeded(dynamodb)
    before = _everything(dynamodb, "ranged"), _everything(dynamodb, "plain")

    response = _cancelled(dynamodb, _mixed(generation="3"))
    reasons = response["CancellationReasons"]

    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in reasons] == ["None"] * 5 + ["ConditionalCheckFailed"]
    assert (_everything(dynamodb, "ranged"), _everything(dynamodb, "plain")) == before


def test_a_successful_transaction_applies_every_item(aws: Any) -> None:
    apply_transaction_fix()
    dynamodb: Any = boto3.client("dynamodb")
    _seeded(dynamodb)

    dynamodb.transact_write_items(TransactItems=_mixed(generation="4"))

    assert _everything(dynamodb, "ranged") == [
        {"pk": {"S": "new-partition"}, "sk": {"S": "z"}},
        {"pk": {"S": "p"}, "sk": {"S": "a"}, "n": {"N": "10"}},
        {"pk": {"S": "p"}, "sk": {"S": "b"}, "n": {"N": "3"}, "added": {"BOOL": True}},
        {"pk": {"S": "p"}, "sk": {"S": "c"}, "n": {"N": "3"}},
    ]
    assert _everything(dynamodb, "plain") == [
        {"pk": {"S": "fresh"}},
        {"pk": {"S": "meta"}, "generation": {"N": "4"}},
    ]


def test_the_fix_applies_once() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    apply_transaction_fix()
    applied = DynamoDBBackend.transact_write_items
    apply_transaction_fix()
    assert DynamoDBBackend.transact_write_items is applied
    assert unfixed_transact_write_items() is not applied


# ---------------------------------------------------------------- DynamoDB partition queries
def _pages(dynamodb: Any, **query: Any) -> list[Any]:
    """Every page of a Query, as answered: items, counts and ``LastEvaluatedKey``."""
    pages = []
    while True:
        page = dynamodb.query(TableName="ranged", **query)
        pages.append({k: v for k, v in page.items() if k != "ResponseMetadata"})
        if "LastEvaluatedKey" not in page:
            return pages
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


_QUERIES: dict[str, dict[str, Any]] = {
    "forward, 7 a page": {"Limit": 7},
    "backward, 5 a page": {"Limit": 5, "ScanIndexForward": False},
    "a range condition": {"Limit": 4, "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b"},
    "a filter": {"Limit": 6, "FilterExpression": "n > :n"},
    "a projection, one page": {"ProjectionExpression": "sk"},
    "a partition with no items": {"ExpressionAttributeValues": {":p": {"S": "nobody"}}},
}


@pytest.mark.parametrize("name", list(_QUERIES))
def test_a_partition_query_answers_every_page_as_moto_itself_does(
    aws: Any, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    from moto.dynamodb.models.table import Table

    apply_query_fix()
    dynamodb: Any = boto3.client("dynamodb")
    _table(dynamodb, "ranged", range_key=True)
    for partition in ("p", "q", "r"):
        for n in (5, 12, 1, 30, 7, 22, 9, 3, 40, 18, 27, 11, 2, 35, 16, 8, 25, 14, 6, 33):
            item = {"pk": {"S": partition}, "sk": {"S": f"k{n:03d}"}, "n": {"N": str(n)}}
            dynamodb.put_item(TableName="ranged", Item=item)
    query = {
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "q"}},
    } | _QUERIES[name]
    values = query["ExpressionAttributeValues"] | {":a": {"S": "k008"}, ":b": {"S": "k030"}, ":n": {"N": "10"}}
    query["ExpressionAttributeValues"] = {k: v for k, v in values.items() if k in str(query)}

    fixed = _pages(dynamodb, **query)
    original_query, original_all_items = unfixed_query()
    monkeypatch.setattr(Table, "query", original_query)
    monkeypatch.setattr(Table, "all_items", original_all_items)
    assert _pages(dynamodb, **query) == fixed
    got = [item["sk"]["S"] for page in fixed for item in page["Items"]]
    every = sorted(f"k{n:03d}" for n in (5, 12, 1, 30, 7, 22, 9, 3, 40, 18, 27, 11, 2, 35, 16, 8, 25, 14, 6, 33))
    expected = {
        "forward, 7 a page": every,
        "backward, 5 a page": every[::-1],
        "a range condition": [k for k in every if "k008" <= k <= "k030"],
        "a filter": [k for k in every if int(k[1:]) > 10],
        "a projection, one page": every,
        "a partition with no items": [],
    }
    assert got == expected[name]
