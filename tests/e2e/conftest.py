"""The local stack as a subprocess (``python -m devstack``), shared by the e2e tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from agiletrack.settings import Settings
from devstack.moto_server import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
REGION = "us-east-1"


@dataclass
class LocalStack:
    """A running ``python -m devstack``: where its API and AWS emulators listen (SQS's apart, as it prints),
    and the demo token."""

    api_url: str
    token: str
    aws_endpoint: str
    state_dir: Path
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    sqs_endpoint: str = ""

    def logs(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGINT, then wait up to ``timeout`` seconds (killed after that, and the wait error raised)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def start_local_stack(
    workdir: Path, *extra_args: str, state_dir: Path | None = None, env: Mapping[str, str] | None = None
) -> LocalStack:
    """Start ``python -m devstack`` on free ports and wait (60 s at most) for the two lines it prints;
    ``env`` adds to (or overrides) this process's environment for the stack (``SSL_CERT_FILE``, ``TZ``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    api_port, aws_port, sqs_port = free_port(), free_port(), free_port()
    state = state_dir or workdir / "state"
    stdout, stderr = workdir / "stdout.log", workdir / "stderr.log"
    environment = {**os.environ, **(env or {})}
    paths = [str(REPO_ROOT / "tools"), str(REPO_ROOT / "layers" / "agiletrack")]
    inherited = [environment["PYTHONPATH"]] if environment.get("PYTHONPATH") else []
    environment["PYTHONPATH"] = os.pathsep.join(paths + inherited)
    environment["PYTHONUNBUFFERED"] = "1"
    command = [sys.executable, "-m", "devstack", "--port", str(api_port), "--aws-port", str(aws_port)]
    command += ["--sqs-port", str(sqs_port)]
    command += ["--state-dir", str(state), *extra_args]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=environment, stdout=out, stderr=err)
    stack = LocalStack("", "", f"http://127.0.0.1:{aws_port}", state, process, stdout, stderr)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        lines = stdout.read_text(errors="replace").splitlines()
        printed = ("AGILETRACK_", "AWS_ENDPOINT_URL")
        values = dict(line.split("=", 1) for line in lines if line.startswith(printed) and "=" in line)
        if "AGILETRACK_API" in values and "AGILETRACK_TOKEN" in values:
            stack.api_url, stack.token = values["AGILETRACK_API"], values["AGILETRACK_TOKEN"]
            stack.aws_endpoint = values.get("AWS_ENDPOINT_URL", stack.aws_endpoint)
            stack.sqs_endpoint = values.get("AWS_ENDPOINT_URL_SQS", stack.aws_endpoint)
            return stack
        if process.poll() is not None:
            pytest.fail(f"the local stack exited with {process.returncode}:\n{stack.logs()}")
        time.sleep(0.1)
    process.kill()
    process.wait()
    pytest.fail(f"the local stack printed no AGILETRACK_API/AGILETRACK_TOKEN in {START_TIMEOUT:.0f} s:\n{stack.logs()}")


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """One local stack for the whole session (api_url, token, aws_endpoint)."""
    stack = start_local_stack(tmp_path_factory.mktemp("local-stack"))
    try:
        yield stack
    finally:
        stack.stop()


StackFactory = Callable[..., LocalStack]


@pytest.fixture
def local_stack_factory(tmp_path: Path) -> Iterator[StackFactory]:
    """Start extra stacks: ``factory(name, *args, state_dir=None)``; they are stopped after the test."""
    started: list[LocalStack] = []

    def factory(name: str, *extra_args: str, state_dir: Path | None = None) -> LocalStack:
        stack = start_local_stack(tmp_path / name, *extra_args, state_dir=state_dir)
        started.append(stack)
        return stack

    yield factory
    for stack in reversed(started):
        if stack.process.poll() is None:
            stack.stop()


# ---------------------------------------------------------------- helpers shared by the e2e flows


@dataclass
class Team:
    id: str
    name: str
    token: str


def cli_command() -> list[str]:
    """``.venv/bin/agiletrack`` when the package is installed there, else the same entry point as a module."""
    installed = REPO_ROOT / ".venv" / "bin" / "agiletrack"
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "agiletrack.cli.main"]


def run_cli(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    """``agiletrack ARGS`` against the stack's AWS emulator, with dummy credentials (the standard AWS env)."""
    settings = {name.upper() for name in Settings.field_names()}  # the local stack's default names apply
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in settings}
    env.update(
        {
            "AWS_ENDPOINT_URL": stack.aws_endpoint,
            "AWS_ENDPOINT_URL_SQS": stack.sqs_endpoint or stack.aws_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "layers" / "agiletrack"), env.get("PYTHONPATH", "")]),
        }
    )
    return subprocess.run(
        [*cli_command(), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def create_team(stack: LocalStack, name: str) -> Team:
    result = run_cli(stack, "teams", "create", name)
    assert result.returncode == 0, result.stderr
    team_id = re.search(r"^\s*id:\s*(\S+)\s*$", result.stdout, re.M)
    token = re.search(r"^\s*token:\s*(\S+)\s*$", result.stdout, re.M)
    assert team_id and token, result.stdout
    return Team(team_id.group(1), name, token.group(1))


class Api(httpx.Client):
    """The stack's HTTP API as one team sees it (its token on every request)."""

    def __init__(self, stack: LocalStack, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        super().__init__(base_url=stack.api_url, headers=headers, timeout=30)


def wait_for(check: Callable[[], Any], timeout: float, what: str, logs: Callable[[], str]) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {timeout:.0f} s (last: {last!r})\n{logs()[-6000:]}")


def sqs(stack: LocalStack) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=stack.sqs_endpoint or stack.aws_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def queue_drained(stack: LocalStack, queue: str) -> Callable[[], bool]:
    client = sqs(stack)
    url = client.get_queue_url(QueueName=f"agiletrack-local-{queue}")["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]

    def check() -> bool:
        counts = client.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return all(counts[name] == "0" for name in names)

    return check


def status_of(api: Api, integration_id: str) -> dict[str, Any]:
    response = api.get(f"/integrations/{integration_id}/status")
    assert response.status_code == 200, response.text
    return dict(response.json())


def lookup(document: dict[str, Any], dotted: str) -> Any:
    value: Any = document["metrics"]
    for key in dotted.split("."):
        value = value[key]
    return value


def weeks_of(since: datetime, until: datetime, dated: Iterable[tuple[datetime, float]]) -> list[dict[str, Any]]:
    """A weekly series as METRICS.md words it, written out here for the expectations: the Monday (UTC) of every
    week that overlaps ``[since, until)``, oldest first, zeros included; each dated value added to its week."""
    monday = (since - timedelta(days=since.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    totals: dict[str, float] = {}
    while monday < until:
        totals[monday.date().isoformat()] = 0
        monday += timedelta(days=7)
    for at, value in dated:
        assert since <= at < until, f"{at} is outside the window: leave it out of the expectation"
        totals[(at - timedelta(days=at.weekday())).date().isoformat()] += value
    return [{"week": week, "value": value} for week, value in totals.items()]
