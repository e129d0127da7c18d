"""Sync jobs as they travel on the sync queue."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from agiletrack.models.common import UtcDatetime, utcnow

JobReason = Literal["scheduled", "manual", "created", "credentials_changed", "continuation"]


class SyncJob(BaseModel):
    model_config = ConfigDict(extra="ignore")

    integration_id: str
    reason: JobReason = "scheduled"
    requested_at: UtcDatetime

    @classmethod
    def new(cls, integration_id: str, reason: JobReason, now: datetime | None = None) -> SyncJob:
        return cls(integration_id=integration_id, reason=reason, requested_at=now or utcnow())

    def body(self) -> dict[str, str]:
        return self.model_dump(mode="json")
