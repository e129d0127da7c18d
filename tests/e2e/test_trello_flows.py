"""Trello end to end over HTTP against ``python -m devstack`` (issue 10, "Done when"), with ``TRELLO_API_URL``
pointing at ``FakeTrello``.

The fake board is small and hand-made: lists TODO, DOING, DONE (the workflow, in order) and OTHER (on the board,
not tracked); labels "bug" (red) and an unnamed purple one; members Alice and Bob, and Fran, a former member
whose actions remain. Times are ``at(day)`` from ``T0``, a Monday at midnight UTC 14 to 20 days ago; the window is
``[T0, T0 + 21 d)``: three weeks (so ``per_week`` is n / 3) that hold "now". Every expected value is computed
by hand in the comments.

The tests build on one another in file order (refusals, first sync, the metrics, a move made without a webhook
picked up by the next sync), as a user would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Api, LocalStack, Team, create_team, start_local_stack, status_of, wait_for
from tests.fakes import trello_payloads as payloads
from tests.fakes.trello import FORMER_MEMBER, LISTS, FakeTrello

pytestmark = pytest.mark.e2e

SYNC_TIMEOUT = 60.0
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
T0 = TODAY - timedelta(days=14 + TODAY.weekday())  # a Monday, 14 to 20 days ago
SINCE, UNTIL = T0, T0 + timedelta(days=21)
WINDOW = {"since": SINCE.strftime("%Y-%m-%dT%H:%M:%SZ"), "until": UNTIL.strftime("%Y-%m-%dT%H:%M:%SZ")}
TODO, DOING, DONE = LISTS
ALICE, BOB, FRAN = payloads.ALICE["id"], payloads.BOB["id"], FORMER_MEMBER["id"]
WEEKS = [(T0 + timedelta(days=7 * n)).date().isoformat() for n in range(3)]


def at(day: float) -> datetime:
    return T0 + timedelta(days=day)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def seeded_trello() -> tuple[FakeTrello, dict[str, str]]:
    """The board: cards by name → id. Numbers in brackets are the action's place in the window's 21."""
    fake = FakeTrello()
    other = fake.add_list("OTHER")
    bug = fake.add_label("bug", "red")
    purple = fake.add_label("", "purple")
    cards: dict[str, str] = {}

    def create(name: str, list_id: str, day: float, who: str) -> str:
        cards[name] = fake.add_card(list_id, at(day), member_id=who)["data"]["card"]["id"]
        return cards[name]

    # H: before the window: created in TODO day -3, into DOING day -2 (in DOING since then). Not in activity.
    h = create("H", TODO, -3, ALICE)
    fake.move_card(h, DOING, at(-2), member_id=ALICE)
    a = create("A", TODO, 1, ALICE)  # [1]
    b = create("B", TODO, 1, BOB)  # [2]
    fake.move_card(a, DOING, at(2), member_id=BOB)  # [3] move
    c = create("C", TODO, 2, ALICE)  # [4]
    d = create("D", other, 2, FRAN)  # [5] created in an untracked list
    fake.move_card(b, DONE, at(3), member_id=BOB)  # [6] move, skips DOING
    fake.move_card(c, DOING, at(3), member_id=ALICE)  # [7] move
    f = create("F", TODO, 3, BOB)  # [8]
    fake.label_card(f, bug, at(3), member_id=BOB)  # [9]
    fake.move_card(a, DONE, at(4), member_id=ALICE)  # [10] move
    fake.move_card(d, DOING, at(4), member_id=FRAN)  # [11] OTHER -> DOING: an entry, not a move
    fake.label_card(d, purple, at(4), member_id=ALICE)  # [12]
    fake.move_card(c, DONE, at(5), member_id=ALICE)  # [13] move
    e = create("E", TODO, 5, ALICE)  # [14]
    fake.comment_card(a, at(5), member_id=FRAN)  # [15] comment
    fake.move_card(c, DOING, at(6), member_id=BOB)  # [16] move backward: C reopened
    fake.label_card(e, bug, at(6), member_id=BOB)  # [17]
    fake.comment_card(e, at(6), member_id=BOB)  # [18] comment
    fake.comment_card(e, at(7), member_id=ALICE)  # [19] comment
    fake.move_card(c, DONE, at(8), member_id=ALICE)  # [20] move, C's last entry into done
    fake.archive_card(f, at(9), member_id=BOB)  # [21] F archived (still in TODO)
    return fake, cards


def stat(count: int, median: float, p75: float, p90: float, mean: float) -> dict[str, Any]:
    return {"count": count, "median": median, "p75": p75, "p90": p90, "mean": mean}


# Lead time (h), last entry into done in the window: B 1d -> 3d = 48, A 1d -> 4d = 72, C 2d -> 8d = 144.
# n=3: median 72; p75 at 1.5 -> 72 + 0.5 * 72 = 108; p90 at 1.8 -> 72 + 0.8 * 72 = 129.6; mean 264 / 3 = 88.
LEAD = stat(3, 72, 108, 129.6, 88)
# Cycle time (h), first entry into DOING to the last into DONE: A 2d -> 4d = 48, C 3d -> 8d = 120; B never was in
# progress. n=2: median 84; p75 48 + 0.75 * 72 = 102; p90 48 + 0.9 * 72 = 112.8; mean 84.
CYCLE = stat(2, 84, 102, 112.8, 84)
# Moves [3], [6], [7], [10], [13], [16], [20] = 7 ([11] leaves an untracked list), backward [16] = 1; moved cards
# A (2), B (1), C (4): per card 7 / 3 = 2.33; per week 7 / 3 = 2.33.
MOVES = {"total": 7, "backward": 1, "per_card": 2.33, "per_week": 2.33}
# Throughput: A (day 4), B (day 3) in week 1, C (last entry day 8) in week 2: 3, per week 1.0.
THROUGHPUT = {
    "total": 3,
    "per_week": 1.0,
    "weekly": [{"week": WEEKS[0], "value": 2}, {"week": WEEKS[1], "value": 1}, {"week": WEEKS[2], "value": 0}],
}
# Activity: 21 actions in the window. Alice [1, 4, 7, 10, 12, 13, 14, 19, 20] = 9, Bob [2, 3, 6, 8, 9, 16, 17, 18,
# 21] = 9, Fran (former: named by her actions) [5, 11, 15] = 3. Shares 9/21 = 0.4286, 3/21 = 0.1429; the tie
# is ordered by name.
MEMBERS = [
    {"member_id": ALICE, "name": "Alice Archer", "actions": 9, "share": 0.4286},
    {"member_id": BOB, "name": "Bob Baker", "actions": 9, "share": 0.4286},
    {"member_id": FRAN, "name": "Former Fran", "actions": 3, "share": 0.1429},
]
# Comments [15] on A, [18] and [19] on E: 3, per week 1.0, per card commented on 3 / 2 = 1.5.
COMMENTS = {"total": 3, "per_week": 1.0, "per_card": 1.5}
# Labels on open cards: E "bug", D the unnamed purple one (keyed by its colour); F's "bug" is archived.
LABELS = {"bug": 1, "purple": 1}


def list_ages(now: datetime) -> dict[str, dict[str, Any]]:
    """``now.lists`` by list id, from the instant the answer was computed. x(d) is the hours from day d to now.

    TODO: E (entered at its creation, day 5): one age x(5). F is archived.
    DOING: D (entered day 4, from OTHER) and H (day -2): [x(4), x(4) + 144]; median and mean x(4) + 72, p75
    x(4) + 0.75 * 144 = x(4) + 108, p90 x(4) + 0.9 * 144 = x(4) + 129.6.
    DONE: C (last entry day 8), A (day 4), B (day 3): [x(8), x(8) + 96, x(8) + 120]; median x(8) + 96, p75 at 1.5
    x(8) + 108, p90 at 1.8 x(8) + 96 + 0.8 * 24 = x(8) + 115.2, mean x(8) + 72."""

    def x(day: float) -> float:
        return (now - at(day)).total_seconds() / 3600

    return {
        TODO: {"name": "List 0", "open_cards": 1, "age": stat(1, x(5), x(5), x(5), x(5))},
        DOING: {"name": "List 1", "open_cards": 2, "age": stat(2, x(4) + 72, x(4) + 108, x(4) + 129.6, x(4) + 72)},
        DONE: {"name": "List 2", "open_cards": 3, "age": stat(3, x(8) + 96, x(8) + 108, x(8) + 115.2, x(8) + 72)},
    }


def assert_lists(rows: list[dict[str, Any]], expected: dict[str, dict[str, Any]]) -> None:
    assert [row["id"] for row in rows] == [TODO, DOING, DONE]
    for row in rows:
        want = expected[row["id"]]
        assert (row["name"], row["open_cards"], row["age"]["count"]) == (
            want["name"],
            want["open_cards"],
            want["age"]["count"],
        )
        for key in ("median", "p75", "p90", "mean"):  # "now" is known to the second: 0.01 h of slack
            assert abs(row["age"][key] - want["age"][key]) <= 0.011, (row["id"], key, row["age"], want["age"])


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def trello() -> Iterator[tuple[FakeTrello, dict[str, str]]]:
    fake, cards = seeded_trello()
    with fake:
        yield fake, cards


@pytest.fixture(scope="module")
def fake(trello: tuple[FakeTrello, dict[str, str]]) -> FakeTrello:
    return trello[0]


@pytest.fixture(scope="module")
def cards(trello: tuple[FakeTrello, dict[str, str]]) -> dict[str, str]:
    return trello[1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, fake: FakeTrello) -> Iterator[LocalStack]:
    workdir: Path = tmp_path_factory.mktemp("trello-stack")
    started = start_local_stack(workdir, env={"TRELLO_API_URL": fake.url})
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def team(stack: LocalStack) -> Team:
    return create_team(stack, "boardroom")


@pytest.fixture(scope="module")
def api(stack: LocalStack, team: Team) -> Iterator[Api]:
    client = Api(stack, team.token)
    yield client
    client.close()


def trello_body(fake: FakeTrello, **overrides: Any) -> dict[str, Any]:
    return {"type": "trello", "name": "Boardroom", "config": fake.config(list_ids=list(LISTS)) | overrides}


@pytest.fixture(scope="module")
def integration(api: Api, fake: FakeTrello, stack: LocalStack) -> dict[str, Any]:
    response = api.post("/integrations", json=trello_body(fake))
    assert response.status_code == 201, f"{response.text}\n{stack.logs()[-4000:]}"
    return dict(response.json())


def metrics_of(api: Api, integration_id: str) -> dict[str, Any]:
    response = api.get(f"/integrations/{integration_id}/metrics", params=WINDOW)
    assert response.status_code == 200, response.text
    return dict(response.json())


def synced(api: Api, stack: LocalStack, integration_id: str) -> dict[str, Any]:
    status: dict[str, Any] = wait_for(
        lambda: (s := status_of(api, integration_id))["status"] in {"active", "failed"} and s,
        SYNC_TIMEOUT,
        "the sync",
        stack.logs,
    )
    assert status["status"] == "active", status
    return status


def sync_now(api: Api, stack: LocalStack, integration_id: str) -> dict[str, Any]:
    """``POST /sync`` and wait for that sync to finish, successfully."""
    finished_before = synced(api, stack, integration_id)["last_sync"]["finished_at"]
    time.sleep(max(0.0, (instant(finished_before) + timedelta(seconds=1.1) - datetime.now(UTC)).total_seconds()))

    def queued() -> bool:
        answer = api.post(f"/integrations/{integration_id}/sync")
        assert answer.status_code == 202, answer.text
        return bool(answer.json() == {"queued": True, "coalesced": False})

    wait_for(queued, 15.0, "a manual sync queued", stack.logs)
    status: dict[str, Any] = wait_for(
        lambda: (
            (s := status_of(api, integration_id))["last_sync"]["finished_at"] != finished_before
            and s["status"] == "active"
            and s
        ),
        SYNC_TIMEOUT,
        "the manual sync",
        stack.logs,
    )
    assert status["last_sync"]["outcome"] == "success", status
    return status


# ---------------------------------------------------------------- creation refusals


def test_a_bad_token_an_unknown_board_and_a_list_not_on_the_board_store_nothing(api: Api, fake: FakeTrello) -> None:
    bad_token = api.post("/integrations", json=trello_body(fake, api_token="not-the-token"))
    assert bad_token.status_code == 422, bad_token.text
    assert bad_token.json()["error"]["code"] == "provider_auth_failed"
    assert "not-the-token" not in bad_token.text

    no_board = api.post("/integrations", json=trello_body(fake, board_id="5f0c1e2d3b4a596877660000"))
    assert no_board.status_code == 422, no_board.text
    assert no_board.json()["error"]["code"] == "board_not_found"

    stray = "60aa000000000000000000ff"
    not_on_board = api.post("/integrations", json=trello_body(fake, list_ids=[TODO, stray]))
    assert not_on_board.status_code == 422, not_on_board.text
    error = not_on_board.json()["error"]
    assert error["code"] == "unknown_list" and error["details"]["unknown_list_ids"] == [stray]

    assert api.get("/integrations").json() == {"items": [], "next_token": None}
    assert not any("/actions" in path for path in fake.requests)  # nothing was synced


# ---------------------------------------------------------------- first sync and the metrics


def test_first_sync_runs_by_itself_and_the_status_shows_it(
    stack: LocalStack, api: Api, fake: FakeTrello, integration: dict[str, Any]
) -> None:
    integration_id = integration["id"]
    assert integration["type"] == "trello"
    assert fake.api_token not in str(integration) and fake.api_key not in str(integration)

    status = synced(api, stack, integration_id)
    last = status["last_sync"]
    assert last["outcome"] == "success", status
    # 23 actions, 7 cards, 4 lists, 2 labels, 2 members; one actions page and the board.
    assert last["records"] == 23 + 7 + 4 + 2 + 2
    assert last["api_calls"] == 2
    assert status["last_success_at"] and status["next_sync_at"] and status["last_error"] is None
    assert fake.throttled == 0
    assert fake.api_token not in stack.logs() and fake.api_key not in stack.logs()


def test_metrics_match_the_hand_computed_values(stack: LocalStack, api: Api, integration: dict[str, Any]) -> None:
    integration_id = integration["id"]
    synced(api, stack, integration_id)

    document = metrics_of(api, integration_id)

    assert document["type"] == "trello"
    assert {k: instant(v) for k, v in document["window"].items()} == {"since": SINCE, "until": UNTIL}
    metrics = document["metrics"]
    assert set(metrics) == {"cards", "lists", "activity", "now"}
    assert metrics["cards"] == {"lead_time": LEAD, "cycle_time": CYCLE, "moves": MOVES}
    assert metrics["lists"] == {"throughput": THROUGHPUT}
    assert metrics["activity"] == {"members": MEMBERS, "comments": COMMENTS}
    assert metrics["now"]["labels"] == LABELS
    # The series: A, B (day 1), C, D (day 2), F (day 3) and E (day 5) created in week 1, H before the window;
    # done as the throughput's weekly.
    assert document["series"] == {
        "cards_created": [
            {"week": WEEKS[0], "value": 6},
            {"week": WEEKS[1], "value": 0},
            {"week": WEEKS[2], "value": 0},
        ],
        "cards_done": THROUGHPUT["weekly"],
    }
    assert_lists(metrics["now"]["lists"], list_ages(instant(document["generated_at"])))


def test_a_move_made_without_a_webhook_is_picked_up_by_the_next_sync(
    stack: LocalStack, api: Api, fake: FakeTrello, cards: dict[str, str], integration: dict[str, Any]
) -> None:
    integration_id = integration["id"]
    before = metrics_of(api, integration_id)["metrics"]
    # E (in TODO since day 5) is moved to DOING in Trello, by Alice; no webhook tells us.
    moved_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    fake.move_card(cards["E"], DOING, moved_at, member_id=ALICE)
    fake.requests.clear()

    status = sync_now(api, stack, integration_id)
    after = metrics_of(api, integration_id)["metrics"]

    assert status["last_sync"]["api_calls"] == 2 and len(fake.requests) == 2  # the new action and the board
    # Moves 7 + 1 = 8 over 4 moved cards: per card 2.0, per week 8 / 3 = 2.67.
    assert after["cards"]["moves"] == {"total": 8, "backward": 1, "per_card": 2.0, "per_week": 2.67}
    # Alice 10 of 22 (0.4545), Bob 9 (0.4091), Fran 3 (0.1364).
    assert [(m["name"], m["actions"], m["share"]) for m in after["activity"]["members"]] == [
        ("Alice Archer", 10, 0.4545),
        ("Bob Baker", 9, 0.4091),
        ("Former Fran", 3, 0.1364),
    ]
    rows = {row["id"]: row for row in after["now"]["lists"]}
    assert (rows[TODO]["open_cards"], rows[DOING]["open_cards"], rows[DONE]["open_cards"]) == (0, 3, 3)
    # DOING now: E (just moved), D (day 4), H (day -2); E's age is the shortest.
    now = instant(metrics_of(api, integration_id)["generated_at"])
    assert abs(rows[DOING]["age"]["median"] - (now - at(4)).total_seconds() / 3600) <= 0.011
    assert after["lists"] == before["lists"] and after["activity"]["comments"] == before["activity"]["comments"]
    assert after["now"]["labels"] == LABELS
