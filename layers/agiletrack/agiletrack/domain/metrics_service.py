"""Serves ``GET /integrations/{id}/metrics``: the window, the records it needs, the cache.

- The window is ``[since, until)``; by default the 30 days that end now.
- Only records changed since ``since`` are read (a Query on the ``by_updated`` index), except for the
  kinds an adapter measures as a snapshot of now (``snapshot_kinds``), which are read whole.
- The document carries the adapter's ``metrics`` and ``series`` (weekly series for charts), computed in one call.
- A computed document is cached in the metrics table with the integration's ``data_changed_at``; it
  is served again until the records change. The default window moves with the clock, so its cached
  document is reused only while nothing changed and for at most ``DEFAULT_WINDOW_REUSE``.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from agiletrack.adapters.providers.base import ProviderAdapter
from agiletrack.domain.ports import MetricsCache, RecordStore
from agiletrack.errors import ValidationFailed
from agiletrack.metrics.window import DEFAULT_DAYS, Window
from agiletrack.models.common import iso, iso_short, parse_iso, utcnow
from agiletrack.models.integrations import Integration
from agiletrack.models.records import Record

DEFAULT_WINDOW_REUSE = timedelta(seconds=60)
MAX_WINDOW = timedelta(days=3 * 366)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
"""Window ends outside ``[EARLIEST, LATEST]`` are refused: the calculators step days and weeks past the
ends, which near year 1 or 9999 leaves the range of dates."""
NEVER_CHANGED = "never"
DOCUMENT_FORMAT = "series1"
"""The shape of the document, part of every cached version: a document cached by code that built another shape
(before ``series``) does not match and is computed again, rather than served without ``series`` until the records
change."""
DEFAULT_KEY = "default|-"
"""The cache key of the default window's document without extra parameters (what a sync refreshes)."""


def _parse_bound(name: str, value: str | None) -> datetime | None:
    if value is None:  # absent; an empty value is not a date (the document says date-time) and is refused
        return None
    try:
        instant = parse_iso(value)
    except ValueError as exc:
        raise ValidationFailed(
            f"{name} is not an ISO 8601 date or time: {value[:64]!r}.",
            details=[{"field": name, "reason": "not ISO 8601"}],
        ) from exc
    if not EARLIEST <= instant <= LATEST:
        raise ValidationFailed(
            f"{name} must be between {iso_short(EARLIEST)} and {iso_short(LATEST)}.",
            details=[{"field": name, "reason": "out of range"}],
        )
    return instant


def parse_window(since: str | None, until: str | None, now: datetime) -> tuple[Window, bool]:
    """(the window, whether it is the default one). Bad input raises ``ValidationFailed`` (422)."""
    start = _parse_bound("since", since)
    end = _parse_bound("until", until)
    is_default = start is None and end is None
    end = end or now
    start = start or end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise ValidationFailed(
            "since must be before until.", details=[{"field": "since", "reason": "not before until"}]
        )
    if end - start > MAX_WINDOW:
        raise ValidationFailed("The window may span at most three years.")
    return Window(since=start, until=end), is_default


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the records are decoded and measured. Tens of thousands of
    records (each a model with its history) and the timelines built from them are millions of young objects,
    none of them cyclic garbage: each collection the allocations trigger walks them all again, which made
    reading and computing 50,000 Jira issues three to five times slower. Reference counting still frees
    everything; the collector is back on (as it was) at the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class MetricsService:
    def __init__(
        self,
        *,
        records: RecordStore,
        cache: MetricsCache,
        adapter_for: Callable[[str], ProviderAdapter],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.records = records
        self.cache = cache
        self.adapter_for = adapter_for
        self.clock = clock

    def document(
        self,
        integration: Integration,
        since: str | None = None,
        until: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        now = self.clock()
        window, is_default = parse_window(since, until, now)
        extra = {k: v for k, v in sorted((params or {}).items()) if v not in (None, "")}
        version = self._version(integration)
        key = self._key(window, is_default, extra)
        cached = self.cache.get(integration.id, key)
        if cached is not None:
            document, cached_version, computed_at = cached
            fresh_enough = not is_default or now - parse_iso(computed_at) <= DEFAULT_WINDOW_REUSE
            if cached_version == version and fresh_enough:
                return document
        document = self.compute(integration, window, now, extra)
        self.cache.put(integration.id, key, document, version, iso(now))
        return document

    def compute(
        self, integration: Integration, window: Window, now: datetime, params: Mapping[str, str]
    ) -> dict[str, Any]:
        adapter = self.adapter_for(integration.type)
        snapshot_kinds = set(adapter.snapshot_kinds)
        records: dict[str, list[Record]] = {}
        with gc_paused():
            for record_type in adapter.record_types:
                kind = record_type.kind
                since = None if kind in snapshot_kinds else window.since
                records[kind] = [r for r in self.records.updated_since(integration.id, kind, since) if not r.deleted]
            # The public config (no credentials) is all a calculator needs: branch, workflow lists, board.
            config = adapter.config_model.model_construct(**integration.config)
            measured = adapter.compute_metrics(records, window.since, window.until, now, config, params)
        return {
            "integration_id": integration.id,
            "type": integration.type,
            "window": {"since": iso_short(window.since), "until": iso_short(window.until)},
            "generated_at": iso_short(now),
            "metrics": measured.metrics,
            "series": measured.series,
        }

    def refresh_default(self, integration: Integration) -> None:
        """Compute and cache the default window's document after a sync that changed the data, so the next read
        is warm. After a sync that changed nothing the cached document is of the same data: computing it again
        would only move its window (which a read does anyway after ``DEFAULT_WINDOW_REUSE``), at the price of
        reading every snapshot record each hour."""
        cached = self.cache.get(integration.id, DEFAULT_KEY)
        if cached is not None and cached[1] == self._version(integration):
            return
        self.document(integration)

    @staticmethod
    def _version(integration: Integration) -> str:
        changed = iso(integration.data_changed_at) if integration.data_changed_at else NEVER_CHANGED
        return f"{DOCUMENT_FORMAT}|{changed}"

    @staticmethod
    def _key(window: Window, is_default: bool, params: Mapping[str, str]) -> str:
        suffix = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12] if params else "-"
        if is_default:
            return DEFAULT_KEY if suffix == "-" else f"default|{suffix}"
        return f"{iso(window.since)}|{iso(window.until)}|{suffix}"
