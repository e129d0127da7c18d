"""Trello webhook signatures: ``X-Trello-Webhook`` is base64(HMAC-SHA1(application secret, raw body + callbackURL)).

The callback URL must be the exact one the webhook was created with (query string included), and the body the
raw bytes received: re-serialized JSON does not match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def trello_signature(secret: str, body: bytes, callback_url: str) -> str:
    """The ``X-Trello-Webhook`` value Trello sends for ``body`` delivered to ``callback_url``."""
    mac = hmac.new(secret.encode("utf-8"), body + callback_url.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def verify_trello_signature(secret: str, body: bytes, callback_url: str, header: str | None) -> bool:
    """True when ``header`` is the signature of ``body`` + ``callback_url`` (constant-time compare)."""
    if not header or not secret:
        return False
    expected = trello_signature(secret, body, callback_url)
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("utf-8"))
