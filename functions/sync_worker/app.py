"""Consumes sync jobs and cleanup jobs (SQS, partial batch failures) and applies the retry policy.

The engine decides; this handler applies: a job to retry is hidden until its retry time with
``ChangeMessageVisibility`` and reported as a failed batch item, so SQS counts the attempt and, after
the last one, moves it to the dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from agiletrack.adapters.aws.queues import queues
from agiletrack.domain.jobs import CleanupJob, parse_job
from agiletrack.observability import logger, metrics, tracer
from agiletrack.wiring import cleanup, sync_engine

# Batches hold one job (BatchSize 1): a retry is a reported item failure, not a function error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class RetryLater(Exception):
    """Marks the record failed so SQS retries it after the visibility timeout we set."""


def handle_job(record: SQSRecord, context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(record.message_id)
    job = parse_job(record.body)
    if isinstance(job, CleanupJob):
        logger.append_keys(integration_id=job.integration_id, job_type="cleanup")
        done = cleanup().run(job, remaining_ms=context.get_remaining_time_in_millis)
        logger.info("cleanup job done", extra={"outcome": done.outcome, "deleted": done.deleted})
        return {"outcome": done.outcome, "deleted": done.deleted}
    attempt = int(record.attributes.approximate_receive_count or 1)
    logger.append_keys(integration_id=job.integration_id, job_reason=job.reason, attempt=attempt)
    outcome = sync_engine().run(
        job, owner=record.message_id, attempt=attempt, remaining_ms=context.get_remaining_time_in_millis
    )
    metrics.add_metric(name="RecordsWritten", unit=MetricUnit.Count, value=outcome.records_written)
    metrics.add_metric(name="ApiCalls", unit=MetricUnit.Count, value=outcome.api_calls)
    if outcome.outcome in ("success", "partial"):
        metrics.add_metric(name="SyncsCompleted", unit=MetricUnit.Count, value=1)
    elif outcome.outcome == "rate_limited":
        metrics.add_metric(name="RateLimited", unit=MetricUnit.Count, value=1)
    elif outcome.outcome == "failed":
        metrics.add_metric(name="SyncFailures", unit=MetricUnit.Count, value=1)
    logger.info(
        "sync job done",
        extra={
            "outcome": outcome.outcome,
            "records_written": outcome.records_written,
            "api_calls": outcome.api_calls,
            "pages": outcome.pages,
            "bytes_received": outcome.bytes_received,
        },
    )
    if outcome.retry.action == "retry":
        queues().delay_retry(queues().sync_url, record.receipt_handle, outcome.retry.delay_seconds)
        raise RetryLater(f"{outcome.outcome}; retry in {outcome.retry.delay_seconds} s")
    return {"outcome": outcome.outcome}


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    def record_handler(record: SQSRecord) -> dict[str, Any]:
        return handle_job(record, context)

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
