"""Jobs as they travel on the sync queue: sync jobs and cleanup jobs (told apart by ``type``; a message
without one is a sync job, as every message was before cleanup jobs existed).

Plain dataclasses, no pydantic: the scheduler writes a job for every integration every hour and uses no
model otherwise, and pydantic's import alone is about 0.4x a bare ``import boto3`` (docs/benchmarks.md,
"Cold starts"). We write every message ourselves, so reading one checks what the sync worker relies on (the
types, the reason, a time) and ignores keys it does not know, as the queue's other readers do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from agiletrack.models.times import as_utc, iso, iso_short, parse_iso, utcnow

JobReason = Literal["scheduled", "manual", "created", "credentials_changed", "continuation"]
JOB_REASONS: frozenset[str] = frozenset(get_args(JobReason))


class MalformedJob(ValueError):
    """A queue message that is not a job this code can run (the batch item fails; SQS retries, then the DLQ)."""


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedJob(f"{key} must be a non-empty string, not {type(value).__name__}")
    return value


def _optional_int(data: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = data.get(key, default)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise MalformedJob(f"{key} must be an integer, not {type(value).__name__}")


def _time(data: Mapping[str, Any], key: str) -> datetime:
    value = data.get(key)
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str):
        try:
            return parse_iso(value)
        except ValueError as exc:
            raise MalformedJob(f"{key} is not an ISO 8601 time: {value[:40]!r}") from exc
    raise MalformedJob(f"{key} must be an ISO 8601 time, not {type(value).__name__}")


@dataclass(frozen=True)
class SyncJob:
    integration_id: str
    requested_at: datetime
    """To the microsecond on the queue: a job is dropped as covered by a sync that started after it was asked for,
    and a time cut to the second made a job asked for just after a sync started look covered by it."""
    reason: JobReason = "scheduled"
    generation: int | None = None
    """The scope generation the job was asked for; a job of an older one is dropped. None: the current one."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "requested_at", as_utc(self.requested_at))

    @classmethod
    def new(
        cls, integration_id: str, reason: JobReason, now: datetime | None = None, *, generation: int | None = None
    ) -> SyncJob:
        return cls(integration_id=integration_id, reason=reason, requested_at=now or utcnow(), generation=generation)

    @classmethod
    def from_body(cls, data: Mapping[str, Any]) -> SyncJob:
        reason = data.get("reason", "scheduled")
        if reason not in JOB_REASONS:
            raise MalformedJob(f"reason must be one of {sorted(JOB_REASONS)}, not {str(reason)[:40]!r}")
        return cls(
            integration_id=_text(data, "integration_id"),
            requested_at=_time(data, "requested_at"),
            reason=reason,
            generation=_optional_int(data, "generation", None),
        )

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "sync",
            "integration_id": self.integration_id,
            "reason": self.reason,
            "requested_at": iso(self.requested_at),
        }
        if self.generation is not None:
            body["generation"] = self.generation
        return body


@dataclass(frozen=True)
class CleanupJob:
    """Delete what an integration no longer needs: the records of older generations after a scope change, or,
    for an integration being deleted, everything (records, cached metrics, the secret, then the integration).
    ``kind`` and ``start`` say where a re-queued job resumes."""

    integration_id: str
    requested_at: datetime = field(default_factory=utcnow)
    kind: str | None = None
    start: dict[str, Any] | None = None
    deleted: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "requested_at", as_utc(self.requested_at))

    @classmethod
    def from_body(cls, data: Mapping[str, Any]) -> CleanupJob:
        kind, start = data.get("kind"), data.get("start")
        if kind is not None and not isinstance(kind, str):
            raise MalformedJob(f"kind must be a string, not {type(kind).__name__}")
        if start is not None and not isinstance(start, dict):
            raise MalformedJob(f"start must be an object, not {type(start).__name__}")
        return cls(
            integration_id=_text(data, "integration_id"),
            requested_at=_time(data, "requested_at") if "requested_at" in data else utcnow(),
            kind=kind,
            start=start,
            deleted=_optional_int(data, "deleted", 0) or 0,
        )

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "cleanup",
            "integration_id": self.integration_id,
            "requested_at": iso_short(self.requested_at),
        }
        if self.kind is not None:
            body["kind"] = self.kind
        if self.start is not None:
            body["start"] = self.start
        body["deleted"] = self.deleted
        return body


def parse_job(body: str) -> SyncJob | CleanupJob:
    """The job a sync queue message holds; ``MalformedJob`` for a message that is not one."""
    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise MalformedJob("the message is not JSON") from exc
    if not isinstance(data, dict):
        raise MalformedJob(f"a job is a JSON object, not {type(data).__name__}")
    kind = data.get("type", "sync")
    if kind == "cleanup":
        return CleanupJob.from_body(data)
    if kind != "sync":
        raise MalformedJob(f"type must be sync or cleanup, not {str(kind)[:40]!r}")
    return SyncJob.from_body(data)
