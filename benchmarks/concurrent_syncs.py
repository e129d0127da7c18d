"""Benchmark: 50 integrations syncing at the same time on the local stack, against the fakes.

The local stack runs as ``make dev`` runs it (every function in sandbox processes, ``load_stack``), with the
three fakes in processes of their own: a GitHub repository, a Jira project and a Trello board, each shared by
the integrations of its provider. Five teams get ten integrations each through ``POST /integrations``
(4 GitHub, 3 Jira, 3 Trello: 20, 15 and 15), one after another as fast as the API answers; each creation
queues the integration's first sync, so 50 sync jobs are on the queue within seconds, and the sync worker's
pool runs them as many at once as its concurrency.

1. First syncs: from the first ``POST`` until every integration's last sync has ended. Checks: every one
   ``success``; no lease collision (one run per integration, none ``coalesced`` or ``deferred``, and no
   "already running" or "deferred" line in the functions' logs); the records stored for every integration
   equal the fake's truth, kind by kind (GitHub pull requests, commits and issues; Jira issues; Trello
   actions, as the Trello benchmark counts them); and none written twice (the runs' ``records_written`` per
   integration equals the records it holds).
2. Then every fake changes (GitHub: ``CHANGED`` pull requests touched; Jira: ``CHANGED`` issues touched;
   Trello: ``CHANGED`` new actions) and a sync of all 50 is asked at once (``POST /integrations/{id}/sync``
   from 50 threads). Checks: every answer 202, every sync ``success``, one new run per integration, no lease
   collision, the records again equal the fakes' truth, and each run wrote the changed records only.

Reported: wall time of each phase, the provider requests (the fakes' counters), the records, the sync
worker's sandboxes (cold starts, peak concurrency) and the CPU seconds of moto's process and the sandboxes.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from benchmarks.common import LOG_DIR, progress

TEAMS = 5
PER_TEAM = ("github",) * 4 + ("jira",) * 3 + ("trello",) * 3
CHANGED = 5
SYNC_TIMEOUT_S = 900.0
GITHUB = {"prs": 60, "commits": 150, "issues": 40}
JIRA_ISSUES = 60
TRELLO_CARDS = 40


def truth(fake: Any, new_actions: int = 0) -> dict[str, dict[str, int]]:
    """The records each provider's integration must hold, by kind, as the fakes' shapes count them (Trello's
    actions, as the Trello benchmark checks them: its cards include deleted ones), plus Trello's new actions."""
    gh, jira, trello = fake.github.shape, fake.jira.shape, fake.trello.shape
    return {
        "github": {"pull_request": gh["pull_requests"], "commit": gh["commits"], "issue": gh["issues"]},
        "jira": {"jira_issue": jira["issues"]},
        "trello": {"trello_action": trello["actions"] + new_actions},
    }


def run() -> dict[str, Any]:
    import httpx

    from benchmarks import load_stack

    started = time.perf_counter()
    progress("concurrent_syncs: starting the fakes and the local stack (sandboxes)")
    with (
        load_stack.fakes(github=GITHUB, jira_issues=JIRA_ISSUES, trello_cards=TRELLO_CARDS) as fake,
        load_stack.local_stack("concurrent_syncs", fake) as stack,
        httpx.Client(base_url=stack.api_url, timeout=60.0) as client,
    ):
        invocations = load_stack.Invocations(stack.runtime)
        result = _run(stack, fake, client, invocations, load_stack)
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    return result


def _lease_lines() -> int:
    path = LOG_DIR / "concurrent_syncs-functions.log"
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    return sum(text.count(m) for m in ("a sync is already running", "job deferred"))


def _runs(client: Any, integration: Any) -> list[dict[str, Any]]:
    answer = client.get(
        f"/integrations/{integration.id}/syncs", headers={"Authorization": f"Bearer {integration.token}"}
    )
    return list(answer.json()["items"])


def _phase(
    client: Any,
    fake: Any,
    integrations: list[Any],
    ls: Any,
    began: float,
    runs_before: dict[str, int],
    new_actions: int = 0,
    after: str | None = None,
) -> dict[str, Any]:
    outcomes = ls.wait_until_synced(client, integrations, SYNC_TIMEOUT_S, after)
    wall = time.monotonic() - began
    expected = truth(fake, new_actions)
    counts = ls.record_counts([i.id for i in integrations])
    runs = {i.id: _runs(client, i) for i in integrations}
    new_runs = {i: items[: len(items) - runs_before.get(i, 0)] for i, items in runs.items()}
    mismatched = {
        i.id: {kind: [counts[i.id][kind], n] for kind, n in expected[i.type].items() if counts[i.id][kind] != n}
        for i in integrations
        if any(counts[i.id][kind] != n for kind, n in expected[i.type].items())
    }
    run_outcomes = Counter(r["outcome"] for items in new_runs.values() for r in items)
    return {
        "wall_s": round(wall, 1),
        "outcomes": dict(Counter(outcomes.values())),
        "all_success": len(outcomes) == len(integrations) and set(outcomes.values()) == {"success"},
        "runs_per_integration": dict(Counter(len(items) for items in new_runs.values())),
        "run_outcomes": dict(run_outcomes),
        "records_held": sum(sum(c.values()) for c in counts.values()),
        "records_written": sum(r["records_written"] for items in new_runs.values() for r in items),
        "records_pulled": sum(r["records_pulled"] for items in new_runs.values() for r in items),
        "api_calls": sum(r["api_calls"] for items in new_runs.values() for r in items),
        "run_ms": sorted(r["duration_ms"] for items in new_runs.values() for r in items),
        "mismatched_integrations": mismatched,
        "_new_runs": new_runs,
        "_counts": counts,
    }


def _run(stack: Any, fake: Any, client: Any, invocations: Any, ls: Any) -> dict[str, Any]:
    teams = ls.create_teams(TEAMS, "syncs")
    plan = [(t, provider, teams[t][1]) for t in range(TEAMS) for provider in PER_TEAM]
    moto_pid = stack.moto_server.process.pid if stack.moto_server else None
    cpu = ls.CpuSampler(
        {
            "moto": lambda: [moto_pid] if moto_pid else [],
            "sandboxes": lambda: [p for name in stack.runtime.specs for p in stack.runtime.sandbox_pids(name)],
        }
    )
    progress(f"concurrent_syncs: creating {len(plan)} integrations (each queues its first sync)")
    fake.github.reset_calls()
    fake.jira.reset_calls()
    fake.trello.reset()
    cpu.start()
    began = time.monotonic()
    integrations = ls.create_integrations(client, fake, plan)
    created_s = time.monotonic() - began
    first = _phase(client, fake, integrations, ls, began, {})
    first["cpu"] = cpu.stop()
    first["created_in_s"] = round(created_s, 1)
    first["provider_requests"] = _provider_requests(fake)
    first_runs = first.pop("_new_runs")
    first_counts = first.pop("_counts")
    first["written_once"] = all(
        sum(r["records_written"] for r in first_runs[i.id]) == sum(first_counts[i.id].values()) for i in integrations
    )
    first["lease_log_lines"] = _lease_lines()
    worker_after_first = dict(vars(stack.runtime.stats("SyncWorkerFunction")))
    progress(f"concurrent_syncs: first syncs done in {first['wall_s']} s; changing the fakes, then 50 syncs at once")

    fake.github.touch_pull_requests(CHANGED)
    fake.jira.touch(CHANGED)
    fake.trello.new_actions(CHANGED)
    fake.github.reset_calls()
    fake.jira.reset_calls()
    fake.trello.reset()
    runs_before = {i.id: len(first_runs[i.id]) for i in integrations}
    answers: list[int] = []
    lock = threading.Lock()
    gate = threading.Event()

    def ask(integration: Any) -> None:
        with ls_client(stack.api_url) as own:
            gate.wait()
            answer = own.post(
                f"/integrations/{integration.id}/sync", headers={"Authorization": f"Bearer {integration.token}"}
            )
        with lock:
            answers.append(answer.status_code)

    threads = [threading.Thread(target=ask, args=(i,)) for i in integrations]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    cpu.start()
    began = time.monotonic()
    asked_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    gate.set()
    for thread in threads:
        thread.join()
    second = _phase(client, fake, integrations, ls, began, runs_before, new_actions=CHANGED, after=asked_at)
    second["cpu"] = cpu.stop()
    second["answers"] = dict(Counter(answers))
    second["provider_requests"] = _provider_requests(fake)
    second_runs = second.pop("_new_runs")
    second.pop("_counts")
    second["written_by_provider"] = {
        provider: sorted(
            sum(r["records_written"] for r in second_runs[i.id]) for i in integrations if i.type == provider
        )
        for provider in ("github", "jira", "trello")
    }
    second["lease_log_lines"] = _lease_lines() - first["lease_log_lines"]
    one_run = {1: len(integrations)}
    checks = {
        "first: every sync succeeded": first["all_success"],
        "first: one run each, no lease collision": first["runs_per_integration"] == one_run
        and first["lease_log_lines"] == 0,
        "first: records equal the fakes' truth": not first["mismatched_integrations"],
        "first: no record written twice": first["written_once"],
        "again: every request accepted (202)": second["answers"] == {202: len(integrations)},
        "again: every sync succeeded": second["all_success"],
        "again: one run each, no lease collision": second["runs_per_integration"] == one_run
        and second["lease_log_lines"] == 0,
        "again: records equal the fakes' truth": not second["mismatched_integrations"],
        "again: only the changes written": all(min(v) >= CHANGED for v in second["written_by_provider"].values())
        and max(second["written_by_provider"]["github"]) == CHANGED
        and max(second["written_by_provider"]["jira"]) == CHANGED,
    }
    return {
        "integrations": dict(Counter(i.type for i in integrations)),
        "teams": TEAMS,
        "truth": truth(fake),
        "records_by_kind": {
            provider: dict(first_counts[next(i.id for i in integrations if i.type == provider)])
            for provider in ("github", "jira", "trello")
        },
        "changed_per_provider": CHANGED,
        "first": first,
        "again": second,
        "sync_worker": {
            "concurrency": stack.runtime.concurrency("SyncWorkerFunction"),
            "after_first": worker_after_first,
            "after_again": dict(vars(stack.runtime.stats("SyncWorkerFunction"))),
        },
        "invocations": dict(invocations.counts),
        "invocation_errors": dict(invocations.errors),
        "dead_letters": ls.dead_letters(stack),
        "checks": checks,
        "passed": all(checks.values()),
    }


def ls_client(url: str) -> Any:
    import httpx

    return httpx.Client(base_url=url, timeout=60.0)


def _provider_requests(fake: Any) -> dict[str, int]:
    github = fake.github.calls()
    return {
        "github": int(github["rest"]) + int(github["graphql"]),
        "jira": int(fake.jira.calls()["requests"]),
        "trello": int(fake.trello.counters()["requests"]),
    }
