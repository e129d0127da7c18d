"""Benchmark: the Trello pull against a fake Trello over HTTP, and the Trello metrics answer.

- ``FakeTrello`` (``tests/fakes/trello.py``) serves a generated board of 20,000 cards and 200,000 actions (5
  lists, 6 labels, members and a former one) on 127.0.0.1 from a process of its own (``fake_trello_host``),
  with 50 ms of latency per request and Trello's limits enforced (100 requests per 10 s per token, 300 per key:
  a 429 past them, counted).
- Three syncs, each the adapter's pull run page by page exactly as the sync engine runs it (the records of a
  page stored, then its cursor kept for the next sync): a first full sync, an hourly sync after 10 new actions,
  and an idle hourly sync. Measured: requests and 429s as the fake counted them, wall time, records written and
  the worker's peak RSS (``VmHWM``, reset before each sync) and its growth over the sync.
- The records go to a record store held in memory that applies the DynamoDB store's own write rule (it builds
  each conditional Put with ``DynamoRecordStore._put`` and lands it only when ``updated_at`` is later, or the
  same with another content hash), so "records written" is what the real store would write. moto is not used
  here: at 220,000 records its TransactWriteItems copies the tables on every call and would take hours; the
  GitHub benchmark measures the store through moto. The held records (JSON, as DynamoDB holds them) count in the
  RSS: ``store_mib`` says how much.
- The metrics answer for a 90-day window through the real ``MetricsService`` over that store: cold (every
  record read whole and measured, then cached) and warm (the cached document, data unchanged).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from benchmarks.common import DUMMY_AWS_ENV, progress
from benchmarks.fake_trello_host import RemoteFakeTrello
from benchmarks.github_sync import peak_rss_mib, reset_peak_rss, rss_mib

CARDS, ACTIONS, LISTS, SPAN_DAYS = 20_000, 200_000, 5, 180
LATENCY_S = 0.05
NEW_ACTIONS = 10
FIRST_LIMIT, HOURLY_LIMIT, IDLE_LIMIT = 215, 2, 2
METRICS_DAYS = 90
BACKFILL_DAYS = 365


class MemoryRecordStore:
    """Records held in memory under the DynamoDB store's own conditional-write rule (see the module doc)."""

    def __init__(self) -> None:
        import os

        os.environ.update(DUMMY_AWS_ENV)
        from agiletrack.adapters.aws.records import DynamoRecordStore

        self.rule = DynamoRecordStore("bench-records")
        self.items: dict[tuple[str, str], tuple[str, str, str]] = {}
        """(kind, id) → (updated_at, content hash, data)."""

    def put_many(self, integration_id: str, records: Iterable[Any], *, generation: int | None = None) -> int:
        written = 0
        for record in records:
            put = self.rule._put(integration_id, record, generation)
            item = put["Item"]
            updated, digest, data = item["updated_at"]["S"], item["h"]["S"], item["data"]["S"]
            key = (record.kind, record.id)
            held = self.items.get(key)
            if held is None or held[0] < updated or (held[0] == updated and held[1] != digest):
                self.items[key] = (updated, digest, data)
                written += 1
        return written

    def updated_since(self, integration_id: str, kind: str, since: datetime | None) -> Iterator[Any]:  # noqa: ARG002
        from agiletrack.adapters.providers.registry import record_type
        from agiletrack.models.common import iso

        decode = record_type(kind).model_validate_json
        floor = iso(since) if since is not None else ""
        for (held_kind, _), (updated, _, data) in self.items.items():
            if held_kind == kind and updated >= floor:
                yield decode(data)

    def count(self, kind: str) -> int:
        return sum(1 for held_kind, _ in self.items if held_kind == kind)

    def size_mib(self) -> float:
        return sum(len(data) + 100 for _, _, data in self.items.values()) / 1024 / 1024


class MemoryCache:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], tuple[dict[str, Any], str, str]] = {}

    def get(self, integration_id: str, key: str) -> tuple[dict[str, Any], str, str] | None:
        return self.items.get((integration_id, key))

    def put(self, integration_id: str, key: str, document: dict[str, Any], data_version: str, at: str) -> None:
        self.items[(integration_id, key)] = (document, data_version, at)

    def delete_all(self, integration_id: str) -> None:
        self.items = {k: v for k, v in self.items.items() if k[0] != integration_id}


def _sync(
    name: str, adapter: Any, config: Any, credentials: dict[str, str], cursor: dict[str, Any], store: Any, fake: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    from agiletrack.adapters.providers.base import PullContext
    from agiletrack.models.common import utcnow

    fake.reset()
    ctx = PullContext(
        integration_id="int_bench",
        config=config,
        credentials=credentials,
        cursor=cursor,
        backfill_since=utcnow() - timedelta(days=BACKFILL_DAYS),
    )
    rss_before = rss_mib()
    reset_peak_rss()
    written: dict[str, int] = {}
    pages = 0
    started = time.perf_counter()
    for page in adapter.pull(ctx):
        pages += 1
        for record in page.records:
            if store.put_many(ctx.integration_id, [record]):
                written[record.kind] = written.get(record.kind, 0) + 1
        cursor = page.cursor
        if page.done:
            break
    wall = time.perf_counter() - started
    counters = fake.counters()
    result = {
        "name": name,
        "requests": counters["requests"],
        "throttled": counters["throttled"],
        "worker_calls": ctx.stats.calls,
        "pages": pages,
        "wall_s": round(wall, 2),
        "records_written": sum(written.values()),
        "written_by_kind": written,
        "rss_before_mib": round(rss_before, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "store_mib": round(store.size_mib(), 1),
    }
    progress(f"  {name}: {result['requests']} requests, {result['records_written']} written, {wall:.1f} s")
    return result, cursor


def run() -> dict[str, Any]:
    started = time.perf_counter()
    progress(f"trello sync: generating the board ({CARDS} cards, {ACTIONS} actions) in the fake's process")
    options = {"cards": CARDS, "actions": ACTIONS, "lists": LISTS, "span_days": SPAN_DAYS, "latency_s": LATENCY_S}
    with RemoteFakeTrello(**options) as fake:
        from agiletrack.adapters.providers.trello.adapter import TrelloAdapter
        from agiletrack.adapters.providers.trello.config import TrelloConfig
        from agiletrack.domain.metrics_service import MetricsService
        from agiletrack.models.common import iso, utcnow
        from agiletrack.models.integrations import Integration

        setup_s = time.perf_counter() - started
        full_config = fake.config
        config = TrelloConfig.model_validate(full_config)
        credentials = {k: full_config[k] for k in ("api_key", "api_token", "api_secret")}
        adapter = TrelloAdapter(api_url=fake.api_url)
        store = MemoryRecordStore()
        first, cursor = _sync("first", adapter, config, credentials, {}, store, fake)
        made = fake.new_actions(NEW_ACTIONS)
        hourly, cursor = _sync("hourly", adapter, config, credentials, cursor, store, fake)
        idle, cursor = _sync("idle", adapter, config, credentials, cursor, store, fake)
        shape = fake.shape

        public = {k: v for k, v in full_config.items() if k not in credentials}
        now = utcnow()
        integration = Integration(
            id="int_bench",
            team_id="team_bench",
            type="trello",
            name="bench",
            config=public,
            secret_name="bench",
            created_at=now,
            updated_at=now,
            data_changed_at=now,
        )
        service = MetricsService(records=store, cache=MemoryCache(), adapter_for=lambda _type: adapter)  # type: ignore[arg-type]
        window = {"since": iso(now - timedelta(days=METRICS_DAYS)), "until": iso(now)}
        began = time.perf_counter()
        document = service.document(integration, window["since"], window["until"])
        cold_s = time.perf_counter() - began
        began = time.perf_counter()
        again = service.document(integration, window["since"], window["until"])
        warm_s = time.perf_counter() - began
        metrics = document["metrics"]

    checks = {
        "first: requests within budget": first["requests"] <= FIRST_LIMIT,
        "first: no 429 served": first["throttled"] == 0,
        "first: every action stored": first["written_by_kind"].get("trello_action", 0) == ACTIONS,
        "hourly: requests within budget": hourly["requests"] <= HOURLY_LIMIT,
        "hourly: the new actions written": hourly["written_by_kind"].get("trello_action", 0) == NEW_ACTIONS,
        "idle: requests within budget": idle["requests"] <= IDLE_LIMIT,
        "idle: nothing written": idle["records_written"] == 0,
        "warm answer is the cached one": again == document,
    }
    return {
        "board": shape,
        "cards_created": CARDS,
        "latency_ms": int(LATENCY_S * 1000),
        "new_actions": made,
        "scenarios": [first, hourly, idle],
        "limits": {"first": FIRST_LIMIT, "hourly": HOURLY_LIMIT, "idle": IDLE_LIMIT},
        "held": {kind: store.count(kind) for kind in sorted({k for k, _ in store.items})},
        "metrics": {
            "window_days": METRICS_DAYS,
            "cold_s": round(cold_s, 2),
            "warm_ms": round(warm_s * 1000, 2),
            "moves_total": metrics["cards"]["moves"]["total"],
            "throughput_total": metrics["lists"]["throughput"]["total"],
        },
        "checks": checks,
        "passed": all(checks.values()),
        "setup_s": round(setup_s, 1),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
