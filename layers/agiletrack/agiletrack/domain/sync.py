"""The sync engine: one job pulls one integration since its stored cursor.

- A lease (a conditional write with an expiry) makes sure two syncs of one integration never overlap;
  a job that finds the lease taken is coalesced into the running one.
- Records are stored page by page and the cursor is saved only after the records it covers are stored:
  a crash re-pulls the last page, it never skips one.
- Close to the function's timeout the engine stops after a page and queues a continuation job, so a
  first sync of a large repository finishes across several invocations with no page pulled twice. The
  provider's requests get a deadline ``FINISH_MARGIN_MS`` before the function's: a request still unanswered
  then (a provider that hangs) ends the invocation the same way, cleanly, before Lambda would kill it.
- Failures are classified and turned into a retry decision (``RetryDecision``); the SQS consumer
  applies it (visibility timeout, then partial batch failure). Only refused credentials stop the
  integration (``failed``, no longer scheduled); retries used up on anything else leave it ``error`` and
  scheduled, and the next good sync makes it ``active`` again.
- Every write is fenced by the integration's scope generation, read once at the start: records go in
  transactions that check it, the cursor save is conditional on it and on the lease, and so are the status
  writes. A scope change or a delete raises the generation; the worker's next write is refused
  (``Superseded``) and it stops without writing anything more.
- Progress: with each page's cursor (the same write) the engine stores the sync's ``SyncProgress``: the
  phase the adapter's ``PullPage.progress`` names, pages and records so far (carried over continuations),
  and, for a first sync, how much of the time back to the backfill start the phase has covered.
- Each invocation that ran a pull is kept as a ``SyncRun`` (outcome, counts, API calls, bytes received,
  duration, the worker's peak memory, the error) for ``GET /integrations/{id}/syncs``.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from agiletrack.adapters.providers.base import ProviderAdapter, PullContext, PullPage, PullProgress
from agiletrack.deadline import time_limit
from agiletrack.domain.jobs import SyncJob
from agiletrack.domain.ports import IntegrationStore, Queues, RecordStore, SecretStore
from agiletrack.errors import AuthError, ProviderTimeout, RateLimitError, Superseded, UnsupportedProvider
from agiletrack.models.common import utcnow
from agiletrack.models.integrations import Integration, LastError, LastSync, SyncProgress, SyncRun
from agiletrack.observability import logger

SYNC_INTERVAL = timedelta(hours=1)
RATE_LIMIT_DEFAULT_WAIT = timedelta(seconds=60)
OTHER_FAILURE_WAIT = timedelta(seconds=300)
MAX_RETRIES = 3
"""A job is tried once and retried at most three times (the queue's ``maxReceiveCount`` is 4)."""
LEASE_WAIT = timedelta(seconds=60)
"""A job of a newer generation that finds the lease held by a worker of an older one waits this long (the old
worker stops at its next write and gives the lease back)."""
STOP_MARGIN_MS = 60_000
"""Stop pulling when less than this is left of the function's time: enough to store a page."""
FINISH_MARGIN_MS = 20_000
"""The provider's requests must end this long before the function's deadline: time left to store the page
under way, queue the continuation and record the status, instead of being killed in a hung request."""


@dataclass(frozen=True)
class RetryDecision:
    """What the consumer does with the job's message."""

    action: Literal["done", "retry"]
    delay_seconds: int = 0


@dataclass
class SyncOutcome:
    outcome: Literal["success", "partial", "coalesced", "skipped", "superseded", "deferred", "failed", "rate_limited"]
    records_written: int = 0
    records_pulled: int = 0
    pages: int = 0
    api_calls: int = 0
    points_spent: int = 0
    bytes_received: int = 0
    retry: RetryDecision = RetryDecision("done")
    error: str | None = None


def peak_memory_mb() -> float | None:
    """The process's peak resident set so far, in MiB (Lambda reuses the process: the peak of the sandbox)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def advance_progress(
    progress: SyncProgress, page: PullProgress | None, *, records: int, backfill_since: datetime, at: datetime
) -> SyncProgress:
    """The progress after one more page of ``records`` records that declared ``page``. Pure.

    A new phase starts its reach afresh. For a first sync, ``percent`` is the share of the span from
    ``backfill_since`` to the sync's start that the phase has covered: from ``oldest`` up to the start for a
    phase read newest first, from the backfill start up to ``newest`` for one read oldest first."""
    phase, oldest, newest = progress.phase, progress.oldest, progress.newest
    if page is not None:
        if page.phase != phase:
            phase, oldest, newest = page.phase, None, None
        if page.oldest is not None:
            oldest = page.oldest if oldest is None else min(oldest, page.oldest)
        if page.newest is not None:
            newest = page.newest if newest is None else max(newest, page.newest)
    percent: float | None = None
    if progress.first_sync and (oldest is not None or newest is not None):
        start, end = backfill_since, progress.started_at
        total = (end - start).total_seconds()
        low = max(oldest, start) if oldest is not None else start
        high = min(newest, end) if newest is not None else end
        if total > 0:
            percent = round(min(100.0, max(0.0, 100.0 * (high - low).total_seconds() / total)), 1)
    return progress.model_copy(
        update={
            "phase": phase,
            "pages": progress.pages + 1,
            "records": progress.records + records,
            "oldest": oldest,
            "newest": newest,
            "percent": percent,
            "updated_at": at,
        }
    )


def _cursor(state: Mapping[str, Any]) -> dict[str, Any]:
    import json

    raw = state.get("cursor")
    if not raw:
        return {}
    value = json.loads(raw) if isinstance(raw, str) else raw
    return dict(value) if isinstance(value, dict) else {}


class SyncEngine:
    def __init__(
        self,
        *,
        integrations: IntegrationStore,
        records: RecordStore,
        secrets: SecretStore,
        queues: Queues,
        adapter_for: Callable[[str], ProviderAdapter],
        backfill_days: int,
        lease_ttl: timedelta,
        on_synced: Callable[[Integration], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        memory_peak: Callable[[], float | None] = peak_memory_mb,
    ) -> None:
        self.integrations = integrations
        self.records = records
        self.secrets = secrets
        self.queues = queues
        self.adapter_for = adapter_for
        self.backfill_days = backfill_days
        self.lease_ttl = lease_ttl
        self.on_synced = on_synced
        self.clock = clock
        self.memory_peak = memory_peak

    def run(
        self,
        job: SyncJob,
        *,
        owner: str,
        attempt: int,
        remaining_ms: Callable[[], int],
    ) -> SyncOutcome:
        """Run one job. ``attempt`` is the message's receive count (1 for the first try)."""
        integration = self.integrations.get(job.integration_id)
        if integration is None or integration.status == "deleting":
            logger.info("integration gone; job dropped", extra={"integration_id": job.integration_id})
            return SyncOutcome("skipped")
        if job.generation is not None and job.generation < integration.generation:
            logger.info("job of an older scope; dropped", extra={"integration_id": integration.id})
            return SyncOutcome("skipped")
        if integration.status == "failed" and job.reason in ("scheduled", "continuation"):
            return SyncOutcome("skipped")
        last = integration.last_sync
        if (
            job.reason != "continuation"
            and last is not None
            and last.outcome == "success"
            and last.started_at >= job.requested_at
        ):
            # A sync that started after this job was asked for has covered it.
            logger.info("job already covered by a later sync; coalesced", extra={"integration_id": integration.id})
            return SyncOutcome("coalesced")
        try:
            self.adapter_for(integration.type)
        except UnsupportedProvider as exc:
            # Credentials are kept and validated; there is nothing to pull yet. Say so once, no retry.
            now = self.clock()
            self.integrations.update(
                integration.id, {"last_error": LastError(at=now, kind="other", message=exc.message)}
            )
            return SyncOutcome("skipped")
        started = self.clock()
        generation = integration.generation
        if not self.integrations.acquire_lease(
            integration.id,
            owner,
            started,
            ttl=self.lease_ttl,
            generation=generation,
            keep_progress=job.reason == "continuation",
        ):
            held_under = int(self.integrations.sync_state(integration.id).get("lease_generation") or 0)
            if held_under < generation:
                # The running worker pulls an older scope: it stops at its next write; this job runs after it.
                logger.info(
                    "lease held by an older scope's sync; job deferred", extra={"integration_id": integration.id}
                )
                return SyncOutcome("deferred", retry=RetryDecision("retry", int(LEASE_WAIT.total_seconds())))
            logger.info("a sync is already running; job coalesced", extra={"integration_id": integration.id})
            return SyncOutcome("coalesced")
        try:
            result = self._run_leased(integration, job, owner, attempt, started, remaining_ms)
            self._keep_run(integration, job, owner, started, result)
            return result
        except Superseded:
            logger.info(
                "scope changed or integration deleted during the sync; stopped",
                extra={"integration_id": integration.id},
            )
            return SyncOutcome("superseded")
        finally:
            self.integrations.release_lease(integration.id, owner)

    def _run_leased(
        self,
        integration: Integration,
        job: SyncJob,
        owner: str,
        attempt: int,
        started: datetime,
        remaining_ms: Callable[[], int],
    ) -> SyncOutcome:
        adapter = self.adapter_for(integration.type)
        # New credentials must be used at once, not after the secret cache expires.
        try:
            secret = self.secrets.read(integration.secret_name, fresh=job.reason in ("created", "credentials_changed"))
        except Exception as exc:  # Secrets Manager throttled or down: a transient failure, retried as any other
            logger.exception("credentials could not be read", extra={"integration_id": integration.id})
            unread = PullContext(
                integration_id=integration.id,
                config=adapter.config_model.model_construct(**integration.config),
                credentials={},
                cursor={},
                backfill_since=started - timedelta(days=self.backfill_days),
            )
            return self._failed(integration, job, started, unread, SyncOutcome("failed"), exc, attempt, None)
        credentials: dict[str, str] = dict(secret.get("credentials") or {})
        config = adapter.config_model.model_validate({**integration.config, **credentials})
        generation = integration.generation
        state = self.integrations.sync_state(integration.id)
        cursor = _cursor(state) if int(state.get("generation") or 0) == generation else {}
        progress = self._progress_at_start(integration, job, state, started)
        ctx = PullContext(
            integration_id=integration.id,
            config=config,
            credentials=credentials,
            cursor=cursor,
            backfill_since=started - timedelta(days=self.backfill_days),
            provider_state=dict(integration.provider_state),
        )
        self._fenced_update(
            integration, {"status": "syncing", "last_sync": LastSync(started_at=started, outcome="running")}
        )
        result = SyncOutcome("success")
        newest: datetime | None = None
        pull_seconds = max(0.0, (remaining_ms() - FINISH_MARGIN_MS) / 1000)
        try:
            finished_stream = False
            with time_limit(pull_seconds) as deadline:
                for page in self._pages(adapter, ctx, deadline):
                    assert isinstance(page, PullPage)
                    result.pages += 1
                    result.records_pulled += len(page.records)
                    progress = advance_progress(
                        progress,
                        page.progress,
                        records=len(page.records),
                        # measured from the sync's first invocation, so a continuation's percentage does not jump
                        backfill_since=progress.started_at - timedelta(days=self.backfill_days),
                        at=self.clock(),
                    )
                    if page.records:
                        result.records_written += self.records.put_many(
                            integration.id, page.records, generation=generation
                        )
                        page_newest = max(r.updated_at for r in page.records)
                        newest = page_newest if newest is None else max(newest, page_newest)
                    if page.provider_state is not None and page.provider_state != ctx.provider_state:
                        self._fenced_update(integration, {"provider_state": page.provider_state})
                        ctx.provider_state = dict(page.provider_state)
                    self.integrations.save_cursor(
                        integration.id, owner, page.cursor, generation=generation, progress=progress
                    )
                    if page.done:
                        finished_stream = True
                        break
                    if remaining_ms() < STOP_MARGIN_MS:
                        break
            if not finished_stream:
                result.outcome = "partial"
        except Superseded:
            raise
        except RateLimitError as exc:
            return self._failed(integration, job, started, ctx, result, exc, attempt, newest)
        except AuthError as exc:
            return self._failed(integration, job, started, ctx, result, exc, attempt, newest)
        except Exception as exc:
            logger.exception("sync failed", extra={"integration_id": integration.id})
            return self._failed(integration, job, started, ctx, result, exc, attempt, newest)
        finally:
            result.api_calls = ctx.stats.calls
            result.points_spent = ctx.stats.points_spent
            result.bytes_received = ctx.stats.bytes_received

        finished = self.clock()
        changes: dict[str, Any] = self._stats_changes(ctx, result, newest, integration.newest_data_at)
        if result.outcome == "partial":
            # Out of time: keep the place (the cursor is saved) and continue in a fresh invocation.
            self.queues.send_sync_job(
                SyncJob.new(integration.id, "continuation", finished, generation=generation).body()
            )
            changes["last_sync"] = self._last_sync(started, finished, "partial", result)
            self._fenced_update(integration, changes)
            self.integrations.add_event(integration.id, "job", finished, outcome="partial")
            return result
        changes.update(
            {
                "status": "active",
                "last_sync": self._last_sync(started, finished, "success", result),
                "last_success_at": finished,
                "next_sync_at": finished + SYNC_INTERVAL,
                "last_error": None,
            }
        )
        self._fenced_update(integration, changes)
        self.integrations.add_event(integration.id, "job", finished, outcome="success")
        if self.on_synced is not None:
            refreshed = self.integrations.get(integration.id)
            if refreshed is not None:
                self.on_synced(refreshed)
        return result

    @staticmethod
    def _pages(adapter: ProviderAdapter, ctx: PullContext, deadline: float) -> Iterator[PullPage]:
        """The adapter's pages, until the pull ends or a provider request is cut by the invocation's deadline
        (``FINISH_MARGIN_MS`` before the function's): then the pages stored so far stand and the sync goes on
        in a continuation, as when it stops between pages."""
        try:
            yield from adapter.pull(ctx)
        except ProviderTimeout:
            if time.monotonic() < deadline:
                raise
            logger.info(
                "provider requests reached the invocation's deadline; continuing in a new invocation",
                extra={"integration_id": ctx.integration_id},
            )

    # ------------------------------------------------------------ failures and retries
    def _failed(
        self,
        integration: Integration,
        job: SyncJob,
        started: datetime,
        ctx: PullContext,
        result: SyncOutcome,
        exc: Exception,
        attempt: int,
        newest: datetime | None,
    ) -> SyncOutcome:
        now = self.clock()
        result.api_calls = ctx.stats.calls
        result.points_spent = ctx.stats.points_spent
        result.bytes_received = ctx.stats.bytes_received
        changes = self._stats_changes(ctx, result, newest, integration.newest_data_at)
        if isinstance(exc, AuthError):
            kind: Literal["rate_limit", "auth", "other"] = "auth"
            retry = RetryDecision("done")
            outcome: Literal["failed", "rate_limited"] = "failed"
        elif isinstance(exc, RateLimitError):
            kind = "rate_limit"
            retry_at = exc.retry_at or now + RATE_LIMIT_DEFAULT_WAIT
            wait = max((retry_at - now).total_seconds(), 0.0)
            retry = RetryDecision("retry", int(wait) + 1)
            outcome = "rate_limited"
        else:
            kind = "other"
            retry = RetryDecision("retry", int(OTHER_FAILURE_WAIT.total_seconds()))
            outcome = "failed"
        message = getattr(exc, "message", None) or f"{type(exc).__name__} during sync"
        last_error = LastError(at=now, kind=kind, message=str(message)[:500])
        exhausted = retry.action == "retry" and attempt > MAX_RETRIES
        status: Literal["failed", "error", "active", "pending"]
        if kind == "auth":
            # Refused credentials: stopped (not scheduled) until they change.
            status = "failed"
        elif exhausted:
            # Retries used up on a transient cause: the job goes to the DLQ (the alarm fires), the integration
            # stays scheduled and the next hour's sync tries again.
            status = "error"
            retry = RetryDecision("retry", 0)
        else:
            status = "active" if integration.last_success_at else "pending"
        changes.update(
            {
                "status": status,
                "last_error": last_error,
                "last_sync": self._last_sync(started, now, outcome, result),
            }
        )
        if status == "failed":
            changes["next_sync_at"] = None
        elif status == "error":
            changes["next_sync_at"] = now + SYNC_INTERVAL
        else:
            changes["next_sync_at"] = now + timedelta(seconds=retry.delay_seconds)
        if not self.integrations.update(integration.id, changes, only_if_generation=integration.generation):
            logger.info("sync of an older scope failed; nothing recorded", extra={"integration_id": integration.id})
            return SyncOutcome("superseded")
        self.integrations.add_event(integration.id, "job", now, outcome=outcome)
        logger.warning(
            "sync job failed",
            extra={
                "integration_id": integration.id,
                "kind": kind,
                "attempt": attempt,
                "retry_in_s": retry.delay_seconds if retry.action == "retry" else None,
                "reason": job.reason,
            },
        )
        result.outcome = outcome
        result.retry = retry
        result.error = last_error.message
        return result

    # ------------------------------------------------------------ progress and runs
    @staticmethod
    def _progress_at_start(
        integration: Integration, job: SyncJob, state: Mapping[str, Any], started: datetime
    ) -> SyncProgress:
        """A continuation carries on the progress its sync stored; any other job starts a new one. A sync is a
        first one until one succeeds (a new integration, a changed scope, a first sync tried again)."""
        stored = state.get("progress")
        if job.reason == "continuation" and isinstance(stored, dict):
            try:
                return SyncProgress.model_validate(stored)
            except ValueError:
                logger.warning("stored sync progress unreadable; counting afresh")
        first = integration.last_success_at is None
        return SyncProgress(phase=None, pages=0, records=0, first_sync=first, percent=None, started_at=started)

    def _keep_run(
        self, integration: Integration, job: SyncJob, owner: str, started: datetime, result: SyncOutcome
    ) -> None:
        if result.outcome not in ("success", "partial", "failed", "rate_limited"):
            return
        finished = self.clock()
        run = SyncRun(
            started_at=started,
            finished_at=finished,
            outcome=result.outcome,
            reason=job.reason,
            records_written=result.records_written,
            records_pulled=result.records_pulled,
            pages=result.pages,
            api_calls=result.api_calls,
            bytes_received=result.bytes_received,
            duration_ms=int((finished - started).total_seconds() * 1000),
            peak_memory_mb=self.memory_peak(),
            error=result.error,
        )
        try:
            self.integrations.add_run(integration.id, run, owner)
        except Exception:  # the run's history is for people; its loss must not fail or retry the sync
            logger.exception("sync run not recorded", extra={"integration_id": integration.id})

    def _fenced_update(self, integration: Integration, changes: dict[str, Any]) -> None:
        """Record status fields only while the integration is still of the generation this sync pulls."""
        if not self.integrations.update(integration.id, changes, only_if_generation=integration.generation):
            raise Superseded("the integration's generation moved on; status not recorded")

    # ------------------------------------------------------------ status fields
    def _last_sync(self, started: datetime, finished: datetime, outcome: Any, result: SyncOutcome) -> LastSync:
        return LastSync(
            started_at=started,
            finished_at=finished,
            outcome=outcome,
            records=result.records_written,
            api_calls=result.api_calls,
            duration_ms=int((finished - started).total_seconds() * 1000),
            bytes_received=result.bytes_received,
            peak_memory_mb=self.memory_peak(),
        )

    @staticmethod
    def _stats_changes(
        ctx: PullContext, result: SyncOutcome, newest: datetime | None, previous_newest: datetime | None
    ) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        quota = ctx.stats.quota()
        if quota is not None:
            changes["api_quota"] = quota
        if ctx.stats.response_ms:
            changes["api_response_ms"] = round(statistics.median(ctx.stats.response_ms), 1)
        if result.records_written:
            changes["data_changed_at"] = utcnow()
        if newest is not None and (previous_newest is None or newest > previous_newest):
            changes["newest_data_at"] = newest
        return changes
