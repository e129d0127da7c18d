"""Benchmark: 100 signed webhook deliveries a second for 60 s on the local stack, over 20 integrations of 5 teams.

The local stack runs as ``make dev`` runs it, every function in sandbox processes (``load_stack``), with the
three fakes in processes of their own. Five teams are made, each with four integrations through
``POST /integrations`` (GitHub, GitHub, Jira, Trello: 10 GitHub, 5 Jira, 5 Trello), and their first syncs
are left to finish. The webhooks and event processor functions get their sandboxes started before the burst
(``SandboxRuntime.provision``, as provisioned concurrency would; otherwise the first second pays up to four
cold starts of each, about a second of CPU apiece on this machine). Then a load generator in a process of
its own (``multiprocessing``, spawn) sends
``RATE`` deliveries a second for ``SECONDS`` seconds on a fixed open-loop schedule (delivery ``i`` is due
at ``i / RATE`` s, whatever the earlier answers did; plain asyncio, one connection per delivery as providers
open them), round-robin over the 20 integrations. Each delivery is a distinct change that stores one new
record: a GitHub ``pull_request`` ``opened`` or ``issues`` ``opened`` (a number no pull request or issue has
yet), a Jira ``jira:issue_created`` or ``jira:issue_updated`` of a new key, a Trello ``commentCard`` action
(a new action id), each signed as the provider signs it with the integration's secret (Trello: the
application secret over the body and the callback URL). Every answer's status and latency are recorded:
latency from the moment the delivery was due (so a late generator counts against the stack, not for it) and
from the moment it was sent.

Then the run waits (at most ``PROCESS_TIMEOUT_S`` from the first delivery) until the records table holds
every delivery's record, and checks: every answer 202, p99 acknowledgement under 1 s, every record stored
once (per integration, the new records of the delivered kind equal the deliveries sent to it; no other kind
grew beyond what the deliveries name), each SQS message handled successfully exactly once by the event
processor (the runtime's invocations, counted in this process), the queues and dead-letter queues empty,
and each team's token seeing only its own integrations (``GET /integrations``) and no other team's metrics
(``GET /integrations/{id}/metrics`` of another team's integration is 404). CPU seconds of moto's process,
the sandboxes and this process (the HTTP API and the pollers) over the burst and the drain are sampled
from ``/proc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import multiprocessing
import os
import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from benchmarks.common import progress, quantile

RATE = int(os.environ.get("WEBHOOK_LOAD_RATE", "100"))
SECONDS = int(os.environ.get("WEBHOOK_LOAD_SECONDS", "60"))
"""The offered load; the environment may lower it for a trial run (the report says what ran)."""
TEAMS = 5
PER_TEAM = ("github", "github", "jira", "trello")
TARGET_P99_MS = 1000.0
PROCESS_TIMEOUT_S = 600.0
FIRST_SYNC_TIMEOUT_S = 300.0
KIND = {"github": ("pull_request", "issue"), "jira": ("jira_issue",), "trello": ("trello_action",)}
"""The record kinds a delivery to each provider adds one of (GitHub: pull requests and issues alternately)."""


# ---------------------------------------------------------------- deliveries (built in the generator's process)


def _github_issue(full_name: str, number: int, at: datetime) -> dict[str, Any]:
    from benchmarks.webhooks import _repository, _user

    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    issue = {
        "url": f"https://api.github.com/repos/{full_name}/issues/{number}",
        "id": 2_000_000_000 + number,
        "node_id": f"I_kwDOHbench{number}",
        "number": number,
        "title": f"Issue {number}: the pipeline is slow",
        "user": _user("ada", 1001),
        "labels": [],
        "state": "open",
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": 0,
        "created_at": stamp,
        "updated_at": stamp,
        "closed_at": None,
        "author_association": "MEMBER",
        "body": "Seen under load.",
    }
    return {"action": "opened", "issue": issue, "repository": _repository(full_name), "sender": _user("ada", 1001)}


def delivery(target: dict[str, Any], seq: int, at: datetime, rng: random.Random) -> tuple[bytes, dict[str, str]]:
    """The body and headers of delivery ``seq`` to ``target`` (one of the plan's integrations)."""
    provider = target["type"]
    if provider == "github":
        from benchmarks.webhooks import pull_request_payload

        number = 100_000 + seq
        if seq % 2 == 0:
            payload, event = pull_request_payload(target["repository"], number, "opened", at, rng), "pull_request"
        else:
            payload, event = _github_issue(target["repository"], number, at), "issues"
        body = json.dumps(payload).encode()
        signature = hmac.new(target["secret"].encode(), body, hashlib.sha256).hexdigest()
        return body, {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/load",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-GitHub-Hook-ID": "123456",
            "X-Hub-Signature-256": f"sha256={signature}",
        }
    if provider == "jira":
        from tests.fakes import jira_payloads

        number = 100_000 + seq
        raw = jira_payloads.issue(number, updated=at, created=at - timedelta(hours=1), summary=f"Load {number}")
        event = "jira:issue_created" if seq % 2 == 0 else "jira:issue_updated"
        return jira_payloads.signed(jira_payloads.issue_event(event, raw, at=at), target["secret"])
    from tests.fakes import trello_payloads
    from tests.fakes.trello_webhooks import trello_signature

    card = f"{0x5F0C_0000_0000_0000_0000_0000 + seq % 50:024x}"
    action = trello_payloads.action(
        "commentCard",
        at,
        {"card": {"id": card, "name": f"Card {seq % 50}", "idShort": seq % 50}, "text": f"comment {seq}"},
        action_id=f"{0x6A00_0000_0000_0000_0000_0000 + target['index'] * 1_000_000 + seq:024x}",
    )
    body = json.dumps({"action": action, "model": trello_payloads.BOARD}, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Trello-Webhooks (load)"}
    headers["X-Trello-Webhook"] = trello_signature(target["secret"], body, target["url"])
    return body, headers


def _generate(conn: Connection, plan: dict[str, Any]) -> None:
    """The load generator's process: build every delivery, say ready, send on ``go`` and answer the results."""
    import sys

    for path in plan["sys_path"]:
        if path not in sys.path:
            sys.path.insert(0, path)
    rng = random.Random(3)
    now = datetime.now(UTC).replace(microsecond=0)
    targets = plan["integrations"]
    total = plan["rate"] * plan["seconds"]
    requests = []
    for i in range(total):
        target = targets[i % len(targets)]
        body, headers = delivery(target, i // len(targets), now + timedelta(milliseconds=i), rng)
        requests.append((target["path"], body, headers))
    conn.send(("ready", len(requests)))
    conn.recv()
    began = time.process_time()
    results = asyncio.run(_send_all(plan["api_url"], plan["rate"], requests))
    conn.send(("done", results, round(time.process_time() - began, 1)))


async def _post(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    """One HTTP/1.1 POST on a connection of its own (as a provider opens one per delivery); the status."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        await reader.readexactly(length)
        return status
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _send_all(api_url: str, rate: int, requests: list[tuple[str, bytes, dict[str, str]]]) -> list[Any]:
    """Send request ``i`` at ``start + i / rate`` whatever the earlier ones did (an open loop); for each, the
    status (or the error's name), the latency from when it was due and from when it was sent, and the send
    offset. A plain asyncio client: httpx's connection pool costs O(open connections) per request, which made
    the generator the bottleneck at 100 a second."""
    host, _, port = api_url.split("://", 1)[1].rstrip("/").partition(":")
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    results: list[Any] = [None] * len(requests)

    async def one(i: int, due: float) -> None:
        path, body, headers = requests[i]
        sent = loop.time()
        try:
            status: int | str = await asyncio.wait_for(_post(host, int(port), path, body, headers), 60)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, TimeoutError) as error:
            status = type(error).__name__
        done = loop.time()
        results[i] = (status, round((done - due) * 1000, 2), round((done - sent) * 1000, 2), round(sent - start, 4))

    tasks = []
    for i in range(len(requests)):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    return results


# ---------------------------------------------------------------- the run


def run() -> dict[str, Any]:
    import httpx

    from benchmarks import load_stack

    started = time.perf_counter()
    progress("webhook_load: starting the fakes and the local stack (sandboxes)")
    with load_stack.fakes() as fake, load_stack.local_stack("webhook_load", fake) as stack:
        invocations = load_stack.Invocations(stack.runtime)
        with httpx.Client(base_url=stack.api_url, timeout=60.0) as client:
            return _run(stack, fake, client, invocations, load_stack, started)


def _run(stack: Any, fake: Any, client: Any, invocations: Any, ls: Any, started: float) -> dict[str, Any]:
    teams = ls.create_teams(TEAMS, "load")
    plan = [(t, provider, teams[t][1]) for t in range(TEAMS) for provider in PER_TEAM]
    integrations = ls.create_integrations(client, fake, plan)
    progress(f"webhook_load: {len(integrations)} integrations made; waiting for their first syncs")
    synced = ls.wait_until_synced(client, integrations, FIRST_SYNC_TIMEOUT_S)
    ids = [i.id for i in integrations]
    before = ls.record_counts(ids)
    trello_secret = fake.trello.config["api_secret"]
    targets = [
        {
            "index": n,
            "id": i.id,
            "type": i.type,
            "url": i.url,
            "path": i.path,
            "secret": trello_secret if i.type == "trello" else i.secret,
            "repository": fake.github.repository,
        }
        for n, i in enumerate(integrations)
    ]
    import sys

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    generator = context.Process(
        target=_generate,
        args=(
            child,
            {
                "api_url": stack.api_url,
                "rate": RATE,
                "seconds": SECONDS,
                "integrations": targets,
                "sys_path": list(sys.path),
            },
        ),
        daemon=True,
    )
    generator.start()
    _, total = parent.recv()
    moto_pid = stack.moto_server.process.pid if stack.moto_server else None
    sqs_pid = stack.sqs_server.process.pid if stack.sqs_server else None
    cpu = ls.CpuSampler(
        {
            "moto": lambda: [moto_pid] if moto_pid else [],
            "moto_sqs": lambda: [sqs_pid] if sqs_pid else [],
            "sandboxes": lambda: [p for name in stack.runtime.specs for p in stack.runtime.sandbox_pids(name)],
            "webhooks_sandboxes": lambda: stack.runtime.sandbox_pids("WebhooksFunction"),
            "stack": lambda: [os.getpid()],
        }
    )
    warmed = {name: stack.runtime.provision(name) for name in ("WebhooksFunction", "EventProcessorFunction")}
    progress(f"webhook_load: sending {total} deliveries at {RATE}/s")
    cpu.start()
    load_before = os.getloadavg()[0]
    burst_began = time.monotonic()
    parent.send("go")
    while not parent.poll(1.0):
        if not generator.is_alive():
            raise RuntimeError(f"the load generator exited with {generator.exitcode}")
    _, results, generator_cpu = parent.recv()
    burst_s = time.monotonic() - burst_began
    generator.join(10)
    burst_cpu = cpu.stop()
    progress(f"webhook_load: sent in {burst_s:.1f} s; waiting for the records")

    sent = Counter(targets[i % len(targets)]["id"] for i in range(total))
    kinds = {i.id: KIND[i.type] for i in integrations}

    def new_records() -> dict[str, int]:
        now = ls.record_counts(ids)
        return {i: sum(now[i][k] - before[i][k] for k in kinds[i]) for i in ids}

    cpu.start()
    say = ls.progress_every("webhook_load")
    ended: list[float] = []

    def all_stored() -> bool:
        depth = ls.queue_depth(stack, "WebhookQueue")
        say(f"{depth} deliveries on the queue")
        if depth:  # a scan of the records table costs moto more than the queue's counts: only when it is empty
            return False
        stored = new_records()
        if all(stored[i] >= sent[i] for i in ids):
            ended.append(time.monotonic() - burst_began)
            return True
        return False

    left = PROCESS_TIMEOUT_S - (time.monotonic() - burst_began)
    processed = ls.wait_for(all_stored, max(0.0, left), interval=2.0)
    drain_cpu = cpu.stop()
    ls.wait_for(lambda: ls.queue_depth(stack, "WebhookQueue") == 0, 30)
    time.sleep(2)  # a late duplicate, if any, would land now
    stored = new_records()
    final = ls.record_counts(ids)

    statuses = Counter(str(r[0]) for r in results)
    due_ms = [r[1] for r in results if r[0] == 202]
    sent_ms = [r[2] for r in results if r[0] == 202]
    send_span = max(r[3] for r in results) if results else 0.0
    processed_ids = invocations.processed
    isolation = _isolation(client, integrations)
    summary = {
        "deliveries": total,
        "rate_offered": RATE,
        "seconds": SECONDS,
        "teams": TEAMS,
        "integrations": Counter(i.type for i in integrations),
        "first_syncs": Counter(synced.values()),
        "statuses": dict(statuses),
        "ack_from_due": _summary(due_ms),
        "ack_from_sent": _summary(sent_ms),
        "generator_span_s": round(send_span, 2),
        "achieved_rate": round(statuses.get("202", 0) / burst_s, 1) if burst_s else 0.0,
        "burst_s": round(burst_s, 1),
        "processed_all": processed,
        "processing_end_s": round(ended[0], 1) if ended else None,
        "records_expected": total,
        "records_stored": sum(stored.values()),
        "per_integration_ok": all(stored[i] == sent[i] for i in ids),
        "per_integration": {i: {"sent": sent[i], "stored": stored[i]} for i in ids},
        "messages_processed": sum(processed_ids.values()),
        "messages_processed_twice": sum(1 for n in processed_ids.values() if n > 1),
        "messages_failed": invocations.failed_messages,
        "invocations": dict(invocations.counts),
        "invocation_errors": dict(invocations.errors),
        "dead_letters": ls.dead_letters(stack),
        "queue_left": ls.queue_depth(stack, "WebhookQueue"),
        "isolation": isolation,
        "cpu_burst": burst_cpu,
        "generator_cpu_s": generator_cpu,
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "provisioned": warmed,
        "cpu_drain": drain_cpu,
        "sandboxes": {
            name: vars(stack.runtime.stats(name)) | {"concurrency": stack.runtime.concurrency(name)}
            for name in stack.runtime.specs
        },
        "records_by_kind": dict(sum((final[i] for i in ids), Counter())),
        "target_p99_ms": TARGET_P99_MS,
        "target_processing_s": PROCESS_TIMEOUT_S,
    }
    summary["checks"] = {
        "every_answer_202": statuses.get("202", 0) == total,
        "p99_under_1s": summary["ack_from_due"]["p99_ms"] < TARGET_P99_MS,
        "processed_within_10_min": processed and bool(ended) and ended[0] <= PROCESS_TIMEOUT_S,
        "every_record_once": summary["per_integration_ok"] and summary["records_stored"] == total,
        "every_message_once": summary["messages_processed"] == total and summary["messages_processed_twice"] == 0,
        "queues_and_dlqs_empty": summary["queue_left"] == 0 and not any(summary["dead_letters"].values()),
        "teams_isolated": isolation["ok"],
    }
    summary["passed"] = all(summary["checks"].values())
    summary["elapsed_s"] = round(time.perf_counter() - started, 1)
    return summary


def _isolation(client: Any, integrations: list[Any]) -> dict[str, Any]:
    """Each team's token: its own integrations listed, and not one of another team's metrics readable."""
    by_team: dict[int, set[str]] = {}
    tokens: dict[int, str] = {}
    for integration in integrations:
        by_team.setdefault(integration.team, set()).add(integration.id)
        tokens[integration.team] = integration.token
    listed_ok = True
    foreign_readable = 0
    own_readable = 0
    for team, token in tokens.items():
        auth = {"Authorization": f"Bearer {token}"}
        listed = {item["id"] for item in client.get("/integrations", headers=auth).json()["items"]}
        listed_ok = listed_ok and listed == by_team[team]
        for integration in integrations:
            answer = client.get(f"/integrations/{integration.id}/metrics", headers=auth)
            if integration.team == team:
                own_readable += answer.status_code == 200
            elif answer.status_code != 404:
                foreign_readable += 1
    checked = len(integrations) * len(tokens)
    return {
        "lists_only_own": listed_ok,
        "own_metrics_readable": own_readable,
        "foreign_metrics_readable": foreign_readable,
        "requests": checked + len(tokens),
        "ok": listed_ok and foreign_readable == 0 and own_readable == len(integrations),
    }


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "median_ms": round(quantile(values, 0.5), 1),
        "p90_ms": round(quantile(values, 0.9), 1),
        "p99_ms": round(quantile(values, 0.99), 1),
        "max_ms": round(max(values), 1) if values else float("nan"),
    }
