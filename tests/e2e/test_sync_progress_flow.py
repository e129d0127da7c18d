"""Sync progress, the sync runs and ``agiletrack integrations sync --wait`` over the local stack: a first sync of
a repository big enough for several pages, against a ``FakeGitHub`` that answers slowly enough to be watched."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Api, LocalStack, create_team, run_cli, status_of, wait_for
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.e2e

SYNC_TIMEOUT = 90.0


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    # 160 pull requests: four pages of 50; 250 ms an answer, so the first sync takes a few seconds.
    with FakeGitHub.synthetic(prs=160, commits=150, issues=40, seed=11, latency_ms=250) as fake:
        yield fake


@pytest.fixture(scope="module")
def team_api(local_stack: LocalStack) -> Iterator[tuple[Api, str]]:
    team = create_team(local_stack, f"progress-{uuid.uuid4().hex[:6]}")
    client = Api(local_stack, team.token)
    yield client, team.token
    client.close()


def test_a_first_sync_shows_its_progress_then_its_run(
    local_stack: LocalStack, team_api: tuple[Api, str], github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, token = team_api
    config = {"repository": github.repository, "token": github.token, "branch": "main", "api_url": github.api_url}
    created = api.post("/integrations", json={"type": "github", "config": config})
    assert created.status_code == 201, created.text
    integration_id = created.json()["id"]

    # While the first sync (queued by the creation) runs, the status shows where it is
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + SYNC_TIMEOUT
    while time.monotonic() < deadline:
        status = status_of(api, integration_id)
        if status["progress"] is not None:
            seen.append(status["progress"])
        if status["status"] in ("active", "failed", "error"):
            break
        time.sleep(0.1)
    assert status["status"] == "active", (status, local_stack.logs()[-4000:])
    assert status["progress"] is None
    measured = [p for p in seen if p["phase"] is not None]
    assert measured, seen
    assert all(p["first_sync"] for p in measured)
    assert [p["pages"] for p in measured] == sorted(p["pages"] for p in measured)
    assert {p["phase"] for p in measured} <= {"pull_requests", "commits", "issues"}
    assert all(p["percent"] is None or 0 <= p["percent"] <= 100 for p in measured)
    assert any(p["percent"] is not None and p["percent"] > 0 for p in measured), measured

    # and the run is listed with what it received (written just after the status, so maybe a moment later)
    (run,) = wait_for(
        lambda: api.get(f"/integrations/{integration_id}/syncs").json()["items"], 10, "the run", local_stack.logs
    )
    assert (run["outcome"], run["reason"]) == ("success", "created")
    assert run["records_written"] == 160 + 150 + 40
    assert run["bytes_received"] > 0 and run["peak_memory_mb"] > 0
    assert run["api_calls"] == status["last_sync"]["api_calls"]

    # When a sync is triggered from the command line and waited for
    monkeypatch.setenv("AGILETRACK_API", local_stack.api_url)
    monkeypatch.setenv("AGILETRACK_TOKEN", token)
    result = run_cli(local_stack, "integrations", "sync", integration_id, "--wait", "--interval", "0.2")

    # Then it ends with the sync's figures, and the second run is listed first
    assert result.returncode == 0, (result.stdout, result.stderr, local_stack.logs()[-3000:])
    assert result.stdout.splitlines()[-1].startswith(f"Sync of {integration_id} done:")
    runs = wait_for(
        lambda: (
            (items := api.get(f"/integrations/{integration_id}/syncs").json()["items"]) and len(items) == 2 and items
        ),
        10,
        "the second run",
        local_stack.logs,
    )
    assert [r["reason"] for r in runs] == ["manual", "created"]
    assert os.environ["AGILETRACK_TOKEN"] not in result.stdout + result.stderr
