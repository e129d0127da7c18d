"""Benchmark: the monthly AWS cost of one 20-developer team (one GitHub, one Jira, one Trello integration) and
of 1,000 such teams, from what each kind of invocation uses on the local stack (``benchmarks.cost_meter``),
the workload model below and the public us-east-1 price list (``benchmarks.cost_model``).

The local stack (``devstack.start_stack``: moto's server, the HTTP API with its authorizer, the SQS pollers;
no schedules) runs in this process, with the fake GitHub, Jira and Trello of ``make demo``. One team connects
one integration of each kind over HTTP and waits for the first syncs. Then, one phase at a time (each waits
until the queues are empty, so every invocation belongs to its phase): signed webhook deliveries of each
provider (a pull request, a Jira issue moved, a Trello card moved, each also made on the fake); a sync of
each integration catching up with those changes, then one with nothing new; a sync after a few changes on
each fake; the requests of a dashboard view; metrics read by a
script; and the scheduler's tick, with the team's 3 integrations and again with 300 more, for its cost per
integration. Each function's cold start (the import of its handler in a fresh interpreter) is timed too.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from benchmarks.common import LOG_DIR, REPO_ROOT, progress
from benchmarks.cost_meter import Meter, Usage
from benchmarks.cost_model import HISTORY_MONTHS
from devstack.moto_server import free_port

DELIVERIES = 12
"""Webhook deliveries sent per provider (after two warm-ups)."""
EXTRA_INTEGRATIONS = 300
TRELLO_WORKFLOW = 5


def _wait_for(predicate: Any, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class Bench:
    def __init__(self, stack: Any, meter: Meter, api: Any, fakes: dict[str, Any]) -> None:
        self.stack, self.meter, self.api, self.fakes = stack, meter, api, fakes
        self.integrations: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------ helpers
    def queues_empty(self) -> bool:
        import boto3

        sqs = boto3.session.Session().client("sqs")
        for name in ("WebhookQueue", "SyncQueue"):
            attributes = sqs.get_queue_attributes(
                QueueUrl=self.stack.resources.queue_urls[name],
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if sum(int(v) for v in attributes.values()):
                return False
        return True

    def settle(self, timeout: float = 120) -> None:
        time.sleep(0.5)
        _wait_for(self.queues_empty, timeout)
        time.sleep(1.0)

    def phase(self, name: str, action: Any, timeout: float = 120) -> dict[str, Usage]:
        self.settle()
        self.meter.phase = name
        action()
        self.settle(timeout)
        self.meter.phase = "between"
        return self.meter.take(name)

    # ------------------------------------------------------------ setup
    def connect(self) -> None:
        github, jira, trello = self.fakes["github"], self.fakes["jira"], self.fakes["trello"]
        bodies: list[dict[str, Any]] = [
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
            {"type": "jira", "name": "Engineering (ENG)", "config": {**jira.config(), "board_id": 7}},
            {
                "type": "trello",
                "name": "Roadmap board",
                "config": {**trello.config(), "list_ids": list(trello.board().lists)[:TRELLO_WORKFLOW]},
            },
        ]
        for body in bodies:
            response = self.api.post("/integrations", json=body)
            if response.status_code != 201:
                raise RuntimeError(f"connecting {body['type']}: {response.status_code} {response.text}")
            self.integrations[body["type"]] = response.json()
        for kind, integration in self.integrations.items():
            if not _wait_for(lambda i=integration: self._synced(i["id"]), 300, 1.0):
                raise RuntimeError(f"the first {kind} sync did not finish")

    def _synced(self, integration_id: str, after: str = "") -> bool:
        status = self.api.get(f"/integrations/{integration_id}/status").json()
        last = status.get("last_sync") or {}
        return status.get("status") not in ("pending", "syncing") and bool(last) and str(last) != after

    # ------------------------------------------------------------ phases
    def webhooks(self, kind: str) -> dict[str, Usage]:
        from devstack.demo import Activity

        activity = Activity(
            self.fakes["github"], self.fakes["jira"], self.fakes["trello"], self.hooks(), seed=len(kind)
        )
        send = {
            "github": activity.github_pull_request,
            "jira": activity.jira_issue_moves,
            "trello": activity.trello_card_moves,
        }[kind]
        self.phase(f"warm-{kind}", lambda: [send() for _ in range(2)])

        def deliveries() -> None:
            for _ in range(DELIVERIES):
                send()
                time.sleep(0.3)

        return self.phase(f"webhook-{kind}", deliveries)

    def hooks(self) -> dict[str, dict[str, Any]]:
        return {kind: integration["webhook"] for kind, integration in self.integrations.items()}

    def sync(self, kind: str, label: str) -> dict[str, Usage]:
        integration_id = self.integrations[kind]["id"]
        before = str(self.api.get(f"/integrations/{integration_id}/status").json().get("last_sync"))

        def run() -> None:
            answer = self.api.post(f"/integrations/{integration_id}/sync")
            if answer.status_code >= 300:
                raise RuntimeError(f"sync now ({kind}): {answer.status_code} {answer.text}")
            _wait_for(lambda: self._synced(integration_id, before), 180, 0.5)

        return self.phase(f"{label}-{kind}", run, timeout=180)

    def change_fakes(self) -> None:
        """A few changes on each provider since the last sync, as an hour of a working day brings."""
        from tests.fakes.demo_data import DONE, IN_PROGRESS

        github, jira, trello = self.fakes["github"], self.fakes["jira"], self.fakes["trello"]
        rng = random.Random(3)
        for _ in range(3):
            github.add_pull_request(author=rng.choice(["ada", "grace", "linus"]))
        now = datetime.now(UTC).replace(microsecond=0)
        open_issues = [i for i in jira.issues.values() if i.status_id != DONE][:3]
        for issue in open_issues:
            jira.change(issue, now, status=IN_PROGRESS if issue.status_id != IN_PROGRESS else DONE)
        board = trello.board()
        workflow = list(board.lists)[:TRELLO_WORKFLOW]
        cards = [c for c in board.cards.values() if not c.closed and c.list_id in workflow[:-1]][:3]
        for card in cards:
            trello.move_card(card.id, workflow[workflow.index(card.list_id) + 1])

    def dashboard_view(self) -> dict[str, Usage]:
        """The requests the dashboard makes to open and show one integration's metrics for 30 days."""
        first = self.integrations["github"]["id"]

        def view() -> None:
            page = self.api.get("/", headers={"Authorization": ""}).text
            for asset in sorted(set(re.findall(r"/assets/[\w.-]+", page))):
                self.api.get(asset, headers={"Authorization": ""})
            self.api.get("/openapi.json", headers={"Authorization": ""})
            for path in ("/teams/me", "/integrations?limit=100"):
                self.api.get(path)
            for integration in self.integrations.values():
                self.api.get(f"/integrations/{integration['id']}/status")
            for path in ("", "/status", "/syncs?limit=10", "/metrics?days=30"):
                self.api.get(f"/integrations/{first}{path}")

        return self.phase("dashboard", view)

    def metrics_reads(self) -> dict[str, Usage]:
        def reads() -> None:
            for _ in range(2):
                for integration in self.integrations.values():
                    self.api.get(f"/integrations/{integration['id']}/metrics?days=30")

        return self.phase("metrics", reads)

    def scheduler_tick(self, label: str) -> dict[str, Usage]:
        from devstack.__main__ import schedule_event

        spec = self.stack.runtime.specs["SchedulerFunction"]
        event = schedule_event(spec.schedules[0], self.stack.resources)
        return self.phase(label, lambda: self.stack.runtime.invoke("SchedulerFunction", event), timeout=5)


def cold_imports() -> dict[str, float]:
    """Each function's handler imported in a fresh interpreter (what a cold start adds to the billed init)."""
    code = (
        "import sys,time;t=time.perf_counter();"
        "from devstack.template import functions, load_template;"
        "from devstack.lambda_runtime import load_handler;"
        "spec=next(s for s in functions(load_template()) if s.logical_id==sys.argv[1]);"
        "t=time.perf_counter();load_handler(spec);print((time.perf_counter()-t)*1000)"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "tools"), str(REPO_ROOT / "layers/agiletrack")]),
    }
    names = [
        "ApiFunction",
        "AuthorizerFunction",
        "WebhooksFunction",
        "EventProcessorFunction",
        "SchedulerFunction",
        "SyncWorkerFunction",
    ]
    found: dict[str, float] = {}
    for name in names:
        out = subprocess.run(
            [sys.executable, "-c", code, name], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
        )
        found[name] = round(float(out.stdout.strip().splitlines()[-1]), 1) if out.returncode == 0 else float("nan")
    return found


def authorizer_usage(meter: Meter) -> Usage:
    """Every authorizer invocation after the first (cold) one, whatever the phase: its answers are cached 60 s,
    so few phases have one of their own."""
    warm, cold = Usage(), Usage()
    for (phase, function), usage in meter.usage.items():
        if function == "AuthorizerFunction":
            (cold if phase == "setup" else warm).add(usage)
    return warm if warm.invocations else cold


def stored_bytes(meter: Meter) -> int:
    """What the team's month of data takes in DynamoDB: every item's size plus DynamoDB's 100 bytes of
    overhead, once more for each global secondary index holding it (all the tables hold only this team)."""
    from benchmarks.cost_meter import item_size

    reader = meter.reader()
    total = 0
    for table, indexes in meter.gsi_keys.items():
        for page in reader.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                copies = 1 + sum(all(k in item for k in keys) for keys in indexes)
                total += (item_size(item) + 100) * copies
    return total


def _as_dict(usages: dict[str, Usage]) -> dict[str, Any]:
    return {function: usage.per_invocation() | {"total": usage.invocations} for function, usage in usages.items()}


def run() -> dict[str, Any]:
    import httpx

    from devstack.__main__ import start_stack
    from tests.fakes.demo_data import demo_github, demo_jira
    from tests.fakes.trello import FakeTrello

    started = time.perf_counter()
    progress("cost: the fake providers, the local stack, one team with one integration of each kind")
    meter = Meter()
    with demo_github(days=30) as github, demo_jira(days=30) as jira, FakeTrello() as trello:
        trello.generate(cards=60, actions=600, lists=TRELLO_WORKFLOW, span_days=30)
        os.environ.update({"SSL_CERT_FILE": jira.ca_file, "TRELLO_API_URL": trello.url})
        stack = start_stack(free_port(), free_port(), state_dir=LOG_DIR / "cost-state", run_schedules=False)
        try:
            from agiletrack.adapters.aws.teams import team_store
            from agiletrack.domain import teams
            from devstack.lambda_runtime import clear_agiletrack_caches

            clear_agiletrack_caches()
            meter.install(stack.runtime)
            team = teams.create_team(team_store(), f"bench-cost-{uuid.uuid4().hex[:6]}")
            headers = {"Authorization": f"Bearer {team.token}"}
            with httpx.Client(base_url=stack.api_url, headers=headers, timeout=60) as api:
                bench = Bench(stack, meter, api, {"github": github, "jira": jira, "trello": trello})
                return _measure(bench, started)
        finally:
            stack.stop()


def _measure(bench: Bench, started: float) -> dict[str, Any]:
    from benchmarks.cost_model import monthly

    bench.connect()
    phases: dict[str, dict[str, Any]] = {}
    for kind in ("github", "jira", "trello"):
        progress(f"cost: {DELIVERIES} {kind} webhook deliveries")
        phases[f"webhook-{kind}"] = _as_dict(bench.webhooks(kind))
    for kind in ("github", "jira", "trello"):
        progress(f"cost: a {kind} sync catching up with what the webhooks changed, then an idle one")
        phases[f"sync-catchup-{kind}"] = _as_dict(bench.sync(kind, "sync-catchup"))
        phases[f"sync-idle-{kind}"] = _as_dict(bench.sync(kind, "sync-idle"))
    bench.change_fakes()
    for kind in ("github", "jira", "trello"):
        progress(f"cost: a {kind} sync with a few changes")
        phases[f"sync-changes-{kind}"] = _as_dict(bench.sync(kind, "sync-changes"))
    progress("cost: a dashboard view, metrics reads, the scheduler's tick")
    phases["dashboard"] = _as_dict(bench.dashboard_view())
    phases["metrics"] = _as_dict(bench.metrics_reads())
    phases["tick-3"] = _as_dict(bench.scheduler_tick("tick-3"))
    stored = stored_bytes(bench.meter)
    from tests.integration.test_scheduler import seed

    seed(EXTRA_INTEGRATIONS)
    phases[f"tick-{3 + EXTRA_INTEGRATIONS}"] = _as_dict(bench.scheduler_tick(f"tick-{3 + EXTRA_INTEGRATIONS}"))
    phases["authorizer"] = _as_dict({"AuthorizerFunction": authorizer_usage(bench.meter)})
    progress("cost: cold imports")
    cold = cold_imports()
    specs = bench.stack.runtime.specs
    memory = {name: spec.memory_size for name, spec in specs.items()}
    raw = {"phases": phases, "memory": memory, "cold": cold, "stored": stored}
    (LOG_DIR / "cost-phases.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    result = monthly(
        phases,
        memory,
        cold,
        extra_integrations=EXTRA_INTEGRATIONS,
        deliveries=DELIVERIES,
        storage_bytes_per_team=stored * HISTORY_MONTHS,
    )
    return {
        "phases": phases,
        "memory_mb": memory,
        "cold_import_ms": cold,
        "stored_bytes_30_days": stored,
        **result,
        "passed": result["complete"],
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
