"""Normalized records: what every provider's data becomes before it is stored and measured.

Every record has a stable ``id`` (unique within its integration and kind) and an ``updated_at``:
a stored record is only replaced by one with a later ``updated_at`` (or the same one and other
content), so an old redelivery never overwrites fresh data.

Each provider's record types live in its package (``adapters/providers/<name>/records.py``) and are declared by
its spec; ``agiletrack.adapters.providers.registry.record_type(kind)`` finds the type of a stored kind.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict, model_validator

from agiletrack.models.base import Model
from agiletrack.models.common import UtcDatetime


class Record(Model):
    model_config = ConfigDict(extra="ignore")

    kind: ClassVar[str]
    id: str
    updated_at: UtcDatetime
    deleted: bool = False
    """A tombstone: the provider deleted (or transferred away) the item. Metrics skip it."""


_FIELDS_SETS: dict[frozenset[str], set[str]] = {}


class SharedFieldsSet(Model):
    """For immutable models held by the hundred thousand (a cold metrics call holds every record): pydantic gives
    each instance a set of the fields it was given (728 bytes for seven names, often more than the instance's
    own data); these share one set per distinct content. Safe only with ``frozen=True``: nothing can assign to
    the instance, and ``model_copy`` copies the set before changing it."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _share_fields_set(self) -> SharedFieldsSet:
        given = self.__pydantic_fields_set__
        shared = _FIELDS_SETS.setdefault(frozenset(given), given)
        if shared is not given:
            object.__setattr__(self, "__pydantic_fields_set__", shared)
        return self
