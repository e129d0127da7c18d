"""A fake Trello REST API on 127.0.0.1 for tests and benchmarks (plain HTTP: point ``TRELLO_API_URL`` at ``.url``).

Serves, with ``key`` and ``token`` query parameters as Trello takes them (a wrong one: 401 ``invalid key`` /
``invalid token``):

- ``GET /1/members/me``;
- ``GET /1/boards/{id}`` (by id or short link) with the nested resources ``lists``, ``labels``, ``members`` and
  ``cards`` (``all``, ``open``, ``closed``, ``none``) and their ``*_fields``;
- ``GET /1/boards/{id}/lists?filter=all|open|closed``;
- ``GET /1/boards/{id}/actions?filter=all|<types>&limit=0..1000&since=&before=`` newest first, ``since`` and
  ``before`` each an action id (compared as ids: exclusive) or a date (compared with the action's date).

An unknown board is 404, a board the token cannot read 401. Each token may make 100 requests per 10 s and each
key 300 (sliding windows, like Trello's): past that the answer is 429 with Trello's body, counted in
``throttled``. ``latency_s`` delays every answer; ``requests`` logs every path and ``queries`` its parameters;
``fail_next(status)`` answers the next requests with that status. A handler answering ``bytes`` sends them as
JSON as they are.

The board's state changes "in Trello" through ``add_card``, ``move_card``, ``archive_card``, ``comment_card``,
``label_card``, ``delete_card``, ``move_to_other_board`` and ``move_from_other_board``, each recording its
action as Trello would; ``generate`` fills a board with a deterministic history. Routing is a table of
(method, path pattern) → handler (``ROUTES``), so other endpoints are added as rows.
"""

from __future__ import annotations

import bisect
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.fakes import trello_payloads as payloads
from tests.fakes.server import FakeServer, nothing_listens

API_KEY = "trellofakeapikey0123456789abcdef"
API_TOKEN = "trellofaketoken9f8e7d6c5b4a39281706f5e4d3c2b1a0"
API_SECRET = "trellofakeappsecret00ff11ee22dd33cc"
BOARD = "5f0c1e2d3b4a596877665544"
SHORT_LINK = "aBcD1234"
LISTS = ("60aa00000000000000000001", "60aa00000000000000000002", "60aa00000000000000000003")
ME = {"id": "5a0000000000000000000001", "username": "fake", "fullName": "Fake Member"}
TOKEN_LIMIT = 100
KEY_LIMIT = 300
WINDOW_S = 10.0
TOKEN_LIMIT_BODY = {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
KEY_LIMIT_BODY = {"error": "API_KEY_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
NOT_FOUND = "The requested resource was not found."
ACTION_ID = re.compile(r"^[0-9a-f]{24}$")
LABEL_COLORS = ("green", "yellow", "orange", "red", "purple", "blue")
FORMER_MEMBER = payloads.member("5a0000000000000000000f0f", "Former Fran", "formerfran")


def closed_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    return nothing_listens("http")


def whole_seconds(at: datetime) -> datetime:
    return at.replace(microsecond=0)


@dataclass
class FakeCard:
    id: str
    list_id: str
    name: str
    last_activity: datetime
    closed: bool = False
    label_ids: list[str] = field(default_factory=list)

    def json(self, fields: Iterable[str] | None = None) -> dict[str, Any]:
        whole = {
            "id": self.id,
            "idBoard": BOARD,
            "idList": self.list_id,
            "closed": self.closed,
            "idLabels": list(self.label_ids),
            "name": self.name,
            "dateLastActivity": payloads.trello_date(self.last_activity),
        }
        return whole if fields is None else {k: v for k, v in whole.items() if k in fields or k == "id"}


@dataclass
class FakeBoard:
    id: str
    short_link: str
    name: str = "Fake board"
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    cards: dict[str, FakeCard] = field(default_factory=dict)
    action_ids: list[str] = field(default_factory=list)
    """Every action id, ascending (ids are times then a serial, so this is also date order)."""
    actions: dict[str, str] = field(default_factory=dict)
    """Action id → its JSON (kept serialized: 200,000 actions stay small)."""
    action_types: dict[str, str] = field(default_factory=dict)
    action_dates: dict[str, datetime] = field(default_factory=dict)

    def action(self, action_id: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.actions[action_id])
        return found

    def ref(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "shortLink": self.short_link}


Handler = Callable[["FakeTrello", re.Match[str], dict[str, str], bytes], tuple[int, Any]]


class FakeTrello(FakeServer):
    def __init__(
        self,
        *,
        api_key: str = API_KEY,
        api_token: str = API_TOKEN,
        boards: Mapping[str, Iterable[str]] | None = None,
        unreadable_boards: Iterable[str] = (),
        enforce_limits: bool = True,
    ) -> None:
        """``boards``: board id -> its list ids; ``unreadable_boards`` exist but this token cannot read them."""
        self.api_key = api_key
        self.api_token = api_token
        self.boards: dict[str, FakeBoard] = {}
        for n, (board_id, lists) in enumerate((boards if boards is not None else {BOARD: LISTS}).items()):
            board = FakeBoard(board_id, SHORT_LINK if board_id == BOARD else f"sL{n:06d}")
            for i, list_id in enumerate(lists):
                board.lists[list_id] = {"id": list_id, "name": f"List {i}", "closed": False, "pos": 16384.0 * (i + 1)}
            board.members = {m["id"]: m for m in (payloads.ALICE, payloads.BOB)}
            self.boards[board_id] = board
        self.unreadable_boards = set(unreadable_boards)
        self.enforce_limits = enforce_limits
        self.latency_s = 0.0
        self.requests: list[str] = []
        self.queries: list[dict[str, str]] = []
        self.failures: list[int] = []
        self.throttled = 0
        self._windows: dict[str, deque[float]] = {}
        self.lock = threading.RLock()
        self._serial = 1
        super().__init__()

    def fail_next(self, status: int, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([status] * times)

    def config(self, **overrides: Any) -> dict[str, Any]:
        """A valid ``TrelloConfig`` for this fake (the first two lists of the board)."""
        return {
            "api_key": self.api_key,
            "api_token": self.api_token,
            "api_secret": API_SECRET,
            "board_id": BOARD,
            "list_ids": list(LISTS[:2]),
        } | overrides

    def board(self, board_id: str = BOARD) -> FakeBoard:
        return self.boards[board_id]

    # ------------------------------------------------------------ HTTP
    def respond(self, path: str, headers: Mapping[str, str]) -> tuple[int, Any, Mapping[str, str]]:
        return self.dispatch("GET", path, b"")

    def respond_post(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, Any, Mapping[str, str]]:
        return self.dispatch("POST", path, body)

    def dispatch(self, method: str, raw_path: str, body: bytes) -> tuple[int, Any, Mapping[str, str]]:
        url = urlparse(raw_path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        with self.lock:
            self.requests.append(url.path)
            self.queries.append({k: v for k, v in query.items() if k not in ("key", "token")})
            failure = self.failures.pop(0) if self.failures else None
        if self.latency_s:
            time.sleep(self.latency_s)
        if failure is not None:
            return failure, f"failure {failure} as asked", {}
        if query.get("key") != self.api_key:
            return 401, "invalid key", {}
        if query.get("token") != self.api_token:
            return 401, "invalid token", {}
        limited = self._rate_limited(query["key"], query["token"])
        if limited is not None:
            return 429, limited, {}
        for route_method, pattern, handler in ROUTES:
            match = pattern.fullmatch(url.path)
            if match is not None and route_method == method:
                with self.lock:
                    status, answer = handler(self, match, query, body)
                return status, answer, {}
        return 404, f"Cannot {method} {url.path}", {}

    def _rate_limited(self, key: str, token: str) -> dict[str, str] | None:
        if not self.enforce_limits:
            return None
        now = time.monotonic()
        with self.lock:
            windows = [(self._window("token:" + token, now), TOKEN_LIMIT, TOKEN_LIMIT_BODY)]
            windows.append((self._window("key:" + key, now), KEY_LIMIT, KEY_LIMIT_BODY))
            for window, limit, refusal in windows:
                if len(window) >= limit:
                    self.throttled += 1
                    return refusal
            for window, _, _ in windows:
                window.append(now)
        return None

    def _window(self, name: str, now: float) -> deque[float]:
        window = self._windows.setdefault(name, deque())
        while window and window[0] <= now - WINDOW_S:
            window.popleft()
        return window

    def _readable(self, board_id: str) -> tuple[FakeBoard | None, tuple[int, Any] | None]:
        if board_id in self.unreadable_boards:
            return None, (401, "unauthorized permission requested")
        board = self.boards.get(board_id) or next((b for b in self.boards.values() if b.short_link == board_id), None)
        if board is None:
            return None, (404, NOT_FOUND)
        return board, None

    # ------------------------------------------------------------ handlers
    def _me(self, match: re.Match[str], query: dict[str, str], body: bytes) -> tuple[int, Any]:
        return 200, dict(ME)

    def _board(self, match: re.Match[str], query: dict[str, str], body: bytes) -> tuple[int, Any]:
        board, refusal = self._readable(match["board"])
        if refusal is not None or board is None:
            return refusal or (404, NOT_FOUND)
        answer: dict[str, Any] = {"id": board.id, "name": board.name, "closed": False, "shortLink": board.short_link}
        lists = _filtered(board.lists.values(), query.get("lists", "none"))
        if lists is not None:
            answer["lists"] = [_fields(x, query.get("list_fields")) for x in lists]
        if query.get("labels", "none") != "none":
            answer["labels"] = [_fields(x, query.get("label_fields")) for x in board.labels.values()]
        if query.get("members", "none") != "none":
            answer["members"] = [_fields(x, query.get("member_fields")) for x in board.members.values()]
        wanted = query.get("cards", "none")
        if wanted != "none":
            names = query.get("card_fields")
            fields = None if names in (None, "all") else set(names.split(","))
            cards = [c for c in board.cards.values() if _kept(c.closed, wanted)]
            answer["cards"] = [c.json(fields) for c in cards]
        return 200, answer

    def _lists(self, match: re.Match[str], query: dict[str, str], body: bytes) -> tuple[int, Any]:
        board, refusal = self._readable(match["board"])
        if refusal is not None or board is None:
            return refusal or (404, NOT_FOUND)
        lists = _filtered(board.lists.values(), query.get("filter", "open")) or []
        return 200, [_fields(x, query.get("fields")) for x in lists]

    def _actions(self, match: re.Match[str], query: dict[str, str], body: bytes) -> tuple[int, Any]:
        board, refusal = self._readable(match["board"])
        if refusal is not None or board is None:
            return refusal or (404, NOT_FOUND)
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            return 400, "invalid value for limit"
        if not 0 <= limit <= 1000:
            return 400, "invalid value for limit"
        low, high = 0, len(board.action_ids)
        ids = board.action_ids
        since, before = query.get("since"), query.get("before")
        if since:
            bound = _bound(since, board)
            if bound is None:
                return 400, "invalid value for since"
            low = bisect.bisect_right(ids, bound) if ACTION_ID.match(since) else _first_after(board, bound)
        if before:
            bound = _bound(before, board)
            if bound is None:
                return 400, "invalid value for before"
            high = bisect.bisect_left(ids, bound) if ACTION_ID.match(before) else _first_at_or_after(board, bound)
        types = query.get("filter", "all")
        wanted = None if types == "all" else set(types.split(","))
        out: list[str] = []
        for index in range(high - 1, low - 1, -1):
            if len(out) >= limit:
                break
            if wanted is None or board.action_types[ids[index]] in wanted:
                out.append(board.actions[ids[index]])
        return 200, ("[" + ",".join(out) + "]").encode()

    # ------------------------------------------------------------ the board changing "in Trello"
    def _next_id(self, at: datetime) -> str:
        with self.lock:
            serial = self._serial
            self._serial += 1
        return payloads.object_id(at, serial)

    def _record(self, board: FakeBoard, made: dict[str, Any]) -> dict[str, Any]:
        made["data"]["board"] = board.ref()
        action_id = made["id"]
        with self.lock:
            bisect.insort(board.action_ids, action_id)
            board.actions[action_id] = json.dumps(made, separators=(",", ":"))
            board.action_types[action_id] = made["type"]
            board.action_dates[action_id] = datetime.fromisoformat(made["date"].replace("Z", "+00:00"))
        return made

    def _creator(self, board: FakeBoard, member_id: str | None) -> dict[str, Any]:
        if member_id is None:
            return payloads.ALICE
        return board.members.get(member_id) or FORMER_MEMBER

    def add_label(self, name: str, color: str | None, board_id: str = BOARD) -> str:
        board = self.boards[board_id]
        label_id = self._next_id(datetime.now(UTC))
        board.labels[label_id] = {"id": label_id, "idBoard": board.id, "name": name, "color": color}
        return label_id

    def add_list(self, name: str, board_id: str = BOARD) -> str:
        board = self.boards[board_id]
        list_id = self._next_id(datetime.now(UTC))
        pos = 16384.0 * (len(board.lists) + 1)
        board.lists[list_id] = {"id": list_id, "idBoard": board.id, "name": name, "closed": False, "pos": pos}
        return list_id

    def add_member(self, member: dict[str, Any], board_id: str = BOARD) -> None:
        self.boards[board_id].members[member["id"]] = member

    def add_card(
        self,
        list_id: str,
        at: datetime | None = None,
        *,
        board_id: str = BOARD,
        member_id: str | None = None,
        labels: Iterable[str] = (),
    ) -> dict[str, Any]:
        """A card created in ``list_id`` (its id carries ``at``, as Trello's do): its ``createCard`` action."""
        board = self.boards[board_id]
        at = whole_seconds(at or datetime.now(UTC))
        card_id = self._next_id(at)
        card = FakeCard(card_id, list_id, f"Card {card_id[-3:]}", at, label_ids=list(labels))
        board.cards[card_id] = card
        made = payloads.create_card(
            card_id, list_id, at, creator=self._creator(board, member_id), action_id=self._next_id(at)
        )
        return self._record(board, made)

    def _card(self, card_id: str, board_id: str) -> tuple[FakeBoard, FakeCard]:
        board = self.boards[board_id]
        return board, board.cards[card_id]

    def move_card(
        self,
        card_id: str,
        list_id: str,
        at: datetime | None = None,
        *,
        board_id: str = BOARD,
        member_id: str | None = None,
    ) -> dict[str, Any]:
        board, card = self._card(card_id, board_id)
        at = at or datetime.now(UTC)
        made = payloads.move_card(
            card_id, card.list_id, list_id, at, creator=self._creator(board, member_id), action_id=self._next_id(at)
        )
        card.list_id, card.last_activity = list_id, at
        return self._record(board, made)

    def archive_card(
        self,
        card_id: str,
        at: datetime | None = None,
        *,
        closed: bool = True,
        board_id: str = BOARD,
        member_id: str | None = None,
    ) -> dict[str, Any]:
        board, card = self._card(card_id, board_id)
        at = at or datetime.now(UTC)
        made = payloads.archive_card(
            card_id,
            card.list_id,
            at,
            closed=closed,
            creator=self._creator(board, member_id),
            action_id=self._next_id(at),
        )
        card.closed, card.last_activity = closed, at
        return self._record(board, made)

    def comment_card(
        self, card_id: str, at: datetime | None = None, *, board_id: str = BOARD, member_id: str | None = None
    ) -> dict[str, Any]:
        board, card = self._card(card_id, board_id)
        at = at or datetime.now(UTC)
        made = payloads.comment_card(
            card_id, card.list_id, at, creator=self._creator(board, member_id), action_id=self._next_id(at)
        )
        card.last_activity = at
        return self._record(board, made)

    def label_card(
        self,
        card_id: str,
        label_id: str,
        at: datetime | None = None,
        *,
        add: bool = True,
        board_id: str = BOARD,
        member_id: str | None = None,
    ) -> dict[str, Any]:
        board, card = self._card(card_id, board_id)
        at = at or datetime.now(UTC)
        label = board.labels[label_id]
        made = payloads.label_card(
            card_id,
            {k: label[k] for k in ("id", "name", "color")},
            at,
            add=add,
            creator=self._creator(board, member_id),
            action_id=self._next_id(at),
        )
        card.label_ids = sorted(set(card.label_ids) | {label_id} if add else set(card.label_ids) - {label_id})
        card.last_activity = at
        return self._record(board, made)

    def delete_card(
        self, card_id: str, at: datetime | None = None, *, board_id: str = BOARD, member_id: str | None = None
    ) -> dict[str, Any]:
        board, card = self._card(card_id, board_id)
        at = at or datetime.now(UTC)
        made = payloads.delete_card(
            card_id, card.list_id, at, creator=self._creator(board, member_id), action_id=self._next_id(at)
        )
        del board.cards[card_id]
        return self._record(board, made)

    def move_to_other_board(self, card_id: str, at: datetime | None = None, *, board_id: str = BOARD) -> dict[str, Any]:
        """The card moved to another board: ``moveCardFromBoard`` here, and it leaves this board's cards."""
        board, card = self._card(card_id, board_id)
        at = at or datetime.now(UTC)
        made = payloads.move_card_from_board(card_id, card.list_id, at, action_id=self._next_id(at))
        del board.cards[card_id]
        return self._record(board, made)

    def move_from_other_board(
        self, card_id: str, list_id: str, at: datetime | None = None, *, board_id: str = BOARD
    ) -> dict[str, Any]:
        """A card (of another board, or one moved away before) moved into ``list_id``: ``moveCardToBoard``."""
        board = self.boards[board_id]
        at = at or datetime.now(UTC)
        board.cards[card_id] = FakeCard(card_id, list_id, f"Card {card_id[-3:]}", at)
        made = payloads.move_card_to_board(card_id, list_id, at, action_id=self._next_id(at))
        return self._record(board, made)

    def generate(
        self,
        *,
        cards: int,
        actions: int,
        lists: int = 5,
        span_days: int = 90,
        end: datetime | None = None,
        seed: int = 7,
        board_id: str = BOARD,
    ) -> None:
        """A deterministic history: ``lists`` lists (the board's own first), 6 labels (one unnamed), the board's
        members and a former one, ``cards`` cards created over ``span_days`` before ``end`` (default: an hour
        ago), and ``actions`` actions in all (the cards' creations included): moves (mostly forward, some
        backward), comments, label changes, archiving and unarchiving, renames and a few deletions."""
        assert actions >= cards, "every card has its createCard action"
        rng = random.Random(seed)
        board = self.boards[board_id]
        while len(board.lists) < lists:
            self.add_list(f"Stage {len(board.lists)}", board_id)
        list_ids = list(board.lists)[:lists]
        if not board.labels:
            for n, color in enumerate(LABEL_COLORS):
                self.add_label("" if n == 4 else f"Label {n}", color, board_id)
        label_ids = list(board.labels)
        people = [*board.members, FORMER_MEMBER["id"]]
        end = whole_seconds(end or datetime.now(UTC) - timedelta(hours=1))
        start = end - timedelta(days=span_days)
        span_s = int((end - start).total_seconds())
        births = sorted(start + timedelta(seconds=rng.randrange(span_s)) for _ in range(cards))
        deletions = cards // 200
        events: list[tuple[datetime, int, str]] = []
        for _ in range(actions - cards - deletions):
            card = rng.randrange(cards)
            born = births[card]
            at = born + timedelta(seconds=1 + rng.randrange(max(1, int((end - born).total_seconds()))))
            roll = rng.random()
            kind = (
                "move"
                if roll < 0.55
                else "comment"
                if roll < 0.8
                else "label"
                if roll < 0.9
                else "archive"
                if roll < 0.95
                else "rename"
            )
            events.append((min(at, end), card, kind))
        events += [(births[n], n, "create") for n in range(cards)]
        events.sort(key=lambda e: (e[0], e[2] != "create", e[1]))
        doomed = rng.sample(range(cards), deletions)
        card_ids: list[str] = []
        for at, card_n, kind in events:
            who = rng.choice(people)
            if kind == "create":
                first = list_ids[0] if rng.random() < 0.9 else rng.choice(list_ids)
                made = self.add_card(first, at, board_id=board_id, member_id=who)
                card_ids.append(made["data"]["card"]["id"])
                continue
            card_id = card_ids[card_n] if card_n < len(card_ids) else None
            if card_id is None or card_id not in board.cards:
                continue
            state = board.cards[card_id]
            if kind == "move":
                here = list_ids.index(state.list_id) if state.list_id in list_ids else 0
                step = 1 if rng.random() < 0.8 or here == 0 else -1
                target = list_ids[min(max(here + step, 0), len(list_ids) - 1)]
                if target == state.list_id:
                    target = list_ids[(here + 1) % len(list_ids)]
                self.move_card(card_id, target, at, board_id=board_id, member_id=who)
            elif kind == "comment":
                self.comment_card(card_id, at, board_id=board_id, member_id=who)
            elif kind == "label":
                label = rng.choice(label_ids)
                self.label_card(card_id, label, at, add=label not in state.label_ids, board_id=board_id, member_id=who)
            elif kind == "archive":
                self.archive_card(card_id, at, closed=not state.closed, board_id=board_id, member_id=who)
            else:
                made = payloads.rename_card(
                    card_id, state.list_id, at, creator=self._creator(board, who), action_id=self._next_id(at)
                )
                state.last_activity = at
                self._record(board, made)
        for card_n in doomed:
            card_id = card_ids[card_n]
            last = board.cards[card_id].last_activity
            self.delete_card(card_id, min(last + timedelta(seconds=1), end), board_id=board_id)
        missing = actions - len(board.action_ids)
        for n in range(max(0, missing)):  # events that fell on a deleted card: comments on the first open cards
            card_id = list(board.cards)[n % len(board.cards)]
            self.comment_card(card_id, end, board_id=board_id)


def _kept(closed: bool, wanted: str) -> bool:
    return wanted == "all" or (wanted == "open" and not closed) or (wanted == "closed" and closed)


def _filtered(items: Iterable[dict[str, Any]], wanted: str) -> list[dict[str, Any]] | None:
    if wanted == "none":
        return None
    return [x for x in items if _kept(bool(x.get("closed")), wanted)]


def _fields(item: Mapping[str, Any], names: str | None) -> dict[str, Any]:
    if names in (None, "all"):
        return dict(item)
    wanted = set(names.split(","))
    return {k: v for k, v in item.items() if k in wanted or k == "id"}


def _bound(value: str, board: FakeBoard) -> Any:
    """An action id as given, or a date (``None`` when it is neither)."""
    if ACTION_ID.match(value):
        return value
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _date(board: FakeBoard, index: int) -> datetime:
    return board.action_dates[board.action_ids[index]]


def _first_after(board: FakeBoard, at: datetime) -> int:
    ids = board.action_ids
    lo, hi = 0, len(ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if _date(board, mid) <= at:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _first_at_or_after(board: FakeBoard, at: datetime) -> int:
    ids = board.action_ids
    lo, hi = 0, len(ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if _date(board, mid) < at:
            lo = mid + 1
        else:
            hi = mid
    return lo


ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("GET", re.compile(r"/1/members/me"), FakeTrello._me),
    ("GET", re.compile(r"/1/boards/(?P<board>[^/]+)"), FakeTrello._board),
    ("GET", re.compile(r"/1/boards/(?P<board>[^/]+)/lists"), FakeTrello._lists),
    ("GET", re.compile(r"/1/boards/(?P<board>[^/]+)/actions"), FakeTrello._actions),
]
"""(method, path pattern, handler): every endpoint of the fake, tried in order."""
