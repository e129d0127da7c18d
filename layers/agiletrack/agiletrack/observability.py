"""Logger, Tracer and Metrics shared by every handler (Powertools, configured from the environment).

The Tracer patches only botocore here, the one client every function uses: X-Ray's ``patch_all`` would
import every library it can patch (httpx with its command line's rich and click, requests, sqlite3...)
into every function. The provider HTTP client (``adapters/providers/http.py``) patches httpx when it is
imported, so the functions that call a provider trace those calls as before, and the others never load it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="agiletrack")
tracer = Tracer(service="agiletrack", patch_modules=("botocore",))
metrics = Metrics(namespace="AgileTrack", service="agiletrack")

REDACTED = "********"
GENERIC_SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "x-api-key"})


@cache
def sensitive_headers() -> frozenset[str]:
    """Headers never logged: the generic credential headers and every provider's webhook signature headers
    (read from the provider specs on first use, not at import)."""
    from agiletrack.adapters.providers.registry import specs

    return GENERIC_SENSITIVE_HEADERS | {h for spec in specs() for h in spec.signature_headers}


def __getattr__(name: str) -> Any:
    if name == "SENSITIVE_HEADERS":
        return sensitive_headers()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def redact_headers(headers: dict[str, str] | None) -> dict[str, str]:
    """Headers safe to log: credentials and signatures are replaced."""
    sensitive = sensitive_headers()
    return {k: (REDACTED if k.lower() in sensitive else v) for k, v in (headers or {}).items()}
