"""Jobs as they travel on the sync queue: sync jobs and cleanup jobs (told apart by ``type``; a message
without one is a sync job, as every message was before cleanup jobs existed)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from agiletrack.models.base import Model
from agiletrack.models.common import PreciseUtcDatetime, UtcDatetime, utcnow

JobReason = Literal["scheduled", "manual", "created", "credentials_changed", "continuation"]


class SyncJob(Model):
    model_config = ConfigDict(extra="ignore")

    type: Literal["sync"] = "sync"
    integration_id: str
    reason: JobReason = "scheduled"
    requested_at: PreciseUtcDatetime
    """To the microsecond on the queue: a job is dropped as covered by a sync that started after it was asked for,
    and a time cut to the second made a job asked for just after a sync started look covered by it."""
    generation: int | None = None
    """The scope generation the job was asked for; a job of an older one is dropped. None: the current one."""

    @classmethod
    def new(
        cls, integration_id: str, reason: JobReason, now: datetime | None = None, *, generation: int | None = None
    ) -> SyncJob:
        return cls(integration_id=integration_id, reason=reason, requested_at=now or utcnow(), generation=generation)

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class CleanupJob(Model):
    """Delete what an integration no longer needs: the records of older generations after a scope change, or,
    for an integration being deleted, everything (records, cached metrics, the secret, then the integration).
    ``kind`` and ``start`` say where a re-queued job resumes."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["cleanup"] = "cleanup"
    integration_id: str
    requested_at: UtcDatetime = Field(default_factory=utcnow)
    kind: str | None = None
    start: dict[str, Any] | None = None
    deleted: int = 0

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def parse_job(body: str) -> SyncJob | CleanupJob:
    """The job a sync queue message holds."""
    data: Any = json.loads(body)
    if isinstance(data, dict) and data.get("type") == "cleanup":
        return CleanupJob.model_validate(data)
    return SyncJob.model_validate(data)
