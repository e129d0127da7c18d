"""Webhook signature helpers: Jira ``X-Hub-Signature: sha256=<hex>`` and Trello ``X-Trello-Webhook``.

The expected values were computed independently with ``openssl dgst -hmac`` (and, for the HMAC-SHA256 one,
come from GitHub's documented test vector, the same scheme)."""

from __future__ import annotations

import pytest

from agiletrack.adapters.providers.jira.signature import jira_signature, verify_jira_signature
from agiletrack.adapters.providers.trello.signature import trello_signature, verify_trello_signature

# ---------------------------------------------------------------- Jira
DOC_SECRET = "It's a Secret to Everybody"
DOC_BODY = b"Hello, World!"
DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
JIRA_SECRET = "jira-webhook-secret"
JIRA_BODY = b'{"webhookEvent":"jira:issue_updated"}'
JIRA_SIGNATURE = "sha256=6aa3e2df6f840a29cd59150f566611c7d01a3297476a41585e35592366edf8c1"


def test_jira_signature_matches_known_vectors() -> None:
    assert jira_signature(DOC_SECRET, DOC_BODY) == DOC_SIGNATURE
    assert jira_signature(JIRA_SECRET, JIRA_BODY) == JIRA_SIGNATURE


@pytest.mark.parametrize(
    "header",
    [
        JIRA_SIGNATURE,
        JIRA_SIGNATURE.upper().replace("SHA256=", "sha256="),
        f"  {JIRA_SIGNATURE} ",
        "SHA256=" + JIRA_SIGNATURE[7:],
    ],
)
def test_jira_accepts_its_signature(header: str) -> None:
    assert verify_jira_signature(JIRA_SECRET, JIRA_BODY, header)


@pytest.mark.parametrize(
    ("secret", "body", "header"),
    [
        pytest.param(JIRA_SECRET, JIRA_BODY + b" ", JIRA_SIGNATURE, id="body-changed"),
        pytest.param("another-secret", JIRA_BODY, JIRA_SIGNATURE, id="other-secret"),
        pytest.param(JIRA_SECRET, JIRA_BODY, None, id="no-header"),
        pytest.param(JIRA_SECRET, JIRA_BODY, "", id="empty-header"),
        pytest.param(JIRA_SECRET, JIRA_BODY, JIRA_SIGNATURE[7:], id="no-algorithm"),
        pytest.param(JIRA_SECRET, JIRA_BODY, "sha1=" + JIRA_SIGNATURE[7:], id="other-algorithm"),
        pytest.param(JIRA_SECRET, JIRA_BODY, JIRA_SIGNATURE[:-2], id="truncated"),
        pytest.param(JIRA_SECRET, JIRA_BODY, "sha256=zz" + JIRA_SIGNATURE[9:], id="not-hex"),
        pytest.param(JIRA_SECRET, JIRA_BODY, "sha256=\u00e9" + JIRA_SIGNATURE[8:], id="not-ascii"),
        pytest.param("", JIRA_BODY, jira_signature("", JIRA_BODY), id="no-secret"),
    ],
)
def test_jira_refuses_anything_else(secret: str, body: bytes, header: str | None) -> None:
    assert not verify_jira_signature(secret, body, header)


# ---------------------------------------------------------------- Trello
TRELLO_SECRET = "trello-app-secret"
TRELLO_BODY = b'{"action":{"id":"5f0c1e2d3b4a596877665544","type":"updateCard"}}'
CALLBACK = "https://api.example.com/webhooks/trello/int_0123456789abcdef"
TRELLO_SIGNATURE = "5DBWQFvq9sgJQoJDQJvG/TdNyb0="


def test_trello_signature_is_base64_hmac_sha1_of_body_and_callback_url() -> None:
    assert trello_signature(TRELLO_SECRET, TRELLO_BODY, CALLBACK) == TRELLO_SIGNATURE
    # UTF-8 body and a callback URL with a query string, both signed as sent
    body = '{"a":"\u00e9"}'.encode()
    assert trello_signature("s", body, "https://x.example/cb?x=1&y=2") == "w+MBNJ/UWKBAsek1Vo12p1Cgjjg="


def test_trello_accepts_its_signature() -> None:
    assert verify_trello_signature(TRELLO_SECRET, TRELLO_BODY, CALLBACK, TRELLO_SIGNATURE)
    assert verify_trello_signature(TRELLO_SECRET, TRELLO_BODY, CALLBACK, f" {TRELLO_SIGNATURE}\n")


@pytest.mark.parametrize(
    ("secret", "body", "callback", "header"),
    [
        pytest.param(TRELLO_SECRET, TRELLO_BODY + b"\n", CALLBACK, TRELLO_SIGNATURE, id="body-changed"),
        pytest.param(TRELLO_SECRET, TRELLO_BODY, CALLBACK + "?x=1", TRELLO_SIGNATURE, id="callback-changed"),
        pytest.param(TRELLO_SECRET, TRELLO_BODY, CALLBACK.upper(), TRELLO_SIGNATURE, id="callback-case"),
        pytest.param("other", TRELLO_BODY, CALLBACK, TRELLO_SIGNATURE, id="other-secret"),
        pytest.param(TRELLO_SECRET, TRELLO_BODY, CALLBACK, None, id="no-header"),
        pytest.param(TRELLO_SECRET, TRELLO_BODY, CALLBACK, TRELLO_SIGNATURE[:-1], id="truncated"),
        pytest.param(TRELLO_SECRET, TRELLO_BODY, CALLBACK, "\u00e9" + TRELLO_SIGNATURE[1:], id="not-ascii"),
        pytest.param("", TRELLO_BODY, CALLBACK, trello_signature("", TRELLO_BODY, CALLBACK), id="no-secret"),
    ],
)
def test_trello_refuses_anything_else(secret: str, body: bytes, callback: str, header: str | None) -> None:
    assert not verify_trello_signature(secret, body, callback, header)
