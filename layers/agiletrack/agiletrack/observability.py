"""Logger, Tracer and Metrics shared by every handler (Powertools, configured from the environment)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from agiletrack.adapters.providers.registry import specs

logger = Logger(service="agiletrack")
tracer = Tracer(service="agiletrack")
metrics = Metrics(namespace="AgileTrack", service="agiletrack")

REDACTED = "********"
GENERIC_SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "x-api-key"})
SENSITIVE_HEADERS = GENERIC_SENSITIVE_HEADERS | {h for spec in specs() for h in spec.signature_headers}
"""Headers never logged: the generic credential headers and every provider's webhook signature headers."""


def redact_headers(headers: dict[str, str] | None) -> dict[str, str]:
    """Headers safe to log: credentials and signatures are replaced."""
    return {k: (REDACTED if k.lower() in SENSITIVE_HEADERS else v) for k, v in (headers or {}).items()}
