"""Credential validation keeps one deadline over all its provider requests and retries, enforced by the
shared provider HTTP client: a server that trickles bytes (each byte restarting httpx's read timeout) is
cut off by it, as a 502-class ``ProviderTimeout``."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from agiletrack.adapters.providers.http import ProviderHttp
from agiletrack.errors import ProviderTimeout
from agiletrack.settings import get_settings
from devstack.template import Resources
from tests.fakes.github import FakeGitHub
from tests.fakes.trickle import TrickleServer
from tests.integration.conftest import ApiCaller

DEADLINE = 1.5
SLACK = 2.5
"""Not a speed assertion: without the deadline the trickle lasts 15 s per attempt."""


@pytest.fixture
def trickle() -> Iterator[TrickleServer]:
    with TrickleServer(interval=0.5, give_up_after=15.0) as server:
        yield server


def test_the_client_deadline_cuts_off_a_trickling_server(trickle: TrickleServer) -> None:
    started = time.monotonic()
    with (
        ProviderHttp(
            trickle.url, timeout=5.0, transient_retries=3, backoff_base=0.01, deadline=started + DEADLINE
        ) as http,
        pytest.raises(ProviderTimeout) as timed_out,
    ):
        http.get("/repos/octo-org/octo-repo")

    assert timed_out.value.status == 502
    assert time.monotonic() - started < DEADLINE + SLACK


def test_validation_over_the_api_ends_at_its_deadline_with_a_502(
    call_api: ApiCaller, aws: Resources, trickle: TrickleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a validation deadline of 1.5 s and a "GitHub" that trickles its answer
    monkeypatch.setenv("VALIDATION_DEADLINE_SECONDS", str(DEADLINE))
    get_settings.cache_clear()
    from agiletrack import wiring

    wiring.reset()
    with FakeGitHub() as github:
        config = github.config(api_url=trickle.url).model_dump(mode="json")

    # When a team connects it
    started = time.monotonic()
    reply = call_api("POST", "/integrations", "team_a", {"type": "github", "config": config})

    # Then the answer is a 502 at the deadline, and nothing is stored
    assert reply.status == 502, reply.text
    assert reply.json()["error"]["code"] == "provider_timeout"
    assert time.monotonic() - started < DEADLINE + SLACK
    assert call_api("GET", "/integrations").json()["items"] == []
