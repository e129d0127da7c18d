"""Metrics table: computed metric documents, valid until the integration's records change.

``pk = <integration id>``, ``sk = <window and parameters>``; ``data_version`` is the integration's
``data_changed_at`` when the document was computed. Entries expire after a day (TTL ``expires_at``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cache
from typing import Any

from agiletrack.adapters.aws import clients
from agiletrack.adapters.aws.dynamo import paginate, to_value
from agiletrack.models.common import utcnow
from agiletrack.settings import get_settings

TTL = timedelta(days=1)


class DynamoMetricsCache:
    def __init__(self, table: str) -> None:
        self.table = table

    def get(self, integration_id: str, key: str) -> tuple[dict[str, Any], str, str] | None:
        """(document, data version, computed at) or None."""
        raw = clients.dynamodb().get_item(
            TableName=self.table, Key={"pk": to_value(integration_id), "sk": to_value(key)}
        )
        item = raw.get("Item")
        if not item:
            return None
        return json.loads(item["doc"]["S"]), item["v"]["S"], item["at"]["S"]

    def put(self, integration_id: str, key: str, document: dict[str, Any], data_version: str, at: str) -> None:
        clients.dynamodb().put_item(
            TableName=self.table,
            Item={
                "pk": to_value(integration_id),
                "sk": to_value(key),
                "doc": to_value(json.dumps(document, separators=(",", ":"))),
                "v": to_value(data_version),
                "at": to_value(at),
                "expires_at": to_value(int((utcnow() + TTL).timestamp())),
            },
        )

    def delete_all(self, integration_id: str) -> None:
        for item in paginate(
            clients.dynamodb().query,
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": to_value(integration_id)},
            ProjectionExpression="sk",
        ):
            clients.dynamodb().delete_item(
                TableName=self.table, Key={"pk": to_value(integration_id), "sk": to_value(item["sk"])}
            )


@cache
def metrics_cache() -> DynamoMetricsCache:
    return DynamoMetricsCache(get_settings().metrics_table)
