"""The cost section of ``docs/benchmarks.md``: what each kind of invocation used on the local stack, and the
monthly bill of one team and of 1,000 (``benchmarks.cost``; the model is explained in docs/cost.md)."""

from __future__ import annotations

from typing import Any

KIND_LABELS = {
    "delivery-github": "GitHub webhook delivery (ack + processing)",
    "delivery-jira": "Jira webhook delivery",
    "delivery-trello": "Trello webhook delivery",
    "sync-idle-github": "GitHub hourly sync, nothing new",
    "sync-idle-jira": "Jira hourly sync, nothing new",
    "sync-idle-trello": "Trello hourly sync, nothing new",
    "sync-changes-github": "GitHub sync, 3 pull requests new",
    "sync-changes-jira": "Jira sync, 3 issues moved",
    "sync-changes-trello": "Trello sync, 3 cards moved",
    "dashboard-view": "Dashboard view (every request of it)",
    "metrics-call": "Metrics read by a script (+ authorizer)",
    "tick-fixed": "Scheduler tick, fixed part",
    "tick-per-integration": "Scheduler tick, per integration",
}


def _row(label: str, units: dict[str, float]) -> list[str]:
    return [
        label,
        f"{units['requests']:.2f}",
        f"{units['gb_s']:.4f}",
        f"{units['wru']:.1f}",
        f"{units['rru']:.1f}",
        f"{units['sqs']:.2f}",
        f"{units['secrets']:.2f}",
        f"{units['log_bytes'] / 1024:.2f}",
    ]


def _bill_rows(lines: list[dict[str, Any]]) -> list[list[str]]:
    ordered = sorted(lines, key=lambda line: -line["usd"])
    return [
        [line["service"], line["item"], f"{line['quantity']:,.3f}".rstrip("0").rstrip("."), f"${line['usd']:,.2f}"]
        for line in ordered
        if line["usd"] >= 0.005
    ]


def cost_section(result: dict[str, Any], table: Any) -> list[str]:
    kinds = result["kinds"]
    rows = [_row(KIND_LABELS.get(name, name), kinds[name]) for name in KIND_LABELS if name in kinds]
    one, many = result["summary"]["1"], result["summary"]["1000"]
    header = ["Kind", "Lambda requests", "GB-s", "WRU", "RRU", "SQS requests", "Secrets calls", "Log KiB"]
    phases = result["phases"]
    delivery = phases["webhook-github"]["WebhooksFunction"]
    return [
        "## 7. Cost inputs and the monthly bill",
        "",
        "What each kind of invocation used on the local stack (per delivery, sync, view, call or tick; billed "
        "milliseconds at each function's memory in GB-s, DynamoDB request units from the items' sizes, SQS requests "
        "in 64 KB chunks with the event source's receive and delete, log bytes with Lambda's own lines). The workload "
        "model, the prices and every assumption: [cost.md](cost.md).",
        "",
        *table(header, rows),
        "",
        f"- Webhooks function warm: {delivery['duration_ms']} ms per delivery, "
        f"{delivery['log_bytes']:.0f} log bytes; cold import of each handler on this machine (ms): "
        + ", ".join(f"{k.removesuffix('Function')} {v:,.0f}" for k, v in result["cold_import_ms"].items())
        + ".",
        f"- One team's month of data (the fakes' 30 days) takes {result['stored_bytes_30_days'] / 1e6:.2f} MB in "
        f"DynamoDB; custom metrics published: {len(result['custom_metrics'])}.",
        "",
        f"**One team: ${one['usd']:,.2f} a month** (biggest line: {one['biggest']['service']}, "
        f"{one['biggest']['item']}, ${one['biggest']['usd']:,.2f}). **1,000 teams: ${many['usd']:,.2f} a month**, "
        f"${many['per_team_usd']:,.2f} a team (biggest line: {many['biggest']['service']}, {many['biggest']['item']}, "
        f"${many['biggest']['usd']:,.2f}). Free tiers left out.",
        "",
        *table(["Service", "Item (1,000 teams)", "Quantity", "USD a month"], _bill_rows(result["bills"]["1000"])),
        "",
    ]


def cost_target(result: dict[str, Any]) -> list[str]:
    one, many = result["summary"]["1"], result["summary"]["1000"]
    return [
        "Cost: every kind of invocation measured, the month's bill computed",
        f"${one['usd']:,.2f} one team, ${many['usd']:,.2f} 1,000 teams",
        "complete",
        "PASS" if result["passed"] else "FAIL",
    ]
