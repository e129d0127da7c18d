"""What the Trello metrics need from every stored record, gathered in one pass.

``BoardHistory.build`` reads each record once: actions are folded into per-card facts (creation, entries into
the workflow's lists, moves and comments in the window) and per-member counts; current-state records are kept
by id. Nothing is sorted, so 200,000 actions cost one loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from agiletrack.adapters.providers.trello.records import (
    TrelloAction,
    TrelloCard,
    TrelloLabel,
    TrelloList,
    TrelloMember,
)
from agiletrack.metrics.window import Window
from agiletrack.models.records import Record

CREATION_TYPES = frozenset({"createCard", "copyCard", "convertToCardFromCheckItem", "moveCardToBoard"})
"""Actions that put a card into ``data.list`` (``METRICS.md``: "a card enters a list when it is created in it")."""
COMMENT_TYPE = "commentCard"


@dataclass(frozen=True)
class Workflow:
    """``list_ids`` in order: the first list is where work waits, the last is done, the ones between are in
    progress."""

    list_ids: tuple[str, ...]
    position: Mapping[str, int]
    """Tracked list → its index in the workflow."""
    done: str
    in_progress: frozenset[str]
    """The lists strictly between the first and the last."""

    @classmethod
    def of(cls, list_ids: Sequence[str]) -> Workflow:
        if not list_ids:
            raise ValueError("a Trello workflow needs at least one list")
        ordered = tuple(list_ids)
        position = {list_id: i for i, list_id in enumerate(ordered)}
        return cls(ordered, position, ordered[-1], frozenset(ordered[1:-1]))


def entered_list(action: TrelloAction) -> str | None:
    """The list a card entered by this action: its creation list, or a move's ``listAfter``; else None."""
    if action.type in CREATION_TYPES:
        return action.list_id
    if action.type == "updateCard":
        return action.list_after
    return None


@dataclass(slots=True)
class CardFacts:
    """One card's history, as far as the metrics need it."""

    created: datetime | None = None
    """The earliest ``createCard`` action's date."""
    last_entry: dict[str, datetime] = field(default_factory=dict)
    """Tracked list → the last entry into it."""
    first_progress: datetime | None = None
    """The first entry into an in-progress list."""
    last_done: datetime | None = None
    """The last entry into the done list."""
    last_done_in_window: datetime | None = None
    """The last entry into the done list inside the window."""
    moves: int = 0
    """Moves in the window."""


@dataclass
class BoardHistory:
    """Per-card facts and per-member counts from the actions, and the current-state records by id."""

    workflow: Workflow
    window: Window
    cards: dict[str, CardFacts] = field(default_factory=dict)
    card_records: dict[str, TrelloCard] = field(default_factory=dict)
    lists: dict[str, TrelloList] = field(default_factory=dict)
    labels: dict[str, TrelloLabel] = field(default_factory=dict)
    members: dict[str, TrelloMember] = field(default_factory=dict)
    actions_by_member: Counter[str | None] = field(default_factory=Counter)
    names_seen: dict[str | None, tuple[datetime, str]] = field(default_factory=dict)
    """Member id → (date, creator name) of their newest action in the window that carried a name."""
    backward_moves: int = 0
    comments_by_card: Counter[str | None] = field(default_factory=Counter)

    @classmethod
    def build(cls, records: Mapping[str, Sequence[Record]], window: Window, list_ids: Sequence[str]) -> BoardHistory:
        history = cls(Workflow.of(list_ids), window)
        for record in _live(records.values()):
            history.add(record)
        return history

    def add(self, record: Record) -> None:
        if isinstance(record, TrelloAction):
            self._add_action(record)
        elif isinstance(record, TrelloCard):
            self.card_records[record.id] = record
        elif isinstance(record, TrelloList):
            self.lists[record.id] = record
        elif isinstance(record, TrelloLabel):
            self.labels[record.id] = record
        elif isinstance(record, TrelloMember):
            self.members[record.id] = record

    def facts(self, card_id: str) -> CardFacts:
        found = self.cards.get(card_id)
        if found is None:
            found = self.cards[card_id] = CardFacts()
        return found

    def _add_action(self, action: TrelloAction) -> None:
        in_window = self.window.contains(action.date)
        if in_window:
            self._count_activity(action)
        if action.card_id is None:
            return
        card = self.facts(action.card_id)
        if action.type == "createCard" and (card.created is None or action.date < card.created):
            card.created = action.date
        entered = entered_list(action)
        if entered is not None and entered in self.workflow.position:
            self._add_entry(card, entered, action.date, in_window)
        if in_window and self._is_move(action):
            self._add_move(card, action)

    def _count_activity(self, action: TrelloAction) -> None:
        self.actions_by_member[action.member_id] += 1
        if action.member_name is not None:
            seen = self.names_seen.get(action.member_id)
            if seen is None or seen[0] <= action.date:
                self.names_seen[action.member_id] = (action.date, action.member_name)
        if action.type == COMMENT_TYPE:
            self.comments_by_card[action.card_id] += 1

    def _add_entry(self, card: CardFacts, list_id: str, at: datetime, in_window: bool) -> None:
        last = card.last_entry.get(list_id)
        if last is None or at > last:
            card.last_entry[list_id] = at
        if list_id in self.workflow.in_progress and (card.first_progress is None or at < card.first_progress):
            card.first_progress = at
        if list_id != self.workflow.done:
            return
        if card.last_done is None or at > card.last_done:
            card.last_done = at
        if in_window and (card.last_done_in_window is None or at > card.last_done_in_window):
            card.last_done_in_window = at

    def _is_move(self, action: TrelloAction) -> bool:
        position = self.workflow.position
        return action.type == "updateCard" and action.list_before in position and action.list_after in position

    def _add_move(self, card: CardFacts, action: TrelloAction) -> None:
        card.moves += 1
        position = self.workflow.position
        before, after = action.list_before or "", action.list_after or ""
        if position[after] < position[before]:
            self.backward_moves += 1


def _live(groups: Iterable[Sequence[Record]]) -> Iterable[Record]:
    for group in groups:
        for record in group:
            if not record.deleted:
                yield record
