"""The Trello pull against the fake Trello over HTTP: through the real ``SyncEngine`` with moto for full,
incremental and idle syncs, and directly through the adapter for pacing, rate limits and resumability."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.adapters.providers.base import PullContext
from agiletrack.adapters.providers.trello import pull as trello_pull
from agiletrack.adapters.providers.trello.adapter import TrelloAdapter
from agiletrack.adapters.providers.trello.client import Pacer
from agiletrack.adapters.providers.trello.config import TrelloConfig
from agiletrack.adapters.providers.trello.records import TrelloAction, TrelloCard, TrelloLabel, TrelloList, TrelloMember
from agiletrack.domain.jobs import SyncJob
from agiletrack.domain.sync import SyncEngine
from agiletrack.errors import AuthError, RateLimitError
from agiletrack.models.common import new_id, utcnow
from agiletrack.models.integrations import Integration
from agiletrack.models.records import Record
from tests.fakes.trello import API_SECRET, FakeTrello

PLENTY: Callable[[], int] = lambda: 300_000
CARDS, ACTIONS = 200, 2050


@pytest.fixture
def trello() -> Iterator[FakeTrello]:
    with FakeTrello() as fake:
        yield fake


def adapter(fake: FakeTrello, **kw: Any) -> TrelloAdapter:
    """An adapter with its own pacer (the process-wide one would carry other tests' requests)."""
    return TrelloAdapter(api_url=fake.url, pacer=Pacer(), **kw)


def make_integration(fake: FakeTrello, **overrides: Any) -> Integration:
    config = fake.config(list_ids=list(fake.board().lists), **overrides)
    credentials = {k: config.pop(k) for k in ("api_key", "api_token", "api_secret")}
    integration_id = new_id("int")
    name = secret_store().name_for(integration_id)
    secret_store().create(name, {"credentials": credentials})
    now = utcnow()
    integration = Integration(
        id=integration_id,
        team_id="team_a",
        type="trello",
        name="trello",
        config=config,
        credential_fields=list(credentials),
        secret_name=name,
        created_at=now,
        updated_at=now,
    )
    integration_store().create(integration)
    return integration


def engine(trello_adapter: TrelloAdapter) -> SyncEngine:
    return SyncEngine(
        integrations=integration_store(),
        records=record_store(),
        secrets=secret_store(),
        queues=queues(),
        adapter_for=lambda _type: trello_adapter,
        backfill_days=365,
        lease_ttl=timedelta(minutes=6),
    )


def run(sync: SyncEngine, integration: Integration, reason: str = "scheduled") -> Any:
    return sync.run(SyncJob.new(integration.id, reason), owner=new_id("w"), attempt=1, remaining_ms=PLENTY)  # type: ignore[arg-type]


def stored(integration: Integration, kind: str) -> dict[str, Any]:
    return {r.id: r for r in record_store().updated_since(integration.id, kind, None)}


def assert_matches_the_fake(integration: Integration, fake: FakeTrello) -> None:
    board = fake.board()
    actions = stored(integration, "trello_action")
    assert sorted(actions) == board.action_ids
    cards = {i: c for i, c in stored(integration, "trello_card").items() if not c.deleted}
    assert {i: (c.list_id, c.closed, c.label_ids, c.name) for i, c in cards.items()} == {
        i: (c.list_id, c.closed, sorted(c.label_ids), c.name) for i, c in board.cards.items()
    }
    deleted = {a.card_id for a in actions.values() if isinstance(a, TrelloAction) and a.type == "deleteCard"}
    assert deleted and {i for i, c in stored(integration, "trello_card").items() if c.deleted} == deleted
    lists = stored(integration, "trello_list")
    assert {i: (x.name, x.closed, x.position) for i, x in lists.items() if isinstance(x, TrelloList)} == {
        i: (x["name"], x["closed"], x["pos"]) for i, x in board.lists.items()
    }
    labels = stored(integration, "trello_label")
    assert {i: (x.name, x.color) for i, x in labels.items() if isinstance(x, TrelloLabel)} == {
        i: (x["name"], x["color"]) for i, x in board.labels.items()
    }
    members = stored(integration, "trello_member")
    assert {i: x.full_name for i, x in members.items() if isinstance(x, TrelloMember)} == {
        i: x["fullName"] for i, x in board.members.items()
    }


def test_a_first_sync_stores_the_board_as_the_fake_has_it(aws: Any, trello: FakeTrello) -> None:
    trello.generate(cards=CARDS, actions=ACTIONS)
    integration = make_integration(trello)

    outcome = run(engine(adapter(trello)), integration, "created")

    assert outcome.outcome == "success"
    assert_matches_the_fake(integration, trello)
    # One request per 1,000 actions (3) and one for the board with everything nested.
    assert trello.requests.count("/1/boards/5f0c1e2d3b4a596877665544/actions") == 3
    assert len(trello.requests) == 4 and trello.throttled == 0
    assert all(q.get("limit") == "1000" and q.get("filter") == "all" for q in trello.queries[:3])
    # A card's creation is its createCard action's date (here the same second as its id's time).
    creations = {
        a.card_id: a.date
        for a in stored(integration, "trello_action").values()
        if isinstance(a, TrelloAction) and a.type == "createCard"
    }
    cards = [c for c in stored(integration, "trello_card").values() if isinstance(c, TrelloCard) and not c.deleted]
    assert cards and all(c.created_at == creations[c.id] for c in cards)
    after = integration_store().get(integration.id)
    assert after is not None and after.status == "active"
    assert after.provider_state == {"board_id": trello.board().id}


def test_incremental_syncs_take_two_requests_and_an_idle_one_writes_nothing(aws: Any, trello: FakeTrello) -> None:
    trello.generate(cards=CARDS, actions=ACTIONS)
    integration = make_integration(trello)
    sync = engine(adapter(trello))
    run(sync, integration, "created")
    board = trello.board()
    lists = list(board.lists)
    open_cards = [c.id for c in board.cards.values() if not c.closed]
    label = next(iter(board.labels))
    new = trello.add_card(lists[0])["data"]["card"]["id"]
    changes = [
        trello.move_card(new, lists[1]),
        trello.move_card(open_cards[0], lists[3]),
        trello.comment_card(open_cards[1]),
        trello.label_card(open_cards[2], label, add=label not in board.cards[open_cards[2]].label_ids),
        trello.archive_card(open_cards[3]),
        trello.comment_card(open_cards[4]),
        trello.move_card(open_cards[5], lists[2]),
        trello.delete_card(open_cards[6]),
        trello.comment_card(new),
    ]
    assert len(changes) + 1 == 10
    trello.requests.clear()

    second = run(sync, integration)

    assert second.outcome == "success"
    assert len(trello.requests) == 2
    # The 10 actions and the 8 cards they touched (the new one, 7 others, the deleted one as its tombstone; a
    # comment moves a card's dateLastActivity too), nothing else.
    assert second.records_written == 10 + 8
    assert_matches_the_fake(integration, trello)

    trello.requests.clear()
    idle = run(sync, integration)

    assert idle.outcome == "success" and idle.records_written == 0
    assert len(trello.requests) == 2


def test_a_card_moved_without_a_webhook_is_picked_up_by_the_next_sync(aws: Any, trello: FakeTrello) -> None:
    trello.generate(cards=40, actions=200)
    integration = make_integration(trello)
    sync = engine(adapter(trello))
    run(sync, integration, "created")
    card = next(c for c in trello.board().cards.values() if not c.closed and c.list_id != list(trello.board().lists)[4])
    moved = trello.move_card(card.id, list(trello.board().lists)[4])

    run(sync, integration)

    record = stored(integration, "trello_card")[card.id]
    assert isinstance(record, TrelloCard) and record.list_id == list(trello.board().lists)[4]
    action = stored(integration, "trello_action")[moved["id"]]
    assert isinstance(action, TrelloAction) and action.list_after == record.list_id


def test_refused_credentials_fail_the_integration(aws: Any, trello: FakeTrello) -> None:
    trello.generate(cards=5, actions=20)
    integration = make_integration(trello, api_token="not-the-token")

    outcome = run(engine(adapter(trello)), integration, "created")

    assert outcome.outcome == "failed"
    after = integration_store().get(integration.id)
    assert after is not None and after.status == "failed"
    assert after.last_error is not None and after.last_error.kind == "auth"
    assert stored(integration, "trello_action") == {}


# ---------------------------------------------------------------- directly through the adapter
def context(fake: FakeTrello, cursor: dict[str, Any] | None = None) -> PullContext:
    config = TrelloConfig.model_validate(fake.config(list_ids=list(fake.board().lists)[:2]))
    return PullContext(
        integration_id="int_x",
        config=config,
        credentials={"api_key": fake.api_key, "api_token": fake.api_token, "api_secret": API_SECRET},
        cursor=cursor or {},
        backfill_since=utcnow() - timedelta(days=365),
    )


def test_a_401_is_an_auth_error(trello: FakeTrello) -> None:
    ctx = context(trello)
    ctx.credentials = {"api_key": trello.api_key, "api_token": "wrong"}
    with pytest.raises(AuthError):
        list(adapter(trello).pull(ctx))


def test_429s_are_waited_out_after_2_4_and_8_seconds_then_a_rate_limit_60_s_ahead(trello: FakeTrello) -> None:
    trello.generate(cards=5, actions=20)
    waits: list[float] = []
    trello.fail_next(429, times=3)

    pages = list(adapter(trello, sleep=waits.append).pull(context(trello)))

    assert pages[-1].done and waits == [2.0, 4.0, 8.0]
    trello.fail_next(429, times=4)
    waits.clear()
    before = datetime.now(UTC)

    with pytest.raises(RateLimitError) as raised:
        list(adapter(trello, sleep=waits.append).pull(context(trello)))

    assert waits == [2.0, 4.0, 8.0]
    assert raised.value.retry_at is not None
    assert before + timedelta(seconds=59) <= raised.value.retry_at <= datetime.now(UTC) + timedelta(seconds=61)


def test_a_sync_of_more_than_a_hundred_requests_is_paced_under_the_token_limit(
    trello: FakeTrello, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trello_pull, "ACTION_PAGE", 10)
    trello.generate(cards=50, actions=1050)

    pages = list(adapter(trello).pull(context(trello)))

    assert pages[-1].done
    assert len(trello.requests) == 1050 // 10 + 1 + 1  # 105 full pages, an empty one, the board
    assert trello.throttled == 0
    assert sum(isinstance(r, TrelloAction) for p in pages for r in p.records) == 1050


def latest(pages: list[Any], into: dict[tuple[str, str], Record]) -> None:
    for page in pages:
        for record in page.records:
            into[(record.kind, record.id)] = record


def test_a_pull_stopped_after_any_page_resumes_to_the_same_result(
    trello: FakeTrello, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trello_pull, "ACTION_PAGE", 100)
    trello.generate(cards=60, actions=450)
    clock = utcnow()
    whole: dict[tuple[str, str], Record] = {}
    uninterrupted = list(adapter(trello, clock=lambda: clock).pull(context(trello)))
    latest(uninterrupted, whole)
    assert len(uninterrupted) == 6  # 5 action pages and the board
    total_requests = len(trello.requests)

    for stop in range(1, len(uninterrupted)):
        trello.requests.clear()
        trello.queries.clear()
        got: dict[tuple[str, str], Record] = {}
        head = []
        for page in adapter(trello, clock=lambda: clock).pull(context(trello)):
            head.append(page)
            if len(head) == stop:
                break
        tail = list(adapter(trello, clock=lambda: clock).pull(context(trello, head[-1].cursor)))
        latest(head + tail, got)

        assert got == whole, f"stopped after page {stop}"
        assert tail[-1].done and tail[-1].cursor == uninterrupted[-1].cursor
        assert len(trello.requests) == total_requests, f"a page pulled twice after a stop at page {stop}"
        befores = [q.get("before") for q in trello.queries if "limit" in q]
        assert len(befores) == len(set(befores))


def test_an_incremental_pull_of_more_than_a_page_misses_nothing(
    trello: FakeTrello, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trello_pull, "ACTION_PAGE", 100)
    trello.generate(cards=30, actions=120)
    first = list(adapter(trello).pull(context(trello)))
    card = next(iter(trello.board().cards))
    made = [trello.comment_card(card)["id"] for _ in range(250)]

    pages = list(adapter(trello).pull(context(trello, first[-1].cursor)))

    got = [r.id for p in pages for r in p.records if isinstance(r, TrelloAction)]
    assert sorted(got) == sorted(made)
    assert pages[-1].cursor["mark"] == made[-1]


def test_a_card_moved_away_back_and_deleted_in_one_page_is_one_tombstone(trello: FakeTrello) -> None:
    trello.generate(cards=10, actions=40)
    first = list(adapter(trello).pull(context(trello)))
    card = next(iter(trello.board().cards))
    at = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    trello.move_to_other_board(card, at)
    back = trello.move_from_other_board(card, list(trello.board().lists)[1], at + timedelta(minutes=1))
    trello.delete_card(card, at + timedelta(minutes=2))

    pages = list(adapter(trello).pull(context(trello, first[-1].cursor)))

    cards = [r for r in pages[0].records if isinstance(r, TrelloCard)]
    assert [(c.id, c.deleted, c.updated_at) for c in cards] == [(card, True, at + timedelta(minutes=2))]
    assert back["type"] == "moveCardToBoard"
    assert not any(isinstance(r, TrelloCard) and r.id == card for r in pages[-1].records)  # not on the board


def test_the_key_and_token_never_reach_a_log(trello: FakeTrello, caplog: pytest.LogCaptureFixture) -> None:
    trello.generate(cards=5, actions=20)
    trello.fail_next(502)
    with caplog.at_level(logging.DEBUG):
        list(adapter(trello, sleep=lambda _s: None).pull(context(trello)))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/1/boards/" in text  # httpx logged the requests...
    assert trello.api_token not in text and trello.api_key not in text  # ...without the credentials


def test_each_page_says_its_phase_and_the_actions_say_how_far_back_they_have_reached(
    trello: FakeTrello, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 250 actions, 100 a page, newest first: three action pages, then the board snapshot.
    monkeypatch.setattr(trello_pull, "ACTION_PAGE", 100)
    trello.generate(cards=20, actions=250)

    pages = list(adapter(trello).pull(context(trello)))

    progress = [page.progress for page in pages]
    assert [p.phase if p else None for p in progress] == ["actions", "actions", "actions", "snapshot"]
    oldest_so_far: list[datetime] = []
    for page, p in zip(pages[:3], progress[:3], strict=True):
        dates = [r.date for r in page.records if isinstance(r, TrelloAction)]
        assert p is not None and p.oldest == min(dates) and p.newest is None
        oldest_so_far.append(min(dates))
    assert oldest_so_far == sorted(oldest_so_far, reverse=True)  # each page reaches further back
    assert progress[3] is not None and progress[3].oldest is None and progress[3].newest is None
