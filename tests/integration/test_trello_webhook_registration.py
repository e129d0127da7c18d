"""Trello webhooks registered for the user (issue 10, "Webhooks registered for the user"), against moto, the fake
Trello over HTTP and the template's HTTP API served in this process (``devstack.api_gateway``), so the fake's
``HEAD`` to the callback URL really reaches the webhooks function.

The API is called in process with the gateway's address as its host, so the webhook URL it builds (and
registers) is the gateway's: ``http://127.0.0.1:{port}/webhooks/trello/{id}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import httpx
import pytest

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.domain.webhook_registration import GONE_REASON
from agiletrack.models.common import utcnow
from agiletrack.wiring import webhook_intake
from devstack.api_gateway import ApiGateway
from devstack.lambda_runtime import LambdaRuntime
from devstack.moto_server import free_port
from devstack.template import Resources, functions, http_api, load_template
from tests.fakes import trello as fake_trello
from tests.fakes.trello import FakeTrello
from tests.integration.conftest import ApiCaller, Reply
from tests.integration.test_sync_worker import run_sync_worker

TOKEN_2 = "trellofakesecondtoken00112233445566778899aabbccddeeff"
BOARD_2 = "5f0c1e2d3b4a596877660002"
LISTS_2 = ("60bb00000000000000000001", "60bb00000000000000000002")
CREDENTIALS = (fake_trello.API_KEY, fake_trello.API_TOKEN, fake_trello.API_SECRET, TOKEN_2)


@pytest.fixture
def gateway(aws: Resources) -> Iterator[ApiGateway]:
    """The template's HTTP API on 127.0.0.1 (a free port), its functions run in this process on moto."""
    template = load_template()
    gateway = ApiGateway(http_api(template), LambdaRuntime(functions(template)), port=0)
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture
def trello(aws: Resources, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTrello]:
    boards = {fake_trello.BOARD: fake_trello.LISTS, BOARD_2: LISTS_2}
    with FakeTrello(boards=boards, other_tokens=[TOKEN_2]) as fake:
        monkeypatch.setenv("TRELLO_API_URL", fake.url)
        yield fake


Call = Callable[..., Reply]


@pytest.fixture
def api(call_api: ApiCaller, gateway: ApiGateway) -> Call:
    """The API function as reached through the gateway's address (the base of the webhook URLs it gives)."""
    return on_host(call_api, f"127.0.0.1:{gateway.port}")


def on_host(call_api: ApiCaller, host: str) -> Call:
    def call(method: str, path: str, body: Any = None) -> Reply:
        return call_api(method, path, "team_a", body, headers={"host": host, "x-forwarded-proto": "http"})

    return call


def create(api: Call, config: dict[str, Any]) -> dict[str, Any]:
    reply = api("POST", "/integrations", {"type": "trello", "config": config})
    assert reply.status == 201, reply.text
    return dict(reply.json())


def status_webhook(api: Call, integration_id: str) -> dict[str, Any]:
    reply = api("GET", f"/integrations/{integration_id}/status")
    assert reply.status == 200, reply.text
    return dict(reply.json()["webhook"])


def run_cleanup(aws: Resources, integration_id: str) -> None:
    """Run the queued cleanup job of ``integration_id`` in the sync worker; other jobs are dropped (no Trello
    sync is exercised here)."""
    sqs = boto3.client("sqs")
    url = aws.queue_urls["SyncQueue"]
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        assert messages, "no cleanup job was queued"
        for message in messages:
            if '"cleanup"' in message["Body"] and integration_id in message["Body"]:
                run_sync_worker(aws, dict(message))
                return
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_create_registers_the_board_webhook_with_the_exact_callback_url(
    api: Call, trello: FakeTrello, gateway: ApiGateway
) -> None:
    created = create(api, trello.config())
    url = f"http://127.0.0.1:{gateway.port}/webhooks/trello/{created['id']}"
    assert created["webhook"]["url"] == url

    # Trello checked the callback first: the webhooks function answered its HEAD with 200
    assert trello.webhooks.heads == [(url, "200")]
    [hook] = trello.webhooks.hooks.values()
    assert (hook.callbackURL, hook.idModel, hook.token, hook.active) == (url, fake_trello.BOARD, trello.api_token, True)
    assert created["id"] in hook.description and created["name"] in hook.description

    registration = created["webhook"]["registration"]
    assert registration["state"] == "registered"
    assert (registration["webhook_id"], registration["callback_url"], registration["active"]) == (hook.id, url, True)
    assert api("GET", f"/integrations/{created['id']}").json()["webhook"]["registration"]["webhook_id"] == hook.id
    webhook = status_webhook(api, created["id"])
    assert webhook["managed"] is True and webhook["registered"] is True and webhook["active"] is True
    assert (webhook["webhook_id"], webhook["callback_url"], webhook["reason"]) == (hook.id, url, None)


def test_a_short_link_board_is_registered_by_its_id(api: Call, trello: FakeTrello) -> None:
    created = create(api, trello.config(board_id=fake_trello.SHORT_LINK))
    assert created["webhook"]["registration"]["model_id"] == fake_trello.BOARD
    assert [h.idModel for h in trello.webhooks.hooks.values()] == [fake_trello.BOARD]


@pytest.mark.parametrize(
    ("answers", "says"),
    [
        pytest.param([(401, "invalid token")], "refused the API key and token (401)", id="auth"),
        pytest.param([(400, "invalid value for idModel")], "invalid value for idModel", id="refused-400"),
        pytest.param([(503, "down"), (503, "down")], "503", id="unavailable"),
    ],
)
def test_a_trello_refusal_keeps_the_integration_sync_only_with_the_reason(
    api: Call, trello: FakeTrello, aws: Resources, answers: list[tuple[int, str]], says: str
) -> None:
    trello.webhooks.refuse_next = list(answers)
    created = create(api, trello.config())  # 201, never a 5xx

    registration = created["webhook"]["registration"]
    assert registration["state"] == "failed" and says in registration["reason"]
    assert trello.webhooks.hooks == {}
    assert api("GET", f"/integrations/{created['id']}").status == 200
    webhook = status_webhook(api, created["id"])
    assert webhook["registered"] is False and webhook["active"] is False and says in webhook["reason"]
    body = boto3.client("sqs").receive_message(QueueUrl=aws.queue_urls["SyncQueue"])["Messages"][0]["Body"]
    assert created["id"] in body  # the first sync is queued all the same: it syncs every hour


def test_a_callback_trello_cannot_reach_is_reported_and_a_patch_registers_it_later(
    call_api: ApiCaller, api: Call, trello: FakeTrello, gateway: ApiGateway
) -> None:
    # The API reached through an address where nothing listens: Trello's HEAD finds nobody there
    closed = f"127.0.0.1:{free_port()}"
    created = create(on_host(call_api, closed), trello.config())
    registration = created["webhook"]["registration"]
    assert registration["state"] == "failed"
    assert f"URL (http://{closed}/webhooks/trello/{created['id']}) did not return 200" in registration["reason"]
    assert trello.webhooks.hooks == {}

    # A PATCH of the config through the right address registers it (nothing else changed)
    patched = api("PATCH", f"/integrations/{created['id']}", {"config": {"api_token": "********"}})
    assert patched.status == 200, patched.text
    assert patched.json()["webhook"]["registration"]["state"] == "registered"
    [hook] = trello.webhooks.hooks.values()
    assert hook.callbackURL == f"http://127.0.0.1:{gateway.port}/webhooks/trello/{created['id']}"


def test_a_token_change_registers_with_the_new_token_and_deletes_the_old_webhook(api: Call, trello: FakeTrello) -> None:
    created = create(api, trello.config())
    [old] = trello.webhooks.hooks.values()

    reply = api("PATCH", f"/integrations/{created['id']}", {"config": {"api_token": TOKEN_2}})
    assert reply.status == 200, reply.text

    [new] = trello.webhooks.hooks.values()
    assert new.id != old.id and new.token == TOKEN_2 and new.idModel == fake_trello.BOARD
    assert ("DELETE", f"/1/webhooks/{old.id}") in trello.webhooks.calls
    assert reply.json()["webhook"]["registration"]["webhook_id"] == new.id
    assert status_webhook(api, created["id"])["webhook_id"] == new.id


def test_a_board_change_registers_on_the_new_board_and_deletes_the_old_webhook(api: Call, trello: FakeTrello) -> None:
    created = create(api, trello.config())
    [old] = trello.webhooks.hooks.values()

    reply = api("PATCH", f"/integrations/{created['id']}", {"config": {"board_id": BOARD_2, "list_ids": list(LISTS_2)}})
    assert reply.status == 200, reply.text

    [new] = trello.webhooks.hooks.values()
    assert new.id != old.id and new.idModel == BOARD_2 and new.callbackURL == old.callbackURL
    assert reply.json()["webhook"]["registration"] | {"model_id": BOARD_2} == reply.json()["webhook"]["registration"]


def test_a_new_api_secret_keeps_the_webhook_trello_already_has(api: Call, trello: FakeTrello) -> None:
    created = create(api, trello.config())
    [hook] = trello.webhooks.hooks.values()
    reply = api("PATCH", f"/integrations/{created['id']}", {"config": {"api_secret": "trellonewappsecret0123456789"}})
    assert reply.status == 200, reply.text
    # the same callback, board and token: Trello says it exists, and that webhook is kept
    assert list(trello.webhooks.hooks) == [hook.id]
    assert reply.json()["webhook"]["registration"]["webhook_id"] == hook.id
    assert ("GET", "/1/tokens/{token}/webhooks") in trello.webhooks.calls
    assert not any(method == "DELETE" for method, _ in trello.webhooks.calls)


def test_other_config_changes_keep_the_webhook(api: Call, trello: FakeTrello) -> None:
    created = create(api, trello.config())
    [hook] = trello.webhooks.hooks.values()
    reply = api("PATCH", f"/integrations/{created['id']}", {"config": {"list_ids": list(fake_trello.LISTS)}})
    assert reply.status == 200, reply.text
    assert list(trello.webhooks.hooks) == [hook.id]
    assert [c for c in trello.webhooks.calls if c[0] != "GET"] == [("POST", "/1/webhooks")]


def test_without_api_secret_nothing_is_registered_until_it_is_added_and_removing_it_deletes_the_webhook(
    api: Call, trello: FakeTrello
) -> None:
    config = trello.config()
    del config["api_secret"]
    created = create(api, config)
    assert created["webhook"]["registration"]["state"] == "off"
    assert trello.webhooks.calls == [] and trello.webhooks.hooks == {}
    webhook = status_webhook(api, created["id"])
    assert webhook["managed"] is True and webhook["registered"] is False
    assert "no api_secret" in webhook["reason"] and "synced every hour" in webhook["reason"]

    added = api("PATCH", f"/integrations/{created['id']}", {"config": {"api_secret": fake_trello.API_SECRET}})
    assert added.status == 200, added.text
    assert added.json()["webhook"]["registration"]["state"] == "registered"
    [hook] = trello.webhooks.hooks.values()

    removed = api("PATCH", f"/integrations/{created['id']}", {"config": {"api_secret": None}})
    assert removed.status == 200, removed.text
    assert removed.json()["webhook"]["registration"]["state"] == "off"
    assert trello.webhooks.hooks == {} and ("DELETE", f"/1/webhooks/{hook.id}") in trello.webhooks.calls


def test_delete_removes_the_webhook_on_trello_before_the_secret(api: Call, trello: FakeTrello, aws: Resources) -> None:
    created = create(api, trello.config())
    [hook] = trello.webhooks.hooks.values()
    assert api("DELETE", f"/integrations/{created['id']}").status == 204
    assert trello.webhooks.hooks  # the API answered at once: the cleanup job deletes it

    run_cleanup(aws, created["id"])

    assert trello.webhooks.hooks == {}
    assert ("DELETE", f"/1/webhooks/{hook.id}") in trello.webhooks.calls
    assert integration_store().get(created["id"]) is None


def test_a_delete_trello_refuses_does_not_block_and_the_orphan_is_dropped_by_410(
    api: Call, trello: FakeTrello, aws: Resources
) -> None:
    created = create(api, trello.config())
    [hook] = trello.webhooks.hooks.values()
    assert api("DELETE", f"/integrations/{created['id']}").status == 204
    trello.fail_next(500, times=10)  # Trello down while the cleanup runs

    run_cleanup(aws, created["id"])

    assert integration_store().get(created["id"]) is None  # deleted all the same
    assert list(trello.webhooks.hooks) == [hook.id]  # the orphan
    trello.failures.clear()
    webhook_intake.cache_clear()  # a minute later: the webhooks function's integration cache has expired
    # Its next delivery is answered 410 Gone, and Trello drops the webhook
    action = {"id": "6b0000000000000000000001", "type": "commentCard", "data": {}}
    [(url, status)] = trello.webhooks.deliver(action, {"id": fake_trello.BOARD})
    assert (url, status) == (hook.callbackURL, 410)
    assert trello.webhooks.hooks == {}


def test_a_webhook_trello_dropped_shows_in_the_status(api: Call, trello: FakeTrello) -> None:
    created = create(api, trello.config())
    [hook] = trello.webhooks.hooks.values()
    assert status_webhook(api, created["id"])["registered"] is True  # checked at registration: not asked again
    assert [c for c in trello.webhooks.calls if c[0] == "GET"] == []

    del trello.webhooks.hooks[hook.id]  # Trello dropped it (failures, a revoked token)
    stale = utcnow() - timedelta(minutes=11)
    stored = integration_store().get(created["id"])
    assert stored is not None and stored.webhook_registration is not None
    registration = stored.webhook_registration.model_copy(update={"checked_at": stale})
    integration_store().update(created["id"], {"webhook_registration": registration.model_dump(mode="json")})

    webhook = status_webhook(api, created["id"])
    assert webhook["registered"] is False and webhook["reason"] == GONE_REASON
    assert ("GET", f"/1/webhooks/{hook.id}") in trello.webhooks.calls


def test_github_and_jira_show_a_webhook_set_up_by_hand(call_api: ApiCaller) -> None:
    from tests.fakes.github import FakeGitHub

    with FakeGitHub.synthetic(prs=1, commits=1, issues=0, seed=1) as github:
        body = {"type": "github", "config": github.config().model_dump(mode="json")}
        created = call_api("POST", "/integrations", "team_a", body)
        assert created.status == 201, created.text
        assert created.json()["webhook"]["registration"] is None
        webhook = call_api("GET", f"/integrations/{created.json()['id']}/status").json()["webhook"]
    assert webhook["managed"] is False and webhook["registered"] is False and webhook["active"] is False
    assert "add the integration's webhook URL" in webhook["reason"]


def test_a_delivery_to_an_unknown_trello_integration_is_gone_and_other_providers_not_found(
    gateway: ApiGateway,
) -> None:
    with httpx.Client(base_url=gateway.url) as client:
        assert client.post("/webhooks/trello/int_0000000000000000", content=b"{}").status_code == 410
        assert client.head("/webhooks/trello/int_0000000000000000").status_code == 410
        assert client.post("/webhooks/github/int_0000000000000000", content=b"{}").status_code == 404


def test_no_credential_appears_in_any_answer_or_log(
    api: Call, trello: FakeTrello, aws: Resources, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)  # the functions' level (libraries log request bodies at DEBUG)
    caplog.set_level(logging.DEBUG, logger="agiletrack")
    caplog.set_level(logging.DEBUG, logger="httpx")
    replies = []
    created = create(api, trello.config())
    replies.append(str(created))
    trello.webhooks.refuse_next = [(400, f"A webhook with that callback, model, and token already exists {TOKEN_2}")]
    replies.append(api("PATCH", f"/integrations/{created['id']}", {"config": {"api_token": TOKEN_2}}).text)
    replies.append(api("GET", f"/integrations/{created['id']}/status").text)
    replies.append(api("PATCH", f"/integrations/{created['id']}", {"config": {"api_secret": None}}).text)
    replies.append(api("GET", f"/integrations/{created['id']}").text)
    assert api("DELETE", f"/integrations/{created['id']}").status == 204
    run_cleanup(aws, created["id"])

    out, err = capfd.readouterr()
    seen = "\n".join([*replies, caplog.text, out, err])
    assert "webhook registered" in seen and "HTTP Request: POST" in caplog.text  # the logs were captured
    assert "/1/tokens/********/webhooks" in caplog.text  # the token in that path is masked too
    for credential in CREDENTIALS:
        assert credential not in seen


class SignedByCallback:
    """Just enough of a Trello adapter for the intake (Trello's own arrives with the sync): the signature is
    checked with Trello's rule over the delivery's callback URL, which the intake chooses."""

    def verify_webhook(self, delivery: Any, secrets: Any) -> bool:
        from agiletrack.adapters.providers.trello.signature import verify_trello_signature

        secret = str(secrets.credentials.get("api_secret") or "")
        header = delivery.headers.get("x-trello-webhook")
        return verify_trello_signature(secret, delivery.body, delivery.callback_url, header)

    def webhook_payload(self, delivery: Any) -> dict[str, Any]:
        return dict(json.loads(delivery.body))

    def delivery_id(self, delivery: Any) -> str | None:
        return str(json.loads(delivery.body)["action"]["id"])


def test_signatures_are_checked_against_the_registered_callback_url_whatever_url_the_request_came_by(
    api: Call, trello: FakeTrello, aws: Resources
) -> None:
    from agiletrack.adapters.aws.blobs import blob_store
    from agiletrack.adapters.aws.queues import queues
    from agiletrack.adapters.aws.secrets import secret_store
    from agiletrack.domain.intake import WebhookIntake
    from agiletrack.errors import Unauthorized
    from tests.fakes.trello_webhooks import trello_signature

    created = create(api, trello.config())
    registered = created["webhook"]["registration"]["callback_url"]
    intake = WebhookIntake(
        integrations=integration_store(),
        secrets=secret_store(),
        queue=queues(),
        blobs=blob_store(),
        checks_for=lambda _provider: SignedByCallback(),  # type: ignore[arg-type,return-value]
    )
    body = json.dumps({"action": {"id": "6b0000000000000000000042", "type": "commentCard"}, "model": {}}).encode()
    # The request reached us through a proxy and a stage: its own URL is not the one Trello signed
    proxied = f"https://hooks.example.com/prod/webhooks/trello/{created['id']}"
    signed = {"x-trello-webhook": trello_signature(fake_trello.API_SECRET, body, registered)}
    accepted = intake.receive("trello", created["id"], signed, body, proxied)
    assert accepted.delivery_id == "6b0000000000000000000042"
    message = boto3.client("sqs").receive_message(QueueUrl=aws.queue_urls["WebhookQueue"])["Messages"][0]
    assert json.loads(message["Body"])["callback_url"] == registered

    over_proxy = {"x-trello-webhook": trello_signature(fake_trello.API_SECRET, body, proxied)}
    with pytest.raises(Unauthorized):
        intake.receive("trello", created["id"], over_proxy, body, proxied)
