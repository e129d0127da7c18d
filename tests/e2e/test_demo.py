"""``make demo`` (``python -m devstack.demo``): it prints the dashboard's URL and a working team token, has one
integration of each kind with its first syncs done, sends webhooks now and then, and Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devstack.moto_server import free_port
from tests.e2e.conftest import REPO_ROOT, wait_for

pytestmark = pytest.mark.e2e

READY_TIMEOUT = 240.0


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_demo_serves_a_populated_dashboard_and_ctrl_c_stops_it_all(tmp_path: Path) -> None:
    port, aws_port, sqs_port = free_port(), free_port(), free_port()
    out = tmp_path / "demo.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    paths = [str(REPO_ROOT), str(REPO_ROOT / "tools"), str(REPO_ROOT / "layers" / "agiletrack")]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "devstack.demo", "--port", str(port), "--aws-port", str(aws_port)]
    command += ["--sqs-port", str(sqs_port)]
    command += ["--state-dir", str(tmp_path / "state"), "--days", "30", "--every", "1"]
    with out.open("wb") as log:
        demo = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:

        def printed() -> dict[str, str] | None:
            lines = out.read_text(errors="replace").splitlines()
            found = {
                k.strip(): v.strip()
                for k, _, v in (line.partition(":") for line in lines)
                if k in ("Dashboard", "Team token")
            }
            assert demo.poll() is None, out.read_text(errors="replace")
            return found if len(found) == 2 else None

        shown = wait_for(printed, READY_TIMEOUT, "the demo's URL and token", lambda: out.read_text(errors="replace"))
        assert shown["Dashboard"] == f"http://127.0.0.1:{port}/"
        page = httpx.get(shown["Dashboard"], timeout=30)
        assert page.status_code == 200 and "<title>AgileTrack</title>" in page.text

        api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {shown['Team token']}"}, timeout=30
        )
        items = api.get("/integrations").json()["items"]
        assert sorted(i["type"] for i in items) == ["github", "jira", "trello"]
        by_type = {i["type"]: i["id"] for i in items}
        for kind in ("github", "jira", "trello"):  # synced before the URL is printed
            status = api.get(f"/integrations/{by_type[kind]}/status").json()
            assert status["status"] == "active", status
            assert status["last_sync"]["records"] > 0

        trello = api.get(f"/integrations/{by_type['trello']}/status").json()
        assert trello["webhook"]["managed"] and trello["webhook"]["registered"], trello["webhook"]

        def webhooks_arrived() -> bool:
            statuses = [api.get(f"/integrations/{by_type[k]}/status").json() for k in ("github", "jira", "trello")]
            return all(s["webhooks"]["received_24h"] > 0 for s in statuses)

        wait_for(webhooks_arrived, 90, "a webhook on each integration", lambda: out.read_text(errors="replace"))
        api.close()

        demo.send_signal(signal.SIGINT)
        assert demo.wait(30) == 0
        assert "demo: stopped" in out.read_text(errors="replace")
        deadline = time.monotonic() + 10
        ports = (port, aws_port, sqs_port)
        while any(listening(p) for p in ports) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(listening(p) for p in ports), "the stack outlived the demo"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
