"""What the benchmarks share: moto with the template's resources, the functions' handlers, the machine."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

REPO_ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = REPO_ROOT / ".local" / "bench"
"""Where each benchmark's process writes the functions' own output (Powertools logs and metrics)."""

for _path in (REPO_ROOT, REPO_ROOT / "layers" / "agiletrack", REPO_ROOT / "tools"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "ALLOW_PRIVATE_PROVIDER_URLS": "true",
}
"""Dummy credentials for moto; the fake GitHub listens on 127.0.0.1, which only a local stack may call."""


def divert_stdout(name: str) -> TextIO:
    """Send this process's ``sys.stdout`` (where Powertools writes logs and metrics) to
    ``.local/bench/<name>.log``; returns the real stdout. Call before importing the functions."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    real = sys.stdout
    sys.stdout = (LOG_DIR / f"{name}.log").open("w", encoding="utf-8", buffering=1)
    return real


def progress(message: str) -> None:
    print(f"[bench {dt.datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextmanager
def moto_stack() -> Iterator[Any]:
    """moto started in-process (with the DynamoDB fixes of ``devstack.moto_fixes``), every table, queue and
    bucket of template.yaml created, and the functions' environment set (what ``tests/conftest.py``'s ``aws``
    fixture does, without pytest)."""
    import boto3
    from moto import mock_aws

    from devstack.lambda_runtime import clear_agiletrack_caches
    from devstack.moto_fixes import apply_dynamodb_fixes
    from devstack.template import DEFAULT_REGION, create_resources, load_template, stack_environment

    apply_dynamodb_fixes()
    saved = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"):
        os.environ.pop(name, None)
    os.environ.update(DUMMY_AWS_ENV)
    try:
        with mock_aws():
            template = load_template()
            resources = create_resources(boto3.Session(region_name=DEFAULT_REGION), template=template)
            os.environ.update(stack_environment(template, resources))
            clear_agiletrack_caches()
            yield resources
    finally:
        clear_agiletrack_caches()
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def moto_server(log_name: str) -> Iterator[Any]:
    """moto's server in a process of its own (the local stack's ``MotoProcess``), the template's resources
    created in it, and this process's boto3 pointed at it."""
    import boto3

    from devstack.lambda_runtime import clear_agiletrack_caches
    from devstack.moto_server import MotoProcess
    from devstack.template import DEFAULT_REGION, create_resources, load_template, stack_environment

    server = MotoProcess(log_path=LOG_DIR / f"{log_name}.log")
    server.start()
    saved = dict(os.environ)
    try:
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL_SQS"):
            os.environ.pop(name, None)
        os.environ.update(DUMMY_AWS_ENV)
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint
        template = load_template()
        resources = create_resources(boto3.Session(region_name=DEFAULT_REGION), template=template)
        os.environ.update(stack_environment(template, resources))
        clear_agiletrack_caches()
        yield resources
    finally:
        clear_agiletrack_caches()
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


def function(logical_id: str) -> tuple[Any, Any]:
    """(handler, spec) of a function of template.yaml, imported as the local stack imports it."""
    from devstack.lambda_runtime import load_handler
    from devstack.template import functions, load_template

    spec = next(s for s in functions(load_template()) if s.logical_id == logical_id)
    return load_handler(spec), spec


def context_for(spec: Any) -> Any:
    """A fresh Lambda context with the function's own timeout and memory."""
    from devstack.lambda_runtime import LambdaContext

    return LambdaContext(
        function_name=f"agiletrack-bench-{spec.logical_id}",
        memory_limit_in_mb=spec.memory_size,
        timeout_seconds=spec.timeout,
    )


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _meminfo_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        return None
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = _meminfo_total_gib()
    return {
        "nproc": cpus,
        "cpu": _cpu_model(),
        "memory": f"{memory:.1f} GiB" if memory is not None else "unknown",
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": {name: _version(name) for name in ("moto", "boto3", "aws-lambda-powertools", "httpx")},
    }


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, default=str), encoding="utf-8")
