"""The cleanup job: removes, page by page and resumably, what an integration no longer needs.

A scope change and a delete change the integration at once (one transaction: the config or the ``deleting``
status, a new generation, the cursor reset) and leave the slow part to this job on the sync queue:

- the records written under an older generation (each delete conditional on that, so a record the new
  scope just wrote is never lost), kind by kind, one Query page at a time; for a deleted integration,
  whose fence no write can pass any more, all of them, with unconditional batch deletes;
- the cached metrics;
- for a deleted integration, then the webhook AgileTrack registered on the provider for it (with the
  credentials, so before the secret; best effort: a failure is logged and the delete goes on, and deliveries
  to a deleted integration are answered 410, which makes the provider drop the webhook itself), then its
  secret, and then its items in the Integrations table, ``META`` last.

The secret goes only once no record is left, and ``META`` after the secret, so a delete that stops halfway
leaves an integration still marked ``deleting`` (hidden by the API, skipped by the scheduler and the sync
worker) whose cleanup can simply run again; never one whose secret is gone while syncs still run.
Close to the function's timeout the job re-queues itself with where it stopped. A job killed without
re-queueing comes back from SQS after its visibility timeout and starts from the position its message
holds; deleting what is already gone costs a Query and nothing else. The scheduler re-sends a cleanup job
for every integration left ``deleting``, so even a lost message resumes within the hour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from agiletrack.adapters.providers.registry import record_types, spec_for
from agiletrack.domain.jobs import CleanupJob
from agiletrack.domain.ports import IntegrationStore, MetricsCache, Queues, RecordStore, SecretStore
from agiletrack.domain.webhook_registration import RegistrarFor, WebhookRegistrations
from agiletrack.models.integrations import Integration
from agiletrack.observability import logger

PAGE_SIZE = 500
STOP_MARGIN_MS = 30_000
"""Re-queue when less than this is left of the function's time: more than one page of deletes takes."""


@dataclass
class CleanupOutcome:
    outcome: Literal["done", "continued", "gone"]
    deleted: int = 0


class Cleanup:
    def __init__(
        self,
        *,
        integrations: IntegrationStore,
        records: RecordStore,
        metrics_cache: MetricsCache,
        secrets: SecretStore,
        queues: Queues,
        record_kinds: Iterable[str] | None = None,
        page_size: int = PAGE_SIZE,
        registrar_for: RegistrarFor | None = None,
    ) -> None:
        self.integrations = integrations
        self.records = records
        self.metrics_cache = metrics_cache
        self.secrets = secrets
        self.queues = queues
        self._record_kinds = tuple(record_kinds) if record_kinds is not None else None
        self.page_size = page_size
        self.webhooks = WebhookRegistrations(
            integrations=integrations,
            secrets=secrets,
            registrar_for=registrar_for,
        )

    @property
    def record_kinds(self) -> list[str]:
        """Every record kind, in a fixed order (a resumed job continues from a kind by name)."""
        return sorted(self._record_kinds if self._record_kinds is not None else record_types())

    def run(self, job: CleanupJob, *, remaining_ms: Callable[[], int]) -> CleanupOutcome:
        integration = self.integrations.get(job.integration_id)
        if integration is None:
            return CleanupOutcome("gone", job.deleted)  # META goes last: nothing of it is left
        deleting = integration.status == "deleting"
        kinds = self.record_kinds
        first = kinds.index(job.kind) if job.kind in kinds else 0
        deleted = job.deleted
        start = job.start
        pages = 0
        for kind in kinds[first:]:
            while True:
                if pages and remaining_ms() < STOP_MARGIN_MS:
                    self.queues.send_sync_job(
                        CleanupJob(integration_id=integration.id, kind=kind, start=start, deleted=deleted).body()
                    )
                    logger.info("cleanup continues in a new job", extra={"integration_id": integration.id})
                    return CleanupOutcome("continued", deleted)
                count, start = self.records.delete_older(
                    integration.id,
                    kind,
                    integration.generation,
                    start=start,
                    limit=self.page_size,
                    everything=deleting,
                )
                deleted += count
                pages += 1
                if start is None:
                    break
        self.metrics_cache.delete_all(integration.id)
        if deleting:
            self._remove_webhook(integration)
            self.secrets.delete(integration.secret_name)
            self.integrations.delete(integration.id)  # its partition, META last
        logger.info(
            "cleanup done",
            extra={"integration_id": integration.id, "deleted": deleted, "integration_deleted": deleting},
        )
        return CleanupOutcome("done", deleted)

    def _remove_webhook(self, integration: Integration) -> None:
        """The provider's webhook of a deleted integration, deleted with its credentials (best effort)."""
        stored = integration.webhook_registration
        if stored is None or stored.state != "registered":
            return
        try:
            secret = self.secrets.read(integration.secret_name, fresh=True)
        except Exception:
            logger.exception("secret unreadable: webhook left to expire", extra={"integration_id": integration.id})
            return
        credentials = {k: str(v) for k, v in dict(secret.get("credentials") or {}).items()}
        config = spec_for(integration.type).config_model.model_construct(**{**integration.config, **credentials})
        self.webhooks.remove(integration, config, credentials)
