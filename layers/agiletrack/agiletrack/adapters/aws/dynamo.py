"""Thin helpers over the DynamoDB client: (de)serialization and paginated queries."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from agiletrack.models.times import iso

_ser = TypeSerializer()
_de = TypeDeserializer()

Item = dict[str, Any]


def _is_model(value: Any) -> bool:
    """Whether ``value`` is a pydantic model, without importing pydantic: none exists before it is imported."""
    main = sys.modules.get("pydantic.main")
    return main is not None and isinstance(value, main.BaseModel)


def storable(value: Any) -> Any:
    """Python values DynamoDB can hold: floats as Decimal, datetimes in canonical ISO form, models as maps."""
    if _is_model(value):
        return storable(value.model_dump(mode="python"))
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: storable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values to DynamoDB attribute values; ``None`` attributes are left out."""
    return {k: _ser.serialize(storable(v)) for k, v in values.items() if v is not None}


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as ``Decimal``: give ints and floats instead, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [plain(v) for v in value]
    return value


def from_item(item: Mapping[str, Any]) -> Item:
    return {k: plain(_de.deserialize(v)) for k, v in item.items()}


def to_value(value: Any) -> Any:
    return _ser.serialize(storable(value))


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
