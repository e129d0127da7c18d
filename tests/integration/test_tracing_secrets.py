"""Nothing secret reaches X-Ray (issue 8, item 2): the create and webhook-secret rotation routes run through
the real API handler with a recording tracer provider on the real Powertools Tracer, and no secret value
is in anything handed to the tracer (metadata or annotations)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from agiletrack.observability import tracer
from devstack.template import Resources
from tests.fakes.github import FakeGitHub
from tests.integration.conftest import ApiCaller


class RecordingSubsegment:
    def __init__(self, name: str, log: list[tuple[str, str, Any]]) -> None:
        self.name = name
        self.log = log

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.log.append(("metadata", key, value))

    def put_annotation(self, key: str, value: Any) -> None:
        self.log.append(("annotation", key, value))


class RecordingProvider:
    """A tracer provider that keeps whatever the Tracer hands it."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, Any]] = []
        self.subsegments: list[str] = []

    @contextlib.contextmanager
    def in_subsegment(self, name: str, **_: Any) -> Iterator[RecordingSubsegment]:
        self.subsegments.append(name)
        yield RecordingSubsegment(name, self.log)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.log.append(("metadata", key, value))

    def put_annotation(self, key: str, value: Any) -> None:
        self.log.append(("annotation", key, value))

    def text(self) -> str:
        return json.dumps(self.log, default=repr)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> RecordingProvider:
    provider = RecordingProvider()
    monkeypatch.setattr(tracer, "provider", provider)
    return provider


def test_create_and_rotate_hand_no_secret_to_the_tracer(
    aws: Resources, call_api: ApiCaller, recorder: RecordingProvider
) -> None:
    with FakeGitHub() as github:
        config = github.config().model_dump(mode="json")
        created = call_api("POST", "/integrations", "team_a", {"type": "github", "config": config})
    assert created.status == 201, created.text
    integration = created.json()
    first_secret = integration["webhook"]["secret"]
    rotated = call_api("POST", f"/integrations/{integration['id']}/webhook-secret")
    assert rotated.status == 200, rotated.text
    second_secret = rotated.json()["secret"]

    # The handler ran under the recording provider (so the check below can fail)
    assert recorder.subsegments.count("## handler") == 2
    assert recorder.log, "the tracer recorded nothing at all"
    recorded = recorder.text()
    for secret in (first_secret, second_secret, config["token"]):
        assert secret and secret not in recorded


def test_an_error_answer_hands_no_request_data_to_the_tracer(
    aws: Resources, call_api: ApiCaller, recorder: RecordingProvider
) -> None:
    marker = "ghp_do_not_trace_me_0123456789"
    reply = call_api("POST", "/integrations", "team_a", {"type": "github", "config": {"token": marker}})
    assert 400 <= reply.status < 500
    assert recorder.subsegments == ["## handler"]
    assert marker not in recorder.text()
