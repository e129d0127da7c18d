"""Trello metrics (``METRICS.md``, section "Trello", and its ``series``): cards, lists, activity, labels.

Pure: the caller passes every stored record of one integration (all kinds, whole: last entries, creations and
snapshot ages reach back before ``since``), the window, ``now`` and the workflow's ``list_ids``.

How the ambiguous points of the contract are read (also in ``docs/metrics.md``):

- Tombstones (``deleted=True``) are skipped everywhere, actions and current-state records alike.
- Entries: ``createCard``, ``copyCard``, ``convertToCardFromCheckItem`` and ``moveCardToBoard`` enter
  ``data.list``; an ``updateCard`` enters its ``listAfter`` wherever it came from (an untracked list too).
  Unarchiving is not an entry, archiving is not a leaving: an archived card keeps its entries.
- Creation is the earliest ``createCard`` action of the card, else the stored card's ``created_at``, else its
  id's time. Copies, conversions and cards moved in from another board have no ``createCard``: a copy's id is
  new (about the copy's time), a moved card's id is its first creation on the other board.
- "Last entry into done" is the last one among all stored actions, not only those before ``until``: a card
  finished in the window and finished again after it counts in the later window (the contract's "last").
- Cycle time's first in-progress entry is the first ever; if it comes after the last entry into done (a card
  created in done, moved back later) the duration is negative and dropped, so the card is left out.
- A move is an ``updateCard`` in the window whose ``listBefore`` and ``listAfter`` are both tracked;
  ``backward`` compares their workflow positions; ``per_card`` is moves / distinct moved cards, 2 decimals.
- Deleted cards (``deleteCard``) and cards moved to another board (``moveCardFromBoard``): their history
  happened, so their actions count in every history figure (lead and cycle time, moves, throughput,
  activity, comments, ``cards_created``); they are on no list now, so the snapshot figures never see them.
- ``now.lists`` counts the stored cards that are not archived and whose list is tracked. A card's age in its
  list starts at its last entry into that list, or at its creation when no stored action entered it (it was
  there before the history we hold); a list's name is null when its ``trello_list`` record is missing.
- ``now.labels`` counts stored cards that are not archived, whatever their list. A label is keyed by its
  name, or by its colour when unnamed; labels with neither (invisible in Trello) and label ids with no
  ``trello_label`` record are left out.
- ``activity.members``: a member's name is the current ``trello_member``'s full name, else (a former member)
  the creator name of their newest action in the window; ties sort by name then id, plain string order,
  missing ones as empty strings. ``share`` is over every action in the window.
- ``activity.comments.per_card`` is the comments on cards divided by the distinct cards commented on (2
  decimals); a comment action without a card counts in ``total`` only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from agiletrack.adapters.providers.trello.history import BoardHistory, CardFacts
from agiletrack.adapters.providers.trello.records import TrelloCard, card_created_at
from agiletrack.metrics.stats import WeekValue, duration_stats, hours_between, per_week, rate, round2, weekly_series
from agiletrack.metrics.window import Window
from agiletrack.models.records import Record


def compute_trello_metrics(
    records: Mapping[str, Sequence[Record]],
    since: datetime,
    until: datetime,
    now: datetime,
    *,
    list_ids: Sequence[str],
    history: BoardHistory | None = None,
) -> dict[str, Any]:
    """The ``metrics`` object of a Trello integration: ``cards``, ``lists``, ``activity``, ``now``. ``history``:
    the records already read for this window (``BoardHistory.build``), to share with the series."""
    history = history if history is not None else BoardHistory.build(records, Window(since, until), list_ids)
    return {
        "cards": {
            "lead_time": duration_stats(_lead_hours(history)),
            "cycle_time": duration_stats(_cycle_hours(history)),
            "moves": _moves(history),
        },
        "lists": {"throughput": _throughput(history)},
        "activity": {"members": _members(history), "comments": _comments(history)},
        "now": {"lists": _now_lists(history, now), "labels": _now_labels(history)},
    }


def compute_trello_series(
    records: Mapping[str, Sequence[Record]],
    since: datetime,
    until: datetime,
    *,
    list_ids: Sequence[str],
    history: BoardHistory | None = None,
) -> dict[str, list[WeekValue]]:
    """The ``series`` object: ``cards_created`` (by creation time) and ``cards_done`` (as throughput's weekly).
    ``history`` as for ``compute_trello_metrics``: one read of the records serves both."""
    history = history if history is not None else BoardHistory.build(records, Window(since, until), list_ids)
    return {"cards_created": _cards_created(history), "cards_done": _done_weekly(history)}


# ---------------------------------------------------------------- cards


def created_at(history: BoardHistory, card_id: str) -> datetime | None:
    """The card's creation: its ``createCard``, else its stored ``created_at``, else its id's time."""
    facts = history.cards.get(card_id)
    record = history.card_records.get(card_id)
    stored = record.created_at if record is not None else None
    return card_created_at(card_id, (facts.created if facts is not None else None) or stored)


def _finished_in_window(history: BoardHistory) -> list[tuple[str, CardFacts, datetime]]:
    """Cards whose last entry into done is in the window, with that entry."""
    return [
        (card_id, facts, facts.last_done)
        for card_id, facts in history.cards.items()
        if facts.last_done is not None and history.window.contains(facts.last_done)
    ]


def _lead_hours(history: BoardHistory) -> list[float]:
    hours = []
    for card_id, _, done_at in _finished_in_window(history):
        created = created_at(history, card_id)
        if created is not None:
            hours.append(hours_between(created, done_at))
    return hours


def _cycle_hours(history: BoardHistory) -> list[float]:
    return [
        hours_between(facts.first_progress, done_at)
        for _, facts, done_at in _finished_in_window(history)
        if facts.first_progress is not None
    ]


def _moves(history: BoardHistory) -> dict[str, Any]:
    per_card = [facts.moves for facts in history.cards.values() if facts.moves]
    total = sum(per_card)
    return {
        "total": total,
        "backward": history.backward_moves,
        "per_card": round2(total / len(per_card)) if per_card else None,
        "per_week": per_week(total, history.window),
    }


def _cards_created(history: BoardHistory) -> list[WeekValue]:
    card_ids = history.cards.keys() | history.card_records.keys()
    created = (created_at(history, card_id) for card_id in card_ids)
    return weekly_series(history.window, [(at, 1) for at in created if at is not None])


# ---------------------------------------------------------------- lists


def _done_weekly(history: BoardHistory) -> list[WeekValue]:
    entries = [f.last_done_in_window for f in history.cards.values() if f.last_done_in_window is not None]
    return weekly_series(history.window, [(at, 1) for at in entries])


def _throughput(history: BoardHistory) -> dict[str, Any]:
    total = sum(1 for facts in history.cards.values() if facts.last_done_in_window is not None)
    return {"total": total, "per_week": per_week(total, history.window), "weekly": _done_weekly(history)}


def _open_cards(history: BoardHistory) -> list[TrelloCard]:
    return [card for card in history.card_records.values() if not card.closed]


def _list_entry(history: BoardHistory, card: TrelloCard, list_id: str) -> datetime | None:
    """When the card last entered ``list_id``; its creation when no stored action entered it."""
    facts = history.cards.get(card.id)
    entered = facts.last_entry.get(list_id) if facts is not None else None
    return entered or created_at(history, card.id)


def _now_lists(history: BoardHistory, now: datetime) -> list[dict[str, Any]]:
    cards: dict[str, list[TrelloCard]] = {list_id: [] for list_id in history.workflow.list_ids}
    for card in _open_cards(history):
        if card.list_id is not None and card.list_id in cards:
            cards[card.list_id].append(card)
    rows = []
    for list_id, in_list in cards.items():
        entries = [_list_entry(history, card, list_id) for card in in_list]
        stored = history.lists.get(list_id)
        rows.append(
            {
                "id": list_id,
                "name": stored.name if stored is not None else None,
                "open_cards": len(in_list),
                "age": duration_stats(hours_between(at, now) for at in entries if at is not None),
            }
        )
    return rows


def _now_labels(history: BoardHistory) -> dict[str, int]:
    keys = {label.id: label.name or label.color for label in history.labels.values()}
    counts: Counter[str] = Counter()
    for card in _open_cards(history):
        counts.update({key for label_id in card.label_ids if (key := keys.get(label_id))})
    return dict(sorted(counts.items()))


# ---------------------------------------------------------------- activity


def _member_name(history: BoardHistory, member_id: str | None) -> str | None:
    member = history.members.get(member_id) if member_id is not None else None
    if member is not None and member.full_name:
        return member.full_name
    seen = history.names_seen.get(member_id)
    return seen[1] if seen is not None else None


def _members(history: BoardHistory) -> list[dict[str, Any]]:
    total = sum(history.actions_by_member.values())
    named = [(n, _member_name(history, member_id), member_id) for member_id, n in history.actions_by_member.items()]
    named.sort(key=lambda row: (-row[0], row[1] or "", row[2] or ""))
    return [
        {"member_id": member_id, "name": name, "actions": n, "share": rate(n, total)} for n, name, member_id in named
    ]


def _comments(history: BoardHistory) -> dict[str, Any]:
    total = sum(history.comments_by_card.values())
    on_cards = {card_id: n for card_id, n in history.comments_by_card.items() if card_id is not None}
    return {
        "total": total,
        "per_week": per_week(total, history.window),
        "per_card": round2(sum(on_cards.values()) / len(on_cards)) if on_cards else None,
    }
