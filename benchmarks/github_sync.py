"""Benchmark 1: the GitHub pull sync, through the real sync worker, against moto and a fake GitHub over HTTP.

- ``FakeGitHub`` (``tests/fakes/github.py``) serves a synthetic repository of 5,000 pull requests (0-8
  reviews each, comments), 20,000 commits and 3,000 issues on 127.0.0.1, 50 ms of latency per request,
  GitHub's GraphQL cost formula and 5,000-point hourly budget. It runs in a process of its own
  (``fake_github_host``).
- AWS is moto in this process, with every resource of template.yaml (``devstack.template``).
- The integration is created through the config API's handler (``functions/api/app.py``, the event API
  Gateway would send); its first sync job is what that handler queued. Later syncs are queued by
  ``POST /integrations/{id}/sync``. Each job is taken off the sync queue and given to the sync worker's
  handler (``functions/sync_worker/app.py``) in the SQS event Lambda would build, with the function's own
  300 s timeout; continuation jobs it queues are run the same way until the queue is empty.

Measured per scenario: HTTP requests as the fake counted them (GraphQL and REST), rate-limit points the
fake charged, wall time of the handler invocations and how it splits between waiting for GitHub
(``ProviderHttp.request``), storing records (``DynamoRecordStore.put_many``) and the rest, records
written (conditional puts that landed), and the worker's peak memory: ``tracemalloc``'s peak during each
handler call (Python allocations made by the invocation) and the process's ``ru_maxrss``.
"""

from __future__ import annotations

import json
import math
import resource
import threading
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.common import context_for, function, moto_stack, progress
from benchmarks.fake_github_host import RemoteFakeGitHub

PRS, COMMITS, ISSUES = 5_000, 20_000, 3_000
MAX_REVIEWS = 8
LATENCY_MS = 50
SEED = 5
CHANGED_PRS = 10
TEAM = "team_bench"
INCREMENTAL_LIMIT = 4
UNCHANGED_LIMIT = 3


def full_sync_limit(prs: int, commits: int, issues: int) -> int:
    """Issue 5's budget: at most one request per 40 pull requests, per 100 commits and per 100 issues."""
    return math.ceil(prs / 40) + math.ceil(commits / 100) + math.ceil(issues / 100)


def rest_incremental(prs: int, commits: int, issues: int, per_page: int = 100) -> int:
    """The per-item REST approach for an incremental sync: each list read at least once (even when it
    turns out empty), then per changed pull request its reviews and the single PR, per commit its stats."""
    return (
        max(1, math.ceil(prs / per_page))
        + 2 * prs
        + max(1, math.ceil(commits / per_page))
        + commits
        + max(1, math.ceil((issues + prs) / per_page))
    )


# ---------------------------------------------------------------- instrumentation
@dataclass
class Meter:
    """Time spent in the provider's HTTP client and in the record store, and what the store wrote."""

    http_s: float = 0.0
    http_requests: int = 0
    store_s: float = 0.0
    written: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.http_s = self.store_s = 0.0
            self.http_requests = 0
            self.written = []


def instrument(meter: Meter) -> None:
    """Wrap (in this process only) the provider HTTP client, ``put_many`` and ``put_if_newer`` to measure."""
    from agiletrack.adapters.aws.records import DynamoRecordStore
    from agiletrack.adapters.providers.http import ProviderHttp

    request, put_many, put_if_newer = ProviderHttp.request, DynamoRecordStore.put_many, DynamoRecordStore.put_if_newer

    def timed_request(self: Any, method: str, url: str, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return request(self, method, url, **kwargs)
        finally:
            meter.http_s += time.perf_counter() - started
            meter.http_requests += 1

    def timed_put_many(self: Any, integration_id: str, records: Any) -> int:
        started = time.perf_counter()
        try:
            return put_many(self, integration_id, records)
        finally:
            meter.store_s += time.perf_counter() - started

    def counted_put(self: Any, integration_id: str, record: Any) -> bool:
        landed = put_if_newer(self, integration_id, record)
        if landed:
            with meter.lock:
                meter.written.append((record.kind, record.id))
        return landed

    ProviderHttp.request = timed_request  # type: ignore[method-assign]
    DynamoRecordStore.put_many = timed_put_many  # type: ignore[method-assign]
    DynamoRecordStore.put_if_newer = counted_put  # type: ignore[method-assign]


# ---------------------------------------------------------------- the API, in-process
class Api:
    """``functions/api/app.py``'s handler, called with the event API Gateway builds after the authorizer
    let a team's request through (``tests/integration/conftest.py``'s ``api_event``)."""

    def __init__(self, team_id: str) -> None:
        self.team_id = team_id
        self.handler, self.spec = function("ApiFunction")

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        from devstack.api_gateway import lambda_response
        from tests.integration.conftest import api_event

        result = self.handler(api_event(method, path, self.team_id, body), context_for(self.spec))
        response = lambda_response(result)
        return response.status, (json.loads(response.body) if response.body else None)


# ---------------------------------------------------------------- the worker
@dataclass
class Scenario:
    name: str
    invocations: int = 0
    failures: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    http_s: float = 0.0
    store_s: float = 0.0
    other_s: float = 0.0
    graphql: int = 0
    rest: int = 0
    points: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    worker_http_requests: int = 0
    records_written: int = 0
    written_by_kind: dict[str, int] = field(default_factory=dict)
    written_ids: list[str] = field(default_factory=list)
    tracemalloc_peak_mib: float = 0.0
    maxrss_mib: float = 0.0
    status: dict[str, Any] = field(default_factory=dict)
    rest_per_item: int = 0
    limit: int = 0
    passed: bool = False
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return self.graphql + self.rest


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Worker:
    """Takes sync jobs off the queue and gives them to the sync worker's handler, as Lambda's SQS event
    source mapping does (one message per invocation: the template's BatchSize is 1)."""

    def __init__(self, resources: Any, meter: Meter, *, trace_memory: bool) -> None:
        import boto3

        self.handler, self.spec = function("SyncWorkerFunction")
        self.sqs = boto3.client("sqs")
        self.queue_url = resources.queue_urls["SyncQueue"]
        self.queue_arn = resources.queue_arns["SyncQueue"]
        self.region = resources.region
        self.meter = meter
        self.trace_memory = trace_memory

    def drain(self, scenario: Scenario, *, max_invocations: int = 20) -> None:
        from devstack.sqs_poller import failed_message_ids, sqs_record

        while scenario.invocations < max_invocations:
            found = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=0, AttributeNames=["All"]
            ).get("Messages", [])
            if not found:
                return
            message = found[0]
            event = json.loads(json.dumps({"Records": [sqs_record(message, self.queue_arn, self.region)]}))
            job = json.loads(message["Body"])
            if self.trace_memory:
                tracemalloc.start()
            started = time.perf_counter()
            try:
                payload = self.handler(event, context_for(self.spec))
            finally:
                scenario.wall_s += time.perf_counter() - started
                peak = tracemalloc.get_traced_memory()[1] if self.trace_memory else 0
                tracemalloc.stop()
            scenario.invocations += 1
            scenario.outcomes.append(str(job.get("reason")))
            scenario.tracemalloc_peak_mib = max(scenario.tracemalloc_peak_mib, peak / 1024 / 1024)
            if failed_message_ids(payload, [message["MessageId"]]):
                scenario.failures.append(f"job {job.get('reason')} reported a batch item failure")
                return
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        scenario.failures.append(f"still jobs on the queue after {max_invocations} invocations")


def _run_scenario(name: str, worker: Worker, github: RemoteFakeGitHub, api: Api, integration_id: str) -> Scenario:
    scenario = Scenario(name)
    worker.meter.reset()
    github.reset_calls()
    worker.drain(scenario)
    calls = github.calls()
    meter = worker.meter
    scenario.graphql, scenario.rest, scenario.points = calls["graphql"], calls["rest"], calls["points"]
    scenario.by_operation = calls["by_operation"]
    scenario.worker_http_requests = meter.http_requests
    scenario.http_s, scenario.store_s = meter.http_s, meter.store_s
    scenario.other_s = max(0.0, scenario.wall_s - meter.http_s - meter.store_s)
    scenario.records_written = len(meter.written)
    by_kind: dict[str, int] = {}
    for kind, _ in meter.written:
        by_kind[kind] = by_kind.get(kind, 0) + 1
    scenario.written_by_kind = by_kind
    scenario.written_ids = sorted(f"{kind}:{rid}" for kind, rid in meter.written) if len(meter.written) <= 50 else []
    scenario.maxrss_mib = _maxrss_mib()
    status_code, status = api.call("GET", f"/integrations/{integration_id}/status")
    scenario.status = status if status_code == 200 else {"error": status_code}
    return scenario


def run() -> dict[str, Any]:
    from agiletrack.adapters.aws.records import record_store

    result: dict[str, Any] = {"config": {"latency_ms": LATENCY_MS, "seed": SEED, "changed_prs": CHANGED_PRS}}
    progress(f"generating the fake repository ({PRS} PRs, {COMMITS} commits, {ISSUES} issues)")
    started = time.perf_counter()
    options = {"prs": PRS, "commits": COMMITS, "issues": ISSUES, "seed": SEED, "latency_ms": LATENCY_MS}
    with RemoteFakeGitHub(**options, max_reviews=MAX_REVIEWS) as github, moto_stack() as resources:
        result["repository"] = github.shape
        result["setup_s"] = round(time.perf_counter() - started, 1)
        meter = Meter()
        instrument(meter)
        api = Api(TEAM)
        worker = Worker(resources, meter, trace_memory=False)
        body = {
            "type": "github",
            "config": {
                "repository": github.repository,
                "token": github.token,
                "branch": github.branch,
                "api_url": github.api_url,
            },
        }
        status, created = api.call("POST", "/integrations", body)
        if status != 201:
            raise RuntimeError(f"creating the integration answered {status}: {created}")
        integration_id = created["id"]
        result["create"] = {"status": status, "validation_calls": github.calls()}
        result["maxrss_before_mib"] = round(_maxrss_mib(), 1)
        shape = result["repository"]

        progress("(a) first full sync")
        full = _run_scenario("full", worker, github, api, integration_id)
        full.rest_per_item = github.rest_requests_estimate()
        full.limit = full_sync_limit(shape["pull_requests"], shape["commits"], shape["issues"])
        store = record_store()
        held = {kind: store.count(integration_id, kind) for kind in ("pull_request", "commit", "issue")}
        result["records_held_after_full"] = held
        full.checks = {
            "requests within budget": full.requests <= full.limit,
            "every record stored": held
            == {"pull_request": shape["pull_requests"], "commit": shape["commits"], "issue": shape["issues"]},
            "no failed job": not full.failures,
        }

        progress(f"(b) incremental sync after {CHANGED_PRS} pull requests changed")
        touched = github.touch_pull_requests(CHANGED_PRS)
        api.call("POST", f"/integrations/{integration_id}/sync")
        changed = _run_scenario("changed", worker, github, api, integration_id)
        changed.rest_per_item = rest_incremental(CHANGED_PRS, 0, 0)
        changed.limit = INCREMENTAL_LIMIT
        expected = sorted(f"pull_request:{n}" for n in touched)
        changed.checks = {
            "requests within budget": changed.requests <= changed.limit,
            "only the changed records written": changed.written_ids == expected,
            "no failed job": not changed.failures,
        }
        result["touched_prs"] = touched

        progress("(c) incremental sync with nothing changed")
        api.call("POST", f"/integrations/{integration_id}/sync")
        unchanged = _run_scenario("unchanged", worker, github, api, integration_id)
        unchanged.rest_per_item = rest_incremental(0, 0, 0)
        unchanged.limit = UNCHANGED_LIMIT
        unchanged.checks = {
            "requests within budget": unchanged.requests <= unchanged.limit,
            "no record written": unchanged.records_written == 0,
            "no failed job": not unchanged.failures,
        }
        for scenario in (full, changed, unchanged):
            scenario.passed = all(scenario.checks.values())
        result["scenarios"] = [asdict(s) | {"requests": s.requests} for s in (full, changed, unchanged)]
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    return result
