"""``docs/benchmarks.md`` from the benchmarks' results: the targets, a table per benchmark, the method."""

from __future__ import annotations

import re
from typing import Any

from benchmarks.report_cost import cost_section, cost_target

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
    if "error" not in result:
        return [f"**{name} was not run** (`python -m benchmarks --only {name}`).", ""]
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


# ---------------------------------------------------------------- Jira sync
def _jira_budget(timed: dict[str, Any]) -> str:
    shape = timed["project"]
    issues, histories, sprints = shape["issues"], shape["histories"], shape["sprints"]
    return (
        f"⌈{_n(issues)}/100⌉ + ⌈{_n(histories)}/1,000⌉ + 2·{sprints} + 10 = "
        f"{_n(-(-issues // 100))} + {_n(-(-histories // 1000))} + {2 * sprints} + 10"
    )


def _jira_targets(timed: dict[str, Any]) -> list[list[str]]:
    full, changed, unchanged = timed["scenarios"]
    cold, warm = timed["metrics_calls"]
    checks = timed["metrics_checks"]
    touched = len(timed["touched_issues"])
    return [
        [
            "Jira full sync: requests (1 per 100 issues + 1 per 1,000 histories + 2 per sprint + 10)",
            _n(full["requests"]),
            f"≤ {_n(full['limit'])} ({_jira_budget(timed)})",
            _verdict(full["checks"]["requests within budget"]),
        ],
        [
            "Jira full sync: every issue stored, every job succeeded",
            f"{_n(full['written_by_kind'].get('jira_issue', 0))} issues written",
            f"= {_n(timed['project']['issues'])} in the project",
            _verdict(
                full["checks"]["every issue written once"]
                and full["checks"]["every issue stored"]
                and full["checks"]["every job succeeded"]
            ),
        ],
        [
            f"Jira hourly sync after {touched} issues changed: requests",
            _n(changed["requests"]),
            f"≤ {changed['limit']}",
            _verdict(changed["checks"]["requests within budget"]),
        ],
        [
            f"Jira hourly sync after {touched} issues changed: only those written",
            f"{changed['records_written']} ({_kinds(changed)})",
            f"= {touched}, the changed issues",
            _verdict(
                changed["checks"]["only the changed records written"] and changed["checks"]["every job succeeded"]
            ),
        ],
        [
            "Jira idle hourly sync: requests",
            _n(unchanged["requests"]),
            f"≤ {unchanged['limit']}",
            _verdict(unchanged["checks"]["requests within budget"]),
        ],
        [
            "Jira idle hourly sync: records written",
            _n(unchanged["records_written"]),
            "0",
            _verdict(unchanged["checks"]["no record written"] and unchanged["checks"]["every job succeeded"]),
        ],
        [
            f"Jira metrics, 90-day window over {_n(timed['project']['issues'])} issues: cold, then warm",
            f"{_s(cold['wall_s'])} (read {_s(cold['read_s'])}, compute {_s(cold['compute_s'])}); "
            f"warm {_s(warm['wall_s'])}",
            "answered (200), warm from the cache",
            _verdict(all(checks.values())),
        ],
    ]


def _kinds(scenario: dict[str, Any]) -> str:
    return ", ".join(f"{k} {_n(v)}" for k, v in sorted(scenario["written_by_kind"].items())) or "none"


def _endpoints(scenario: dict[str, Any]) -> str:
    ordered = sorted(scenario["by_endpoint"].items(), key=lambda pair: (-pair[1], pair[0]))
    return "<br>".join(f"`{name}` {count}" for name, count in ordered) or "none"


def _jira_section(timed: dict[str, Any], memory: dict[str, Any] | None) -> list[str]:
    shape = timed["project"]
    scenarios = timed["scenarios"]
    mem = {s["name"]: s for s in (memory or {}).get("scenarios", [])} if memory and "error" not in memory else {}
    touched = len(timed["touched_issues"])
    header = ["", "(a) first full sync", f"(b) hourly, {touched} issues changed", "(c) hourly, nothing changed"]

    def row(label: str, cell: Any) -> list[str]:
        return [label, *[cell(s) for s in scenarios]]

    def mem_row(label: str, key: str) -> list[str]:
        return [label, *[_mib(mem[s["name"]][key]) if s["name"] in mem else "n/a" for s in scenarios]]

    rows = [
        row("HTTP requests (as the fake logged them)", lambda s: f"**{_n(s['requests'])}**"),
        row("&nbsp;&nbsp;by endpoint", _endpoints),
        row("&nbsp;&nbsp;refused by the burst limit (counted above)", lambda s: _n(s["burst_refused"])),
        row("Target", lambda s: f"≤ {_n(s['limit'])} requests"),
        row("Records written", lambda s: f"**{_n(s['records_written'])}** ({_kinds(s)})"),
        row("Wall time (sync worker handler)", lambda s: f"**{_s(s['wall_s'])}** ({s['invocations']} invocation(s))"),
        row("&nbsp;&nbsp;waiting on Jira (HTTP)", lambda s: _s(s["http_s"])),
        row("&nbsp;&nbsp;storing records (DynamoDB, moto)", lambda s: _s(s["store_s"])),
        row("&nbsp;&nbsp;metrics refresh after the sync", lambda s: _s(s["metrics_s"])),
        row("&nbsp;&nbsp;the rest (parsing, cursor, status)", lambda s: _s(s["other_s"])),
        mem_row("Worker peak RSS during the handler (memory pass)", "peak_rss_mib"),
        mem_row("&nbsp;&nbsp;RSS before the handler", "rss_before_mib"),
        mem_row("Worker `tracemalloc` peak (memory pass)", "tracemalloc_peak_mib"),
        row("Result", lambda s: f"**{_verdict(s['passed'])}**"),
    ]
    categories = ", ".join(f"{k} {_n(v)}" for k, v in sorted(shape["by_category"].items()))
    states = ", ".join(f"{v} {k}" for k, v in sorted(shape["sprints_by_state"].items()))
    lines = [
        "## 4. Jira sync and metrics",
        "",
        f"Fake project: {_n(shape['issues'])} issues created {shape['created_first'][:10]} to "
        f"{shape['created_last'][:10]} ({categories} by status category; {_n(shape['estimated'])} estimated in "
        f"the board's story point field), {_n(shape['histories'])} changelog histories "
        f"({shape['histories_per_issue'][0]}-{shape['histories_per_issue'][1]} per issue; {_n(shape['long_lived'])} "
        f"long-lived issues with more than 40 hold {_n(shape['histories_of_long_lived'])} of them), "
        f"{shape['sprints']} sprints ({states}; {_n(shape['in_a_sprint'])} issues in one); "
        f"{timed['latency_ms']} ms of latency per request, a burst limit of {timed['burst'][0]} requests per "
        f"endpoint per {timed['burst'][1]:g} s.",
        "",
        *_table(header, rows),
        "",
        f"- Full-sync budget, from the fake's own counts (every history of every issue, those search returned "
        f"included): {_jira_budget(timed)} = **{_n(scenarios[0]['limit'])}**.",
        f"- Creating the integration cost {timed['validation_calls']['requests']} requests (the credential check: "
        "`/myself`, the project), not counted above.",
        f"- Records held after (c): {', '.join(f'{k} {_n(v)}' for k, v in timed['records_held_after'].items())}.",
        "- Search asks for each issue's changelog (`expand=changelog`, the newest 40 histories and their total); "
        "only issues with more than 40, whose changelog search cut, are read again with the bulk changelog fetch "
        "(1,000 histories a page, per batch of up to 1,000 issues).",
        f"- The timed pass's process (worker and in-process moto with its tables) peaked at "
        f"{_mib(timed['process_peak_rss_mib'])} RSS.",
        "",
    ]
    cold, warm = timed["metrics_calls"]
    mem_calls = {c["name"]: c for c in (memory or {}).get("metrics_calls", [])} if mem else {}

    def call_row(label: str, cell: Any) -> list[str]:
        return [label, cell(cold), cell(warm)]

    window = timed["window"]
    lines += [
        f"`GET /integrations/{{id}}/metrics?since={window['since']}&until={window['until']}` through the API "
        "handler, after (c):",
        "",
        *_table(
            ["", "cold (no cached document)", "warm (the same request again)"],
            [
                call_row("Answer", lambda c: str(c["status"])),
                call_row("Wall time (API handler)", lambda c: f"**{_s(c['wall_s'])}**"),
                call_row(
                    "&nbsp;&nbsp;reading records (Query pages, decoding)",
                    lambda c: f"{_s(c['read_s'])} ({_n(c['records_read'])} records)",
                ),
                call_row("&nbsp;&nbsp;computing (Jira calculators)", lambda c: _s(c["compute_s"])),
                call_row("&nbsp;&nbsp;the rest (cache, integration, answer)", lambda c: _s(c["other_s"])),
                call_row(
                    "Issues created / resolved in window, backlog now",
                    lambda c: f"{_n(c['issues_created'])} / {_n(c['issues_resolved'])}, {_n(c['backlog'])}",
                ),
                [
                    "API peak RSS (memory pass)",
                    *[_mib(mem_calls.get(n, {}).get("peak_rss_mib")) for n in ("cold", "warm")],
                ],
                [
                    "API `tracemalloc` peak (memory pass)",
                    *[_mib(mem_calls.get(n, {}).get("tracemalloc_peak_mib")) for n in ("cold", "warm")],
                ],
            ],
        ),
        "",
        "- Every Jira kind is a snapshot kind (the backlog and the sprints need every issue, whatever the window), "
        "so the cold call reads all the integration's records; reading them is moto's Query emulation (it scans "
        "the table's partition for each page) and the decoding of each record's JSON.",
        NOTE_API_MEMORY,
        "",
    ]
    if not mem:
        lines.insert(len(lines) - 1, "- The memory pass did not complete; see `.local/bench/jira_sync_memory.log`.")
    return lines


NOTE_API_MEMORY = (
    "- The API function has `MemorySize: 1024` (template.yaml) for the cold call's peak: see `docs/operations.md`, "
    '"API function memory" (the RSS here also holds what the worker\'s invocations left in this process).'
)


# ---------------------------------------------------------------- Trello sync
def _trello_targets(result: dict[str, Any]) -> list[list[str]]:
    first, hourly, idle = result["scenarios"]
    limits = result["limits"]
    board = result["board"]
    checks = result["metrics_checks"]
    cold, warm = result["metrics_calls"]

    def check(scenario: dict[str, Any], *names: str) -> bool:
        return all(scenario["checks"].get(name, False) for name in names)

    return [
        [
            f"Trello first sync ({_n(result.get('cards_created', board['cards']))} cards, {_n(board['actions'])} "
            "actions): requests, 429s served",
            f"{_n(first['requests'])}, {first['throttled']} 429",
            f"≤ {limits['first']}, 0 429",
            _verdict(check(first, "requests within budget", "no 429 served", "every job succeeded")),
        ],
        [
            "Trello first sync: every action written once and stored",
            _n(first["written_by_kind"].get("trello_action", 0)),
            f"= {_n(board['actions'])}",
            _verdict(check(first, "every action written once", "every action stored (and the new ones after (b))")),
        ],
        [
            f"Trello hourly sync after {len(result['new_actions'])} new actions: requests",
            _n(hourly["requests"]),
            f"≤ {limits['hourly']}",
            _verdict(hourly["passed"]),
        ],
        [
            "Trello idle hourly sync: requests, records written",
            f"{idle['requests']}, {idle['records_written']}",
            f"≤ {limits['idle']}, 0",
            _verdict(idle["passed"]),
        ],
        [
            f"Trello metrics, {result['window_days']}-day window: cold answered, warm from the cache",
            f"{cold['status']} in {_s(cold['wall_s'])}; {warm['status']} in {_s(warm['wall_s'])}, "
            f"{warm['records_read']} records read",
            "200, warm reads no record",
            _verdict(all(checks.values())),
        ],
    ]


def _trello_section(timed: dict[str, Any], memory: dict[str, Any] | None) -> list[str]:
    scenarios = timed["scenarios"]
    board = timed["board"]
    mem = {s["name"]: s for s in (memory or {}).get("scenarios", [])} if memory and "error" not in memory else {}
    header = ["", "(a) first full sync", f"(b) hourly, {len(timed['new_actions'])} new actions", "(c) idle hourly"]

    def row(label: str, cell: Any) -> list[str]:
        return [label, *[cell(s) for s in scenarios]]

    def mem_row(label: str, key: str) -> list[str]:
        return [label, *[_mib(mem[s["name"]][key]) if s["name"] in mem else "n/a" for s in scenarios]]

    rows = [
        row("HTTP requests (as the fake counted them)", lambda s: f"**{_n(s['requests'])}**"),
        row("&nbsp;&nbsp;by endpoint", _endpoints),
        row("429s served", lambda s: _n(s["throttled"])),
        row("Target", lambda s: f"≤ {_n(s['limit'])} requests"),
        row("Records written", lambda s: f"**{_n(s['records_written'])}** ({_kinds(s)})"),
        row("Wall time (sync worker handler)", lambda s: f"**{_s(s['wall_s'])}** ({s['invocations']} invocation(s))"),
        row("&nbsp;&nbsp;waiting on Trello (HTTP)", lambda s: _s(s["http_s"])),
        row("&nbsp;&nbsp;storing records (DynamoDB, moto)", lambda s: _s(s["store_s"])),
        row("&nbsp;&nbsp;metrics refresh after the sync", lambda s: _s(s["metrics_s"])),
        row("&nbsp;&nbsp;the rest (pacing, parsing, cursor, status)", lambda s: _s(s["other_s"])),
        mem_row("Worker peak RSS during the handler (memory pass)", "peak_rss_mib"),
        mem_row("&nbsp;&nbsp;RSS before the handler", "rss_before_mib"),
        mem_row("Worker `tracemalloc` peak (memory pass)", "tracemalloc_peak_mib"),
        row("Result", lambda s: f"**{_verdict(s['passed'])}**"),
    ]
    cold, warm = timed["metrics_calls"]
    mem_calls = {c["name"]: c for c in (memory or {}).get("metrics_calls", [])} if mem else {}

    def call_row(label: str, cell: Any) -> list[str]:
        return [label, cell(cold), cell(warm)]

    window = timed["window"]
    lines = [
        "## 5. Trello sync and metrics",
        "",
        f"Fake board: {_n(timed.get('cards_created', board['cards']))} cards created ({_n(board['cards'])} still on "
        f"the board, archived ones among them; the others deleted), {_n(board['actions'])} "
        f"actions, {board['lists']} lists, {board['labels']} labels; {timed['latency_ms']} ms of latency per request; "
        "Trello's limits enforced (100 requests per 10 s per token, 300 per key).",
        "",
        *_table(header, rows),
        "",
        f"- Creating the integration cost {timed['validation_calls']['requests']} requests (the credential check: "
        "`/1/members/me`, the board, its lists), not counted above; its config has no `api_secret`, so no webhook "
        "is registered.",
        f"- Records held after (c): {', '.join(f'{k} {_n(v)}' for k, v in timed['records_held_after'].items())}.",
        "- The first sync's HTTP time is Trello's pace: 90 requests per 10 s at most (the client's budget, under "
        "Trello's 100); the client's pacing sleeps count in the rest.",
        "- Storing is moto's `TransactWriteItems` emulation (with `devstack.moto_fixes`): it parses each Put's "
        "condition expression again for every item, about 1.5 ms a record here. The metrics refresh after a sync "
        "that changed the data, like the cold call below, reads every record (every Trello kind is read whole: "
        "creations, last entries and list ages reach back before any window); that time is moto's Query emulation "
        "and the serialization of its answers for the most part (decoding the records is a small share of it). "
        "An idle sync refreshes nothing. The memory pass ran before that change (its (b) and (c) still refreshed).",
        f"- The timed pass's process (worker and in-process moto with its tables) peaked at "
        f"{_mib(timed['process_peak_rss_mib'])} RSS.",
        "",
        f"`GET /integrations/{{id}}/metrics?since={window['since']}&until={window['until']}` through the API "
        "handler, after (c):",
        "",
        *_table(
            ["", "cold (no cached document)", "warm (the same request again)"],
            [
                call_row("Answer", lambda c: str(c["status"])),
                call_row("Wall time (API handler)", lambda c: f"**{_s(c['wall_s'])}**"),
                call_row(
                    "&nbsp;&nbsp;reading records (Query pages, decoding)",
                    lambda c: f"{_s(c['read_s'])} ({_n(c['records_read'])} records)",
                ),
                call_row("&nbsp;&nbsp;computing (Trello calculators)", lambda c: _s(c["compute_s"])),
                call_row("&nbsp;&nbsp;the rest (cache, integration, answer)", lambda c: _s(c["other_s"])),
                call_row(
                    "Card moves, cards done in the window",
                    lambda c: f"{_n(c['moves_total'])}, {_n(c['throughput_total'])}",
                ),
                [
                    "API peak RSS (memory pass)",
                    *[_mib(mem_calls.get(n, {}).get("peak_rss_mib")) for n in ("cold", "warm")],
                ],
                [
                    "&nbsp;&nbsp;RSS before the call",
                    *[_mib(mem_calls.get(n, {}).get("rss_before_mib")) for n in ("cold", "warm")],
                ],
                [
                    "API `tracemalloc` peak (memory pass)",
                    *[_mib(mem_calls.get(n, {}).get("tracemalloc_peak_mib")) for n in ("cold", "warm")],
                ],
            ],
        ),
        "",
    ]
    lines.insert(len(lines) - 1, NOTE_API_MEMORY)
    if not mem:
        lines.insert(len(lines) - 1, "- The memory pass did not complete; see `.local/bench/trello_sync_memory.log`.")
    return lines


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
        "## 6. Dashboard first paint",
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


# ---------------------------------------------------------------- cold starts
COLD_START_NAMES = {
    "ApiFunction": "api",
    "AuthorizerFunction": "authorizer",
    "WebhooksFunction": "webhooks",
    "EventProcessorFunction": "event_processor",
    "SchedulerFunction": "scheduler",
    "SyncWorkerFunction": "sync_worker",
}


def _cold_name(logical_id: str) -> str:
    return COLD_START_NAMES.get(logical_id, logical_id)


def _cold_start_targets(result: dict[str, Any]) -> list[list[str]]:
    return [
        [
            f"Cold import of `{_cold_name(name)}` beside bare `import boto3`, median of {result['rounds']} processes",
            f"{f['ratio']}x ({_ms(f['import']['median_ms'])} / {_ms(result['boto3']['median_ms'])})",
            f"≤ {result['target_ratio']}x",
            _verdict(f["passed"]),
        ]
        for name, f in result["functions"].items()
    ]


def _cold_start_section(result: dict[str, Any]) -> list[str]:
    boto3 = result["boto3"]
    rows = [
        [
            "bare `import boto3`",
            _ms(boto3["median_ms"]),
            _ms(boto3["p90_ms"]),
            "1.00x",
            _ms(boto3["cpu"]["median_ms"]),
            "1.00x",
            _n(boto3["modules"]),
            "",
            _ms(boto3["without_bytecode"]["median_ms"]) if "without_bytecode" in boto3 else "n/a",
            "",
            "",
        ]
    ]
    tops: list[str] = []
    for name, f in result["functions"].items():
        first = f.get("first") or {}
        rows.append(
            [
                f"`{_cold_name(name)}`",
                _ms(f["import"]["median_ms"]),
                _ms(f["import"]["p90_ms"]),
                f"**{f['ratio']}x**",
                _ms(f["import_cpu"]["median_ms"]),
                f"{f['cpu_ratio']}x",
                _n(f["modules"]),
                f"`{f['floor']['name']}` {f['floor']['ratio']}x, +{f['floor']['beyond_floor_ms']:.0f} ms"
                if "floor" in f
                else "n/a",
                _ms(f["without_bytecode"]["median_ms"]) if "without_bytecode" in f else "n/a",
                _ms(first["first_invocation"]["median_ms"]) if first else "n/a",
                f"`{first['event']}` → {first['outcome']}, {_ms(first['first_call']['median_ms'])}" if first else "n/a",
            ]
        )
        tops.append(
            f"  - `{_cold_name(name)}`: "
            + ", ".join(
                f"`{t['package']}` {t['ms']:.0f} ms ({t['modules']} module{'s' if t['modules'] != 1 else ''})"
                for t in f["top"]
            )
        )
    return [
        "## 7. Cold starts",
        "",
        *_table(
            [
                "Import",
                "Median",
                "p90",
                "Ratio (median)",
                "CPU median",
                "CPU ratio",
                "Modules",
                "Its dependency floor; the function beyond it",
                "Layer without bytecode (median)",
                "First invocation (median)",
                "First call: event → answer, time",
            ],
            rows,
        ),
        "",
        "- What is imported is what `sam build` ships (`.aws-sam/build`, built first): each function's directory "
        "and the SharedLayer's `python/`, which `layers/agiletrack/Makefile` compiles to bytecode. The processes run "
        "`python -S`: no site-packages, only the layer and the standard library, as on Lambda, and bare "
        "`import boto3` is the layer's boto3.",
        f"- {result['rounds']} rounds; each round runs bare `import boto3` and then every function's `app.py`, each "
        "in a fresh `python` process, in an order that rotates every round, so the baseline and the functions share "
        "the machine's load. Median and p90 are of wall time inside the process, from before the first import to "
        "after the module's last line (interpreter start-up excluded, the same for both); the CPU columns are the "
        "process's CPU time over the same span, less disturbed by other work on a shared machine. Target: each "
        f"function's median at most {result['target_ratio']}x bare boto3's.",
        "- Dependency floors, in the same rounds: what a function cannot do without on any request, with the "
        "libraries the product chose, imported alone from the same layer (`benchmarks/cold_start.py`, `FLOORS`): "
        + "; ".join(
            f"`{name}` {floor['ratio']}x ({_ms(floor['median_ms'])})"
            for name, floor in result.get("floors", {}).items()
        )
        + ". `observability` is boto3 with Powertools' Logger, Tracer (X-Ray, botocore patched) and Metrics; "
        "`sqs_batch` adds pydantic with a model validated and Powertools' SQS batch processor (the sync worker: "
        "every job reads an integration); `sqs_batch_idempotent` adds Powertools' idempotency (the event "
        "processor); `http_resolver` is `observability`, pydantic and Powertools' HTTP resolver with validation "
        "(the API). A floor over 1.5x is a target no code of ours can meet with those libraries.",
        f"- Layer without bytecode: the same imports, {result.get('source_rounds', 'n/a')} rounds, from a copy of "
        "the layer with no `__pycache__`: what SAM's `python3.11` builder shipped before the Makefile (Lambda's "
        "`/opt` is read-only, so every cold start compiled every module again). Information: the change's effect.",
        f"- First invocation: import plus one call of the sample event from `events/`, {result['first_calls']} fresh "
        "processes each, against moto's server in a process of its own (the sample team and token seeded, so the "
        "authorizer and `/teams/me` take their usual path; the other events name integrations that do not exist, "
        "so those calls stop early). Information only: no target.",
        "- Top contributors beyond `import boto3` (one `python -X importtime` run each; the self time of every "
        "module bare boto3 does not load, summed by package; a pydantic model built at import counts for the "
        "module that defines it; a single run, so as noisy as the machine):",
        *tops,
        "",
    ]


# ---------------------------------------------------------------- load on the local stack
def _webhook_load_targets(result: dict[str, Any]) -> list[list[str]]:
    checks, ack = result["checks"], result["ack_from_due"]
    offered = f"{result['rate_offered']}/s for {result['seconds']} s"
    return [
        [
            f"Webhook load ({offered}, {_n(result['deliveries'])} deliveries): every answer 202",
            ", ".join(f"{n:,} x {code}" for code, n in sorted(result["statuses"].items())),
            f"{_n(result['deliveries'])} x 202",
            _verdict(checks["every_answer_202"]),
        ],
        [
            "Webhook load: acknowledgement p99 (from when each delivery was due)",
            f"{ack['p99_ms']:,.0f} ms (median {ack['median_ms']:,.0f} ms; {result['achieved_rate']}/s acknowledged)",
            f"< {result['target_p99_ms']:,.0f} ms",
            _verdict(checks["p99_under_1s"]),
        ],
        [
            "Webhook load: all processed, each record once, none lost, queues and DLQs empty",
            f"{_n(result['records_stored'])} records in "
            + (f"{result['processing_end_s']} s" if result["processing_end_s"] is not None else "(not all)"),
            f"{_n(result['records_expected'])} in ≤ {result['target_processing_s'] / 60:.0f} min",
            _verdict(
                checks["processed_within_10_min"]
                and checks["every_record_once"]
                and checks["every_message_once"]
                and checks["queues_and_dlqs_empty"]
            ),
        ],
        [
            "Webhook load: each team's token sees only its own integrations and metrics",
            f"{result['isolation']['foreign_metrics_readable']} foreign readable",
            "0",
            _verdict(checks["teams_isolated"]),
        ],
    ]


_CPU_COLUMNS = ("moto", "moto_sqs", "sandboxes", "webhooks_sandboxes", "stack")


def _cpu_row(label: str, cpu: dict[str, Any]) -> list[str]:
    busy = cpu["cores_busy"]
    return [label, _s(cpu["wall_s"])] + [
        f"{cpu['cpu_s'].get(name, 0)} s ({busy.get(name, 0):.2f})" for name in _CPU_COLUMNS
    ]


def _webhook_load_section(result: dict[str, Any]) -> list[str]:
    due, sent = result["ack_from_due"], result["ack_from_sent"]
    kinds = result["integrations"]
    boxes = result["sandboxes"]
    rows = [
        [
            label,
            f"{d['median_ms']:,.0f} ms",
            f"{d['p90_ms']:,.0f} ms",
            f"{d['p99_ms']:,.0f} ms",
            f"{d['max_ms']:,.0f} ms",
        ]
        for label, d in (("From when it was due", due), ("From when it was sent", sent))
    ]
    return [
        "## 7. Webhook load on the local stack",
        "",
        f"{_n(result['deliveries'])} signed deliveries offered at {result['rate_offered']} a second for "
        f"{result['seconds']} s over {sum(kinds.values())} integrations of {result['teams']} teams "
        f"({kinds.get('github', 0)} GitHub, {kinds.get('jira', 0)} Jira, {kinds.get('trello', 0)} Trello), "
        "from a load generator in a process of its own; every function in sandbox processes.",
        "",
        *_table(["Acknowledgement latency", "Median", "p90", "p99", "Max"], rows),
        "",
        f"- Answers: {', '.join(f'{n:,} x {code}' for code, n in sorted(result['statuses'].items()))}; the "
        f"burst took {_s(result['burst_s'])} to answer ({result['achieved_rate']} acknowledged a second; the "
        f"generator sent its last delivery {result['generator_span_s']} s after its first, on schedule).",
        f"- Processing: {_n(result['records_stored'])} of {_n(result['records_expected'])} records stored "
        + (
            f"{result['processing_end_s']} s after the first delivery"
            if result["processing_end_s"] is not None
            else "when the 10 minutes ran out"
        )
        + f"; {_n(result['messages_processed'])} SQS messages handled successfully, "
        f"{result['messages_processed_twice']} twice, {result['messages_failed']} failed; dead-letter queues "
        f"{result['dead_letters']}; per integration, new records = deliveries sent: "
        f"**{_verdict(result['per_integration_ok'])}**.",
        f"- Teams: each of the {result['teams']} tokens lists only its own integrations "
        f"(**{_verdict(result['isolation']['lists_only_own'])}**) and reads "
        f"{result['isolation']['own_metrics_readable']} own metrics and "
        f"{result['isolation']['foreign_metrics_readable']} of another team's (404 each).",
        f"- Sandboxes (concurrency {boxes['WebhooksFunction']['concurrency']} per function): webhooks "
        f"{boxes['WebhooksFunction']['invocations']:,} invocations, peak {boxes['WebhooksFunction']['peak']} at once; "
        f"event processor {boxes['EventProcessorFunction']['invocations']:,} batches, peak "
        f"{boxes['EventProcessorFunction']['peak']}; no timeout, no crash "
        f"({sum(b['timeouts'] + b['crashes'] for b in boxes.values())}).",
        "",
        "CPU seconds used (and cores kept busy) by the two moto processes (DynamoDB, Secrets Manager and S3 in "
        "one, SQS in the other, as on AWS they are separate services), the sandboxes (all functions; the "
        "webhooks function's of them) and the stack's own process (the HTTP API and the SQS pollers); the load "
        f"generator used {result['generator_cpu_s']} s:",
        "",
        *_table(
            ["Phase", "Wall", "moto (DynamoDB, S3, secrets)", "moto (SQS)", "Sandboxes", "of them webhooks", "Stack"],
            [
                _cpu_row("Burst", result["cpu_burst"]),
                _cpu_row("Drain (until every record is stored)", result["cpu_drain"]),
            ],
        ),
        "",
        f"- The DynamoDB moto spent "
        f"{result['cpu_drain']['cpu_s']['moto'] / max(1, result['records_expected']) * 1000:.0f} ms "
        "of CPU per delivery while the event processor drained the queue (its server is threaded, under one "
        "interpreter lock); the webhooks function's `SendMessage` goes to the SQS moto, which that work does not "
        "hold up. Both share the machine's two cores with the sandboxes, the HTTP API, the generator and the fakes.",
        *(
            [
                f"- The machine's one-minute load average was {result['load_average'][0]} as the burst began and "
                f"{result['load_average'][1]} when every record was stored (2 cores): other processes' work counts "
                "in these latencies."
            ]
            if "load_average" in result
            else []
        ),
        "",
    ]


def _counts(counts: dict[str, Any]) -> str:
    """``{"success": 50}`` as ``50 x success``."""
    return ", ".join(f"{_n(n)} x {key}" for key, n in counts.items())


def _concurrent_syncs_targets(result: dict[str, Any]) -> list[list[str]]:
    checks = result["checks"]
    total = sum(result["integrations"].values())
    first, again = result["first"], result["again"]
    return [
        [
            f"{total} integrations syncing at once: every sync succeeded (first, then again)",
            f"{_counts(first['outcomes'])}; then {_counts(again['outcomes'])}",
            f"{total} x success, twice",
            _verdict(checks["first: every sync succeeded"] and checks["again: every sync succeeded"]),
        ],
        [
            f"{total} syncs at once: no lease collision (one run each, none coalesced or deferred)",
            f"{first['lease_log_lines'] + again['lease_log_lines']} collisions",
            "0",
            _verdict(
                checks["first: one run each, no lease collision"] and checks["again: one run each, no lease collision"]
            ),
        ],
        [
            f"{total} syncs at once: records equal the fakes' truth, none written twice",
            f"{_n(first['records_written'])} written = {_n(first['records_held'])} held",
            "truth, once",
            _verdict(
                checks["first: records equal the fakes' truth"]
                and checks["first: no record written twice"]
                and checks["again: records equal the fakes' truth"]
                and checks["again: only the changes written"]
            ),
        ],
    ]


def _concurrent_syncs_section(result: dict[str, Any]) -> list[str]:
    kinds, truth = result["integrations"], result["truth"]
    first, again = result["first"], result["again"]
    worker = result["sync_worker"]

    def row(label: str, phase: dict[str, Any]) -> list[str]:
        runs = phase["run_ms"]
        median = runs[len(runs) // 2] if runs else 0
        requests = phase["provider_requests"]
        return [
            label,
            _s(phase["wall_s"]),
            ", ".join(f"{k} {v}" for k, v in phase["outcomes"].items()),
            f"{_n(phase['records_written'])} / {_n(phase['records_held'])}",
            f"{requests['github']} / {requests['jira']} / {requests['trello']}",
            f"{median / 1000:.1f} s / {runs[-1] / 1000:.1f} s" if runs else "n/a",
            f"{phase['cpu']['cpu_s']['moto']} s / {phase['cpu']['cpu_s']['sandboxes']} s",
        ]

    return [
        f"## 8. {sum(kinds.values())} integrations syncing at once",
        "",
        f"{kinds.get('github', 0)} GitHub, {kinds.get('jira', 0)} Jira and {kinds.get('trello', 0)} Trello "
        f"integrations of {result['teams']} teams on the local stack, against one fake of each provider; the sync "
        f"worker's pool runs {worker['concurrency']} at once.",
        "",
        *_table(
            [
                "Phase",
                "Wall",
                "Outcomes",
                "Written / held",
                "Requests GitHub / Jira / Trello",
                "Run median / max",
                "CPU moto / sandboxes",
            ],
            [row("First syncs (queued by the 50 creations)", first), row("All 50 asked at once", again)],
        ),
        "",
        f"- Truth per integration: GitHub {_counts(truth['github'])}; Jira {_counts(truth['jira'])}; Trello "
        f"{_counts(truth['trello'])} (plus "
        f"the {result['changed_per_provider']} new actions after the change); integrations whose records differ: "
        f"{len(first['mismatched_integrations'])} first, {len(again['mismatched_integrations'])} again.",
        f"- The 50 first syncs were queued within {first['created_in_s']} s (the creations, one after another) and "
        f"all ended {first['wall_s']} s after the first; each integration has one run "
        f"(runs per integration: {_counts(first['runs_per_integration'])}), and its `records_written` equals "
        f"the records it holds: **{_verdict(first['written_once'])}**.",
        f"- After {result['changed_per_provider']} changes per provider, the 50 `POST .../sync` answered "
        f"{_counts(again['answers'])}; each run wrote only the changes (GitHub "
        f"{sorted(set(again['written_by_provider']['github']))}, Jira "
        f"{sorted(set(again['written_by_provider']['jira']))}, Trello "
        f"{sorted(set(again['written_by_provider']['trello']))} records: the new actions and the cards they name).",
        f'- Lease collisions: {first["lease_log_lines"]} and {again["lease_log_lines"]} "a sync is already '
        'running" or "deferred" lines in the functions\' logs; sync worker sandboxes: '
        f"{worker['after_again']['cold_starts']} started, peak {worker['after_again']['peak']} at once, "
        f"{worker['after_again']['timeouts']} timeouts, {worker['after_again']['crashes']} crashes.",
        "",
    ]


# ---------------------------------------------------------------- the document
def render(results: dict[str, Any], machine: dict[str, Any], total_s: float) -> tuple[str, bool]:
    timed = results.get("github_sync", {})
    memory = results.get("github_sync_memory")
    webhooks = results.get("webhooks", {})
    scheduler = results.get("scheduler", {})
    trello = results.get("trello_sync", {})
    trello_memory = results.get("trello_sync_memory")
    dashboard = results.get("dashboard")
    cost = results.get("cost")
    cold_start = results.get("cold_start")
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
    jira = results.get("jira_sync", {})
    jira_memory = results.get("jira_sync_memory")
    if "error" not in jira and jira:
        targets += _jira_targets(jira)
    elif "jira_sync" in results:
        ok = False
    if jira_memory is not None and "error" in jira_memory:
        ok = False
    if "error" not in trello and trello:
        targets += _trello_targets(trello)
    elif "trello_sync" in results:
        ok = False
    if trello_memory is not None and "error" in trello_memory:
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
    if cost is not None and "error" not in cost:
        targets.append(cost_target(cost))
    elif cost is not None:
        ok = False
    if cold_start is not None and "error" not in cold_start:
        targets += _cold_start_targets(cold_start)
    elif cold_start is not None:
        ok = False
    webhook_load = results.get("webhook_load")
    if webhook_load is not None and "error" not in webhook_load:
        targets += _webhook_load_targets(webhook_load)
    elif webhook_load is not None:
        ok = False
    concurrent = results.get("concurrent_syncs")
    if concurrent is not None and "error" not in concurrent:
        targets += _concurrent_syncs_targets(concurrent)
    elif concurrent is not None:
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
    if "jira_sync" in results:
        lines += _jira_section(jira, jira_memory) if jira and "error" not in jira else _error("jira_sync", jira)
    if "trello_sync" in results:
        lines += _trello_section(trello, trello_memory) if "error" not in trello else _error("trello_sync", trello)
    if dashboard is not None:
        lines += _dashboard_section(dashboard) if "error" not in dashboard else _error("dashboard", dashboard)
    if cost is not None:
        lines += cost_section(cost, _table) if "error" not in cost else _error("cost", cost)
    if cold_start is not None:
        lines += _cold_start_section(cold_start) if "error" not in cold_start else _error("cold_start", cold_start)
    if webhook_load is not None:
        lines += (
            _webhook_load_section(webhook_load) if "error" not in webhook_load else _error("webhook_load", webhook_load)
        )
    if concurrent is not None:
        lines += (
            _concurrent_syncs_section(concurrent)
            if "error" not in concurrent
            else _error("concurrent_syncs", concurrent)
        )
    lines += METHOD
    return "\n".join(_numbered(lines)).rstrip() + "\n", ok


def _numbered(lines: list[str]) -> list[str]:
    """The sections numbered in the order they appear (each section's renderer writes its own heading)."""
    out: list[str] = []
    number = 0
    for line in lines:
        heading = re.match(r"## \d+\. (.*)", line)
        if heading is None:
            out.append(line)
        else:
            number += 1
            out.append(f"## {number}. {heading.group(1)}")
    return out


METHOD = [
    "## Method",
    "",
    "Nothing leaves the machine: AWS is moto, GitHub and Jira are the fakes of `tests/fakes/` on 127.0.0.1. Each "
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
    "wrapped in the benchmark process only. Records written are the record writes that landed: the Puts of the "
    "fenced transactions that succeeded (a cancelled one writes nothing; the store retries it without the records "
    "whose own condition failed), and any unfenced conditional `PutItem` that passed.",
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
    "**Cost.** `devstack.start_stack` in the benchmark's process with the fake GitHub, Jira and Trello of `make "
    "demo` (30 days of activity); one team connects one integration of each kind over HTTP. Phases run one at a "
    "time, each ending when both queues are empty: 12 signed deliveries per provider (after 2 warm-ups), a catch-up "
    "sync then an idle sync of each integration, a sync after 3 changes on each fake, a dashboard view, 6 metrics "
    "reads, and the scheduler's tick with 3 integrations and with 303. `LambdaRuntime.invoke` is wrapped to put "
    "each invocation's duration, stdout bytes and AWS calls (botocore's `before-parameter-build` and `after-call` "
    "events on boto3's default session) under its phase; the units are computed in `benchmarks/cost_meter.py`, the "
    "bill in `benchmarks/cost_model.py`.",
    "",
    "**Jira sync and metrics.** As for GitHub, with `tests/fakes/jira.py`'s `FakeJira` served over HTTPS from a "
    "process of its own (`benchmarks/fake_jira_host.py`), 60 ms of latency on every request and its per-endpoint "
    "burst limit on (a 429 `jira-burst-based` naming when the window frees; the client waits it out in place, and "
    "the refused request counts). The project is generated from a seed: 50,000 issues created over 18 months, more "
    "of them lately; statuses To Do, In Progress, In Review and Done by category; story points in the field the "
    "board's configuration names; each issue walks the workflow with a few other changes (summary, estimate, a "
    "sprint move), one in twenty is long-lived with 41-60 histories; 12 two-week sprints, 10 closed, one active, one "
    "future. The worker's backfill is two years (`BACKFILL_DAYS=730`) so the first sync reads every issue (by "
    "default it reads the last year's changes and every unresolved issue). The full-sync budget is computed from "
    "the fake's counts after generation. (b) changes 20 issues with short histories (a status step each) through "
    "the fake, (c) changes nothing; each hourly sync is queued by `POST /integrations/{id}/sync`. Records written "
    "are the Puts of the fenced transactions that landed. The metrics calls go through the API handler with an "
    "explicit 90-day window (a window of its own in the cache, so the first call is a miss); reading is the time "
    "spent in `DynamoRecordStore.updated_since` while the service consumes it, computing is "
    "`JiraAdapter.compute_metrics`. moto runs with `devstack.moto_fixes` (its transactions otherwise copy the whole "
    "table each time: quadratic over 50,000 records). The memory pass repeats everything against moto's server.",
    "",
    "**Trello sync.** As for Jira: `FakeTrello` generated in a process of its own (HTTP, latency, Trello's per-token "
    "and per-key limits), the integration created through the config API handler (no `api_secret`: no webhook "
    "registered), jobs from the sync queue given to the sync worker handler until the queue is empty, the hourly "
    "syncs queued by `POST /integrations/{id}/sync` 1.1 s apart. Records written are the Puts of the fenced "
    "transactions that landed. The metrics calls go through the API handler with an explicit 90-day window; "
    "computing is `TrelloAdapter.compute_metrics`. The memory pass (`trello_sync_memory`) repeats everything "
    "against moto's server.",
    "",
    "**Cold starts.** `sam build` runs first; every function of `template.yaml` is then imported from its build "
    "output as Lambda imports it (its code directory first on `sys.path`, the SharedLayer's `python/` after it, "
    "compiled to bytecode by `layers/agiletrack/Makefile`) in a fresh `python -S` process (no site-packages) that "
    "writes no `.pyc` files. The dependency floors and the layer without bytecode are measured the same way. Both the "
    "functions and the bare `import boto3` baseline get the environment a deployed function sees: the function's "
    "variables from the template as the local stack resolves them (`devstack.template.function_environment`) and "
    "the ones Lambda sets itself (`LAMBDA_TASK_ROOT`, `AWS_LAMBDA_FUNCTION_NAME`, `AWS_EXECUTION_ENV`, the X-Ray "
    "daemon address), so the Powertools Tracer is on, as with the template's `Tracing: Active`, and the X-Ray "
    "SDK runs in its Lambda mode. The first invocations run with a sampled `_X_AMZN_TRACE_ID`; their segments go "
    "by UDP to 127.0.0.1:2000, where nothing listens.",
    "**Webhook load** (`benchmarks/webhook_load.py`). The local stack as `make dev` runs it: moto's server in a "
    "process of its own, the HTTP API and the SQS pollers in the benchmark's process, every function in sandbox "
    "processes (`devstack.lambda_runtime.SandboxRuntime`, 4 per function at most), the three fakes in processes of "
    "their own (`benchmarks/load_stack.py`). Five teams are made in the emulator; each gets two GitHub, one Jira and "
    "one Trello integration through `POST /integrations`, whose first syncs are left to finish. The webhooks and "
    "event processor functions get their four sandboxes each started before the burst (`SandboxRuntime.provision`, "
    "as provisioned concurrency would). A load generator in a process of its own (multiprocessing, spawn) builds "
    "every delivery first, then sends delivery `i` at `i / 100` s on a fixed open-loop schedule (plain asyncio, one "
    "HTTP/1.1 connection per delivery, as providers open them), round-robin over the 20 integrations. Each delivery "
    "is a distinct change that stores one new record: GitHub `pull_request` opened or `issues` opened of a new number "
    "(`X-Hub-Signature-256` with the integration's secret), Jira `jira:issue_created` or `jira:issue_updated` of a new "
    "key (`X-Hub-Signature`), a Trello `commentCard` with a new action id (`X-Trello-Webhook`: HMAC-SHA1 of the body "
    "and the callback URL with the application secret). Latency runs from when a delivery was due (a late generator "
    "counts against the stack) and from when it was sent. Afterwards the run polls the queue's depth every 2 s and, "
    "once it is empty, scans the records table (keys only) until every integration holds one new record of the "
    "delivered kind per delivery it was sent, at most 10 minutes from the first delivery. Exactly once: the event "
    "processor's invocations are counted in the benchmark's process (the runtime's `invoke`), each SQS message "
    "must be reported done once and none failed; the dead-letter queues must be empty. Isolation: each team's token "
    "asks `GET /integrations` and `GET /integrations/{id}/metrics` of all 20 integrations (another team's must be "
    "404). CPU seconds are read from `/proc/<pid>/stat` of moto's process, the sandboxes and the benchmark's process "
    "at the start and end of the burst and of the drain.",
    "",
    "**Concurrent syncs** (`benchmarks/concurrent_syncs.py`). The same stack and fakes (GitHub: 60 pull requests, "
    "150 commits, 40 issues; Jira: 60 issues; Trello: 40 cards, 200 actions), 50 integrations of 5 teams (20 "
    "GitHub, 15 Jira, 15 Trello, sharing one repository, project and board per provider) created one after another "
    "through the API: each creation queues its first sync, and the sync worker's pool (4 sandboxes) runs them as "
    "they come. The phase ends when every integration's status shows its last sync ended. Then each fake changes "
    "(5 pull requests touched, 5 Jira issues moved, 5 Trello actions added) and 50 threads, released together, "
    "each `POST /integrations/{id}/sync`. Truth: the fakes' own counts (Trello: actions, as the Trello benchmark "
    "checks them). Written once: the runs' `records_written` (`GET /integrations/{id}/syncs`) per integration "
    "equal to the records it holds after the first syncs, and only the changes written after. Lease collisions: "
    "runs per integration and outcomes (a `coalesced` or `deferred` job would show) and the sync worker's \"a sync "
    'is already running" and "job deferred" log lines.',
    "",
    "`make bench` exits with status 1 when a target is missed or a benchmark did not complete; this file is written "
    "either way. `python -m benchmarks --only NAME` runs one benchmark (`github_sync`, `github_sync_memory`, "
    "`webhooks`, `scheduler`, `jira_sync`, `jira_sync_memory`, `trello_sync`, `trello_sync_memory`, `dashboard`, "
    "`cost`, `cold_start`, `webhook_load`, `concurrent_syncs`); "
    "`python -m benchmarks --render` writes this file "
    "again from the last run's results.",
    "",
]
