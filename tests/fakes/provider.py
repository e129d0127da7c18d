"""A fake provider over HTTP on 127.0.0.1, and a test adapter that talks to it.

They prove the pipeline (sync engine, retries, leases, resumability) independently of any real
provider: the adapter goes through the same ``ProviderHttp`` client, so rate limits, auth failures
and server errors are classified exactly as for GitHub, Jira or Trello.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

from pydantic import BaseModel

from agiletrack.adapters.providers.base import (
    Measured,
    PullContext,
    PullPage,
    PullProgress,
    ValidationInfo,
    WebhookDelivery,
    WebhookResult,
    WebhookSecrets,
)
from agiletrack.adapters.providers.http import ProviderHttp
from agiletrack.adapters.providers.registry import register_extra
from agiletrack.adapters.providers.spec import ProviderSpec
from agiletrack.errors import InvalidPayload
from agiletrack.metrics.stats import weekly_series
from agiletrack.metrics.window import Window
from agiletrack.models.common import iso, parse_iso
from agiletrack.models.records import Record
from tests.fakes.server import FakeServer


class TestItem(Record):
    __test__ = False
    kind: ClassVar[str] = "test_item"
    value: int = 0


class FakeProvider(FakeServer):
    """Serves ``GET /items?since=&after=&limit=`` (items ordered by updated_at, then id) and can be told
    to fail: ``fail_next(status, headers, times)``; ``slow_ms`` delays every answer."""

    def __init__(self, items: int = 0, *, start: datetime | None = None) -> None:
        self.start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self.items: dict[str, dict[str, Any]] = {}
        for i in range(items):
            self.put(f"item-{i:05d}", self.start + timedelta(minutes=i), value=i)
        self.requests: list[str] = []
        self.failures: list[tuple[int, dict[str, str]]] = []
        self.slow_ms = 0
        self.lock = threading.Lock()
        super().__init__()

    def put(self, item_id: str, updated_at: datetime, value: int) -> None:
        self.items[item_id] = {"id": item_id, "updated_at": iso(updated_at), "value": value}

    def fail_next(self, status: int, headers: Mapping[str, str] | None = None, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([(status, dict(headers or {}))] * times)

    def respond(self, path: str, headers: Mapping[str, str]) -> tuple[int, Any, Mapping[str, str]]:
        self.requests.append(path)
        if self.slow_ms:
            time.sleep(self.slow_ms / 1000)
        with self.lock:
            failure = self.failures.pop(0) if self.failures else None
        if failure:
            return failure[0], {"message": "failure as asked"}, failure[1]
        if headers.get("authorization") != "Bearer good-token":
            return 401, {"message": "Bad credentials"}, {}
        query = {k: v[0] for k, v in parse_qs(urlparse(path).query).items()}
        since = query.get("since", "")
        after = query.get("after", "")
        limit = int(query.get("limit", "10"))
        ordered = sorted(self.items.values(), key=lambda it: (it["updated_at"], it["id"]))
        start = tuple(after.split("|", 1)) if after else ("", "")
        chosen = [it for it in ordered if it["updated_at"] >= since and (it["updated_at"], it["id"]) > start]
        page = chosen[:limit]
        more = len(chosen) > limit
        nxt = f"{page[-1]['updated_at']}|{page[-1]['id']}" if page and more else None
        return 200, {"items": page, "next": nxt}, {"x-ratelimit-remaining": "4999"}


class TestConfig(BaseModel):
    __test__ = False
    url: str
    token: str = ""


TEST_SPEC = ProviderSpec(
    name="test",
    config_model=TestConfig,
    credential_fields=("token",),
    scope_fields=("url",),
    default_name=lambda public: "Test",
    record_types=(TestItem,),
    generates_webhook_secret=True,
)
register_extra(TEST_SPEC)  # the record store decodes stored test items by kind


class TestAdapter:
    __test__ = False
    """Implements ``ProviderAdapter`` against ``FakeProvider``. Cursor: ``{"since", "after"}``; the
    high-water mark ``since`` moves only when a pull completes."""

    provider: ClassVar[str] = "test"
    config_model: ClassVar[type[BaseModel]] = TestConfig
    credential_fields: ClassVar[tuple[str, ...]] = ("token",)
    record_types: ClassVar[tuple[type[Record], ...]] = (TestItem,)
    signs_webhooks_with_generated_secret: ClassVar[bool] = True
    snapshot_kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(self, url: str, page_size: int = 10) -> None:
        self.url = url
        self.page_size = page_size

    def _http(self, ctx_stats: Any, token: str) -> ProviderHttp:
        return ProviderHttp(
            self.url,
            headers={"authorization": f"Bearer {token}"},
            stats=ctx_stats,
            timeout=5,
            transient_retries=1,
            backoff_base=0.01,
        )

    def validate(self, config: BaseModel, credentials: Mapping[str, str]) -> ValidationInfo:
        return ValidationInfo()

    def pull(self, ctx: PullContext) -> Iterator[PullPage]:
        since = ctx.cursor.get("since") or iso(ctx.backfill_since)
        after = ctx.cursor.get("after", "")
        high = ctx.cursor.get("high", since)
        with self._http(ctx.stats, ctx.credentials.get("token", "")) as http:
            while True:
                answer = http.get("/items", params={"since": since, "after": after, "limit": self.page_size})
                body = answer.json()
                records: list[Record] = [
                    TestItem(id=it["id"], updated_at=parse_iso(it["updated_at"]), value=it["value"])
                    for it in body["items"]
                ]
                for record in records:
                    high = max(high, iso(record.updated_at))
                # Items are read oldest first: the newest one read is how far forward the pull has come.
                progress = PullProgress("items", newest=parse_iso(high))
                if body["next"] is None:
                    yield PullPage(records, {"since": high, "after": "", "high": high}, done=True, progress=progress)
                    return
                after = body["next"]
                yield PullPage(records, {"since": since, "after": after, "high": high}, progress=progress)

    def delivery_id(self, delivery: WebhookDelivery) -> str | None:
        return delivery.headers.get("x-test-delivery")

    def verify_webhook(self, delivery: WebhookDelivery, secrets: WebhookSecrets) -> bool:
        import hashlib
        import hmac

        if not secrets.webhook_secret:
            return False
        expected = hmac.new(secrets.webhook_secret.encode(), delivery.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, delivery.headers.get("x-test-signature", ""))

    def webhook_payload(self, delivery: WebhookDelivery) -> Mapping[str, Any]:
        try:
            body = json.loads(delivery.body)
        except ValueError as exc:
            raise InvalidPayload("not JSON") from exc
        return dict(body)

    def parse_webhook(
        self, delivery: WebhookDelivery, config: BaseModel, provider_state: Mapping[str, Any] | None = None
    ) -> WebhookResult:
        body = json.loads(delivery.body)
        item = TestItem(id=body["id"], updated_at=parse_iso(body["updated_at"]), value=body["value"])
        return WebhookResult(event="item", records=[item])

    def merge_record(self, stored: Record, incoming: Record) -> Record:
        return incoming

    def refresh(self, config: BaseModel, credentials: Mapping[str, str], records: list[Record]) -> list[Record]:
        return records

    def compute_metrics(
        self,
        records: Mapping[str, list[Record]],
        since: datetime,
        until: datetime,
        now: datetime,
        config: BaseModel,
        params: Mapping[str, str],
    ) -> Measured:
        items = [r for r in records.get("test_item", []) if since <= r.updated_at < until]
        metrics = {"items": {"count": len(items), "total": sum(getattr(r, "value", 0) for r in items)}}
        return Measured(
            metrics=metrics, series={"items": weekly_series(Window(since, until), [(r.updated_at, 1) for r in items])}
        )
