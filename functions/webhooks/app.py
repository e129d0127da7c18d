"""Provider webhooks: verify the signature, put the delivery on the queue, answer 202.

``HEAD`` on the same path answers 200 (Trello checks the callback URL this way when a webhook is
created). Processing happens in the event processor, from the queue.

API Gateway routes only ``POST`` and ``HEAD /webhooks/{type}/{integration_id}`` here (template.yaml), so the
handler reads the route from the event itself, without Powertools' resolver: this function answers every
delivery of every provider, and its cold start stays within 1.5x a bare ``import boto3`` (``make bench``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agiletrack.errors import AgileTrackError, Unauthorized
from agiletrack.http.errors import (
    RETRY_AFTER_SECONDS,
    dependency_unavailable,
    logged_domain_error,
    proxy_error,
    proxy_result,
)
from agiletrack.intake_wiring import webhook_intake
from agiletrack.observability import logger, metrics, tracer


def _callback_url(event: dict[str, Any]) -> str:
    headers = event.get("headers") or {}
    proto = headers.get("x-forwarded-proto", "https")
    host = (event.get("requestContext") or {}).get("domainName") or headers.get("host", "")
    query = event.get("rawQueryString") or ""
    return f"{proto}://{host}{event.get('rawPath', '')}" + (f"?{query}" if query else "")


def _body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")


def _answer(event: dict[str, Any]) -> dict[str, Any]:
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "")
    params = event.get("pathParameters") or {}
    provider, integration_id = params.get("type"), params.get("integration_id")
    if method not in ("POST", "HEAD") or not provider or not integration_id:
        return proxy_error(404, "not_found", "No such webhook endpoint.")
    if method == "HEAD":
        webhook_intake().find(provider, integration_id)
        return proxy_result(200)
    logger.append_keys(integration_id=integration_id, provider=provider)
    accepted = webhook_intake().receive(
        provider, integration_id, event.get("headers") or {}, _body(event), _callback_url(event)
    )
    metrics.add_metric(name="WebhooksAccepted", unit=MetricUnit.Count, value=1)
    logger.info("webhook accepted", extra={"delivery_id": accepted.delivery_id, "claim_check": accepted.claim_check})
    return proxy_result(202, json.dumps({"accepted": True, "delivery_id": accepted.delivery_id}))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return _answer(event)
    except AgileTrackError as exc:
        if isinstance(exc, Unauthorized):
            metrics.add_metric(name="WebhooksRejected", unit=MetricUnit.Count, value=1)
        logger.info("webhook refused", extra={"code": exc.code})
        logged_domain_error(exc)
        return proxy_error(exc.status, exc.code, exc.message, exc.details)
    except Exception as exc:
        # Never 202 for a delivery we could not queue: 503 when SQS, S3, Secrets Manager or DynamoDB failed (the
        # provider delivers again), a logged 500 for anything else. Both are answers the provider retries.
        unavailable = dependency_unavailable(exc)
        if unavailable is not None:
            metrics.add_metric(name="WebhooksUnavailable", unit=MetricUnit.Count, value=1)
            return proxy_error(
                unavailable.status,
                unavailable.code,
                unavailable.message,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        logger.exception("webhook failed", extra={"error_type": type(exc).__name__})
        return proxy_error(500, "internal_error", "Something went wrong on our side; it has been logged.")
