"""Provider webhooks: verify the signature, put the delivery on the queue, answer 202.

``HEAD`` on the same path answers 200 (Trello checks the callback URL this way when a webhook is
created). Processing happens in the event processor, from the queue.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agiletrack.errors import AgileTrackError, Unauthorized
from agiletrack.http.errors import JSON, error_response, from_dependency_error, from_domain_error
from agiletrack.observability import logger, metrics, tracer
from agiletrack.wiring import webhook_intake

app = APIGatewayHttpResolver()


def _callback_url(event: dict[str, Any]) -> str:
    headers = event.get("headers") or {}
    proto = headers.get("x-forwarded-proto", "https")
    host = (event.get("requestContext") or {}).get("domainName") or headers.get("host", "")
    query = event.get("rawQueryString") or ""
    return f"{proto}://{host}{event.get('rawPath', '')}" + (f"?{query}" if query else "")


def _body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")


@app.post("/webhooks/<provider>/<integration_id>")
def receive(provider: str, integration_id: str) -> Response[str]:
    event = app.current_event.raw_event
    logger.append_keys(integration_id=integration_id, provider=provider)
    accepted = webhook_intake().receive(
        provider, integration_id, app.current_event.headers, _body(event), _callback_url(event)
    )
    metrics.add_metric(name="WebhooksAccepted", unit=MetricUnit.Count, value=1)
    logger.info("webhook accepted", extra={"delivery_id": accepted.delivery_id, "claim_check": accepted.claim_check})
    return Response(
        status_code=202,
        content_type=JSON,
        body=json.dumps({"accepted": True, "delivery_id": accepted.delivery_id}),
    )


@app.route("/webhooks/<provider>/<integration_id>", method="HEAD")
def check(provider: str, integration_id: str) -> Response[str]:
    webhook_intake().find(provider, integration_id)
    return Response(status_code=200, content_type=JSON, body="")


@app.exception_handler(AgileTrackError)
def refused(exc: AgileTrackError) -> Response[str]:
    if isinstance(exc, Unauthorized):
        metrics.add_metric(name="WebhooksRejected", unit=MetricUnit.Count, value=1)
    logger.info("webhook refused", extra={"code": exc.code})
    return from_domain_error(exc)


@app.exception_handler(Exception)
def failed(exc: Exception) -> Response[str]:
    """Never 202 for a delivery we could not queue: 503 when SQS, S3, Secrets Manager or DynamoDB failed (the
    provider delivers again), a logged 500 for anything else. Both are answers the provider retries."""
    unavailable = from_dependency_error(exc)
    if unavailable is not None:
        metrics.add_metric(name="WebhooksUnavailable", unit=MetricUnit.Count, value=1)
        return unavailable
    logger.exception("webhook failed", extra={"error_type": type(exc).__name__})
    return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")


@app.not_found
def not_found(_exc: Exception) -> Response[str]:
    return error_response(404, "not_found", "No such webhook endpoint.")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
