"""Trello webhook deliveries: the signature over body + callback URL, the de-duplication id, parsing into the
action and the card/list/label it names, and merging a partial card into the stored one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agiletrack.adapters.providers.base import WebhookDelivery, WebhookSecrets
from agiletrack.adapters.providers.trello import intake, webhooks
from agiletrack.adapters.providers.trello.config import TrelloConfig
from agiletrack.adapters.providers.trello.records import TrelloAction, TrelloCard, TrelloLabel, TrelloList
from agiletrack.adapters.providers.trello.signature import trello_signature
from agiletrack.errors import InvalidPayload
from tests.fakes import trello_payloads as p

SECRET = "trello-app-secret-0123"
CALLBACK = "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/trello/int_01ABC"
AT = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
TODO, DOING = "60aa00000000000000000001", "60aa00000000000000000002"
CARD = p.object_id(AT - timedelta(days=2), 5)
LABEL = {"id": "60bb00000000000000000001", "name": "bug", "color": "red"}
CONFIG = TrelloConfig(api_key="k", api_token="t", board_id=p.BOARD["id"], list_ids=[TODO, DOING])


def delivery(
    action: dict[str, Any], *, secret: str = SECRET, url: str = CALLBACK, sign: bool = True
) -> WebhookDelivery:
    body = json.dumps({"action": action, "model": p.BOARD, "webhook": {"id": "60cc00000000000000000001"}}).encode()
    headers = {"x-trello-webhook": trello_signature(secret, body, url)} if sign else {}
    return WebhookDelivery("int_01ABC", "trello", headers, body, AT, CALLBACK)


def secrets(api_secret: str | None = SECRET) -> WebhookSecrets:
    return WebhookSecrets(webhook_secret=None, credentials={"api_secret": api_secret} if api_secret else {})


# ---------------------------------------------------------------- signature and id
def test_a_delivery_signed_over_its_body_and_callback_url_verifies() -> None:
    assert intake.verify(delivery(p.move_card(CARD, TODO, DOING, AT)), secrets())


@pytest.mark.parametrize(
    ("made", "keys"),
    [
        pytest.param({"secret": "another-secret"}, secrets(), id="other-secret"),
        pytest.param({"url": CALLBACK + "?x=1"}, secrets(), id="signed-for-another-url"),
        pytest.param({"sign": False}, secrets(), id="no-signature"),
        pytest.param({}, secrets(None), id="integration-without-api-secret"),
    ],
)
def test_a_wrong_or_missing_signature_does_not_verify(made: dict[str, Any], keys: WebhookSecrets) -> None:
    assert not intake.verify(delivery(p.move_card(CARD, TODO, DOING, AT), **made), keys)


def test_a_body_changed_after_signing_does_not_verify() -> None:
    signed = delivery(p.comment_card(CARD, TODO, AT))
    tampered = WebhookDelivery(
        signed.integration_id, "trello", signed.headers, signed.body + b" ", AT, signed.callback_url
    )
    assert not intake.verify(tampered, secrets())


def test_the_delivery_id_is_the_action_id() -> None:
    action = p.comment_card(CARD, TODO, AT)
    assert intake.delivery_id(delivery(action)) == action["id"]
    bad = WebhookDelivery("i", "trello", {}, b'{"action": {"id": "../../x"}}', AT, CALLBACK)
    assert intake.delivery_id(bad) is None


def test_a_body_that_is_not_a_json_object_is_an_invalid_payload() -> None:
    with pytest.raises(InvalidPayload):
        intake.decoded_payload(WebhookDelivery("i", "trello", {}, b"[1, 2]", AT, CALLBACK))
    result = webhooks.parse(WebhookDelivery("i", "trello", {}, b"not json", AT, CALLBACK), CONFIG, {})
    assert result.ignored and result.event == "malformed" and result.records == []


# ---------------------------------------------------------------- parsing
def test_a_move_gives_the_action_and_the_card_in_its_new_list() -> None:
    action = p.move_card(CARD, TODO, DOING, AT)

    result = webhooks.parse(delivery(action), CONFIG, {})

    assert result.event == "updateCard" and result.connected and not result.ignored
    recorded, card = result.records
    assert isinstance(recorded, TrelloAction)
    assert (recorded.id, recorded.list_before, recorded.list_after) == (action["id"], TODO, DOING)
    assert isinstance(card, TrelloCard)
    assert (card.id, card.list_id, card.updated_at) == (CARD, DOING, AT)
    assert card.model_fields_set >= {"list_id"} and "closed" not in card.model_fields_set


def test_a_created_card_carries_its_creation_and_a_deleted_one_is_a_tombstone() -> None:
    created = webhooks.parse(delivery(p.create_card(CARD, TODO, AT)), CONFIG, {}).records[1]
    assert isinstance(created, TrelloCard) and created.created_at == AT and created.list_id == TODO

    gone = webhooks.parse(delivery(p.delete_card(CARD, TODO, AT)), CONFIG, {}).records[1]
    assert isinstance(gone, TrelloCard) and gone.deleted and gone.updated_at == AT


def test_an_archived_card_is_closed_and_a_comment_keeps_no_text() -> None:
    archived = webhooks.parse(delivery(p.archive_card(CARD, TODO, AT)), CONFIG, {}).records[1]
    assert isinstance(archived, TrelloCard) and archived.closed is True

    comment = webhooks.parse(delivery(p.comment_card(CARD, TODO, AT, text="secret plans")), CONFIG, {})
    assert comment.event == "commentCard"
    assert all("secret plans" not in r.model_dump_json() for r in comment.records)


def test_a_label_action_names_the_label_and_a_list_action_the_list() -> None:
    labelled = webhooks.parse(delivery(p.label_card(CARD, LABEL, AT)), CONFIG, {}).records
    assert [type(r) for r in labelled] == [TrelloAction, TrelloCard, TrelloLabel]
    label = labelled[2]
    assert isinstance(label, TrelloLabel) and (label.name, label.color) == ("bug", "red")

    renamed = webhooks.parse(delivery(p.update_list(TODO, AT)), CONFIG, {}).records
    assert isinstance(renamed[1], TrelloList) and renamed[1].name == "Renamed"


def test_an_action_of_another_board_is_ignored() -> None:
    action = p.move_card(CARD, TODO, DOING, AT)
    action["data"]["board"] = p.OTHER_BOARD

    result = webhooks.parse(delivery(action), CONFIG, {})

    assert result.ignored and result.records == [] and result.event == "updateCard"


def test_a_board_named_by_its_short_link_is_recognized() -> None:
    config = TrelloConfig(api_key="k", api_token="t", board_id=p.BOARD["shortLink"], list_ids=[TODO, DOING])
    assert not webhooks.parse(delivery(p.comment_card(CARD, TODO, AT)), config, {}).ignored


# ---------------------------------------------------------------- merging
def stored_card(**fields: Any) -> TrelloCard:
    values: dict[str, Any] = {
        "id": CARD,
        "updated_at": AT - timedelta(hours=1),
        "name": "Card",
        "list_id": TODO,
        "label_ids": ["60bb00000000000000000009"],
        "created_at": AT - timedelta(days=2),
    }
    return TrelloCard(**(values | fields))


def test_a_move_keeps_what_only_the_stored_card_knows() -> None:
    incoming = webhooks.parse(delivery(p.move_card(CARD, TODO, DOING, AT)), CONFIG, {}).records[1]

    merged = webhooks.merge_record(stored_card(), incoming)

    assert isinstance(merged, TrelloCard)
    assert (merged.list_id, merged.label_ids, merged.updated_at) == (DOING, ["60bb00000000000000000009"], AT)
    assert merged.created_at == AT - timedelta(days=2)


def test_label_changes_apply_to_the_stored_labels() -> None:
    added = webhooks.parse(delivery(p.label_card(CARD, LABEL, AT)), CONFIG, {}).records[1]
    merged = webhooks.merge_record(stored_card(), added)
    assert isinstance(merged, TrelloCard) and merged.label_ids == sorted([LABEL["id"], "60bb00000000000000000009"])

    removed = webhooks.parse(delivery(p.label_card(CARD, LABEL, AT, add=False)), CONFIG, {}).records[1]
    merged = webhooks.merge_record(stored_card(label_ids=[LABEL["id"]]), removed)
    assert isinstance(merged, TrelloCard) and merged.label_ids == []


def test_a_late_older_delivery_leaves_the_newer_stored_card() -> None:
    newer = stored_card(updated_at=AT + timedelta(hours=1), list_id=DOING)
    late = webhooks.parse(delivery(p.move_card(CARD, DOING, TODO, AT)), CONFIG, {}).records[1]

    assert webhooks.merge_record(newer, late) is newer
