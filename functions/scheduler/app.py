"""Hourly (EventBridge Scheduler): one sync job per integration that is not failed."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.domain.scheduling import schedule_all
from agiletrack.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = schedule_all(integration_store(), queues())
    metrics.add_metric(name="SyncJobsScheduled", unit=MetricUnit.Count, value=report.queued)
    logger.info("scheduled sync jobs", extra=asdict(report))
    return asdict(report)
