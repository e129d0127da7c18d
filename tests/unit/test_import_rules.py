"""What each function's cold import may load (issue 12, cold starts; the rule is in docs/architecture.md).

Each function's ``app.py`` is imported in a fresh interpreter with the environment Lambda gives it (the
template's variables, ``LAMBDA_TASK_ROOT`` and the function name set, so the Powertools Tracer is on as in
production), and ``sys.modules`` is checked afterwards. Deterministic: nothing is timed here (the times are
in ``make bench``, ``benchmarks/cold_start.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devstack.template import (
    function_environment,
    functions,
    load_template,
    planned_resources,
)

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "agiletrack"

PROVIDER_PACKAGES = ("agiletrack.adapters.providers.github", "agiletrack.adapters.providers.jira",
                     "agiletrack.adapters.providers.trello")  # fmt: skip
NEVER_AT_IMPORT = (
    "httpx",  # the provider HTTP client: imported with the first provider call
    "requests",
    "rich",
    "click",
    "sqlite3",  # X-Ray's patch_all would import each of these
    "aws_lambda_powertools.event_handler.openapi.models",  # OpenAPI models: /openapi.json and /docs only
    "agiletrack.adapters.providers.http",
)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "AuthorizerFunction": (
        *NEVER_AT_IMPORT,
        "pydantic",
        "pydantic_core",
        "agiletrack.adapters.providers",
        "agiletrack.models.integrations",
        "aws_lambda_powertools.event_handler",
    ),
    "SchedulerFunction": (  # it reads integration ids and states and writes jobs: no model, no provider
        *NEVER_AT_IMPORT,
        "pydantic",
        "pydantic_core",
        "agiletrack.adapters.providers",
        "agiletrack.models.integrations",
        "aws_lambda_powertools.event_handler",
    ),
    "WebhooksFunction": (  # it checks and queues deliveries: no model; the providers' intake.py only
        *NEVER_AT_IMPORT,
        "pydantic",
        "pydantic_core",
        "agiletrack.models.integrations",
        "agiletrack.models.records",
        "agiletrack.domain.webhooks",
        "aws_lambda_powertools.event_handler",  # it reads its two routes from the event
        "aws_lambda_powertools.utilities.data_classes",
        *(f"{package}.{module}" for package in PROVIDER_PACKAGES for module in ("adapter", "webhooks", "spec")),
    ),
    "EventProcessorFunction": NEVER_AT_IMPORT,
    "SyncWorkerFunction": NEVER_AT_IMPORT,
    "ApiFunction": NEVER_AT_IMPORT,
}

CHILD = r"""
import importlib.util, json, os, sys
target = sys.argv[1]
sys.path[0:0] = [os.path.dirname(target), os.environ["TEST_LAYER"]]
spec = importlib.util.spec_from_file_location("app", target)
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
built = []
if "pydantic.main" in sys.modules:
    from pydantic import BaseModel
    seen, todo = set(), [BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    built = [f"{c.__module__}.{c.__qualname__}" for c in seen
             if c.__module__.startswith("agiletrack") and c.__module__ != "agiletrack.models.base"
             and c.__pydantic_complete__]
from agiletrack.observability import tracer
print(json.dumps({"modules": sorted(sys.modules), "built": built, "tracing": not tracer.disabled}))
"""


def lambda_environment(logical_id: str) -> dict[str, str]:
    """The function's environment as Lambda sets it: the template's variables and Lambda's own."""
    template = load_template()
    res = planned_resources(template)
    spec = next(s for s in functions(template) if s.logical_id == logical_id)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **function_environment(template, logical_id, res),
        "AWS_REGION": res.region,
        "AWS_DEFAULT_REGION": res.region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "AWS_LAMBDA_FUNCTION_NAME": res.function_name(logical_id),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "TEST_LAYER": str(LAYER),
    }


def cold_import(logical_id: str) -> dict[str, Any]:
    spec = next(s for s in functions(load_template()) if s.logical_id == logical_id)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(spec.module_file)],
        env=lambda_environment(logical_id),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_every_function_of_the_template_has_its_rule() -> None:
    assert {s.logical_id for s in functions(load_template())} == set(FORBIDDEN)


@pytest.mark.parametrize("logical_id", sorted(FORBIDDEN))
def test_a_cold_import_loads_only_what_the_function_needs(logical_id: str) -> None:
    found = cold_import(logical_id)
    assert found["tracing"], "the Tracer must be on, as in Lambda, or this checks another import path"
    assert "aws_xray_sdk.ext.botocore.patch" in found["modules"], "AWS calls are still traced"
    loaded = [
        module
        for module in found["modules"]
        for prefix in FORBIDDEN[logical_id]
        if module == prefix or module.startswith(prefix + ".")
    ]
    assert loaded == []
    assert found["built"] == [], "models are built on first use (defer_build), not at import"


def test_the_provider_client_brings_its_tracing_with_it() -> None:
    """httpx is patched for X-Ray by the module that uses it, so provider calls are traced where they are made."""
    code = (
        "import httpx\n"
        "import agiletrack.adapters.providers.http\n"
        "from aws_xray_sdk.ext.httpx.patch import _InstrumentedClient\n"
        "assert httpx.Client is _InstrumentedClient, httpx.Client\n"
    )
    env = lambda_environment("SyncWorkerFunction")
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(LAYER)!r})\n" + code], env=env,
                   check=True, capture_output=True)  # fmt: skip
