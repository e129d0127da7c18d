"""Small shared types: UTC timestamps in one canonical text form, ids (the plain functions live in
``models.times``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer

from agiletrack.models.times import as_utc, iso, iso_short, new_id, parse_iso, utcnow

__all__ = ["UtcDatetime", "as_utc", "iso", "iso_short", "new_id", "parse_iso", "utcnow"]

UtcDatetime = Annotated[
    datetime,
    AfterValidator(as_utc),
    PlainSerializer(iso_short, return_type=str, when_used="json"),
]
