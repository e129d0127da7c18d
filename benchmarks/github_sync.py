"""Benchmark 1: the GitHub pull sync, through the real sync worker, against moto and a fake GitHub over HTTP.

- ``FakeGitHub`` (``tests/fakes/github.py``) serves a synthetic repository of 5,000 pull requests (0-8
  reviews each, comments), 20,000 commits and 3,000 issues on 127.0.0.1, with 50 ms of latency per
  request, GitHub's GraphQL cost formula and its 5,000-point hourly budget. It runs in a process of its
  own (``fake_github_host``), as GitHub is another machine.
- The integration is created through the config API's handler (``functions/api/app.py``, with the event
  API Gateway sends once the authorizer let the team in); its first sync job is the one that handler
  queued. The later syncs are queued by ``POST /integrations/{id}/sync``. Each job is taken off the
  sync queue and given to the sync worker's handler (``functions/sync_worker/app.py``) in the SQS event
  Lambda builds, with the function's own 300 s timeout; continuation jobs it queues run the same way,
  until the queue is empty.

Two passes, each in a process of its own:

- ``run_timed``: AWS is moto's ``mock_aws`` in this process, with every resource of template.yaml.
  Measured: HTTP requests as the fake counted them (GraphQL, REST), rate-limit points the fake charged,
  wall time of the handler invocations and its split between waiting for GitHub (``ProviderHttp.request``),
  storing records (``DynamoRecordStore.put_many``), refreshing the metrics cache after the sync
  (``MetricsService.refresh_default``) and the rest, and the records written (conditional puts that landed:
  unfenced ``PutItem``s that passed their condition, and each Put of a fenced transaction that succeeded).
- ``run_memory``: the same three syncs, for the worker's memory. Under ``mock_aws`` the emulator's work
  and the 28,000 items it stores live in the worker's process and would count as the worker's memory, so
  this pass talks to moto's server in another process (as the local stack does). Measured per handler
  call: the peak RSS (``VmHWM``, reset before the call; what Lambda reports as "Max Memory Used"), and the
  peak of Python allocations ``tracemalloc`` saw. ``tracemalloc`` is paused while the record store writes
  a page (``put_many``: botocore's requests and answers in 8 threads, against moto's server): traced, those
  28,000 calls slow the pass from about 4 to over 6 minutes, more than ``make bench`` can spend. The RSS
  peak covers those writes; the ``tracemalloc`` peak covers the rest (GitHub's answers, records, cursor
  and status writes, the metrics refresh), the peak of each traced stretch being kept.
"""

from __future__ import annotations

import json
import math
import resource
import threading
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import context_for, function, moto_server, moto_stack, progress
from benchmarks.fake_github_host import RemoteFakeGitHub

PRS, COMMITS, ISSUES = 5_000, 20_000, 3_000
MAX_REVIEWS = 8
LATENCY_MS = 50
SEED = 5
CHANGED_PRS = 10
TEAM = "team_bench"
INCREMENTAL_LIMIT = 4
UNCHANGED_LIMIT = 3
KINDS = ("pull_request", "commit", "issue")


def full_sync_limit(prs: int, commits: int, issues: int) -> int:
    """Issue 5's budget: at most one request per 40 pull requests, per 100 commits and per 100 issues."""
    return math.ceil(prs / 40) + math.ceil(commits / 100) + math.ceil(issues / 100)


def rest_incremental(prs: int, commits: int, issues: int, per_page: int = 100) -> int:
    """The per-item REST approach for an incremental sync, by the fake's formula: each list read once at
    least (even when it turns out empty), then per changed pull request its reviews and the single PR,
    per new commit its stats."""
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
    """Time in the provider's HTTP client, the record store and the metrics refresh; what was written."""

    http_s: float = 0.0
    http_requests: int = 0
    store_s: float = 0.0
    metrics_s: float = 0.0
    written: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    traced_peak: int = 0
    """The highest ``tracemalloc`` peak of the segments traced so far in this invocation (bytes)."""

    def reset(self) -> None:
        with self.lock:
            self.http_s = self.store_s = self.metrics_s = 0.0
            self.http_requests = 0
            self.written = []
            self.traced_peak = 0

    def pause_tracing(self) -> bool:
        """Stop ``tracemalloc`` for the record store's writes, keeping the peak so far (see ``run_memory``)."""
        if not tracemalloc.is_tracing():
            return False
        self.traced_peak = max(self.traced_peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        return True


_INSTRUMENTED: list[Meter] = []


def instrument() -> Meter:
    """Wrap, in this process only, the provider HTTP client, the record store's writes and the metrics
    refresh, to time them and to see which records landed. Nothing else changes."""
    if _INSTRUMENTED:
        return _INSTRUMENTED[0]
    from agiletrack.adapters.aws.records import DynamoRecordStore
    from agiletrack.adapters.providers.http import ProviderHttp
    from agiletrack.domain.metrics_service import MetricsService

    meter = Meter()
    request, put_many, put_if_newer = ProviderHttp.request, DynamoRecordStore.put_many, DynamoRecordStore.put_if_newer
    refresh = MetricsService.refresh_default

    def timed_request(self: Any, method: str, url: str, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return request(self, method, url, **kwargs)
        finally:
            meter.http_s += time.perf_counter() - started
            meter.http_requests += 1

    def timed_put_many(self: Any, integration_id: str, records: Any, **kwargs: Any) -> int:
        _watch_transactions(meter, self.table)
        paused = meter.pause_tracing()
        started = time.perf_counter()
        try:
            return put_many(self, integration_id, records, **kwargs)
        finally:
            meter.store_s += time.perf_counter() - started
            if paused:
                tracemalloc.start()

    def counted_put(self: Any, integration_id: str, record: Any) -> bool:
        landed = put_if_newer(self, integration_id, record)
        if landed:
            with meter.lock:
                meter.written.append((record.kind, record.id))
        return landed

    def timed_refresh(self: Any, integration: Any) -> None:
        started = time.perf_counter()
        try:
            refresh(self, integration)
        finally:
            meter.metrics_s += time.perf_counter() - started

    ProviderHttp.request = timed_request  # type: ignore[method-assign]
    DynamoRecordStore.put_many = timed_put_many  # type: ignore[method-assign]
    DynamoRecordStore.put_if_newer = counted_put  # type: ignore[method-assign]
    MetricsService.refresh_default = timed_refresh  # type: ignore[method-assign]
    _INSTRUMENTED.append(meter)
    return meter


def _watch_transactions(meter: Meter, table: str) -> None:
    """Count the records of fenced writes that landed: each Put of a ``TransactWriteItems`` that succeeded (a
    cancelled one wrote nothing; the store tries again without the records whose own condition failed). The
    store's DynamoDB client is wrapped once, in this process only; only Puts into the records ``table`` count."""
    from agiletrack.adapters.aws import clients

    client: Any = clients.dynamodb()
    if getattr(client, "_bench_watched", False):
        return
    transact = client.transact_write_items

    def watched(**kwargs: Any) -> Any:
        answer = transact(**kwargs)
        landed = []
        for entry in kwargs.get("TransactItems", ()):
            put = entry.get("Put")
            if put is not None and put.get("TableName") == table:
                kind = put["Item"]["pk"]["S"].rpartition("#")[2]
                landed.append((kind, put["Item"]["sk"]["S"]))
        with meter.lock:
            meter.written.extend(landed)
        return answer

    client.transact_write_items = watched
    client._bench_watched = True


# ---------------------------------------------------------------- memory
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak_rss() -> bool:
    """Reset the process's peak RSS (Linux: ``echo 5 > /proc/self/clear_refs``); False where unsupported."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib() -> float:
    """``VmHWM`` (the peak RSS since the last reset), else ``ru_maxrss`` (the peak since the start)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mib() -> float:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


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
    reasons: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    http_s: float = 0.0
    store_s: float = 0.0
    metrics_s: float = 0.0
    other_s: float = 0.0
    graphql: int = 0
    rest: int = 0
    points: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    worker_http_requests: int = 0
    records_written: int = 0
    written_by_kind: dict[str, int] = field(default_factory=dict)
    written_ids: list[str] = field(default_factory=list)
    tracemalloc_peak_mib: float | None = None
    peak_rss_mib: float | None = None
    rss_before_mib: float | None = None
    last_sync: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    rest_per_item: int = 0
    limit: int = 0
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return self.graphql + self.rest

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(self.checks.values())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"requests": self.requests, "passed": self.passed}


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
            scenario.reasons.append(str(json.loads(message["Body"]).get("reason")))
            payload = self._invoke(scenario, event)
            scenario.invocations += 1
            if failed_message_ids(payload, [message["MessageId"]]):
                scenario.failures.append(f"the {scenario.reasons[-1]} job reported a batch item failure")
                return
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        scenario.failures.append(f"jobs still queued after {max_invocations} invocations")

    def _invoke(self, scenario: Scenario, event: dict[str, Any]) -> Any:
        context = context_for(self.spec)
        if not self.trace_memory:
            started = time.perf_counter()
            try:
                return self.handler(event, context)
            finally:
                scenario.wall_s += time.perf_counter() - started
        scenario.rss_before_mib = max(scenario.rss_before_mib or 0.0, rss_mib())
        reset_peak_rss()
        self.meter.traced_peak = 0
        tracemalloc.start()
        started = time.perf_counter()
        try:
            return self.handler(event, context)
        finally:
            scenario.wall_s += time.perf_counter() - started
            self.meter.pause_tracing()
            traced_peak = self.meter.traced_peak / 1024 / 1024
            scenario.tracemalloc_peak_mib = max(scenario.tracemalloc_peak_mib or 0.0, traced_peak)
            scenario.peak_rss_mib = max(scenario.peak_rss_mib or 0.0, peak_rss_mib())


@dataclass
class Pass:
    """One integration synced three times: full, after ``CHANGED_PRS`` changed, with nothing changed."""

    github: RemoteFakeGitHub
    resources: Any
    trace_memory: bool
    scenarios: list[Scenario] = field(default_factory=list)
    integration_id: str = ""
    touched: list[int] = field(default_factory=list)
    validation_calls: dict[str, Any] = field(default_factory=dict)

    def run(self) -> None:
        meter = instrument()
        api = Api(TEAM)
        worker = Worker(self.resources, meter, trace_memory=self.trace_memory)
        github = self.github
        github.reset_calls()
        config = {"repository": github.repository, "token": github.token, "branch": github.branch}
        status, created = api.call(
            "POST", "/integrations", {"type": "github", "config": config | {"api_url": github.api_url}}
        )
        if status != 201:
            raise RuntimeError(f"creating the integration answered {status}: {created}")
        self.integration_id = created["id"]
        self.validation_calls = github.calls()
        shape = github.shape

        progress("  (a) first full sync")
        full = self._scenario("full", worker, api)
        full.rest_per_item = github.rest_requests_estimate()
        full.limit = full_sync_limit(shape["pull_requests"], shape["commits"], shape["issues"])
        full.checks |= {
            "requests within budget": full.requests <= full.limit,
            "every item written once": full.records_written
            == shape["pull_requests"] + shape["commits"] + shape["issues"],
        }

        progress(f"  (b) incremental sync after {CHANGED_PRS} pull requests changed")
        self.touched = github.touch_pull_requests(CHANGED_PRS)
        queued = self._trigger(api)
        changed = self._scenario("changed", worker, api)
        changed.checks["sync queued by the API"] = queued
        changed.rest_per_item = rest_incremental(CHANGED_PRS, 0, 0)
        changed.limit = INCREMENTAL_LIMIT
        changed.checks |= {
            "requests within budget": changed.requests <= changed.limit,
            "only the changed records written": changed.written_ids
            == sorted(f"pull_request:{n}" for n in self.touched),
        }

        progress("  (c) incremental sync with nothing changed")
        queued = self._trigger(api)
        unchanged = self._scenario("unchanged", worker, api)
        unchanged.checks["sync queued by the API"] = queued
        unchanged.rest_per_item = rest_incremental(0, 0, 0)
        unchanged.limit = UNCHANGED_LIMIT
        unchanged.checks |= {
            "requests within budget": unchanged.requests <= unchanged.limit,
            "no record written": unchanged.records_written == 0,
        }
        for scenario in (full, changed, unchanged):
            scenario.checks["every job succeeded"] = not scenario.failures and scenario.last_sync.get("outcome") == (
                "success"
            )
        self.scenarios = [full, changed, unchanged]

    def _trigger(self, api: Api) -> bool:
        """``POST /integrations/{id}/sync``: True when it queued a job (202, not coalesced)."""
        code, answer = api.call("POST", f"/integrations/{self.integration_id}/sync")
        return code == 202 and not (answer or {}).get("coalesced")

    def _scenario(self, name: str, worker: Worker, api: Api) -> Scenario:
        scenario = Scenario(name)
        meter = worker.meter
        meter.reset()
        self.github.reset_calls()
        worker.drain(scenario)
        calls = self.github.calls()
        scenario.graphql, scenario.rest, scenario.points = calls["graphql"], calls["rest"], calls["points"]
        scenario.by_operation = calls["by_operation"]
        scenario.worker_http_requests = meter.http_requests
        scenario.http_s, scenario.store_s, scenario.metrics_s = meter.http_s, meter.store_s, meter.metrics_s
        scenario.other_s = max(0.0, scenario.wall_s - meter.http_s - meter.store_s - meter.metrics_s)
        scenario.records_written = len(meter.written)
        for kind, _ in meter.written:
            scenario.written_by_kind[kind] = scenario.written_by_kind.get(kind, 0) + 1
        if len(meter.written) <= 100:
            scenario.written_ids = sorted(f"{kind}:{rid}" for kind, rid in meter.written)
        code, status = api.call("GET", f"/integrations/{self.integration_id}/status")
        if code == 200:
            scenario.status = status["status"]
            scenario.last_sync = status.get("last_sync") or {}
        return scenario


def _fake_github() -> RemoteFakeGitHub:
    options = {"prs": PRS, "commits": COMMITS, "issues": ISSUES, "seed": SEED, "latency_ms": LATENCY_MS}
    return RemoteFakeGitHub(**options, max_reviews=MAX_REVIEWS)


def _held_records(resources: Any, integration_id: str) -> dict[str, int]:
    """Records held per kind, read from moto's backend (a COUNT Query through moto takes most of a minute)."""
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[resources.account_id][resources.region].tables[resources.tables["RecordsTable"]]
    sizes = {str(getattr(key, "value", key)): len(items) for key, items in table.items.items()}
    return {kind: sizes.get(f"{integration_id}#{kind}", 0) for kind in KINDS}


def run_timed() -> dict[str, Any]:
    started = time.perf_counter()
    progress(f"github sync, timed: generating the repository ({PRS} PRs, {COMMITS} commits, {ISSUES} issues)")
    with _fake_github() as github, moto_stack() as resources:
        setup_s = time.perf_counter() - started
        sync = Pass(github, resources, trace_memory=False)
        sync.run()
        held = _held_records(resources, sync.integration_id)
        shape = github.shape
        sync.scenarios[0].checks["every record stored"] = held == {
            "pull_request": shape["pull_requests"],
            "commit": shape["commits"],
            "issue": shape["issues"],
        }
    return {
        "repository": shape,
        "latency_ms": LATENCY_MS,
        "validation_calls": sync.validation_calls,
        "records_held_after_full": held,
        "touched_prs": sync.touched,
        "scenarios": [s.as_dict() for s in sync.scenarios],
        "process_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "setup_s": round(setup_s, 1),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def run_memory() -> dict[str, Any]:
    started = time.perf_counter()
    progress("github sync, memory: the same syncs with tracemalloc, AWS emulated by moto's server")
    with _fake_github() as github, moto_server("github_sync_memory_moto") as resources:
        sync = Pass(github, resources, trace_memory=True)
        sync.run()
    return {
        "scenarios": [s.as_dict() for s in sync.scenarios],
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
