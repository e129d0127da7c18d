"""The hourly scheduler: one sync job per integration that is not ``failed`` (credentials refused) or
``deleting``; an ``error`` integration (retries used up on a transient cause) is scheduled like any other.
An integration left ``deleting`` gets its cleanup job again (a lost one resumes within the hour).

Jobs go out with ``SendMessageBatch`` (ten per call), each with a random delay within the first quarter
hour (SQS's longest delay), so thousands of integrations do not hit the providers in the same second.

The scheduler writes nothing per integration: duplicates are coalesced where they meet, in the sync
worker, which skips a job requested before the integration's last sync started (that sync already
covered it) and never runs two syncs of one integration at once (the lease).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agiletrack.domain.jobs import CleanupJob, SyncJob
from agiletrack.domain.ports import IntegrationStore, Queues
from agiletrack.models.times import utcnow

SPREAD_SECONDS = 900


@dataclass
class ScheduleReport:
    seen: int = 0
    queued: int = 0
    skipped_failed: int = 0
    cleanups: int = 0
    send_failures: int = 0


def schedule_all(
    store: IntegrationStore,
    queue: Queues,
    *,
    spread_seconds: int = SPREAD_SECONDS,
    chunk: int = 500,
) -> ScheduleReport:
    report = ScheduleReport()
    now = utcnow()
    pending: list[dict[str, Any]] = []
    cleanups: list[dict[str, Any]] = []

    def flush() -> None:
        failed = queue.send_sync_jobs(pending, spread_seconds=spread_seconds)
        report.send_failures += len(failed)
        report.queued += len(pending) - len(failed)
        pending.clear()

    for integration_id, status in store.schedulable():
        report.seen += 1
        if status == "failed":
            # Stopped until its credentials change (the config API queues a sync then).
            report.skipped_failed += 1
            continue
        if status == "deleting":
            cleanups.append(CleanupJob(integration_id=integration_id, requested_at=now).body())
            continue
        pending.append(SyncJob.new(integration_id, "scheduled", now).body())
        if len(pending) >= chunk:
            flush()
    if pending:
        flush()
    if cleanups:  # few: integrations whose cleanup has not finished
        failed = queue.send_sync_jobs(cleanups, spread_seconds=spread_seconds)
        report.send_failures += len(failed)
        report.cleanups = len(cleanups) - len(failed)
    return report
