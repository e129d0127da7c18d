"""Normalized records: what every provider's data becomes before it is stored and measured.

Every record has a stable ``id`` (unique within its integration and kind) and an ``updated_at``:
a stored record is only replaced by one with a later ``updated_at`` (or the same one and other
content), so an old redelivery never overwrites fresh data.

Each provider's record types live in its package (``adapters/providers/<name>/records.py``) and are declared by
its spec; ``agiletrack.adapters.providers.registry.record_type(kind)`` finds the type of a stored kind.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from agiletrack.models.common import UtcDatetime


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kind: ClassVar[str]
    id: str
    updated_at: UtcDatetime
    deleted: bool = False
    """A tombstone: the provider deleted (or transferred away) the item. Metrics skip it."""
