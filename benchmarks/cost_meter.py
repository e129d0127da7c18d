"""What one invocation costs, metered on the local stack: every AWS call a function makes (botocore's
``before-parameter-build`` and ``after-call`` events on boto3's default session, which the functions' clients
come from, and on every session made later: Powertools' idempotency layer makes its own), turned into billing
units, and the bytes it writes to its log (stdout, where Powertools writes).

Billing units, as AWS documents them (https://aws.amazon.com/dynamodb/pricing/on-demand/):

- DynamoDB: a write is one write request unit (WRU) per started KB of the item written (for an update, the
  item after it, read back with an unmetered client), two per KB in a transaction; one more WRU per global
  secondary index whose keys the item holds. A read is one read request unit (RRU) per started 4 KB
  strongly consistent, half eventually consistent, two in a transaction; a Query or Scan adds up the sizes
  of the items it returns (scaled by ScannedCount / Count when a filter dropped some) before rounding.
  moto returns no ConsumedCapacity worth using, so item sizes are computed here (attribute names plus
  values, numbers at about one byte per two digits).
- SQS: one request per started 64 KB of a SendMessage or of a SendMessageBatch's payload.
- Secrets Manager, S3: one request per call.
"""

from __future__ import annotations

import math
import sys
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, TextIO

KB = 1024
SQS_CHUNK = 64 * KB


def _value_size(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return (len(str(data).lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum((len(n) + 1) // 2 + 1 for n in data)
    if kind == "BS":
        return sum(len(b) for b in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in data.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in data)
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    """An item's size as DynamoDB bills it: attribute names and values (the low-level format)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in (item or {}).items())


@dataclass
class Usage:
    """What invocations of one kind used, added up."""

    invocations: int = 0
    duration_ms: float = 0.0
    billed_ms: int = 0
    log_bytes: int = 0
    wru: float = 0.0
    rru: float = 0.0
    sqs_requests: int = 0
    secrets_calls: int = 0
    s3_requests: int = 0
    calls: Counter[str] = field(default_factory=Counter)

    def add(self, other: Usage) -> None:
        for name in ("invocations", "duration_ms", "billed_ms", "log_bytes", "wru", "rru"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.sqs_requests += other.sqs_requests
        self.secrets_calls += other.secrets_calls
        self.s3_requests += other.s3_requests
        self.calls.update(other.calls)

    def per_invocation(self) -> dict[str, Any]:
        n = max(self.invocations, 1)
        return {
            "invocations": self.invocations,
            "duration_ms": round(self.duration_ms / n, 2),
            "billed_ms": round(self.billed_ms / n, 2),
            "log_bytes": round(self.log_bytes / n, 1),
            "wru": round(self.wru / n, 3),
            "rru": round(self.rru / n, 3),
            "sqs_requests": round(self.sqs_requests / n, 3),
            "secrets_calls": round(self.secrets_calls / n, 3),
            "s3_requests": round(self.s3_requests / n, 3),
            "calls": {k: round(v / n, 3) for k, v in sorted(self.calls.items())},
        }


class CountingStdout:
    """Stands in for ``sys.stdout``: counts the bytes written by the thread's current invocation."""

    def __init__(self, meter: Meter, stream: TextIO) -> None:
        self._meter, self._stream = meter, stream

    def write(self, text: str) -> int:
        usage = self._meter.current()
        if usage is not None:
            usage.log_bytes += len(text.encode())
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class Meter:
    """Attributes each AWS call and log byte to the invocation running on its thread (``LambdaRuntime.invoke``
    runs a handler on the calling thread), under the phase the benchmark is in."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.phase = "setup"
        self.usage: dict[tuple[str, str], Usage] = defaultdict(Usage)
        self.gsi_keys: dict[str, list[list[str]]] = {}
        self._reader: Any = None

    # ------------------------------------------------------------ wiring
    def install(self, runtime: Any) -> None:
        import boto3

        self._reader = boto3.session.Session().client("dynamodb")  # before sessions are watched: unmetered
        self._watch(boto3._get_default_session())
        original_init = boto3.session.Session.__init__
        watch = self._watch

        def init(session: Any, *args: Any, **kwargs: Any) -> None:
            original_init(session, *args, **kwargs)
            watch(session)

        # Sessions made later (Powertools' idempotency layer makes its own client) are watched too.
        boto3.session.Session.__init__ = init  # type: ignore[method-assign,assignment]
        sys.stdout = CountingStdout(self, sys.stdout)
        for table in self._reader.list_tables()["TableNames"]:
            described = self._reader.describe_table(TableName=table)["Table"]
            self.gsi_keys[table] = [
                [k["AttributeName"] for k in index["KeySchema"]]
                for index in described.get("GlobalSecondaryIndexes", [])
            ]
        invoke = runtime.invoke

        def metered(logical_id: str, event: Any) -> Any:
            usage = Usage()
            self._local.usage = usage
            try:
                result = invoke(logical_id, event)
            finally:
                self._local.usage = None
            usage.invocations = 1
            usage.duration_ms = result.duration_ms
            usage.billed_ms = math.ceil(result.duration_ms)
            with self._lock:
                self.usage[(self.phase, logical_id)].add(usage)
            return result

        runtime.invoke = metered

    def _watch(self, session: Any) -> None:
        if getattr(session, "_bench_metered", False):
            return
        session._bench_metered = True
        session.events.register("before-parameter-build", self._remember_params)
        session.events.register("after-call", self._after_call)

    def reader(self) -> Any:
        """The unmetered DynamoDB client (created by ``install``)."""
        return self._reader

    def current(self) -> Usage | None:
        return getattr(self._local, "usage", None)

    def take(self, phase: str) -> dict[str, Usage]:
        with self._lock:
            return {fn: u for (p, fn), u in self.usage.items() if p == phase}

    # ------------------------------------------------------------ botocore events
    def _remember_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if self.current() is not None:
            context["bench_params"] = dict(params)

    def _after_call(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        usage = self.current()
        if usage is None:
            return
        service = model.service_model.service_name
        operation = model.name
        params = context.get("bench_params", {})
        usage.calls[f"{service}:{operation}"] += 1
        if service == "dynamodb":
            self._dynamodb(usage, operation, params, parsed)
        elif service == "sqs":
            usage.sqs_requests += self._sqs_requests(operation, params)
        elif service == "secretsmanager":
            usage.secrets_calls += 1
        elif service == "s3":
            usage.s3_requests += 1

    @staticmethod
    def _sqs_requests(operation: str, params: dict[str, Any]) -> int:
        if operation == "SendMessage":
            size = len(params.get("MessageBody", "").encode()) + len(str(params.get("MessageAttributes", "")))
            return max(1, math.ceil(size / SQS_CHUNK))
        if operation == "SendMessageBatch":
            size = sum(len(e.get("MessageBody", "").encode()) for e in params.get("Entries", []))
            return max(1, math.ceil(size / SQS_CHUNK))
        return 1

    # ------------------------------------------------------------ DynamoDB units
    def _write_units(self, table: str, item: dict[str, Any] | None, factor: int = 1) -> float:
        units = max(1, math.ceil(item_size(item) / KB)) * factor
        for keys in self.gsi_keys.get(table, []):
            if item and all(k in item for k in keys):
                units += 1
        return units

    def _item_after(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._reader.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return item

    @staticmethod
    def _read_units(size: int, consistent: bool, factor: float = 1.0) -> float:
        return max(1, math.ceil(size / (4 * KB))) * (1.0 if consistent else 0.5) * factor

    def _dynamodb(self, usage: Usage, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        table = params.get("TableName", "")
        consistent = bool(params.get("ConsistentRead"))
        if operation == "PutItem":
            usage.wru += self._write_units(table, params.get("Item"))
        elif operation == "UpdateItem":
            usage.wru += self._write_units(table, self._item_after(table, params["Key"]))
        elif operation == "DeleteItem":
            usage.wru += 1
        elif operation == "GetItem":
            usage.rru += self._read_units(item_size(parsed.get("Item")), consistent)
        elif operation in ("Query", "Scan"):
            items = parsed.get("Items", [])
            size = sum(item_size(i) for i in items)
            count, scanned = parsed.get("Count", len(items)), parsed.get("ScannedCount", len(items))
            if count and scanned > count:
                size = size * scanned // count
            usage.rru += self._read_units(size, consistent)
        elif operation == "BatchGetItem":
            for name, items in parsed.get("Responses", {}).items():
                strong = bool(params.get("RequestItems", {}).get(name, {}).get("ConsistentRead"))
                usage.rru += sum(self._read_units(item_size(i), strong) for i in items)
        elif operation == "BatchWriteItem":
            for name, requests in params.get("RequestItems", {}).items():
                for request in requests:
                    put = request.get("PutRequest")
                    usage.wru += self._write_units(name, put["Item"]) if put else 1
        elif operation == "TransactWriteItems":
            self._transact_write(usage, params)
        elif operation == "TransactGetItems":
            for response in parsed.get("Responses", []):
                usage.rru += self._read_units(item_size(response.get("Item")), True, factor=2)

    def _transact_write(self, usage: Usage, params: dict[str, Any]) -> None:
        for entry in params.get("TransactItems", []):
            ((kind, body),) = entry.items()
            table = body.get("TableName", "")
            if kind == "Put":
                usage.wru += self._write_units(table, body.get("Item"), factor=2)
            elif kind == "Update":
                usage.wru += self._write_units(table, self._item_after(table, body["Key"]), factor=2)
            else:  # Delete, ConditionCheck: counted as writes (the dearer unit)
                usage.wru += 2
