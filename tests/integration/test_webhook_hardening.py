"""Webhook intake under abuse and rotation, handler by handler against moto (issue 8, items 4, 5 and 6):

- a flood of bad signatures costs at most one uncached ``GetSecretValue`` a minute per integration and writes
  no new items (one hourly counter item takes every rejection);
- the status route reads a bounded number of items however many deliveries and jobs there were;
- a signed body that is not a JSON payload is answered 400 and never queued;
- after a webhook secret rotation the new secret works at once and the old one stops verifying.

AWS calls are counted with botocore event hooks on the real clients (the code under test is not mocked).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from agiletrack.adapters.aws import clients
from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.models.common import utcnow
from agiletrack.settings import Settings
from agiletrack.wiring import webhook_intake
from devstack.lambda_runtime import clear_agiletrack_caches
from devstack.template import Resources
from tests.fakes.github import FakeGitHub
from tests.integration.conftest import ApiCaller
from tests.integration.test_webhook_pipeline import (
    Hooked,
    call_webhooks,
    github_delivery,
    ping_payload,
    receive,
    signature,
    status_of,
    webhook_event,
)


class Counter:
    """Counts calls of one AWS operation on a real boto3 client, and keeps their parameters."""

    def __init__(self, client: Any, event: str) -> None:
        self.calls: list[dict[str, Any]] = []
        self.client = client
        self.event = event
        client.meta.events.register(event, self._record)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.calls.append(params)

    def close(self) -> None:
        self.client.meta.events.unregister(self.event, self._record)


@pytest.fixture
def secret_reads(aws: Resources) -> Iterator[Counter]:
    counter = Counter(clients.secretsmanager(), "provide-client-params.secrets-manager.GetSecretValue")
    yield counter
    counter.close()


@pytest.fixture
def integration(call_api: ApiCaller) -> Iterator[Hooked]:
    """A GitHub integration created through the API, with the webhook secret it answered once."""
    with FakeGitHub() as github:
        config = github.config().model_dump(mode="json")
        reply = call_api("POST", "/integrations", "team_a", {"type": "github", "config": config})
        assert reply.status == 201, reply.text
        yield Hooked(reply.json()["id"], reply.json()["webhook"]["secret"])


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def bad_delivery(integration_id: str, n: int) -> dict[str, Any]:
    body = json.dumps(ping_payload()).encode()
    headers = {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-github-delivery": f"d-bad-{n}",
        "x-hub-signature-256": signature("not-the-secret", body),
    }
    return webhook_event(integration_id, body, headers)


def counter_items(integration_id: str) -> list[dict[str, Any]]:
    """Every item of the integration's partition that is neither the integration nor its sync state."""
    items = boto3.client("dynamodb").query(
        TableName=integration_store().table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"INT#{integration_id}"}},
    )["Items"]
    return [item for item in items if item["sk"]["S"] not in ("META", "SYNC")]


# ---------------------------------------------------------------- item 4: floods cost O(1)
def test_a_flood_of_bad_signatures_reads_the_secret_at_most_once_a_minute(
    aws: Resources, integration: Hooked, secret_reads: Counter
) -> None:
    # Given a warm webhooks function: one good delivery read (and cached) the secret
    clock = FakeMonotonic()
    webhook_intake().monotonic = clock
    assert call_webhooks(github_delivery(integration.id, integration.secret, "ping", ping_payload())).status == 202
    assert len(secret_reads.calls) == 1

    # When 30 deliveries with a bad signature arrive within a minute
    answers = [call_webhooks(bad_delivery(integration.id, n)).status for n in range(30)]

    # Then every one is refused, and the secret was read uncached once (not once per delivery)
    assert answers == [401] * 30
    assert len(secret_reads.calls) == 2

    # And a minute later the next flood costs one more read, no more
    clock.now += 61
    assert [call_webhooks(bad_delivery(integration.id, 100 + n)).status for n in range(30)] == [401] * 30
    assert len(secret_reads.calls) == 3


def test_rejected_deliveries_write_one_counter_item_however_many(
    aws: Resources, call_api: ApiCaller, integration: Hooked
) -> None:
    # When 40 deliveries with a bad signature arrive
    for n in range(40):
        assert call_webhooks(bad_delivery(integration.id, n)).status == 401

    # Then they are all counted in one item (atomic counter), and the status shows them all
    assert len(counter_items(integration.id)) == 1
    webhooks = status_of(call_api, integration)["webhooks"]
    assert (webhooks["rejected_24h"], webhooks["received_24h"]) == (40, 40)


def test_the_status_route_reads_a_bounded_number_of_items(
    aws: Resources, call_api: ApiCaller, integration: Hooked
) -> None:
    # Given 48 hours of job outcomes (three an hour) and a flood of rejected deliveries
    store = integration_store()
    now = utcnow()
    for hours_ago in range(48):
        for outcome in ("success", "failed", "success"):
            store.add_event(integration.id, "job", now - timedelta(hours=hours_ago), outcome=outcome)
    for _ in range(50):
        store.add_event(integration.id, "webhook", now, outcome="rejected")
    queries = Counter(clients.dynamodb(), "provide-client-params.dynamodb.Query")
    answers: list[int] = []

    def count_items(parsed: dict[str, Any], **_: Any) -> None:
        answers.append(len(parsed.get("Items", [])))

    clients.dynamodb().meta.events.register("after-call.dynamodb.Query", count_items)
    try:
        # When the status is read
        status = status_of(call_api, integration)
    finally:
        clients.dynamodb().meta.events.unregister("after-call.dynamodb.Query", count_items)
        queries.close()

    # Then one bounded Query read at most 25 hourly items
    table_queries = [q for q in queries.calls if q["TableName"] == store.table]
    assert len(table_queries) == 1
    assert table_queries[0]["Limit"] <= 25
    assert sum(answers) <= 25
    # And the counters cover the last 24 hours by the hour: 25 hours of jobs, a third of them failed
    assert status["error_rate_24h"] == pytest.approx(1 / 3, abs=1e-3)
    assert status["webhooks"]["rejected_24h"] == 50


# ---------------------------------------------------------------- item 5: signed but not JSON
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("application/json", b"this is not json", id="not-json"),
        pytest.param("application/json", b"\xff\xfe\x00", id="not-utf8"),
        pytest.param("application/json", b"[1, 2, 3]", id="not-an-object"),
        pytest.param("application/x-www-form-urlencoded", urlencode({"other": "{}"}).encode(), id="form-no-payload"),
        pytest.param(
            "application/x-www-form-urlencoded", urlencode({"payload": "not json"}).encode(), id="form-bad-payload"
        ),
    ],
)
def test_a_signed_body_that_is_not_a_json_payload_is_refused_400_and_not_queued(
    aws: Resources, integration: Hooked, content_type: str, body: bytes
) -> None:
    headers = {
        "content-type": content_type,
        "x-github-event": "push",
        "x-github-delivery": "d-not-json",
        "x-hub-signature-256": signature(integration.secret, body),
    }
    answer = call_webhooks(webhook_event(integration.id, body, headers))
    assert answer.status == 400
    assert answer.content_type.startswith("application/json")
    assert answer.body["error"]["code"] == "invalid_payload"
    assert receive(aws) == []


# ---------------------------------------------------------------- item 6: rotation is prompt
def _rotate_elsewhere(integration: Hooked, new_secret: str) -> None:
    """What the API function in another container does: a new secret version, this container's cache untouched."""
    sm = boto3.client("secretsmanager")
    name = f"{Settings.from_env().secrets_prefix}{integration.id}"
    stored = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
    sm.put_secret_value(SecretId=name, SecretString=json.dumps({**stored, "webhook_secret": new_secret}))


def _ping(integration: Hooked, secret: str) -> int:
    return call_webhooks(github_delivery(integration.id, secret, "ping", ping_payload())).status


def test_after_rotation_the_new_secret_works_at_once_and_the_old_one_no_longer(
    aws: Resources, integration: Hooked
) -> None:
    # Given a warm cache holding the secret, rotated by another container
    assert _ping(integration, integration.secret) == 202
    _rotate_elsewhere(integration, "new-secret-0123456789")

    # Then a delivery signed with the new secret is accepted at once (re-read on the mismatch)
    assert _ping(integration, "new-secret-0123456789") == 202
    # And the re-read replaced the cached old secret: it no longer verifies
    assert _ping(integration, integration.secret) == 401


def test_a_cached_old_secret_stops_verifying_when_the_cache_expires(
    aws: Resources, integration: Hooked, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_CACHE_SECONDS", "1")
    clear_agiletrack_caches()
    assert _ping(integration, integration.secret) == 202
    _rotate_elsewhere(integration, "new-secret-0123456789")
    # Within the cache age the old secret may still verify (at most SECRET_CACHE_SECONDS, never over 60 s)
    assert _ping(integration, integration.secret) == 202
    time.sleep(1.2)
    assert _ping(integration, integration.secret) == 401
    assert _ping(integration, "new-secret-0123456789") == 202
