"""``make demo`` (``python -m devstack.demo``): the local stack with the repository's fake providers, populated.

It starts the fake GitHub and Jira (a few months of activity from ``tests/fakes/demo_data.py``) and the fake
Trello (a board with as many months of cards), then ``python -m devstack`` pointed at them, connects one
integration of each kind for the stack's demo team through the API, waits for the first syncs and prints the
dashboard's URL and the team token. From then on it makes a change on a fake provider now and then and sends
its signed webhook (Trello's through the webhook the integration registered), so the dashboard moves.
Ctrl-C stops it all. It needs a checkout (the fakes live under ``tests/``) and the dev dependencies.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from agiletrack.adapters.providers.github.intake import sign
from devstack.template import REPO_ROOT
from tests.fakes import jira_payloads
from tests.fakes.demo_data import DONE, IN_PROGRESS, demo_github, demo_jira
from tests.fakes.github import FakeGitHub
from tests.fakes.jira import FakeJira
from tests.fakes.trello import FakeTrello

START_SECONDS = 90.0
SYNC_SECONDS = 180.0
STOP = threading.Event()
TRELLO_CARDS = 240
"""Cards on the demo board (ten actions each: creations, moves forward and back, comments, labels)."""
TRELLO_WORKFLOW = 5
"""The board's first five lists are the workflow, waiting to done."""
"""Set by Ctrl-C (SIGINT) or SIGTERM: every wait of the demo ends at once."""


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def start_stack(
    state_dir: Path, port: int, aws_port: int, env: dict[str, str], sqs_port: int | None = None
) -> tuple[subprocess.Popen[bytes], str, str]:
    """``python -m devstack`` in a child process (its output in ``state_dir/stack.log``): (process, API, token)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / "stack.log"
    paths = [str(REPO_ROOT / "tools"), str(REPO_ROOT / "layers" / "agiletrack"), os.environ.get("PYTHONPATH", "")]
    environment = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "devstack", "--port", str(port), "--aws-port", str(aws_port)]
    if sqs_port is not None:
        command += ["--sqs-port", str(sqs_port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--state-dir", str(state_dir)],
            cwd=REPO_ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        values = dict(
            line.split("=", 1)
            for line in log.read_text(errors="replace").splitlines()
            if line.startswith("AGILETRACK_") and "=" in line
        )
        if "AGILETRACK_API" in values and "AGILETRACK_TOKEN" in values:
            return process, values["AGILETRACK_API"], values["AGILETRACK_TOKEN"]
        if process.poll() is not None:
            raise SystemExit(f"the local stack exited with {process.returncode}; see {log}")
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"the local stack did not start in {START_SECONDS:.0f} s; see {log}")


def connect(api: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    existing = {i["name"]: i for i in api.get("/integrations", params={"limit": 100}).json()["items"]}
    if body["name"] in existing:  # a restart against the same emulator state: keep what is there
        return dict(existing[body["name"]])
    response = api.post("/integrations", json=body)
    if response.status_code != 201:
        raise SystemExit(f"connecting {body['type']} failed: {response.status_code} {response.text}")
    return dict(response.json())


def _settled(api: httpx.Client, integration_id: str) -> bool:
    """Its first sync is over, or its provider has no sync yet (its metrics answer ``provider_not_supported``)."""
    if api.get(f"/integrations/{integration_id}/status").json().get("status") not in ("pending", "syncing"):
        return True
    metrics = api.get(f"/integrations/{integration_id}/metrics")
    return metrics.status_code == 422 and metrics.json()["error"]["code"] == "provider_not_supported"


def wait_for_syncs(api: httpx.Client, ids: Sequence[str]) -> None:
    deadline = time.monotonic() + SYNC_SECONDS
    waiting = set(ids)
    while waiting and time.monotonic() < deadline and not STOP.is_set():
        waiting = {i for i in waiting if not _settled(api, i)}
        STOP.wait(1)


class Activity:
    """Changes on the fakes, each followed by the webhook the provider would send."""

    def __init__(
        self,
        github: FakeGitHub,
        jira: FakeJira,
        trello: FakeTrello,
        hooks: dict[str, dict[str, Any]],
        seed: int = 5,
    ) -> None:
        self.github, self.jira, self.trello, self.hooks = github, jira, trello, hooks
        self.rng = random.Random(seed)

    def github_pull_request(self) -> None:
        hook = self.hooks.get("github")
        if not hook or not hook.get("secret"):
            return
        pr = self.github.add_pull_request(author=self.rng.choice(["ada", "grace", "linus", "ken"]))
        payload = {
            "action": "opened",
            "number": pr.number,
            "pull_request": {
                "number": pr.number,
                "node_id": f"PR_{pr.number}",
                "title": pr.title,
                "state": "open",
                "draft": False,
                "user": {"login": pr.author},
                "created_at": _iso(pr.created_at),
                "updated_at": _iso(pr.updated_at),
                "closed_at": None,
                "merged_at": None,
                "merged": False,
                "base": {"ref": "main"},
            },
            "repository": {
                "id": 1,
                "name": self.github.name,
                "full_name": self.github.repository,
                "private": False,
                "owner": {"login": self.github.owner},
            },
        }
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/demo",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(hook["secret"], body),
        }
        httpx.post(hook["url"], content=body, headers=headers, timeout=30)

    def jira_issue_moves(self) -> None:
        hook = self.hooks.get("jira")
        if not hook or not hook.get("secret"):
            return
        active = [s["id"] for s in self.jira.sprints.get(7, []) if s["state"] == "active"]
        open_issues = [i for i in self.jira.issues.values() if set(i.sprint_ids) & set(active) and i.status_id != DONE]
        if not open_issues:
            return
        issue = self.rng.choice(open_issues)
        before = issue.status_id
        after = IN_PROGRESS if before != IN_PROGRESS else DONE
        now = datetime.now(UTC).replace(microsecond=0)
        self.jira.change(issue, now, status=after)
        raw = jira_payloads.issue(
            int(issue.key.split("-")[1]),
            updated=issue.updated,
            created=issue.created,
            estimate=issue.estimate,
            sprints=[jira_payloads.sprint(s) for s in issue.sprint_ids],
            resolved=issue.resolution_date,
            summary=issue.summary,
            issue_id=str(issue.id),
        )
        name, category = self.jira.statuses[issue.status_id]
        raw["fields"]["status"] = {"id": issue.status_id, "name": name, "statusCategory": {"key": category}}
        raw["fields"]["priority"] = {"id": "2", "name": issue.priority}
        items = [jira_payloads.status_item(before, after)]
        if after == DONE:
            items.append(jira_payloads.resolution_item(True))
        event = jira_payloads.issue_event("jira:issue_updated", raw, at=now, items=items)
        body, headers = jira_payloads.signed(event, hook["secret"])
        httpx.post(hook["url"], content=body, headers=headers, timeout=30)

    def trello_card_moves(self) -> None:
        """A card moved one list forward on the board's workflow, delivered by the webhook Trello registered."""
        board = self.trello.board()
        workflow = list(board.lists)[:TRELLO_WORKFLOW]
        open_cards = [c for c in board.cards.values() if not c.closed and c.list_id in workflow[:-1]]
        if not open_cards:
            return
        card = self.rng.choice(open_cards)
        action = self.trello.move_card(card.id, workflow[workflow.index(card.list_id) + 1])
        self.trello.webhooks.deliver(action, board.ref())

    def step(self) -> None:
        roll = self.rng.random()
        change = self.github_pull_request if roll < 0.4 else self.jira_issue_moves if roll < 0.7 else None
        try:
            (change or self.trello_card_moves)()
        except httpx.HTTPError as error:
            print(f"demo: a webhook could not be sent ({error})", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=int(os.environ.get("AGILETRACK_PORT", "3000")))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AGILETRACK_AWS_PORT", "4566")))
    parser.add_argument("--sqs-port", type=int, default=int(os.environ.get("AGILETRACK_SQS_PORT", "4567")))
    parser.add_argument("--state-dir", type=Path, default=REPO_ROOT / ".local" / "demo")
    parser.add_argument("--days", type=int, default=120, help="days of history on the fakes")
    parser.add_argument("--every", type=float, default=20.0, help="seconds between webhooks")
    parser.add_argument("--no-wait", action="store_true", help="print the URL without waiting for the syncs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    print("demo: seeding the fake GitHub, Jira and Trello…", flush=True)
    with demo_github(days=args.days) as github, demo_jira(days=args.days) as jira, FakeTrello() as trello:
        trello.generate(cards=TRELLO_CARDS, actions=TRELLO_CARDS * 10, lists=TRELLO_WORKFLOW, span_days=args.days)
        env = {"SSL_CERT_FILE": jira.ca_file, "TRELLO_API_URL": trello.url}
        process, url, token = start_stack(args.state_dir, args.port, args.aws_port, env, args.sqs_port)
        signal.signal(signal.SIGINT, lambda _signum, _frame: STOP.set())
        signal.signal(signal.SIGTERM, lambda _signum, _frame: STOP.set())
        try:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as api:
                created = [
                    connect(
                        api,
                        {
                            "type": "github",
                            "name": "Checkout service",
                            "config": {
                                "repository": github.repository,
                                "token": github.token,
                                "branch": "main",
                                "api_url": github.api_url,
                            },
                        },
                    ),
                    connect(
                        api, {"type": "jira", "name": "Engineering (ENG)", "config": {**jira.config(), "board_id": 7}}
                    ),
                    connect(
                        api,
                        {
                            "type": "trello",
                            "name": "Roadmap board",
                            "config": {**trello.config(), "list_ids": list(trello.board().lists)[:TRELLO_WORKFLOW]},
                        },
                    ),
                ]
                hooks = {i["type"]: i["webhook"] for i in created}
                if not args.no_wait:
                    print("demo: waiting for the first syncs…", flush=True)
                    wait_for_syncs(api, [i["id"] for i in created])
            print(
                f"\nDashboard:  {url}/\nTeam token: {token}\n(paste the token to sign in; Ctrl-C stops it all)\n",
                flush=True,
            )
            activity = Activity(github, jira, trello, hooks)
            next_at = time.monotonic() + args.every
            while not STOP.is_set() and process.poll() is None:
                if time.monotonic() >= next_at:
                    activity.step()
                    next_at = time.monotonic() + args.every
                STOP.wait(0.2)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
    print("demo: stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
