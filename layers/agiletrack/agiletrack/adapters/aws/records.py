"""Records table: normalized provider records.

- ``pk = <integration id>#<kind>``, ``sk = <record id>``: one record, upserted by id.
- index ``by_updated`` (``pk``, ``updated_at``): the records of one integration and kind changed since a
  time, a Query, never a Scan; the metrics API reads only what its window can need.
- ``data`` holds the record as JSON and ``h`` a hash of it. A write only lands when it is newer:
  ``updated_at`` later than the stored one, or the same with other content. An old redelivery never
  overwrites fresh data, and re-pulling an unchanged record writes nothing.
- ``g`` is the integration's scope generation the record was written under. A fenced write
  (``put_many(..., generation=g)``) is one DynamoDB transaction per chunk of records with a ConditionCheck
  on the integration's ``META`` item (``generation = g``): once a scope change or a delete has bumped the
  generation, no write of the older generation can land, not even one already on its way. A record of an
  older generation is always replaced (the new scope's record of the same id is another record), and the
  cleanup job deletes what is left of older generations, each delete conditional on ``g`` being older.
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
from agiletrack.adapters.providers.registry import record_type
from agiletrack.errors import Superseded
from agiletrack.models.common import iso, utcnow
from agiletrack.models.records import Record
from agiletrack.settings import get_settings

WRITE_THREADS = 8
FENCED_CHUNK = 99
"""Records per fenced transaction, with the ConditionCheck: DynamoDB's limit of 100 items."""
FENCED_BYTES = 3_000_000
"""...and at most this much record data per transaction (DynamoDB's limit is 4 MB)."""
NEWER = "attribute_not_exists(pk) OR updated_at < :u OR (updated_at = :u AND h <> :h)"
OLDER_GENERATION = "attribute_not_exists(g) OR g < :g"


def record_pk(integration_id: str, kind: str) -> str:
    return f"{integration_id}#{kind}"


def _decode(kind: str, item: dict[str, Any]) -> Record:
    return record_type(kind).model_validate_json(item["data"])


class DynamoRecordStore:
    def __init__(self, table: str, integrations_table: str | None = None) -> None:
        self.table = table
        self._integrations_table = integrations_table

    @property
    def integrations_table(self) -> str:
        """Where the fence (the integration's ``META`` generation) is checked."""
        return self._integrations_table or get_settings().integrations_table

    def _put(self, integration_id: str, record: Record, generation: int | None) -> dict[str, Any]:
        """The conditional Put of one record (the arguments of PutItem, or of a transaction's Put)."""
        data = record.model_dump_json()
        digest = hashlib.sha256(data.encode()).hexdigest()[:32]
        item = {
            "pk": to_value(record_pk(integration_id, record.kind)),
            "sk": to_value(record.id),
            "updated_at": to_value(iso(record.updated_at)),
            "h": to_value(digest),
            "data": to_value(data),
        }
        values = {":u": to_value(iso(record.updated_at)), ":h": to_value(digest)}
        condition = NEWER
        if generation is not None:
            item["g"] = to_value(generation)
            if generation > 0:
                condition = f"{NEWER} OR {OLDER_GENERATION}"
                values[":g"] = to_value(generation)
        return {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }

    def put_if_newer(self, integration_id: str, record: Record) -> bool:
        """An unfenced conditional upsert (tools and tests seeding a store); domain code uses ``put_many``."""
        try:
            clients.dynamodb().put_item(**self._put(integration_id, record, None))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def put_many(self, integration_id: str, records: Iterable[Record], *, generation: int | None = None) -> int:
        """Conditional upserts in parallel; returns how many landed. With ``generation``, every write is
        fenced by the integration's generation and ``Superseded`` is raised when it moved on."""
        batch = list(records)
        if generation is None:
            if len(batch) <= 2:
                return sum(self.put_if_newer(integration_id, r) for r in batch)
            with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
                return sum(pool.map(lambda r: self.put_if_newer(integration_id, r), batch))
        # One transaction after the other: they are few (99 records each), and moto, which copies every table
        # a transaction touches, cannot run them beside other writes.
        return sum(self._put_fenced(integration_id, chunk, generation) for chunk in _chunks(batch))

    def _put_fenced(self, integration_id: str, chunk: list[Record], generation: int) -> int:
        """One transaction: the generation check on META (moving its ``data_changed_at``) and the records'
        conditional Puts. A record whose
        own condition fails (not newer) cancels the transaction; it is left out and the rest tried again."""
        puts = [self._put(integration_id, r, generation) for r in chunk]
        while puts:
            items: list[Any] = [{"Update": changed_fence(self.integrations_table, integration_id, generation)}]
            items += [{"Put": put} for put in puts]
            try:
                clients.dynamodb().transact_write_items(TransactItems=items)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if len(reasons) != len(items):
                    raise
                if reasons[0] == "ConditionalCheckFailed":
                    raise Superseded("the integration's generation moved on; nothing written") from exc
                if any(code not in ("None", "ConditionalCheckFailed") for code in reasons):
                    continue  # a conflicting transaction on one of the items: try again
                puts = [put for put, code in zip(puts, reasons[1:], strict=True) if code != "ConditionalCheckFailed"]
                continue
            return len(puts)
        return 0

    def get(self, integration_id: str, kind: str, record_id: str) -> Record | None:
        raw = clients.dynamodb().get_item(
            TableName=self.table,
            Key={"pk": to_value(record_pk(integration_id, kind)), "sk": to_value(record_id)},
            ConsistentRead=True,
        )
        if "Item" not in raw:
            return None
        return record_type(kind).model_validate_json(raw["Item"]["data"]["S"])

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

    def delete_older(
        self,
        integration_id: str,
        kind: str,
        generation: int,
        *,
        start: dict[str, Any] | None,
        limit: int,
        everything: bool = False,
    ) -> tuple[int, dict[str, Any] | None]:
        """Delete up to ``limit`` records of one kind written under a generation older than ``generation``
        (one Query page); returns (how many were deleted, where the next page starts or None). Each delete
        is conditional on the record still being of an older generation, so a record the new scope just
        wrote under the same id is never lost. ``everything`` (an integration being deleted, whose fence no
        write can pass any more) deletes them all, 25 to a BatchWriteItem."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": to_value(record_pk(integration_id, kind))},
            "ProjectionExpression": "sk, g",
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = clients.dynamodb().query(**kwargs)
        stale = [
            item["sk"]
            for item in page.get("Items", [])
            if everything or "g" not in item or int(item["g"]["N"]) < generation
        ]
        if everything:
            self._batch_delete([{"pk": to_value(record_pk(integration_id, kind)), "sk": sk} for sk in stale])
            return len(stale), page.get("LastEvaluatedKey")

        def delete(sk: dict[str, Any]) -> bool:
            try:
                clients.dynamodb().delete_item(
                    TableName=self.table,
                    Key={"pk": to_value(record_pk(integration_id, kind)), "sk": sk},
                    ConditionExpression=OLDER_GENERATION,
                    ExpressionAttributeValues={":g": to_value(generation)},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    return False
                raise
            return True

        with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
            deleted = sum(pool.map(delete, stale))
        return deleted, page.get("LastEvaluatedKey")

    def _batch_delete(self, keys: list[dict[str, Any]]) -> None:
        for start in range(0, len(keys), 25):
            requests: list[Any] = [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]
            pending: dict[str, Any] = {self.table: requests}
            while pending:
                answer = clients.dynamodb().batch_write_item(RequestItems=pending)
                pending = dict(answer.get("UnprocessedItems") or {})

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


def _chunks(records: list[Record]) -> Iterator[list[Record]]:
    """The records in transaction-sized chunks (by count and by size)."""
    chunk: list[Record] = []
    size = 0
    for record in records:
        length = len(record.model_dump_json())
        if chunk and (len(chunk) >= FENCED_CHUNK or size + length > FENCED_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(record)
        size += length
    if chunk:
        yield chunk


def generation_check(table: str, integration_id: str, generation: int) -> dict[str, Any]:
    """A transaction's ConditionCheck: the integration (``META``) exists, is not being deleted, and is still
    at ``generation`` (items from before generations existed have none: that is generation 0)."""
    condition = "generation = :g"
    if generation == 0:
        condition = "(attribute_not_exists(generation) OR generation = :g)"
    return {
        "TableName": table,
        "Key": {"pk": to_value(f"INT#{integration_id}"), "sk": to_value("META")},
        "ConditionExpression": f"attribute_exists(pk) AND {condition} AND #s <> :deleting",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":g": to_value(generation), ":deleting": to_value("deleting")},
    }


def changed_fence(table: str, integration_id: str, generation: int) -> dict[str, Any]:
    """The transaction's first item: the generation check of ``generation_check`` as an Update that moves the
    integration's ``data_changed_at`` (which invalidates its cached metrics) in the same transaction as the records.
    Moving it in a later write would lose it when that write fails: the retry finds the records already stored,
    writes none, and the metrics would stay cached from before them."""
    fence = generation_check(table, integration_id, generation)
    fence["UpdateExpression"] = "SET data_changed_at = :changed"
    fence["ExpressionAttributeValues"][":changed"] = to_value(iso(utcnow()))
    return fence


@cache
def record_store() -> DynamoRecordStore:
    settings = get_settings()
    return DynamoRecordStore(settings.records_table, settings.integrations_table)
