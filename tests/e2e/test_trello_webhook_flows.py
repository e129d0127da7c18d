"""Trello webhooks registered for the user, end to end over HTTP against ``python -m devstack`` (issue 10,
"Done when": "the board webhook is registered with the exact callback URL and deleted with the integration").

The local stack takes ``TRELLO_API_URL`` from its environment: the fake Trello on 127.0.0.1. When the API asks
the fake to create the webhook, the fake sends its ``HEAD`` to the callback URL, through the local API to the
webhooks function, and creates the webhook only on a 200. The tests build on one another in file order.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Api, LocalStack, Team, create_team, start_local_stack, status_of, wait_for
from tests.fakes import trello as fake_trello
from tests.fakes import trello_payloads as payloads
from tests.fakes.trello import FakeTrello

pytestmark = pytest.mark.e2e

CLEANUP_TIMEOUT = 30.0
SYNC_TIMEOUT = 30.0
WEBHOOK_TIMEOUT = 15.0
OTHER_LIST = "60ff00000000000000000009"
TODO, DOING, DONE = fake_trello.LISTS  # the workflow, in order
ALICE, BOB = payloads.ALICE["id"], payloads.BOB["id"]
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
SINCE, UNTIL = TODAY - timedelta(days=13), TODAY + timedelta(days=1)  # two weeks
WINDOW = {"since": SINCE.strftime("%Y-%m-%dT%H:%M:%SZ"), "until": UNTIL.strftime("%Y-%m-%dT%H:%M:%SZ")}
H0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=12)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTrello]:
    with FakeTrello() as trello:
        yield trello


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
    return {"type": "trello", "name": "Boardroom", "config": fake.config(**overrides)}


def at(hours: float) -> datetime:
    return H0 + timedelta(hours=hours)


@pytest.fixture(scope="module")
def integration(api: Api, fake: FakeTrello, stack: LocalStack) -> dict[str, Any]:
    response = api.post("/integrations", json=trello_body(fake, list_ids=list(fake_trello.LISTS)))
    assert response.status_code == 201, f"{response.text}\n{stack.logs()[-4000:]}"
    return dict(response.json())


def test_refusals_store_nothing_and_register_nothing(api: Api, fake: FakeTrello) -> None:
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"api_token": "not-the-token"}, "provider_auth_failed"),
        ({"board_id": "5f0c1e2d3b4a5968776655ff"}, "board_not_found"),
        ({"list_ids": [fake_trello.LISTS[0], OTHER_LIST]}, "unknown_list"),
    ]
    for overrides, code in refusals:
        response = api.post("/integrations", json=trello_body(fake, **overrides))
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == code
    assert api.get("/integrations").json()["items"] == []
    assert fake.webhooks.calls == [] and fake.webhooks.hooks == {}


def test_create_registers_the_board_webhook_with_the_exact_callback_url(
    stack: LocalStack, api: Api, fake: FakeTrello, integration: dict[str, Any]
) -> None:
    url = f"{stack.api_url}/webhooks/trello/{integration['id']}"
    assert integration["webhook"]["url"] == url
    # Trello's HEAD went through the local API to the webhooks function, which answered 200
    assert fake.webhooks.heads == [(url, "200")]
    [hook] = fake.webhooks.hooks.values()
    assert (hook.callbackURL, hook.idModel, hook.token, hook.active) == (url, fake_trello.BOARD, fake.api_token, True)
    assert integration["id"] in hook.description

    registration = integration["webhook"]["registration"]
    assert (registration["state"], registration["webhook_id"], registration["callback_url"]) == (
        "registered",
        hook.id,
        url,
    )
    webhook = status_of(api, integration["id"])["webhook"]
    assert (webhook["managed"], webhook["registered"], webhook["active"], webhook["reason"]) == (True, True, True, None)
    assert webhook["webhook_id"] == hook.id
    # and the same HEAD, asked again, still answers 200
    assert httpx.head(url, timeout=10).status_code == 200


def metrics_of(api: Api, integration_id: str) -> dict[str, Any]:
    response = api.get(f"/integrations/{integration_id}/metrics", params=WINDOW)
    assert response.status_code == 200, response.text
    return dict(response.json()["metrics"])


# The board is empty at the first sync; then, each delivered as Trello delivers it (Alice unless said):
# X created in TODO at 0 h, Y (by Bob) in TODO at 1 h; X moved to DOING at 2 h; Bob comments on X at 3 h; label
# "bug" put on X at 4 h and on Y at 4.5 h; X moved to DONE at 5 h; Y archived at 6 h and unarchived at 7 h;
# "bug" taken off X at 8 h; Z created at 9 h and deleted at 10 h.
# Lead time: X only (done in the window), 0 h -> 5 h = 5 h; cycle time: DOING at 2 h -> 5 h = 3 h.
# Moves: X's two (TODO->DOING, DOING->DONE); archiving is no move: 2 over 1 card, per card 2.0, per week 2/2 = 1.0.
# Throughput 1 (per week 0.5). Actions 12: Alice 10 (0.8333), Bob 2 (0.1667). Comments 1 on 1 card (0.5 a week).
# Now: TODO holds Y (unarchived), DOING nothing, DONE holds X; Z is deleted. Labels on open cards: Y's "bug".
EXPECTED = {
    "lead_time": {"count": 1, "median": 5.0, "p75": 5.0, "p90": 5.0, "mean": 5.0},
    "cycle_time": {"count": 1, "median": 3.0, "p75": 3.0, "p90": 3.0, "mean": 3.0},
    "moves": {"total": 2, "backward": 0, "per_card": 2.0, "per_week": 1.0},
    "throughput": (1, 0.5),
    "members": [("Alice Archer", 10, 0.8333), ("Bob Baker", 2, 0.1667)],
    "comments": {"total": 1, "per_week": 0.5, "per_card": 1.0},
    "open_cards": {TODO: 1, DOING: 0, DONE: 1},
    "labels": {"bug": 1},
}


def observed(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "lead_time": metrics["cards"]["lead_time"],
        "cycle_time": metrics["cards"]["cycle_time"],
        "moves": metrics["cards"]["moves"],
        "throughput": (metrics["lists"]["throughput"]["total"], metrics["lists"]["throughput"]["per_week"]),
        "members": [(m["name"], m["actions"], m["share"]) for m in metrics["activity"]["members"]],
        "comments": metrics["activity"]["comments"],
        "open_cards": {row["id"]: row["open_cards"] for row in metrics["now"]["lists"]},
        "labels": metrics["now"]["labels"],
    }


def test_signed_deliveries_of_every_action_type_change_the_metrics_within_seconds(
    stack: LocalStack, api: Api, fake: FakeTrello, integration: dict[str, Any]
) -> None:
    integration_id = integration["id"]
    status = wait_for(
        lambda: (s := status_of(api, integration_id))["status"] in {"active", "failed"} and s,
        SYNC_TIMEOUT,
        "the first sync",
        stack.logs,
    )
    assert status["status"] == "active", status
    empty = metrics_of(api, integration_id)
    assert empty["cards"]["moves"]["total"] == 0 and empty["activity"]["members"] == []

    board = fake.board()
    bug = fake.add_label("bug", "red")
    x_created = fake.add_card(TODO, at(0), member_id=ALICE)
    x = x_created["data"]["card"]["id"]
    y_created = fake.add_card(TODO, at(1), member_id=BOB)
    y = y_created["data"]["card"]["id"]
    actions = [
        x_created,
        y_created,
        fake.move_card(x, DOING, at(2), member_id=ALICE),
        fake.comment_card(x, at(3), member_id=BOB),
        fake.label_card(x, bug, at(4), member_id=ALICE),
        fake.label_card(y, bug, at(4.5), member_id=ALICE),
        fake.move_card(x, DONE, at(5), member_id=ALICE),
        fake.archive_card(y, at(6), member_id=ALICE),
        fake.archive_card(y, at(7), closed=False, member_id=ALICE),
        fake.label_card(x, bug, at(8), add=False, member_id=ALICE),
    ]
    z_created = fake.add_card(TODO, at(9), member_id=ALICE)
    actions += [z_created, fake.delete_card(z_created["data"]["card"]["id"], at(10), member_id=ALICE)]
    assert {a["type"] for a in actions} == {
        "createCard", "updateCard", "commentCard", "addLabelToCard", "removeLabelFromCard", "deleteCard"
    }  # fmt: skip

    started = time.monotonic()
    for action in actions:
        [(_, answer)] = fake.webhooks.deliver(action, board.ref())
        assert answer == 202
    wait_for(
        lambda: observed(metrics_of(api, integration_id)) == EXPECTED,
        WEBHOOK_TIMEOUT,
        "the metrics reflecting the deliveries",
        lambda: f"{observed(metrics_of(api, integration_id))}\n{stack.logs()[-3000:]}",
    )
    elapsed = time.monotonic() - started
    print(f"12 deliveries reflected in the metrics {elapsed:.2f} s after the first was sent")
    assert elapsed < WEBHOOK_TIMEOUT

    # A redelivery (Trello retries with the same action id) changes nothing
    [(_, again)] = fake.webhooks.deliver(actions[3], board.ref())
    assert again == 202
    time.sleep(2)
    assert observed(metrics_of(api, integration_id)) == EXPECTED
    webhook = status_of(api, integration_id)["webhooks"]
    assert webhook["connected"] is True and webhook["rejected_24h"] == 0


def test_a_wrong_or_missing_signature_is_refused_401_and_changes_nothing(
    api: Api, fake: FakeTrello, integration: dict[str, Any]
) -> None:
    board = fake.board()
    card = fake.add_card(TODO, at(11), member_id=ALICE)
    wrong = fake.webhooks.deliver(card, board.ref(), signature=lambda body, url: "c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZQ==")
    missing = fake.webhooks.deliver(card, board.ref(), signature=lambda body, url: None)
    # signed over another URL (the one a proxy forwarded to): not what Trello signs
    proxied = fake.webhooks.deliver(
        card,
        board.ref(),
        signature=lambda body, url: fake_trello_signature(body, url.replace("127.0.0.1", "localhost")),
    )
    assert [status for _, status in wrong + missing + proxied] == [401, 401, 401]
    time.sleep(2)
    assert observed(metrics_of(api, integration["id"])) == EXPECTED
    assert wait_for(
        lambda: status_of(api, integration["id"])["webhooks"]["rejected_24h"] >= 3, 10.0, "rejections counted", str
    )


def fake_trello_signature(body: bytes, url: str) -> str:
    from tests.fakes.trello_webhooks import trello_signature

    return trello_signature(fake_trello.API_SECRET, body, url)


def test_delete_removes_the_webhook_on_trello_and_its_url_is_gone(
    stack: LocalStack, api: Api, fake: FakeTrello, integration: dict[str, Any]
) -> None:
    [hook] = fake.webhooks.hooks.values()
    assert api.delete(f"/integrations/{integration['id']}").status_code == 204

    wait_for(lambda: not fake.webhooks.hooks, CLEANUP_TIMEOUT, "the webhook's deletion on Trello", stack.logs)
    assert ("DELETE", f"/1/webhooks/{hook.id}") in fake.webhooks.calls
    assert api.get(f"/integrations/{integration['id']}").status_code == 404
    # Trello would drop a webhook still pointing here: its deliveries are answered 410 Gone
    gone = wait_for(
        lambda: httpx.head(hook.callbackURL, timeout=10).status_code == 410,
        70.0,  # the webhooks function keeps an integration it read for up to 60 s
        "410 for the deleted integration's webhook URL",
        stack.logs,
    )
    assert gone
