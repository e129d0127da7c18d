"""Trello deliveries through the real webhook intake and event processor (``domain/webhooks.py``) with the real
``TrelloAdapter``, against moto: a delivery's partial card is merged into the card a sync stored, a redelivery
writes nothing, a wrong or missing signature is refused before the queue, and the metrics see the delivery."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from agiletrack.adapters.aws.blobs import blob_store
from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.adapters.providers.trello.adapter import TrelloAdapter
from agiletrack.adapters.providers.trello.config import TrelloConfig
from agiletrack.adapters.providers.trello.records import TrelloCard
from agiletrack.adapters.providers.trello.signature import trello_signature
from agiletrack.domain.intake import WebhookIntake
from agiletrack.domain.webhooks import EventProcessor, Processed
from agiletrack.errors import Unauthorized
from agiletrack.models.common import new_id, utcnow
from agiletrack.models.integrations import Integration
from tests.fakes import trello_payloads as tp

SECRET = "trello-app-secret-77aa"
TODO, DOING, DONE = "60aa00000000000000000001", "60aa00000000000000000002", "60aa00000000000000000003"
NOW = utcnow().replace(microsecond=0)
CARD = tp.object_id(NOW - timedelta(days=3), 0xC01)
KEPT_LABEL = "60bb00000000000000000009"
BUG = {"id": "60bb00000000000000000001", "name": "bug", "color": "red"}
ADAPTER = TrelloAdapter()


@pytest.fixture
def integration(aws: Any) -> Integration:
    integration_id = new_id("int")
    name = secret_store().name_for(integration_id)
    secret_store().create(name, {"credentials": {"api_key": "k", "api_token": "t", "api_secret": SECRET}})
    now = utcnow()
    created = Integration(
        id=integration_id,
        team_id="team_a",
        type="trello",
        name="board",
        config={"board_id": tp.BOARD["id"], "list_ids": [TODO, DOING, DONE]},
        credential_fields=["api_key", "api_token", "api_secret"],
        secret_name=name,
        created_at=now,
        updated_at=now,
        provider_state={"board_id": tp.BOARD["id"]},
    )
    integration_store().create(created)
    # What a sync stored: the card in TODO with a label, and its creation.
    record_store().put_if_newer(
        integration_id,
        TrelloCard(
            id=CARD,
            updated_at=NOW - timedelta(days=3),
            name="Card",
            board_id=tp.BOARD["id"],
            list_id=TODO,
            label_ids=[KEPT_LABEL],
            created_at=NOW - timedelta(days=3),
        ),
    )
    return created


class Pipeline:
    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.url = f"https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/trello/{integration.id}"
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

    def signed(self, action: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"action": action, "model": tp.BOARD}).encode()
        return body, {"X-Trello-Webhook": trello_signature(secret, body, self.url), "Content-Type": "application/json"}

    def deliver(self, action: dict[str, Any]) -> Processed:
        body, headers = self.signed(action)
        accepted = self.intake.receive("trello", self.integration.id, headers, body, self.url)
        assert accepted.delivery_id == action["id"]
        sqs = boto3.client("sqs")
        [message] = sqs.receive_message(QueueUrl=queues().webhook_url, MaxNumberOfMessages=10)["Messages"]
        sqs.delete_message(QueueUrl=queues().webhook_url, ReceiptHandle=message["ReceiptHandle"])
        return self.processor.process(json.loads(message["Body"]))

    def card(self) -> TrelloCard:
        record = record_store().get(self.integration.id, "trello_card", CARD)
        assert isinstance(record, TrelloCard)
        return record


def test_a_move_and_a_label_are_merged_into_the_synced_card_and_a_redelivery_writes_nothing(
    integration: Integration,
) -> None:
    pipeline = Pipeline(integration)
    moved_at = NOW - timedelta(hours=2)
    move = tp.move_card(CARD, TODO, DOING, moved_at)

    first = pipeline.deliver(move)

    assert (first.event, first.written) == ("updateCard", 2)  # the action and the card
    card = pipeline.card()
    # The list and the name come from the action (its card is named "Card c01"), the label from the sync.
    assert (card.list_id, card.label_ids, card.name, card.updated_at) == (DOING, [KEPT_LABEL], "Card c01", moved_at)
    assert card.created_at == NOW - timedelta(days=3)
    assert pipeline.deliver(move).written == 0  # the same action again: nothing new

    labelled = pipeline.deliver(tp.label_card(CARD, BUG, NOW - timedelta(hours=1)))

    assert labelled.written == 3  # the action, the card, the label
    assert pipeline.card().label_ids == sorted([BUG["id"], KEPT_LABEL])
    assert pipeline.card().list_id == DOING


def test_the_metrics_count_a_delivered_move(integration: Integration) -> None:
    pipeline = Pipeline(integration)
    pipeline.deliver(tp.create_card(CARD, TODO, NOW - timedelta(days=3)))
    pipeline.deliver(tp.move_card(CARD, TODO, DOING, NOW - timedelta(hours=5)))
    pipeline.deliver(tp.move_card(CARD, DOING, DONE, NOW - timedelta(hours=2)))
    kinds = [t.kind for t in ADAPTER.record_types]
    records = {k: list(record_store().updated_since(integration.id, k, None)) for k in kinds}
    config = TrelloConfig.model_construct(**integration.config)

    measured = ADAPTER.compute_metrics(records, NOW - timedelta(days=7), NOW, NOW, config, {})
    metrics = measured.metrics

    # Two moves of one card; done 2 h ago: lead 3 d - 2 h = 70 h, cycle 5 h - 2 h = 3 h.
    assert metrics["cards"]["moves"]["total"] == 2 and metrics["cards"]["moves"]["per_card"] == 2.0
    assert metrics["cards"]["lead_time"]["median"] == 70.0
    assert metrics["cards"]["cycle_time"]["median"] == 3.0
    assert [row["open_cards"] for row in metrics["now"]["lists"]] == [0, 0, 1]
    # The series: the card created 3 days ago and done 2 h ago, each in its week, summing to the totals.
    assert sum(p["value"] for p in measured.series["cards_done"]) == metrics["lists"]["throughput"]["total"] == 1
    assert sum(p["value"] for p in measured.series["cards_created"]) == 1


@pytest.mark.parametrize("signing", ["other-secret", "another-url", "missing"])
def test_a_wrong_or_missing_signature_is_refused_before_the_queue(integration: Integration, signing: str) -> None:
    pipeline = Pipeline(integration)
    body, headers = pipeline.signed(
        tp.move_card(CARD, TODO, DOING, NOW), "other" if signing == "other-secret" else SECRET
    )
    url = pipeline.url + ("?x=1" if signing == "another-url" else "")
    if signing == "missing":
        headers = {"Content-Type": "application/json"}

    with pytest.raises(Unauthorized):
        pipeline.intake.receive("trello", integration.id, headers, body, url)

    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=queues().webhook_url)
    assert pipeline.card().list_id == TODO


def test_an_action_of_another_board_is_accepted_and_stores_nothing(integration: Integration) -> None:
    pipeline = Pipeline(integration)
    action = tp.move_card(CARD, TODO, DOING, NOW)
    action["data"]["board"] = tp.OTHER_BOARD

    processed = pipeline.deliver(action)

    assert processed.ignored and processed.written == 0
    assert pipeline.card().list_id == TODO
    assert record_store().get(integration.id, "trello_action", action["id"]) is None
