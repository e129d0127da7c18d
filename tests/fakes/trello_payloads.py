"""Builders of Trello action JSON as the board actions API and webhooks give it (``id``, ``idMemberCreator``,
``type``, ``date``, ``data``, ``display``, ``memberCreator``), for the Trello record and metric tests.

Ids are 24 hex digits whose first 8 are a time, as Trello's are: ``object_id(at, n)``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

BOARD = {"id": "5f0c1e2d3b4a596877665544", "name": "Delivery", "shortLink": "aBcD1234"}
OTHER_BOARD = {"id": "5e0000000000000000000bbb", "name": "Ideas", "shortLink": "zYxW9876"}


def object_id(at: datetime, serial: int) -> str:
    """A Trello-shaped id created at ``at`` (seconds) with a distinguishing ``serial``."""
    return f"{int(at.timestamp()):08x}{serial:016x}"


def trello_date(at: datetime) -> str:
    """Trello's date form: milliseconds and a ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def member(member_id: str, full_name: str, username: str) -> dict[str, Any]:
    return {
        "id": member_id,
        "activityBlocked": False,
        "avatarHash": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "avatarUrl": f"https://trello-members.s3.amazonaws.com/{member_id}/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "fullName": full_name,
        "idMemberReferrer": None,
        "initials": "".join(word[0] for word in full_name.split()),
        "nonPublic": {},
        "nonPublicAvailable": True,
        "username": username,
    }


ALICE = member("5a0000000000000000000a11", "Alice Archer", "alicearcher")
BOB = member("5a0000000000000000000b0b", "Bob Baker", "bobbaker")

_serial = iter(range(1, 10**9))


def list_ref(list_id: str, name: str = "") -> dict[str, Any]:
    return {"id": list_id, "name": name or f"List {list_id[-2:]}"}


def card_ref(card_id: str, **fields: Any) -> dict[str, Any]:
    ref = {"id": card_id, "name": f"Card {card_id[-3:]}", "idShort": int(card_id[-3:], 16), "shortLink": "Qw3rTy12"}
    return ref | fields


def action(
    action_type: str,
    at: datetime,
    data: dict[str, Any],
    *,
    creator: dict[str, Any] | None = None,
    translation_key: str = "",
    action_id: str | None = None,
) -> dict[str, Any]:
    """One action: ``data`` gets the board; ``display`` repeats the data's entities as Trello does."""
    who = creator if creator is not None else ALICE
    body = {"board": BOARD} | data
    entities = {key: {"type": key, **value} for key, value in body.items() if isinstance(value, dict)}
    return {
        "id": action_id or object_id(at, next(_serial)),
        "idMemberCreator": who["id"],
        "type": action_type,
        "date": trello_date(at),
        "data": body,
        "appCreator": None,
        "limits": {},
        "display": {
            "translationKey": translation_key or f"action_{action_type}",
            "entities": entities | {"memberCreator": {"type": "member", "id": who["id"], "text": who["fullName"]}},
        },
        "memberCreator": who,
    }


def create_card(card_id: str, list_id: str, at: datetime, **kw: Any) -> dict[str, Any]:
    return action("createCard", at, {"card": card_ref(card_id), "list": list_ref(list_id)}, **kw)


def copy_card(card_id: str, source_id: str, list_id: str, at: datetime, **kw: Any) -> dict[str, Any]:
    data = {"card": card_ref(card_id), "cardSource": card_ref(source_id), "list": list_ref(list_id)}
    return action("copyCard", at, data, **kw)


def convert_to_card(card_id: str, source_id: str, list_id: str, at: datetime, **kw: Any) -> dict[str, Any]:
    data = {
        "card": card_ref(card_id),
        "cardSource": card_ref(source_id),
        "checklist": {"id": object_id(at, 999), "name": "Checklist"},
        "list": list_ref(list_id),
    }
    return action("convertToCardFromCheckItem", at, data, **kw)


def move_card_to_board(card_id: str, list_id: str, at: datetime, **kw: Any) -> dict[str, Any]:
    data = {"card": card_ref(card_id), "boardSource": {"id": OTHER_BOARD["id"]}, "list": list_ref(list_id)}
    return action("moveCardToBoard", at, data, **kw)


def move_card_from_board(card_id: str, list_id: str, at: datetime, **kw: Any) -> dict[str, Any]:
    data = {"card": card_ref(card_id), "boardTarget": {"id": OTHER_BOARD["id"]}, "list": list_ref(list_id)}
    return action("moveCardFromBoard", at, data, **kw)


def move_card(card_id: str, before: str, after: str, at: datetime, **kw: Any) -> dict[str, Any]:
    """``updateCard`` moving a card between lists: ``listBefore``/``listAfter`` and ``old.idList``."""
    data = {
        "card": card_ref(card_id, idList=after),
        "old": {"idList": before},
        "listBefore": list_ref(before),
        "listAfter": list_ref(after),
    }
    return action("updateCard", at, data, translation_key="action_move_card_from_list_to_list", **kw)


def archive_card(card_id: str, list_id: str, at: datetime, *, closed: bool = True, **kw: Any) -> dict[str, Any]:
    """``updateCard`` archiving (``closed=True``) or unarchiving a card."""
    data = {"card": card_ref(card_id, closed=closed), "old": {"closed": not closed}, "list": list_ref(list_id)}
    key = "action_archived_card" if closed else "action_sent_card_to_board"
    return action("updateCard", at, data, translation_key=key, **kw)


def rename_card(card_id: str, list_id: str, at: datetime, **kw: Any) -> dict[str, Any]:
    data = {"card": card_ref(card_id), "old": {"name": "Old name"}, "list": list_ref(list_id)}
    return action("updateCard", at, data, translation_key="action_renamed_card", **kw)


def comment_card(card_id: str, list_id: str, at: datetime, text: str = "Looks good", **kw: Any) -> dict[str, Any]:
    data = {"text": text, "textData": {"emoji": {}}, "card": card_ref(card_id), "list": list_ref(list_id)}
    made = action("commentCard", at, data, translation_key="action_comment_on_card", **kw)
    made["display"]["entities"]["comment"] = {"type": "comment", "text": text}
    return made


def label_card(card_id: str, label: dict[str, Any], at: datetime, *, add: bool = True, **kw: Any) -> dict[str, Any]:
    data = {"card": card_ref(card_id), "label": label, "text": label.get("name", ""), "value": label.get("color")}
    return action("addLabelToCard" if add else "removeLabelFromCard", at, data, **kw)


def delete_card(card_id: str, list_id: str, at: datetime, **kw: Any) -> dict[str, Any]:
    data = {"card": {"id": card_id, "idShort": int(card_id[-3:], 16)}, "list": list_ref(list_id)}
    return action("deleteCard", at, data, **kw)


def update_list(list_id: str, at: datetime, **kw: Any) -> dict[str, Any]:
    data = {"list": list_ref(list_id) | {"name": "Renamed"}, "old": {"name": "Before"}}
    return action("updateList", at, data, **kw)
