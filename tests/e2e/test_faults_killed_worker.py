"""A sync worker killed for real (SIGKILL) in the middle of a page, then the next run in a fresh process.

moto's server runs in a process of its own (``MotoProcess``) with the template's tables and queues; the fake GitHub
runs in this process; each worker is ``tests/e2e/sync_worker_process.py`` in a new Python process, as a Lambda
sandbox. The first worker is killed 50 ms after GitHub served it the second page of pull requests: while it reads and
stores that page, before its cursor moves. Its message comes back (here at once, as after the queue's visibility
timeout) to a fresh worker, which takes the lease again (the same message is the lease's owner), resumes from the
stored cursor and ends with exactly what GitHub holds, each record once, as an uninterrupted sync of the same data.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from agiletrack.adapters.aws.integrations import integration_store
from agiletrack.adapters.aws.queues import queues
from agiletrack.adapters.aws.records import record_store
from agiletrack.adapters.aws.secrets import secret_store
from agiletrack.domain.jobs import SyncJob
from agiletrack.models.common import new_id, utcnow
from agiletrack.models.integrations import Integration
from devstack.lambda_runtime import clear_agiletrack_caches
from devstack.moto_server import MotoProcess
from devstack.template import DEFAULT_REGION, Resources, create_resources, load_template, stack_environment
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("pull_request", "commit", "issue")
WORKER_TIMEOUT_S = 60


@dataclass
class Stack:
    resources: Resources
    logs: Path


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Stack]:
    """moto's server with the template's resources, and this process's environment pointed at it (inherited by
    the worker processes)."""
    moto = MotoProcess(log_path=tmp_path / "moto.log")
    moto.start()
    try:
        unset = (
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "AWS_ENDPOINT_URL_SQS",
        )
        for name in unset:
            monkeypatch.delenv(name, raising=False)
        aws = {
            "AWS_ENDPOINT_URL": moto.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": DEFAULT_REGION,
            "AWS_REGION": DEFAULT_REGION,
            "ALLOW_PRIVATE_PROVIDER_URLS": "true",
            "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("layers/agiletrack", "functions", "tools", ".")),
        }
        for name, value in aws.items():
            monkeypatch.setenv(name, value)
        template = load_template()
        resources = create_resources(boto3.Session(region_name=DEFAULT_REGION), template=template)
        for name, value in stack_environment(template, resources).items():
            monkeypatch.setenv(name, value)
        clear_agiletrack_caches()
        yield Stack(resources, tmp_path)
    finally:
        clear_agiletrack_caches()
        moto.stop()


def github_integration(github: FakeGitHub) -> Integration:
    integration_id = new_id("int")
    config = github.config().model_dump(mode="json")
    name = secret_store().name_for(integration_id)
    secret_store().create(name, {"credentials": {"token": config.pop("token")}, "webhook_secret": "s3cret"})
    now = utcnow()
    integration = Integration(
        id=integration_id,
        team_id="team_a",
        type="github",
        name="github",
        config=config,
        credential_fields=["token"],
        secret_name=name,
        created_at=now,
        updated_at=now,
    )
    integration_store().create(integration)
    queues().send_sync_job(SyncJob.new(integration_id, "created").body())
    return integration


def start_worker(stack: Stack, name: str) -> subprocess.Popen[str]:
    with (stack.logs / f"{name}.log").open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.sync_worker_process", stack.resources.queues["SyncQueue"]],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )


def lines_of(worker: subprocess.Popen[str]) -> list[dict[str, Any]]:
    assert worker.stdout is not None
    return [json.loads(line) for line in worker.stdout.read().splitlines() if line.startswith("{")]


def run_worker(stack: Stack, name: str) -> list[dict[str, Any]]:
    worker = start_worker(stack, name)
    worker.wait(WORKER_TIMEOUT_S)
    lines = lines_of(worker)
    assert worker.returncode == 0, (stack.logs / f"{name}.log").read_text()[-3000:]
    return lines


def stored(integration: Integration) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        records = list(record_store().updated_since(integration.id, kind, None))
        assert len({r.id for r in records}) == len(records)
        out[kind] = {r.id: r.model_dump(mode="json") for r in records}
    return out


def truth(github: FakeGitHub) -> dict[str, set[str]]:
    return {
        "pull_request": {str(n) for n in github.pull_requests},
        "commit": {c.oid for c in github.branches[github.default_branch]},
        "issue": {str(n) for n in github.issues},
    }


def test_a_worker_killed_mid_page_is_resumed_by_a_fresh_process_and_ends_equal(stack: Stack) -> None:
    with FakeGitHub.synthetic(prs=150, commits=20, issues=10, seed=3) as github:
        # Given a first sync queued, and a worker process that GitHub's second page of pull requests kills
        integration = github_integration(github)
        worker = start_worker(stack, "killed")
        pages = {"n": 0}

        def kill_on_the_second_page(path: str, _count: int) -> None:
            if path.startswith("/graphql"):
                pages["n"] += 1
                if pages["n"] == 2:
                    threading.Timer(0.05, os.kill, (worker.pid, signal.SIGKILL)).start()

        github.faults.served = kill_on_the_second_page
        worker.wait(WORKER_TIMEOUT_S)
        assert worker.returncode == -signal.SIGKILL
        (received,) = lines_of(worker)  # it died before saying it was done
        github.faults.served = None
        # what it stored is the first page and perhaps part of the second, not all
        assert 0 < len(stored(integration)["pull_request"]) < 150
        calls_before = len(github.calls.log)

        # When its message comes back (its visibility timeout, cut to now) to a fresh worker process
        boto3.client("sqs").change_message_visibility(
            QueueUrl=stack.resources.queue_urls["SyncQueue"], ReceiptHandle=received["receipt"], VisibilityTimeout=0
        )
        lines = run_worker(stack, "resumed")

        # Then it ran the same message, resumed after the last page stored (not from the first), and succeeded
        assert lines[0]["received"] == received["received"]
        assert lines[-1] == {"done": received["received"], "failed": False}
        resumed = [c for c in github.calls.log[calls_before:] if c.get("operation") == "PullRequests"]
        assert resumed and resumed[0]["variables"]["after"] is not None
        after = integration_store().get(integration.id)
        assert after is not None and after.status == "active"
        # and what is stored is what GitHub holds, each once
        kept = stored(integration)
        assert {kind: set(records) for kind, records in kept.items()} == truth(github)

        # and equals what an uninterrupted sync of the same data stores
        clean = github_integration(github)
        run_worker(stack, "clean")
        assert kept == stored(clean)
