"""Small shared types: UTC timestamps in one canonical text form, ids."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    """Canonical text form: fixed width, so text order is time order (used in DynamoDB keys)."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_short(value: datetime) -> str:
    """The form shown to users: seconds precision, Z suffix."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse ISO 8601 (``Z`` or an offset); naive text is UTC. ``ValueError`` for text that is not one, and
    for an instant that has no UTC form (``9999-12-31T23:59:59-01:00`` is in year 10000)."""
    try:
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except OverflowError as exc:
        raise ValueError(f"{text[:64]!r} is outside the range of dates") from exc


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


def new_id(prefix: str) -> str:
    """A short random id with a readable prefix, for example ``int_3f9c...``."""
    return f"{prefix}_{secrets.token_hex(8)}"
