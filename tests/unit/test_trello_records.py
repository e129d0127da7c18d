"""Trello action JSON → ``trello_action`` records, and the card creation rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agiletrack.adapters.providers.trello.normalize import action_record
from agiletrack.adapters.providers.trello.records import TRELLO_RECORD_TYPES, TrelloAction, card_created_at
from tests.fakes import trello_payloads as tp

AT = datetime(2024, 3, 5, 10, 30, 15, 250000, tzinfo=UTC)
CARD = tp.object_id(datetime(2024, 3, 1, tzinfo=UTC), 0xC01)
TODO, DOING = "60aa00000000000000000001", "60aa00000000000000000002"


def parsed(raw: Any) -> TrelloAction:
    record = action_record(raw)
    assert record is not None
    return record


def test_create_card_keeps_who_when_where() -> None:
    raw = tp.create_card(CARD, TODO, AT, creator=tp.BOB)

    record = parsed(raw)

    assert (record.id, record.type, record.date, record.updated_at) == (raw["id"], "createCard", AT, AT)
    assert (record.member_id, record.member_name) == (tp.BOB["id"], "Bob Baker")
    assert (record.card_id, record.list_id, record.board_id) == (CARD, TODO, tp.BOARD["id"])
    assert (record.list_before, record.list_after, record.closed) == (None, None, None)


def test_a_list_move_keeps_both_lists() -> None:
    record = parsed(tp.move_card(CARD, TODO, DOING, AT))

    assert (record.type, record.list_before, record.list_after) == ("updateCard", TODO, DOING)
    assert record.closed is None


def test_a_move_without_list_before_and_after_falls_back_to_old_id_list() -> None:
    raw = tp.move_card(CARD, TODO, DOING, AT)
    del raw["data"]["listBefore"], raw["data"]["listAfter"]

    record = parsed(raw)

    assert (record.list_before, record.list_after) == (TODO, DOING)


def test_archive_and_unarchive() -> None:
    archived = parsed(tp.archive_card(CARD, DOING, AT))
    unarchived = parsed(tp.archive_card(CARD, DOING, AT, closed=False))
    renamed = parsed(tp.rename_card(CARD, DOING, AT))

    assert (archived.closed, unarchived.closed, renamed.closed) == (True, False, None)
    assert (archived.list_after, renamed.list_after) == (None, None)


def test_archive_read_from_old_when_the_card_lacks_closed() -> None:
    raw = tp.archive_card(CARD, DOING, AT)
    del raw["data"]["card"]["closed"]

    assert parsed(raw).closed is True


def test_a_comment_is_stored_without_its_text() -> None:
    raw = tp.comment_card(CARD, DOING, AT, text="secret plan: ship on friday")

    record = parsed(raw)

    assert (record.type, record.card_id) == ("commentCard", CARD)
    assert "secret plan" not in record.model_dump_json()


def test_labels_boards_and_deletions() -> None:
    label = {"id": "65bb00000000000000000001", "name": "", "color": "green"}

    added = parsed(tp.label_card(CARD, label, AT))
    removed = parsed(tp.label_card(CARD, label, AT, add=False))
    arrived = parsed(tp.move_card_to_board(CARD, TODO, AT))
    left = parsed(tp.move_card_from_board(CARD, TODO, AT))
    deleted = parsed(tp.delete_card(CARD, TODO, AT))

    assert (added.type, added.label_id, removed.type, removed.label_id) == (
        "addLabelToCard",
        label["id"],
        "removeLabelFromCard",
        label["id"],
    )
    assert (arrived.list_id, arrived.other_board_id) == (TODO, tp.OTHER_BOARD["id"])
    assert (left.type, left.other_board_id) == ("moveCardFromBoard", tp.OTHER_BOARD["id"])
    assert (deleted.type, deleted.card_id) == ("deleteCard", CARD)


def test_a_board_action_has_no_card() -> None:
    record = parsed(tp.update_list(TODO, AT))

    assert (record.type, record.card_id, record.list_id) == ("updateList", None, TODO)


def test_member_from_id_when_the_creator_object_is_missing_and_username_when_unnamed() -> None:
    bare = tp.create_card(CARD, TODO, AT)
    del bare["memberCreator"]
    unnamed = tp.create_card(CARD, TODO, AT, creator=tp.member("5a00000000000000000000cc", "", "carol"))

    assert (parsed(bare).member_id, parsed(bare).member_name) == (tp.ALICE["id"], None)
    assert parsed(unnamed).member_name == "carol"


def _without(key: str) -> dict[str, Any]:
    raw = tp.create_card(CARD, TODO, AT)
    del raw[key]
    return raw


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        "createCard",
        {},
        _without("id"),
        _without("type"),
        _without("date"),
        tp.create_card(CARD, TODO, AT) | {"date": "yesterday"},
        tp.create_card(CARD, TODO, AT) | {"date": 1709634615},
        tp.create_card(CARD, TODO, AT) | {"type": 7},
        tp.create_card(CARD, TODO, AT) | {"id": ""},
    ],
)
def test_unusable_actions_give_none(raw: Any) -> None:
    assert action_record(raw) is None


def test_odd_shapes_inside_data_are_ignored() -> None:
    raw = tp.move_card(CARD, TODO, DOING, AT) | {"memberCreator": "alice", "idMemberCreator": 5}
    raw["data"] = raw["data"] | {"card": "not an object", "listBefore": None, "listAfter": {"id": 3}, "old": []}

    record = parsed(raw)

    assert (record.card_id, record.list_before, record.list_after, record.member_id) == (None, None, None, None)
    assert parsed(tp.create_card(CARD, TODO, AT) | {"data": "text"}).card_id is None


def test_card_created_at_prefers_the_create_action_else_the_id_time() -> None:
    created = datetime(2024, 3, 2, 9, 0, 0, 500000, tzinfo=UTC)
    # 0x65e2a8c0 = 1709353152 s = 2024-03-02T04:19:12Z
    card_id = "65e2a8c0" + "0" * 15 + "1"

    assert card_created_at(card_id, created) == created
    assert card_created_at(card_id, None) == datetime(2024, 3, 2, 4, 19, 12, tzinfo=UTC)
    assert card_created_at("not-a-trello-id", None) is None
    assert card_created_at("65e2", None) is None


def test_record_kinds_are_prefixed_and_distinct() -> None:
    kinds = [t.kind for t in TRELLO_RECORD_TYPES]

    assert kinds == ["trello_action", "trello_card", "trello_list", "trello_label", "trello_member"]
