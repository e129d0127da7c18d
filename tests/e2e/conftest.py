"""The local stack as a subprocess (``python -m devstack``), shared by the e2e tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.moto_server import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0


@dataclass
class LocalStack:
    """A running ``python -m devstack``: where its API and AWS emulator listen, and the demo token."""

    api_url: str
    token: str
    aws_endpoint: str
    state_dir: Path
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

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


def start_local_stack(workdir: Path, *extra_args: str, state_dir: Path | None = None) -> LocalStack:
    """Start ``python -m devstack`` on free ports and wait (60 s at most) for the two lines it prints."""
    workdir.mkdir(parents=True, exist_ok=True)
    api_port, aws_port = free_port(), free_port()
    state = state_dir or workdir / "state"
    stdout, stderr = workdir / "stdout.log", workdir / "stderr.log"
    env = dict(os.environ)
    paths = [str(REPO_ROOT / "tools"), str(REPO_ROOT / "layers" / "agiletrack")]
    env["PYTHONPATH"] = os.pathsep.join(paths + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONUNBUFFERED"] = "1"
    command = [sys.executable, "-m", "devstack", "--port", str(api_port), "--aws-port", str(aws_port)]
    command += ["--state-dir", str(state), *extra_args]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=err)
    stack = LocalStack("", "", f"http://127.0.0.1:{aws_port}", state, process, stdout, stderr)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        lines = stdout.read_text(errors="replace").splitlines()
        values = dict(line.split("=", 1) for line in lines if line.startswith("AGILETRACK_") and "=" in line)
        if "AGILETRACK_API" in values and "AGILETRACK_TOKEN" in values:
            stack.api_url, stack.token = values["AGILETRACK_API"], values["AGILETRACK_TOKEN"]
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
