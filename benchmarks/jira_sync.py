"""Benchmark 4: the Jira pull sync and the Jira metrics, through the real handlers, against moto and a fake
Jira over HTTPS.

- ``FakeJira`` (``tests/fakes/jira.py``) serves a generated scrum project (``fake_jira_host.populate``: 50,000
  issues created over 18 months, one in twenty with more than 40 histories, 12 sprints) on 127.0.0.1, with
  60 ms of latency per request and Jira's per-endpoint burst limit on (a 429 ``jira-burst-based`` past 10
  requests to one endpoint in a second). It runs in a process of its own (``fake_jira_host``).
- As in the GitHub benchmark, the integration is created through the config API's handler, its first sync
  job is the one that handler queued, later ones are queued by ``POST /integrations/{id}/sync``, and each
  job is given to the sync worker's handler as Lambda's SQS event source would; continuations run the same
  way until the queue is empty. The worker's backfill is set to two years (``BACKFILL_DAYS=730``) so that
  every generated issue is in the first sync (by default it reads issues changed in the last year, and
  every unresolved one).
- Then ``GET /integrations/{id}/metrics`` for a 90-day window (explicit ``since`` and ``until``) through the
  API handler: cold (no cached document for the window) and warm (the same request again).

Two passes, each in a process of its own, as for GitHub:

- ``run_timed``: AWS is moto's ``mock_aws`` in this process. Measured: requests as the fake logged them (by
  endpoint; burst refusals included), wall time of the handler invocations and its split between waiting
  for Jira (``ProviderHttp.request``), storing records (``DynamoRecordStore.put_many``), the metrics refresh
  after the sync and the rest; records written (each Put of a fenced transaction that landed) by kind. For
  the metrics calls: wall time of the API handler, split between reading records (``updated_since``: the
  Query pages and decoding each record) and computing (``JiraAdapter.compute_metrics``).
- ``run_memory``: the same syncs and metrics calls against moto's server in another process, for the
  worker's peak RSS and ``tracemalloc`` peak per handler call (as ``github_sync.run_memory`` measures them).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import resource
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import context_for, moto_server, moto_stack, progress
from benchmarks.fake_jira_host import RemoteFakeJira
from benchmarks.github_sync import Api, Meter, Scenario, Worker, instrument, peak_rss_mib, reset_peak_rss, rss_mib

ISSUES = 50_000
SPRINTS = 12
LATENCY_MS = 60
BURST = (10, 1.0)
SEED = 9
CHANGED_ISSUES = 20
BACKFILL_DAYS = 730
WINDOW_DAYS = 90
TEAM = "team_bench_jira"
INCREMENTAL_LIMIT = 4
UNCHANGED_LIMIT = 3
KINDS = ("jira_issue", "jira_sprint", "jira_status", "jira_board")
LATER_S = 1.1
"""An hourly sync comes later than the last one: a job asked for within the second a sync started (times are
kept to the second) counts as covered by it and is coalesced. The benchmark waits this long instead of an hour."""


def full_sync_limit(issues: int, histories: int, sprints: int) -> int:
    """Issue 9's budget: 1 request per 100 issues, plus 1 per 1,000 histories, plus 2 per sprint, plus 10."""
    return math.ceil(issues / 100) + math.ceil(histories / 1000) + 2 * sprints + 10


@dataclass
class JiraScenario(Scenario):
    jira_requests: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)
    burst_refused: int = 0

    @property
    def requests(self) -> int:
        return self.jira_requests


@dataclass
class MetricsCall:
    name: str
    status: int = 0
    wall_s: float = 0.0
    read_s: float = 0.0
    compute_s: float = 0.0
    other_s: float = 0.0
    records_read: int = 0
    peak_rss_mib: float | None = None
    tracemalloc_peak_mib: float | None = None
    issues_created: int | None = None
    issues_resolved: int | None = None
    backlog: int | None = None


@dataclass
class MetricsMeter:
    read_s: float = 0.0
    compute_s: float = 0.0
    records: int = 0

    def reset(self) -> None:
        self.read_s = self.compute_s = 0.0
        self.records = 0


_METRICS_METER: list[MetricsMeter] = []


def instrument_metrics(adapter: type | None = None) -> MetricsMeter:
    """Time, in this process only, the record reads of the metrics (``updated_since``: Query pages and
    decoding, as the caller consumes them) and the calculators of ``adapter`` (Jira's by default)."""
    from agiletrack.adapters.providers.jira.adapter import JiraAdapter

    target = adapter or JiraAdapter
    if _METRICS_METER:
        meter = _METRICS_METER[0]
        _time_compute(meter, target)
        return meter
    from agiletrack.adapters.aws.records import DynamoRecordStore

    meter = MetricsMeter()
    updated_since = DynamoRecordStore.updated_since

    def timed_updated_since(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        records = updated_since(self, *args, **kwargs)
        while True:
            started = time.perf_counter()
            try:
                record = next(records)
            except StopIteration:
                meter.read_s += time.perf_counter() - started
                return
            meter.read_s += time.perf_counter() - started
            meter.records += 1
            yield record

    DynamoRecordStore.updated_since = timed_updated_since  # type: ignore[method-assign]
    _time_compute(meter, target)
    _METRICS_METER.append(meter)
    return meter


def _time_compute(meter: MetricsMeter, adapter: Any) -> None:
    """Wrap ``adapter.compute_metrics`` (once) to add its time to ``meter.compute_s``."""
    if getattr(adapter, "_bench_timed", False):
        return
    compute = adapter.compute_metrics

    def timed_compute(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return compute(self, *args, **kwargs)
        finally:
            meter.compute_s += time.perf_counter() - started

    adapter.compute_metrics = timed_compute
    adapter._bench_timed = True


class QueryApi(Api):
    def get(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        from devstack.api_gateway import lambda_response
        from tests.integration.conftest import api_event

        result = self.handler(api_event("GET", path, self.team_id, query=query), context_for(self.spec))
        response = lambda_response(result)
        return response.status, (json.loads(response.body) if response.body else None)


@dataclass
class Pass:
    jira: RemoteFakeJira
    resources: Any
    trace_memory: bool
    scenarios: list[JiraScenario] = field(default_factory=list)
    metrics_calls: list[MetricsCall] = field(default_factory=list)
    integration_id: str = ""
    touched: list[str] = field(default_factory=list)
    validation_calls: dict[str, Any] = field(default_factory=dict)
    window: dict[str, str] = field(default_factory=dict)

    def run(self) -> None:
        meter = instrument()
        metrics_meter = instrument_metrics()
        api = QueryApi(TEAM)
        worker = Worker(self.resources, meter, trace_memory=self.trace_memory)
        jira = self.jira
        jira.reset_calls()
        status, created = api.call("POST", "/integrations", {"type": "jira", "config": jira.config})
        if status != 201:
            raise RuntimeError(f"creating the integration answered {status}: {created}")
        self.integration_id = created["id"]
        self.validation_calls = jira.calls()
        shape = jira.shape

        progress("  (a) first full sync")
        full = self._scenario("full", worker, api)
        full.limit = full_sync_limit(shape["issues"], shape["histories"], shape["sprints"])
        full.checks |= {
            "requests within budget": full.requests <= full.limit,
            "every issue written once": full.written_by_kind.get("jira_issue", 0) == shape["issues"],
        }

        progress(f"  (b) hourly sync after {CHANGED_ISSUES} issues changed")
        self.touched = jira.touch(CHANGED_ISSUES)
        time.sleep(LATER_S)
        queued = self._trigger(api)
        changed = self._scenario("changed", worker, api)
        changed.checks["sync queued by the API"] = queued
        changed.limit = INCREMENTAL_LIMIT
        changed.checks |= {
            "requests within budget": changed.requests <= changed.limit,
            "only the changed records written": changed.written_ids == sorted(f"jira_issue:{i}" for i in self.touched),
        }

        progress("  (c) hourly sync with nothing changed")
        time.sleep(LATER_S)
        queued = self._trigger(api)
        unchanged = self._scenario("unchanged", worker, api)
        unchanged.checks["sync queued by the API"] = queued
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

        progress(f"  (d) GET /integrations/{{id}}/metrics, a {WINDOW_DAYS}-day window, cold then warm")
        until = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        since = until - dt.timedelta(days=WINDOW_DAYS)
        self.window = {
            "since": since.isoformat().replace("+00:00", "Z"),
            "until": until.isoformat().replace("+00:00", "Z"),
        }
        self.metrics_calls = [self._metrics(name, api, metrics_meter) for name in ("cold", "warm")]

    def _trigger(self, api: Api) -> bool:
        code, answer = api.call("POST", f"/integrations/{self.integration_id}/sync")
        return code == 202 and not (answer or {}).get("coalesced")

    def _scenario(self, name: str, worker: Worker, api: Api) -> JiraScenario:
        scenario = JiraScenario(name)
        meter = worker.meter
        meter.reset()
        self.jira.reset_calls()
        worker.drain(scenario)
        calls = self.jira.calls()
        scenario.jira_requests, scenario.by_endpoint = calls["requests"], calls["by_endpoint"]
        scenario.burst_refused = calls["burst_refused"]
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

    def _metrics(self, name: str, api: QueryApi, meter: MetricsMeter) -> MetricsCall:
        call = MetricsCall(name)
        meter.reset()
        if self.trace_memory:
            reset_peak_rss()
            tracemalloc.start()
        started = time.perf_counter()
        try:
            call.status, document = api.get(f"/integrations/{self.integration_id}/metrics", self.window)
        finally:
            call.wall_s = time.perf_counter() - started
            if self.trace_memory:
                call.tracemalloc_peak_mib = tracemalloc.get_traced_memory()[1] / 1024 / 1024
                tracemalloc.stop()
                call.peak_rss_mib = peak_rss_mib()
        call.read_s, call.compute_s, call.records_read = meter.read_s, meter.compute_s, meter.records
        call.other_s = max(0.0, call.wall_s - call.read_s - call.compute_s)
        metrics = (document or {}).get("metrics") or {}
        issues = metrics.get("issues") or {}
        call.issues_created, call.issues_resolved = issues.get("created"), issues.get("resolved")
        call.backlog = ((metrics.get("now") or {}).get("backlog") or {}).get("total")
        return call


def _fake_jira() -> RemoteFakeJira:
    return RemoteFakeJira(issues=ISSUES, sprints=SPRINTS, seed=SEED, latency_ms=LATENCY_MS, burst=BURST)


def _held_records(resources: Any, integration_id: str) -> dict[str, int]:
    """Records held per kind, read from moto's backend (a COUNT Query through moto would scan the table)."""
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[resources.account_id][resources.region].tables[resources.tables["RecordsTable"]]
    sizes = {str(getattr(key, "value", key)): len(items) for key, items in table.items.items()}
    return {kind: sizes.get(f"{integration_id}#{kind}", 0) for kind in KINDS}


def _prepare(jira: RemoteFakeJira) -> None:
    os.environ["SSL_CERT_FILE"] = jira.ca_file
    os.environ["BACKFILL_DAYS"] = str(BACKFILL_DAYS)
    from agiletrack.settings import get_settings

    get_settings.cache_clear()


def _as_dict(call: MetricsCall) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(call)


def run_timed() -> dict[str, Any]:
    started = time.perf_counter()
    progress(f"jira sync, timed: generating the project ({ISSUES} issues, {SPRINTS} sprints)")
    with _fake_jira() as jira:
        saved = dict(os.environ)
        try:
            _prepare(jira)
            with moto_stack() as resources:
                _prepare(jira)
                setup_s = time.perf_counter() - started
                sync = Pass(jira, resources, trace_memory=False)
                sync.run()
                held = _held_records(resources, sync.integration_id)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        shape = jira.shape
    full = sync.scenarios[0]
    full.checks["every issue stored"] = held["jira_issue"] == shape["issues"]
    cold, warm = sync.metrics_calls
    return {
        "project": shape,
        "latency_ms": LATENCY_MS,
        "burst": list(BURST),
        "backfill_days": BACKFILL_DAYS,
        "validation_calls": sync.validation_calls,
        "records_held_after": held,
        "touched_issues": sync.touched,
        "scenarios": [s.as_dict() for s in sync.scenarios],
        "window": sync.window,
        "metrics_calls": [_as_dict(c) for c in sync.metrics_calls],
        "metrics_checks": {
            "both answered 200": cold.status == warm.status == 200,
            "the warm call read no record": warm.records_read == 0,
            "the cold call read every issue": cold.records_read >= shape["issues"],
        },
        "process_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "setup_s": round(setup_s, 1),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def run_memory() -> dict[str, Any]:
    started = time.perf_counter()
    progress("jira sync, memory: the same syncs and metrics calls with tracemalloc, AWS in moto's server")
    with _fake_jira() as jira:
        saved = dict(os.environ)
        try:
            _prepare(jira)
            with moto_server("jira_sync_memory_moto") as resources:
                _prepare(jira)
                sync = Pass(jira, resources, trace_memory=True)
                sync.run()
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return {
        "scenarios": [s.as_dict() for s in sync.scenarios],
        "metrics_calls": [_as_dict(c) for c in sync.metrics_calls],
        "elapsed_s": round(time.perf_counter() - started, 1),
        "rss_now_mib": round(rss_mib(), 1),
    }


__all__ = ["Meter", "run_memory", "run_timed"]
