"""AWS faults injected under the real handlers (issue 12, "Faults", the AWS bullets), for GitHub, Jira and Trello.

``tests/fakes/aws_faults.py`` makes moto answer a throttle, a 5xx or a connection error instead of doing the call,
below botocore's retries (the clients' 5 adaptive attempts are part of what runs). Each test injects, runs the
handlers as Lambda would, redelivers as SQS or the provider would (the same message after its visibility timeout,
the same webhook after a 5xx), and checks that what is stored then equals the provider's truth exactly, each
record once: a sync against an uninterrupted sync of the same fake into a twin integration, a webhook against
what the provider's parser makes of the delivery. No transient fault marks an integration failed, and none is
answered 202 with the delivery lost, nor 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.adapters.providers.registry import adapter_for, spec_for
from agiletrack.domain.jobs import SyncJob
from agiletrack.models.common import new_id, utcnow
from agiletrack.models.integrations import Integration
from devstack.template import Resources
from tests.fakes.aws_faults import BOTOCORE_ATTEMPTS, CONNECTION_ERROR, AwsFaults, table_is
from tests.fakes.github import FakeGitHub
from tests.fakes.jira import FakeJira
from tests.fakes.trello import FakeTrello
from tests.integration.conftest import ApiCaller
from tests.integration.test_sync_worker import receive_job, run_sync_worker
from tests.integration.test_webhook_fuzz import SEEDS, delivery, hooked, json_body, signed_headers
from tests.integration.test_webhook_fuzz import Hooked as Target
from tests.integration.test_webhook_pipeline import (
    call_webhooks,
    github_delivery,
    pull_request_payload,
    receive,
    run_event_processor,
    webhook_event,
)

PROVIDERS = ("github", "jira", "trello")
PAST_RETRIES = BOTOCORE_ATTEMPTS
"""Consecutive failures that exhaust botocore's attempts: the error reaches the code."""
WITHIN_RETRIES = BOTOCORE_ATTEMPTS - 1
"""Consecutive failures botocore absorbs: the code never sees them."""
THROTTLED = "ProvisionedThroughputExceededException"
OBSERVED_KINDS = frozenset({"jira_board", "jira_sprint", "jira_status", "trello_list", "trello_label", "trello_member"})
"""Kinds whose ``updated_at`` is when the sync saw them (the provider gives no time): compared without it."""


@pytest.fixture
def faults(aws: Resources, monkeypatch: pytest.MonkeyPatch) -> AwsFaults:
    return AwsFaults.install(monkeypatch)


# ---------------------------------------------------------------- what is stored, as comparable data
def snapshot(integration_id: str, provider: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every stored record of the integration by (kind, id), as JSON; each kind's count checked against it."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for record_type in spec_for(provider).record_types:
        kind = record_type.kind
        rows = list(record_store().updated_since(integration_id, kind, None))
        assert record_store().count(integration_id, kind) == len(rows)
        for row in rows:
            assert (kind, row.id) not in found, f"{kind} {row.id} stored twice"
            data = row.model_dump(mode="json")
            if kind in OBSERVED_KINDS:
                del data["updated_at"]
            found[(kind, row.id)] = data
    return found


def status_of(integration_id: str) -> Integration:
    integration = integration_store().get(integration_id)
    assert integration is not None
    return integration


# ---------------------------------------------------------------- sync: the three providers' fakes
@dataclass
class Source:
    provider: str
    fake: Any

    def integration(self) -> Integration:
        """A new integration of the fake, stored as the API stores one (config in DynamoDB, credentials in
        Secrets Manager)."""
        if self.provider == "github":
            config = self.fake.config().model_dump(mode="json")
            credentials = {"token": config.pop("token")}
        elif self.provider == "jira":
            config = self.fake.config()
            credentials = {"api_token": config.pop("api_token")}
        else:
            config = self.fake.config(list_ids=list(self.fake.board().lists))
            credentials = {k: config.pop(k) for k in ("api_key", "api_token", "api_secret")}
        integration_id = new_id("int")
        name = secret_store().name_for(integration_id)
        secret_store().create(name, {"credentials": credentials, "webhook_secret": "s3cret"})
        now = utcnow()
        integration = Integration(
            id=integration_id,
            team_id="team_a",
            type=self.provider,
            name=self.provider,
            config=config,
            credential_fields=sorted(credentials),
            secret_name=name,
            created_at=now,
            updated_at=now,
        )
        integration_store().create(integration)
        return integration

    def change(self) -> None:
        """New activity at the provider since the last sync."""
        if self.provider == "github":
            self.fake.add_pull_request()
            self.fake.touch_pull_requests(3)
            self.fake.add_commits(3)
        elif self.provider == "jira":
            for _ in range(3):
                self.fake.add_issue(utcnow() - timedelta(hours=1))
        else:
            first, second = list(self.fake.board().lists)[:2]
            self.fake.add_card(first)
            self.fake.move_card(next(iter(self.fake.board().cards)), second)

    def ids(self) -> dict[str, set[str]]:
        """The ids the provider holds, by kind (the main kinds of each)."""
        if self.provider == "github":
            return {
                "pull_request": {str(n) for n in self.fake.pull_requests},
                "commit": {c.oid for c in self.fake.branches["main"]},
                "issue": {str(n) for n in self.fake.issues},
            }
        if self.provider == "jira":
            return {"jira_issue": {str(i) for i in self.fake.issues}}
        board = self.fake.board()
        return {"trello_action": set(board.action_ids), "trello_list": set(board.lists)}


@pytest.fixture(params=PROVIDERS)
def source(request: pytest.FixtureRequest, aws: Resources, monkeypatch: pytest.MonkeyPatch) -> Iterator[Source]:
    provider = str(request.param)
    if provider == "github":
        with FakeGitHub.synthetic(prs=12, commits=20, issues=6, seed=7) as github:
            yield Source(provider, github)
    elif provider == "jira":
        with FakeJira() as jira:
            monkeypatch.setenv("SSL_CERT_FILE", jira.ca_file)
            start = utcnow() - timedelta(days=20)
            jira.add_sprint(7, 1, "closed", start, start + timedelta(days=7), start + timedelta(days=7))
            jira.generate(110, start, long_every=50, long_histories=45, sprint_ids=[1])
            yield Source(provider, jira)
    else:
        with FakeTrello() as trello:
            monkeypatch.setenv("TRELLO_API_URL", trello.url)
            trello.generate(cards=30, actions=300)
            yield Source(provider, trello)


def queue_job(aws: Resources, integration: Integration, reason: str = "created") -> dict[str, Any]:
    queues().send_sync_job(SyncJob.new(integration.id, reason).body())  # type: ignore[arg-type]
    message = receive_job(aws)
    assert message is not None
    return message


def redeliver(aws: Resources, message: dict[str, Any], queue: str = "SyncQueue") -> dict[str, Any]:
    """The message as SQS hands it out again once its visibility timeout (or the retry delay) has passed."""
    sqs = boto3.client("sqs")
    sqs.change_message_visibility(
        QueueUrl=aws.queue_urls[queue], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    answer = sqs.receive_message(
        QueueUrl=aws.queue_urls[queue], MaxNumberOfMessages=1, WaitTimeSeconds=0, AttributeNames=["All"]
    )
    (again,) = answer["Messages"]
    assert again["MessageId"] == message["MessageId"]
    return dict(again)


def truth(aws: Resources, source: Source) -> dict[tuple[str, str], dict[str, Any]]:
    """What an uninterrupted sync of the same fake stores (into a twin integration), checked against the
    provider's ids."""
    twin = source.integration()
    assert run_sync_worker(aws, queue_job(aws, twin)) == {"batchItemFailures": []}
    stored = snapshot(twin.id, source.provider)
    for kind, ids in source.ids().items():
        assert {i for k, i in stored if k == kind} == ids, kind
    return stored


def assert_synced_like_truth(integration: Integration, source: Source, expected: dict[Any, Any]) -> None:
    assert snapshot(integration.id, source.provider) == expected
    after = status_of(integration.id)
    assert after.status == "active"
    assert after.last_error is None


def test_a_sync_page_throttled_past_the_retries_is_retried_and_ends_equal_to_the_provider(
    aws: Resources, faults: AwsFaults, source: Source
) -> None:
    # Given DynamoDB throttles the record writes of the sync's second chunk past botocore's retries
    expected = truth(aws, source)
    integration = source.integration()
    message = queue_job(aws, integration)
    fault = faults.fail("dynamodb", "TransactWriteItems", error=THROTTLED, skip=1, times=PAST_RETRIES)

    # When the worker runs the job
    result = run_sync_worker(aws, message)

    # Then the job is reported failed (kept for a retry), every attempt was made, and the integration is not failed
    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    assert fault.injected == PAST_RETRIES
    assert len(faults.retry_sleeps) >= WITHIN_RETRIES
    failed = status_of(integration.id)
    assert failed.status == "pending"
    assert failed.last_error is not None and failed.last_error.kind == "other"
    kept = snapshot(integration.id, source.provider)
    assert all(expected.get(key) == data for key, data in kept.items())  # what is stored is the provider's

    # When SQS hands the job out again
    assert run_sync_worker(aws, redeliver(aws, message)) == {"batchItemFailures": []}

    # Then the records equal the provider's, each once, and the integration is healthy
    assert_synced_like_truth(integration, source, expected)


def test_an_incremental_sync_hit_by_a_dynamodb_outage_keeps_what_was_stored_and_ends_equal(
    aws: Resources, faults: AwsFaults, source: Source
) -> None:
    # Given two integrations of the same provider, both synced, and new activity at the provider since
    twin, integration = source.integration(), source.integration()
    for each in (twin, integration):
        assert run_sync_worker(aws, queue_job(aws, each)) == {"batchItemFailures": []}
    stored_before = snapshot(integration.id, source.provider)
    source.change()
    assert run_sync_worker(aws, queue_job(aws, twin, "scheduled")) == {"batchItemFailures": []}
    expected = snapshot(twin.id, source.provider)
    for kind, ids in source.ids().items():
        assert {i for k, i in expected if k == kind} == ids, kind
    assert len(expected) > len(stored_before)

    # When the hourly sync's record writes fail (5xx) past the retries
    message = queue_job(aws, integration, "scheduled")
    fault = faults.fail("dynamodb", "TransactWriteItems", error="InternalServerError", times=PAST_RETRIES)
    result = run_sync_worker(aws, message)
    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}, (
        fault,
        message["Body"],
        status_of(integration.id).last_sync,
        faults.calls,
    )
    assert fault.injected == PAST_RETRIES

    # Then nothing stored before is lost, the integration stays active (it has synced before), and the retry
    # ends equal to the provider
    assert snapshot(integration.id, source.provider).keys() >= stored_before.keys()
    assert status_of(integration.id).status == "active"
    assert run_sync_worker(aws, redeliver(aws, message)) == {"batchItemFailures": []}
    assert_synced_like_truth(integration, source, expected)


@pytest.mark.parametrize("source", ["github"], indirect=True)
def test_a_job_asked_for_in_the_second_a_sync_started_is_not_taken_as_covered_by_it(
    aws: Resources, source: Source
) -> None:
    # Given a synced integration (found by the test above: its twin's hourly job was dropped as "covered")
    integration = source.integration()
    assert run_sync_worker(aws, queue_job(aws, integration)) == {"batchItemFailures": []}
    first = status_of(integration.id).last_sync
    assert first is not None

    # When a job is asked for after that sync started, within the same second (the job's time used to travel on the
    # queue cut to the second: it then looked asked for before the sync started, and was dropped)
    asked = first.started_at.replace(microsecond=999_999)
    assert asked > first.started_at
    queues().send_sync_job(SyncJob.new(integration.id, "manual", asked).body())
    message = receive_job(aws)
    assert message is not None
    assert run_sync_worker(aws, message) == {"batchItemFailures": []}

    # Then it ran (the sync before may have started before it was asked for): not coalesced
    second = status_of(integration.id).last_sync
    assert second is not None and second.started_at > first.started_at


@pytest.mark.parametrize("source", ["github"], indirect=True)
def test_throttles_the_sdk_retries_absorb_never_reach_the_sync(
    aws: Resources, faults: AwsFaults, source: Source
) -> None:
    expected = truth(aws, source)
    integration = source.integration()
    fault = faults.fail("dynamodb", "TransactWriteItems", error=THROTTLED, skip=1, times=WITHIN_RETRIES)

    assert run_sync_worker(aws, queue_job(aws, integration)) == {"batchItemFailures": []}

    assert fault.injected == WITHIN_RETRIES
    assert_synced_like_truth(integration, source, expected)


def test_a_dynamodb_outage_in_the_middle_of_a_sync_loses_nothing_once_it_is_over(
    aws: Resources, faults: AwsFaults, source: Source
) -> None:
    # Given every DynamoDB call fails (5xx) from the sync's second record write on, status writes included
    expected = truth(aws, source)
    integration = source.integration()
    message = queue_job(aws, integration)
    first = faults.fail("dynamodb", "TransactWriteItems", error="InternalServerError", skip=1, times=None)
    faults.fail("dynamodb", error="InternalServerError", times=None, when=lambda _r: first.injected > 0)

    # When the worker runs the job: it can record nothing, not even its failure
    result = run_sync_worker(aws, message)
    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}

    # Then once DynamoDB is back, the job SQS hands out again finishes the sync, equal to the provider
    faults.clear()
    assert run_sync_worker(aws, redeliver(aws, message)) == {"batchItemFailures": []}
    assert_synced_like_truth(integration, source, expected)


@pytest.mark.parametrize("source", ["github"], indirect=True)
def test_secrets_manager_down_when_a_sync_starts_retries_the_job_without_failing_the_integration(
    aws: Resources, faults: AwsFaults, source: Source
) -> None:
    expected = truth(aws, source)
    integration = source.integration()
    message = queue_job(aws, integration)

    with faults.outage("secrets-manager", "GetSecretValue", error=CONNECTION_ERROR) as outage:
        result = run_sync_worker(aws, message)

    assert outage.injected == PAST_RETRIES
    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    waiting = status_of(integration.id)
    assert waiting.status == "pending"
    assert waiting.last_error is not None and waiting.last_error.kind == "other"
    assert snapshot(integration.id, source.provider) == {}

    assert run_sync_worker(aws, redeliver(aws, message)) == {"batchItemFailures": []}
    assert_synced_like_truth(integration, source, expected)


# ---------------------------------------------------------------- webhooks: intake and processing
def signed_event(target: Target, delivery_id: str = "d-1") -> dict[str, Any]:
    """A delivery of the provider's first seed payload (GitHub: a pull request opened; Jira: an issue created;
    Trello: a card created), signed as the provider signs it."""
    body = json_body(SEEDS[target.provider][0])
    headers = {
        "content-type": "application/json",
        "x-github-event": "pull_request",
        "x-github-delivery": delivery_id,
        "x-atlassian-webhook-identifier": delivery_id,
    }
    sent = signed_headers(target.provider, headers, body, target.url)
    return webhook_event(target.id, body, sent, provider=target.provider)


def parsed(target: Target, event: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """What the provider's parser makes of the delivery: the truth processing must store."""
    adapter = adapter_for(target.provider)
    config = adapter.config_model.model_construct(**target.integration.config)
    body = event["body"].encode()
    result = adapter.parse_webhook(
        delivery(target.provider, dict(event["headers"]), body, target.url), config, target.integration.provider_state
    )
    records = {(r.kind, r.id): r.model_dump(mode="json") for r in result.records}
    assert records, "the seed payload makes records"
    return records


@pytest.fixture(params=PROVIDERS)
def target(request: pytest.FixtureRequest, aws: Resources) -> Target:
    return hooked(str(request.param))


def rejected_count(integration_id: str) -> int:
    counters = integration_store().counters_since(integration_id, utcnow() - timedelta(hours=1))
    return sum(int(c.get("webhook_rejected", 0)) for c in counters)  # type: ignore[union-attr]


def assert_unavailable(answer: Any) -> None:
    """503 with the JSON error, so the provider delivers again: never 202 for a delivery we lost, never 500."""
    assert answer.status == 503, answer.body
    assert answer.body["error"]["code"] == "dependency_unavailable"
    assert "application/json" in answer.content_type


def deliver_and_process(aws: Resources, event: dict[str, Any]) -> None:
    assert call_webhooks(event).status == 202
    (message,) = receive(aws)
    assert run_event_processor(aws, [message]) == set()


def test_sqs_send_failing_answers_503_and_the_provider_redelivery_is_stored_once(
    aws: Resources, faults: AwsFaults, target: Target
) -> None:
    # Given SQS refuses SendMessage past botocore's retries
    event = signed_event(target)
    fault = faults.fail("sqs", "SendMessage", error="InternalError", times=PAST_RETRIES)

    # When the provider delivers: the answer is a 5xx, nothing is queued, nothing counted as rejected
    assert_unavailable(call_webhooks(event))
    assert fault.injected == PAST_RETRIES
    assert receive(aws) == []
    assert rejected_count(target.id) == 0

    # When the provider delivers again: accepted, processed, stored as the provider sent it, once
    deliver_and_process(aws, event)
    assert snapshot(target.id, target.provider) == parsed(target, event)


@pytest.mark.parametrize("target", ["github"], indirect=True)
def test_sqs_failures_the_sdk_retries_absorb_still_queue_the_delivery_once(
    aws: Resources, faults: AwsFaults, target: Target
) -> None:
    event = signed_event(target)
    faults.fail("sqs", "SendMessage", error="ServiceUnavailable", times=WITHIN_RETRIES)

    deliver_and_process(aws, event)

    assert faults.calls[("sqs", "SendMessage")] == BOTOCORE_ATTEMPTS
    assert snapshot(target.id, target.provider) == parsed(target, event)


def test_secrets_manager_down_during_verification_answers_503_not_401(
    aws: Resources, faults: AwsFaults, target: Target
) -> None:
    event = signed_event(target)

    with faults.outage("secrets-manager", "GetSecretValue", error="InternalServiceError"):
        assert_unavailable(call_webhooks(event))

    assert receive(aws) == []
    assert rejected_count(target.id) == 0  # an outage is not a bad signature
    deliver_and_process(aws, event)
    assert snapshot(target.id, target.provider) == parsed(target, event)


@pytest.mark.parametrize("target", ["github"], indirect=True)
def test_dynamodb_down_when_the_intake_looks_the_integration_up_answers_503_not_404(
    aws: Resources, faults: AwsFaults, target: Target
) -> None:
    event = signed_event(target)

    with faults.outage("dynamodb", "GetItem", error=CONNECTION_ERROR):
        assert_unavailable(call_webhooks(event))

    assert receive(aws) == []
    deliver_and_process(aws, event)
    assert snapshot(target.id, target.provider) == parsed(target, event)


@pytest.mark.parametrize("failing", ["s3", "sqs"])
def test_a_large_delivery_whose_claim_check_cannot_be_stored_answers_503_and_its_redelivery_is_intact(
    aws: Resources, faults: AwsFaults, call_api: ApiCaller, failing: str
) -> None:
    # Given a GitHub delivery too large for an SQS message (its body goes to S3), and S3's put (or the SQS send
    # after it) failing past the retries
    with FakeGitHub() as github:
        reply = call_api(
            "POST", "/integrations", "team_a", {"type": "github", "config": github.config().model_dump(mode="json")}
        )
        assert reply.status == 201, reply.text
        integration_id, secret = reply.json()["id"], reply.json()["webhook"]["secret"]
        updated = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        payload = pull_request_payload(102, "Big description", updated, text="lorem ipsum " * 30_000)
        event = github_delivery(integration_id, secret, "pull_request", payload)
        operation = "PutObject" if failing == "s3" else "SendMessage"
        faults.fail(failing, operation, error="ServiceUnavailable", times=PAST_RETRIES)

        # When GitHub delivers it: 503, nothing queued
        assert_unavailable(call_webhooks(event))
        assert receive(aws) == []

        # When GitHub delivers it again: accepted through S3 and processed intact, once
        deliver_and_process(aws, event)
        stored = record_store().get(integration_id, "pull_request", "102")
        assert stored is not None and stored.title == "Big description"  # type: ignore[attr-defined]
        assert record_store().count(integration_id, "pull_request") == 1


def test_records_throttled_while_processing_a_delivery_are_stored_once_on_redelivery(
    aws: Resources, faults: AwsFaults, target: Target
) -> None:
    # Given an accepted delivery, and DynamoDB throttling the record writes past the retries
    event = signed_event(target)
    assert call_webhooks(event).status == 202
    (message,) = receive(aws)
    fault = faults.fail("dynamodb", "TransactWriteItems", error=THROTTLED, times=PAST_RETRIES)

    # When the event processor takes it: reported failed, left on the queue, nothing stored
    assert run_event_processor(aws, [message], may_fail=True) == {message["MessageId"]}
    assert fault.injected == PAST_RETRIES
    assert snapshot(target.id, target.provider) == {}

    # When SQS hands it out again: stored as the provider sent it, once
    assert run_event_processor(aws, [redeliver(aws, message, "WebhookQueue")]) == set()
    assert snapshot(target.id, target.provider) == parsed(target, event)
    assert status_of(target.id).data_changed_at is not None


@pytest.mark.parametrize("table", ["IntegrationsTable", "IdempotencyTable"])
def test_a_delivery_whose_bookkeeping_write_fails_is_reflected_in_the_metrics_after_redelivery(
    aws: Resources, faults: AwsFaults, call_api: ApiCaller, table: str
) -> None:
    # Given a GitHub integration whose metrics are cached, and a pull request opened
    with FakeGitHub() as github:
        reply = call_api(
            "POST", "/integrations", "team_a", {"type": "github", "config": github.config().model_dump(mode="json")}
        )
        assert reply.status == 201, reply.text
        integration_id, secret = reply.json()["id"], reply.json()["webhook"]["secret"]
        path = f"/integrations/{integration_id}/metrics"
        assert call_api("GET", path).json()["metrics"]["pull_requests"]["opened"] == 0
        opened = datetime.now(UTC) - timedelta(minutes=1)
        event = github_delivery(integration_id, secret, "pull_request", pull_request_payload(105, "New", opened))
        assert call_webhooks(event).status == 202
        (message,) = receive(aws)

        # When processing fails at the write after the records (the integration's update, or the
        # idempotency record's completion), past the retries
        # (for the idempotency record: its in-progress record goes in, its completion, an UpdateItem, fails; the
        # Powertools client has botocore's legacy DynamoDB retries, 10, so the fault lasts the whole invocation)
        fault = faults.fail("dynamodb", "UpdateItem", error=THROTTLED, times=None, when=table_is(table))
        assert run_event_processor(aws, [message], may_fail=True) == {message["MessageId"]}
        faults.clear()
        assert fault.injected >= PAST_RETRIES
        assert record_store().count(integration_id, "pull_request") == 1  # the records went in before
        if table == "IdempotencyTable":
            expire_in_progress_records(aws)

        # Then the redelivery writes no record again, and the metrics count the pull request
        assert run_event_processor(aws, [redeliver(aws, message, "WebhookQueue")]) == set()
        assert record_store().count(integration_id, "pull_request") == 1
        after = call_api("GET", path)
        assert after.status == 200, after.text
        assert after.json()["metrics"]["pull_requests"]["opened"] == 1


def expire_in_progress_records(aws: Resources) -> None:
    """What the webhook queue's visibility timeout (360 s) does before SQS redelivers: the in-progress
    idempotency records left by an invocation whose completion failed expire (Powertools gives them the
    function's remaining time, at most its 60 s timeout). Here their expiry is moved into the past."""
    dynamodb = boto3.client("dynamodb")
    table = aws.tables["IdempotencyTable"]
    for item in dynamodb.scan(TableName=table)["Items"]:
        if item.get("status", {}).get("S") == "INPROGRESS":
            dynamodb.update_item(
                TableName=table,
                Key={"id": item["id"]},
                UpdateExpression="SET in_progress_expiration = :past",
                ExpressionAttributeValues={":past": {"N": "0"}},
            )


# ---------------------------------------------------------------- credential change with Secrets Manager down
@pytest.mark.parametrize("operation", ["GetSecretValue", "PutSecretValue"])
def test_a_credential_change_with_secrets_manager_down_is_a_503_and_the_old_token_keeps_working(
    aws: Resources, faults: AwsFaults, call_api: ApiCaller, operation: str
) -> None:
    with FakeGitHub.synthetic(prs=5, commits=10, issues=3, seed=3) as github:
        reply = call_api(
            "POST", "/integrations", "team_a", {"type": "github", "config": github.config().model_dump(mode="json")}
        )
        assert reply.status == 201, reply.text
        integration_id = reply.json()["id"]
        before = status_of(integration_id)
        name = secret_store().name_for(integration_id)
        secret_before = secret_store().read(name, fresh=True)

        # When the token is changed while Secrets Manager fails (reading the secret, or writing its new version)
        # (GitHub takes the new token too while the change is made: its check passes, the secret write is next)
        old_token = github.token
        github.token = "ghp_the_new_one"
        with faults.outage("secrets-manager", operation, error="ServiceUnavailable") as outage:
            answer = call_api("PATCH", f"/integrations/{integration_id}", body={"config": {"token": "ghp_the_new_one"}})
        github.token = old_token

        # Then the answer is a clear 503 (not the client's fault), and nothing is half-written
        assert outage.injected >= PAST_RETRIES
        assert answer.status == 503, answer.text
        assert answer.json()["error"]["code"] == "dependency_unavailable"
        assert answer.headers.get("retry-after") == "30"
        assert secret_store().read(name, fresh=True) == secret_before
        after = status_of(integration_id)
        assert (after.credentials_set_at, after.config, after.status) == (
            before.credentials_set_at,
            before.config,
            before.status,
        )

        # and the old token still syncs
        job = receive_job(aws)
        assert job is not None
        assert run_sync_worker(aws, job) == {"batchItemFailures": []}
        assert record_store().count(integration_id, "pull_request") == 5
        assert status_of(integration_id).status == "active"

        # and once Secrets Manager is back the same change goes through (no secret lease left behind)
        github.token = "ghp_the_new_one"
        retried = call_api("PATCH", f"/integrations/{integration_id}", body={"config": {"token": "ghp_the_new_one"}})
        assert retried.status == 200, retried.text
        assert secret_store().read(name, fresh=True)["credentials"] == {"token": "ghp_the_new_one"}
