"""Trello's normalized records: what a Trello sync and Trello webhooks store, and what the Trello metrics read.

Record kinds carry a ``trello_`` prefix so that they never collide with another provider's kinds.

- ``trello_action``: one per board action, of every type (``GET /1/boards/{id}/actions`` in a sync; the
  ``action`` of each webhook delivery). Actions are history: once stored they never change. Only text-free
  facts are kept: never a comment's text, a card's description or any name but the creator's.
- ``trello_card``: one per card of the board, archived ones included (``/1/boards/{id}/cards/all``, or the
  ``model`` a card webhook carries): its current list, archive flag and labels.
- ``trello_list``: one per list of the board, archived ones included (``/1/boards/{id}/lists?filter=all``).
- ``trello_label``: one per label of the board (``/1/boards/{id}/labels``).
- ``trello_member``: one per current member of the board (``/1/boards/{id}/members``); former members are
  known only through the ``member_name`` of their actions.

A sync stores all five kinds (actions since its cursor, the other kinds as observed now). A webhook stores its
action, and the card, list or label it names as the delivery's ``model`` shows it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from pydantic import Field, PrivateAttr

from agiletrack.models.common import UtcDatetime
from agiletrack.models.records import Record, SharedFieldsSet

ID_TIME_HEX_DIGITS = 8
"""A Trello id is a MongoDB ObjectId: its first 8 hex digits are the creation time, in seconds since the epoch."""


def id_timestamp(trello_id: str) -> datetime | None:
    """The creation time carried by a Trello id (24 hex digits), or None when the id does not carry one."""
    head = trello_id[:ID_TIME_HEX_DIGITS]
    if len(head) < ID_TIME_HEX_DIGITS or any(c not in "0123456789abcdefABCDEF" for c in head):
        return None
    return datetime.fromtimestamp(int(head, 16), tz=UTC)


def card_created_at(card_id: str, create_action_date: datetime | None) -> datetime | None:
    """A card's creation time (``METRICS.md``): the date of its ``createCard`` action, or else the time in the
    first 8 hex digits of its id; None when neither is known. Copies and cards moved in from another board have
    no ``createCard`` on this board: a copy's id is new, a moved card's id keeps its first creation time."""
    if create_action_date is not None:
        return create_action_date
    return id_timestamp(card_id)


class TrelloAction(Record, SharedFieldsSet):
    """One board action. ``updated_at`` is the action's ``date`` (an action never changes after it happened:
    immutable, and sharing its fields set with the others, ``SharedFieldsSet``, as a board holds 100,000s)."""

    kind: ClassVar[str] = "trello_action"
    id: str
    type: str
    """``createCard``, ``updateCard``, ``commentCard``, ... (any type is kept: activity counts them all)."""
    date: UtcDatetime
    member_id: str | None = None
    """``idMemberCreator`` (or ``memberCreator.id``)."""
    member_name: str | None = None
    """``memberCreator.fullName`` (else its ``username``) as it was at the action: former members keep a name."""
    card_id: str | None = None
    board_id: str | None = None
    list_id: str | None = None
    """``data.list.id``: for creations (``createCard``, ``copyCard``, ``convertToCardFromCheckItem``,
    ``moveCardToBoard``) the list the card was created in."""
    list_before: str | None = None
    list_after: str | None = None
    """For a list move (``updateCard`` with ``data.listBefore`` / ``data.listAfter``, or ``data.old.idList`` and
    the card's new ``idList``): the lists it left and entered."""
    closed: bool | None = None
    """For an archive change (``updateCard`` with ``data.old.closed``): True archived, False unarchived."""
    label_id: str | None = None
    """``addLabelToCard`` / ``removeLabelFromCard``: the label."""
    other_board_id: str | None = None
    """``moveCardToBoard``: the board it came from; ``moveCardFromBoard``: the board it went to."""


class TrelloCard(Record):
    """A card as observed. ``updated_at`` is when it was observed (the sync page or webhook that carried it)."""

    kind: ClassVar[str] = "trello_card"
    id: str
    name: str = ""
    board_id: str | None = None
    list_id: str | None = None
    closed: bool = False
    """Archived."""
    label_ids: list[str] = Field(default_factory=list)
    created_at: UtcDatetime | None = None
    """``card_created_at``: its ``createCard`` action's date, else its id's time."""
    _label_change: tuple[str, bool] | None = PrivateAttr(default=None)
    """Set on a webhook's card by ``addLabelToCard`` (label, True) or ``removeLabelFromCard`` (label, False): the
    merge applies it to the stored labels. Never stored."""

    def with_label_change(self, label_id: str, added: bool) -> TrelloCard:
        self._label_change = (label_id, added)
        return self

    @property
    def label_change(self) -> tuple[str, bool] | None:
        return self._label_change


class TrelloList(Record):
    """A list as observed. ``updated_at`` is when it was observed."""

    kind: ClassVar[str] = "trello_list"
    id: str
    name: str = ""
    position: float = 0.0
    closed: bool = False
    board_id: str | None = None


class TrelloLabel(Record):
    """A label as observed. ``updated_at`` is when it was observed."""

    kind: ClassVar[str] = "trello_label"
    id: str
    name: str = ""
    """Empty for an unnamed (colour-only) label."""
    color: str | None = None
    """None for a colourless label."""
    board_id: str | None = None


class TrelloMember(Record):
    """A current board member as observed. ``updated_at`` is when it was observed."""

    kind: ClassVar[str] = "trello_member"
    id: str
    full_name: str = ""
    username: str = ""


TRELLO_RECORD_TYPES: tuple[type[Record], ...] = (TrelloAction, TrelloCard, TrelloList, TrelloLabel, TrelloMember)
