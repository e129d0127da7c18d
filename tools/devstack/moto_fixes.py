"""Speed fixes for moto, applied wherever moto runs for us (``apply_moto_fixes``: the local stack's
emulator process, the tests' ``aws`` fixture, the benchmarks), each keeping moto's behaviour.

SQS (``apply_sqs_send_fix``): moto's ``SendMessage`` reads one queue attribute (``ContentBasedDeduplication``)
through a property that recomputes every attribute, including the approximate message counts, over every
stored message: each send costs time in proportion to the queue's length, so a queue of a thousand messages
makes each send take tens of milliseconds (SQS's own sends do not grow with the queue). While a send runs, the property
answers just that attribute; everywhere else (``GetQueueAttributes`` included) it is moto's own.
(``apply_sqs_receive_fix``): ``ReceiveMessage`` checked each candidate message's retention period by asking for
the queue's attributes, all of them recomputed over every stored message, twice: a receive cost the square of
the queue's length (a backlog of 3,000 deliveries made each receive take seconds, and moto's process spent its
time there). The check now reads the queue's retention period itself.

(``apply_sqs_delete_fix``, a correctness fix): moto's ``DeleteMessage`` rebuilds the queue's message list
without the deleted message and assigns it back, outside the lock ``SendMessage`` appends under. moto's server
is threaded: two deletes at once put back each other's deleted messages (they come back after their visibility
timeout and are delivered again), and a send during a delete is lost. A delete now holds the queue's lock.

The server (``apply_server_fixes``, moto's own process only): the backend each request's host names is found
once per host (moto matched every request's host against every service's URL patterns), and werkzeug's
per-request access log (nobody reads it; formatting it cost an eighth of the process's time under load) is off.

DynamoDB (``apply_transaction_fix``): ``TransactWriteItems`` copied whole tables to roll back; it now
saves only the items a transaction names. (``apply_query_fix``): a ``Query`` of one partition sorted the
whole table on every page; it now reads just that partition (see the functions).
"""

from __future__ import annotations

import threading
from typing import Any

_sending = threading.local()
_APPLIED = "_agiletrack_fast_send"


def apply_sqs_send_fix() -> None:
    from moto.sqs.models import Queue, SQSBackend

    if getattr(SQSBackend.send_message, _APPLIED, False):
        return
    original_send = SQSBackend.send_message
    original_attributes: property = Queue.attributes  # type: ignore[assignment]

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        _sending.active = True
        try:
            return original_send(self, *args, **kwargs)
        finally:
            _sending.active = False

    def attributes(self: Any) -> dict[str, Any]:
        if getattr(_sending, "active", False):
            return {"ContentBasedDeduplication": "true" if self.content_based_deduplication else "false"}
        value: dict[str, Any] = original_attributes.fget(self)  # type: ignore[misc]
        return value

    setattr(send_message, _APPLIED, True)
    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]


_RECEIVE_APPLIED = "_agiletrack_retention_check"


def apply_sqs_receive_fix() -> None:
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    if getattr(SQSBackend.is_message_valid_based_on_retention_period, _RECEIVE_APPLIED, False):
        return

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention_period + message.sent_timestamp / 1000 > unix_time())

    setattr(is_message_valid_based_on_retention_period, _RECEIVE_APPLIED, True)
    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]


_DELETE_APPLIED = "_agiletrack_locked_delete"


def apply_sqs_delete_fix() -> None:
    from moto.sqs.models import Queue

    if getattr(Queue.delete_message, _DELETE_APPLIED, False):
        return
    original = Queue.delete_message

    def delete_message(self: Any, receipt_handle: str) -> None:
        with self._messages_lock:  # the Condition (an RLock) add_message appends under
            original(self, receipt_handle)

    setattr(delete_message, _DELETE_APPLIED, True)
    Queue.delete_message = delete_message  # type: ignore[method-assign]


def apply_server_fixes() -> None:
    """For moto's server process: the host-to-backend lookup cached per host, werkzeug's access log off."""
    import logging

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if getattr(DomainDispatcherApplication.get_backend_for_host, _APPLIED, False):
        return
    original = DomainDispatcherApplication.get_backend_for_host
    found: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in found:
            found[host] = original(self, host)
        return found[host]

    setattr(get_backend_for_host, _APPLIED, True)
    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


# ---------------------------------------------------------------- DynamoDB transactions
_in_transaction = threading.local()
_TX_APPLIED = "_agiletrack_item_snapshots"


class _TableCopyShim:
    """Stands in for the ``copy`` module inside ``moto.dynamodb.models``: while a transaction of ours runs, the
    "copy" of a whole table is the table itself (its touched items were saved beforehand); every other use of
    ``copy`` there is the real one."""

    def __init__(self, real: Any, table_type: type) -> None:
        self._real = real
        self._table_type = table_type

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if getattr(_in_transaction, "active", False) and isinstance(value, self._table_type):
            return value
        return self._real.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _touched_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, bool, Any]]:
    """(table, hash key, range key, whether the hash key had items, a deep copy of the item or None) for each
    item a transaction names, in a table moto would have copied (found by name). An item whose key cannot be
    read is skipped: moto refuses that transaction before it writes anything."""
    import copy

    from moto.dynamodb.models.dynamo_type import DynamoType

    saved = []
    for entry in transact_items:
        for op in entry.values():
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            try:
                attrs = op["Item"] if "Item" in op else op["Key"]
                hash_key = DynamoType(attrs[table.hash_key_attr])
                range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
            except (KeyError, TypeError, AttributeError):
                continue
            if range_key is not None:
                had_hash = hash_key in table.items
                current = table.items[hash_key].get(range_key) if had_hash else None
            else:
                had_hash, current = True, table.items.get(hash_key)
            saved.append((table, hash_key, range_key, had_hash, copy.deepcopy(current)))
    return saved


def _restore(saved: list[tuple[Any, Any, Any, bool, Any]]) -> None:
    """Put every saved item back as it was (removing those that did not exist), last saved first."""
    for table, hash_key, range_key, had_hash, item in reversed(saved):
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
            continue
        bucket = table.items.setdefault(hash_key, {})
        if item is None:
            bucket.pop(range_key, None)
        else:
            bucket[range_key] = item
        if not had_hash and not bucket:
            del table.items[hash_key]


def apply_transaction_fix() -> None:
    """moto's ``TransactWriteItems`` saves a deep copy of every table the transaction names, before it
    starts, to put the tables back if the transaction fails: each transaction costs time in proportion to
    the table (a fenced write of 50,000 records, 99 a transaction, becomes quadratic: minutes). Here only
    the items the transaction names are saved (deep copies, or "absent"), moto's copy of a table is the
    table itself, and after exactly the errors moto rolls back on, those items are put back. What a
    transaction does, the errors and cancellation reasons it answers are moto's own; a successful one
    costs what its items cost. (Stream records a failed transaction appended stay, where moto's
    rollback drops them with the table copy; our tables have no streams.) Applying twice changes nothing."""
    import moto.dynamodb.models as models
    from moto.dynamodb.exceptions import (
        MockValidationException,
        MultipleTransactionsException,
        TransactionCanceledException,
    )
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(DynamoDBBackend.transact_write_items, _TX_APPLIED, False):
        return
    original = DynamoDBBackend.transact_write_items
    if not isinstance(getattr(models, "copy"), _TableCopyShim):  # noqa: B009 (moto does not export it)
        setattr(models, "copy", _TableCopyShim(getattr(models, "copy"), Table))  # noqa: B009, B010

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = _touched_items(self, transact_items) if len(transact_items) <= 100 else []
        _in_transaction.active = True
        try:
            original(self, transact_items)
        except (TransactionCanceledException, MultipleTransactionsException, MockValidationException):
            # The errors after which moto puts its tables back; any other one it lets through as is.
            _restore(saved)
            raise
        finally:
            _in_transaction.active = False

    setattr(transact_write_items, _TX_APPLIED, original)
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def unfixed_transact_write_items() -> Any:
    """moto's own ``TransactWriteItems`` (the tests compare the fix with it)."""
    from moto.dynamodb.models import DynamoDBBackend

    return getattr(DynamoDBBackend.transact_write_items, _TX_APPLIED, None) or DynamoDBBackend.transact_write_items


def apply_dynamodb_fixes() -> None:
    """The DynamoDB fixes (transactions, partition queries): what the tests and benchmarks apply in-process."""
    apply_transaction_fix()
    apply_query_fix()


def apply_moto_fixes() -> None:
    """Every fix of this module (where moto runs for us: the local stack's server, tests, benchmarks)."""
    apply_sqs_send_fix()
    apply_sqs_receive_fix()
    apply_sqs_delete_fix()
    apply_transaction_fix()
    apply_query_fix()


# ---------------------------------------------------------------- DynamoDB queries of one partition
_partition = threading.local()
_QUERY_APPLIED = "_agiletrack_partition_query"


def apply_query_fix() -> None:
    """moto answers each page of a ``Query`` on a table's partition key by sorting every item of the table
    (``Table.all_items``, comparing keys in Python), keeping that partition's, and stepping over the pages
    before ``ExclusiveStartKey`` item by item: reading a partition of 50,000 items page by page costs time
    in proportion to the table on every page, quadratic in all (tens of minutes). For such a query (no
    index, forward or backward), ``all_items`` answers just that partition, in key order, by the keys' own
    values (the order moto's ``DynamoType`` comparisons give); going forward, the items before the start key
    are left out (moto would skip them; the start key itself it still skips). Everything after (conditions,
    filters, limits, the 1 MB page, ``LastEvaluatedKey``) is moto's own. Applying twice changes nothing."""
    import inspect
    from bisect import bisect_left
    from decimal import Decimal

    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, _QUERY_APPLIED, False):
        return
    original_query, original_all_items = Table.query, Table.all_items
    signature = inspect.signature(original_query)

    def key_value(key: Any) -> Any:
        """What ``DynamoType`` compares (its ``cast_value``: a Decimal for a number, else the value as given)."""
        return Decimal(key.value) if key.type == "N" else key.value

    def partition_items(table: Any, hash_key: Any, start: Any, forward: bool) -> list[Any] | None:
        if table.range_key_attr is None or not isinstance(hash_key, DynamoType):
            return None
        partition = table.items.get(hash_key)
        if not isinstance(partition, dict):
            return None
        ordered = sorted(partition.values(), key=lambda item: key_value(item.range_key))
        if forward and start and table.range_key_attr in start:
            keys = [key_value(item.range_key) for item in ordered]
            ordered = ordered[bisect_left(keys, key_value(DynamoType(start[table.range_key_attr]))) :]
        return ordered

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        given = bound.arguments
        items = None
        if not given.get("index_name"):
            forward = given.get("scan_index_forward") is not False
            items = partition_items(self, given.get("hash_key"), given.get("exclusive_start_key"), forward)
        if items is None:
            return original_query(self, *args, **kwargs)
        _partition.items = (self, items)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _partition.items = None

    def all_items(self: Any) -> Any:
        found = getattr(_partition, "items", None)
        if found is not None and found[0] is self:
            return list(found[1])
        return original_all_items(self)

    setattr(query, _QUERY_APPLIED, original_query)
    setattr(all_items, _QUERY_APPLIED, original_all_items)
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def unfixed_query() -> tuple[Any, Any]:
    """moto's own ``Table.query`` and ``Table.all_items`` (the tests compare the fix with them)."""
    from moto.dynamodb.models.table import Table

    return (
        getattr(Table.query, _QUERY_APPLIED, None) or Table.query,
        getattr(Table.all_items, _QUERY_APPLIED, None) or Table.all_items,
    )
