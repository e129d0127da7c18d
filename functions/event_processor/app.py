"""Consumes webhook deliveries (SQS, partial batch failures), de-duplicated by delivery id.

The Powertools idempotency utility keys each delivery by integration and the provider's delivery id
(GitHub ``X-GitHub-Delivery``, Jira ``X-Atlassian-Webhook-Identifier``, Trello's action id): a
redelivered webhook is processed once. A delivery that keeps failing goes to the DLQ after three
retries, its raw body intact.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from agiletrack.observability import logger, metrics, tracer
from agiletrack.settings import get_settings
from agiletrack.wiring import event_processor

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
DEDUP_WINDOW_SECONDS = 7 * 24 * 3600
"""Longer than any provider redelivers (GitHub: 3 days by hand; Jira: about 30 minutes)."""


@cache
def _idempotency() -> tuple[Any, IdempotencyConfig]:
    persistence = DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table)
    config = IdempotencyConfig(event_key_jmespath="dedup_key", expires_after_seconds=DEDUP_WINDOW_SECONDS)

    @idempotent_function(data_keyword_argument="delivery", persistence_store=persistence, config=config)
    def process_once(delivery: dict[str, Any]) -> dict[str, Any]:
        return asdict(event_processor().process(delivery["message"]))

    return process_once, config


def handle_delivery(record: SQSRecord, context: LambdaContext) -> dict[str, Any]:
    message = json.loads(record.body)
    logger.set_correlation_id(str(message.get("delivery_id") or record.message_id))
    logger.append_keys(integration_id=message.get("integration_id"), delivery_id=message.get("delivery_id"))
    process_once, config = _idempotency()
    config.register_lambda_context(context)
    dedup_key = f"{message['integration_id']}:{message['delivery_id']}"
    result: dict[str, Any] = process_once(delivery={"dedup_key": dedup_key, "message": message})
    metrics.add_metric(name="WebhooksProcessed", unit=MetricUnit.Count, value=1)
    logger.info("delivery processed", extra=result)
    return result


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    def record_handler(record: SQSRecord) -> dict[str, Any]:
        return handle_delivery(record, context)

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
