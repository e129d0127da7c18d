"""``python -m devstack`` end to end: health, the authorizer, the demo team, restarts, Ctrl-C."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import boto3
import httpx
import pytest

pytestmark = pytest.mark.e2e


def _get(stack: Any, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(stack.api_url + path, headers=headers, timeout=30)


def test_health_needs_no_token(local_stack: Any) -> None:
    response = _get(local_stack, "/health")
    assert response.status_code == 200, local_stack.logs()
    assert response.json() == {"status": "ok"}


def test_docs_and_the_openapi_document_need_no_token(local_stack: Any) -> None:
    docs = _get(local_stack, "/docs")
    assert docs.status_code == 200, local_stack.logs()
    assert docs.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle(" in docs.text
    document = _get(local_stack, "/openapi.json")
    assert document.status_code == 200
    assert "security" not in document.json()["paths"]["/health"]["get"]


def test_teams_me_without_a_token_is_401(local_stack: Any) -> None:
    response = _get(local_stack, "/teams/me")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_teams_me_with_a_wrong_token_is_401(local_stack: Any) -> None:
    response = _get(local_stack, "/teams/me", "at_not-a-real-token")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_teams_me_with_the_demo_token(local_stack: Any) -> None:
    response = _get(local_stack, "/teams/me", local_stack.token)
    assert response.status_code == 200, local_stack.logs()
    assert response.json()["name"] == "demo"


def test_unknown_route_is_404(local_stack: Any) -> None:
    response = httpx.post(local_stack.api_url + "/", timeout=30)  # only GET / is routed (the dashboard)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_dev_env_has_the_printed_lines(local_stack: Any) -> None:
    text = (local_stack.state_dir / "dev.env").read_text()
    assert text.splitlines() == [f"AGILETRACK_API={local_stack.api_url}", f"AGILETRACK_TOKEN={local_stack.token}"]


def test_restart_reuses_the_saved_token_while_it_works(local_stack_factory: Any) -> None:
    """Against the same AWS endpoint (the team survives), a restart keeps the token; without it, a new one."""
    first = local_stack_factory("first")
    endpoint = ("--aws-endpoint", first.aws_endpoint, "--sqs-endpoint", first.sqs_endpoint)
    second = local_stack_factory("second", *endpoint, state_dir=first.state_dir)
    assert second.stop() == 0
    assert second.token == first.token

    (first.state_dir / "dev.env").unlink()
    third = local_stack_factory("third", *endpoint, state_dir=first.state_dir)
    assert third.stop() == 0
    assert third.token != first.token
    assert _get(first, "/teams/me", third.token).json()["name"] == "demo"
    assert _get(first, "/teams/me", first.token).status_code == 401


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_it_within_5_seconds(local_stack_factory: Any, signum: signal.Signals) -> None:
    stack = local_stack_factory("stack")
    assert _get(stack, "/health").status_code == 200
    started = time.monotonic()
    stack.process.send_signal(signum)
    assert stack.process.wait(5) == 0
    assert time.monotonic() - started < 5
    with pytest.raises(httpx.TransportError):
        _get(stack, "/health")


def test_sqs_runs_in_an_emulator_of_its_own(local_stack: Any) -> None:
    """As on AWS, SQS is not the service DynamoDB is: the queues live only in the SQS emulator's process."""
    assert local_stack.sqs_endpoint != local_stack.aws_endpoint

    def client(service: str, endpoint: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    queues = client("sqs", local_stack.sqs_endpoint).list_queues().get("QueueUrls", [])
    assert any(url.endswith("/agiletrack-local-WebhookQueue") for url in queues)
    assert client("sqs", local_stack.aws_endpoint).list_queues().get("QueueUrls", []) == []
    assert client("dynamodb", local_stack.aws_endpoint).list_tables()["TableNames"]
    assert client("dynamodb", local_stack.sqs_endpoint).list_tables()["TableNames"] == []


def test_queued_jobs_reach_their_function(local_stack: Any) -> None:
    """A sync job for an integration that does not exist is consumed and deleted by the sync worker."""
    sqs = boto3.client(
        "sqs",
        endpoint_url=local_stack.sqs_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    url = sqs.get_queue_url(QueueName="agiletrack-local-SyncQueue")["QueueUrl"]
    job = {"integration_id": "int_missing", "reason": "manual", "requested_at": "2026-01-01T00:00:00Z"}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(job))
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if all(counts[name] == "0" for name in names):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the job was not consumed: {counts}\n{local_stack.logs()}")
    assert "SyncWorkerFunction <- SyncQueue: 1 message(s), 0 failed" in local_stack.logs()
