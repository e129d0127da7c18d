"""Trello action JSON (board actions of the REST API, the ``action`` of a webhook) → ``trello_action`` records.

``action_record`` is total: any JSON value goes in; a record comes out, or None when the action has no id, no
type or no readable date. Only text-free facts are read: a comment's ``data.text`` (and its copy under
``display``) is never touched. ``card_record``, ``list_record``, ``label_record`` and ``member_record`` read the
board's nested resources the same way (None for an entry without an id).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agiletrack.adapters.providers.trello.records import (
    TrelloAction,
    TrelloCard,
    TrelloLabel,
    TrelloList,
    TrelloMember,
    card_created_at,
)
from agiletrack.models.common import as_utc


def parse_time(value: Any) -> datetime | None:
    """A Trello date (``2024-03-05T10:00:00.000Z``) in UTC; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _object(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}


def _id_of(parent: Mapping[str, Any], key: str) -> str | None:
    """``parent[key]["id"]`` when it is a non-empty string."""
    return _text(_object(parent, key).get("id"))


def _list_move(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The lists a card left and entered: ``listBefore``/``listAfter``, else ``old.idList`` and ``card.idList``."""
    before, after = _id_of(data, "listBefore"), _id_of(data, "listAfter")
    if before is None and after is None and "idList" in _object(data, "old"):
        before, after = _text(_object(data, "old").get("idList")), _text(_object(data, "card").get("idList"))
    return before, after


def _archive_change(data: Mapping[str, Any]) -> bool | None:
    """True when the action archived the card, False when it unarchived it, None when it did neither."""
    old = _object(data, "old")
    if "closed" not in old:
        return None
    now = _object(data, "card").get("closed")
    if isinstance(now, bool):
        return now
    was = old.get("closed")
    return (not was) if isinstance(was, bool) else None


def _member(raw: Mapping[str, Any]) -> tuple[str | None, str | None]:
    creator = _object(raw, "memberCreator")
    member_id = _text(raw.get("idMemberCreator")) or _text(creator.get("id"))
    return member_id, _text(creator.get("fullName")) or _text(creator.get("username"))


def action_record(raw: Any) -> TrelloAction | None:
    """One Trello action as a ``trello_action`` record, or None when it is unusable (no id, type or date)."""
    if not isinstance(raw, Mapping):
        return None
    action_id, action_type, date = _text(raw.get("id")), _text(raw.get("type")), parse_time(raw.get("date"))
    if action_id is None or action_type is None or date is None:
        return None
    data = _object(raw, "data")
    member_id, member_name = _member(raw)
    before, after = _list_move(data) if action_type == "updateCard" else (None, None)
    return TrelloAction(
        id=action_id,
        updated_at=date,
        type=action_type,
        date=date,
        member_id=member_id,
        member_name=member_name,
        card_id=_id_of(data, "card"),
        board_id=_id_of(data, "board"),
        list_id=_id_of(data, "list"),
        list_before=before,
        list_after=after,
        closed=_archive_change(data) if action_type == "updateCard" else None,
        label_id=_id_of(data, "label"),
        other_board_id=_id_of(data, "boardSource") or _id_of(data, "boardTarget"),
    )


# ---------------------------------------------------------------- current-state records
def _closed(raw: Mapping[str, Any]) -> bool:
    return raw.get("closed") is True


def card_record(
    raw: Any, observed_at: datetime, *, board_id: str | None = None, created: datetime | None = None
) -> TrelloCard | None:
    """A card of ``GET /1/boards/{id}?cards=all`` (``id, idList, closed, idLabels, name, dateLastActivity``).

    ``updated_at`` is the card's ``dateLastActivity`` (Trello moves it on every change of the card), else
    ``observed_at``: an unchanged card pulled again is the same record, which the store does not rewrite.
    ``created_at`` is ``created`` (its ``createCard`` action's date, when known), else its id's time."""
    if not isinstance(raw, Mapping):
        return None
    card_id = _text(raw.get("id"))
    if card_id is None:
        return None
    labels = raw.get("idLabels")
    return TrelloCard(
        id=card_id,
        updated_at=parse_time(raw.get("dateLastActivity")) or observed_at,
        name=_text(raw.get("name")) or "",
        board_id=_text(raw.get("idBoard")) or board_id,
        list_id=_text(raw.get("idList")),
        closed=_closed(raw),
        label_ids=sorted(str(label) for label in labels if isinstance(label, str)) if isinstance(labels, list) else [],
        created_at=card_created_at(card_id, created),
    )


def list_record(raw: Any, observed_at: datetime, *, board_id: str | None = None) -> TrelloList | None:
    if not isinstance(raw, Mapping) or _text(raw.get("id")) is None:
        return None
    position = raw.get("pos")
    return TrelloList(
        id=str(raw["id"]),
        updated_at=observed_at,
        name=_text(raw.get("name")) or "",
        position=float(position) if isinstance(position, int | float) and not isinstance(position, bool) else 0.0,
        closed=_closed(raw),
        board_id=_text(raw.get("idBoard")) or board_id,
    )


def label_record(raw: Any, observed_at: datetime, *, board_id: str | None = None) -> TrelloLabel | None:
    if not isinstance(raw, Mapping) or _text(raw.get("id")) is None:
        return None
    return TrelloLabel(
        id=str(raw["id"]),
        updated_at=observed_at,
        name=raw.get("name") if isinstance(raw.get("name"), str) else "",
        color=_text(raw.get("color")),
        board_id=_text(raw.get("idBoard")) or board_id,
    )


def member_record(raw: Any, observed_at: datetime) -> TrelloMember | None:
    if not isinstance(raw, Mapping) or _text(raw.get("id")) is None:
        return None
    return TrelloMember(
        id=str(raw["id"]),
        updated_at=observed_at,
        full_name=_text(raw.get("fullName")) or "",
        username=_text(raw.get("username")) or "",
    )
