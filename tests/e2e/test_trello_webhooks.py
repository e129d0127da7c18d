"""Trello webhooks registered for the user, end to end over HTTP against ``python -m devstack`` (issue 10,
"Done when": "the board webhook is registered with the exact callback URL and deleted with the integration").

The local stack takes ``TRELLO_API_URL`` from its environment: the fake Trello on 127.0.0.1. When the API asks
the fake to create the webhook, the fake sends its ``HEAD`` to the callback URL, through the local API to the
webhooks function, and creates the webhook only on a 200. The tests build on one another in file order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Api, LocalStack, Team, create_team, start_local_stack, status_of, wait_for
from tests.fakes import trello as fake_trello
from tests.fakes.trello import FakeTrello

pytestmark = pytest.mark.e2e

CLEANUP_TIMEOUT = 30.0
OTHER_LIST = "60ff00000000000000000009"


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


@pytest.fixture(scope="module")
def integration(api: Api, fake: FakeTrello, stack: LocalStack) -> dict[str, Any]:
    response = api.post("/integrations", json=trello_body(fake))
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
