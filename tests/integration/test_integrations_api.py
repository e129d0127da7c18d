"""The integrations config API end to end in-process: the API function on API Gateway events, moto for
DynamoDB, SQS and Secrets Manager, and fake GitHub, Jira and Trello servers on 127.0.0.1."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.metrics_cache import metrics_cache
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.providers.github.records import PullRequest
from agiletrack.domain.jobs import CleanupJob
from agiletrack.domain.status import MANUAL_NOT_SEEN
from agiletrack.models.common import iso, parse_iso, utcnow
from agiletrack.models.integrations import MASK, LastError, LastSync
from agiletrack.settings import get_settings
from agiletrack.wiring import cleanup
from devstack.template import Resources
from tests.fakes import jira as fake_jira
from tests.fakes import trello as fake_trello
from tests.fakes.github import FakeGitHub
from tests.fakes.jira import FakeJira
from tests.fakes.trello import FakeTrello
from tests.integration.conftest import ApiCaller, Reply

OTHER_LIST = "60aa000000000000000000ff"


# ---------------------------------------------------------------- fixtures
@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def jira(aws: Resources, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeJira]:
    with FakeJira() as fake:
        monkeypatch.setenv("SSL_CERT_FILE", fake.ca_file)  # httpx trusts the fake's self-signed certificate
        yield fake


@pytest.fixture
def trello(aws: Resources, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTrello]:
    with FakeTrello() as fake:
        monkeypatch.setenv("TRELLO_API_URL", fake.url)
        get_settings.cache_clear()
        yield fake
    get_settings.cache_clear()


@pytest.fixture
def sqs_jobs(aws: Resources) -> Callable[[], list[dict[str, Any]]]:
    """Drains the sync queue: the job bodies sent since the last call."""
    client = boto3.client("sqs")
    url = aws.queue_urls["SyncQueue"]

    def drain() -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = []
        while True:
            answer = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600)
            messages = answer.get("Messages", [])
            if not messages:
                return jobs
            for message in messages:
                jobs.append(json.loads(message["Body"]))
                client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return drain


@pytest.fixture
def log_text(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], str]]:
    """Everything logged while the test runs: the service's JSON lines (extras included, as Lambda would
    print them) and every library's records at INFO and above."""
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    service_logger = logging.getLogger("agiletrack")
    powertools_handler = next(iter(service_logger.handlers), None)
    if powertools_handler is not None and powertools_handler.formatter is not None:
        handler.setFormatter(powertools_handler.formatter)
    service_logger.addHandler(handler)
    yield lambda: stream.getvalue() + "\n" + caplog.text
    service_logger.removeHandler(handler)


def secrets_client() -> Any:
    return boto3.client("secretsmanager")


def secret_names() -> list[str]:
    return [s["Name"] for s in secrets_client().list_secrets()["SecretList"]]


def secret_versions(name: str) -> list[tuple[str, list[str]]]:
    versions = secrets_client().list_secret_version_ids(SecretId=name)["Versions"]
    return sorted((v["VersionId"], sorted(v["VersionStages"])) for v in versions)


def secret_payload(name: str, stage: str = "AWSCURRENT") -> dict[str, Any]:
    value = secrets_client().get_secret_value(SecretId=name, VersionStage=stage)
    return dict(json.loads(value["SecretString"]))


def all_dynamo_items(aws: Resources) -> str:
    client = boto3.client("dynamodb")
    items: list[Any] = []
    for table in aws.tables.values():
        for page in client.get_paginator("scan").paginate(TableName=table):
            items.extend(page["Items"])
    return json.dumps(items)


def github_body(fake: FakeGitHub, **overrides: Any) -> dict[str, Any]:
    return {"type": "github", "config": fake.config(**overrides).model_dump(mode="json")}


def create(call_api: ApiCaller, body: dict[str, Any], team: str = "team_a") -> dict[str, Any]:
    reply = call_api("POST", "/integrations", team, body)
    assert reply.status == 201, reply.text
    return dict(reply.json())


def assert_error(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    assert reply.status == status, reply.text
    error = reply.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


def assert_nothing_stored(call_api: ApiCaller, sqs_jobs: Callable[[], list[dict[str, Any]]]) -> None:
    assert call_api("GET", "/integrations").json()["items"] == []
    assert secret_names() == []
    assert sqs_jobs() == []


# ---------------------------------------------------------------- create
def test_create_github_answers_the_integration_with_its_webhook_secret_once(
    call_api: ApiCaller, github: FakeGitHub, sqs_jobs: Callable[[], list[dict[str, Any]]]
) -> None:
    # When
    created = create(call_api, github_body(github))

    # Then the answer masks the token and shows the webhook secret
    assert created["type"] == "github"
    assert created["team_id"] == "team_a"
    assert created["name"] == "octo-org/octo-repo"
    assert created["status"] == "pending"
    assert created["config"]["token"] == MASK
    assert created["config"]["repository"] == "octo-org/octo-repo"
    assert created["created_at"] == created["updated_at"]
    secret = created["webhook"]["secret"]
    assert len(secret) == 64 and int(secret, 16) >= 0
    assert created["webhook"]["url"] == (
        f"https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/github/{created['id']}"
    )
    # and the credentials and webhook secret are in one secret, under the app's prefix
    (name,) = secret_names()
    assert name == get_settings().secrets_prefix + created["id"]
    assert secret_payload(name) == {"credentials": {"token": github.token}, "webhook_secret": secret}
    # and the first sync is queued
    (job,) = sqs_jobs()
    assert job["integration_id"] == created["id"]
    assert job["reason"] == "created"
    assert job["requested_at"].endswith("Z")
    # and later reads never show the webhook secret
    fetched = call_api("GET", f"/integrations/{created['id']}").json()
    assert fetched["webhook"] == {"url": created["webhook"]["url"], "secret": None, "registration": None}
    assert fetched["config"] == created["config"]


def test_create_jira_checks_user_project_and_board(
    call_api: ApiCaller, jira: FakeJira, sqs_jobs: Callable[[], list[dict[str, Any]]]
) -> None:
    created = create(call_api, {"type": "jira", "name": "Eng board", "config": jira.config(board_id=7)})

    assert created["name"] == "Eng board"
    assert created["config"] == {
        "server_url": jira.url + "/",
        "email": jira.email,
        "api_token": MASK,
        "project_key": "ENG",
        "board_id": 7,
    }
    assert len(created["webhook"]["secret"]) == 64
    assert jira.requests == ["/rest/api/3/myself", "/rest/api/3/project/ENG", "/rest/agile/1.0/board/7"]
    payload = secret_payload(secret_names()[0])
    assert payload["credentials"] == {"api_token": jira.api_token}
    assert [j["reason"] for j in sqs_jobs()] == ["created"]


def test_create_trello_has_a_webhook_url_but_no_generated_secret(
    call_api: ApiCaller, trello: FakeTrello, sqs_jobs: Callable[[], list[dict[str, Any]]]
) -> None:
    created = create(call_api, {"type": "trello", "config": trello.config()})

    assert created["webhook"]["secret"] is None
    assert created["webhook"]["url"].endswith(f"/webhooks/trello/{created['id']}")
    assert {created["config"][f] for f in ("api_key", "api_token", "api_secret")} == {MASK}
    assert created["config"]["list_ids"] == list(fake_trello.LISTS[:2])
    payload = secret_payload(secret_names()[0])
    assert payload == {
        "credentials": {
            "api_key": trello.api_key,
            "api_token": trello.api_token,
            "api_secret": fake_trello.API_SECRET,
        },
        "webhook_secret": None,
    }
    assert len(sqs_jobs()) == 1


def test_trello_without_api_secret_masks_only_what_is_set(call_api: ApiCaller, trello: FakeTrello) -> None:
    config = trello.config()
    del config["api_secret"]
    created = create(call_api, {"type": "trello", "config": config})
    assert "api_secret" not in created["config"]
    assert created["config"]["api_key"] == MASK


def test_the_webhook_url_follows_the_forwarded_protocol(call_api: ApiCaller, github: FakeGitHub) -> None:
    reply = call_api("POST", "/integrations", "team_a", github_body(github), headers={"x-forwarded-proto": "http"})
    assert reply.json()["webhook"]["url"].startswith("http://abc123.execute-api.us-east-1.amazonaws.com/webhooks/")


# ---------------------------------------------------------------- validation before use
@pytest.mark.parametrize(
    ("overrides", "fake_options", "code"),
    [
        pytest.param({"token": "ghp_wrong"}, {}, "provider_auth_failed", id="bad-token"),
        pytest.param({"repository": "octo-org/nope"}, {}, "repository_not_found", id="unknown-repo"),
        pytest.param({"branch": "release"}, {}, "branch_not_found", id="unknown-branch"),
        pytest.param({}, {"private": True}, "private_repository", id="private-refused"),
    ],
)
def test_github_refusals_store_nothing(
    call_api: ApiCaller,
    sqs_jobs: Callable[[], list[dict[str, Any]]],
    overrides: dict[str, Any],
    fake_options: dict[str, Any],
    code: str,
) -> None:
    with FakeGitHub(**fake_options) as fake:
        reply = call_api("POST", "/integrations", "team_a", github_body(fake, **overrides))
    error = assert_error(reply, 422, code)
    if code == "private_repository":
        assert "include_private" in error["message"]
    assert_nothing_stored(call_api, sqs_jobs)


def test_a_private_repository_is_accepted_when_asked_for(call_api: ApiCaller) -> None:
    with FakeGitHub(private=True) as fake:
        assert create(call_api, github_body(fake, include_private=True))["config"]["include_private"] is True


@pytest.mark.parametrize(
    ("overrides", "code", "named"),
    [
        pytest.param({"api_token": "wrong-token"}, "provider_auth_failed", "API token", id="bad-token"),
        pytest.param({"email": "someone@example.com"}, "provider_auth_failed", "email", id="bad-email"),
        pytest.param({"project_key": "NOPE"}, "project_not_found", "NOPE", id="unknown-project"),
        pytest.param({"project_key": "SEC"}, "no_access", "SEC", id="forbidden-project"),
        pytest.param({"board_id": 99}, "board_not_found", "99", id="unknown-board"),
        pytest.param({"board_id": 9}, "board_not_in_project", "OPS", id="board-of-another-project"),
    ],
)
def test_jira_refusals_store_nothing(
    call_api: ApiCaller,
    aws: Resources,
    monkeypatch: pytest.MonkeyPatch,
    sqs_jobs: Callable[[], list[dict[str, Any]]],
    overrides: dict[str, Any],
    code: str,
    named: str,
) -> None:
    with FakeJira(forbidden_projects=frozenset({"SEC"})) as fake:
        monkeypatch.setenv("SSL_CERT_FILE", fake.ca_file)
        reply = call_api("POST", "/integrations", "team_a", {"type": "jira", "config": fake.config(**overrides)})
    assert named in assert_error(reply, 422, code)["message"]
    assert_nothing_stored(call_api, sqs_jobs)


def test_jira_board_without_a_project_location_is_accepted(
    call_api: ApiCaller, aws: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeJira(boards={12: None}) as fake:
        monkeypatch.setenv("SSL_CERT_FILE", fake.ca_file)
        assert create(call_api, {"type": "jira", "config": fake.config(board_id=12)})["config"]["board_id"] == 12


@pytest.mark.parametrize(
    ("overrides", "fake_options", "code", "named"),
    [
        pytest.param({"api_token": "not-the-token"}, {}, "provider_auth_failed", "token", id="bad-token"),
        pytest.param({"api_key": "not-the-key"}, {}, "provider_auth_failed", "key", id="bad-key"),
        pytest.param({"board_id": "5f0c1e2d3b4a596877660000"}, {}, "board_not_found", "5f0c1e2d", id="unknown-board"),
        pytest.param(
            {},
            {"unreadable_boards": [fake_trello.BOARD]},
            "no_access",
            fake_trello.BOARD,
            id="board-not-readable",
        ),
        pytest.param(
            {"list_ids": [fake_trello.LISTS[0], OTHER_LIST]}, {}, "unknown_list", OTHER_LIST, id="unknown-list"
        ),
    ],
)
def test_trello_refusals_store_nothing(
    call_api: ApiCaller,
    aws: Resources,
    monkeypatch: pytest.MonkeyPatch,
    sqs_jobs: Callable[[], list[dict[str, Any]]],
    overrides: dict[str, Any],
    fake_options: dict[str, Any],
    code: str,
    named: str,
) -> None:
    with FakeTrello(**fake_options) as fake:
        monkeypatch.setenv("TRELLO_API_URL", fake.url)
        get_settings.cache_clear()
        reply = call_api("POST", "/integrations", "team_a", {"type": "trello", "config": fake.config(**overrides)})
    error = assert_error(reply, 422, code)
    assert named in error["message"]
    if code == "unknown_list":
        assert error["details"]["unknown_list_ids"] == [OTHER_LIST]
        assert fake_trello.LISTS[0] not in error["message"]
    assert_nothing_stored(call_api, sqs_jobs)


def test_unreachable_providers_answer_502_and_store_nothing(
    call_api: ApiCaller, monkeypatch: pytest.MonkeyPatch, sqs_jobs: Callable[[], list[dict[str, Any]]]
) -> None:
    github_config = {"repository": "octo-org/octo-repo", "token": "ghp_x", "api_url": fake_jira.closed_url("http")}
    jira_config = {"server_url": fake_jira.closed_url(), "email": "a@b.c", "api_token": "t", "project_key": "ENG"}
    monkeypatch.setenv("TRELLO_API_URL", fake_trello.closed_url())
    get_settings.cache_clear()
    trello_config = FakeTrello().config()

    for body in (
        {"type": "github", "config": github_config},
        {"type": "jira", "config": jira_config},
        {"type": "trello", "config": trello_config},
    ):
        error = assert_error(call_api("POST", "/integrations", "team_a", body), 502)
        assert "reached" in error["message"]
    assert_nothing_stored(call_api, sqs_jobs)


@pytest.mark.parametrize("status", [500, 503])
def test_provider_5xx_answers_502_and_stores_nothing(
    call_api: ApiCaller,
    jira: FakeJira,
    trello: FakeTrello,
    sqs_jobs: Callable[[], list[dict[str, Any]]],
    status: int,
) -> None:
    jira.fail_next(status, times=5)
    assert_error(call_api("POST", "/integrations", "team_a", {"type": "jira", "config": jira.config()}), 502)
    trello.fail_next(status, times=5)
    assert_error(call_api("POST", "/integrations", "team_a", {"type": "trello", "config": trello.config()}), 502)
    assert_nothing_stored(call_api, sqs_jobs)


def test_a_provider_rate_limit_answers_429_and_stores_nothing(
    call_api: ApiCaller, jira: FakeJira, trello: FakeTrello, sqs_jobs: Callable[[], list[dict[str, Any]]]
) -> None:
    jira.fail_next(429)
    body: dict[str, Any] = {"type": "jira", "config": jira.config()}
    assert_error(call_api("POST", "/integrations", "team_a", body), 429, "provider_rate_limited")
    trello.fail_next(429)
    body = {"type": "trello", "config": trello.config()}
    assert_error(call_api("POST", "/integrations", "team_a", body), 429, "provider_rate_limited")
    assert_nothing_stored(call_api, sqs_jobs)


def test_an_integration_whose_first_job_could_not_be_sent_is_still_created(
    call_api: ApiCaller, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, sqs_jobs: Callable[[], list[Any]]
) -> None:
    def broken_send(self: Any, job: dict[str, Any], *, delay_seconds: int = 0) -> None:
        raise RuntimeError("SQS is down")

    with monkeypatch.context() as patched:
        patched.setattr(type(queues()), "send_sync_job", broken_send)
        created = create(call_api, github_body(github))
    assert integration_store().sync_state(created["id"]) == {}  # no queued mark left to block a trigger
    assert call_api("POST", f"/integrations/{created['id']}/sync").json() == {"queued": True, "coalesced": False}
    assert [j["reason"] for j in sqs_jobs()] == ["manual"]


def test_a_failed_store_write_leaves_no_secret_behind(
    call_api: ApiCaller, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_class = type(integration_store())

    def broken_create(self: Any, integration: Any) -> None:
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(store_class, "create", broken_create)
    assert_error(call_api("POST", "/integrations", "team_a", github_body(github)), 500, "internal_error")
    assert secret_names() == []


# ---------------------------------------------------------------- schema errors
def test_bad_fields_are_named_with_their_path(call_api: ApiCaller) -> None:
    body = {"type": "github", "name": "", "config": {"repository": "not a repo", "extra": 1}}
    error = assert_error(call_api("POST", "/integrations", "team_a", body), 422, "validation_failed")
    reasons = {d["field"]: d["reason"] for d in error["details"]}
    assert set(reasons) == {"name", "config.repository", "config.token", "config.extra"}
    assert "owner/name" in reasons["config.repository"]
    assert reasons["config.token"] == "Field required"


def test_credentials_that_could_never_authenticate_are_refused_before_any_call(call_api: ApiCaller) -> None:
    body = {"type": "trello", "config": {**TRELLO_SHAPE, "api_token": "two words", "api_secret": "line\nbreak"}}
    error = assert_error(call_api("POST", "/integrations", "team_a", body), 422, "validation_failed")
    assert {d["field"] for d in error["details"]} == {"config.api_token", "config.api_secret"}


def test_unknown_type_is_422_and_only_the_type_is_blamed(call_api: ApiCaller) -> None:
    body = {"type": "gitlab", "config": {"url": "https://gitlab.example.com"}}
    error = assert_error(call_api("POST", "/integrations", "team_a", body), 422, "validation_failed")
    assert [d["field"] for d in error["details"]] == ["type"]


def test_invalid_json_is_400(call_api: ApiCaller) -> None:
    assert_error(call_api("POST", "/integrations", "team_a", raw_body=b'{"type": "github",'), 400, "invalid_json")


def test_body_over_256_kb_is_413(call_api: ApiCaller) -> None:
    body = {"type": "github", "name": "x", "config": {"repository": "a/b", "token": "t" * (257 * 1024)}}
    assert_error(call_api("POST", "/integrations", "team_a", body), 413, "payload_too_large")


def test_wrong_method_is_405_with_allow(call_api: ApiCaller) -> None:
    reply = call_api("PUT", "/integrations/int_0000000000000000", "team_a", {})
    assert_error(reply, 405, "method_not_allowed")
    assert reply.headers["allow"] == "DELETE, GET, PATCH"
    assert_error(call_api("DELETE", "/integrations"), 405, "method_not_allowed")


def test_without_the_authorizer_context_every_route_is_401_as_api_gateway_answers_it(call_api: ApiCaller) -> None:
    # The one 401 shape a client sees, whether API Gateway or the function refuses the call.
    for method, path in (("GET", "/integrations"), ("POST", "/integrations/int_1/sync"), ("GET", "/teams/me")):
        reply = call_api(method, path, None)
        assert (reply.status, reply.json()) == (401, {"message": "Unauthorized"}), (method, path)


JIRA_SHAPE = {"server_url": "https://x.atlassian.net", "email": "a@b.c", "api_token": "t", "project_key": "ENG"}
TRELLO_SHAPE = {"api_key": "k", "api_token": "t", "board_id": "b", "list_ids": list(fake_trello.LISTS[:2])}
MALFORMED: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/integrations", {"raw_body": b"[]"}),
    ("POST", "/integrations", {"raw_body": b"null"}),
    ("POST", "/integrations", {"raw_body": b'"text"'}),
    ("POST", "/integrations", {"raw_body": b"1e999999"}),
    ("POST", "/integrations", {"raw_body": b"\xff\xfe\x00{"}),
    ("POST", "/integrations", {"raw_body": b"hello", "headers": {"content-type": "text/plain"}}),
    ("POST", "/integrations", {"raw_body": b"--x\r\n", "headers": {"content-type": "multipart/form-data"}}),
    (
        "POST",
        "/integrations",
        {"raw_body": b"type=github", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    ),
    ("POST", "/integrations", {"body": {"type": "github", "config": []}}),
    ("POST", "/integrations", {"body": {"type": ["github"], "config": {}}}),
    ("POST", "/integrations", {"body": {"type": "trello", "config": {"list_ids": "abc"}}}),
    ("POST", "/integrations", {"body": {"type": "jira", "config": {"board_id": "x" * 5000}}}),
    ("POST", "/integrations", {"body": {"type": "github", "config": {"repository": "a/b", "token": "a\u0000b"}}}),
    ("POST", "/integrations", {"body": {"type": "github", "config": {"repository": "a/b", "token": "a\r\nX: y"}}}),
    ("POST", "/integrations", {"body": {"type": "jira", "config": {**JIRA_SHAPE, "api_token": "t\u00e9"}}}),
    ("POST", "/integrations", {"body": {"type": "trello", "config": {**TRELLO_SHAPE, "api_key": "k k"}}}),
    ("GET", "/integrations", {"query": {"limit": "-1"}}),
    ("GET", "/integrations", {"query": {"limit": "1.5"}}),
    ("GET", "/integrations", {"query": {"next_token": "!!!"}}),
    ("GET", "/integrations", {"query": {"next_token": "W10"}}),
    ("GET", "/integrations/" + "x" * 5000, {}),
    ("GET", "/integrations/%00%ff", {}),
    ("PATCH", "/integrations/int_x", {"raw_body": b"{"}),
    ("PATCH", "/integrations/int_x", {"body": {"type": "jira"}}),
    ("PATCH", "/integrations/int_x", {"body": {"config": "nope"}}),
    ("POST", "/integrations/int_x/sync", {"raw_body": b"garbage"}),
    ("POST", "/integrations/int_x/webhook-secret", {}),
    ("DELETE", "/integrations/int_x", {}),
    ("GET", "/integrations/int_x/status", {}),
]


def test_no_malformed_input_gives_a_500(call_api: ApiCaller) -> None:
    offenders = []
    for method, path, kwargs in MALFORMED:
        reply = call_api(method, path, "team_a", **kwargs)
        shape_ok = reply.status != 204 and set(reply.json()["error"]) <= {"code", "message", "details"}
        if not (400 <= reply.status < 500 and shape_ok):
            offenders.append((method, path[:60], kwargs, reply.status, reply.text[:200]))
    assert offenders == []


# ---------------------------------------------------------------- list and read
def test_list_pages_through_the_teams_integrations(call_api: ApiCaller, github: FakeGitHub) -> None:
    ids = [create(call_api, {**github_body(github), "name": f"repo {n}"})["id"] for n in range(3)]

    first = call_api("GET", "/integrations", query={"limit": "2"}).json()
    assert [i["id"] for i in first["items"]] == ids[:2]
    assert first["next_token"]
    second = call_api("GET", "/integrations", query={"limit": "2", "next_token": first["next_token"]}).json()
    assert [i["id"] for i in second["items"]] == ids[2:]
    assert second["next_token"] is None
    assert all(i["config"]["token"] == MASK and i["webhook"]["secret"] is None for i in first["items"])
    assert len(call_api("GET", "/integrations").json()["items"]) == 3  # default limit 50


@pytest.mark.parametrize("limit", ["0", "101"])
def test_limit_is_1_to_100(call_api: ApiCaller, limit: str) -> None:
    error = assert_error(call_api("GET", "/integrations", query={"limit": limit}), 422, "validation_failed")
    assert error["details"][0]["field"] == "query.limit"


def test_unknown_id_is_404(call_api: ApiCaller) -> None:
    for method, path in [
        ("GET", "/integrations/int_0000000000000000"),
        ("PATCH", "/integrations/int_0000000000000000"),
        ("DELETE", "/integrations/int_0000000000000000"),
        ("GET", "/integrations/int_0000000000000000/status"),
        ("POST", "/integrations/int_0000000000000000/sync"),
        ("POST", "/integrations/int_0000000000000000/webhook-secret"),
    ]:
        body = {"name": "x"} if method == "PATCH" else None
        assert_error(call_api(method, path, "team_a", body), 404, "not_found")


# ---------------------------------------------------------------- teams are isolated
def test_two_teams_cannot_see_or_touch_each_others_integrations(
    call_api: ApiCaller, github: FakeGitHub, sqs_jobs: Callable[[], list[dict[str, Any]]]
) -> None:
    mine = create(call_api, github_body(github), team="team_a")["id"]
    theirs = create(call_api, github_body(github), team="team_b")["id"]
    sqs_jobs()

    assert [i["id"] for i in call_api("GET", "/integrations", "team_a").json()["items"]] == [mine]
    assert [i["id"] for i in call_api("GET", "/integrations", "team_b").json()["items"]] == [theirs]
    for method, suffix, body in [
        ("GET", "", None),
        ("PATCH", "", {"name": "hijacked"}),
        ("GET", "/status", None),
        ("POST", "/sync", None),
        ("POST", "/webhook-secret", None),
        ("DELETE", "", None),
    ]:
        foreign = call_api(method, f"/integrations/{theirs}{suffix}", "team_a", body)
        missing = call_api(method, f"/integrations/int_ffffffffffffffff{suffix}", "team_a", body)
        assert foreign.status == missing.status == 404
        assert foreign.json()["error"]["code"] == missing.json()["error"]["code"]
        assert foreign.json()["error"]["message"].replace(theirs, "ID") == (
            missing.json()["error"]["message"].replace("int_ffffffffffffffff", "ID")
        )
    # nothing of team_b's changed
    still = call_api("GET", f"/integrations/{theirs}", "team_b").json()
    assert still["name"] == "octo-org/octo-repo"
    assert len(secret_names()) == 2
    assert sqs_jobs() == []


def test_a_next_token_of_another_team_is_refused(call_api: ApiCaller, github: FakeGitHub) -> None:
    for _ in range(2):
        create(call_api, github_body(github), team="team_a")
    token = call_api("GET", "/integrations", "team_a", query={"limit": "1"}).json()["next_token"]
    assert_error(call_api("GET", "/integrations", "team_b", query={"next_token": token}), 422)


# ---------------------------------------------------------------- update
def test_rename_does_not_call_the_provider(call_api: ApiCaller, github: FakeGitHub) -> None:
    created = create(call_api, github_body(github))
    calls = github.calls.rest
    reply = call_api("PATCH", f"/integrations/{created['id']}", "team_a", {"name": "Backend"})
    assert reply.status == 200, reply.text
    assert reply.json()["name"] == "Backend"
    assert reply.json()["updated_at"] >= created["updated_at"]
    assert github.calls.rest == calls


def test_a_new_token_is_validated_then_written_as_a_new_secret_version(
    call_api: ApiCaller, github: FakeGitHub, sqs_jobs: Callable[[], list[dict[str, Any]]]
) -> None:
    created = create(call_api, github_body(github))
    old_token = github.token
    name = secret_names()[0]
    sqs_jobs()
    # Given the integration failed (its token was revoked) and nothing is queued
    integration_store().update(created["id"], {"status": "failed"})
    integration_store().reset_sync_state(created["id"])
    github.token = "ghp_rotated_0123456789"

    # When the team gives the new token
    reply = call_api("PATCH", f"/integrations/{created['id']}", "team_a", {"config": {"token": github.token}})

    # Then
    assert reply.status == 200, reply.text
    assert reply.json()["status"] == "pending"
    assert reply.json()["config"]["token"] == MASK
    assert secret_payload(name)["credentials"] == {"token": github.token}
    assert secret_payload(name, "AWSPREVIOUS")["credentials"] == {"token": old_token}
    assert secret_payload(name)["webhook_secret"] == created["webhook"]["secret"]
    assert [j["reason"] for j in sqs_jobs()] == ["credentials_changed"]


def test_refused_new_credentials_change_nothing(
    call_api: ApiCaller, github: FakeGitHub, sqs_jobs: Callable[[], list[dict[str, Any]]]
) -> None:
    created = create(call_api, github_body(github))
    name = secret_names()[0]
    sqs_jobs()
    versions = secret_versions(name)

    reply = call_api("PATCH", f"/integrations/{created['id']}", "team_a", {"config": {"token": "ghp_bad"}})

    assert_error(reply, 422, "provider_auth_failed")
    assert secret_payload(name)["credentials"] == {"token": github.token}
    assert secret_versions(name) == versions
    assert call_api("GET", f"/integrations/{created['id']}").json() == {
        **created,
        "webhook": {
            "url": created["webhook"]["url"],
            "secret": None,
            "registration": None,
        },
    }
    assert sqs_jobs() == []


def test_a_masked_credential_keeps_its_value(call_api: ApiCaller, trello: FakeTrello) -> None:
    created = create(call_api, {"type": "trello", "config": trello.config()})
    name = secret_names()[0]
    config = dict(created["config"])
    config["list_ids"] = list(fake_trello.LISTS)  # a GET answer sent back with one change

    reply = call_api("PATCH", f"/integrations/{created['id']}", "team_a", {"config": config})

    assert reply.status == 200, reply.text
    assert reply.json()["config"]["list_ids"] == list(fake_trello.LISTS)
    assert secret_payload(name)["credentials"]["api_token"] == trello.api_token
    assert len(secret_versions(name)) == 1


def test_patch_config_errors_are_named_with_their_path(call_api: ApiCaller, jira: FakeJira) -> None:
    created = create(call_api, {"type": "jira", "config": jira.config()})
    body = {"config": {"project_key": "lower", "unknown": 1}}
    error = assert_error(call_api("PATCH", f"/integrations/{created['id']}", "team_a", body), 422)
    assert {d["field"] for d in error["details"]} == {"config.project_key", "config.unknown"}
    body = {"config": {"api_token": "has space"}}
    error = assert_error(call_api("PATCH", f"/integrations/{created['id']}", "team_a", body), 422)
    assert [d["field"] for d in error["details"]] == ["config.api_token"]
    assert jira.requests.count("/rest/api/3/myself") == 1  # only the creation's


def _seed_data(integration_id: str) -> None:
    now = utcnow()
    pr = PullRequest(id="1", number=1, state="open", created_at=now, updated_at=now)
    record_store().put_many(integration_id, [pr])
    metrics_cache().put(integration_id, "default", {"x": 1}, iso(now), iso(now))
    store = integration_store()
    store.reset_sync_state(integration_id)
    assert store.acquire_lease(integration_id, "worker", now, ttl=timedelta(minutes=5))
    store.save_cursor(integration_id, "worker", {"since": iso(now)})
    store.release_lease(integration_id, "worker")
    store.update(
        integration_id,
        {"status": "active", "last_success_at": now, "newest_data_at": now, "last_webhook_at": now},
    )


def test_changing_the_repository_starts_its_data_over(
    call_api: ApiCaller, github: FakeGitHub, sqs_jobs: Callable[[], list[dict[str, Any]]]
) -> None:
    created = create(call_api, github_body(github))
    integration_id = created["id"]
    sqs_jobs()
    _seed_data(integration_id)
    github.name = "other-repo"

    reply = call_api(
        "PATCH", f"/integrations/{integration_id}", "team_a", {"config": {"repository": "octo-org/other-repo"}}
    )

    assert reply.status == 200, reply.text
    assert reply.json()["config"]["repository"] == "octo-org/other-repo"
    assert reply.json()["status"] == "pending"
    assert "cursor" not in integration_store().sync_state(integration_id)
    stored = integration_store().get(integration_id)
    assert stored is not None and stored.generation == 1
    assert stored.last_success_at is None and stored.newest_data_at is None and stored.last_webhook_at is None
    jobs = sqs_jobs()
    assert sorted((j["type"], j.get("reason")) for j in jobs) == [("cleanup", None), ("sync", "created")]
    # the old repository's records and cached metrics go with the cleanup job, not within the request
    assert record_store().count(integration_id, "pull_request") == 1
    cleanup().run(CleanupJob.from_body(next(j for j in jobs if j["type"] == "cleanup")), remaining_ms=lambda: 300_000)
    assert record_store().count(integration_id, "pull_request") == 0
    assert metrics_cache().get(integration_id, "default") is None


def test_other_config_changes_keep_records_but_drop_cached_metrics(
    call_api: ApiCaller, trello: FakeTrello, sqs_jobs: Callable[[], list[dict[str, Any]]]
) -> None:
    created = create(call_api, {"type": "trello", "config": trello.config()})
    integration_id = created["id"]
    sqs_jobs()
    _seed_data(integration_id)

    body = {"config": {"list_ids": list(reversed(fake_trello.LISTS))}}
    reply = call_api("PATCH", f"/integrations/{integration_id}", "team_a", body)

    assert reply.status == 200, reply.text
    assert reply.json()["status"] == "active"
    assert record_store().count(integration_id, "pull_request") == 1
    assert metrics_cache().get(integration_id, "default") is None
    assert "cursor" in integration_store().sync_state(integration_id)
    assert sqs_jobs() == []


# ---------------------------------------------------------------- delete
def test_delete_removes_the_integration_its_secret_and_everything_stored(
    call_api: ApiCaller, github: FakeGitHub, aws: Resources, sqs_jobs: Callable[[], list[dict[str, Any]]]
) -> None:
    created = create(call_api, github_body(github))
    integration_id = created["id"]
    _seed_data(integration_id)
    integration_store().add_event(integration_id, "job", outcome="success")

    reply = call_api("DELETE", f"/integrations/{integration_id}")

    assert reply.status == 204
    assert reply.text == ""
    assert_error(call_api("GET", f"/integrations/{integration_id}"), 404)
    assert_error(call_api("DELETE", f"/integrations/{integration_id}"), 404)
    # and the cleanup job it queued removes everything
    jobs = [j for j in sqs_jobs() if j["type"] == "cleanup"]
    assert [j["integration_id"] for j in jobs] == [integration_id]
    assert cleanup().run(CleanupJob.from_body(jobs[0]), remaining_ms=lambda: 300_000).outcome == "done"
    assert secret_names() == []
    assert integration_id not in all_dynamo_items(aws)


# ---------------------------------------------------------------- webhook secret
def test_rotating_the_webhook_secret_writes_a_new_version(call_api: ApiCaller, github: FakeGitHub) -> None:
    created = create(call_api, github_body(github))
    name = secret_names()[0]

    reply = call_api("POST", f"/integrations/{created['id']}/webhook-secret")

    assert reply.status == 200, reply.text
    secret = reply.json()["secret"]
    assert len(secret) == 64 and secret != created["webhook"]["secret"]
    assert secret_payload(name) == {"credentials": {"token": github.token}, "webhook_secret": secret}
    assert secret_payload(name, "AWSPREVIOUS")["webhook_secret"] == created["webhook"]["secret"]


def test_trello_has_no_webhook_secret_to_rotate(call_api: ApiCaller, trello: FakeTrello) -> None:
    created = create(call_api, {"type": "trello", "config": trello.config()})
    error = assert_error(call_api("POST", f"/integrations/{created['id']}/webhook-secret"), 409, "conflict")
    assert "api_secret" in error["message"]


# ---------------------------------------------------------------- status
def test_status_of_a_new_integration(call_api: ApiCaller, github: FakeGitHub) -> None:
    created = create(call_api, github_body(github))
    status = call_api("GET", f"/integrations/{created['id']}/status").json()
    assert status == {
        "id": created["id"],
        "status": "pending",
        "last_sync": None,
        "last_success_at": None,
        "last_error": None,
        "next_sync_at": None,
        "data_freshness_seconds": None,
        "error_rate_24h": None,
        "api_quota": None,
        "api_response_ms": None,
        "webhooks": {"connected": False, "last_received_at": None, "received_24h": 0, "rejected_24h": 0},
        "webhook": {
            "managed": False,
            "registered": False,
            "active": False,
            "reason": MANUAL_NOT_SEEN,
            "webhook_id": None,
            "callback_url": None,
            "registered_at": None,
            "checked_at": None,
        },
        "progress": None,
        "credentials_set_at": created["created_at"],
        "credentials_age_days": 0,
        "rotation_due": False,
    }


@pytest.mark.parametrize(
    ("age", "days", "due"),
    [
        (timedelta(days=90) - timedelta(minutes=1), 89, False),
        (timedelta(days=90), 90, True),
        (timedelta(days=400), 400, True),
    ],
)
def test_credentials_are_flagged_for_rotation_from_90_days(
    call_api: ApiCaller, github: FakeGitHub, age: timedelta, days: int, due: bool
) -> None:
    integration_id = create(call_api, github_body(github))["id"]
    set_at = utcnow() - age - timedelta(seconds=2)  # the status is read a moment later
    if not due:
        set_at += timedelta(seconds=4)
    integration_store().update(integration_id, {"credentials_set_at": iso(set_at)})

    status = call_api("GET", f"/integrations/{integration_id}/status").json()

    assert (status["credentials_age_days"], status["rotation_due"]) == (days, due)
    assert status["credentials_set_at"] == iso(set_at)[:19] + "Z"


def test_new_credentials_restart_the_age_and_other_changes_do_not(call_api: ApiCaller, github: FakeGitHub) -> None:
    created = create(call_api, github_body(github))
    old = utcnow() - timedelta(days=120)
    integration_store().update(created["id"], {"credentials_set_at": iso(old)})

    # A rename keeps the age
    assert call_api("PATCH", f"/integrations/{created['id']}", "team_a", {"name": "renamed"}).status == 200
    status = call_api("GET", f"/integrations/{created['id']}/status").json()
    assert (status["credentials_age_days"], status["rotation_due"]) == (120, True)

    # A new token restarts it
    github.token = "ghp_rotated_0123456789"
    reply = call_api("PATCH", f"/integrations/{created['id']}", "team_a", {"config": {"token": github.token}})
    assert reply.status == 200, reply.text
    status = call_api("GET", f"/integrations/{created['id']}/status").json()
    assert (status["credentials_age_days"], status["rotation_due"]) == (0, False)
    assert utcnow() - parse_iso(status["credentials_set_at"]) < timedelta(minutes=1)


def test_an_integration_made_before_the_age_was_kept_counts_from_its_creation(
    call_api: ApiCaller, github: FakeGitHub
) -> None:
    created = create(call_api, github_body(github))
    integration_store().update(created["id"], {}, remove=("credentials_set_at",))

    status = call_api("GET", f"/integrations/{created['id']}/status").json()

    assert status["credentials_set_at"] == created["created_at"]


def test_status_reads_the_worker_fields_and_the_last_24_hours_of_events(
    call_api: ApiCaller, github: FakeGitHub
) -> None:
    integration_id = create(call_api, github_body(github))["id"]
    now = utcnow().replace(microsecond=0)
    store = integration_store()
    store.update(
        integration_id,
        {
            "status": "active",
            "last_sync": LastSync(
                started_at=now - timedelta(minutes=5), finished_at=now, outcome="success", records=12, api_calls=3
            ).model_dump(mode="json"),
            "last_success_at": iso(now),
            "last_error": LastError(at=now - timedelta(hours=2), kind="rate_limit", message="slow down").model_dump(
                mode="json"
            ),
            "next_sync_at": iso(now + timedelta(hours=1)),
            "newest_data_at": iso(now - timedelta(minutes=30)),
            "api_quota": {"limit": 5000, "remaining": 4990, "reset_at": "2026-01-01T00:00:00Z"},
            "api_response_ms": "120.5",
            "webhook_connected_at": iso(now - timedelta(days=3)),
            "last_webhook_at": iso(now - timedelta(minutes=1)),
        },
    )
    for outcome in ("success", "success", "failed", "rate_limited", "partial"):
        store.add_event(integration_id, "job", now - timedelta(hours=1), outcome=outcome)
    store.add_event(integration_id, "job", now - timedelta(hours=30), outcome="failed")  # too old
    for outcome in ("accepted", "accepted", "rejected"):
        store.add_event(integration_id, "webhook", now - timedelta(minutes=10), outcome=outcome)

    status = call_api("GET", f"/integrations/{integration_id}/status").json()

    assert status["status"] == "active"
    assert status["last_sync"]["outcome"] == "success"
    assert status["last_sync"]["records"] == 12
    assert status["last_error"] == {
        "at": iso(now - timedelta(hours=2))[:19] + "Z",
        "kind": "rate_limit",
        "message": "slow down",
    }
    assert status["error_rate_24h"] == 0.2
    assert 1800 <= status["data_freshness_seconds"] < 1800 + 60
    assert status["api_quota"]["remaining"] == 4990
    assert status["api_response_ms"] == 120.5
    assert status["webhooks"]["connected"] is True
    assert status["webhooks"]["received_24h"] == 3
    assert status["webhooks"]["rejected_24h"] == 1
    assert status["next_sync_at"] == iso(now + timedelta(hours=1))[:19] + "Z"


# ---------------------------------------------------------------- manual sync
def test_manual_syncs_are_coalesced_while_one_is_queued(
    call_api: ApiCaller, github: FakeGitHub, sqs_jobs: Callable[[], list[dict[str, Any]]]
) -> None:
    integration_id = create(call_api, github_body(github))["id"]
    assert len(sqs_jobs()) == 1

    # While the creation's job is still queued, a trigger joins it
    reply = call_api("POST", f"/integrations/{integration_id}/sync")
    assert reply.status == 202
    assert reply.json() == {"queued": True, "coalesced": True}
    assert sqs_jobs() == []

    # Once that job ran (its queued mark is gone), a trigger queues a new one, once
    integration_store().reset_sync_state(integration_id)
    first = call_api("POST", f"/integrations/{integration_id}/sync").json()
    second = call_api("POST", f"/integrations/{integration_id}/sync").json()
    assert first == {"queued": True, "coalesced": False}
    assert second == {"queued": True, "coalesced": True}
    (job,) = sqs_jobs()
    assert job["integration_id"] == integration_id
    assert job["reason"] == "manual"


def test_a_running_sync_coalesces_a_trigger(call_api: ApiCaller, github: FakeGitHub) -> None:
    integration_id = create(call_api, github_body(github))["id"]
    store = integration_store()
    assert store.acquire_lease(integration_id, "worker", utcnow(), ttl=timedelta(minutes=5))
    assert call_api("POST", f"/integrations/{integration_id}/sync").json()["coalesced"] is True


# ---------------------------------------------------------------- secrets never leak
def test_no_credential_reaches_dynamodb_a_response_or_the_logs(
    call_api: ApiCaller,
    aws: Resources,
    github: FakeGitHub,
    jira: FakeJira,
    trello: FakeTrello,
    sqs_jobs: Callable[[], list[dict[str, Any]]],
    log_text: Callable[[], str],
) -> None:
    replies: list[Reply] = []

    def call(*args: Any, **kwargs: Any) -> Reply:
        reply = call_api(*args, **kwargs)
        replies.append(reply)
        return reply

    # Given three integrations, and one of each kind of failed attempt
    ids = [
        call("POST", "/integrations", "team_a", github_body(github)).json()["id"],
        call("POST", "/integrations", "team_a", {"type": "jira", "config": jira.config(board_id=7)}).json()["id"],
        call("POST", "/integrations", "team_a", {"type": "trello", "config": trello.config()}).json()["id"],
    ]
    refused = ["ghp_refused_token_555", "jira-refused-token-555", "trellorefusedtoken555"]
    call("POST", "/integrations", "team_a", github_body(github, token=refused[0]))
    call("POST", "/integrations", "team_a", {"type": "jira", "config": jira.config(api_token=refused[1])})
    call("POST", "/integrations", "team_a", {"type": "trello", "config": trello.config(api_token=refused[2])})
    trello.fail_next(500, times=3)
    call("POST", "/integrations", "team_a", {"type": "trello", "config": trello.config()})
    # When every read and write route is used
    github.token = "ghp_rotated_token_777"
    call("PATCH", f"/integrations/{ids[0]}", "team_a", {"config": {"token": github.token}})
    call("PATCH", f"/integrations/{ids[0]}", "team_a", {"config": {"token": "ghp_refused_patch_888"}})
    call("POST", f"/integrations/{ids[0]}/webhook-secret")
    for integration_id in ids:
        call("GET", f"/integrations/{integration_id}")
        call("GET", f"/integrations/{integration_id}/status")
        call("POST", f"/integrations/{integration_id}/sync")
    call("GET", "/integrations")

    # Then no credential is in DynamoDB, any answer, any job or any log line
    credentials = [
        github.token,
        fake_trello.API_SECRET,
        "ghp_fake0123456789",
        "ghp_refused_patch_888",
        jira.api_token,
        trello.api_key,
        trello.api_token,
        *refused,
    ]
    stored = all_dynamo_items(aws)
    answered = "\n".join(r.text for r in replies)
    jobs = json.dumps(sqs_jobs())
    logged = log_text()
    assert "integration created" in logged  # the capture works: the service's lines,
    assert "/1/members/me" in logged  # and httpx's request lines, whose URLs carry Trello's key and token
    for credential in credentials:
        assert credential not in stored
        assert credential not in answered
        assert credential not in jobs
        assert credential not in logged


# ---------------------------------------------------------------- OpenAPI
def test_the_openapi_document_describes_every_route_and_model(call_api: ApiCaller) -> None:
    document = call_api("GET", "/openapi.json", None).json()
    paths = document["paths"]
    expected = {
        "/integrations": {"get": "200", "post": "201"},
        "/integrations/{integration_id}": {"get": "200", "patch": "200", "delete": "204"},
        "/integrations/{integration_id}/webhook-secret": {"post": "200"},
        "/integrations/{integration_id}/status": {"get": "200"},
        "/integrations/{integration_id}/sync": {"post": "202"},
    }
    for path, methods in expected.items():
        for method, success in methods.items():
            operation = paths[path][method]
            assert success in operation["responses"], (path, method)
            for code, shape in (("401", "GatewayError"), ("422", "ErrorResponse")):
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": f"#/components/schemas/{shape}"}
    create_op = paths["/integrations"]["post"]
    assert create_op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/NewIntegration")
    assert create_op["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/IntegrationView")
    limit = next(p for p in paths["/integrations"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"], limit["schema"]["default"]) == (1, 100, 50)
    schemas = document["components"]["schemas"]
    for model in (
        "NewIntegration",
        "UpdateIntegration",
        "GitHubConfig",
        "JiraConfig",
        "TrelloConfig",
        "IntegrationView",
        "IntegrationList",
        "WebhookInfo",
        "IntegrationStatusView",
        "WebhookHealth",
        "WebhookSecret",
        "SyncQueued",
        "ErrorResponse",
        "GatewayError",
    ):
        assert model in schemas, model
    variants = {r["$ref"].rsplit("/", 1)[1] for r in schemas["NewIntegration"]["oneOf"]}
    assert variants == {"NewGitHubIntegration", "NewJiraIntegration", "NewTrelloIntegration"}
    config_refs = {schemas[v]["properties"]["config"]["$ref"].rsplit("/", 1)[1] for v in variants}
    assert config_refs == {"GitHubConfig", "JiraConfig", "TrelloConfig"}
