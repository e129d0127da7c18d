"""Benchmark 3: the hourly scheduler enqueues 10,000 integrations in one invocation, against moto.

This is what ``tests/integration/test_scheduler.py::test_ten_thousand_integrations_in_one_run`` does,
with the scheduler function's handler (``functions/scheduler/app.py``) instead of ``schedule_all``:

- 10,000 integrations are written straight to the integrations table with ``BatchWriteItem`` (the test's
  ``seed``), as many as a large installation has;
- moto's SQS runs with the local stack's speed fix (``devstack.moto_fixes``): unfixed, moto recomputes its
  approximate message counts over every stored message on each send, to read one unrelated attribute, so
  10,000 sends would cost moto about 50 million message checks. That is a cost of the emulator, not of
  the scheduler;
- the messages held by moto's sync queue are counted directly afterwards.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common import context_for, function, moto_stack, progress

INTEGRATIONS = 10_000
SCHEDULER_TIMEOUT_S = 300
TARGET_S = 150.0
"""The test's bound: far inside the scheduler's 300 s timeout, even on an in-process emulator."""


def run() -> dict[str, Any]:
    from moto.sqs.models import sqs_backends

    from devstack.__main__ import schedule_event
    from devstack.moto_fixes import apply_sqs_send_fix
    from tests.integration.test_scheduler import seed

    started = time.perf_counter()
    with moto_stack() as resources:
        progress(f"scheduler: seeding {INTEGRATIONS} integrations with BatchWriteItem")
        seeding = time.perf_counter()
        seed(INTEGRATIONS)
        seed_s = time.perf_counter() - seeding
        handler, spec = function("SchedulerFunction")
        event = schedule_event(spec.schedules[0], resources)
        progress("scheduler: one invocation of the scheduler function")
        apply_sqs_send_fix()
        began = time.perf_counter()
        report = handler(event, context_for(spec))
        elapsed = time.perf_counter() - began
        queue_name = resources.queue_urls["SyncQueue"].rsplit("/", 1)[-1]
        backend = sqs_backends[resources.account_id][resources.region]
        held = len(backend.queues[queue_name]._messages)
    return {
        "integrations": INTEGRATIONS,
        "seed_s": round(seed_s, 1),
        "seconds": round(elapsed, 1),
        "report": report,
        "held_on_queue": held,
        "per_integration_ms": round(elapsed / INTEGRATIONS * 1000, 2),
        "timeout_s": SCHEDULER_TIMEOUT_S,
        "target_s": TARGET_S,
        "passed": report.get("queued") == INTEGRATIONS
        and report.get("send_failures") == 0
        and held == INTEGRATIONS
        and elapsed < TARGET_S,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
