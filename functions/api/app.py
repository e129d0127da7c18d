"""The config and metrics HTTP API: one Powertools resolver; routes live in agiletrack.http.routers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from agiletrack.http.app import build_app, oversized, to_lambda_response
from agiletrack.http.routers.web import web_router
from agiletrack.observability import logger, metrics, tracer

app = build_app()
app.include_router(web_router(Path(__file__).with_name("static")))  # the dashboard, built by `make web`


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    too_large = oversized(event)
    if too_large is not None:
        return to_lambda_response(too_large)
    return app.resolve(event, context)
