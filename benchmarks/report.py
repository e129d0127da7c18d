"""``docs/benchmarks.md`` from the benchmarks' results: the targets, a table per benchmark, the method."""

from __future__ import annotations

from typing import Any

PASS, FAIL = "PASS", "FAIL"


def _verdict(ok: bool) -> str:
    return PASS if ok else FAIL


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _s(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} MiB"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _error(name: str, result: dict[str, Any]) -> list[str]:
    return [f"**{name} did not complete:** `{result['error']}` (see `.local/bench/{name}.log`).", ""]


# ---------------------------------------------------------------- GitHub sync
def _sync_targets(timed: dict[str, Any]) -> list[list[str]]:
    full, changed, unchanged = timed["scenarios"]
    return [
        [
            "GitHub full sync: HTTP requests (1 per 40 PRs, per 100 commits, per 100 issues)",
            _n(full["requests"]),
            f"≤ {full['limit']}",
            _verdict(full["checks"]["requests within budget"]),
        ],
        [
            "GitHub full sync: every record stored, every job succeeded",
            f"{_n(full['records_written'])} written",
            f"= {_n(sum(timed['records_held_after_full'].values()))} held",
            _verdict(full["checks"]["every record stored"] and full["checks"]["every job succeeded"]),
        ],
        [
            f"GitHub sync after {len(timed['touched_prs'])} PRs changed: HTTP requests",
            _n(changed["requests"]),
            f"≤ {changed['limit']}",
            _verdict(changed["checks"]["requests within budget"]),
        ],
        [
            f"GitHub sync after {len(timed['touched_prs'])} PRs changed: only those records written",
            f"{changed['records_written']} ({', '.join(f'{k} {v}' for k, v in changed['written_by_kind'].items())})",
            f"= {len(timed['touched_prs'])}, the changed PRs",
            _verdict(
                changed["checks"]["only the changed records written"] and changed["checks"]["every job succeeded"]
            ),
        ],
        [
            "GitHub sync with nothing changed: HTTP requests",
            _n(unchanged["requests"]),
            f"≤ {unchanged['limit']}",
            _verdict(unchanged["checks"]["requests within budget"]),
        ],
        [
            "GitHub sync with nothing changed: records written",
            _n(unchanged["records_written"]),
            "0",
            _verdict(unchanged["checks"]["no record written"] and unchanged["checks"]["every job succeeded"]),
        ],
    ]


def _ops(scenario: dict[str, Any]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(scenario["by_operation"].items())) or "none"


def _sync_section(timed: dict[str, Any], memory: dict[str, Any] | None) -> list[str]:
    repo = timed["repository"]
    scenarios = timed["scenarios"]
    mem = {s["name"]: s for s in (memory or {}).get("scenarios", [])}
    header = ["", "(a) first full sync", f"(b) {len(timed['touched_prs'])} PRs changed", "(c) nothing changed"]

    def row(label: str, cell: Any) -> list[str]:
        return [label, *[cell(s) for s in scenarios]]

    def mem_row(label: str, key: str) -> list[str]:
        return [label, *[_mib(mem[s["name"]][key]) if s["name"] in mem else "n/a" for s in scenarios]]

    rows = [
        row("HTTP requests (GraphQL + REST)", lambda s: f"**{_n(s['requests'])}** ({s['graphql']} + {s['rest']})"),
        row("&nbsp;&nbsp;by query", _ops),
        row("Target", lambda s: f"≤ {s['limit']} requests"),
        row("Rate-limit points spent", lambda s: _n(s["points"])),
        row("Requests of the REST-per-item approach, same data", lambda s: _n(s["rest_per_item"])),
        row("Records written", lambda s: f"**{_n(s['records_written'])}**"),
        row("Wall time (sync worker handler)", lambda s: f"**{_s(s['wall_s'])}** ({s['invocations']} invocation(s))"),
        row("&nbsp;&nbsp;waiting on GitHub (HTTP)", lambda s: _s(s["http_s"])),
        row("&nbsp;&nbsp;storing records (DynamoDB, moto)", lambda s: _s(s["store_s"])),
        row("&nbsp;&nbsp;metrics refresh after the sync", lambda s: _s(s["metrics_s"])),
        row("&nbsp;&nbsp;the rest (parsing, cursor, status)", lambda s: _s(s["other_s"])),
        mem_row("Worker peak RSS during the handler (memory pass)", "peak_rss_mib"),
        mem_row("&nbsp;&nbsp;RSS before the handler", "rss_before_mib"),
        mem_row("Worker `tracemalloc` peak (memory pass)", "tracemalloc_peak_mib"),
        row("Result", lambda s: f"**{_verdict(s['passed'])}**"),
    ]
    lines = [
        "## 1. GitHub sync",
        "",
        f"Fake repository: {_n(repo['pull_requests'])} pull requests ({_n(repo['reviews'])} reviews, "
        f"{repo['reviews_per_pr'][0]}-{repo['reviews_per_pr'][1]} per PR; {_n(repo['pr_comments'])} comments, "
        f"{_n(repo['review_comments'])} review comments), {_n(repo['commits'])} commits, {_n(repo['issues'])} issues; "
        f"{timed['latency_ms']} ms of latency per request.",
        "",
        *_table(header, rows),
        "",
    ]
    full = scenarios[0]
    validation = timed["validation_calls"]
    lines += [
        f"- Creating the integration cost {validation['rest']} REST requests (repository, branch: the credential "
        "check of the config API), not counted above.",
        f"- Records held after (a): {', '.join(f'{k} {_n(v)}' for k, v in timed['records_held_after_full'].items())}.",
        "- The REST-per-item count is the fake's own `rest_requests_estimate()` for (a) (list pages, then per PR "
        "its reviews and the single PR, per commit its stats); for (b) and (c) the same formula over what changed, "
        "each list read at least once.",
        f"- Wall time is dominated by moto: {_n(full['records_written'])} conditional `PutItem`s took "
        f"{_s(full['store_s'])} ({full['store_s'] / max(1, full['records_written']) * 1000:.1f} ms each, 8 threads, "
        "in-process emulator); DynamoDB answers a `PutItem` in a few ms and takes them in parallel. The metrics "
        "refresh after a sync that wrote records reads the default 30-day window through the `by_updated` index, "
        "which moto emulates by scanning the table.",
        f"- The timed pass's process (worker and in-process moto with its tables) peaked at "
        f"{_mib(timed['process_peak_rss_mib'])} RSS.",
    ]
    if memory is None or "error" in (memory or {}):
        lines.append("- The memory pass did not complete; see `.local/bench/github_sync_memory.log`.")
    else:
        full_mem = mem.get("full", {})
        lines.append(
            f"- The memory pass ran the same three syncs against moto's server in another process "
            f"({full_mem.get('invocations', '?')} invocation(s) for (a), {_n(full_mem.get('requests', 0))} requests, "
            f"{_n(full_mem.get('records_written', 0))} records written)."
        )
    lines.append("")
    return lines


# ---------------------------------------------------------------- webhooks
def _webhook_section(result: dict[str, Any]) -> list[str]:
    handler, end = result["handler"], result["end_to_end"]
    rows = [
        [
            "Handler time (`InvokeResult.duration_ms` of `WebhooksFunction`)",
            f"**{handler['median_ms']} ms**",
            f"{handler['p90_ms']} ms",
            f"{handler['p99_ms']} ms",
            f"{handler['min_ms']}-{handler['max_ms']} ms",
        ],
        *(
            [
                [
                    "&nbsp;&nbsp;of which `SendMessage` to moto's SQS (its own process)",
                    f"{result['send_message']['median_ms']} ms",
                    f"{result['send_message']['p90_ms']} ms",
                    f"{result['send_message']['p99_ms']} ms",
                    f"{result['send_message']['min_ms']}-{result['send_message']['max_ms']} ms",
                ],
                [
                    "&nbsp;&nbsp;the handler without that call (botocore and moto)",
                    f"{result['handler_without_send']['median_ms']} ms",
                    f"{result['handler_without_send']['p90_ms']} ms",
                    f"{result['handler_without_send']['p99_ms']} ms",
                    f"{result['handler_without_send']['min_ms']}-{result['handler_without_send']['max_ms']} ms",
                ],
            ]
            if result.get("handler_without_send")
            else []
        ),
        [
            "End to end over HTTP (client → local API → handler → 202)",
            f"{end['median_ms']} ms",
            f"{end['p90_ms']} ms",
            f"{end['p99_ms']} ms",
            f"{end['min_ms']}-{end['max_ms']} ms",
        ],
    ]
    status = result.get("webhook_status") or {}
    statuses = ", ".join(f"{k}: {v}" for k, v in result["statuses"].items())
    return [
        "## 2. Webhooks handler, warm",
        "",
        f"{_n(result['deliveries'])} signed `pull_request` deliveries ({result['payload_bytes'][0] // 1024}-"
        f"{result['payload_bytes'][1] // 1024} KiB each, shaped like GitHub's) after {result['warmup']} warm-up ones, "
        "sent one at a time to the local stack.",
        "",
        *_table(["", "median", "p90", "p99", "min-max"], rows),
        "",
        f"- Target: median handler time under {result['target_median_ms']:.0f} ms: **{_verdict(result['passed'])}**.",
        f"- Answers: {statuses}; handler errors: {result['handler_errors']}; a delivery with a wrong signature "
        f"answered {result['wrong_signature_status']}.",
        f"- The event processor took every delivery off the queue ({result['event_processor_invocations']} batches "
        f"while sending; the queue was empty {result.get('drain_s', '?')} s after the last one; all processed: "
        f"{result['processed_all']}); the status then counted "
        f"{status.get('received_24h')} received, {status.get('rejected_24h')} rejected.",
        "- Handler time includes the `SendMessage` to moto's server, a process of its own that the event processor "
        "keeps busy meanwhile (two cores for the client, the functions, moto and the processor); our own code is "
        "the row without that call.",
        "- End-to-end time adds the local API Gateway (which sets `TCP_NODELAY`, so answers do not wait for a "
        "delayed ACK).",
        "",
    ]


# ---------------------------------------------------------------- scheduler
def _scheduler_section(result: dict[str, Any]) -> list[str]:
    report = result["report"]
    return [
        "## 3. Scheduler",
        "",
        *_table(
            ["Integrations", "Seen", "Queued", "Skipped (failed)", "Send failures", "On the queue", "Time"],
            [
                [
                    _n(result["integrations"]),
                    _n(report["seen"]),
                    _n(report["queued"]),
                    _n(report["skipped_failed"]),
                    _n(report["send_failures"]),
                    _n(result["held_on_queue"]),
                    f"**{result['seconds']} s** ({result['per_integration_ms']} ms each)",
                ]
            ],
        ),
        "",
        f"- One invocation of the scheduler function (timeout {result['timeout_s']} s) against moto in-process, "
        f"after {_n(result['integrations'])} integrations were written with `BatchWriteItem` ({result['seed_s']} s, "
        "not counted). Jobs go out with `SendMessageBatch`, 10 per call, each with a random delay of up to 15 minutes.",
        "- As in `tests/integration/test_scheduler.py` and the local stack, moto's SQS runs with "
        "`devstack.moto_fixes`: unfixed, moto recomputes its approximate message counts over every "
        "stored message on each send, to read one unrelated attribute, which would make 10,000 sends "
        "cost about 50 million message checks in the emulator. The messages moto holds are counted afterwards.",
        f"- Target: all queued in one run, well inside the timeout (< {result['target_s']:.0f} s, the test's bound): "
        f"**{_verdict(result['passed'])}**.",
        "",
    ]


# ---------------------------------------------------------------- Trello sync
def _trello_targets(result: dict[str, Any]) -> list[list[str]]:
    first, hourly, idle = result["scenarios"]
    checks, limits = result["checks"], result["limits"]
    board = result["board"]
    return [
        [
            f"Trello first sync ({_n(result.get('cards_created', board['cards']))} cards, {_n(board['actions'])} "
            "actions): requests, 429s served",
            f"{_n(first['requests'])}, {first['throttled']} 429",
            f"≤ {limits['first']}, 0 429",
            _verdict(checks["first: requests within budget"] and checks["first: no 429 served"]),
        ],
        [
            "Trello first sync: every action stored",
            _n(first["written_by_kind"].get("trello_action", 0)),
            f"= {_n(board['actions'])}",
            _verdict(checks["first: every action stored"]),
        ],
        [
            f"Trello hourly sync after {len(result['new_actions'])} new actions: requests",
            _n(hourly["requests"]),
            f"≤ {limits['hourly']}",
            _verdict(checks["hourly: requests within budget"] and checks["hourly: the new actions written"]),
        ],
        [
            "Trello idle hourly sync: requests, records written",
            f"{idle['requests']}, {idle['records_written']}",
            f"≤ {limits['idle']}, 0",
            _verdict(checks["idle: requests within budget"] and checks["idle: nothing written"]),
        ],
    ]


def _trello_section(result: dict[str, Any]) -> list[str]:
    scenarios = result["scenarios"]
    board, metrics = result["board"], result["metrics"]

    def row(label: str, cell: Any) -> list[str]:
        return [label, *[cell(s) for s in scenarios]]

    rows = [
        row("HTTP requests (as the fake counted them)", lambda s: f"**{_n(s['requests'])}** ({s['pages']} pages)"),
        row("429s served", lambda s: _n(s["throttled"])),
        row("Records written", lambda s: f"**{_n(s['records_written'])}**"),
        row(
            "&nbsp;&nbsp;by kind",
            lambda s: ", ".join(f"{k} {_n(v)}" for k, v in sorted(s["written_by_kind"].items())) or "none",
        ),
        row("Wall time (the pull and the store's writes)", lambda s: f"**{_s(s['wall_s'])}**"),
        row("Worker peak RSS during the sync", lambda s: _mib(s["peak_rss_mib"])),
        row("&nbsp;&nbsp;RSS before the sync", lambda s: _mib(s["rss_before_mib"])),
        row("&nbsp;&nbsp;records held in the in-memory store after it", lambda s: _mib(s["store_mib"])),
    ]
    return [
        "## 4. Trello sync",
        "",
        f"Fake board: {_n(result.get('cards_created', board['cards']))} cards created ({_n(board['cards'])} still on "
        f"the board, archived ones among them; the others deleted), {_n(board['actions'])} "
        f"actions, {board['lists']} lists, {board['labels']} labels; {result['latency_ms']} ms of latency per request; "
        "Trello's limits enforced (100 requests per 10 s per token, 300 per key).",
        "",
        *_table(["", "(a) first full sync", f"(b) {len(result['new_actions'])} new actions", "(c) idle"], rows),
        "",
        f"- Metrics for a {metrics['window_days']}-day window through `MetricsService` over the stored records: cold "
        f"(every record read whole and measured) **{_s(metrics['cold_s'])}**, warm (the cached document) "
        f"**{metrics['warm_ms']} ms**; the window holds {_n(metrics['moves_total'])} moves and "
        f"{_n(metrics['throughput_total'])} cards done.",
        "- The first sync's wall time is Trello's pace: 90 requests per 10 s at most (the client's budget, under "
        "Trello's 100), plus the latency.",
        "- The records go to a record store held in memory that applies the DynamoDB store's own conditional-write "
        "rule (its `_put`: newer `updated_at`, or the same with another content hash); moto is not used here (at "
        "220,000 records its `TransactWriteItems` copies the tables on every call). Its JSON counts in the RSS.",
        "",
    ]


# ---------------------------------------------------------------- the dashboard
def _ms(value: float) -> str:
    return f"{value:.0f} ms"


def _dashboard_section(result: dict[str, Any]) -> list[str]:
    rows = [
        [label, _ms(result[key]["median_ms"]), _ms(result[key]["p90_ms"]), _ms(result[key]["max_ms"])]
        for label, key in (
            ("Metrics page, cold: first contentful paint", "cold_fcp"),
            ("Metrics page, cold: every chart drawn", "cold_charts"),
            ("Metrics page, warm (reload): first contentful paint", "warm_fcp"),
            ("Metrics page, warm (reload): every chart drawn", "warm_charts"),
            ("Sign-in page, cold: first contentful paint", "signin_fcp"),
        )
    ]
    return [
        "## 4. Dashboard first paint",
        "",
        *_table(["Load", "Median", "p90", "Max"], rows),
        "",
        f"- {result['loads']} cold loads of a GitHub integration's metrics page (90 days of the fake's demo "
        "repository, synced first) on `python -m devstack`, each in a new Chromium context (empty cache, the team "
        "token already in its session), two warm reloads after each; and as many cold loads of the sign-in page. "
        "Times are from navigation start: the browser's `first-contentful-paint` and `performance.now()` when the "
        "last chart is drawn (the metrics answered by the API included).",
        f"- A cold load transfers {result['cold_kib']} KiB (median; the script and styles gzipped by the API "
        "function, the API's answers included); warm loads revalidate `index.html` with its ETag (304) and take "
        "the hashed assets from the cache.",
        f"- Target: first paint under {result['target_ms']:.0f} ms at p90, cold, for both pages: "
        f"**{_verdict(result['passed'])}**.",
        "",
    ]


# ---------------------------------------------------------------- the document
def render(results: dict[str, Any], machine: dict[str, Any], total_s: float) -> tuple[str, bool]:
    timed = results.get("github_sync", {})
    memory = results.get("github_sync_memory")
    webhooks = results.get("webhooks", {})
    scheduler = results.get("scheduler", {})
    trello = results.get("trello_sync", {})
    dashboard = results.get("dashboard")
    targets: list[list[str]] = []
    ok = True
    if "error" not in timed and timed:
        targets += _sync_targets(timed)
    else:
        ok = False
    if "error" not in webhooks and webhooks:
        h = webhooks["handler"]
        targets.append(
            [
                f"Webhooks handler warm: median over {_n(webhooks['deliveries'])} signed deliveries",
                f"{h['median_ms']} ms (p90 {h['p90_ms']} ms)",
                f"< {webhooks['target_median_ms']:.0f} ms",
                _verdict(webhooks["passed"]),
            ]
        )
    else:
        ok = False
    if "error" not in scheduler and scheduler:
        targets.append(
            [
                f"Scheduler: {_n(scheduler['integrations'])} integrations enqueued in one invocation",
                f"{scheduler['seconds']} s",
                f"< {scheduler['target_s']:.0f} s (timeout {scheduler['timeout_s']} s)",
                _verdict(scheduler["passed"]),
            ]
        )
    else:
        ok = False
    if "error" not in trello and trello:
        targets += _trello_targets(trello)
    elif "trello_sync" in results:
        ok = False
    if dashboard is not None and "error" not in dashboard:
        targets.append(
            [
                f"Dashboard first paint on the local stack, cold, p90 of {dashboard['loads']} loads",
                f"{_ms(dashboard['cold_fcp']['p90_ms'])} (all charts drawn: {_ms(dashboard['cold_charts']['p90_ms'])})",
                f"< {dashboard['target_ms']:.0f} ms",
                _verdict(dashboard["passed"]),
            ]
        )
    elif dashboard is not None:
        ok = False
    ok = ok and all(row[-1] == PASS for row in targets)
    if memory is not None and "error" in memory:
        ok = False
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m benchmarks`, sources in `benchmarks/`); run it again rather than "
        "editing this file.",
        "",
        f"Run on {machine['date']}: {machine['nproc']} CPUs (`nproc`; {machine['cpu']}), {machine['memory']} memory, "
        f"Python {machine['python']}, {machine['platform']}; {versions}. The whole run took "
        f"{total_s / 60:.1f} minutes.",
        "",
        "## Targets",
        "",
        *_table(["Target", "Measured", "Limit", "Result"], [[*r[:3], f"**{r[3]}**"] for r in targets]),
        "",
    ]
    lines += _sync_section(timed, memory) if timed and "error" not in timed else _error("github_sync", timed)
    lines += _webhook_section(webhooks) if webhooks and "error" not in webhooks else _error("webhooks", webhooks)
    lines += _scheduler_section(scheduler) if scheduler and "error" not in scheduler else _error("scheduler", scheduler)
    if "trello_sync" in results:
        lines += _trello_section(trello) if "error" not in trello else _error("trello_sync", trello)
    if dashboard is not None:
        lines += _dashboard_section(dashboard) if "error" not in dashboard else _error("dashboard", dashboard)
    lines += METHOD
    return "\n".join(lines).rstrip() + "\n", ok


METHOD = [
    "## Method",
    "",
    "Nothing leaves the machine: AWS is moto, GitHub is `tests/fakes/github.py`'s `FakeGitHub` on 127.0.0.1. Each "
    "benchmark runs in a Python process of its own; the functions' logs go to `.local/bench/<benchmark>.log`.",
    "",
    "**GitHub sync.** The fake serves the repository from a process of its own (GitHub is another machine; its "
    "GraphQL execution must not compete with the worker for the interpreter lock), with 50 ms of latency on every "
    "request, GitHub's GraphQL cost formula and a 5,000-point hourly budget; it counts every request and point. "
    "Its synthetic generator gives 0-3 reviews per pull request; the benchmark redraws them to 0-8 per pull "
    "request, deterministically. AWS is moto's `mock_aws` in the benchmark's process, with every table, queue and "
    "bucket of `template.yaml` (`devstack.template.create_resources`, `stack_environment`). The integration is "
    "created through the config API's handler (`functions/api/app.py`, with the event API Gateway sends after the "
    "authorizer); the first sync job is the one it queued, the later ones are queued by `POST "
    "/integrations/{id}/sync`. Each job is received from the sync queue and handed to `functions/sync_worker/app.py`'s "
    "handler in the SQS event Lambda builds, with the function's 300 s timeout; any continuation job it queues runs "
    "the same way until the queue is empty. Requests and points are the fake's counts; wall time is the sum of the "
    "handler invocations, split by timing `ProviderHttp.request` (waiting on GitHub), `DynamoRecordStore.put_many` "
    "(storing) and `MetricsService.refresh_default` (the metrics cache refreshed after a sync that wrote records), "
    "wrapped in the benchmark process only. Records written are the conditional puts that landed.",
    "",
    "**Worker memory** comes from a second pass over the same syncs, because `mock_aws` keeps the emulator and the "
    "items it stores in the worker's own process: there the worker talks to moto's server in another process, as "
    "on the local stack. Per handler call: the peak RSS (`VmHWM`, reset through `/proc/self/clear_refs` before the "
    "call; the process's `ru_maxrss` since that reset, what Lambda reports as Max Memory Used) and the peak of "
    "Python allocations seen by `tracemalloc`. `tracemalloc` is paused while the record store writes a page "
    "(`put_many`: 8 threads of botocore requests and answers): traced, those 28,000 calls would slow the pass from "
    "about 4 to over 6 minutes; the RSS peak covers them, and the `tracemalloc` peak is the highest of the traced "
    "stretches (GitHub's answers and the records made of them, cursor and status writes, the metrics refresh).",
    "",
    "**Webhooks.** `devstack.start_stack` (moto's server, the local API, the SQS pollers; schedules off) runs in the "
    "benchmark's process on free ports. A team is created in the emulator, as `agiletrack teams create` does; its "
    "GitHub integration is created over HTTP and its first sync is left to finish. Deliveries are sent one at a "
    "time, each signed with `X-Hub-Signature-256` (HMAC-SHA256 of the body with the webhook secret the create "
    "answer gave). Handler time is `InvokeResult.duration_ms`, which devstack's `LambdaRuntime.invoke` measures "
    "around the handler call and the JSON round trip of its answer.",
    "",
    "**Scheduler.** See section 3.",
    "",
    "**Trello sync.** See section 4: `FakeTrello` generated in a process of its own, the adapter's pull run page by "
    "page as the sync engine runs it, the records stored by the DynamoDB store's write rule in memory.",
    "",
    "`make bench` exits with status 1 when a target is missed or a benchmark did not complete; this file is written "
    "either way. `python -m benchmarks --only NAME` runs one benchmark (`github_sync`, `github_sync_memory`, "
    "`webhooks`, `scheduler`, `trello_sync`); `python -m benchmarks --render` writes this file again from the last "
    "run's results.",
    "",
]
