"""Logger, Tracer and Metrics shared by every handler (Powertools, configured from the environment)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="agiletrack")
tracer = Tracer(service="agiletrack")
metrics = Metrics(namespace="AgileTrack", service="agiletrack")

REDACTED = "********"
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-trello-webhook",
        "cookie",
        "x-api-key",
    }
)


def redact_headers(headers: dict[str, str] | None) -> dict[str, str]:
    """Headers safe to log: credentials and signatures are replaced."""
    return {k: (REDACTED if k.lower() in SENSITIVE_HEADERS else v) for k, v in (headers or {}).items()}
