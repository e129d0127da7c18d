"""Records table: normalized provider records.

- ``pk = <integration id>#<kind>``, ``sk = <record id>``: one record, upserted by id.
- index ``by_updated`` (``pk``, ``updated_at``): the records of one integration and kind changed since a
  time, a Query, never a Scan; the metrics API reads only what its window can need.
- ``data`` holds the record as JSON and ``h`` a hash of it. A write only lands when it is newer:
  ``updated_at`` later than the stored one, or the same with other content. An old redelivery never
  overwrites fresh data, and re-pulling an unchanged record writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from agiletrack.adapters.aws import clients
from agiletrack.adapters.aws.dynamo import paginate, to_value
from agiletrack.models.common import iso
from agiletrack.models.records import RECORD_TYPES, Record
from agiletrack.settings import get_settings

WRITE_THREADS = 8


def record_pk(integration_id: str, kind: str) -> str:
    return f"{integration_id}#{kind}"


def _decode(kind: str, item: dict[str, Any]) -> Record:
    return RECORD_TYPES[kind].model_validate_json(item["data"])


class DynamoRecordStore:
    def __init__(self, table: str) -> None:
        self.table = table

    def put_if_newer(self, integration_id: str, record: Record) -> bool:
        data = record.model_dump_json()
        digest = hashlib.sha256(data.encode()).hexdigest()[:32]
        try:
            clients.dynamodb().put_item(
                TableName=self.table,
                Item={
                    "pk": to_value(record_pk(integration_id, record.kind)),
                    "sk": to_value(record.id),
                    "updated_at": to_value(iso(record.updated_at)),
                    "h": to_value(digest),
                    "data": to_value(data),
                },
                ConditionExpression="attribute_not_exists(pk) OR updated_at < :u OR (updated_at = :u AND h <> :h)",
                ExpressionAttributeValues={":u": to_value(iso(record.updated_at)), ":h": to_value(digest)},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def put_many(self, integration_id: str, records: Iterable[Record]) -> int:
        """Conditional upserts in parallel; returns how many landed."""
        batch = list(records)
        if len(batch) <= 2:
            return sum(self.put_if_newer(integration_id, r) for r in batch)
        with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
            return sum(pool.map(lambda r: self.put_if_newer(integration_id, r), batch))

    def get(self, integration_id: str, kind: str, record_id: str) -> Record | None:
        raw = clients.dynamodb().get_item(
            TableName=self.table,
            Key={"pk": to_value(record_pk(integration_id, kind)), "sk": to_value(record_id)},
            ConsistentRead=True,
        )
        if "Item" not in raw:
            return None
        return RECORD_TYPES[kind].model_validate_json(raw["Item"]["data"]["S"])

    def updated_since(self, integration_id: str, kind: str, since: datetime | None) -> Iterator[Record]:
        """Records of one kind changed at or after ``since`` (all of them when None)."""
        kwargs: dict[str, Any] = {"TableName": self.table, "ProjectionExpression": "#d"}
        kwargs["ExpressionAttributeNames"] = {"#d": "data"}
        if since is None:
            kwargs["KeyConditionExpression"] = "pk = :p"
            kwargs["ExpressionAttributeValues"] = {":p": to_value(record_pk(integration_id, kind))}
        else:
            kwargs["IndexName"] = "by_updated"
            kwargs["KeyConditionExpression"] = "pk = :p AND updated_at >= :s"
            kwargs["ExpressionAttributeValues"] = {
                ":p": to_value(record_pk(integration_id, kind)),
                ":s": to_value(iso(since)),
            }
        for item in paginate(clients.dynamodb().query, **kwargs):
            yield _decode(kind, item)

    def count(self, integration_id: str, kind: str) -> int:
        total = 0
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": to_value(record_pk(integration_id, kind))},
            "Select": "COUNT",
        }
        while True:
            page = clients.dynamodb().query(**kwargs)
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                return total
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete_all(self, integration_id: str, kinds: Iterable[str]) -> int:
        deleted = 0
        for kind in kinds:
            keys = [
                {"pk": to_value(record_pk(integration_id, kind)), "sk": to_value(item["sk"])}
                for item in paginate(
                    clients.dynamodb().query,
                    TableName=self.table,
                    KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": to_value(record_pk(integration_id, kind))},
                    ProjectionExpression="sk",
                )
            ]
            for start in range(0, len(keys), 25):
                requests: list[Any] = [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]
                pending: dict[str, Any] = {self.table: requests}
                while pending:
                    answer = clients.dynamodb().batch_write_item(RequestItems=pending)
                    pending = dict(answer.get("UnprocessedItems") or {})
            deleted += len(keys)
        return deleted


@cache
def record_store() -> DynamoRecordStore:
    return DynamoRecordStore(get_settings().records_table)
