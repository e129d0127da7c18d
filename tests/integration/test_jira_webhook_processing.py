"""Jira deliveries through the real webhook intake and event processor (``domain/webhooks.py``), against moto.

The real ``JiraAdapter`` is assembled on another branch; here a minimal adapter is made of the webhook functions
of ``adapters/providers/jira/webhooks.py`` alone, so the test shows that their merge and the record store's
"replace only if newer" rule work together: out-of-order and repeated deliveries keep the newest state and every
history entry, and write nothing when nothing is new.

Until the processor passes ``integration.provider_state`` to ``parse_webhook`` (the sync branch adds it), the test
adapter falls back to the provider state a sync would have stored, held in its closure.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from agiletrack.adapters.aws.blobs import blob_store
from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.adapters.providers.jira.adapter import JiraAdapter
from agiletrack.adapters.providers.jira.records import JiraIssue, JiraSprint
from agiletrack.domain.intake import WebhookIntake
from agiletrack.domain.webhooks import EventProcessor, Processed
from agiletrack.errors import Unauthorized
from agiletrack.models.common import new_id, utcnow
from agiletrack.models.integrations import Integration
from tests.fakes import jira_payloads as jp

SECRET = "jira-webhook-secret-5d1e"


def t(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC)


ADAPTER = JiraAdapter()


@pytest.fixture
def integration(aws: Any) -> Integration:
    integration_id = new_id("int")
    name = secret_store().name_for(integration_id)
    secret_store().create(name, {"credentials": {"api_token": "tok"}, "webhook_secret": SECRET})
    now = utcnow()
    created = Integration.model_validate(
        {
            "id": integration_id,
            "team_id": "team_a",
            "type": "jira",
            "name": "ENG on Jira",
            "config": {"server_url": jp.SITE, "email": "dev@example.com", "project_key": "ENG", "board_id": None},
            "credential_fields": ["api_token"],
            "secret_name": name,
            "created_at": now,
            "updated_at": now,
            "provider_state": jp.PROVIDER_STATE,  # kept once Integration has the field (the sync branch)
        }
    )
    integration_store().create(created)
    return created


class Pipeline:
    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        adapter_for: Any = lambda _provider: ADAPTER
        self.intake = WebhookIntake(
            integrations=integration_store(),
            secrets=secret_store(),
            queue=queues(),
            blobs=blob_store(),
            checks_for=adapter_for,
        )
        self.processor = EventProcessor(
            integrations=integration_store(),
            records=record_store(),
            secrets=secret_store(),
            blobs=blob_store(),
            adapter_for=adapter_for,
        )

    def deliver(self, payload: dict[str, Any], *, identifier: str, secret: str = SECRET) -> Processed:
        """Jira's delivery through the intake, then the queued message through the processor."""
        body, headers = jp.signed(payload, secret, identifier=identifier)
        url = f"https://example.test/webhooks/jira/{self.integration.id}"
        accepted = self.intake.receive("jira", self.integration.id, headers, body, url)
        assert accepted.delivery_id == identifier
        sqs = boto3.client("sqs")
        [message] = sqs.receive_message(QueueUrl=queues().webhook_url, MaxNumberOfMessages=10)["Messages"]
        sqs.delete_message(QueueUrl=queues().webhook_url, ReceiptHandle=message["ReceiptHandle"])
        return self.processor.process(json.loads(message["Body"]))

    def issue(self, issue_id: str) -> JiraIssue:
        record = record_store().get(self.integration.id, "jira_issue", issue_id)
        assert isinstance(record, JiraIssue)
        return record


def status_change(from_id: str, to_id: str, at: datetime, changelog_id: str) -> dict[str, Any]:
    raw = jp.issue(7, created=t(5, 9), updated=at, status_id=to_id, sprints=[jp.sprint(12)])
    return jp.issue_event(
        "jira:issue_updated", raw, at=at, items=[jp.status_item(from_id, to_id)], changelog_id=changelog_id
    )


def test_out_of_order_and_repeated_deliveries_keep_the_newest_state_and_every_history_entry(
    integration: Integration,
) -> None:
    pipeline = Pipeline(integration)
    created = jp.issue(7, created=t(5, 9), updated=t(5, 9), sprints=[jp.sprint(12)])
    assert pipeline.deliver(jp.issue_event("jira:issue_created", created, at=t(5, 9)), identifier="1001").written == 1

    # Jira retried the first update, so the second one arrives before it.
    assert pipeline.deliver(status_change("3", "10001", t(5, 11), "102"), identifier="1003").written == 1
    late = pipeline.deliver(status_change("10000", "3", t(5, 10), "101"), identifier="1002")
    assert late.written == 1  # only the history grew: same updated_at, other content
    issue = pipeline.issue("10007")
    assert (issue.status_id, issue.updated_at, issue.sprint_ids) == ("10001", t(5, 11), [12])
    assert [(c.history_id, c.to_value) for c in issue.history] == [("101", "3"), ("102", "10001")]

    # A redelivery (past the idempotency window, or under a new identifier) writes nothing.
    assert pipeline.deliver(status_change("10000", "3", t(5, 10), "101"), identifier="1002-again").written == 0
    assert pipeline.issue("10007") == issue

    stored = integration_store().get(integration.id)
    assert stored is not None and stored.data_changed_at is not None and stored.webhook_connected_at is not None


def test_a_deleted_issue_stays_deleted_when_an_older_update_arrives(integration: Integration) -> None:
    pipeline = Pipeline(integration)
    pipeline.deliver(status_change("10000", "3", t(5, 10), "101"), identifier="2001")
    deleted = jp.issue_event("jira:issue_deleted", jp.issue(7, created=t(5, 9), updated=t(5, 10)), at=t(6, 8))
    assert pipeline.deliver(deleted, identifier="2002").written == 1
    pipeline.deliver(status_change("3", "10001", t(5, 11), "102"), identifier="2003")
    issue = pipeline.issue("10007")
    assert issue.deleted and issue.updated_at == t(6, 8)
    assert [c.history_id for c in issue.history] == ["101", "102"]


def test_other_projects_boards_and_events_are_counted_and_store_nothing(integration: Integration) -> None:
    pipeline = Pipeline(integration)
    other_issue = jp.issue_event("jira:issue_created", jp.issue(3, updated=t(5), project="OPS"), at=t(5))
    other_sprint = jp.sprint_event("sprint_started", jp.sprint(40, board=9), at=t(5))
    comment = {"timestamp": jp.epoch_ms(t(5)), "webhookEvent": "comment_created", "comment": {"id": "1"}}
    for n, payload in enumerate((other_issue, other_sprint, comment)):
        assert pipeline.deliver(payload, identifier=f"300{n}").ignored
    assert record_store().get(integration.id, "jira_issue", "10003") is None
    assert record_store().get(integration.id, "jira_sprint", "40") is None

    started = jp.sprint_event("sprint_started", jp.sprint(12, start=t(4), end=t(18)), at=t(4, 9))
    assert pipeline.deliver(started, identifier="3010").written == 1
    sprint = record_store().get(integration.id, "jira_sprint", "12")
    assert isinstance(sprint, JiraSprint) and sprint.state == "active"
    counters = integration_store().counters_since(integration.id, t(1))
    assert sum(int(c.get("webhook_accepted", 0)) for c in counters) == 4  # the three ignored ones are counted too


def test_a_delivery_with_a_wrong_signature_is_refused_before_the_queue(integration: Integration) -> None:
    pipeline = Pipeline(integration)
    body, headers = jp.signed(status_change("10000", "3", t(5, 10), "101"), "not-the-secret", identifier="4001")
    with pytest.raises(Unauthorized):
        pipeline.intake.receive("jira", integration.id, headers, body, "https://example.test/x")
    unsigned = {k: v for k, v in headers.items() if k != "x-hub-signature"}
    with pytest.raises(Unauthorized):
        pipeline.intake.receive("jira", integration.id, unsigned, body, "https://example.test/x")
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=queues().webhook_url)
