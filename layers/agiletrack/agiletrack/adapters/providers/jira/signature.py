"""Jira admin-webhook signatures: ``X-Hub-Signature: sha256=<lowercase hex>``, an HMAC-SHA256 of the raw body
keyed with the webhook secret (WebSub ``method=signature`` form). Only ``sha256`` is accepted."""

from __future__ import annotations

import hashlib
import hmac

ALGORITHM = "sha256"


def jira_signature(secret: str, body: bytes) -> str:
    """The header value Jira sends for ``body``: ``sha256=<hex>``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"{ALGORITHM}={digest}"


def verify_jira_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is a ``sha256=`` signature of ``body`` with ``secret`` (constant-time compare).
    A missing header, another algorithm, or a malformed value is False."""
    if not header or not secret:
        return False
    algorithm, sep, received = header.strip().partition("=")
    if not sep or algorithm.strip().lower() != ALGORITHM:
        return False
    expected = jira_signature(secret, body).partition("=")[2]
    return hmac.compare_digest(expected.encode("ascii"), received.strip().lower().encode("utf-8"))
