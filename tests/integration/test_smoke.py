"""Smoke test: every ``Handler:`` of template.yaml imports, and every sample event in ``events/`` runs through
the function it belongs to (by file name prefix) in-process, against moto, with the answer that event
should get. Nothing answers 500 and nothing raises, except the authorizer's deliberate ``Unauthorized``.

These are the same files ``sam local invoke -e events/<file>`` takes.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.api_gateway import lambda_response, match_route
from devstack.lambda_runtime import LambdaContext, load_handler
from devstack.template import FunctionSpec, Resources, functions, http_api, load_template
from tests.fakes.github import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"

PREFIXES = {
    # file name prefix -> logical id of the function the event is for (longest prefix wins)
    "api_": "ApiFunction",
    "authorizer_": "AuthorizerFunction",
    "webhook_": "WebhooksFunction",
    "sqs_sync_": "SyncWorkerFunction",
    "sqs_webhook_": "EventProcessorFunction",
    "schedule": "SchedulerFunction",
}


def specs() -> dict[str, FunctionSpec]:
    return {spec.logical_id: spec for spec in functions(load_template())}


def function_for(event_file: Path) -> str:
    matches = [prefix for prefix in PREFIXES if event_file.name.startswith(prefix)]
    assert matches, f"{event_file.name}: no function for this file name; add its prefix to PREFIXES"
    return PREFIXES[max(matches, key=len)]


def event_files() -> list[Path]:
    return sorted(EVENTS.glob("*.json"))


def context_for(spec: FunctionSpec) -> LambdaContext:
    return LambdaContext(
        function_name=f"agiletrack-smoke-{spec.logical_id}",
        memory_limit_in_mb=spec.memory_size,
        timeout_seconds=spec.timeout,
    )


def http_answer(result: Any) -> tuple[int, Any]:
    response = lambda_response(result)
    assert response.status != 500, response.body
    body = json.loads(response.body) if response.body else None
    return response.status, body


# ---------------------------------------------------------------- the checks of each event
@pytest.fixture
def github_for_sample() -> Iterator[FakeGitHub]:
    """A fake GitHub serving the sample's repository and accepting its token, so that creating the
    integration of ``api_create_integration.json`` validates without the network."""
    sample = json.loads(json.loads((EVENTS / "api_create_integration.json").read_text())["body"])
    owner, name = sample["config"]["repository"].split("/")
    with FakeGitHub(owner=owner, name=name, token=sample["config"]["token"]) as fake:
        yield fake


Check = Callable[[Callable[[Any, Any], Any], dict[str, Any], LambdaContext, Any], None]


def check_health(handler: Any, event: dict[str, Any], context: LambdaContext, _fake: Any) -> None:
    assert http_answer(handler(event, context)) == (200, {"status": "ok"})


def check_teams_me(handler: Any, event: dict[str, Any], context: LambdaContext, _fake: Any) -> None:
    team = event["requestContext"]["authorizer"]["lambda"]
    assert http_answer(handler(event, context)) == (200, {"id": team["team_id"], "name": team["team_name"]})


def check_create_integration(handler: Any, event: dict[str, Any], context: LambdaContext, github: FakeGitHub) -> None:
    # The sample names api.github.com; the smoke test points it at the fake (no network in tests).
    body = json.loads(event["body"])
    body["config"]["api_url"] = github.api_url
    event["body"] = json.dumps(body)
    status, created = http_answer(handler(event, context))
    assert status == 201, created
    assert created["type"] == "github"
    assert created["team_id"] == event["requestContext"]["authorizer"]["lambda"]["team_id"]
    assert created["config"]["repository"] == body["config"]["repository"]
    assert created["config"]["token"] != body["config"]["token"]  # masked
    assert created["webhook"]["url"].endswith(f"/webhooks/github/{created['id']}")


def check_authorizer(handler: Any, event: dict[str, Any], context: LambdaContext, _fake: Any) -> None:
    # No team holds the sample's token: API Gateway needs exactly "Unauthorized" to answer 401.
    with pytest.raises(Exception) as raised:
        handler(event, context)
    assert str(raised.value) == "Unauthorized"


def check_webhook_unknown_integration(handler: Any, event: dict[str, Any], context: LambdaContext, _: Any) -> None:
    status, body = http_answer(handler(event, context))
    assert status == 404
    assert body is None or body["error"]["code"] == "not_found"


def check_webhook_gone_integration(handler: Any, event: dict[str, Any], context: LambdaContext, _: Any) -> None:
    # Trello registers its webhooks: a URL of an integration that does not exist is 410, so Trello drops it.
    status, body = http_answer(handler(event, context))
    assert status == 410
    assert body is None or body["error"]["code"] == "gone"


def check_sqs_batch(handler: Any, event: dict[str, Any], context: LambdaContext, _fake: Any) -> None:
    # The sample's integration does not exist here: the job or delivery is dropped, not failed.
    assert handler(event, context) == {"batchItemFailures": []}


def check_schedule(handler: Any, event: dict[str, Any], context: LambdaContext, _fake: Any) -> None:
    report = handler(event, context)
    assert report == {"seen": 0, "queued": 0, "skipped_failed": 0, "send_failures": 0, "cleanups": 0}


CHECKS: dict[str, Check] = {
    "api_health.json": check_health,
    "api_teams_me.json": check_teams_me,
    "api_create_integration.json": check_create_integration,
    "authorizer_request.json": check_authorizer,
    "webhook_github_ping.json": check_webhook_unknown_integration,
    "webhook_head.json": check_webhook_gone_integration,
    "sqs_sync_job.json": check_sqs_batch,
    "sqs_webhook_delivery.json": check_sqs_batch,
    "schedule.json": check_schedule,
}


# ---------------------------------------------------------------- tests
def test_every_handler_of_the_template_imports() -> None:
    found = specs()
    assert set(found) >= set(PREFIXES.values())
    for spec in found.values():
        assert callable(load_handler(spec)), spec.logical_id


def test_every_event_file_has_a_check_and_every_function_a_sample_event() -> None:
    files = event_files()
    assert {f.name for f in files} == set(CHECKS)
    assert {function_for(f) for f in files} == set(specs())


@pytest.mark.parametrize(
    "http_file",
    [f for f in event_files() if function_for(f) in {"ApiFunction", "WebhooksFunction"}],
    ids=lambda f: f.name,
)
def test_http_events_match_a_route_of_the_template(http_file: Path) -> None:
    event = json.loads(http_file.read_text())
    matched = match_route(http_api(load_template()).routes, event["requestContext"]["http"]["method"], event["rawPath"])
    assert matched is not None, f"{http_file.name}: no route of the template takes it"
    route, params = matched
    assert route.function == function_for(http_file)
    assert event["routeKey"] == event["requestContext"]["routeKey"] == route.route_key
    assert event.get("pathParameters", {}) == params


@pytest.mark.parametrize("sqs_file", [f for f in event_files() if f.name.startswith("sqs_")], ids=lambda f: f.name)
def test_sqs_events_come_from_the_functions_queue(sqs_file: Path) -> None:
    (source,) = specs()[function_for(sqs_file)].sqs_sources
    records = json.loads(sqs_file.read_text())["Records"]
    assert 1 <= len(records) <= source.batch_size
    for record in records:
        queue_name = record["eventSourceARN"].rsplit(":", 1)[1]
        assert f"-{source.queue}-" in queue_name, (queue_name, source.queue)
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()


@pytest.mark.parametrize("event_file", event_files(), ids=lambda f: f.name)
def test_sample_event_runs_through_its_handler(event_file: Path, aws: Resources, github_for_sample: FakeGitHub) -> None:
    # Given the function the file belongs to, as template.yaml declares it
    spec = specs()[function_for(event_file)]
    handler = load_handler(spec)
    event = copy.deepcopy(json.loads(event_file.read_text()))

    # When it runs on the event, Then it answers as that event should be answered
    CHECKS[event_file.name](handler, event, context_for(spec), github_for_sample)
