"""Trello board-webhook deliveries: signature, de-duplication id, parsing into records, and merging.

A delivery is ``{"action": {...}, "model": {...the board...}, "webhook": {...}}``; Trello sends no event header,
so the event is the action's ``type``.

- ``X-Trello-Webhook`` = base64(HMAC-SHA1(``api_secret``, raw body + callback URL)), checked in constant time
  against the exact URL the delivery reached; an integration without ``api_secret`` verifies nothing.
- ``delivery_id`` is ``action.id``: Trello's retries repeat it, and the signature has no timestamp, so
  de-duplicating on it is also the replay protection.
- ``parse``: every action type is accepted and stored as its ``trello_action`` (the activity metrics count every
  type), with the current-state records the payload names:

  - the card (``data.card``): what the action tells of it, and only that (its list from ``data.card.idList``,
    ``data.listAfter`` or ``data.list``; ``closed`` when the action carries it; its name); ``updated_at`` is the
    action's date. ``addLabelToCard`` / ``removeLabelFromCard`` carry the label change, which ``merge_record``
    applies to the stored labels. ``deleteCard`` and ``moveCardFromBoard`` give the card's tombstone.
  - the list of ``createList`` / ``updateList`` (``data.list``), the label of label actions (``data.label``;
    ``deleteLabel`` gives its tombstone).

  An action of another board (``data.board`` is not the integration's) is ignored. A body that is not a JSON
  object with a readable action is ``ignored`` under the event name ``malformed``: ``parse`` never raises.
- ``merge_record``: a webhook's card, list or label is partial. Against the stored record it is applied field by
  field (only the fields it carries) when it is not older; an older one leaves the stored record as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from agiletrack.adapters.providers.base import WebhookDelivery, WebhookResult
from agiletrack.adapters.providers.deliveries import json_object
from agiletrack.adapters.providers.trello.config import TrelloConfig
from agiletrack.adapters.providers.trello.normalize import action_record
from agiletrack.adapters.providers.trello.records import TrelloAction, TrelloCard, TrelloLabel, TrelloList
from agiletrack.models.records import Record

MALFORMED = "malformed"
GONE_TYPES = frozenset({"deleteCard", "moveCardFromBoard"})
LIST_TYPES = frozenset({"createList", "updateList"})
LABEL_TYPES = frozenset({"createLabel", "updateLabel", "addLabelToCard", "removeLabelFromCard"})
LABEL_CHANGES = {"addLabelToCard": True, "removeLabelFromCard": False}
_UNREADABLE = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


def _obj(value: object) -> dict[str, Any]:
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _ours(data: Mapping[str, Any], config: TrelloConfig, provider_state: Mapping[str, Any]) -> bool:
    board = _obj(data.get("board"))
    names = {_text(board.get("id")), _text(board.get("shortLink"))} - {None}
    wanted = {config.board_id, _text(provider_state.get("board_id"))} - {None}
    return bool(names & wanted)


def parse(delivery: WebhookDelivery, config: TrelloConfig, provider_state: Mapping[str, Any]) -> WebhookResult:
    """What a verified delivery means. Total: a malformed delivery is ``ignored`` as ``malformed``."""
    payload = json_object(delivery.body)
    raw = _obj(payload.get("action")) if payload is not None else {}
    try:
        action = action_record(raw)
        if action is None:
            return WebhookResult(event=MALFORMED, ignored=True, connected=True)
        data = _obj(raw.get("data"))
        if not _ours(data, config, provider_state):
            return WebhookResult(event=action.type, ignored=True, connected=True)
        records: list[Record] = [action, *_named(action, data)]
    except _UNREADABLE:
        return WebhookResult(event=MALFORMED, ignored=True, connected=True)
    return WebhookResult(event=action.type, records=records, connected=True)


def _named(action: TrelloAction, data: Mapping[str, Any]) -> list[Record]:
    """The card, list or label the action names, as far as it tells."""
    out: list[Record] = []
    card = _card(action, data)
    if card is not None:
        out.append(card)
    if action.type in LIST_TYPES and action.list_id is not None:
        raw_list = _obj(data.get("list"))
        fields: dict[str, Any] = {"id": action.list_id, "updated_at": action.date, "board_id": action.board_id}
        if isinstance(raw_list.get("name"), str):
            fields["name"] = raw_list["name"]
        if isinstance(raw_list.get("closed"), bool):
            fields["closed"] = raw_list["closed"]
        if isinstance(raw_list.get("pos"), int | float) and not isinstance(raw_list.get("pos"), bool):
            fields["position"] = float(raw_list["pos"])
        out.append(TrelloList(**fields))
    if action.label_id is not None and (action.type in LABEL_TYPES or action.type == "deleteLabel"):
        raw_label = _obj(data.get("label"))
        if action.type == "deleteLabel":
            out.append(TrelloLabel(id=action.label_id, updated_at=action.date, board_id=action.board_id, deleted=True))
        else:
            label: dict[str, Any] = {"id": action.label_id, "updated_at": action.date, "board_id": action.board_id}
            if isinstance(raw_label.get("name"), str):
                label["name"] = raw_label["name"]
            if "color" in raw_label:
                label["color"] = _text(raw_label.get("color"))
            out.append(TrelloLabel(**label))
    return out


def _card(action: TrelloAction, data: Mapping[str, Any]) -> TrelloCard | None:
    if action.card_id is None:
        return None
    if action.type in GONE_TYPES:
        return TrelloCard(id=action.card_id, updated_at=action.date, board_id=action.board_id, deleted=True)
    raw = _obj(data.get("card"))
    fields: dict[str, Any] = {"id": action.card_id, "updated_at": action.date, "board_id": action.board_id}
    list_id = _text(raw.get("idList")) or action.list_after or action.list_id
    if list_id is not None:
        fields["list_id"] = list_id
    if isinstance(raw.get("closed"), bool):
        fields["closed"] = raw["closed"]
    elif action.closed is not None:
        fields["closed"] = action.closed
    if isinstance(raw.get("name"), str):
        fields["name"] = raw["name"]
    if action.type == "createCard":
        fields["created_at"] = action.date
    change = LABEL_CHANGES.get(action.type)
    if change is not None and action.label_id is not None:
        fields["label_ids"] = [action.label_id] if change else []
        return TrelloCard(**fields).with_label_change(action.label_id, change)
    return TrelloCard(**fields)


# ---------------------------------------------------------------- merging
def merge_record(stored: Record, incoming: Record) -> Record:
    """What to store when a webhook's record meets the stored one (see the module's docstring)."""
    if isinstance(incoming, TrelloAction) or type(stored) is not type(incoming):
        return incoming
    if incoming.updated_at < stored.updated_at:
        return stored
    if incoming.deleted:
        return incoming
    values = stored.model_dump()
    values.update({name: getattr(incoming, name) for name in incoming.model_fields_set})
    values["deleted"] = False
    if isinstance(stored, TrelloCard) and isinstance(incoming, TrelloCard):
        if stored.created_at is not None and "created_at" in incoming.model_fields_set:
            values["created_at"] = min(stored.created_at, incoming.created_at or stored.created_at)
        change = incoming.label_change
        if change is not None:
            label_id, added = change
            labels = set() if stored.deleted else set(stored.label_ids)
            values["label_ids"] = sorted(labels | {label_id} if added else labels - {label_id})
    return type(incoming).model_validate(values)
