"""The billing units of ``benchmarks/cost_meter.py`` (what ``make bench``'s cost figures rest on), on items and
calls made here: DynamoDB's documented rounding, transactions at double, indexes, SQS's 64 KB chunks."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.cost_meter import Meter, Usage, item_size


def meter(gsi: dict[str, list[list[str]]] | None = None, after: dict[str, Any] | None = None) -> Meter:
    m = Meter()
    m.gsi_keys = gsi or {}
    m._item_after = lambda _table, _key: after  # type: ignore[method-assign]
    return m


def text(n: int) -> dict[str, str]:
    return {"S": "x" * n}


def test_item_size_counts_names_and_values() -> None:
    item = {"pk": text(10), "n": {"N": "12345"}, "ok": {"BOOL": True}, "m": {"M": {"a": text(3)}}}

    # pk 2+10, n 1+(5+1)//2+1=4, ok 2+1, m 1+(3 + 1+3 +1)
    assert item_size(item) == 12 + 5 + 3 + 9


@pytest.mark.parametrize(
    ("size", "units"),
    [(10, 1), (1024, 1), (1025, 2), (3000, 3)],
)
def test_a_put_costs_one_write_unit_per_started_kilobyte(size: int, units: int) -> None:
    usage = Usage()
    meter()._dynamodb(usage, "PutItem", {"TableName": "t", "Item": {"pk": text(size - 2)}}, {})

    assert usage.wru == units


def test_an_index_holding_the_item_adds_a_write_unit() -> None:
    usage = Usage()
    m = meter({"t": [["pk", "updated_at"]]})
    m._dynamodb(usage, "PutItem", {"TableName": "t", "Item": {"pk": text(5), "updated_at": text(20)}}, {})
    m._dynamodb(usage, "PutItem", {"TableName": "t", "Item": {"pk": text(5)}}, {})

    assert usage.wru == 2 + 1


def test_an_update_is_billed_on_the_item_after_it() -> None:
    usage = Usage()
    meter(after={"pk": text(2500)})._dynamodb(usage, "UpdateItem", {"TableName": "t", "Key": {"pk": text(1)}}, {})

    assert usage.wru == 3


def test_a_transaction_costs_double() -> None:
    usage = Usage()
    items = [{"Put": {"TableName": "t", "Item": {"pk": text(100)}}}, {"ConditionCheck": {"TableName": "t"}}]
    meter()._dynamodb(usage, "TransactWriteItems", {"TransactItems": items}, {})

    assert usage.wru == 2 + 2


def test_reads_round_to_4_kb_and_halve_when_eventually_consistent() -> None:
    strong, eventual = Usage(), Usage()
    found = {"Item": {"pk": text(5000)}}
    meter()._dynamodb(strong, "GetItem", {"TableName": "t", "ConsistentRead": True}, found)
    meter()._dynamodb(eventual, "GetItem", {"TableName": "t"}, found)

    assert (strong.rru, eventual.rru) == (2, 1)


def test_a_query_adds_up_its_items_before_rounding_and_counts_what_a_filter_dropped() -> None:
    usage = Usage()
    page = {"Items": [{"pk": text(998)}] * 3, "Count": 3, "ScannedCount": 6}
    meter()._dynamodb(usage, "Query", {"TableName": "t", "ConsistentRead": True}, page)

    assert usage.rru == 2  # 6 KB read, not three 1-unit reads


def test_sqs_bills_a_request_per_started_64_kb() -> None:
    assert Meter._sqs_requests("SendMessage", {"MessageBody": "x" * 10}) == 1
    assert Meter._sqs_requests("SendMessage", {"MessageBody": "x" * (64 * 1024 + 1)}) == 2
    entries = [{"MessageBody": "x" * 40_000}] * 4
    assert Meter._sqs_requests("SendMessageBatch", {"Entries": entries}) == 3
