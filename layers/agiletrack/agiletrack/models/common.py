"""Small shared types: UTC timestamps in one canonical text form, ids (the plain functions live in
``models.times``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer

from agiletrack.models.times import as_utc, iso, iso_short, new_id, parse_iso, utcnow

__all__ = ["PreciseUtcDatetime", "UtcDatetime", "as_utc", "iso", "iso_short", "new_id", "parse_iso", "utcnow"]

UtcDatetime = Annotated[
    datetime,
    AfterValidator(as_utc),
    PlainSerializer(iso_short, return_type=str, when_used="json"),
]
PreciseUtcDatetime = Annotated[
    datetime,
    AfterValidator(as_utc),
    PlainSerializer(iso, return_type=str, when_used="json"),
]
"""A time that keeps its microseconds in JSON (a queued job's ``requested_at``, compared with a sync's start)."""
