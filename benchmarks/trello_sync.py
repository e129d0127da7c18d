"""Benchmark 5: the Trello pull sync and the Trello metrics, through the real handlers, against moto and a fake
Trello over HTTP.

- ``FakeTrello`` (``tests/fakes/trello.py``) serves a generated board of 20,000 cards and 200,000 actions (5
  lists, 6 labels, members and a former one) on 127.0.0.1 from a process of its own (``fake_trello_host``),
  with 50 ms of latency per request and Trello's limits enforced (100 requests per 10 s per token, 300 per key:
  a 429 past them, counted).
- As in the GitHub and Jira benchmarks, the integration is created through the config API's handler (its
  credential check goes to the fake: ``TRELLO_API_URL``); its config has no ``api_secret``, so no webhook is
  registered (the integration is synced every hour only). Its first sync job is the one that handler queued,
  later ones are queued by ``POST /integrations/{id}/sync``, and each job is given to the sync worker's handler
  as Lambda's SQS event source would; continuations run the same way until the queue is empty.
- Three syncs: the first full sync, an hourly sync after 10 new actions (moves and comments), an idle hourly
  sync. Then ``GET /integrations/{id}/metrics`` for a 90-day window (explicit ``since`` and ``until``) through
  the API handler: cold (no cached document for the window) and warm (the same request again).

Two passes, each in a process of its own:

- ``run_timed``: AWS is moto's ``mock_aws`` in this process (with ``devstack.moto_fixes``). Measured: requests
  and 429s as the fake counted them (by endpoint), wall time of the handler invocations and its split between
  waiting for Trello (``ProviderHttp.request``, the client's pacing sleeps included in the rest), storing
  records (``DynamoRecordStore.put_many``), the metrics refresh after the sync and the rest; records written
  (each Put of a fenced transaction that landed) by kind. For the metrics calls: wall time of the API handler,
  split between reading records (``updated_since``) and computing (``TrelloAdapter.compute_metrics``).
- ``run_memory``: the same syncs and metrics calls against moto's server in another process, for the worker's
  and the API's peak RSS and ``tracemalloc`` peak per handler call (as ``jira_sync.run_memory``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import resource
import time
import tracemalloc
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.common import moto_server, moto_stack, progress
from benchmarks.fake_trello_host import RemoteFakeTrello
from benchmarks.github_sync import Api, Scenario, Worker, instrument, peak_rss_mib, reset_peak_rss, rss_mib
from benchmarks.jira_sync import LATER_S, MetricsMeter, QueryApi, instrument_metrics

CARDS, ACTIONS, LISTS, SPAN_DAYS = 20_000, 200_000, 5, 180
LATENCY_S = 0.05
NEW_ACTIONS = 10
FIRST_LIMIT, HOURLY_LIMIT, IDLE_LIMIT = 215, 2, 2
WINDOW_DAYS = 90
TEAM = "team_bench_trello"
KINDS = ("trello_action", "trello_card", "trello_list", "trello_label", "trello_member")
_ID = re.compile(r"/[0-9a-fA-F]{24}(?=/|$)")


def _route(path: str) -> str:
    """A request's endpoint: its path with Trello ids as ``{id}``."""
    return _ID.sub("/{id}", path)


@dataclass
class TrelloScenario(Scenario):
    trello_requests: int = 0
    throttled: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return self.trello_requests


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
    rss_before_mib: float | None = None
    tracemalloc_peak_mib: float | None = None
    moves_total: int | None = None
    throughput_total: int | None = None
    document: dict[str, Any] = field(default_factory=dict)


@dataclass
class Pass:
    trello: RemoteFakeTrello
    resources: Any
    trace_memory: bool
    scenarios: list[TrelloScenario] = field(default_factory=list)
    metrics_calls: list[MetricsCall] = field(default_factory=list)
    integration_id: str = ""
    new_actions: list[str] = field(default_factory=list)
    validation_calls: dict[str, Any] = field(default_factory=dict)
    window: dict[str, str] = field(default_factory=dict)

    def run(self) -> None:
        from agiletrack.adapters.providers.trello.adapter import TrelloAdapter

        meter = instrument()
        metrics_meter = instrument_metrics(TrelloAdapter)
        api = QueryApi(TEAM)
        worker = Worker(self.resources, meter, trace_memory=self.trace_memory)
        trello = self.trello
        trello.reset()
        config = {k: v for k, v in trello.config.items() if k != "api_secret"}
        status, created = api.call("POST", "/integrations", {"type": "trello", "config": config})
        if status != 201:
            raise RuntimeError(f"creating the integration answered {status}: {created}")
        self.integration_id = created["id"]
        self.validation_calls = _calls(trello)

        progress("  (a) first full sync")
        first = self._scenario("first", worker, api)
        first.limit = FIRST_LIMIT
        first.checks |= {
            "requests within budget": first.requests <= first.limit,
            "no 429 served": first.throttled == 0,
            "every action written once": first.written_by_kind.get("trello_action", 0) == ACTIONS,
        }

        progress(f"  (b) hourly sync after {NEW_ACTIONS} new actions")
        self.new_actions = trello.new_actions(NEW_ACTIONS)
        time.sleep(LATER_S)
        queued = self._trigger(api)
        hourly = self._scenario("hourly", worker, api)
        hourly.checks["sync queued by the API"] = queued
        hourly.limit = HOURLY_LIMIT
        written_actions = sorted(rid for kind, rid in _written(hourly) if kind == "trello_action")
        hourly.checks |= {
            "requests within budget": hourly.requests <= hourly.limit,
            "the new actions written": written_actions == sorted(self.new_actions),
        }

        progress("  (c) idle hourly sync")
        time.sleep(LATER_S)
        queued = self._trigger(api)
        idle = self._scenario("idle", worker, api)
        idle.checks["sync queued by the API"] = queued
        idle.limit = IDLE_LIMIT
        idle.checks |= {
            "requests within budget": idle.requests <= idle.limit,
            "no record written": idle.records_written == 0,
        }
        for scenario in (first, hourly, idle):
            scenario.checks["every job succeeded"] = not scenario.failures and scenario.last_sync.get("outcome") == (
                "success"
            )
        self.scenarios = [first, hourly, idle]

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

    def _scenario(self, name: str, worker: Worker, api: Api) -> TrelloScenario:
        scenario = TrelloScenario(name)
        meter = worker.meter
        meter.reset()
        self.trello.reset()
        worker.drain(scenario)
        calls = _calls(self.trello)
        scenario.trello_requests, scenario.throttled = calls["requests"], calls["throttled"]
        scenario.by_endpoint = calls["by_endpoint"]
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
            call.rss_before_mib = round(rss_mib(), 1)
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
        call.document = document or {}
        metrics = call.document.get("metrics") or {}
        call.moves_total = ((metrics.get("cards") or {}).get("moves") or {}).get("total")
        call.throughput_total = ((metrics.get("lists") or {}).get("throughput") or {}).get("total")
        return call


def _written(scenario: TrelloScenario) -> list[tuple[str, str]]:
    return [tuple(entry.split(":", 1)) for entry in scenario.written_ids]  # type: ignore[misc]


def _calls(trello: RemoteFakeTrello) -> dict[str, Any]:
    counters = trello.counters()
    return {
        "requests": counters["requests"],
        "throttled": counters["throttled"],
        "by_endpoint": dict(Counter(map(_route, counters["paths"]))),
    }


def _fake_trello() -> RemoteFakeTrello:
    return RemoteFakeTrello(cards=CARDS, actions=ACTIONS, lists=LISTS, span_days=SPAN_DAYS, latency_s=LATENCY_S)


def _prepare(trello: RemoteFakeTrello) -> None:
    os.environ["TRELLO_API_URL"] = trello.api_url
    from agiletrack.settings import get_settings

    get_settings.cache_clear()


def _held_records(resources: Any, integration_id: str) -> dict[str, int]:
    """Records held per kind, read from moto's backend (a COUNT Query through moto would scan the table)."""
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[resources.account_id][resources.region].tables[resources.tables["RecordsTable"]]
    sizes = {str(getattr(key, "value", key)): len(items) for key, items in table.items.items()}
    return {kind: sizes.get(f"{integration_id}#{kind}", 0) for kind in KINDS}


def _calls_as_dicts(calls: list[MetricsCall]) -> list[dict[str, Any]]:
    return [{k: v for k, v in asdict(call).items() if k != "document"} for call in calls]


def run_timed() -> dict[str, Any]:
    started = time.perf_counter()
    progress(f"trello sync, timed: generating the board ({CARDS} cards, {ACTIONS} actions) in the fake's process")
    with _fake_trello() as trello:
        saved = dict(os.environ)
        try:
            with moto_stack() as resources:
                _prepare(trello)
                setup_s = time.perf_counter() - started
                sync = Pass(trello, resources, trace_memory=False)
                sync.run()
                held = _held_records(resources, sync.integration_id)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        shape = trello.shape
    first = sync.scenarios[0]
    first.checks["every action stored (and the new ones after (b))"] = held["trello_action"] == shape["actions"] + len(
        sync.new_actions
    )
    cold, warm = sync.metrics_calls
    return {
        "board": shape,
        "cards_created": CARDS,
        "latency_ms": int(LATENCY_S * 1000),
        "validation_calls": sync.validation_calls,
        "new_actions": sync.new_actions,
        "records_held_after": held,
        "scenarios": [s.as_dict() for s in sync.scenarios],
        "limits": {"first": FIRST_LIMIT, "hourly": HOURLY_LIMIT, "idle": IDLE_LIMIT},
        "window": sync.window,
        "window_days": WINDOW_DAYS,
        "metrics_calls": _calls_as_dicts(sync.metrics_calls),
        "metrics_checks": {
            "both answered 200": cold.status == warm.status == 200,
            "the warm call read no record": warm.records_read == 0,
            "the warm answer is the cold one": warm.document == cold.document,
        },
        "process_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "setup_s": round(setup_s, 1),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def run_memory() -> dict[str, Any]:
    started = time.perf_counter()
    progress("trello sync, memory: the same syncs and metrics calls with tracemalloc, AWS in moto's server")
    with _fake_trello() as trello:
        saved = dict(os.environ)
        try:
            with moto_server("trello_sync_memory_moto") as resources:
                _prepare(trello)
                sync = Pass(trello, resources, trace_memory=True)
                sync.run()
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return {
        "scenarios": [s.as_dict() for s in sync.scenarios],
        "metrics_calls": _calls_as_dicts(sync.metrics_calls),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "rss_now_mib": round(rss_mib(), 1),
    }


__all__ = ["run_memory", "run_timed"]
