"""The workload of a 20-developer team in a month, the us-east-1 price list, and the monthly bill computed from
what ``benchmarks.cost`` measured per kind of invocation. Free tiers are left out (a conservative bill: an
account past its first year, or one whose free tier other workloads use up). docs/cost.md explains each
number."""

from __future__ import annotations

import json
import math
from typing import Any

from benchmarks.common import LOG_DIR, REPO_ROOT

CHECKED = "2026-12-02"
PRICES: dict[str, tuple[float, str, str]] = {
    # name: (USD, per what, source)
    "lambda_request": (0.20 / 1e6, "request", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_s": (0.0000166667, "GB-second (x86_64)", "https://aws.amazon.com/lambda/pricing/"),
    "http_api_request": (1.00 / 1e6, "request (HTTP API, first 300 M)", "https://aws.amazon.com/api-gateway/pricing/"),
    "dynamodb_wru": (0.625 / 1e6, "write request unit", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "dynamodb_rru": (0.125 / 1e6, "read request unit", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "dynamodb_gb_month": (0.25, "GB-month stored", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "sqs_request": (0.40 / 1e6, "request (standard queue, 64 KB chunk)", "https://aws.amazon.com/sqs/pricing/"),
    "secret_month": (0.40, "secret-month", "https://aws.amazon.com/secrets-manager/pricing/"),
    "secrets_call": (0.05 / 10_000, "API call", "https://aws.amazon.com/secrets-manager/pricing/"),
    "logs_gb_ingested": (0.50, "GB ingested (standard)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "logs_gb_month": (0.03, "GB-month archived", "https://aws.amazon.com/cloudwatch/pricing/"),
    "custom_metric": (0.30, "metric-month (first 10,000)", "https://aws.amazon.com/cloudwatch/pricing/"),
    "alarm": (0.10, "standard alarm-month", "https://aws.amazon.com/cloudwatch/pricing/"),
    "xray_trace": (5.00 / 1e6, "trace recorded", "https://aws.amazon.com/xray/pricing/"),
    "scheduler_invocation": (1.00 / 1e6, "invocation (after 14 M free)", "https://aws.amazon.com/eventbridge/pricing/"),
    "s3_put": (0.005 / 1000, "PUT request", "https://aws.amazon.com/s3/pricing/"),
}

# ---------------------------------------------------------------- the workload of one team, per month
DEVELOPERS = 20
WORKDAYS = 21
DAYS = 30
DELIVERIES_PER_DEV_WORKDAY = {
    "github": 6.0,  # 3 pushes, 2 pull_request events (opened, synchronize, closed...), 1 review
    "jira": 3.0,  # 2 transitions, 1 edit or comment (jira:issue_updated)
    "trello": 2.0,  # card moves and updates
}
SYNCS_PER_DAY = 24
SYNCS_WITH_CHANGES = 10 * WORKDAYS
"""Hourly syncs that find something new: the 10 working hours of each workday; the other 510 find nothing."""
DASHBOARD_VIEWS = 10 * WORKDAYS
METRICS_CALLS = 24 * DAYS
"""A script (a wallboard, a CI job) reading the metrics of one integration every hour."""
TICKS = 24 * DAYS
PLATFORM_LOG_BYTES = 350
"""Lambda's own START, END and REPORT lines per invocation (REPORT with the X-Ray trace id)."""
ESM_POLLERS = 5
"""Long polls an idle SQS event source mapping keeps open (AWS: 5, sometimes as few as 2), 20 s each."""
COLD_STARTS_PER_FUNCTION = {1: 24 * DAYS, 1000: 24 * DAYS * 10}
"""One team: every function wakes cold about once an hour. 1,000 teams: about 20 environments per function,
each replaced every two hours."""
HISTORY_MONTHS = 12
SECRETS_PER_TEAM = 3
XRAY_RESERVOIR_PER_S = 1
XRAY_RATE = 0.05
SECONDS = DAYS * 86_400


def _alarms() -> int:
    return (REPO_ROOT / "template.yaml").read_text(encoding="utf-8").count("Type: AWS::CloudWatch::Alarm")


def _emf_metrics() -> list[str]:
    """Custom metrics (name and dimensions) the functions published in this run (EMF lines in the log)."""
    found: set[str] = set()
    log = LOG_DIR / "cost.log"
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if log.is_file() else []:
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        for directive in blob["_aws"].get("CloudWatchMetrics", []):
            dims = ",".join(sorted(f"{d}={blob.get(d)}" for group in directive["Dimensions"] for d in group))
            found.update(f"{directive['Namespace']}/{m['Name']}[{dims}]" for m in directive["Metrics"])
    return sorted(found)


def _units(phase: dict[str, Any], memory: dict[str, int], per: float) -> dict[str, float]:
    """A phase's totals divided by ``per`` (deliveries, syncs, views): Lambda requests and GB-s, log bytes,
    DynamoDB units, SQS, Secrets Manager and S3 requests."""
    out = dict.fromkeys(("requests", "gb_s", "log_bytes", "wru", "rru", "sqs", "secrets", "s3", "sqs_triggered"), 0.0)
    for function, usage in phase.items():
        n = usage["total"]
        out["requests"] += n
        out["gb_s"] += usage["billed_ms"] * n / 1000 * memory[function] / 1024
        out["log_bytes"] += (usage["log_bytes"] + PLATFORM_LOG_BYTES) * n
        for key, name in (("wru", "wru"), ("rru", "rru"), ("sqs", "sqs_requests"), ("secrets", "secrets_calls")):
            out[key] += usage[name] * n
        out["s3"] += usage["s3_requests"] * n
        if function in ("EventProcessorFunction", "SyncWorkerFunction"):
            out["sqs_triggered"] += n
    out["sqs"] += 2 * out["sqs_triggered"]  # the event source mapping's ReceiveMessage and DeleteMessageBatch
    return {k: v / max(per, 1e-9) for k, v in out.items()}


def _invocations(phase: dict[str, Any], function: str) -> int:
    return int(phase.get(function, {}).get("total", 0))


def per_kind(phases: dict[str, Any], memory: dict[str, int], extra: int) -> dict[str, dict[str, float]]:
    """Units per delivery, per sync, per view, per metrics call, per tick and per integration on a tick."""
    kinds: dict[str, dict[str, float]] = {}
    for provider in ("github", "jira", "trello"):
        phase = phases[f"webhook-{provider}"]
        deliveries = _invocations(phase, "WebhooksFunction")
        units = _units(phase, memory, deliveries)
        units["requests"] = max(units["requests"], 2.0)  # one webhooks + one event processor invocation
        units["secrets"] = max(units["secrets"], 1.0)  # the 60 s cache rarely outlives a gap between deliveries
        units["api_requests"] = 1.0
        kinds[f"delivery-{provider}"] = units
        for label in ("sync-idle", "sync-changes"):
            sync = {
                f: u for f, u in phases[f"{label}-{provider}"].items() if f not in ("ApiFunction", "AuthorizerFunction")
            }
            units = _units(sync, memory, 1)
            units["secrets"] = max(units["secrets"], 1.0)
            units["api_requests"] = 0.0
            kinds[f"{label}-{provider}"] = units
    authorizer = _authorizer(phases, memory)
    view = {f: u for f, u in phases["dashboard"].items() if f != "AuthorizerFunction"}
    kinds["dashboard-view"] = _add(_units(view, memory, 1), authorizer) | {
        "api_requests": _invocations(view, "ApiFunction")
    }
    reads = {"ApiFunction": phases["metrics"]["ApiFunction"]}
    calls = _invocations(reads, "ApiFunction")
    kinds["metrics-call"] = _add(_units(reads, memory, calls), authorizer) | {"api_requests": 1.0}
    small = {"SchedulerFunction": phases["tick-3"]["SchedulerFunction"]}
    large = {"SchedulerFunction": phases[f"tick-{3 + extra}"]["SchedulerFunction"]}
    tick_small, tick_large = _units(small, memory, 1), _units(large, memory, 1)
    per_integration = {k: max(0.0, (tick_large[k] - tick_small[k]) / extra) for k in tick_small}
    per_integration["requests"] = 0.0
    kinds["tick-per-integration"] = per_integration | {"api_requests": 0.0}
    kinds["tick-fixed"] = {k: max(0.0, tick_small[k] - 3 * per_integration[k]) for k in tick_small} | {
        "api_requests": 0.0
    }
    return kinds


def _authorizer(phases: dict[str, Any], memory: dict[str, int]) -> dict[str, float]:
    """One authorizer invocation, averaged over the warm ones of the run (its result is cached 60 s, so a
    dashboard view needs one and an hourly script call one each)."""
    authorizer = phases["authorizer"]["AuthorizerFunction"]
    return _units({"AuthorizerFunction": authorizer}, memory, authorizer["total"])


def _add(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: a.get(k, 0.0) + b.get(k, 0.0) for k in set(a) | set(b)}


def _scale(a: dict[str, float], factor: float) -> dict[str, float]:
    return {k: v * factor for k, v in a.items()}


def workload() -> dict[str, float]:
    """How many of each kind one team causes in a month."""
    counts = {f"delivery-{p}": DEVELOPERS * n * WORKDAYS for p, n in DELIVERIES_PER_DEV_WORKDAY.items()}
    for provider in ("github", "jira", "trello"):
        counts[f"sync-changes-{provider}"] = SYNCS_WITH_CHANGES
        counts[f"sync-idle-{provider}"] = SYNCS_PER_DAY * DAYS - SYNCS_WITH_CHANGES
    counts["dashboard-view"] = DASHBOARD_VIEWS
    counts["metrics-call"] = METRICS_CALLS
    counts["tick-per-integration"] = TICKS * 3
    return counts


def bill(
    kinds: dict[str, dict[str, float]],
    teams: int,
    cold_ms: dict[str, float],
    memory: dict[str, int],
    storage_bytes_per_team: float,
    metrics: int,
) -> list[dict[str, Any]]:
    """The month's lines for ``teams`` teams (and the stack they share)."""
    total: dict[str, float] = {}
    for kind, count in workload().items():
        total = _add(total, _scale(kinds[kind], count * teams))
    total = _add(total, _scale(kinds["tick-fixed"], TICKS))
    invocations = total["requests"] + TICKS
    cold = COLD_STARTS_PER_FUNCTION[1 if teams == 1 else 1000]
    init_gb_s = sum(cold * ms / 1000 * memory[f] / 1024 for f, ms in cold_ms.items() if ms == ms)
    esm_polls = 2 * ESM_POLLERS * 3 * 60 * 24 * DAYS
    recorded = min(invocations, XRAY_RESERVOIR_PER_S * SECONDS) + XRAY_RATE * max(0.0, invocations - SECONDS)
    log_gb = total["log_bytes"] / 1e9
    storage_gb = storage_bytes_per_team * teams / 1e9
    p = {k: v[0] for k, v in PRICES.items()}
    rows = [
        ("Lambda", "requests", invocations, "lambda_request"),
        ("Lambda", "duration, GB-s (billed ms at each function's memory)", total["gb_s"], "lambda_gb_s"),
        ("Lambda", "cold-start init, GB-s (billed since 2025-08)", init_gb_s, "lambda_gb_s"),
        ("API Gateway", "HTTP API requests", total["api_requests"], "http_api_request"),
        ("DynamoDB", "write request units", total["wru"], "dynamodb_wru"),
        ("DynamoDB", "read request units", total["rru"], "dynamodb_rru"),
        ("DynamoDB", f"storage, GB ({HISTORY_MONTHS} months of history)", storage_gb, "dynamodb_gb_month"),
        ("SQS", "requests (sends, the event source's receives and deletes)", total["sqs"], "sqs_request"),
        ("SQS", f"idle long polls ({ESM_POLLERS} per queue, 2 queues)", esm_polls, "sqs_request"),
        ("Secrets Manager", "secrets stored", SECRETS_PER_TEAM * teams, "secret_month"),
        ("Secrets Manager", "API calls", total["secrets"], "secrets_call"),
        ("CloudWatch Logs", "GB ingested", log_gb, "logs_gb_ingested"),
        ("CloudWatch Logs", "GB stored (30-day retention)", log_gb, "logs_gb_month"),
        ("CloudWatch", "custom metrics (EMF)", metrics, "custom_metric"),
        ("CloudWatch", "alarms", _alarms(), "alarm"),
        ("X-Ray", "traces recorded (1/s + 5%)", recorded, "xray_trace"),
        ("EventBridge Scheduler", "invocations", TICKS, "scheduler_invocation"),
        ("S3", "claim-check PUTs", total["s3"], "s3_put"),
    ]
    return [
        {"service": s, "item": item, "quantity": round(q, 3), "unit_usd": p[price], "usd": round(q * p[price], 4)}
        for s, item, q, price in rows
    ]


def monthly(
    phases: dict[str, Any],
    memory: dict[str, int],
    cold_ms: dict[str, float],
    *,
    extra_integrations: int,
    deliveries: int,
    storage_bytes_per_team: float,
) -> dict[str, Any]:
    kinds = per_kind(phases, memory, extra_integrations)
    metrics = _emf_metrics()
    bills = {
        str(teams): bill(kinds, teams, cold_ms, memory, storage_bytes_per_team, len(metrics)) for teams in (1, 1000)
    }
    summary = {}
    for teams, lines in bills.items():
        usd = sum(line["usd"] for line in lines)
        biggest = max(lines, key=lambda line: line["usd"])
        summary[teams] = {"usd": round(usd, 2), "biggest": biggest, "per_team_usd": round(usd / int(teams), 4)}
    complete = all(math.isfinite(line["usd"]) for lines in bills.values() for line in lines) and all(
        _invocations(phases[f"webhook-{p}"], "WebhooksFunction") > 0 for p in ("github", "jira", "trello")
    )
    return {
        "kinds": {k: {n: round(v, 4) for n, v in u.items()} for k, u in kinds.items()},
        "workload": workload(),
        "bills": bills,
        "summary": summary,
        "custom_metrics": metrics,
        "storage_bytes_per_team": storage_bytes_per_team,
        "prices": {k: {"usd": v[0], "per": v[1], "source": v[2], "checked": CHECKED} for k, v in PRICES.items()},
        "deliveries_sent": deliveries,
        "complete": complete,
    }
