"""The Trello pull: the board's actions (every type), then its lists, labels, members and cards as they are now.

A sync runs two phases, each resumable from the cursor of the page before it:

1. ``actions``: ``GET /1/boards/{id}/actions?filter=all&limit=1000``, newest first. The first page asks
   ``since=<mark>`` (the newest action id a completed sync stored; on a first sync the backfill start as a date);
   each next page adds ``before=<the oldest action id of the page before>``, until a page has fewer than 1,000
   actions. Then the newest action id of the run becomes the mark. One request per 1,000 actions, never one per
   card. An action that took a card off the board (``deleteCard``, ``moveCardFromBoard``) also gives the card's
   tombstone at the action's date (a card moved back later is newer in the snapshot, so it stays).
2. ``snapshot``: one request, ``GET /1/boards/{id}`` with the nested ``lists``, ``labels``, ``members`` and
   ``cards`` (archived ones included). Only what changed is yielded: lists, labels and members by a fingerprint
   of each kept in the cursor (a label or member gone from the board becomes a tombstone); cards by bucket (the
   ids are hashed into ``BUCKETS`` buckets, and the cursor keeps a digest of each bucket's cards): the cards of
   a bucket whose digest moved are yielded, and the record store writes only those whose content changed (a
   card's ``updated_at`` is its ``dateLastActivity``, so an unchanged card is the same record). A card's
   ``created_at`` is the date of its ``createCard`` action when this run read it, else its id's time (which
   is that same second: Trello makes the id when it creates the card); the metrics prefer the stored
   ``createCard`` action anyway.

A first sync of 20,000 cards and 200,000 actions takes 200 action pages and a snapshot; an hourly sync with
fewer than 1,000 new actions takes two requests, and writes nothing when nothing changed.

Cursor (JSON, ``{}`` on a first sync): see ``TrelloCursor``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field

from agiletrack.adapters.providers.base import PullContext, PullPage, PullProgress
from agiletrack.adapters.providers.trello.client import TrelloClient
from agiletrack.adapters.providers.trello.config import TrelloConfig
from agiletrack.adapters.providers.trello.normalize import (
    action_record,
    card_record,
    label_record,
    list_record,
    member_record,
)
from agiletrack.adapters.providers.trello.records import TrelloAction, TrelloCard, TrelloLabel, TrelloMember
from agiletrack.models.base import Model
from agiletrack.models.common import iso
from agiletrack.models.records import Record

ACTION_PAGE = 1000
"""Trello's largest ``limit``."""
BUCKETS = 1024
DIGEST_HEX = 8
GONE_TYPES = frozenset({"deleteCard", "moveCardFromBoard"})
"""Actions after which the card is no longer on this board."""
CARD_FIELDS = "id,idBoard,idList,closed,idLabels,name,dateLastActivity"

Phase = Literal["actions", "snapshot"]


class TrelloCursor(Model):
    version: int = 1
    phase: Phase = "actions"
    mark: str | None = None
    """The newest action id of the last completed actions phase: the next run asks ``since`` it."""
    newest: str | None = None
    """The newest action id seen by the run under way (its first page's first action)."""
    before: str | None = None
    """The oldest action id of the run's last page: its next page asks ``before`` it; None: its first page."""
    board_id: str | None = None
    """The board's id as Trello answers it (the config may name it by its short link)."""
    fingerprints: dict[str, str] = Field(default_factory=dict)
    """``kind:id`` → a hash of what was stored for lists, labels and members."""
    buckets: str = ""
    """``BUCKETS`` card digests of ``DIGEST_HEX`` hex digits each, concatenated; empty before the first snapshot."""


def iso_param(at: datetime) -> str:
    """A date as Trello's ``since``/``before`` take it."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def bucket_of(card_id: str) -> int:
    return int(hashlib.sha256(card_id.encode()).hexdigest()[:8], 16) % BUCKETS


def _card_line(card: TrelloCard) -> str:
    """What decides whether a card changed (``created_at`` is left out: it depends on what the run read)."""
    return "|".join(
        (card.id, card.list_id or "", str(card.closed), ",".join(card.label_ids), card.name, iso(card.updated_at))
    )


def bucket_digests(cards: Iterable[TrelloCard]) -> list[str]:
    lines: list[list[str]] = [[] for _ in range(BUCKETS)]
    for card in cards:
        lines[bucket_of(card.id)].append(_card_line(card))
    return [
        hashlib.sha256("\n".join(sorted(group)).encode()).hexdigest()[:DIGEST_HEX] if group else "0" * DIGEST_HEX
        for group in lines
    ]


def _fingerprint(record: Record) -> str:
    data = record.model_dump(mode="json", exclude={"updated_at"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def tombstone_card(card_id: str, at: datetime, board_id: str | None) -> TrelloCard:
    return TrelloCard(id=card_id, updated_at=at, board_id=board_id, deleted=True)


class TrelloPull:
    def __init__(self, ctx: PullContext, client: TrelloClient, now: datetime, *, page: int | None = None) -> None:
        """``page``: actions a request (by default ``ACTION_PAGE``, Trello's largest)."""
        assert isinstance(ctx.config, TrelloConfig)
        self.page = page or ACTION_PAGE
        self.ctx = ctx
        self.config: TrelloConfig = ctx.config
        self.client = client
        self.now = now
        self.cursor = TrelloCursor.model_validate(ctx.cursor) if ctx.cursor else TrelloCursor()
        self.created: dict[str, datetime] = {}
        """Card id → its ``createCard`` date, from the actions this run read."""

    @property
    def board_path(self) -> str:
        return f"/1/boards/{quote(self.config.board_id, safe='')}"

    def _page(self, records: list[Record], progress: PullProgress, *, done: bool = False) -> PullPage:
        state = {"board_id": self.cursor.board_id} if done and self.cursor.board_id else None
        return PullPage(
            records=records,
            cursor=self.cursor.model_dump(mode="json"),
            done=done,
            provider_state=state,
            progress=progress,
        )

    def pages(self) -> Iterator[PullPage]:
        if self.cursor.phase == "actions":
            yield from self._actions()
        records = self._snapshot()
        self.cursor.phase = "actions"
        yield self._page(records, PullProgress(phase="snapshot"), done=True)

    # ------------------------------------------------------------ actions
    def _actions(self) -> Iterator[PullPage]:
        cur = self.cursor
        while True:
            params: dict[str, Any] = {
                "filter": "all",
                "limit": self.page,
                "since": cur.mark or iso_param(self.ctx.backfill_since),
            }
            if cur.before:
                params["before"] = cur.before
            what = f"the actions of board {self.config.board_id}"
            answer = self.client.get(f"{self.board_path}/actions", what, params)
            raw_actions = [a for a in answer if isinstance(a, Mapping)] if isinstance(answer, list) else []
            records: list[Record] = []
            gone: dict[str, TrelloCard] = {}
            """The newest tombstone of each card in the page (a page holds one record of each id)."""
            for raw in raw_actions:
                action = action_record(raw)
                if action is None:
                    continue
                records.append(action)
                tombstone = self._consequence(action)
                if tombstone is not None and (
                    tombstone.id not in gone or gone[tombstone.id].updated_at < tombstone.updated_at
                ):
                    gone[tombstone.id] = tombstone
            records.extend(gone.values())
            ids = [str(a["id"]) for a in raw_actions if isinstance(a.get("id"), str)]
            # Actions come newest first: the page's oldest action is how far back the run has reached.
            dates = [r.date for r in records if isinstance(r, TrelloAction)]
            progress = PullProgress(phase="actions", oldest=min(dates) if dates else None)
            if ids and cur.newest is None:
                cur.newest = ids[0]
            if len(raw_actions) >= self.page and ids:
                cur.before = ids[-1]
                yield self._page(records, progress)
                continue
            cur.mark = cur.newest or cur.mark
            cur.newest = cur.before = None
            cur.phase = "snapshot"  # stored with this page: a run resumed from it goes on with the snapshot
            yield self._page(records, progress)
            return

    def _consequence(self, action: TrelloAction) -> TrelloCard | None:
        """Remembers a ``createCard``'s date; the card's tombstone when the action took it off the board."""
        if action.card_id is None:
            return None
        if action.type == "createCard":
            known = self.created.get(action.card_id)
            if known is None or action.date < known:
                self.created[action.card_id] = action.date
        if action.type in GONE_TYPES:
            return tombstone_card(action.card_id, action.date, action.board_id)
        return None

    # ------------------------------------------------------------ snapshot
    def _snapshot(self) -> list[Record]:
        board = self.client.get(
            self.board_path,
            f"board {self.config.board_id}",
            {
                "fields": "id,name,closed,shortLink",
                "lists": "all",
                "list_fields": "id,idBoard,name,closed,pos",
                "labels": "all",
                "label_fields": "id,idBoard,name,color",
                "labels_limit": 1000,
                "members": "all",
                "member_fields": "id,fullName,username",
                "cards": "all",
                "card_fields": CARD_FIELDS,
            },
        )
        if not isinstance(board, Mapping):
            board = {}
        board_id = board.get("id") if isinstance(board.get("id"), str) else None
        self.cursor.board_id = board_id or self.cursor.board_id
        records = self._changed_small(board, board_id)
        records.extend(self._changed_cards(board.get("cards"), board_id))
        return records

    def _changed_small(self, board: Mapping[str, Any], board_id: str | None) -> list[Record]:
        """Lists, labels and members that changed since stored; labels and members gone become tombstones."""
        found: list[Record] = []
        for raw in _items(board.get("lists")):
            if (lst := list_record(raw, self.now, board_id=board_id)) is not None:
                found.append(lst)
        for raw in _items(board.get("labels")):
            if (label := label_record(raw, self.now, board_id=board_id)) is not None:
                found.append(label)
        for raw in _items(board.get("members")):
            if (member := member_record(raw, self.now)) is not None:
                found.append(member)
        prints = self.cursor.fingerprints
        present = {f"{r.kind}:{r.id}" for r in found}
        out: list[Record] = []
        for key in sorted(k for k in prints if k not in present):
            kind, _, record_id = key.partition(":")
            del prints[key]
            if kind == TrelloLabel.kind:
                out.append(TrelloLabel(id=record_id, updated_at=self.now, board_id=board_id, deleted=True))
            elif kind == TrelloMember.kind:
                out.append(TrelloMember(id=record_id, updated_at=self.now, deleted=True))
        for record in found:
            key, print_ = f"{record.kind}:{record.id}", _fingerprint(record)
            if prints.get(key) != print_:
                prints[key] = print_
                out.append(record)
        return out

    def _changed_cards(self, raw_cards: Any, board_id: str | None) -> list[Record]:
        cards = [
            card
            for raw in _items(raw_cards)
            if (card := card_record(raw, self.now, board_id=board_id, created=self._created(raw))) is not None
        ]
        digests = bucket_digests(cards)
        old = self.cursor.buckets
        before = [old[i * DIGEST_HEX : (i + 1) * DIGEST_HEX] for i in range(BUCKETS)] if old else [""] * BUCKETS
        moved = {i for i in range(BUCKETS) if digests[i] != before[i]}
        self.cursor.buckets = "".join(digests)
        return [card for card in cards if bucket_of(card.id) in moved]

    def _created(self, raw: Mapping[str, Any]) -> datetime | None:
        card_id = raw.get("id")
        return self.created.get(card_id) if isinstance(card_id, str) else None


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []
