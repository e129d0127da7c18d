"""Thin helpers over the DynamoDB client: (de)serialization and paginated queries."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_ser = TypeSerializer()
_de = TypeDeserializer()

Item = dict[str, Any]


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values to DynamoDB attribute values; ``None`` attributes are left out."""
    return {k: _ser.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> Item:
    return {k: _de.deserialize(v) for k, v in item.items()}


def to_value(value: Any) -> Any:
    return _ser.serialize(value)


def paginate(call: Any, **kwargs: Any) -> Iterator[Item]:
    """Follow ``LastEvaluatedKey`` for a Query or Scan, yielding plain items."""
    while True:
        page = call(**kwargs)
        for raw in page.get("Items", []):
            yield from_item(raw)
        last = page.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last
