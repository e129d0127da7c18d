"""Benchmark: every function's cold import beside a bare ``import boto3``, in fresh interpreters, from what
``sam build`` ships.

The code imported is the build's (``.aws-sam/build``, made by ``sam build`` first): each function's directory
and the SharedLayer's ``python/``, compiled to bytecode by ``layers/agiletrack/Makefile``. Each sample is a new
``python -S`` process (no site-packages: the layer and the standard library only, as on Lambda; no ``.pyc``
written) that starts the clock, imports one thing and stops it: either ``boto3`` (the layer's) alone or a
function's ``app.py`` as Lambda imports it (its code directory first on ``sys.path``, the layer after it). Both
get the environment a deployed function sees: the function's variables from ``template.yaml`` as the local stack
resolves them (``devstack.template.function_environment``) and the variables Lambda itself sets
(``LAMBDA_TASK_ROOT``, ``AWS_LAMBDA_FUNCTION_NAME``...), so the Powertools Tracer is on as in production (the
template has ``Tracing: Active``) and the X-Ray SDK is in Lambda mode. Rounds interleave the runs (bare boto3,
then every function, in an order that rotates each round) so the baseline and the functions see the same load on
a shared machine. Wall time decides; the child's CPU time is shown beside it.

Beside them, in the same rounds, the dependency floors (``FLOORS``): the libraries each function cannot do
without on any request, imported alone, so each function's ratio can be read against the lowest it could have.

Then, as information: the same imports from a copy of the layer without its bytecode (what SAM's ``python3.11``
builder shipped before: Lambda's ``/opt`` is read-only, so every cold start compiled it); one
``python -X importtime`` run per function for its top contributors beyond what ``import boto3`` loads; and the
first invocation (import + one call of a sample event of ``events/``) in fresh processes against moto's server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import DUMMY_AWS_ENV, LOG_DIR, REPO_ROOT, progress, quantile

ROUNDS = int(os.environ.get("COLD_START_ROUNDS", "15"))
SOURCE_ROUNDS = 3
"""Rounds from the layer without bytecode (information: the build before ``layers/agiletrack/Makefile``)."""
FIRST_CALLS = 3
TARGET_RATIO = 1.5
TOP = 5
BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"
LAYER = BUILD_DIR / "SharedLayer" / "python"
EVENTS = {
    "ApiFunction": "api_teams_me.json",
    "AuthorizerFunction": "authorizer_request.json",
    "WebhooksFunction": "webhook_github_ping.json",
    "EventProcessorFunction": "sqs_webhook_delivery.json",
    "SchedulerFunction": "schedule.json",
    "SyncWorkerFunction": "sqs_sync_job.json",
}
"""The sample event each function's first invocation gets (``events/``)."""
_OBSERVABILITY = (
    "import boto3\n"
    "from aws_lambda_powertools import Logger, Metrics, Tracer\n"
    "Logger(service='floor'); Tracer(service='floor', patch_modules=('botocore',)); Metrics(namespace='floor')\n"
)
_PYDANTIC = (
    "from pydantic import BaseModel, Field\n"
    "class Floor(BaseModel):\n"
    "    a: int\n"
    "    b: str = Field(default='x')\n"
    "Floor.model_validate({'a': 1}).model_dump_json()\n"
)
_SQS_BATCH = (
    "from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType\n"
    "BatchProcessor(event_type=EventType.SQS)\n"
)
FLOORS: dict[str, str] = {
    "observability": _OBSERVABILITY,
    "sqs_batch": _OBSERVABILITY + _PYDANTIC + _SQS_BATCH,
    "sqs_batch_idempotent": _OBSERVABILITY
    + _PYDANTIC
    + _SQS_BATCH
    + "from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function\n",
    "http_resolver": _OBSERVABILITY
    + _PYDANTIC
    + "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
    + "APIGatewayHttpResolver(enable_validation=True)\n",
}
"""What each function cannot do without on any request, with the libraries the product chose: boto3, Powertools'
Logger, Tracer and Metrics (every function); pydantic with a model validated (the functions that read an
integration or records on every request: the API, the event processor, the sync worker); Powertools' SQS batch
processing (the two queue consumers), its idempotency (the event processor) and its HTTP resolver with validation
(the API). Measured like the functions, from the same layer: the lowest cold import each function could have."""
FLOOR_OF = {
    "ApiFunction": "http_resolver",
    "AuthorizerFunction": "observability",
    "WebhooksFunction": "observability",
    "EventProcessorFunction": "sqs_batch_idempotent",
    "SchedulerFunction": "observability",
    "SyncWorkerFunction": "sqs_batch",
}
SAMPLE_TOKEN = "at_Q2hhbmdlTWVCZWZvcmVTaGlwcGluZ1RoaXNUb2tlbjA"
"""The token of ``events/authorizer_request.json``; its team is the one ``events/api_teams_me.json`` names."""
SAMPLE_TEAM = ("team_8c1e4f2a9b3d7e60", "Platform team")
TRACE_ID = "Root=1-6776a8c0-0f1e2d3c4b5a69788796a5b4;Parent=53995c3f42cd8ad8;Sampled=1"

CHILD = r"""
import json, os, sys, time
wall, cpu = time.perf_counter(), time.process_time()
target, out = sys.argv[1], sys.argv[2]
if target == "boto3":
    sys.path[0:0] = [os.environ["BENCH_LAYER"]]
    import boto3
    handler = None
elif target.startswith("floor:"):
    sys.path[0:0] = [os.environ["BENCH_LAYER"]]
    exec(compile(os.environ["BENCH_FLOOR"], "floor", "exec"), {})
    handler = None
else:
    import importlib.util
    code_dir = os.path.dirname(target)
    sys.path[0:0] = [code_dir, os.environ["BENCH_LAYER"]]
    spec = importlib.util.spec_from_file_location("app", target)
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    handler = module.handler
result = {"import_ms": (time.perf_counter() - wall) * 1000, "import_cpu_ms": (time.process_time() - cpu) * 1000,
          "modules": len(sys.modules)}
event_file = os.environ.get("BENCH_EVENT")
if handler is not None and event_file:
    class Context:
        function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        function_version = "$LATEST"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
        memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
        log_group_name = "/aws/lambda/" + function_name
        log_stream_name = "bench"
        def get_remaining_time_in_millis(self):
            return 60000
    with open(event_file, encoding="utf-8") as handle:
        event = json.load(handle)
    began = time.perf_counter()
    try:
        answer = handler(event, Context())
        result["outcome"] = str(answer.get("statusCode", "ok")) if isinstance(answer, dict) else "ok"
    except Exception as error:
        result["outcome"] = type(error).__name__
    result["first_call_ms"] = (time.perf_counter() - began) * 1000
    result["first_invocation_ms"] = (time.perf_counter() - wall) * 1000
with open(out, "w", encoding="utf-8") as handle:
    json.dump(result, handle)
"""


def _build() -> None:
    """``sam build`` (cached), as ``make build`` runs it: the artifacts Lambda would get."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [str(bin_dir / "sam"), "build", "--parallel", "--cached"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"sam build failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")


def _functions() -> list[Any]:
    """The template's functions, their code where ``sam build`` put it."""
    from dataclasses import replace

    from devstack.template import functions, load_template

    return [replace(spec, code_dir=BUILD_DIR / spec.logical_id) for spec in functions(load_template())]


def _environments(specs: list[Any], endpoint: str | None = None) -> dict[str, dict[str, str]]:
    """Each function's environment as Lambda gives it: the template's variables and Lambda's own."""
    from devstack.template import (
        function_environment,
        load_template,
        planned_resources,
    )

    template = load_template()
    res = planned_resources(template)
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONDONTWRITEBYTECODE": "1",
        **DUMMY_AWS_ENV,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "BENCH_LAYER": str(LAYER),
    }
    base.pop("ALLOW_PRIVATE_PROVIDER_URLS", None)
    if endpoint:
        base["AWS_ENDPOINT_URL"] = endpoint
    envs: dict[str, dict[str, str]] = {}
    for spec in specs:
        envs[spec.logical_id] = {
            **base,
            **function_environment(template, spec.logical_id, res),
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_LAMBDA_FUNCTION_NAME": res.function_name(spec.logical_id),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        }
    return envs


def _run(target: str, env: dict[str, str], *flags: str) -> tuple[dict[str, Any], str]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    try:
        done = subprocess.run(
            [sys.executable, "-S", *flags, "-c", CHILD, target, str(out)],
            check=False,
            env=env,
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0 or not out.stat().st_size:
            raise RuntimeError(f"{target}: exit {done.returncode}: {done.stderr[-2000:]}")
        return json.loads(out.read_text(encoding="utf-8")), done.stderr
    finally:
        out.unlink(missing_ok=True)


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(quantile(values, 0.5), 1),
        "p90_ms": round(quantile(values, 0.9), 1),
        "min_ms": round(min(values), 1),
    }


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def importtime_rows(stderr: str) -> list[tuple[str, int, int, int]]:
    """(module, self µs, cumulative µs, depth) of each line ``-X importtime`` wrote."""
    rows = []
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            rows.append((match.group(4), int(match.group(1)), int(match.group(2)), len(match.group(3)) // 2))
    return rows


def _group(module: str) -> str:
    """``agiletrack.models.integrations`` for our modules (three parts), the top-level package for others."""
    parts = module.split(".")
    return ".".join(parts[:3]) if parts[0] == "agiletrack" else parts[0]


def top_contributors(rows: list[tuple[str, int, int, int]], baseline: set[str], top: int = TOP) -> list[dict[str, Any]]:
    """The biggest packages a function imports beyond bare boto3: the self time of every module boto3 does not
    load, summed by package (pydantic models built at import count for the module that defines them)."""
    totals: dict[str, list[int]] = {}
    for name, self_us, _cumulative_us, _depth in rows:
        if name not in baseline:
            entry = totals.setdefault(_group(name), [0, 0])
            entry[0] += self_us
            entry[1] += 1
    ranked = sorted(totals.items(), key=lambda item: -item[1][0])
    return [{"package": name, "ms": round(us / 1000, 1), "modules": count} for name, (us, count) in ranked[:top]]


def _without_bytecode(specs: list[Any], envs: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The same imports from a copy of the layer with no ``__pycache__``: a cold start before the layer shipped
    bytecode (nothing is written back: ``PYTHONDONTWRITEBYTECODE``)."""
    progress(f"cold_start: {SOURCE_ROUNDS} rounds from the layer without bytecode")
    with tempfile.TemporaryDirectory(prefix="layer-sources-") as scratch:
        copy = Path(scratch) / "python"
        shutil.copytree(LAYER, copy, ignore=shutil.ignore_patterns("__pycache__"))
        wall: dict[str, list[float]] = {"boto3": [], **{s.logical_id: [] for s in specs}}
        for _ in range(SOURCE_ROUNDS):
            for spec in [None, *specs]:
                env = {**envs[(spec or specs[0]).logical_id], "BENCH_LAYER": str(copy)}
                result, _ = _run("boto3" if spec is None else str(spec.module_file), env)
                wall["boto3" if spec is None else spec.logical_id].append(result["import_ms"])
    boto3 = quantile(wall["boto3"], 0.5)
    return {
        "boto3": _stats(wall["boto3"]),
        "functions": {
            spec.logical_id: {
                **_stats(wall[spec.logical_id]),
                "ratio": round(quantile(wall[spec.logical_id], 0.5) / boto3, 2),
            }
            for spec in specs
        },
    }


def _first_invocations(specs: list[Any]) -> dict[str, Any]:
    """Import + one call of the function's sample event, fresh processes, against moto's server."""
    import boto3

    from devstack.moto_server import MotoProcess
    from devstack.template import DEFAULT_REGION, create_resources, load_template

    server = MotoProcess(log_path=LOG_DIR / "cold_start_moto.log")
    server.start()
    saved = dict(os.environ)
    try:
        os.environ.update(DUMMY_AWS_ENV)
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint
        os.environ.pop("AWS_ENDPOINT_URL_SQS", None)
        session = boto3.Session(region_name=DEFAULT_REGION)
        resources = create_resources(session, template=load_template())
        _seed_sample_team(session, resources.tables["TeamsTable"])
        envs = _environments(specs, server.endpoint)
        out: dict[str, Any] = {}
        for spec in specs:
            env = {**envs[spec.logical_id], "BENCH_EVENT": str(REPO_ROOT / "events" / EVENTS[spec.logical_id])}
            env["_X_AMZN_TRACE_ID"] = TRACE_ID
            runs = [_run(str(spec.module_file), env)[0] for _ in range(FIRST_CALLS)]
            out[spec.logical_id] = {
                "event": EVENTS[spec.logical_id],
                "outcome": runs[-1].get("outcome"),
                "first_invocation": _stats([r["first_invocation_ms"] for r in runs]),
                "first_call": _stats([r["first_call_ms"] for r in runs]),
            }
        return out
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


def _seed_sample_team(session: Any, table: str) -> None:
    """The team and token the sample events name, so the authorizer and ``/teams/me`` take their usual path."""
    import hashlib

    dynamodb = session.client("dynamodb")
    token_hash = hashlib.sha256(SAMPLE_TOKEN.encode("utf-8")).hexdigest()
    team_id, name = SAMPLE_TEAM
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": f"TEAM#{team_id}"},
            "id": {"S": team_id},
            "name": {"S": name},
            "created_at": {"S": "2026-01-01T00:00:00Z"},
            "token_hash": {"S": token_hash},
        },
    )
    dynamodb.put_item(
        TableName=table,
        Item={"pk": {"S": f"TOKEN#{token_hash}"}, "team_id": {"S": team_id}, "team_name": {"S": name}},
    )


def run() -> dict[str, Any]:
    started = time.perf_counter()
    progress("cold_start: sam build")
    _build()
    specs = _functions()
    envs = _environments(specs)
    baseline_env = envs[specs[0].logical_id]
    floors = [f"floor:{name}" for name in FLOORS]
    wall: dict[str, list[float]] = {"boto3": [], **{s.logical_id: [] for s in specs}, **{f: [] for f in floors}}
    cpu: dict[str, list[float]] = {name: [] for name in wall}
    modules: dict[str, int] = {}
    progress(
        f"cold_start: {ROUNDS} rounds of bare boto3, {len(FLOORS)} dependency floors and {len(specs)} functions, "
        "each a fresh process"
    )
    for round_no in range(ROUNDS):
        shift = round_no % len(specs)
        for target in ["boto3", *floors, *[s.logical_id for s in specs[shift:] + specs[:shift]]]:
            spec = next((s for s in specs if s.logical_id == target), None)
            if spec is not None:
                result, _ = _run(str(spec.module_file), envs[target])
            elif target.startswith("floor:"):
                result, _ = _run(target, {**baseline_env, "BENCH_FLOOR": FLOORS[target.partition(":")[2]]})
            else:
                result, _ = _run("boto3", baseline_env)
            wall[target].append(result["import_ms"])
            cpu[target].append(result["import_cpu_ms"])
            modules[target] = result["modules"]
    boto3_median = quantile(wall["boto3"], 0.5)
    boto3_cpu = quantile(cpu["boto3"], 0.5)
    sources = _without_bytecode(specs, envs)
    progress("cold_start: one -X importtime run each")
    _, baseline_trace = _run("boto3", baseline_env, "-X", "importtime")
    baseline = {row[0] for row in importtime_rows(baseline_trace)}
    functions: dict[str, Any] = {}
    for spec in specs:
        _, trace = _run(str(spec.module_file), envs[spec.logical_id], "-X", "importtime")
        stats = _stats(wall[spec.logical_id])
        ratio = stats["median_ms"] / boto3_median
        floor = FLOOR_OF[spec.logical_id]
        floor_median = quantile(wall[f"floor:{floor}"], 0.5)
        functions[spec.logical_id] = {
            "module": str(spec.module_file.relative_to(REPO_ROOT)),
            "import": stats,
            "import_cpu": _stats(cpu[spec.logical_id]),
            "ratio": round(ratio, 2),
            "ratio_p90": round(stats["p90_ms"] / quantile(wall["boto3"], 0.9), 2),
            "cpu_ratio": round(quantile(cpu[spec.logical_id], 0.5) / boto3_cpu, 2),
            "modules": modules[spec.logical_id],
            "top": top_contributors(importtime_rows(trace), baseline),
            "passed": ratio <= TARGET_RATIO,
            "floor": {
                "name": floor,
                "ratio": round(floor_median / boto3_median, 2),
                "beyond_floor_ms": round(stats["median_ms"] - floor_median, 1),
            },
            "without_bytecode": sources["functions"][spec.logical_id],
        }
    progress("cold_start: first invocations against moto's server")
    for name, first in _first_invocations(specs).items():
        functions[name]["first"] = first
    return {
        "rounds": ROUNDS,
        "first_calls": FIRST_CALLS,
        "target_ratio": TARGET_RATIO,
        "boto3": {
            **_stats(wall["boto3"]),
            "cpu": _stats(cpu["boto3"]),
            "modules": modules["boto3"],
            "without_bytecode": sources["boto3"],
        },
        "source_rounds": SOURCE_ROUNDS,
        "floors": {
            name: {
                **_stats(wall[f"floor:{name}"]),
                "ratio": round(quantile(wall[f"floor:{name}"], 0.5) / boto3_median, 2),
            }
            for name in FLOORS
        },
        "functions": functions,
        "passed": all(f["passed"] for f in functions.values()),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":  # pragma: no cover - a quick look without the runner
    print(json.dumps(run(), indent=2))
